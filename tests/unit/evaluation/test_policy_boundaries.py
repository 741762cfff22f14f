"""Case tables for triage policy v3 (clinical.md section 4), row by row.

Each case changes a symptom-free report, names the rule it is about, says whether that rule
fires, and (where it matters) the outcome and urgency that result. Thresholds are tested on both
sides (they are inclusive as written), every "unless back to usual" with and without
``pain_before`` (and with ``pain_now`` equal to it), set rows with each relevant element and
without, region rows with a region in the list and one outside it. Every case runs on both
engines. History rows (H1, H2, H2b, H3) have their own tables with earlier checks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import triage
from tests.support.helpers import BASE as HELPERS_BASE

ENGINES = ["durable-rules", "reference"]

# -- a v2 report ---------------------------------------------------------------------------------

BASE: dict[str, Any] = {**HELPERS_BASE, "patient_id": "pt-boundary"}
"""Every required answer of the contract: no pain and no symptom, so nothing fires."""

DESCRIBING_PAIN = (
    "pain_region", "pain_site", "pain_trend", "pain_spread", "pain_sides", "pain_character",
    "pain_onset", "pain_duration", "eases_with_movement", "rest_pain", "night_pain",
    "radiating_pain",
)  # fmt: skip


def v2_report(**changes: Any) -> dict[str, Any]:
    """BASE with some answers changed (None removes one), kept consistent with the contract:
    with pain, a region and a site (thigh, muscle unless given); a trend from 24 h with pain now
    (better unless given); without pain, none of the answers describing it; a chest-pain kind
    (pressure unless given) whenever there is chest pain; swelling_fast only with swelling."""
    data = {k: v for k, v in {**BASE, **changes}.items() if v is not None}
    if data["pain_during"] > 0 or data["pain_now"] > 0:
        data.setdefault("pain_region", "thigh")
        data.setdefault("pain_site", "muscle")
        if data["hours_since_session"] >= 24 and data["pain_now"] > 0:
            data.setdefault("pain_trend", "better")
    else:
        assert not any(k in changes for k in DESCRIBING_PAIN), "pain answers without pain"
    if data["chest_pain"] != "none":
        data.setdefault("chest_pain_kind", "pressure")
    assert "chest_pain_kind" not in data or data["chest_pain"] != "none"
    assert "swelling_fast" not in data or data["swelling"] != "none"
    return data


# -- the case table ------------------------------------------------------------------------------

LEVELS = {
    "emergency": ("seek_medical_review", "emergency"),
    "urgent": ("seek_medical_review", "urgent"),
    "same_day": ("seek_medical_review", "same_day"),
    "routine": ("seek_medical_review", "routine"),
    "reduce_load": ("reduce_load", None),
    "continue": ("continue", None),
}


@dataclass(frozen=True)
class Case:
    row: str
    label: str
    rule: str
    fires: bool
    level: str | None  # the resulting outcome (LEVELS), None when it does not matter
    changes: dict[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str:
        return f"{self.row} {self.label}"


CASES: list[Case] = []


def case(row: str, label: str, rule: str, fires: bool, level: str | None, **changes: Any) -> None:
    CASES.append(Case(row, label, rule, fires, level, changes))


# Pain descriptions used below.
MUSCLE = {"pain_region": "thigh", "pain_site": "muscle"}
JOINT = {"pain_region": "knee", "pain_site": "joint"}
TENDON = {"pain_region": "knee", "pain_site": "tendon"}
SPINE = ("neck", "upper_back", "lower_back")
NOT_SPINE_MUSCLE = ("thigh", "shoulder", "chest", "head")

# E1: chest_pain ongoing and chest_pain_kind not tender
R = "emergency.chest-pain-ongoing"
for kind in ("pressure", "breathing", "tearing", "unsure"):
    case("E1", f"ongoing {kind}", R, True, "emergency", chest_pain="ongoing", chest_pain_kind=kind)
case("E1", "ongoing tender", R, False, "same_day", chest_pain="ongoing", chest_pain_kind="tender")
case("E1", "resolved pressure", R, False, "same_day", chest_pain="resolved")

# E2: chest pain of any kind with breathless, dizziness, fainting or palpitations
R = "emergency.chest-pain-with-features"
for name, value in (
    ("breathless", "resolved"),
    ("dizziness", "resolved"),
    ("fainting", "nearly"),
    ("palpitations", "resolved"),
):
    case("E2", f"resolved + {name}", R, True, "emergency", chest_pain="resolved", **{name: value})
    case("E2", f"no chest pain + {name}", R, False, None, **{name: value})
case(
    "E2",
    "tender + dizziness",
    R,
    True,
    "emergency",
    chest_pain="resolved",
    chest_pain_kind="tender",
    dizziness="resolved",
)
case("E2", "resolved alone", R, False, "same_day", chest_pain="resolved")

# E2b: chest pain of any kind in known heart disease
R = "emergency.chest-pain-heart-disease"
case(
    "E2b",
    "tender resolved + heart disease",
    R,
    True,
    "emergency",
    chest_pain="resolved",
    chest_pain_kind="tender",
    conditions=["heart_disease"],
)
case(
    "E2b",
    "resolved + high blood pressure",
    R,
    False,
    "same_day",
    chest_pain="resolved",
    conditions=["high_blood_pressure"],
)
case("E2b", "heart disease, no chest pain", R, False, "continue", conditions=["heart_disease"])

# E3-E8, E10, E11, E14 (unchanged)
case("E3", "fainted", "emergency.fainted", True, "emergency", fainting="fainted")
case("E3", "nearly", "emergency.fainted", False, "same_day", fainting="nearly")
case("E4", "ongoing", "emergency.breathless-ongoing", True, "emergency", breathless="ongoing")
case("E4", "resolved", "emergency.breathless-ongoing", False, "routine", breathless="resolved")
R = "emergency.palpitations-ongoing"
case("E5", "ongoing", R, True, "emergency", palpitations="ongoing")
case("E5", "resolved", R, False, "same_day", palpitations="resolved")
R = "emergency.near-faint-with-palpitations"
case("E6", "nearly + resolved", R, True, "emergency", fainting="nearly", palpitations="resolved")
case("E6", "nearly alone", R, False, "same_day", fainting="nearly")
case("E7", "ongoing", "emergency.dizziness-ongoing", True, "emergency", dizziness="ongoing")
case("E7", "resolved", "emergency.dizziness-ongoing", False, "routine", dizziness="resolved")
case("E8", "confusion", "emergency.confusion", True, "emergency", confusion=True)
case("E10", "dark urine", "emergency.dark-urine", True, "emergency", dark_urine=True)
R = "emergency.tense-swollen-limb"
case("E11", "tense limb", R, True, "emergency", tense_swollen_limb=True)
case("E14", "ongoing", "emergency.heat-illness-ongoing", True, "emergency", heat_illness="ongoing")
R = "emergency.heat-illness-ongoing"
case("E14", "resolved", R, False, "reduce_load", heat_illness="resolved")

# E9: headache thunderclap
R = "emergency.thunderclap-headache"
case("E9", "thunderclap", R, True, "emergency", headache="thunderclap")
case("E9", "new", R, False, "same_day", headache="new")
case("E9", "usual", R, False, "continue", headache="usual")

# E12: numbness both_legs or saddle, radiating_pain both_legs, bladder or bowel change
R = "emergency.cauda-equina"
case("E12", "numb both legs", R, True, "emergency", numbness=["both_legs"])
case("E12", "numb saddle", R, True, "emergency", numbness=["saddle"])
case("E12", "numb one leg and saddle", R, True, "emergency", numbness=["one_leg", "saddle"])
case("E12", "bladder", R, True, "emergency", bladder_bowel_change=True)
case(
    "E12",
    "radiating both legs",
    R,
    True,
    "emergency",
    pain_during=4,
    pain_now=4,
    pain_region="lower_back",
    radiating_pain=["both_legs"],
)
case("E12", "numb one leg", R, False, "routine", numbness=["one_leg"])
case("E12", "numb both arms", R, False, "urgent", numbness=["both_arms"])
case(
    "E12",
    "radiating one leg",
    R,
    False,
    "routine",
    pain_during=4,
    pain_now=4,
    pain_region="lower_back",
    radiating_pain=["one_leg"],
)
case("E12", "no numbness", R, False, "continue", numbness=[])

# E13: swollen warm limb with breathlessness or chest pain
R = "emergency.limb-swelling-with-chest-or-breath"
case("E13", "+ breathless", R, True, "emergency", swollen_warm_limb=True, breathless="resolved")
case("E13", "+ chest pain", R, True, "emergency", swollen_warm_limb=True, chest_pain="resolved")
case("E13", "limb alone", R, False, "same_day", swollen_warm_limb=True)

# E15: chest pain of the tearing kind
R = "emergency.tearing-chest-pain"
case(
    "E15",
    "resolved tearing",
    R,
    True,
    "emergency",
    chest_pain="resolved",
    chest_pain_kind="tearing",
)
case(
    "E15", "ongoing tearing", R, True, "emergency", chest_pain="ongoing", chest_pain_kind="tearing"
)
case(
    "E15",
    "resolved breathing",
    R,
    False,
    "same_day",
    chest_pain="resolved",
    chest_pain_kind="breathing",
)

# E16 / S19: sudden upper-back pain 7 or more during a lift (E16: with dizziness or fainting)
UPPER_BACK = {"pain_region": "upper_back", "pain_onset": "sudden_during", "pain_during": 8}
R16, R19 = (
    "emergency.upper-back-pain-with-dizziness-or-faint",
    "same-day.sudden-severe-upper-back-pain",
)
case("E16", "now 7 + dizzy", R16, True, "emergency", pain_now=7, dizziness="resolved", **UPPER_BACK)
case(
    "E16",
    "now 7 + nearly fainted",
    R16,
    True,
    "emergency",
    pain_now=7,
    fainting="nearly",
    **UPPER_BACK,
)
case("E16", "now 6 + dizzy", R16, False, "routine", pain_now=6, dizziness="resolved", **UPPER_BACK)
case("E16", "now 7 alone", R16, False, "same_day", pain_now=7, **UPPER_BACK)
case(
    "E16",
    "lower back",
    R16,
    False,
    None,
    pain_now=7,
    dizziness="resolved",
    **{**UPPER_BACK, "pain_region": "lower_back"},
)
case(
    "E16",
    "gradual onset",
    R16,
    False,
    None,
    pain_now=7,
    dizziness="resolved",
    **{**UPPER_BACK, "pain_onset": "gradual_during"},
)
case("S19", "now 7", R19, True, "same_day", pain_now=7, **UPPER_BACK)
case("S19", "now 6", R19, False, "reduce_load", pain_now=6, **UPPER_BACK)
case(
    "S19", "lower back", R19, False, None, pain_now=7, **{**UPPER_BACK, "pain_region": "lower_back"}
)
case(
    "S19",
    "gradual onset",
    R19,
    False,
    None,
    pain_now=7,
    **{**UPPER_BACK, "pain_onset": "gradual_during"},
)

# E17: a new headache with neck pain, dizziness or a change in vision
R = "emergency.new-headache-with-neck-dizziness-or-vision"
case(
    "E17",
    "new + neck",
    R,
    True,
    "emergency",
    headache="new",
    pain_during=3,
    pain_now=3,
    pain_region="neck",
)
case("E17", "new + dizzy", R, True, "emergency", headache="new", dizziness="resolved")
case("E17", "new + vision", R, True, "emergency", headache="new", vision_change=True)
case("E17", "new alone", R, False, "same_day", headache="new")
case(
    "E17",
    "new + shoulder",
    R,
    False,
    "same_day",
    headache="new",
    pain_during=3,
    pain_now=3,
    pain_region="shoulder",
)
case("E17", "usual + dizzy", R, False, "routine", headache="usual", dizziness="resolved")

# E18: vision change with any headache (usual included) or dizziness; U6: vision change alone
R = "emergency.vision-change-with-headache-or-dizziness"
for kind in ("usual", "new", "thunderclap"):
    case("E18", f"vision + {kind}", R, True, "emergency", vision_change=True, headache=kind)
case("E18", "vision + dizzy", R, True, "emergency", vision_change=True, dizziness="resolved")
case("E18", "vision alone", R, False, "urgent", vision_change=True)
case("E18", "usual headache alone", R, False, "continue", headache="usual")
case("U6", "vision", "urgent.vision-change", True, "urgent", vision_change=True)
case("U6", "no vision change", "urgent.vision-change", False, "continue", vision_change=False)

# U1: deformity
case("U1", "deformity", "urgent.deformity", True, "urgent", deformity=True)
case("U1", "no deformity", "urgent.deformity", False, "continue")

# U2: numbness or radiating pain in both arms
R = "urgent.both-arms"
case("U2", "numb both arms", R, True, "urgent", numbness=["both_arms"])
case(
    "U2",
    "radiating both arms",
    R,
    True,
    "urgent",
    pain_during=3,
    pain_now=3,
    pain_region="neck",
    radiating_pain=["both_arms"],
)
case("U2", "numb one arm", R, False, "routine", numbness=["one_arm"])
case(
    "U2",
    "radiating one arm",
    R,
    False,
    "routine",
    pain_during=3,
    pain_now=3,
    pain_region="neck",
    radiating_pain=["one_arm"],
)

# U3 / S9: severe muscle pain (U3: worse, marked swelling; S9: marked weakness or swelling)
U3 = {"hours_since_session": 30, "pain_during": 5, "pain_trend": "worse", "swelling": "marked"}
R = "urgent.severe-swollen-muscle-worsening"
case("U3", "now 7", R, True, "urgent", pain_now=7, **MUSCLE, **U3)
case("U3", "now 6", R, False, "routine", pain_now=6, **MUSCLE, **U3)
case("U3", "trend same", R, False, "same_day", pain_now=7, **MUSCLE, **{**U3, "pain_trend": "same"})
case("U3", "mild swelling", R, False, None, pain_now=7, **MUSCLE, **{**U3, "swelling": "mild"})
case("U3", "joint", R, False, None, pain_now=7, **JOINT, **U3)
R = "same-day.severe-muscle-pain-weak-or-swollen"
case("S9", "now 7 marked swelling", R, True, "same_day", pain_now=7, swelling="marked", **MUSCLE)
case("S9", "now 7 marked weakness", R, True, "same_day", pain_now=7, weakness="marked", **MUSCLE)
case("S9", "now 6 marked swelling", R, False, "routine", pain_now=6, swelling="marked", **MUSCLE)
case("S9", "now 7 mild weakness", R, False, "reduce_load", pain_now=7, weakness="mild", **MUSCLE)
case("S9", "joint", R, False, "routine", pain_now=7, swelling="marked", **JOINT)

# U4: limb pain 7 or more in a limb region, numbness in one limb, marked weakness or loss of
# function; numbness only, not radiating pain
U4 = {"pain_during": 5, "numbness": ["one_arm"], "weakness": "marked"}
R = "urgent.limb-pain-numb-weak"
for region in ("arm", "hand_wrist", "hip_buttock", "thigh", "lower_leg", "foot_ankle"):
    case("U4", f"now 7 {region}", R, True, "urgent", pain_now=7, pain_region=region, **U4)
for region in ("knee", "shoulder", "lower_back"):
    case("U4", f"now 7 {region}", R, False, "same_day", pain_now=7, pain_region=region, **U4)
case("U4", "now 6 arm", R, False, "same_day", pain_now=6, pain_region="arm", **U4)
case(
    "U4",
    "numb one leg",
    R,
    True,
    "urgent",
    pain_now=7,
    pain_region="lower_leg",
    **{**U4, "numbness": ["one_leg"]},
)
case(
    "U4",
    "functional loss, weakness mild",
    R,
    True,
    "urgent",
    pain_now=7,
    pain_region="arm",
    **{**U4, "weakness": "mild", "functional_loss": True},
)
case(
    "U4",
    "weakness mild",
    R,
    False,
    "routine",
    pain_now=8,
    pain_region="arm",
    **{**U4, "weakness": "mild"},
)
case(
    "U4",
    "radiating, not numb",
    R,
    False,
    "same_day",
    pain_now=7,
    pain_region="arm",
    **{**U4, "numbness": [], "radiating_pain": ["one_arm"]},
)

# U5 / R11: groin lump (U5: with pain now 7 or more, or unwell)
R5, R11 = "urgent.groin-lump-severe-or-unwell", "routine.groin-lump"
GROIN = {"groin_lump": True, "pain_region": "abdomen_groin", "pain_site": "other", "pain_during": 4}
case("U5", "now 7", R5, True, "urgent", pain_now=7, **GROIN)
case("U5", "now 6", R5, False, "routine", pain_now=6, **GROIN)
case("U5", "unwell", R5, True, "urgent", unwell=True, groin_lump=True)
case("U5", "lump alone", R5, False, "routine", groin_lump=True)
case("U5", "pain 7 without lump", R5, False, None, pain_now=7, **{**GROIN, "groin_lump": False})
case("R11", "lump", R11, True, "routine", groin_lump=True)
case("R11", "no lump", R11, False, "continue", groin_lump=False)

# U7 / S18: blood thinners (U7: fast swelling; S18: any swelling or bruising)
R7, R18 = (
    "urgent.fast-swelling-on-blood-thinners",
    "same-day.swelling-or-bruising-on-blood-thinners",
)
THINNERS = {"conditions": ["blood_thinners"]}
case("U7", "fast swelling", R7, True, "urgent", swelling="mild", swelling_fast=True, **THINNERS)
case("U7", "slow swelling", R7, False, "same_day", swelling="mild", swelling_fast=False, **THINNERS)
case(
    "U7",
    "fast, no thinners",
    R7,
    False,
    None,
    swelling="mild",
    swelling_fast=True,
    conditions=["previous_clot"],
)
case("S18", "mild swelling", R18, True, "same_day", swelling="mild", **THINNERS)
case("S18", "thinners alone", R18, False, "continue", **THINNERS)
# v3: bruising counts at a sore muscle or joint, or with pain now 3 or more (the bruise's site
# and its pain); a small bruise elsewhere with little pain (a knocked shin) does not
BRUISE = {"bruising": True, "pain_during": 2, "pain_region": "lower_leg"}
for site in ("muscle", "joint"):
    for now in (1, 2):
        case(
            "S18",
            f"bruise, {site} now {now}",
            R18,
            True,
            "same_day",
            pain_site=site,
            pain_now=now,
            **BRUISE,
            **THINNERS,
        )
for site in ("tendon", "bone", "other"):
    case(
        "S18",
        f"bruise, {site} now 2",
        R18,
        False,
        "continue",
        pain_site=site,
        pain_now=2,
        **BRUISE,
        **THINNERS,
    )
    case(
        "S18",
        f"bruise, {site} now 3",
        R18,
        True,
        "same_day",
        pain_site=site,
        pain_now=3,
        **{**BRUISE, "pain_during": 3},
        **THINNERS,
    )
case("S18", "bruise, no pain", R18, False, "continue", bruising=True, **THINNERS)
case(
    "S18",
    "bruise, muscle, no thinners",
    R18,
    False,
    "continue",
    pain_site="muscle",
    pain_now=2,
    **BRUISE,
)
case(
    "S18",
    "knocked shin, sudden",
    R18,
    False,
    "continue",
    pain_site="other",
    pain_now=1,
    pain_onset="sudden_during",
    **BRUISE,
    **THINNERS,
)

# S1: any chest pain (tenderness included)
R = "same-day.chest-pain"
for kind in ("pressure", "breathing", "tender", "unsure"):
    case("S1", f"resolved {kind}", R, True, "same_day", chest_pain="resolved", chest_pain_kind=kind)
case("S1", "ongoing tender", R, True, "same_day", chest_pain="ongoing", chest_pain_kind="tender")
case("S1", "none", R, False, "continue", chest_pain="none")

# S2-S4, S6-S8 (unchanged)
case("S2", "nearly", "same-day.nearly-fainted", True, "same_day", fainting="nearly")
R = "same-day.palpitations-resolved"
case("S3", "resolved", R, True, "same_day", palpitations="resolved")
# S4 (v3): a snap with pain present or any injury sign of S5; a painless pop with no sign is L5
R, RPOP = "same-day.snap-or-tear", "reduce.painless-pop"
case("S4", "snap + pain during 1", R, True, "same_day", snap_or_tear=True, pain_during=1)
case("S4", "snap + pain now 1", R, True, "same_day", snap_or_tear=True, pain_now=1)
for label, sign in (
    ("mild swelling", {"swelling": "mild"}),
    ("bruising", {"bruising": True}),
    ("marked weakness", {"weakness": "marked"}),
    ("functional loss", {"functional_loss": True}),
):
    case("S4", f"painless snap + {label}", R, True, "same_day", snap_or_tear=True, **sign)
    case("L5", f"painless snap + {label}", RPOP, False, "same_day", snap_or_tear=True, **sign)
case("S4", "painless snap alone", R, False, "reduce_load", snap_or_tear=True)
case(
    "S4",
    "painless snap + mild weakness",
    R,
    False,
    "reduce_load",
    snap_or_tear=True,
    weakness="mild",
)
case("S4", "unsure", R, False, "reduce_load", snap_or_tear="unsure")
case("L5", "painless snap", RPOP, True, "reduce_load", snap_or_tear=True)
case(
    "L5",
    "painless snap + mild weakness",
    RPOP,
    True,
    "reduce_load",
    snap_or_tear=True,
    weakness="mild",
)
case("L5", "snap + pain now 1", RPOP, False, "same_day", snap_or_tear=True, pain_now=1)
case("L5", "snap + pain during 1", RPOP, False, "same_day", snap_or_tear=True, pain_during=1)
case("L5", "no snap", RPOP, False, "continue", snap_or_tear=False)
case("S6", "functional loss", "same-day.functional-loss", True, "same_day", functional_loss=True)
case(
    "S7",
    "swollen warm limb",
    "same-day.swollen-warm-limb",
    True,
    "same_day",
    swollen_warm_limb=True,
)
R = "same-day.sudden-marked-weakness"
SUDDEN = {"pain_during": 5, "pain_now": 4, "pain_onset": "sudden_during"}
case("S8", "marked + sudden", R, True, "same_day", weakness="marked", **SUDDEN)
case(
    "S8",
    "marked + gradual",
    R,
    False,
    "routine",
    weakness="marked",
    **{**SUDDEN, "pain_onset": "gradual_during"},
)
case("S8", "mild + sudden", R, False, "continue", weakness="mild", **SUDDEN)

# S5 / L5: an unsure snap, with any injury sign (S5) or without (L5)
R5, RL5 = "same-day.unsure-snap-with-injury-signs", "reduce.unsure-snap"
PAIN = {"pain_during": 4, "pain_now": 3}
for label, sign in (
    ("sudden onset", {"pain_onset": "sudden_during", **PAIN}),
    ("mild swelling", {"swelling": "mild", **PAIN}),
    ("bruising", {"bruising": True, **PAIN}),
    ("marked weakness", {"weakness": "marked", **PAIN}),
    ("functional loss", {"functional_loss": True, **PAIN}),
):
    case("S5", f"unsure + {label}", R5, True, "same_day", snap_or_tear="unsure", **sign)
case(
    "S5",
    "unsure + mild weakness",
    R5,
    False,
    "reduce_load",
    snap_or_tear="unsure",
    weakness="mild",
    **PAIN,
)
case("S5", "unsure alone", R5, False, "reduce_load", snap_or_tear="unsure", **PAIN)
case("S5", "no snap + mild swelling", R5, False, "continue", swelling="mild", **PAIN)
case("L5", "unsure", RL5, True, "reduce_load", snap_or_tear="unsure")
case("L5", "unsure + pain, no sign", RL5, True, "reduce_load", snap_or_tear="unsure", **PAIN)
case(
    "L5", "unsure + mild weakness", RL5, True, "reduce_load", snap_or_tear="unsure", weakness="mild"
)
case("L5", "false", RL5, False, "continue", snap_or_tear=False)
# v3: L5 says "without signs", so it never fires beside S5
for label, sign in (
    ("sudden onset", {"pain_onset": "sudden_during", **PAIN}),
    ("mild swelling", {"swelling": "mild"}),
    ("bruising", {"bruising": True}),
    ("marked weakness", {"weakness": "marked"}),
    ("functional loss", {"functional_loss": True}),
):
    case("L5", f"unsure + {label}", RL5, False, "same_day", snap_or_tear="unsure", **sign)

# S10: bruising with sudden onset or any weakness
R = "same-day.bruising-sudden-or-weak"
case(
    "S10", "bruise + sudden", R, True, "same_day", bruising=True, pain_onset="sudden_during", **PAIN
)
# v3: in a muscle or tendon only (a bruise from a knock on a bone or the skin is not a tear)
for site, fires, level in (
    ("tendon", True, "same_day"),
    ("joint", False, "continue"),
    ("bone", False, "continue"),
    ("other", False, "continue"),
):
    case(
        "S10",
        f"bruise + sudden, {site}",
        R,
        fires,
        level,
        bruising=True,
        pain_onset="sudden_during",
        pain_site=site,
        pain_region="lower_leg",
        **PAIN,
    )
case(
    "S10",
    "bruise + mild weakness, bone",
    R,
    False,
    "continue",
    bruising=True,
    weakness="mild",
    pain_site="bone",
    pain_region="lower_leg",
    **PAIN,
)
case("S10", "bruise + mild weakness", R, True, "same_day", bruising=True, weakness="mild", **PAIN)
case("S10", "bruise + no weakness", R, False, "continue", bruising=True, weakness="none", **PAIN)
case("S10", "bruise, weakness not asked", R, False, "continue", bruising=True, **PAIN)
case("S10", "sudden, no bruise", R, False, "continue", pain_onset="sudden_during", **PAIN)

# S11: fast joint swelling with sudden onset, giving way, or a snap that is not "false"
R = "same-day.joint-swelled-fast-after-injury"
FAST = {"swelling": "mild", "swelling_fast": True, **JOINT, **PAIN}
case("S11", "sudden onset", R, True, "same_day", pain_onset="sudden_during", **FAST)
case("S11", "giving way", R, True, "same_day", joint_giving_way=True, **FAST)
case("S11", "snap unsure", R, True, "same_day", snap_or_tear="unsure", **FAST)
case("S11", "snap true", R, True, "same_day", snap_or_tear=True, **FAST)
case("S11", "none of the three", R, False, "reduce_load", pain_onset="gradual_during", **FAST)
case("S11", "muscle", R, False, None, pain_onset="sudden_during", **{**FAST, **MUSCLE})
case(
    "S11",
    "slow swelling",
    R,
    False,
    "reduce_load",
    pain_onset="sudden_during",
    **{**FAST, "swelling_fast": False},
)

# S12, S13
case("S12", "locked", "same-day.joint-locked", True, "same_day", joint_locked=True)
case("S12", "not locked", "same-day.joint-locked", False, "continue", joint_locked=False)
case("S13", "new", "same-day.new-headache", True, "same_day", headache="new")
case("S13", "usual", "same-day.new-headache", False, "continue", headache="usual")
case("S13", "thunderclap", "same-day.new-headache", False, "emergency", headache="thunderclap")

# S14: unwell with spinal pain now 1 or more
R = "same-day.spinal-pain-with-fever"
for region in SPINE:
    case(
        "S14",
        f"unwell + {region}",
        R,
        True,
        "same_day",
        unwell=True,
        pain_during=1,
        pain_now=1,
        pain_region=region,
    )
case(
    "S14",
    "unwell + shoulder",
    R,
    False,
    "reduce_load",
    unwell=True,
    pain_during=1,
    pain_now=1,
    pain_region="shoulder",
)
case(
    "S14",
    "unwell + neck now 0",
    R,
    False,
    "reduce_load",
    unwell=True,
    pain_during=2,
    pain_now=0,
    pain_region="neck",
)
case("S14", "well + neck", R, False, "continue", pain_during=1, pain_now=1, pain_region="neck")

# S15 / R8: nerve symptoms in one limb (S15: with marked weakness)
R15, R8 = "same-day.nerve-symptoms-with-marked-weakness", "routine.nerve-symptoms-one-limb"
RADIATING = {"pain_during": 3, "pain_now": 3, "pain_region": "lower_back"}
for element in ("one_arm", "one_leg"):
    case(
        "S15",
        f"numb {element} + marked",
        R15,
        True,
        "same_day",
        numbness=[element],
        weakness="marked",
    )
    case(
        "S15",
        f"radiating {element} + marked",
        R15,
        True,
        "same_day",
        radiating_pain=[element],
        weakness="marked",
        **RADIATING,
    )
    case("R8", f"numb {element}", R8, True, "routine", numbness=[element])
    case("R8", f"radiating {element}", R8, True, "routine", radiating_pain=[element], **RADIATING)
case("S15", "numb one leg + mild", R15, False, "routine", numbness=["one_leg"], weakness="mild")
case("S15", "marked, no nerve symptoms", R15, False, "routine", weakness="marked")
case("R8", "numb both legs", R8, False, "emergency", numbness=["both_legs"])
case("R8", "numb saddle", R8, False, "emergency", numbness=["saddle"])
case("R8", "numb both arms", R8, False, "urgent", numbness=["both_arms"])
case("R8", "no numbness", R8, False, "continue", numbness=[])

# S16: breathlessness with sharp chest or upper-back pain
R = "same-day.sharp-chest-or-upper-back-pain-breathless"
SHARP = {"pain_during": 4, "pain_now": 4, "pain_character": "sharp", "breathless": "resolved"}
case("S16", "chest", R, True, "same_day", pain_region="chest", **SHARP)
case("S16", "upper back", R, True, "same_day", pain_region="upper_back", **SHARP)
case("S16", "shoulder", R, False, "routine", pain_region="shoulder", **SHARP)
case(
    "S16",
    "dull ache",
    R,
    False,
    "routine",
    pain_region="chest",
    **{**SHARP, "pain_character": "dull_ache"},
)
case(
    "S16",
    "not breathless",
    R,
    False,
    "continue",
    pain_region="chest",
    **{**SHARP, "breathless": "none"},
)

# S17: breathlessness with lower-leg pain now 1 or more
R = "same-day.calf-pain-breathless"
case(
    "S17",
    "lower leg now 1",
    R,
    True,
    "same_day",
    breathless="resolved",
    pain_during=1,
    pain_now=1,
    pain_region="lower_leg",
)
case(
    "S17",
    "lower leg now 0",
    R,
    False,
    "routine",
    breathless="resolved",
    pain_during=2,
    pain_now=0,
    pain_region="lower_leg",
)
case(
    "S17",
    "thigh",
    R,
    False,
    "routine",
    breathless="resolved",
    pain_during=1,
    pain_now=1,
    pain_region="thigh",
)
case(
    "S17",
    "not breathless",
    R,
    False,
    "continue",
    pain_during=1,
    pain_now=1,
    pain_region="lower_leg",
)

# R1: worse with pain now 1 or more, at 72 h (any pain) or at 48 h (non-muscle pain)
R72, R48 = "routine.worse-after-72h", "routine.worse-after-48h-not-muscle"
WORSE = {"pain_during": 3, "pain_now": 1, "pain_trend": "worse"}
case("R1", "muscle 71.9 h", R72, False, "continue", hours_since_session=71.9, **MUSCLE, **WORSE)
case("R1", "muscle 72 h", R72, True, "routine", hours_since_session=72, **MUSCLE, **WORSE)
case(
    "R1",
    "muscle 72 h (48 h branch)",
    R48,
    False,
    "routine",
    hours_since_session=72,
    **MUSCLE,
    **WORSE,
)
case("R1", "muscle 60 h", R48, False, "continue", hours_since_session=60, **MUSCLE, **WORSE)
case("R1", "joint 47.9 h", R48, False, "continue", hours_since_session=47.9, **JOINT, **WORSE)
case("R1", "joint 48 h", R48, True, "routine", hours_since_session=48, **JOINT, **WORSE)
case("R1", "joint 72 h", R72, True, "routine", hours_since_session=72, **JOINT, **WORSE)
for region in SPINE:
    case(
        "R1",
        f"{region} muscle 48 h",
        R48,
        True,
        "routine",
        hours_since_session=48,
        pain_region=region,
        **WORSE,
    )
case(
    "R1",
    "joint 48 h now 0",
    R48,
    False,
    "continue",
    hours_since_session=48,
    **JOINT,
    **{**WORSE, "pain_now": 0},
)
case(
    "R1",
    "muscle 72 h now 0",
    R72,
    False,
    "continue",
    hours_since_session=72,
    **MUSCLE,
    **{**WORSE, "pain_now": 0},
)
case(
    "R1",
    "joint 48 h same",
    R48,
    False,
    "continue",
    hours_since_session=48,
    **JOINT,
    **{**WORSE, "pain_trend": "same"},
)
case(
    "R1",
    "muscle 72 h same",
    R72,
    False,
    "continue",
    hours_since_session=72,
    **MUSCLE,
    **{**WORSE, "pain_trend": "same"},
)

# R2: 72 h, same, pain now 4 or more, unless back to usual
R = "routine.not-improving-72h"
SAME4 = {"pain_during": 3, "pain_now": 4, "pain_trend": "same", **MUSCLE}
case("R2", "71.9 h", R, False, "continue", hours_since_session=71.9, **SAME4)
case("R2", "72 h", R, True, "routine", hours_since_session=72, **SAME4)
case("R2", "72 h now 3", R, False, "continue", hours_since_session=72, **{**SAME4, "pain_now": 3})
case(
    "R2",
    "72 h worse",
    R,
    False,
    "routine",
    hours_since_session=72,
    **{**SAME4, "pain_trend": "worse"},
)
case("R2", "72 h before 3", R, True, "routine", hours_since_session=72, pain_before=3, **SAME4)
case(
    "R2",
    "72 h before 4 (equal)",
    R,
    False,
    "continue",
    hours_since_session=72,
    pain_before=4,
    **SAME4,
)
case("R2", "72 h before 5", R, False, "continue", hours_since_session=72, pain_before=5, **SAME4)

# R3: 168 h, pain now 3 or more, unless back to usual
R = "routine.pain-after-a-week"
WEEK = {"pain_during": 2, "pain_now": 3, **MUSCLE}
case("R3", "167.9 h", R, False, "continue", hours_since_session=167.9, **WEEK)
case("R3", "168 h", R, True, "routine", hours_since_session=168, **WEEK)
case("R3", "168 h now 2", R, False, "continue", hours_since_session=168, **{**WEEK, "pain_now": 2})
case("R3", "168 h before 2", R, True, "routine", hours_since_session=168, pain_before=2, **WEEK)
case(
    "R3",
    "168 h before 3 (equal)",
    R,
    False,
    "continue",
    hours_since_session=168,
    pain_before=3,
    **WEEK,
)

# R4: pain now 8 or more
case("R4", "now 7", "routine.severe-pain-now", False, "reduce_load", pain_during=5, pain_now=7)
case("R4", "now 8", "routine.severe-pain-now", True, "routine", pain_during=5, pain_now=8)

# R5: joint with swelling or giving way
R = "routine.joint-swelling-or-instability"
case("R5", "joint + marked swelling", R, True, "routine", swelling="marked", **JOINT, **PAIN)
# v3: mild swelling of a sore joint is a reactive joint (L9), not R5
case("R5", "joint + mild swelling", R, False, "reduce_load", swelling="mild", **JOINT, **PAIN)
case("R5", "joint + giving way", R, True, "routine", joint_giving_way=True, **JOINT, **PAIN)
case("R5", "muscle + mild swelling", R, False, "continue", swelling="mild", **MUSCLE, **PAIN)
case("R5", "joint alone", R, False, "continue", **JOINT, **PAIN)

# R6, R7
case("R6", "resolved", "routine.breathless-resolved", True, "routine", breathless="resolved")
case("R7", "resolved", "routine.dizziness-resolved", True, "routine", dizziness="resolved")

# R9: night pain, focal or in a bone
R = "routine.night-pain-focal-or-bone"
case("R9", "night + focal", R, True, "routine", night_pain=True, pain_spread="focal", **PAIN)
case(
    "R9",
    "night + bone, diffuse",
    R,
    True,
    "routine",
    night_pain=True,
    pain_spread="diffuse",
    pain_site="bone",
    pain_region="lower_leg",
    **PAIN,
)
case(
    "R9",
    "night + diffuse muscle",
    R,
    False,
    "continue",
    night_pain=True,
    pain_spread="diffuse",
    **PAIN,
)
case(
    "R9",
    "focal, no night pain",
    R,
    False,
    "continue",
    night_pain=False,
    pain_spread="focal",
    **PAIN,
)

# R10, R12
case("R10", "marked", "routine.marked-swelling", True, "routine", swelling="marked")
case("R10", "mild", "routine.marked-swelling", False, "continue", swelling="mild")
case("R12", "marked, no pain", "routine.marked-weakness", True, "routine", weakness="marked")
case("R12", "mild", "routine.marked-weakness", False, "continue", weakness="mild")

# L1, L2
case("L1", "during 5", "reduce.pain-during-above-5", False, "continue", pain_during=5)
case("L1", "during 6", "reduce.pain-during-above-5", True, "reduce_load", pain_during=6)
case("L2", "now 5", "reduce.pain-now-above-5", False, "continue", pain_during=5, pain_now=5)
case("L2", "now 6", "reduce.pain-now-above-5", True, "reduce_load", pain_during=5, pain_now=6)

# L3: 24 h, non-muscle pain, same or worse, pain now 3 or more, unless back to usual
R = "reduce.not-settled-24h"
L3 = {"pain_during": 3, "pain_now": 3, "pain_trend": "same"}
case(
    "L3",
    "joint 23.9 h",
    R,
    False,
    "continue",
    hours_since_session=23.9,
    **JOINT,
    **{**L3, "pain_trend": None},
)
case("L3", "joint 24 h", R, True, "reduce_load", hours_since_session=24, **JOINT, **L3)
case(
    "L3",
    "joint 24 h now 2",
    R,
    False,
    "continue",
    hours_since_session=24,
    **JOINT,
    **{**L3, "pain_now": 2},
)
case(
    "L3",
    "joint worse",
    R,
    True,
    "reduce_load",
    hours_since_session=30,
    **JOINT,
    **{**L3, "pain_trend": "worse"},
)
case(
    "L3",
    "joint better",
    R,
    False,
    "continue",
    hours_since_session=30,
    **JOINT,
    **{**L3, "pain_trend": "better"},
)
case("L3", "tendon", R, True, "reduce_load", hours_since_session=30, **TENDON, **L3)
case(
    "L3",
    "bone",
    R,
    True,
    "reduce_load",
    hours_since_session=30,
    pain_site="bone",
    pain_region="foot_ankle",
    **L3,
)
case("L3", "muscle thigh", R, False, "continue", hours_since_session=30, **MUSCLE, **L3)
for region in SPINE:
    case(
        "L3",
        f"muscle {region}",
        R,
        True,
        "reduce_load",
        hours_since_session=30,
        pain_region=region,
        pain_site="muscle",
        **L3,
    )
case(
    "L3",
    "joint before 2",
    R,
    True,
    "reduce_load",
    hours_since_session=30,
    pain_before=2,
    **JOINT,
    **L3,
)
case(
    "L3",
    "joint before 3 (equal)",
    R,
    False,
    "continue",
    hours_since_session=30,
    pain_before=3,
    **JOINT,
    **L3,
)
case(
    "L3",
    "joint before 4",
    R,
    False,
    "continue",
    hours_since_session=30,
    pain_before=4,
    **JOINT,
    **L3,
)

# L6-L9 (unchanged)
case("L6", "resolved", "reduce.heat-illness-resolved", True, "reduce_load", heat_illness="resolved")
case("L7", "unwell", "reduce.unwell", True, "reduce_load", unwell=True)
R = "reduce.sudden-sharp-focal"
SSF = {"pain_onset": "sudden_during", "pain_spread": "focal", "pain_character": "sharp", **PAIN}
case("L8", "sudden focal sharp", R, True, "reduce_load", **SSF)
case("L8", "sudden focal dull", R, False, "continue", **{**SSF, "pain_character": "dull_ache"})
R = "reduce.reactive-joint-or-tendon"
case("L9", "mild + joint", R, True, "reduce_load", swelling="mild", **JOINT, **PAIN)
case("L9", "mild + tendon", R, True, "reduce_load", swelling="mild", **TENDON, **PAIN)
case("L9", "mild + muscle", R, False, "continue", swelling="mild", **MUSCLE, **PAIN)
case("L9", "marked + tendon", R, False, "routine", swelling="marked", **TENDON, **PAIN)

# L10: 12 h, non-muscle pain, pain now at least 2 above pain_before (given)
R = "reduce.above-baseline-next-morning"
L10 = {"pain_during": 3, "pain_now": 3, "pain_before": 1}
case("L10", "joint 11.9 h", R, False, "continue", hours_since_session=11.9, **JOINT, **L10)
case("L10", "joint 12 h", R, True, "reduce_load", hours_since_session=12, **JOINT, **L10)
case(
    "L10",
    "joint 12 h rise 1",
    R,
    False,
    "continue",
    hours_since_session=12,
    **JOINT,
    **{**L10, "pain_before": 2},
)
case(
    "L10",
    "joint 12 h no pain_before",
    R,
    False,
    "continue",
    hours_since_session=12,
    **JOINT,
    **{**L10, "pain_before": None},
)
case("L10", "muscle thigh", R, False, "continue", hours_since_session=12, **MUSCLE, **L10)
for region in SPINE:
    case(
        "L10",
        f"muscle {region}",
        R,
        True,
        "reduce_load",
        hours_since_session=12,
        pain_region=region,
        pain_site="muscle",
        **L10,
    )
case(
    "L10",
    "shoulder other",
    R,
    True,
    "reduce_load",
    hours_since_session=12,
    pain_region="shoulder",
    pain_site="other",
    **L10,
)

# L11: 20 h, non-muscle pain, pain now 4 or more (any trend), unless back to usual
R = "reduce.amber-pain-next-morning"
L11 = {"pain_during": 4, "pain_now": 4}
case("L11", "tendon 19.9 h", R, False, "continue", hours_since_session=19.9, **TENDON, **L11)
case("L11", "tendon 20 h", R, True, "reduce_load", hours_since_session=20, **TENDON, **L11)
case(
    "L11",
    "tendon 20 h now 3",
    R,
    False,
    "continue",
    hours_since_session=20,
    **TENDON,
    **{**L11, "pain_now": 3},
)
case(
    "L11",
    "tendon 30 h better",
    R,
    True,
    "reduce_load",
    hours_since_session=30,
    pain_trend="better",
    **TENDON,
    **L11,
)
case("L11", "muscle thigh", R, False, "continue", hours_since_session=20, **MUSCLE, **L11)
for region in SPINE:
    case(
        "L11",
        f"muscle {region}",
        R,
        True,
        "reduce_load",
        hours_since_session=20,
        pain_region=region,
        pain_site="muscle",
        **L11,
    )
case(
    "L11",
    "before 3",
    R,
    True,
    "reduce_load",
    hours_since_session=20,
    pain_before=3,
    **TENDON,
    **L11,
)
case(
    "L11",
    "before 4 (equal)",
    R,
    False,
    "continue",
    hours_since_session=20,
    pain_before=4,
    **TENDON,
    **L11,
)
case(
    "L11", "before 5", R, False, "continue", hours_since_session=20, pain_before=5, **TENDON, **L11
)

# C1: muscle, delayed onset, pain now 5 or less
R = "continue.doms"
DOMS = {"hours_since_session": 30, "pain_during": 2, "pain_trend": "same", **MUSCLE}
case("C1", "next day now 5", R, True, "continue", pain_now=5, pain_onset="next_day", **DOMS)
case("C1", "hours after now 1", R, True, "continue", pain_now=1, pain_onset="hours_after", **DOMS)
case("C1", "next day now 6", R, False, "reduce_load", pain_now=6, pain_onset="next_day", **DOMS)
case("C1", "sudden onset", R, False, "continue", pain_now=3, pain_onset="sudden_during", **DOMS)
case("C1", "joint", R, False, "reduce_load", pain_now=3, pain_onset="next_day", **{**DOMS, **JOINT})

# C2: 1 <= pain during <= 5 (1-3: acceptable; 4-5: hold the load)
RM, RH = "continue.mild-discomfort", "continue.hold-load"
case("C2", "during 0", RM, False, "continue", pain_during=0)
for during in (1, 3):
    case("C2", f"during {during}", RM, True, "continue", pain_during=during)
case("C2", "during 4 (mild)", RM, False, "continue", pain_during=4)
for during in (4, 5):
    case("C2", f"during {during} hold", RH, True, "continue", pain_during=during)
case("C2", "during 3 (hold)", RH, False, "continue", pain_during=3)
case("C2", "during 6 (hold)", RH, False, "reduce_load", pain_during=6)

# C3, C5: programme weeks
case("C3", "week 2", "continue.early-weeks", True, "continue", program_week=2)
case("C3", "week 3", "continue.early-weeks", False, "continue", program_week=3)
case("C5", "week 4", "continue.technique-first", True, "continue", program_week=4)
case("C5", "week 5", "continue.technique-first", False, "continue", program_week=5)
case("C5", "week not given", "continue.technique-first", False, "continue")

# C4: pain during and now 3 or less, 2 or more reps in reserve; one rule per profile
C4_RULES = {
    "athlete": "continue.ready-to-progress-athlete",
    "adult_with_pain": "continue.ready-to-progress-adult-with-pain",
    "older_adult": "continue.ready-to-progress-older-adult",
    None: "continue.ready-to-progress",
}
READY = {"pain_during": 3, "pain_now": 3, "reps_in_reserve": 2}
for profile, rule in C4_RULES.items():
    name = profile or "no profile"
    case("C4", f"{name} ready", rule, True, "continue", profile=profile, **READY)
    case(
        "C4",
        f"{name} during 4",
        rule,
        False,
        "continue",
        profile=profile,
        **{**READY, "pain_during": 4},
    )
    case(
        "C4",
        f"{name} now 4",
        rule,
        False,
        "continue",
        profile=profile,
        **{**READY, "pain_during": 4, "pain_now": 4},
    )
    case(
        "C4",
        f"{name} reps 1",
        rule,
        False,
        "continue",
        profile=profile,
        **{**READY, "reps_in_reserve": 1},
    )
    case(
        "C4",
        f"{name} reps not given",
        rule,
        False,
        "continue",
        profile=profile,
        **{**READY, "reps_in_reserve": None},
    )
    for other, other_rule in C4_RULES.items():
        if other != profile:
            case(
                "C4",
                f"{name}: not the {other or 'no profile'} rule",
                other_rule,
                False,
                "continue",
                profile=profile,
                **READY,
            )


# -- policy v3: new and changed rows ------------------------------------------------------------

# "Dizziness" in a row (E2, E16, E17, E18, heart-type features) is resolved or ongoing; brief
# light-headedness on standing up or after a heavy set (dizziness: brief) counts only for C7.
R = "emergency.chest-pain-with-features"
case(
    "E2",
    "resolved + dizziness brief",
    R,
    False,
    "same_day",
    chest_pain="resolved",
    dizziness="brief",
)
case(
    "E2",
    "resolved + dizziness ongoing",
    R,
    True,
    "emergency",
    chest_pain="resolved",
    dizziness="ongoing",
)
case(
    "E2",
    "resolved + cold sweat (E2d)",
    R,
    False,
    "emergency",
    chest_pain="resolved",
    cold_sweat=True,
)
case(
    "E16",
    "now 7 + dizziness brief",
    R16,
    False,
    "same_day",
    pain_now=7,
    dizziness="brief",
    **UPPER_BACK,
)
case(
    "E16",
    "now 7 + dizziness ongoing",
    R16,
    True,
    "emergency",
    pain_now=7,
    dizziness="ongoing",
    **UPPER_BACK,
)
R = "emergency.new-headache-with-neck-dizziness-or-vision"
case("E17", "new + dizziness brief", R, False, "same_day", headache="new", dizziness="brief")
case("E17", "new + dizziness ongoing", R, True, "emergency", headache="new", dizziness="ongoing")
R = "emergency.vision-change-with-headache-or-dizziness"
case("E18", "vision + dizziness brief", R, False, "urgent", vision_change=True, dizziness="brief")
case(
    "E18",
    "vision + dizziness ongoing",
    R,
    True,
    "emergency",
    vision_change=True,
    dizziness="ongoing",
)
case("E7", "brief", "emergency.dizziness-ongoing", False, "continue", dizziness="brief")
R = "routine.dizziness-resolved"
case("R7", "brief", R, False, "continue", dizziness="brief")
case("R7", "ongoing", R, False, "emergency", dizziness="ongoing")
case("R7", "none", R, False, "continue", dizziness="none")

# C7: dizziness brief
R = "continue.brief-light-headedness"
case("C7", "brief", R, True, "continue", dizziness="brief")
case("C7", "brief + pain during 2", R, True, "continue", dizziness="brief", pain_during=2)
case("C7", "none", R, False, "continue", dizziness="none")
case("C7", "resolved", R, False, "routine", dizziness="resolved")
case("C7", "brief + chest pain", R, True, "same_day", dizziness="brief", chest_pain="resolved")

# E1b / E2c / S1b: an ache in the jaw, throat, neck, shoulder or arm with effort; E2d: chest
# pain with a cold sweat
R1B, R2C, RS1B, R2D = (
    "emergency.referred-ache-ongoing",
    "emergency.referred-ache-with-heart-features",
    "same-day.referred-ache-resolved",
    "emergency.chest-pain-cold-sweat",
)
case("E1b", "ongoing", R1B, True, "emergency", referred_ache="ongoing")
case("E1b", "resolved", R1B, False, "same_day", referred_ache="resolved")
case("E1b", "none", R1B, False, "continue", referred_ache="none")
case("E1b", "not asked", R1B, False, "continue")
case("S1b", "resolved", RS1B, True, "same_day", referred_ache="resolved")
case("S1b", "ongoing", RS1B, False, "emergency", referred_ache="ongoing")
case("S1b", "none", RS1B, False, "continue", referred_ache="none")
for name, value in (
    ("breathless", "resolved"),
    ("fainting", "nearly"),
    ("palpitations", "resolved"),
    ("dizziness", "resolved"),
    ("dizziness", "ongoing"),
    ("cold_sweat", True),
    ("conditions", ["heart_disease"]),
):
    label = f"{name} {value[0] if isinstance(value, list) else value}"
    case(
        "E2c",
        f"resolved + {label}",
        R2C,
        True,
        "emergency",
        referred_ache="resolved",
        **{name: value},
    )
    case("E2c", f"no ache + {label}", R2C, False, None, referred_ache="none", **{name: value})
case(
    "E2c",
    "ongoing + breathless",
    R2C,
    True,
    "emergency",
    referred_ache="ongoing",
    breathless="resolved",
)
case("E2c", "resolved alone", R2C, False, "same_day", referred_ache="resolved")
case(
    "E2c",
    "resolved + dizziness brief",
    R2C,
    False,
    "same_day",
    referred_ache="resolved",
    dizziness="brief",
)
case(
    "E2c",
    "resolved + cold sweat false",
    R2C,
    False,
    "same_day",
    referred_ache="resolved",
    cold_sweat=False,
)
case(
    "E2c",
    "resolved + high blood pressure",
    R2C,
    False,
    "same_day",
    referred_ache="resolved",
    conditions=["high_blood_pressure"],
)
for chest in ("resolved", "ongoing"):
    case(
        "E2d",
        f"chest {chest} + cold sweat",
        R2D,
        True,
        "emergency",
        chest_pain=chest,
        cold_sweat=True,
    )
case(
    "E2d",
    "tender chest + cold sweat",
    R2D,
    True,
    "emergency",
    chest_pain="resolved",
    chest_pain_kind="tender",
    cold_sweat=True,
)
case(
    "E2d", "chest + no cold sweat", R2D, False, "same_day", chest_pain="resolved", cold_sweat=False
)
case("E2d", "cold sweat alone", R2D, False, "continue", cold_sweat=True)

# The chest-wall soreness pattern (S1's exception, C6, R15): chest_pain not none, kind tender,
# region chest, onset hours after or next day, no heart-type feature, referred_ache none or not
# given, no heart disease. C6: muscle, diffuse, pain now 5 or less; R15: the pattern unless
# muscle and diffuse; S1: chest pain outside the pattern.
S1, C6, R15 = "same-day.chest-pain", "continue.chest-muscle-soreness", "routine.chest-wall-injury"
CW = {
    "hours_since_session": 26,
    "pain_during": 1,
    "pain_now": 3,
    "pain_trend": "same",
    "chest_pain": "ongoing",
    "chest_pain_kind": "tender",
    "pain_region": "chest",
    "pain_site": "muscle",
    "pain_spread": "diffuse",
    "pain_onset": "next_day",
}


def chest_wall(
    row: str, label: str, rule: str, fires: bool, level: str | None, **changes: Any
) -> None:
    case(row, label, rule, fires, level, **{**CW, **changes})


chest_wall("C6", "pattern, muscle diffuse", C6, True, "continue")
chest_wall("S1", "pattern, muscle diffuse", S1, False, "continue")
chest_wall("R15", "pattern, muscle diffuse", R15, False, "continue")
chest_wall("C6", "hours after", C6, True, "continue", pain_onset="hours_after")
chest_wall("C6", "resolved", C6, True, "continue", chest_pain="resolved")
chest_wall("C6", "high blood pressure", C6, True, "continue", conditions=["high_blood_pressure"])
chest_wall("C6", "referred ache none", C6, True, "continue", referred_ache="none")
chest_wall("C6", "cold sweat false", C6, True, "continue", cold_sweat=False)
chest_wall("C6", "dizziness brief", C6, True, "continue", dizziness="brief")
chest_wall("S1", "dizziness brief", S1, False, "continue", dizziness="brief")
# pain now 5 / 6 (L2) / 8 (R4)
chest_wall("C6", "now 5", C6, True, "continue", pain_now=5)
chest_wall("C6", "now 6", C6, False, "reduce_load", pain_now=6)
chest_wall("S1", "now 6", S1, False, "reduce_load", pain_now=6)
chest_wall(
    "L2", "chest-wall pattern now 6", "reduce.pain-now-above-5", True, "reduce_load", pain_now=6
)
chest_wall("S1", "now 8", S1, False, "routine", pain_now=8)
# each condition of the pattern broken in turn: S1 fires (or a more severe row), C6 does not
for kind, level in (("pressure", "same_day"), ("breathing", "same_day"), ("unsure", "same_day")):
    chest_wall(
        "S1", f"pattern but {kind}", S1, True, level, chest_pain="resolved", chest_pain_kind=kind
    )
    chest_wall(
        "C6", f"pattern but {kind}", C6, False, level, chest_pain="resolved", chest_pain_kind=kind
    )
chest_wall("S1", "ongoing pressure (E1)", S1, True, "emergency", chest_pain_kind="pressure")
chest_wall(
    "S1",
    "resolved tearing (E15)",
    S1,
    True,
    "emergency",
    chest_pain="resolved",
    chest_pain_kind="tearing",
)
for region in ("shoulder", "upper_back", "arm", "abdomen_groin"):
    chest_wall("S1", f"region {region}", S1, True, "same_day", pain_region=region)
    chest_wall("C6", f"region {region}", C6, False, "same_day", pain_region=region)
for onset in ("sudden_during", "gradual_during", None):
    chest_wall("S1", f"onset {onset}", S1, True, "same_day", pain_onset=onset)
    chest_wall("C6", f"onset {onset}", C6, False, "same_day", pain_onset=onset)
    chest_wall(
        "R15", f"onset {onset}", R15, False, "same_day", pain_onset=onset, pain_spread="focal"
    )
case(
    "S1",
    "tender ongoing, no pain now or during",
    S1,
    True,
    "same_day",
    hours_since_session=26,
    chest_pain="ongoing",
    chest_pain_kind="tender",
)
for name, value in (
    ("breathless", "resolved"),
    ("breathless", "ongoing"),
    ("fainting", "nearly"),
    ("fainting", "fainted"),
    ("palpitations", "resolved"),
    ("palpitations", "ongoing"),
    ("dizziness", "resolved"),
    ("dizziness", "ongoing"),
    ("cold_sweat", True),
    ("conditions", ["heart_disease"]),
    ("referred_ache", "ongoing"),
):
    label = f"{name} {value[0] if isinstance(value, list) else value}"
    chest_wall("S1", label, S1, True, "emergency", **{name: value})
    chest_wall("C6", label, C6, False, "emergency", **{name: value})
    chest_wall(
        "R15", f"focal + {label}", R15, False, "emergency", pain_spread="focal", **{name: value}
    )
chest_wall("S1", "referred ache resolved", S1, True, "same_day", referred_ache="resolved")
chest_wall("C6", "referred ache resolved", C6, False, "same_day", referred_ache="resolved")
chest_wall(
    "R15",
    "focal + referred ache resolved",
    R15,
    False,
    "same_day",
    pain_spread="focal",
    referred_ache="resolved",
)
# C6 vs R15: by site and spread
for site in ("joint", "tendon", "bone", "other"):
    for spread in ("diffuse", "focal", None):
        chest_wall(
            "R15", f"{site} {spread}", R15, True, "routine", pain_site=site, pain_spread=spread
        )
        chest_wall(
            "C6", f"{site} {spread}", C6, False, "routine", pain_site=site, pain_spread=spread
        )
for spread in ("focal", None):
    chest_wall("R15", f"muscle {spread}", R15, True, "routine", pain_spread=spread)
    chest_wall("C6", f"muscle {spread}", C6, False, "routine", pain_spread=spread)
chest_wall(
    "R15",
    "joint focal now 6",
    R15,
    True,
    "routine",
    pain_site="joint",
    pain_spread="focal",
    pain_now=6,
)
chest_wall(
    "R15",
    "joint focal resolved",
    R15,
    True,
    "routine",
    pain_site="joint",
    pain_spread="focal",
    chest_pain="resolved",
)
chest_wall(
    "R15",
    "joint focal high blood pressure",
    R15,
    True,
    "routine",
    pain_site="joint",
    pain_spread="focal",
    conditions=["high_blood_pressure"],
)
chest_wall(
    "R15",
    "joint focal dizziness brief",
    R15,
    True,
    "routine",
    pain_site="joint",
    pain_spread="focal",
    dizziness="brief",
)
chest_wall(
    "R15",
    "joint focal, pressure",
    R15,
    False,
    "same_day",
    pain_site="joint",
    pain_spread="focal",
    chest_pain="resolved",
    chest_pain_kind="pressure",
)
chest_wall(
    "R15",
    "joint focal, shoulder",
    R15,
    False,
    "same_day",
    pain_site="joint",
    pain_spread="focal",
    pain_region="shoulder",
)

# U1 (v3): a bulge in a muscle is muscle_bulge (S20), not a deformity
R = "same-day.muscle-bulge"
case("S20", "bulge", R, True, "same_day", muscle_bulge=True)
case(
    "S20",
    "bulge + pain",
    R,
    True,
    "same_day",
    muscle_bulge=True,
    pain_during=6,
    pain_now=3,
    pain_region="arm",
)
case("S20", "no bulge", R, False, "continue", muscle_bulge=False)
case("U1", "bulge, no deformity", "urgent.deformity", False, "same_day", muscle_bulge=True)
case(
    "U1", "deformity + bulge", "urgent.deformity", True, "urgent", deformity=True, muscle_bulge=True
)

# S21: osteoporosis, back, hip or chest, sudden during, pain now 4 or more
R = "same-day.osteoporosis-sudden-pain"
OSTEO = {
    "conditions": ["osteoporosis"],
    "pain_during": 5,
    "pain_onset": "sudden_during",
    "pain_site": "bone",
}
for region in ("upper_back", "lower_back", "hip_buttock", "chest"):
    case("S21", f"{region} now 4", R, True, "same_day", pain_region=region, pain_now=4, **OSTEO)
    case("S21", f"{region} now 3", R, False, "continue", pain_region=region, pain_now=3, **OSTEO)
for region in ("neck", "shoulder", "thigh", "arm"):
    case("S21", f"{region} now 4", R, False, None, pain_region=region, pain_now=4, **OSTEO)
for onset in ("gradual_during", "hours_after", "next_day", None):
    case(
        "S21",
        f"onset {onset}",
        R,
        False,
        None,
        pain_region="lower_back",
        pain_now=4,
        **{**OSTEO, "pain_onset": onset},
    )
case(
    "S21",
    "no osteoporosis",
    R,
    False,
    "continue",
    pain_region="lower_back",
    pain_now=4,
    **{**OSTEO, "conditions": ["high_blood_pressure"]},
)
case(
    "S21",
    "osteoporosis + blood thinners",
    R,
    True,
    "same_day",
    pain_region="lower_back",
    pain_now=4,
    **{**OSTEO, "conditions": ["osteoporosis", "blood_thinners"]},
)

# R13: age given and under 18, lower or upper back, pain for weeks or long-term, pain now 1 or more
R = "routine.adolescent-back-pain-weeks"
TEEN = {"pain_during": 3, "pain_now": 1, "pain_region": "lower_back", "pain_duration": "weeks"}
case("R13", "age 17", R, True, "routine", age=17, **TEEN)
case("R13", "age 5", R, True, "routine", age=5, **TEEN)
case("R13", "age 18", R, False, "continue", age=18, **TEEN)
case("R13", "age 40", R, False, "continue", age=40, **TEEN)
case("R13", "age not given", R, False, "continue", **TEEN)
for duration, fires in (
    ("new", False),
    ("days", False),
    ("weeks", True),
    ("long_term", True),
    (None, False),
):
    case(
        "R13",
        f"age 15, {duration}",
        R,
        fires,
        "routine" if fires else "continue",
        age=15,
        **{**TEEN, "pain_duration": duration},
    )
for region, fires in (
    ("upper_back", True),
    ("neck", False),
    ("hip_buttock", False),
    ("knee", False),
):
    case(
        "R13",
        f"age 15, {region}",
        R,
        fires,
        "routine" if fires else None,
        age=15,
        **{**TEEN, "pain_region": region},
    )
case("R13", "age 15, now 0", R, False, None, age=15, **{**TEEN, "pain_now": 0})
case("R13", "age 15, muscle", R, True, "routine", age=15, pain_site="muscle", **TEEN)
case(
    "R13",
    "age 15, bone long-term",
    R,
    True,
    "routine",
    age=15,
    pain_site="bone",
    **{**TEEN, "pain_duration": "long_term"},
)

# R14: bone, pain for weeks, pain now 1 or more
R = "routine.bone-pain-over-weeks"
BONE = {"pain_during": 3, "pain_now": 1, "pain_region": "lower_leg", "pain_site": "bone"}
for duration, fires in (
    ("new", False),
    ("days", False),
    ("weeks", True),
    ("long_term", False),
    (None, False),
):
    case(
        "R14",
        f"bone {duration}",
        R,
        fires,
        "routine" if fires else "continue",
        pain_duration=duration,
        **BONE,
    )
for site in ("muscle", "joint", "tendon", "other"):
    case(
        "R14", f"{site} weeks", R, False, None, pain_duration="weeks", **{**BONE, "pain_site": site}
    )
case(
    "R14",
    "bone weeks now 0",
    R,
    False,
    "continue",
    pain_duration="weeks",
    **{**BONE, "pain_now": 0},
)

# R16: stress_leak
R = "routine.stress-leak"
case("R16", "leak", R, True, "routine", stress_leak=True)
case("R16", "no leak", R, False, "continue", stress_leak=False)
case("R16", "not asked", R, False, "continue")
case("E12", "leak only (R16)", "emergency.cauda-equina", False, "routine", stress_leak=True)

# R9 (v3): night_pain is pain that wakes from sleep; pain at rest alone (rest_pain) reads nothing
R = "routine.night-pain-focal-or-bone"
case(
    "R9",
    "rest pain, focal",
    R,
    False,
    "continue",
    rest_pain=True,
    night_pain=False,
    pain_spread="focal",
    **PAIN,
)
case(
    "R9",
    "rest pain, bone",
    R,
    False,
    "continue",
    rest_pain=True,
    pain_site="bone",
    pain_region="lower_leg",
    **PAIN,
)
case(
    "R9",
    "rest + night, focal",
    R,
    True,
    "routine",
    rest_pain=True,
    night_pain=True,
    pain_spread="focal",
    **PAIN,
)

# C1 (v3): pain_duration new or not given
R = "continue.doms"
for duration, fires in (
    ("new", True),
    (None, True),
    ("days", False),
    ("weeks", False),
    ("long_term", False),
):
    case(
        "C1",
        f"duration {duration}",
        R,
        fires,
        "continue",
        pain_now=3,
        pain_onset="next_day",
        pain_duration=duration,
        **DOMS,
    )


def evaluate(engine: str, **changes: Any) -> triage.Decision:
    return triage.evaluate(v2_report(**changes), engine=engine)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("row", CASES, ids=[c.id for c in CASES])
def test_row(row: Case, engine: str) -> None:
    decision = evaluate(engine, **row.changes)
    fired = [r.rule for r in decision.reasons]
    assert (row.rule in fired) is row.fires, f"{row.rule} fired: {fired}"
    if row.level is not None:
        assert (decision.outcome, decision.urgency) == LEVELS[row.level], fired


def test_case_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), sorted(i for i in ids if ids.count(i) > 1)


def test_each_case_names_a_rule_of_its_row() -> None:
    pack = triage.default_pack()
    rules = {rule.id: rule for rule in pack.rules}
    for row in CASES:
        assert row.rule in rules, row.id
        assert rules[row.rule].policy_row == row.row, row.id


def test_every_report_rule_fires_in_some_case() -> None:
    """Every rule that reads only this report has a case in which it fires."""
    fired = {c.rule for c in CASES if c.fires}
    rules = {r.id for r in triage.default_pack().rules if not r.history}
    assert rules - fired == set()


# -- advice ------------------------------------------------------------------------------------

PACE = {
    "athlete": "once a week",
    "adult_with_pain": "once every two weeks",
    "older_adult": "once a month",
    None: "at the pace your clinician set",
}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("profile", list(PACE), ids=[str(p) for p in PACE])
def test_c4_advice_is_paced_by_profile(profile: str | None, engine: str) -> None:
    decision = evaluate(engine, profile=profile, reps_in_reserve=3, program_week=9)
    assert decision.outcome == "continue"
    assert len(decision.advice) == 1
    assert PACE[profile] in decision.advice[0]
    assert "2-10%" in decision.advice[0]


@pytest.mark.parametrize("engine", ENGINES)
def test_hold_load_is_never_beside_carry_on_as_planned(engine: str) -> None:
    pack = triage.default_pack()
    decision = evaluate(engine, pain_during=5, pain_now=2)
    assert decision.outcome == "continue"
    assert pack.no_alert not in decision.advice
    assert any("same load" in a for a in decision.advice)


@pytest.mark.parametrize("engine", ENGINES)
def test_no_rule_fired_says_carry_on(engine: str) -> None:
    decision = evaluate(engine)
    assert (decision.outcome, decision.reasons) == ("continue", ())
    assert decision.advice == (triage.default_pack().no_alert,)


@pytest.mark.parametrize("engine", ENGINES)
def test_advice_only_when_continue(engine: str) -> None:
    decision = evaluate(engine, pain_during=6, program_week=1)
    assert decision.outcome == "reduce_load"
    assert decision.advice == ()


# -- notes (clinical.md section 5) -------------------------------------------------------------

INSULIN, CLOT = "note.insulin-check-glucose", "note.previous-clot"
NOTE_CASES = [
    (
        "insulin + dizzy",
        INSULIN,
        True,
        {"conditions": ["diabetes_insulin"], "dizziness": "resolved"},
    ),
    ("insulin + confusion", INSULIN, True, {"conditions": ["diabetes_insulin"], "confusion": True}),
    (
        "insulin + nearly fainted",
        INSULIN,
        True,
        {"conditions": ["diabetes_insulin"], "fainting": "nearly"},
    ),
    ("insulin alone", INSULIN, False, {"conditions": ["diabetes_insulin"]}),
    (
        "dizzy, no insulin",
        INSULIN,
        False,
        {"conditions": ["heart_disease"], "dizziness": "resolved"},
    ),
    (
        "clot + swollen warm limb",
        CLOT,
        True,
        {"conditions": ["previous_clot"], "swollen_warm_limb": True},
    ),
    (
        "clot + limb + breathless (E13)",
        CLOT,
        True,
        {"conditions": ["previous_clot"], "swollen_warm_limb": True, "breathless": "resolved"},
    ),
    ("clot alone", CLOT, False, {"conditions": ["previous_clot"]}),
    ("limb, no clot", CLOT, False, {"swollen_warm_limb": True}),
]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize(
    ("label", "note", "shown", "changes"), NOTE_CASES, ids=[c[0] for c in NOTE_CASES]
)
def test_notes(label: str, note: str, shown: bool, changes: dict[str, Any], engine: str) -> None:
    without = evaluate(engine, **{**changes, "conditions": None})
    decision = evaluate(engine, **changes)
    assert (note in [n.note for n in decision.notes]) is shown
    assert (decision.outcome, decision.urgency) == (without.outcome, without.urgency) or not shown


# -- history rows --------------------------------------------------------------------------------

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)


def at(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat()


def check(days_ago: float, session: str | None, **changes: Any) -> dict[str, Any]:
    """A report of the same patient, ``days_ago`` days before NOW, about ``session``."""
    data = v2_report(**changes)
    data["reported_at"] = at(days_ago)
    if session is not None:
        data["session_id"] = session
    return data


@dataclass(frozen=True)
class HistoryCase:
    row: str
    label: str
    rule: str
    fires: bool
    level: str | None
    current: dict[str, Any]
    earlier: list[dict[str, Any]]

    @property
    def id(self) -> str:
        return f"{self.row} {self.label}"


H1, H2, H2B, H3 = (
    "history.no-improvement-48h",
    "history.pain-rose-since-last-session",
    "history.pain-rising-over-sessions",
    "history.repeated-reduce-load",
)
FOLLOW = {"pain_during": 3, **MUSCLE, "pain_onset": "next_day", "pain_trend": "same"}


def h1(
    label: str, fires: bool, hours: float, now: int, before: int, days: float = 1, same: bool = True
) -> HistoryCase:
    current = check(0, "s-1", hours_since_session=hours, pain_now=now, **FOLLOW)
    earlier = check(
        days, "s-1" if same else "s-0", hours_since_session=24, pain_now=before, **FOLLOW
    )
    return HistoryCase("H1", label, H1, fires, "routine" if fires else None, current, [earlier])


def sessions(
    *pain_during: tuple[float, int], current: int
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Earlier sessions (days ago, pain_during), one check each, and this session's report."""
    earlier = [
        check(days, f"s-{n}", pain_during=pd, pain_now=1, **JOINT)
        for n, (days, pd) in enumerate(pain_during)
    ]
    return check(0, "s-now", pain_during=current, pain_now=1, **JOINT), earlier


