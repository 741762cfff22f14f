-- A triage log written by triage at 1d31d32 (schema 7, contract v2, canonical form 3) with its
-- own code: release-schema-2.sql opened and migrated, then patient records of pt-rec (profile
-- older_adult and blood_thinners, then the profile cleared) and pt-other (no conditions), a check
-- of pt-rec that got its record filled in (entry 8) and an override of it. Patient records
-- without an age, as written before the age column came. Never regenerate it.
PRAGMA user_version = 7;
BEGIN TRANSACTION;
CREATE TABLE api_tokens (
            id         INTEGER PRIMARY KEY,
            app        TEXT NOT NULL,
            token_hash TEXT NOT NULL UNIQUE,
            prefix     TEXT NOT NULL,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        );
CREATE TABLE cds_cards (
            id        INTEGER PRIMARY KEY,
            card      TEXT NOT NULL UNIQUE,
            entry_id  INTEGER NOT NULL REFERENCES entries (id),
            clinician TEXT NOT NULL,
            shown_at  TEXT NOT NULL,
            verdict   TEXT,
            review_id INTEGER REFERENCES reviews (id)
        );
CREATE TABLE checkpoints (
            id         INTEGER PRIMARY KEY,
            size       INTEGER NOT NULL,
            head       TEXT NOT NULL,
            signed_at  TEXT NOT NULL,
            public_key TEXT NOT NULL,
            signature  TEXT NOT NULL
        );
CREATE TABLE clinicians (
            id            INTEGER PRIMARY KEY,
            name          TEXT NOT NULL UNIQUE,
            password_hash TEXT NOT NULL,
            time_zone     TEXT NOT NULL,
            created_at    TEXT NOT NULL,
            disabled_at   TEXT
        );
CREATE TABLE entries (
            id              INTEGER PRIMARY KEY,
            seq             INTEGER NOT NULL UNIQUE,
            recorded_at     TEXT NOT NULL,
            reported_at     TEXT NOT NULL,
            patient_id      TEXT NOT NULL,
            session_id      TEXT NOT NULL,
            outcome         TEXT NOT NULL,
            urgency         TEXT,
            top_reason      TEXT NOT NULL,
            pack_name       TEXT NOT NULL,
            pack_version    TEXT NOT NULL,
            pack_sha256     TEXT NOT NULL,
            engine_name     TEXT NOT NULL,
            engine_version  TEXT NOT NULL,
            program_version TEXT NOT NULL,
            report_json     TEXT NOT NULL,
            decision_json   TEXT NOT NULL,
            prev_hash       TEXT NOT NULL,
            hash            TEXT NOT NULL
        , form INTEGER NOT NULL DEFAULT 1, contract_version TEXT NOT NULL DEFAULT '1');
