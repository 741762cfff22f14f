"""The questionnaire's structure and reading of answers (library level, no terminal)."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.helpers import BASE, report
from triage.contract import FIELDS
from triage.errors import AnswerError
from triage.questionnaire import (
    FLOW,
    Gate,
    Interview,
    describe,
    parse_answer,
    parse_session_end,
)

NOW = datetime(2026, 11, 21, 15, 0)


def walk(interview: Interview, answers: dict) -> list[str]:
    """Answer every question from ``answers``; return the keys asked, in order."""
    asked = []
    while (step := interview.next_step()) is not None:
        key = step.key if isinstance(step, Gate) else step.field
        asked.append(key)
        interview.answer(step, answers.get(key))
    return asked


def test_every_report_field_is_asked_somewhere_except_the_technical_ones() -> None:
    asked = {s.field for s in FLOW if not isinstance(s, Gate)} | {
        i.field for s in FLOW if isinstance(s, Gate) for i in s.items
    }
    # the profile and known conditions are the clinician's: set once on the patient's record
    assert set(FIELDS) - asked == {"session_id", "reported_at", "profile", "conditions"}


def test_no_pain_and_no_red_flags_is_short() -> None:
    interview = Interview({"patient_id": "pt-1"})
    asked = walk(
        interview, {"hours_since_session": 0.5, "pain": False, "heart": False, "since": False}
    )
    assert asked == [
        "hours_since_session",
        "program_week",
        "new_load",
        "session_rpe",
        "reps_in_reserve",
        "pain",
        "heart",
        "since",
    ]
    assert interview.report_data() == {**BASE, "patient_id": "pt-1"}


def test_gate_yes_asks_each_item_of_its_group_only() -> None:
    answers = {
        "patient_id": "pt-1",
        "hours_since_session": 2,
        "pain": False,
        "heart": True,
        "since": False,
        **{
            k: v
            for k, v in BASE.items()
            if k
            in (
                "chest_pain",
                "fainting",
                "palpitations",
                "breathless",
                "dizziness",
                "confusion",
                "vision_change",
                "headache",
            )
        },
    }
    asked = walk(Interview(), answers)
    assert asked[asked.index("heart") + 1 : asked.index("since")] == [
        "chest_pain",  # chest_pain_kind only with chest pain
        "fainting",
        "palpitations",
        "breathless",
        "dizziness",
        "confusion",
        "vision_change",
        "headache",
    ]
    assert "pain_during" not in asked and "dark_urine" not in asked


def test_pain_questions_follow_the_pain_and_trend_only_when_needed() -> None:
    base = {
        "patient_id": "p",
        "pain": True,
        "heart": False,
        "since": False,
        "pain_during": 3,
        "snap_or_tear": False,
        "swelling": "none",
        "functional_loss": False,
        "deformity": False,
        "groin_lump": False,
        "pain_site": "muscle",
        "pain_region": "thigh",
    }
    early = walk(Interview(), {**base, "hours_since_session": 5, "pain_now": 2})
    assert "pain_site" in early and "pain_trend" not in early
    late = walk(
        Interview(), {**base, "hours_since_session": 30, "pain_now": 2, "pain_trend": "same"}
    )
    assert "pain_trend" in late
    settled = walk(Interview(), {**base, "hours_since_session": 30, "pain_now": 0})
    assert "pain_trend" not in settled


def test_painless_injury_skips_pain_details_but_asks_injury_questions() -> None:
    asked = walk(
        Interview(),
        {
            "patient_id": "p",
            "hours_since_session": 1,
            "pain": True,
            "pain_during": 0,
            "pain_now": 0,
            "snap_or_tear": True,
            "swelling": "none",
            "functional_loss": True,
            "heart": False,
            "since": False,
        },
    )
    assert "pain_site" not in asked and "pain_onset" not in asked
    assert {"snap_or_tear", "swelling", "functional_loss"} <= set(asked)


def test_changing_an_answer_asks_what_now_applies_and_drops_what_does_not() -> None:
    interview = Interview()
    walk(
        interview,
        {
            "patient_id": "p",
            "hours_since_session": 30,
            "pain": True,
            "pain_during": 0,
            "pain_now": 0,
            "snap_or_tear": False,
            "swelling": "none",
            "deformity": False,
            "functional_loss": False,
            "groin_lump": False,
            "heart": False,
            "since": False,
        },
    )
    interview.change("pain_now")
    now_in_pain = {
        "pain_now": 3,
        "pain_region": "knee",
        "pain_site": "joint",
        "pain_trend": "worse",
    }
    asked = walk(interview, now_in_pain)
    assert asked[:3] == ["pain_now", "pain_region", "pain_site"] and "pain_trend" in asked
    interview.change("pain_now")
    walk(interview, {"pain_now": 0})
    data = interview.report_data()
    assert not {"pain_region", "pain_site", "pain_trend"} & set(data)


def test_changing_a_gate_forgets_its_items() -> None:
    interview = Interview()
    walk(
        interview,
        {**BASE, "pain": False, "heart": True, "since": False, "chest_pain": "ongoing",
         "chest_pain_kind": "pressure"},
    )  # fmt: skip
    assert interview.report_data()["chest_pain"] == "ongoing"
    interview.change("heart")
    walk(interview, {"heart": False})
    assert interview.report_data()["chest_pain"] == "none"


@pytest.mark.parametrize(
    ("text", "hours"),
    [
        ("just now", 0),
        ("now", 0),
        ("0", 0),
        ("3", 3),
        ("3 hours ago", 3),
        ("3h", 3),
        ("1.5 hours", 1.5),
        ("30 minutes ago", 0.5),
        ("an hour ago", 1),
        ("this morning", 7),
        ("this afternoon", 1),
        ("yesterday", 24),
        ("last night", 20),
        ("2 days ago", 48),
        ("a week ago", 168),
        ("2 weeks ago", 336),
        ("13:30", 1.5),
        ("at 18:30", 20.5),
        ("YESTERDAY", 24),
    ],
)
def test_session_end_in_words(text: str, hours: float) -> None:
    assert parse_session_end(text, NOW) == hours


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("3 weeks ago", "last 14 days"),
        ("this evening", "still to come"),
        ("tomorrow", "type a number of hours"),
        ("-2", "type a number of hours"),
        ("25:00", "type a number of hours"),
    ],
)
def test_session_end_rejected(text: str, message: str) -> None:
    with pytest.raises(AnswerError, match=message):
        parse_session_end(text, NOW)


@pytest.mark.parametrize(
    ("field", "text", "value"),
    [
        ("chest_pain", "1", "none"),
        ("chest_pain", "3", "ongoing"),
        ("chest_pain", "no", "none"),
        ("chest_pain", "res", "resolved"),
        ("pain_site", "bo", "bone"),
        ("pain_region", "upper", "upper_back"),
        ("numbness", "1 5", ["one_arm", "saddle"]),
        ("numbness", "5, 1, 5", ["one_arm", "saddle"]),
        ("numbness", "none", []),
        ("numbness", "", []),
        ("radiating_pain", "both_legs", ["both_legs"]),
        ("radiating_pain", "3", ["one_leg"]),
        ("snap_or_tear", "not", "unsure"),
        ("snap_or_tear", "y", True),
        ("snap_or_tear", "3", False),
        ("confusion", "N", False),
        ("confusion", "yes", True),
        ("pain_now", " 7 ", 7),
        ("patient_id", "pt-0042", "pt-0042"),
    ],
)
def test_answers_by_number_or_prefix(field: str, text: str, value: object) -> None:
    assert parse_answer(FIELDS[field], text, NOW) == value


@pytest.mark.parametrize(
    ("field", "text", "message"),
    [
        ("pain_now", "11", "out of range"),
        ("pain_now", "seven", "whole number from 0 to 10"),
        ("pain_now", "5.5", "whole number"),
        ("chest_pain", "4", "from 1 to 3"),
        ("pain_region", "l", "could be 'Lower back' or 'Lower leg or calf'"),
        ("numbness", "1 none", "'none' is an answer of its own"),
        ("numbness", "1 9", "choose a number from 1 to 5"),
        ("chest_pain", "yes", "could be"),
        ("swelling", "huge", "not one of the answers"),
        ("patient_id", "Jane Doe", "no spaces"),
    ],
)
def test_bad_answers_are_explained(field: str, text: str, message: str) -> None:
    with pytest.raises(AnswerError, match=message):
        parse_answer(FIELDS[field], text, NOW)


def test_description_for_embedders_comes_from_the_contract() -> None:
    steps = describe()["steps"]
    gates = [s for s in steps if "gate" in s]
    assert [g["gate"] for g in gates] == ["pain", "heart", "since"]
    chest = next(i for i in gates[1]["if_yes"] if i["field"] == "chest_pain")
    assert chest["question"] == FIELDS["chest_pain"].ask.question
    assert [a["label"] for a in chest["answers"]] == [
        "No",
        "Yes, but it has gone",
        "Yes, and I still have it",
    ]
    trend = next(i for i in gates[0]["if_yes"] if i["field"] == "pain_trend")
    assert trend["required"] is True and trend["asked"].startswith(
        "when hours_since_session is 24 or more"
    )
    assert gates[2]["if_no"]["numbness"] == []
    numbness = next(i for i in gates[2]["if_yes"] if i["field"] == "numbness")
    assert numbness["several"] is True and len(numbness["answers"]) == 5


def test_no_pain_report_matches_the_base_report() -> None:
    assert report() == BASE
