"""The questionnaire's structure and reading of answers (library level, no terminal)."""

from __future__ import annotations

from datetime import datetime

import pytest

from tests.support.helpers import BASE, report
from triage.contract.reading import FIELDS
from triage.contract.report import requirement_for
from triage.errors import AnswerError
from triage.evaluation.questionnaire import (
    FLOW,
    GATES,
    ITEMS,
    NOT_ANSWERED,
    Gate,
    Interview,
    describe,
    parse_answer,
)
from triage.evaluation.times import NeedsTime
from triage.logic import to_data
from triage.pack.conditions import ConditionParser

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
    # the profile, age and known conditions are on the patient's record (clinical.md section 5)
    assert set(FIELDS) - set(ITEMS) == {"session_id", "reported_at", "profile", "age", "conditions"}


def test_no_pain_and_no_red_flags_is_short() -> None:
    interview = Interview({"patient_id": "pt-1"})
    asked = walk(
        interview, {"hours_since_session": 0.5, "pain": False, "heart": False, "since": False}
    )
    assert asked == [
        "hours_since_session",
        "heart",
        "since",
        "pain",
        "program_week",
        "new_load",
        "session_rpe",
        "reps_in_reserve",
    ]
    assert len(["patient_id", *asked]) <= 9  # with the patient id: at most 9 questions
    assert interview.report_data() == {**BASE, "patient_id": "pt-1"}


def test_the_warning_signs_are_asked_before_pain() -> None:
    """The questionnaire stops at the first red flag: the groups that can reveal an emergency
    come first, and within a group what can only be urgent comes after (clinical.md 6.4)."""
    assert [s.key for s in FLOW if isinstance(s, Gate)] == ["heart", "since", "pain"]
    assert GATES["heart"].fields()[-1] == "vision_change"  # alone urgent, with a headache E18
    since = GATES["since"].fields()
    assert since.index("numbness") > since.index("bladder_bowel_change")


HEART = ("chest_pain", "referred_ache", "cold_sweat", "fainting", "palpitations", "breathless",
         "dizziness", "confusion", "headache", "vision_change")  # fmt: skip


def test_gate_yes_asks_each_item_of_its_group_only() -> None:
    answers = {
        "patient_id": "pt-1",
        "hours_since_session": 2,
        "pain": False,
        "heart": True,
        "since": False,
        **{k: v for k, v in BASE.items() if k in HEART},
    }
    asked = walk(Interview(), answers)
    assert asked[asked.index("heart") + 1 : asked.index("since")] == list(HEART)
    assert "pain_during" not in asked and "dark_urine" not in asked  # chest_pain_kind neither


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
            "injury": True,
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
    assert "swelling_fast" not in asked  # no swelling: not asked how fast it came


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