INSERT INTO "entries" VALUES(1,1,'2026-11-22T04:19:20.917604Z','2026-11-22T04:19:20.892976Z','pt-p03-doms-30h','s-a0ad5d1f41','continue',NULL,'','post-session-safety','1.1.0','1475ba1da0f3f5c0e27c20f52667d54c9f1d6bf6f04d493f695c52d67ba46b6a','durable-rules','2.0.28','0.1.0','{"patient_id":"pt-p03-doms-30h","reported_at":"2026-11-22T04:19:20.892976Z","hours_since_session":30.0,"new_load":true,"pain_during":2,"pain_now":4,"pain_trend":"worse","pain_site":"muscle","pain_spread":"diffuse","pain_sides":"both","pain_character":"dull_ache","pain_onset":"next_day","eases_with_movement":true,"snap_or_tear":false,"swelling":"none","functional_loss":false,"chest_pain":"none","fainting":"none","palpitations":"none","breathless":"none","dizziness":"none","confusion":false,"sudden_headache":false,"dark_urine":false,"tense_swollen_limb":false,"swollen_warm_limb":false,"numbness":"none","bladder_bowel_change":false,"heat_illness":"none","unwell":false}','{"outcome":"continue","reasons":[{"rule":"continue.doms","title":"Consistent with normal muscle soreness","outcome":"continue","patient":"Soreness in the muscle that starts hours after the session or the next day is normal after training and fades as you adapt.","clinician":"Presentation consistent with DOMS.","source":"triage policy v1 C1; Resistance-training reference text (DOMS appears 24-72 h after new load and is normal)","matched":{"pain_site":"muscle","pain_onset":"next_day","pain_now":4}},{"rule":"continue.mild-discomfort","title":"Mild discomfort during the session","outcome":"continue","patient":"Mild discomfort during training (up to 3/10) is acceptable.","clinician":"Pain during loading 1-3/10.","source":"triage policy v1 C2; Silbernagel et al., Am J Sports Med 2007;35:897 (pain-monitoring model)","matched":{"pain_during":2}}],"advice":["None of your answers is a warning sign. Carry on with your programme as planned.","Do lighter work for that muscle until the soreness eases, and do not add load until it has settled.","Discomfort up to 5/10 during a session is acceptable as long as it settles by the next morning."],"rule_pack":{"name":"post-session-safety","version":"1.1.0","sha256":"1475ba1da0f3f5c0e27c20f52667d54c9f1d6bf6f04d493f695c52d67ba46b6a"},"engine":{"name":"durable-rules","version":"2.0.28"},"history":{"available":false},"report":{"patient_id":"pt-p03-doms-30h","reported_at":"2026-11-22T04:19:20.892976Z","hours_since_session":30.0,"new_load":true,"pain_during":2,"pain_now":4,"pain_trend":"worse","pain_site":"muscle","pain_spread":"diffuse","pain_sides":"both","pain_character":"dull_ache","pain_onset":"next_day","eases_with_movement":true,"snap_or_tear":false,"swelling":"none","functional_loss":false,"chest_pain":"none","fainting":"none","palpitations":"none","breathless":"none","dizziness":"none","confusion":false,"sudden_headache":false,"dark_urine":false,"tense_swollen_limb":false,"swollen_warm_limb":false,"numbness":"none","bladder_bowel_change":false,"heat_illness":"none","unwell":false}}','0000000000000000000000000000000000000000000000000000000000000000','93d8d3626d3ba735a4bef7ab7a93f57b6fe66dbf7ef2d1a17bbcfa0fec21841e',1,'1');
INSERT INTO "entries" VALUES(2,2,'2026-11-22T04:19:20.919592Z','2026-11-22T04:19:20.919250Z','pt-p10-chest-pain-ongoing','s-0127771c8d','seek_medical_review','emergency','Chest pain that has not gone','post-session-safety','1.1.0','1475ba1da0f3f5c0e27c20f52667d54c9f1d6bf6f04d493f695c52d67ba46b6a','durable-rules','2.0.28','0.1.0','{"patient_id":"pt-p10-chest-pain-ongoing","reported_at":"2026-11-22T04:19:20.919250Z","hours_since_session":0.5,"pain_during":0,"pain_now":0,"snap_or_tear":false,"swelling":"none","functional_loss":false,"chest_pain":"ongoing","fainting":"none","palpitations":"none","breathless":"none","dizziness":"none","confusion":false,"sudden_headache":false,"dark_urine":false,"tense_swollen_limb":false,"swollen_warm_limb":false,"numbness":"none","bladder_bowel_change":false,"heat_illness":"none","unwell":false}','{"outcome":"seek_medical_review","urgency":"emergency","reasons":[{"rule":"emergency.chest-pain-ongoing","title":"Chest pain that has not gone","outcome":"seek_medical_review","urgency":"emergency","patient":"Chest pain, pressure or tightness that has not gone can be a sign of a heart problem.","clinician":"Ongoing exertional chest pain; possible acute coronary syndrome.","source":"triage policy v1 E1; ACSM''s Guidelines for Exercise Testing and Prescription (signs requiring cessation of exercise)","matched":{"chest_pain":"ongoing"}}],"advice":[],"rule_pack":{"name":"post-session-safety","version":"1.1.0","sha256":"1475ba1da0f3f5c0e27c20f52667d54c9f1d6bf6f04d493f695c52d67ba46b6a"},"engine":{"name":"durable-rules","version":"2.0.28"},"history":{"available":false},"report":{"patient_id":"pt-p10-chest-pain-ongoing","reported_at":"2026-11-22T04:19:20.919250Z","hours_since_session":0.5,"pain_during":0,"pain_now":0,"snap_or_tear":false,"swelling":"none","functional_loss":false,"chest_pain":"ongoing","fainting":"none","palpitations":"none","breathless":"none","dizziness":"none","confusion":false,"sudden_headache":false,"dark_urine":false,"tense_swollen_limb":false,"swollen_warm_limb":false,"numbness":"none","bladder_bowel_change":false,"heat_illness":"none","unwell":false}}','93d8d3626d3ba735a4bef7ab7a93f57b6fe66dbf7ef2d1a17bbcfa0fec21841e','a119867e2d823bd647024ffa0a50b396516b031311f6f789cf5ead58cea72fc8',1,'1');
INSERT INTO "entries" VALUES(3,3,'2026-11-22T04:19:20.921139Z','2026-11-22T04:19:20.920845Z','pt-p17-fever','s-27c9f7d3af','reduce_load',NULL,'Fever or feeling ill','post-session-safety','1.1.0','1475ba1da0f3f5c0e27c20f52667d54c9f1d6bf6f04d493f695c52d67ba46b6a','durable-rules','2.0.28','0.1.0','{"patient_id":"pt-p17-fever","reported_at":"2026-11-22T04:19:20.920845Z","hours_since_session":0.5,"pain_during":0,"pain_now":0,"snap_or_tear":false,"swelling":"none","functional_loss":false,"chest_pain":"none","fainting":"none","palpitations":"none","breathless":"none","dizziness":"none","confusion":false,"sudden_headache":false,"dark_urine":false,"tense_swollen_limb":false,"swollen_warm_limb":false,"numbness":"none","bladder_bowel_change":false,"heat_illness":"none","unwell":true}','{"outcome":"reduce_load","reasons":[{"rule":"reduce.unwell","title":"Fever or feeling ill","outcome":"reduce_load","patient":"With a fever or an acute illness, do not train until you feel well again.","clinician":"Fever or acute illness; no training until well.","source":"triage policy v1 L7; PAR-Q+ (Physical Activity Readiness Questionnaire for Everyone)","matched":{"unwell":true}}],"advice":[],"rule_pack":{"name":"post-session-safety","version":"1.1.0","sha256":"1475ba1da0f3f5c0e27c20f52667d54c9f1d6bf6f04d493f695c52d67ba46b6a"},"engine":{"name":"durable-rules","version":"2.0.28"},"history":{"available":false},"report":{"patient_id":"pt-p17-fever","reported_at":"2026-11-22T04:19:20.920845Z","hours_since_session":0.5,"pain_during":0,"pain_now":0,"snap_or_tear":false,"swelling":"none","functional_loss":false,"chest_pain":"none","fainting":"none","palpitations":"none","breathless":"none","dizziness":"none","confusion":false,"sudden_headache":false,"dark_urine":false,"tense_swollen_limb":false,"swollen_warm_limb":false,"numbness":"none","bladder_bowel_change":false,"heat_illness":"none","unwell":true}}','a119867e2d823bd647024ffa0a50b396516b031311f6f789cf5ead58cea72fc8','0736c227465eb40f5deaf987adad669dbb0d14f72b218df93cb175bb5d1a9410',1,'1');
INSERT INTO "entries" VALUES(4,5,'2026-11-22T04:19:20.923377Z','2026-11-22T04:19:20.923030Z','pt-p06-snap-deadlift','s-ef3279826a','seek_medical_review','same_day','Felt a pop, snap or tearing','post-session-safety','1.1.0','1475ba1da0f3f5c0e27c20f52667d54c9f1d6bf6f04d493f695c52d67ba46b6a','durable-rules','2.0.28','0.1.0','{"patient_id":"pt-p06-snap-deadlift","reported_at":"2026-11-22T04:19:20.923030Z","hours_since_session":0.5,"pain_during":7,"pain_now":6,"pain_site":"muscle","pain_spread":"focal","pain_character":"sharp","pain_onset":"sudden_during","snap_or_tear":true,"swelling":"none","functional_loss":false,"chest_pain":"none","fainting":"none","palpitations":"none","breathless":"none","dizziness":"none","confusion":false,"sudden_headache":false,"dark_urine":false,"tense_swollen_limb":false,"swollen_warm_limb":false,"numbness":"none","bladder_bowel_change":false,"heat_illness":"none","unwell":false}','{"outcome":"seek_medical_review","urgency":"same_day","reasons":[{"rule":"same-day.snap-or-tear","title":"Felt a pop, snap or tearing","outcome":"seek_medical_review","urgency":"same_day","patient":"A pop, snap or tearing feeling during exercise can be a sign of a torn muscle or tendon; some tears are best treated early.","clinician":"Reported snap or tearing sensation during loading; assess for muscle or tendon rupture.","source":"triage policy v1 S4; Resistance-training reference text (acute localized pain with a snap or tearing sensation)","matched":{"snap_or_tear":true}},{"rule":"reduce.pain-during-above-5","title":"Pain above 5/10 during the session","outcome":"reduce_load","patient":"Pain above 5/10 during exercise means the load was too much for now.","clinician":"Pain during loading 6/10 or more.","source":"triage policy v1 L1; Resistance-training reference text (pain above 5/10); Silbernagel et al., Am J Sports Med 2007;35:897","matched":{"pain_during":7}},{"rule":"reduce.pain-now-above-5","title":"Pain above 5/10 now","outcome":"reduce_load","patient":"Pain above 5/10 now, even if it is muscle soreness, means you should train lighter until it eases.","clinician":"Current pain 6/10 or more, including severe DOMS.","source":"triage policy v1 L2; Resistance-training reference text (pain above 5/10)","matched":{"pain_now":6}},{"rule":"reduce.sudden-sharp-focal","title":"Sudden, sharp pain in one spot","outcome":"reduce_load","patient":"A sudden, sharp pain in one spot during a set is more like a strain than muscle soreness.","clinician":"Injury pattern (sudden, focal, sharp) without red flags.","source":"triage policy v1 L8; DOMS-versus-injury features (clinical.md section 2)","matched":{"pain_onset":"sudden_during","pain_spread":"focal","pain_character":"sharp"}}],"advice":[],"rule_pack":{"name":"post-session-safety","version":"1.1.0","sha256":"1475ba1da0f3f5c0e27c20f52667d54c9f1d6bf6f04d493f695c52d67ba46b6a"},"engine":{"name":"durable-rules","version":"2.0.28"},"history":{"available":false},"report":{"patient_id":"pt-p06-snap-deadlift","reported_at":"2026-11-22T04:19:20.923030Z","hours_since_session":0.5,"pain_during":7,"pain_now":6,"pain_site":"muscle","pain_spread":"focal","pain_character":"sharp","pain_onset":"sudden_during","snap_or_tear":true,"swelling":"none","functional_loss":false,"chest_pain":"none","fainting":"none","palpitations":"none","breathless":"none","dizziness":"none","confusion":false,"sudden_headache":false,"dark_urine":false,"tense_swollen_limb":false,"swollen_warm_limb":false,"numbness":"none","bladder_bowel_change":false,"heat_illness":"none","unwell":false}}','67c114813e6d2a4e2abd80e0b6a872fcdfcacfcae877f637a7463d29b13f423c','183d4584e23935408f962baf2779c2ae00ef9224caf327150847706a2542e094',1,'1');
INSERT INTO "entries" VALUES(5,6,'2026-11-22T04:49:18.067399Z','2026-11-23T08:00:00.000000Z','pt-v1','s-153aaaa9f9','reduce_load',NULL,'Pain above 5/10 during the session','post-session-safety','1.1.0','1475ba1da0f3f5c0e27c20f52667d54c9f1d6bf6f04d493f695c52d67ba46b6a','durable-rules','2.0.28','0.1.0','{"patient_id":"pt-v1","reported_at":"2026-11-23T08:00:00Z","hours_since_session":1.0,"pain_during":6,"pain_now":3,"pain_site":"muscle","snap_or_tear":false,"swelling":"none","functional_loss":false,"chest_pain":"none","fainting":"none","palpitations":"none","breathless":"none","dizziness":"none","confusion":false,"sudden_headache":false,"dark_urine":false,"tense_swollen_limb":false,"swollen_warm_limb":false,"numbness":"none","bladder_bowel_change":false,"heat_illness":"none","unwell":false}','{"outcome":"reduce_load","reasons":[{"rule":"reduce.pain-during-above-5","title":"Pain above 5/10 during the session","outcome":"reduce_load","patient":"Pain above 5/10 during exercise means the load was too much for now.","clinician":"Pain during loading 6/10 or more.","source":"triage policy v1 L1; Resistance-training reference text (pain above 5/10); Silbernagel et al., Am J Sports Med 2007;35:897","matched":{"pain_during":6}}],"advice":[],"rule_pack":{"name":"post-session-safety","version":"1.1.0","sha256":"1475ba1da0f3f5c0e27c20f52667d54c9f1d6bf6f04d493f695c52d67ba46b6a"},"engine":{"name":"durable-rules","version":"2.0.28"},"history":{"available":false},"report":{"patient_id":"pt-v1","reported_at":"2026-11-23T08:00:00Z","hours_since_session":1.0,"pain_during":6,"pain_now":3,"pain_site":"muscle","snap_or_tear":false,"swelling":"none","functional_loss":false,"chest_pain":"none","fainting":"none","palpitations":"none","breathless":"none","dizziness":"none","confusion":false,"sudden_headache":false,"dark_urine":false,"tense_swollen_limb":false,"swollen_warm_limb":false,"numbness":"none","bladder_bowel_change":false,"heat_illness":"none","unwell":false}}','183d4584e23935408f962baf2779c2ae00ef9224caf327150847706a2542e094','0747d157fca3bff255ea9a45c757b86022dc77473840ccf31d7fe1e43571fe0a',2,'1');
INSERT INTO "entries" VALUES(6,7,'2026-11-22T04:49:18.069121Z','2026-11-25T08:00:00.000000Z','pt-v1','s-b441c46bc8','seek_medical_review','emergency','Sudden severe headache','post-session-safety','1.1.0','1475ba1da0f3f5c0e27c20f52667d54c9f1d6bf6f04d493f695c52d67ba46b6a','durable-rules','2.0.28','0.1.0','{"patient_id":"pt-v1","reported_at":"2026-11-25T08:00:00Z","hours_since_session":30.0,"pain_during":7,"pain_now":4,"pain_trend":"same","pain_site":"back","snap_or_tear":false,"swelling":"none","functional_loss":false,"chest_pain":"none","fainting":"none","palpitations":"none","breathless":"none","dizziness":"none","confusion":false,"sudden_headache":true,"dark_urine":false,"tense_swollen_limb":false,"swollen_warm_limb":false,"numbness":"one_limb","bladder_bowel_change":false,"heat_illness":"none","unwell":false}','{"outcome":"seek_medical_review","urgency":"emergency","reasons":[{"rule":"emergency.thunderclap-headache","title":"Sudden severe headache","outcome":"seek_medical_review","urgency":"emergency","patient":"A sudden, severe headache during or after lifting can be a sign of bleeding in or around the brain.","clinician":"Thunderclap headache on exertion; exclude subarachnoid haemorrhage.","source":"triage policy v1 E9; Emergency and primary-care red-flag guidance (thunderclap headache)","matched":{"sudden_headache":true}},{"rule":"routine.numbness-one-limb","title":"Numbness or tingling in one arm or leg","outcome":"seek_medical_review","urgency":"routine","patient":"Numbness or tingling in one arm or leg can be a sign of an irritated nerve and should be looked at.","clinician":"Unilateral paraesthesia; possible radiculopathy.","source":"triage policy v1 R8; Primary-care guidance (radiculopathy)","matched":{"numbness":"one_limb"}},{"rule":"reduce.pain-during-above-5","title":"Pain above 5/10 during the session","outcome":"reduce_load","patient":"Pain above 5/10 during exercise means the load was too much for now.","clinician":"Pain during loading 6/10 or more.","source":"triage policy v1 L1; Resistance-training reference text (pain above 5/10); Silbernagel et al., Am J Sports Med 2007;35:897","matched":{"pain_during":7}},{"rule":"reduce.not-settled-24h","title":"Pain not settled after a day","outcome":"reduce_load","patient":"Pain of 4/10 or more outside the muscle that has not settled after a day means the last session was too much for now.","clinician":"Non-muscular pain 4/10 or more not settling by 24 h.","source":"triage policy v1 L3; Resistance-training reference FAQ (pain not improving in 24-48 h); Silbernagel et al. 2007","matched":{"hours_since_session":30.0,"pain_trend":"same","pain_now":4,"pain_site":"back"}}],"advice":[],"rule_pack":{"name":"post-session-safety","version":"1.1.0","sha256":"1475ba1da0f3f5c0e27c20f52667d54c9f1d6bf6f04d493f695c52d67ba46b6a"},"engine":{"name":"durable-rules","version":"2.0.28"},"history":{"available":false},"report":{"patient_id":"pt-v1","reported_at":"2026-11-25T08:00:00Z","hours_since_session":30.0,"pain_during":7,"pain_now":4,"pain_trend":"same","pain_site":"back","snap_or_tear":false,"swelling":"none","functional_loss":false,"chest_pain":"none","fainting":"none","palpitations":"none","breathless":"none","dizziness":"none","confusion":false,"sudden_headache":true,"dark_urine":false,"tense_swollen_limb":false,"swollen_warm_limb":false,"numbness":"one_limb","bladder_bowel_change":false,"heat_illness":"none","unwell":false}}','0747d157fca3bff255ea9a45c757b86022dc77473840ccf31d7fe1e43571fe0a','6847e6c6a7054a93e74ce854de58d47e7f71dff9d67f4c90620ae5edbcaf39e6',2,'1');
INSERT INTO "entries" VALUES(7,8,'2026-11-22T04:49:18.070443Z','2026-11-27T08:00:00.000000Z','pt-v1','s-d071874419','seek_medical_review','emergency','Numbness in both legs or the saddle area, or bladder or bowel change','post-session-safety','1.1.0','1475ba1da0f3f5c0e27c20f52667d54c9f1d6bf6f04d493f695c52d67ba46b6a','durable-rules','2.0.28','0.1.0','{"patient_id":"pt-v1","reported_at":"2026-11-27T08:00:00Z","hours_since_session":1.0,"pain_during":6,"pain_now":2,"pain_site":"joint","snap_or_tear":false,"swelling":"none","functional_loss":false,"chest_pain":"none","fainting":"none","palpitations":"none","breathless":"none","dizziness":"none","confusion":false,"sudden_headache":false,"dark_urine":false,"tense_swollen_limb":false,"swollen_warm_limb":false,"numbness":"both_legs","bladder_bowel_change":false,"heat_illness":"none","unwell":false}','{"outcome":"seek_medical_review","urgency":"emergency","reasons":[{"rule":"emergency.cauda-equina","title":"Numbness in both legs or the saddle area, or bladder or bowel change","outcome":"seek_medical_review","urgency":"emergency","patient":"Numbness in both legs or around the groin, or new trouble with your bladder or bowel, can be a sign of pressure on the nerves at the base of the spine.","clinician":"Possible cauda equina syndrome; urgent assessment and imaging.","source":"triage policy v1 E12; Emergency and primary-care red-flag guidance (cauda equina syndrome)","matched":{"numbness":"both_legs"}},{"rule":"reduce.pain-during-above-5","title":"Pain above 5/10 during the session","outcome":"reduce_load","patient":"Pain above 5/10 during exercise means the load was too much for now.","clinician":"Pain during loading 6/10 or more.","source":"triage policy v1 L1; Resistance-training reference text (pain above 5/10); Silbernagel et al., Am J Sports Med 2007;35:897","matched":{"pain_during":6}}],"advice":[],"rule_pack":{"name":"post-session-safety","version":"1.1.0","sha256":"1475ba1da0f3f5c0e27c20f52667d54c9f1d6bf6f04d493f695c52d67ba46b6a"},"engine":{"name":"durable-rules","version":"2.0.28"},"history":{"available":false},"report":{"patient_id":"pt-v1","reported_at":"2026-11-27T08:00:00Z","hours_since_session":1.0,"pain_during":6,"pain_now":2,"pain_site":"joint","snap_or_tear":false,"swelling":"none","functional_loss":false,"chest_pain":"none","fainting":"none","palpitations":"none","breathless":"none","dizziness":"none","confusion":false,"sudden_headache":false,"dark_urine":false,"tense_swollen_limb":false,"swollen_warm_limb":false,"numbness":"both_legs","bladder_bowel_change":false,"heat_illness":"none","unwell":false}}','6847e6c6a7054a93e74ce854de58d47e7f71dff9d67f4c90620ae5edbcaf39e6','dafc837d82daafabacbe3cd93e8337db816fd1130da65807aca27fb2f24db3a9',2,'1');
INSERT INTO "entries" VALUES(8,11,'2026-12-07T14:44:52.339648Z','2026-12-07T14:44:52.336675Z','pt-rec','s-bc2a0f05f0','seek_medical_review','routine','On blood thinners','probe-v2','2.0.0','ba630bb2f058e857cf085fe7e970b131923d18476776c817799e687d1f94ce94','reference','0.1.0','0.1.0','{"patient_id":"pt-rec","session_id":"s-bc2a0f05f0","reported_at":"2026-12-07T14:44:52.336675Z","hours_since_session":0.5,"profile":"older_adult","conditions":["blood_thinners"],"pain_during":0,"pain_now":0,"snap_or_tear":false,"swelling":"none","deformity":false,"functional_loss":false,"groin_lump":false,"chest_pain":"none","fainting":"none","palpitations":"none","breathless":"none","dizziness":"none","confusion":false,"vision_change":false,"headache":"none","dark_urine":false,"tense_swollen_limb":false,"swollen_warm_limb":false,"numbness":[],"bladder_bowel_change":false,"heat_illness":"none","unwell":false}','{"outcome":"seek_medical_review","urgency":"routine","reasons":[{"rule":"probe.blood-thinners","title":"On blood thinners","outcome":"seek_medical_review","urgency":"routine","patient":"p","clinician":"c","source":"p T; tests","matched":{"conditions":["blood_thinners"]}},{"rule":"probe.older-adult","title":"Older adult","outcome":"reduce_load","patient":"p","clinician":"c","source":"p T; tests","matched":{"profile":"older_adult"}}],"advice":[],"rule_pack":{"name":"probe-v2","version":"2.0.0","sha256":"ba630bb2f058e857cf085fe7e970b131923d18476776c817799e687d1f94ce94"},"engine":{"name":"reference","version":"0.1.0"},"history":{"available":true,"earlier_checks":0},"report":{"patient_id":"pt-rec","session_id":"s-bc2a0f05f0","reported_at":"2026-12-07T14:44:52.336675Z","hours_since_session":0.5,"profile":"older_adult","conditions":["blood_thinners"],"pain_during":0,"pain_now":0,"radiating_pain":[],"snap_or_tear":false,"swelling":"none","deformity":false,"functional_loss":false,"groin_lump":false,"chest_pain":"none","fainting":"none","palpitations":"none","breathless":"none","dizziness":"none","confusion":false,"vision_change":false,"headache":"none","dark_urine":false,"tense_swollen_limb":false,"swollen_warm_limb":false,"numbness":[],"bladder_bowel_change":false,"heat_illness":"none","unwell":false},"notes":[]}','35462b4ad5ff6cad1281d2c81fc0acb90b4770d7ab9108fb9ce95b4051969ba7','7970f8615d3fe15a90be333e8ce6077432fd535b432a3e3f054c9d4c6ce99dae',3,'2');
CREATE TABLE idempotency_keys (
            key_hash   TEXT PRIMARY KEY,
            body_hash  TEXT NOT NULL,
            entry_id   INTEGER NOT NULL REFERENCES entries (id),
            created_at TEXT NOT NULL
        );