def h2(
    label: str, fires: bool, *earlier: tuple[float, int], current: int, rule: str = H2
) -> HistoryCase:
    now, before = sessions(*earlier, current=current)
    row = "H2" if rule == H2 else "H2b"
    return HistoryCase(row, label, rule, fires, "reduce_load" if fires else None, now, before)


def h3(label: str, fires: bool, days: list[float], pain_during: int = 6) -> HistoryCase:
    earlier = [check(d, "s-1", pain_during=pain_during, pain_now=1, **JOINT) for d in days]
    current = check(0, "s-2", pain_during=2, pain_now=1, **JOINT)
    return HistoryCase("H3", label, H3, fires, "routine" if fires else "continue", current, earlier)


HISTORY_CASES = [
    # H1: 48 h or more, an earlier check of the same session within 14 days with pain now >= 4
    # and no higher than this one
    h1("48 h, 4 then 4", True, 48, 4, 4),
    h1("47.9 h, 4 then 4", False, 47.9, 4, 4),
    h1("48 h, 5 then 4 (improved)", False, 48, 4, 5),
    h1("48 h, 4 then 5", True, 48, 5, 4),
    h1("48 h, 3 then 3", False, 48, 3, 3),
    h1("48 h, other session", False, 48, 4, 4, same=False),
    h1("48 h, earlier 13.9 days ago", True, 48, 4, 4, days=13.9),
    h1("48 h, earlier 14.1 days ago", False, 48, 4, 4, days=14.1),
    # H2: pain during >= 4 and the previous session's first check at least 2 lower
    h2("2 then 4", True, (7, 2), current=4),
    h2("3 then 4", False, (7, 3), current=4),
    h2("1 then 3", False, (7, 1), current=3),
    h2("0 then 9", True, (7, 0), current=9),
    h2("2 then 4, 13.9 days ago", True, (13.9, 2), current=4),
    h2("2 then 4, 14.1 days ago", False, (14.1, 2), current=4),
    h2("1, 3 then 4: only the previous session counts", False, (10, 1), (3, 3), current=4),
    h2("3, 2 then 4: only the previous session counts", True, (10, 3), (3, 2), current=4),
    # H2b: strictly rising over 3 sessions within 21 days, now >= 4
    h2("3, 4, 5", True, (14, 3), (7, 4), current=5, rule=H2B),
    h2("3, 3, 5", False, (14, 3), (7, 3), current=5, rule=H2B),
    h2("1, 2, 3", False, (14, 1), (7, 2), current=3, rule=H2B),
    h2("3, 4, 5 over 21.1 days", False, (21.1, 3), (7, 4), current=5, rule=H2B),
    h2("3, 4, 5 within 20.9 days", True, (20.9, 3), (7, 4), current=5, rule=H2B),
    # H3: 3 or more earlier checks within 14 days ended in reduce_load or worse
    h3("3 reduce_load", True, [1, 2, 3]),
    h3("2 reduce_load", False, [1, 2]),
    h3("3, one 14.1 days ago", False, [1, 2, 14.1]),
    h3("3 continue", False, [1, 2, 3], pain_during=2),
]


