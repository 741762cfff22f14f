"""Case table at every numeric boundary of triage policy v1 (clinical.md section 4).

Each row changes a symptom-free report and says whether one rule fires, and the outcome that
results. Thresholds are inclusive as written in the policy.
"""

from __future__ import annotations

from typing import Any

import pytest

import triage
from tests.helpers import report

C, RL, SMR = "continue", "reduce_load", "seek_medical_review"
JOINT_SAME = {"pain_site": "joint", "pain_trend": "same"}
MUSCLE = {"pain_site": "muscle"}

# (id, answers, rule, fires, outcome, urgency)
ROWS: list[tuple[str, dict[str, Any], str, bool, str, str | None]] = [
    # L1 pain during above 5
    ("L1 during 5", {"pain_during": 5, **MUSCLE}, "reduce.pain-during-above-5", False, C, None),
    ("L1 during 6", {"pain_during": 6, **MUSCLE}, "reduce.pain-during-above-5", True, RL, None),
    # L2 pain now above 5
    ("L2 now 5", {"pain_now": 5, **MUSCLE}, "reduce.pain-now-above-5", False, C, None),
    ("L2 now 6", {"pain_now": 6, **MUSCLE}, "reduce.pain-now-above-5", True, RL, None),
    # R4 severe pain now
    ("R4 now 7", {"pain_now": 7, **MUSCLE}, "routine.severe-pain-now", False, RL, None),
    ("R4 now 8", {"pain_now": 8, **MUSCLE}, "routine.severe-pain-now", True, SMR, "routine"),
    # L3 not settled within 24 h (non-muscle, pain now 4 or more)
    (
        "L3 23 h",
        {"hours_since_session": 23, "pain_now": 4, **JOINT_SAME},
        "reduce.not-settled-24h",
        False,
        C,
        None,
    ),
    (
        "L3 23.9 h",
        {"hours_since_session": 23.9, "pain_now": 4, **JOINT_SAME},
        "reduce.not-settled-24h",
        False,
        C,
        None,
    ),
    (
        "L3 24 h",
        {"hours_since_session": 24, "pain_now": 4, **JOINT_SAME},
        "reduce.not-settled-24h",
        True,
        RL,
        None,
    ),
    (
        "L3 now 3",
        {"hours_since_session": 30, "pain_now": 3, **JOINT_SAME},
        "reduce.not-settled-24h",
        False,
        C,
        None,
    ),
    (
        "L3 worse",
        {"hours_since_session": 30, "pain_now": 4, "pain_site": "tendon", "pain_trend": "worse"},
        "reduce.not-settled-24h",
        True,
        RL,
        None,
    ),
    (
        "L3 better",
        {"hours_since_session": 30, "pain_now": 4, "pain_site": "joint", "pain_trend": "better"},
        "reduce.not-settled-24h",
        False,
        C,
        None,
    ),
    (
        "L3 muscle",
        {"hours_since_session": 30, "pain_now": 4, "pain_site": "muscle", "pain_trend": "same"},
        "reduce.not-settled-24h",
        False,
        C,
        None,
    ),
    # R1 worse at 48 h or more
    (
        "R1 47 h",
        {"hours_since_session": 47, "pain_now": 1, "pain_site": "muscle", "pain_trend": "worse"},
        "routine.worse-after-48h",
        False,
        C,
        None,
    ),
    (
        "R1 47.9 h",
        {"hours_since_session": 47.9, "pain_now": 1, "pain_site": "muscle", "pain_trend": "worse"},
        "routine.worse-after-48h",
        False,
        C,
        None,
    ),
    (
        "R1 48 h",
        {"hours_since_session": 48, "pain_now": 1, "pain_site": "muscle", "pain_trend": "worse"},
        "routine.worse-after-48h",
        True,
        SMR,
        "routine",
    ),
    (
        "R1 now 0",
        {
            "hours_since_session": 48,
            "pain_during": 2,
            "pain_now": 0,
            "pain_site": "muscle",
            "pain_trend": "worse",
        },
        "routine.worse-after-48h",
        False,
        C,
        None,
    ),
    (
        "R1 same",
        {"hours_since_session": 60, "pain_now": 3, "pain_site": "muscle", "pain_trend": "same"},
        "routine.worse-after-48h",
        False,
        C,
        None,
    ),
    # R2 not improving by 72 h
    (
        "R2 71 h",
        {"hours_since_session": 71, "pain_now": 4, "pain_site": "muscle", "pain_trend": "same"},
        "routine.not-improving-72h",
        False,
        C,
        None,
    ),
    (
        "R2 72 h",
        {"hours_since_session": 72, "pain_now": 4, "pain_site": "muscle", "pain_trend": "same"},
        "routine.not-improving-72h",
        True,
        SMR,
        "routine",
    ),
    (
        "R2 now 3",
        {"hours_since_session": 72, "pain_now": 3, "pain_site": "muscle", "pain_trend": "same"},
        "routine.not-improving-72h",
        False,
        C,
        None,
    ),
    # R3 pain after a week, unless at or below the usual level
    (
        "R3 167 h",
        {"hours_since_session": 167, "pain_now": 3, "pain_site": "muscle", "pain_trend": "better"},
        "routine.pain-after-a-week",
        False,
        C,
        None,
    ),
    (
        "R3 168 h",
        {"hours_since_session": 168, "pain_now": 3, "pain_site": "muscle", "pain_trend": "better"},
        "routine.pain-after-a-week",
        True,
        SMR,
        "routine",
    ),
    (
        "R3 now 2",
        {"hours_since_session": 168, "pain_now": 2, "pain_site": "muscle", "pain_trend": "better"},
        "routine.pain-after-a-week",
        False,
        C,
        None,
    ),
    (
        "R3 at baseline",
        {
            "hours_since_session": 168,
            "pain_now": 3,
            "pain_before": 3,
            "pain_site": "back",
            "pain_trend": "better",
        },
        "routine.pain-after-a-week",
        False,
        C,
        None,
    ),
    (
        "R3 above baseline",
        {
            "hours_since_session": 168,
            "pain_now": 3,
            "pain_before": 2,
            "pain_site": "back",
            "pain_trend": "better",
        },
        "routine.pain-after-a-week",
        True,
        SMR,
        "routine",
    ),
    # L10 two points above the usual level, from 12 h, not in a muscle
    (
        "L10 +1",
        {"hours_since_session": 12, "pain_before": 3, "pain_now": 4, "pain_site": "back"},
        "reduce.above-baseline-next-morning",
        False,
        C,
        None,
    ),
    (
        "L10 +2",
        {"hours_since_session": 12, "pain_before": 3, "pain_now": 5, "pain_site": "back"},
        "reduce.above-baseline-next-morning",
        True,
        RL,
        None,
    ),
    (
        "L10 11.9 h",
        {"hours_since_session": 11.9, "pain_before": 3, "pain_now": 5, "pain_site": "back"},
        "reduce.above-baseline-next-morning",
        False,
        C,
        None,
    ),
    (
        "L10 muscle",
        {"hours_since_session": 12, "pain_before": 3, "pain_now": 5, "pain_site": "muscle"},
        "reduce.above-baseline-next-morning",
        False,
        C,
        None,
    ),
    (
        "L10 no baseline",
        {"hours_since_session": 12, "pain_now": 5, "pain_site": "back"},
        "reduce.above-baseline-next-morning",
        False,
        C,
        None,
    ),
    # C1 DOMS up to 5/10
    (
        "C1 now 5",
        {"pain_now": 5, "pain_site": "muscle", "pain_onset": "next_day", "hours_since_session": 20},
        "continue.doms",
        True,
        C,
        None,
    ),
    (
        "C1 now 6",
        {"pain_now": 6, "pain_site": "muscle", "pain_onset": "next_day", "hours_since_session": 20},
        "continue.doms",
        False,
        RL,
        None,
    ),
    # C2 discomfort 1-5 during
    ("C2 during 0", {}, "continue.mild-discomfort", False, C, None),
    ("C2 during 1", {"pain_during": 1, **MUSCLE}, "continue.mild-discomfort", True, C, None),
    ("C2 during 3", {"pain_during": 3, **MUSCLE}, "continue.mild-discomfort", True, C, None),
    ("C2 during 4", {"pain_during": 4, **MUSCLE}, "continue.hold-load", True, C, None),
    ("C2 during 5", {"pain_during": 5, **MUSCLE}, "continue.hold-load", True, C, None),
    ("C2 during 6", {"pain_during": 6, **MUSCLE}, "continue.hold-load", False, RL, None),
    # C3 first two weeks
    ("C3 week 2", {"program_week": 2}, "continue.early-weeks", True, C, None),
    ("C3 week 3", {"program_week": 3}, "continue.early-weeks", False, C, None),
    # C4 ready to progress
    ("C4 rir 1", {"reps_in_reserve": 1}, "continue.ready-to-progress", False, C, None),
    ("C4 rir 2", {"reps_in_reserve": 2}, "continue.ready-to-progress", True, C, None),
    (
        "C4 during 4",
        {"reps_in_reserve": 2, "pain_during": 4, **MUSCLE},
        "continue.ready-to-progress",
        False,
        C,
        None,
    ),
    (
        "C4 now 4",
        {"reps_in_reserve": 2, "pain_now": 4, **MUSCLE},
        "continue.ready-to-progress",
        False,
        C,
        None,
    ),
    # non-numeric rows whose edges are easy to get wrong
    (
        "S5 unsure alone",
        {"snap_or_tear": "unsure"},
        "same-day.unsure-snap-with-injury-signs",
        False,
        RL,
        None,
    ),
    (
        "S5 weakness none",
        {"snap_or_tear": "unsure", "weakness": "none"},
        "same-day.unsure-snap-with-injury-signs",
        False,
        RL,
        None,
    ),
    (
        "S5 weakness mild",
        {"snap_or_tear": "unsure", "weakness": "mild"},
        "same-day.unsure-snap-with-injury-signs",
        True,
        SMR,
        "same_day",
    ),
    (
        "S5 swelling mild",
        {"snap_or_tear": "unsure", "swelling": "mild"},
        "same-day.unsure-snap-with-injury-signs",
        True,
        SMR,
        "same_day",
    ),
    (
        "E2 chest alone",
        {"chest_pain": "resolved"},
        "emergency.chest-pain-with-features",
        False,
        SMR,
        "same_day",
    ),
    (
        "E2 with breath",
        {"chest_pain": "resolved", "breathless": "resolved"},
        "emergency.chest-pain-with-features",
        True,
        SMR,
        "emergency",
    ),
    (
        "E13 limb alone",
        {"swollen_warm_limb": True},
        "emergency.limb-swelling-with-chest-or-breath",
        False,
        SMR,
        "same_day",
    ),
    (
        "E13 limb + chest",
        {"swollen_warm_limb": True, "chest_pain": "resolved"},
        "emergency.limb-swelling-with-chest-or-breath",
        True,
        SMR,
        "emergency",
    ),
    ("E12 one limb", {"numbness": "one_limb"}, "emergency.cauda-equina", False, SMR, "routine"),
    ("E12 saddle", {"numbness": "saddle"}, "emergency.cauda-equina", True, SMR, "emergency"),
    (
        "R9 diffuse",
        {"night_pain": True, "pain_spread": "diffuse", "pain_now": 2, **MUSCLE},
        "routine.focal-night-pain",
        False,
        C,
        None,
    ),
    (
        "R9 focal",
        {"night_pain": True, "pain_spread": "focal", "pain_now": 2, **MUSCLE},
        "routine.focal-night-pain",
        True,
        SMR,
        "routine",
    ),
]


@pytest.mark.parametrize("engine", ["durable-rules", "reference"])
@pytest.mark.parametrize(
    ("answers", "rule", "fires", "outcome", "urgency"),
    [row[1:] for row in ROWS],
    ids=[row[0] for row in ROWS],
)
def test_boundary(
    answers: dict[str, Any], rule: str, fires: bool, outcome: str, urgency: str | None, engine: str
) -> None:
    decision = triage.evaluate(report(**answers), engine=engine)
    fired = {r.rule for r in decision.reasons}
    assert (rule in fired) is fires, sorted(fired)
    assert (decision.outcome, decision.urgency) == (outcome, urgency)


def test_no_rule_fired_is_continue_with_the_no_alert_explanation() -> None:
    decision = triage.evaluate(report())
    assert (decision.outcome, decision.urgency, decision.reasons) == ("continue", None, ())
    assert decision.advice == (triage.default_pack().no_alert,)