CREATE TABLE migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL);
INSERT INTO "migrations" VALUES(1,'initial schema: entries and reviews, hash-chained','2026-11-22T04:19:20.861801Z');
INSERT INTO "migrations" VALUES(2,'canonical forms: every record names the form its hash covers; entries their contract','2026-11-22T04:49:18.023503Z');
INSERT INTO "migrations" VALUES(3,'patient records: each patient''s profile and conditions, appended to the same chain','2026-12-07T14:44:52.286110Z');
INSERT INTO "migrations" VALUES(4,'triage serve: override reasons, clinician accounts, API tokens, and the worklist','2026-12-07T14:44:52.287725Z');
INSERT INTO "migrations" VALUES(5,'signed checkpoints: the chain''s size and head hash, signed with a key kept elsewhere','2026-12-07T14:44:52.287881Z');
INSERT INTO "migrations" VALUES(6,'CDS Hooks: the cards shown in an EHR, for the feedback on them','2026-12-07T14:44:52.288072Z');
INSERT INTO "migrations" VALUES(7,'sessions that end, JWTs used once, checks recorded once per idempotency key','2026-12-07T14:44:52.288693Z');
CREATE TABLE patients (
            id              INTEGER PRIMARY KEY,
            seq             INTEGER NOT NULL UNIQUE,
            patient_id      TEXT NOT NULL,
            set_at          TEXT NOT NULL,
            set_by          TEXT NOT NULL,
            profile         TEXT,
            conditions_json TEXT NOT NULL,
            note            TEXT NOT NULL,
            prev_hash       TEXT NOT NULL,
            hash            TEXT NOT NULL,
            form            INTEGER NOT NULL
        );