def test_h2_previous_session_is_described_by_its_first_check() -> None:
    """The previous session had a first check at 2 and a later one at 4: it counts as 2."""
    current = check(0, "s-now", pain_during=4, pain_now=1, **JOINT)
    first = check(7, "s-prev", pain_during=2, pain_now=1, **JOINT)
    later = check(
        6, "s-prev", hours_since_session=24, pain_during=4, pain_now=1, pain_trend="same", **JOINT
    )
    for engine in ENGINES:
        decision = triage.evaluate(current, engine=engine, history=[first, later])
        assert H2 in [r.rule for r in decision.reasons]


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("row", HISTORY_CASES, ids=[c.id for c in HISTORY_CASES])
def test_history_row(row: HistoryCase, engine: str) -> None:
    decision = triage.evaluate(row.current, engine=engine, history=row.earlier)
    fired = [r.rule for r in decision.reasons]
    assert (row.rule in fired) is row.fires, f"{row.rule} fired: {fired}"
    if row.level is not None:
        assert (decision.outcome, decision.urgency) == LEVELS[row.level], fired
    assert triage.default_pack().rule(row.rule).policy_row == row.row


@pytest.mark.parametrize("engine", ENGINES)
def test_history_rules_need_history(engine: str) -> None:
    for row in HISTORY_CASES:
        decision = triage.evaluate(row.current, engine=engine)
        assert row.rule not in [r.rule for r in decision.reasons]