def test_the_session_end_is_read_as_people_say_it() -> None:
    """The table of phrases is tests/unit/evaluation/test_times.py; here, that the question
    reads its answer with it, and that a day alone asks for the time."""
    assert parse_answer(FIELDS["hours_since_session"], "an hour and a half ago", NOW) == 1.5
    with pytest.raises(NeedsTime, match="Yesterday at roughly what time"):
        parse_answer(FIELDS["hours_since_session"], "yesterday", NOW)
    assert parse_answer(FIELDS["program_week"], "3 months", NOW) == 13


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
        ("snap_or_tear", "n", False),
        ("snap_or_tear", "1", False),
        ("snap_or_tear", "3", True),
        ("fainting", "n", "none"),
        ("fainting", "No.", "none"),
        ("weakness", "no", "none"),
        ("swelling", "n", "none"),
        ("new_load", "1", False),
        ("new_load", "2", True),
        ("new_load", "yes", True),
        ("heat_illness", "Nope", "none"),
        ("pain_onset", "next day", "next_day"),
        ("pain_onset", "the next day", "next_day"),
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
        ("chest_pain", "yes", "which yes\\? Type its number: 2\\) Yes, but it has gone; 3\\)"),
        ("fainting", "y", "which yes\\? Type its number: 2\\) I nearly fainted; 3\\) I fainted"),
        ("patient_id", "idk", "'idk' is not a patient ID.*code your clinic gave you"),
        ("patient_id", "don't know", "is not a patient ID"),
        ("patient_id", "N/A", "is not a patient ID"),
        ("patient_id", "dunno", "is not a patient ID"),
        ("patient_id", "unknown", "is not a patient ID"),
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
    assert [g["gate"] for g in gates] == ["heart", "since", "pain"]
    chest = next(i for i in gates[0]["if_yes"] if i["field"] == "chest_pain")
    assert chest["question"] == FIELDS["chest_pain"].ask.question
    assert [a["label"] for a in chest["answers"]] == [
        "No",
        "Yes, but it has gone",
        "Yes, and I still have it",
    ]
    trend = next(i for i in gates[2]["if_yes"] if i.get("field") == "pain_trend")
    assert trend["required"] is True and trend["asked"].startswith(
        "when hours_since_session is 24 or more"
    )
    assert gates[1]["if_no"]["numbness"] == []
    numbness = next(i for i in gates[1]["if_yes"] if i["field"] == "numbness")
    assert numbness["several"] is True and len(numbness["answers"]) == 5


def test_the_description_gives_when_each_question_is_asked_as_data() -> None:
    """An app renders the form from it: the conditions come from the same definition as the
    questionnaire's (the contract's requirements), with the contract version."""
    data = describe()
    assert data["contract_version"] == "3"
    pain = next(s for s in data["steps"] if s.get("gate") == "pain")
    injury = next(i for i in pain["if_yes"] if i.get("gate") == "injury")
    fast = next(i for i in injury["if_yes"] if i["field"] == "swelling_fast")
    assert fast["asked_when"] == to_data(requirement_for("swelling_fast").when)  # type: ignore[union-attr]
    kind = next(i for s in data["steps"] if s.get("gate") == "heart" for i in s["if_yes"]
                if i["field"] == "chest_pain_kind")  # fmt: skip
    assert kind["asked_when"] == {"chest_pain": {"ne": "none"}}
    assert next(s for s in data["steps"] if s.get("field") == "patient_id")["asked_when"] is None
    assert set(data["not_asked"]) == {"session_id", "reported_at", "profile", "age", "conditions"}


def _in_rule_words(data: dict, tests: dict[str, str]) -> dict:
    """A condition of ``asked_when`` with its tests named as the rule language names them."""
    (key, value), *others = data.items()
    assert not others
    if key in ("all", "any"):
        return {key: [_in_rule_words(item, tests) for item in value]}
    if key == "not":
        return {key: _in_rule_words(value, tests)}
    return {key: {tests[op]: operand for op, operand in value.items()}}  # a field's test


def _questions(steps: list[dict]) -> list[dict]:
    found = []
    for step in steps:
        found += _questions(step["if_yes"]) if "gate" in step else [step]
    return found


def test_every_asked_when_is_the_questionnaires_own_condition() -> None:
    """An app that reads asked_when (with ``tests`` for the names of the tests) gets exactly the
    conditions the questionnaire walks: each parses back, as a rule's condition, to its item's."""
    data = describe()
    entries = _questions(data["steps"])
    assert [e["field"] for e in entries] == list(ITEMS)
    for entry in entries:
        item = ITEMS[entry["field"]][1]
        if entry["asked_when"] is None:
            assert item.when is None, entry["field"]
            continue
        parser = ConditionParser("questions --json", None)
        parsed = parser.parse(_in_rule_words(entry["asked_when"], data["tests"]), 0)
        assert not parser.problems and parsed == item.when, entry["field"]


def test_no_pain_report_matches_the_base_report() -> None:
    assert report() == BASE


# -- the injury group, presets, changes, pending answers ------------------------------------------