INSERT INTO "patients" VALUES(1,10,'pt-rec','2026-12-07T14:44:52.291631Z','Dr Ada','older_adult','["blood_thinners"]','From the referral letter.','63bf71a33d1733c296f9fdf0359be8b4e0c47638f0519b58219d1fa433f4971e','35462b4ad5ff6cad1281d2c81fc0acb90b4770d7ab9108fb9ce95b4051969ba7',3);
INSERT INTO "patients" VALUES(2,13,'pt-rec','2026-12-07T14:44:52.342991Z','Dr Bo',NULL,'["blood_thinners"]','','4287b0dcbf5444b9fad713dbf5d0d61048c0971e084d118a27215abc433f5597','159113deae0025541a95ada7e909584e96a81ab8285e1731512af01f28d3ec03',3);
INSERT INTO "patients" VALUES(3,14,'pt-other','2026-12-07T14:44:52.343855Z','Dr Bo',NULL,'[]','','159113deae0025541a95ada7e909584e96a81ab8285e1731512af01f28d3ec03','e46adfca74c3f688e3afcfa3d12746a16eac44049913a60f3f9ac58716efa2e7',3);
CREATE TABLE reviews (
            id          INTEGER PRIMARY KEY,
            seq         INTEGER NOT NULL UNIQUE,
            entry_id    INTEGER NOT NULL REFERENCES entries (id),
            reviewed_at TEXT NOT NULL,
            reviewer    TEXT NOT NULL,
            verdict     TEXT NOT NULL CHECK (verdict IN ('accepted', 'overridden')),
            note        TEXT NOT NULL,
            prev_hash   TEXT NOT NULL,
            hash        TEXT NOT NULL
        , form INTEGER NOT NULL DEFAULT 1, reason TEXT NOT NULL DEFAULT '');
