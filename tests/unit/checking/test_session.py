"""``triage.QuestionnaireSession``: the questionnaire as the library drives it, without a terminal
(the terminal's own tests drive it through ``triage check``: test_interactive_cli.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import triage
from tests.support.helpers import gate_answer, report, typed
from triage.checking.session import NEEDS_AN_ANSWER
from triage.errors import AnswerError, UsageError
from triage.evaluation.questionnaire import Gate

PACK = triage.default_pack()


BEFORE = ("now", "patient_id", "first", "record", "age", "conditions")
"""The questions before the report's: nothing happening now, who, and their record."""


def before(data: dict[str, Any]) -> dict[str, Any]:
    """How a patient answers the questions before the report's: nothing needs an ambulance
    now, the ID is theirs, their record is right (or, without one, their age and conditions)."""
    return {
        "now": "no",
        "patient_id": data.get("patient_id"),
        "first": "yes",
        "record": data.get("record", "yes"),
        "age": data.get("age"),
        "conditions": data.get("conditions", []),
    }


def begin(session: triage.QuestionnaireSession, data: dict[str, Any] | None = None) -> list[str]:
    """Answer the questions before the report's; the keys asked."""
    asked = []
    answers = before(data or {})
    while (step := session.next_question()) is not None and step.key in BEFORE:
        asked.append(step.key)
        session.answer(step.key, answers[step.key])
    return asked


def drive(
    session: triage.QuestionnaireSession, data: dict[str, Any], *, typing: bool = False
) -> tuple[list[str], Any]:
    """Answer each question the session asks from ``data`` (as typed text, or as values) until
    it has no more or stops: the keys asked, and the warning it stopped at."""
    asked = begin(session, data)
    while (step := session.next_question()) is not None:
        if isinstance(step, Gate):
            value: Any = gate_answer(step, data)
            text = "yes" if value else "no"
        else:
            value = data.get(step.field)
            text = typed(step.spec, value)
        asked.append(step.key)
        warning = session.answer(step.key, text if typing else value)
        if warning is not None:
            return asked, warning
    return asked, None