PAINFUL = {
    "patient_id": "p", "hours_since_session": 2, "heart": False, "since": False, "pain": True,
    "pain_during": 3, "pain_now": 2, "pain_region": "thigh", "pain_site": "muscle",
}  # fmt: skip


def test_no_sign_of_injury_answers_the_injury_questions_at_once() -> None:
    interview = Interview()
    asked = walk(interview, {**PAINFUL, "injury": False})
    assert "deformity" not in asked and "snap_or_tear" not in asked
    data = interview.report_data()
    assert {k: data[k] for k in GATES["injury"].if_no} == GATES["injury"].if_no
    assert "weakness" not in data  # "a part much weaker" is asked; a little weaker is not a sign
    rows = {label: answer for _, label, answer in interview.summary()}
    assert rows["Signs of injury"] == "None of these"


def test_a_preset_answer_is_never_asked_nor_changed_and_opens_its_group() -> None:
    """A follow-up: the pain during the session is known, so the pain group is open."""
    interview = Interview.follow_up(
        {"patient_id": "p", "hours_since_session": 50, "session_id": "s-1", "pain_during": 4}
    )
    asked = walk(interview, {**PAINFUL, "pain_trend": "better", "injury": False})
    assert "pain" not in asked and "pain_during" not in asked
    for fact in ("program_week", "new_load", "session_rpe", "reps_in_reserve"):
        assert fact not in asked  # the session's, left unanswered then: not asked again
    assert asked[:3] == ["heart", "since", "pain_now"]
    data = interview.report_data()
    assert data["pain_during"] == 4 and data["session_id"] == "s-1"
    fixed = [label for key, label, _ in interview.summary() if key is None]
    assert fixed == ["Patient ID", "Session ended", "Worst pain during the session"]
    with pytest.raises(ValueError, match="preset"):
        interview.answer(interview.step("pain_during"), 0)


def test_answering_again_replaces_and_a_gate_answered_no_forgets_its_group() -> None:
    interview = Interview()
    walk(interview, {**PAINFUL, "injury": False})
    interview.answer(interview.step("pain_now"), 5)
    assert interview.report_data()["pain_now"] == 5
    interview.answer(interview.step("pain"), True)  # kept: nothing forgotten
    assert interview.report_data()["pain_region"] == "thigh"
    interview.answer(interview.step("pain"), False)
    data = interview.report_data()
    assert data["pain_during"] == 0 and "pain_region" not in data
    interview.answer(interview.step("pain"), True)
    step = interview.next_step()
    assert step is not None and step.key == "pain_during"  # asked again from the start


def test_a_skipped_question_shows_in_the_summary_and_can_be_answered() -> None:
    interview = Interview({"patient_id": "p"})
    walk(interview, {"hours_since_session": 1, "heart": False, "since": False, "pain": False})
    rows = {key: answer for key, _, answer in interview.summary()}
    assert rows["program_week"] == NOT_ANSWERED and interview.value("program_week") is None
    interview.answer(interview.step("program_week"), 3)
    assert interview.report_data()["program_week"] == 3


def test_pending_answers_are_those_that_may_still_come() -> None:
    interview = Interview({"patient_id": "p", "hours_since_session": 1})
    skipped = ("program_week", "new_load", "session_rpe", "reps_in_reserve")
    for key, value in [*((k, None) for k in skipped), ("heart", True), ("chest_pain", "none")]:
        interview.answer(interview.step(key), value)
    answers, pending = interview.partial()
    assert answers["chest_pain"] == "none" and "program_week" not in pending
    assert "chest_pain_kind" not in pending  # no chest pain: it will not be asked
    assert {"fainting", "dark_urine", "pain_during", "pain_region", "deformity"} <= pending
    interview.answer(interview.step("since"), False)
    assert "dark_urine" not in interview.pending()
    assert interview.partial()[0]["dark_urine"] is False