INSERT INTO "reviews" VALUES(1,4,2,'2026-11-22T04:19:20.921928Z','Dr Ada','accepted','Called the patient; sent to A&E.','0736c227465eb40f5deaf987adad669dbb0d14f72b218df93cb175bb5d1a9410','67c114813e6d2a4e2abd80e0b6a872fcdfcacfcae877f637a7463d29b13f423c',1,'');
INSERT INTO "reviews" VALUES(2,9,6,'2026-11-22T04:49:18.071929Z','Dr Bo','overridden','Numbness settled; seen in clinic.','dafc837d82daafabacbe3cd93e8337db816fd1130da65807aca27fb2f24db3a9','63bf71a33d1733c296f9fdf0359be8b4e0c47638f0519b58219d1fa433f4971e',2,'');
INSERT INTO "reviews" VALUES(3,12,8,'2026-12-07T14:44:52.341801Z','Dr Ada','overridden','Known.','7970f8615d3fe15a90be333e8ce6077432fd535b432a3e3f054c9d4c6ce99dae','4287b0dcbf5444b9fad713dbf5d0d61048c0971e084d118a27215abc433f5597',3,'known_cause');
CREATE TABLE used_jtis (
            jti_hash   TEXT PRIMARY KEY,
            expires_at TEXT NOT NULL
        );