def test_a_red_flag_stops_the_questionnaire_at_that_answer(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    session = triage.QuestionnaireSession("pt-s", log=db, pack=PACK)
    asked, warning = drive(session, report(patient_id="pt-s", fainting="fainted"), typing=True)
    assert asked[-1] == "fainting" and "chest_pain" in asked
    assert warning is session.warning
    assert warning is not None
    assert (warning.outcome, warning.urgency, warning.interrupted) == (
        "seek_medical_review",
        "emergency",
        False,
    )
    assert "emergency.fainted" in [reason.rule for reason in warning.reasons]
    assert warning.answers["fainting"] == "fainted" and "palpitations" in warning.unanswered
    assert session.next_question() is None
    with pytest.raises(UsageError):
        session.answer("palpitations", "none")
    with pytest.raises(UsageError):
        session.finish()
    stopped = session.stop()
    assert stopped.logged and stopped.to_dict()["stopped_early"] is True
    with triage.TriageLog(db) as log:
        assert log.entry(stopped.entry.id).report["fainting"] == "fainted"  # type: ignore[union-attr]


def test_a_benign_questionnaire_finishes_with_answers_that_check_accepts(tmp_path: Path) -> None:
    session = triage.QuestionnaireSession(log=tmp_path / "log.db", pack=PACK)
    asked, warning = drive(session, report(patient_id="pt-b"))
    assert warning is None
    assert asked[:6] == ["now", "patient_id", "first", "age", "conditions", "hours_since_session"]
    assert asked[6:9] == ["heart", "since", "pain"]  # "no" to each group answers all of it
    answers = session.finish()
    assert answers == {**report(patient_id="pt-b"), "conditions": []}
    result = triage.check(answers, log=tmp_path / "log.db", pack=PACK)
    assert isinstance(result, triage.CheckResult)
    assert result.decision.outcome == "continue" and result.logged


@pytest.mark.parametrize(
    ("key", "given", "says"),
    [
        ("hours_since_session", "", NEEDS_AN_ANSWER),
        ("hours_since_session", "next week", "type a number of hours"),
        ("hours_since_session", 400, "is not an answer to this question: expected a number"),
        ("pain_now", "11", "out of range"),
        ("pain_now", 2.5, "expected a whole number from 0 to 10"),
        ("numbness", "1 none", "'none' is an answer of its own"),
        ("numbness", ["one_arm", "tail"], "expected a list of different answers"),
        ("heart", "maybe", "is not one of the answers"),
        ("patient_id", "pt-other", "preset"),
        ("favourite_colour", "blue", "no such question"),
    ],
)
def test_an_invalid_answer_is_refused_naming_its_field_and_changes_nothing(
    key: str, given: Any, says: str
) -> None:
    session = triage.QuestionnaireSession("pt-i", pack=PACK)
    begin(session)
    so_far = (session.next_question(), session.summary(), session.interview.partial())  # type: ignore[union-attr]
    with pytest.raises(AnswerError, match=says) as refused:
        session.answer(key, given)
    assert refused.value.field == key and refused.value.to_dict()["field"] == key
    assert (session.next_question(), session.summary(), session.interview.partial()) == so_far  # type: ignore[union-attr]
    assert session.warning is None


def test_typed_answers_and_values_are_read_alike() -> None:
    typed_in, given = (triage.QuestionnaireSession("pt-v", pack=PACK) for _ in range(2))
    begin(typed_in), begin(given)
    for key, text, value in [
        ("hours_since_session", "3", 3.0),
        ("program_week", "", None),
        ("new_load", "y", True),
        ("pain", "yes", True),
        ("numbness", "2 1", ["one_arm", "both_arms"]),
        ("pain_now", "4", 4),
    ]:
        typed_in.answer(key, text)
        given.answer(key, value)
    assert typed_in.summary() == given.summary()
    assert given.value("numbness") == ["one_arm", "both_arms"] and given.value("pain") is True


@pytest.fixture
def logged_session(tmp_path: Path) -> tuple[Path, str]:
    db = tmp_path / "log.db"
    result = triage.check(report(patient_id="pt-f", hours_since_session=2, program_week=3), log=db)
    assert isinstance(result, triage.CheckResult)
    return db, str(result.decision.report.session_id)


def test_a_follow_up_asks_who_and_which_session_then_starts_from_what_the_log_knows(
    logged_session: tuple[Path, str],
) -> None:
    db, session_id = logged_session
    session = triage.QuestionnaireSession(follow_up=True, log=db, pack=PACK)
    assert session.next_question().key == "now"  # type: ignore[union-attr]
    session.answer("now", "1")
    assert session.next_question().key == "patient_id"  # type: ignore[union-attr]
    with pytest.raises(AnswerError, match="'patient_id' comes first"):
        session.answer("session", "yes")
    session.answer("patient_id", "pt-f")
    assert session.next_question().key == "age"  # checked before, but no record  # type: ignore[union-attr]
    session.answer("age", "")
    session.answer("conditions", "none")
    assert session.next_question().key == "session"  # type: ignore[union-attr]
    assert session.follow_up_session is not None
    assert session.follow_up_session.session_id == session_id
    session.answer("session", "yes")
    assert session.follow_up and session.next_question().key == "heart"  # type: ignore[union-attr]
    assert session.value("program_week") == 3 and session.value("hours_since_session") >= 2
    _, warning = drive(session, report(patient_id="pt-f"))
    answers = session.finish()
    assert warning is None and answers["session_id"] == session_id
    result = triage.check(answers, log=db, pack=PACK, follow_up=session.follow_up)
    assert isinstance(result, triage.CheckResult) and result.session is not None
    assert result.decision.report.session_id == session_id


def test_an_interruption_after_answers_that_need_a_clinician_gives_the_interrupted_warning(
    tmp_path: Path,
) -> None:
    db = tmp_path / "log.db"
    session = triage.QuestionnaireSession("pt-c", log=db, pack=PACK)
    begin(session)
    so_far = report(patient_id="pt-c", hours_since_session=1, palpitations="resolved")
    for key in ("hours_since_session", "heart", "chest_pain", "fainting", "palpitations"):
        value = gate_answer(session.question(key), so_far) if key == "heart" else so_far[key]
        assert session.answer(key, value) is None  # same day: the questions go on
    warning = session.interrupt()
    assert warning is session.warning
    assert warning is not None
    assert (warning.urgency, warning.interrupted) == ("same_day", True)
    assert "breathless" in warning.unanswered
    stopped = session.stop()
    assert stopped.logged and stopped.to_dict()["interrupted"] is True


def test_an_interruption_with_nothing_for_a_clinician_records_nothing() -> None:
    session = triage.QuestionnaireSession("pt-n", pack=PACK)
    begin(session)
    assert session.interrupt() is None  # not even when the session ended
    session.answer("hours_since_session", "2 hours ago")
    session.answer("heart", "no")
    assert session.interrupt() is None and session.warning is None
    with pytest.raises(UsageError, match="nothing to record"):
        session.stop()


@pytest.mark.parametrize(("ended", "hours"), [("1 hour ago", 1.0), ("3 days ago", 72.0)])
def test_no_to_the_session_then_an_end_before_its_check_corrects_that_session(
    logged_session: tuple[Path, str], ended: str, hours: float
) -> None:
    """The logged session (said to have ended 2 hours before) was first checked a moment
    ago: a session that ended before that check is that session, its end corrected."""
    db, session_id = logged_session
    session = triage.QuestionnaireSession("pt-f", follow_up=True, log=db, pack=PACK)
    begin(session)
    session.answer("session", "no")
    assert session.next_question().key == "hours_since_session"  # type: ignore[union-attr]
    session.answer("hours_since_session", ended)
    assert session.follow_up and session.corrected_end
    assert session.value("hours_since_session") == hours
    assert session.value("session_id") == session_id


def test_no_to_the_session_with_an_end_after_its_check_is_a_new_session(
    logged_session: tuple[Path, str],
) -> None:
    db, _ = logged_session
    session = triage.QuestionnaireSession("pt-f", follow_up=True, log=db, pack=PACK)
    begin(session)
    session.answer("session", "no")
    session.answer("hours_since_session", "just now")  # after the first check, a moment ago
    assert not session.follow_up and not session.corrected_end
    assert session.next_question().key == "heart"  # type: ignore[union-attr]