CREATE TABLE web_sessions (
            id          INTEGER PRIMARY KEY,
            secret_hash TEXT NOT NULL UNIQUE,
            clinician   TEXT NOT NULL REFERENCES clinicians (name),
            started_at  TEXT NOT NULL,
            seen_at     TEXT NOT NULL
        );
CREATE TABLE worklist (
            entry_id    INTEGER PRIMARY KEY REFERENCES entries (id),
            severity    INTEGER NOT NULL,
            reported_at TEXT NOT NULL,
            patient_id  TEXT NOT NULL,
            next_at     TEXT
        );
INSERT INTO "worklist" VALUES(3,1,'2026-11-22T04:19:20.920845Z','pt-p17-fever',NULL);
INSERT INTO "worklist" VALUES(4,3,'2026-11-22T04:19:20.923030Z','pt-p06-snap-deadlift',NULL);
INSERT INTO "worklist" VALUES(5,1,'2026-11-23T08:00:00.000000Z','pt-v1','2026-11-25T08:00:00.000000Z');
INSERT INTO "worklist" VALUES(7,5,'2026-11-27T08:00:00.000000Z','pt-v1',NULL);
CREATE TABLE worklist_tally (
            severity INTEGER PRIMARY KEY,
            checks   INTEGER NOT NULL
        );
INSERT INTO "worklist_tally" VALUES(1,2);
INSERT INTO "worklist_tally" VALUES(2,0);
INSERT INTO "worklist_tally" VALUES(3,1);
INSERT INTO "worklist_tally" VALUES(5,1);
CREATE INDEX entries_by_patient ON entries (patient_id, id);
CREATE INDEX entries_by_patient_time ON entries (patient_id, reported_at);
CREATE INDEX entries_by_outcome ON entries (outcome, id);
CREATE INDEX entries_by_urgency ON entries (outcome, urgency, id);
CREATE INDEX entries_by_session ON entries (session_id, id);
CREATE INDEX entries_by_time ON entries (reported_at);
CREATE INDEX reviews_by_entry ON reviews (entry_id, id);
CREATE INDEX patients_by_patient ON patients (patient_id, id);
CREATE INDEX worklist_by_urgency ON worklist (severity DESC, reported_at, entry_id);
CREATE INDEX worklist_by_patient ON worklist (patient_id, severity DESC, reported_at);
CREATE INDEX worklist_waiting ON worklist (severity, reported_at) WHERE next_at IS NULL;
CREATE INDEX web_sessions_by_clinician ON web_sessions (clinician);
CREATE INDEX used_jtis_by_expiry ON used_jtis (expires_at);
CREATE INDEX idempotency_keys_by_time ON idempotency_keys (created_at);
COMMIT;
