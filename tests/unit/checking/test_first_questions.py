"""The questions before the report's (issue 24): red flags first, then who the patient is and
their record, asked and confirmed (policy v3 section 5)."""

from __future__ import annotations

from pathlib import Path

import pytest

import triage
from tests.support.helpers import report
from tests.unit.checking.test_session import drive
from triage.checking.on_file import PATIENT_GIVEN
from triage.errors import AnswerError, UsageError
from triage.evaluation.questionnaire import NOTHING_NOW, RIGHT_NOW

PACK = triage.default_pack()
NOW_ANSWERS = [value for value, _, _ in RIGHT_NOW.answers if value != NOTHING_NOW]


def test_the_first_question_is_whether_anything_needs_an_ambulance_now() -> None:
    session = triage.QuestionnaireSession(pack=PACK)
    first = session.next_question()
    assert first is RIGHT_NOW
    assert RIGHT_NOW.options()[0] == (NOTHING_NOW, "No, none of these")
    assert "not sure, choose it" in RIGHT_NOW.help


@pytest.mark.parametrize("chosen", NOW_ANSWERS)
def test_each_answer_to_the_first_question_stops_at_once_with_an_emergency(chosen: str) -> None:
    """Each answer stands for report answers that meet an emergency row on their own: the rules
    decide, before the patient ID is asked."""
    session = triage.QuestionnaireSession(pack=PACK)
    number = [v for v, _ in RIGHT_NOW.options()].index(chosen) + 1
    warning = session.answer("now", str(number))
    assert warning is not None and warning.urgency == "emergency"
    assert session.next_question() is None
    assert RIGHT_NOW.means([chosen]).items() <= warning.answers.items()
    assert session.missing_for_record() == ["patient_id", "hours_since_session"]


@pytest.mark.parametrize(
    ("typed", "says"),
    [
        ("yes", "which one\\? Type its number \\(2 to 6\\)"),
        ("1 2", "'No, none of these' is an answer of its own"),
        ("9", "from 1 to 6"),
    ],
)
def test_the_first_question_refuses_an_unclear_answer(typed: str, says: str) -> None:
    session = triage.QuestionnaireSession(pack=PACK)
    with pytest.raises(AnswerError, match=says):
        session.answer("now", typed)
    assert session.next_question() is RIGHT_NOW and session.warning is None


@pytest.mark.parametrize("typed", ["1", "n", "No", "none"])
def test_no_to_the_first_question_goes_on_to_the_patient_id(typed: str) -> None:
    session = triage.QuestionnaireSession(pack=PACK)
    assert session.answer("now", typed) is None
    assert session.next_question().key == "patient_id"  # type: ignore[union-attr]


def test_a_stop_at_the_first_question_is_recorded_once_the_patient_id_and_time_are_given(
    tmp_path: Path,
) -> None:
    db = tmp_path / "log.db"
    session = triage.QuestionnaireSession(log=db, pack=PACK)
    session.answer("now", "2 5")  # chest pain, and confusion
    with pytest.raises(AnswerError, match="is not a patient ID"):
        session.give_for_record("patient_id", "idk")
    session.give_for_record("patient_id", "pt-now")
    session.give_for_record("hours_since_session", "1")
    assert session.missing_for_record() == []
    stopped = session.stop()
    assert stopped.logged
    with triage.TriageLog(db) as log:
        stored = log.entry(stopped.entry.id).report  # type: ignore[union-attr]
    assert stored["chest_pain"] == "ongoing" and stored["confusion"] is True
    assert stored["patient_id"] == "pt-now"


def test_a_stop_at_the_first_question_without_a_patient_id_is_not_recorded(
    tmp_path: Path,
) -> None:
    session = triage.QuestionnaireSession(log=tmp_path / "log.db", pack=PACK)
    session.answer("now", "3")
    session.give_for_record("patient_id", "")
    stopped = session.stop()
    assert not stopped.logged and "who the patient is" in str(stopped.not_logged)
    with pytest.raises(UsageError, match="not missing"):
        session.give_for_record("age", "70")


def test_a_new_patient_id_is_confirmed_and_no_retypes_it(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    assert isinstance(triage.check(report(patient_id="margaret-70"), log=db), triage.CheckResult)
    session = triage.QuestionnaireSession(log=db, pack=PACK)
    session.answer("now", "n")
    session.answer("patient_id", "margaret70")
    question = session.next_question()
    assert question.key == "first"  # type: ignore[union-attr]
    assert "This is the first check for 'margaret70'. Is that your patient ID?" in question.question  # type: ignore[union-attr]
    session.answer("first", "n")
    assert session.next_question().key == "patient_id"  # type: ignore[union-attr]
    session.answer("patient_id", "margaret-70")
    assert session.next_question().key == "age"  # known, but without a record


def test_a_patient_id_given_by_the_program_is_not_questioned(tmp_path: Path) -> None:
    session = triage.QuestionnaireSession("pt-new", log=tmp_path / "log.db", pack=PACK)
    session.answer("now", "n")
    assert session.next_question().key == "age"  # type: ignore[union-attr]


def test_the_record_is_shown_to_be_confirmed(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    with triage.TriageLog(db, create=True) as log:
        log.set_patient("pt-r", age=70, conditions=["blood_thinners"], by="dr-lee")
    session = triage.QuestionnaireSession(log=db, pack=PACK)
    session.answer("now", "n")
    session.answer("patient_id", "pt-r")
    question = session.next_question()
    assert question.key == "record"  # type: ignore[union-attr]
    assert question.question == (  # type: ignore[union-attr]
        "Your record says: age 70; taking blood thinners (anticoagulants). Is that right?"
    )
    session.answer("record", "y")
    assert session.next_question().key == "hours_since_session"  # type: ignore[union-attr]
    labels = {label: (key, answer) for key, label, answer in session.summary()}
    assert labels["Age"] == (None, "70")  # the clinician's: confirmed, not changed here


def test_a_record_the_patient_says_is_wrong_is_asked_again_and_kept_as_theirs(
    tmp_path: Path,
) -> None:
    db = tmp_path / "log.db"
    with triage.TriageLog(db, create=True) as log:
        log.set_patient("pt-w", age=70, conditions=[], by="dr-lee")
    session = triage.QuestionnaireSession(log=db, pack=PACK)
    data = report(patient_id="pt-w", age=71, conditions=["blood_thinners"])
    asked, warning = drive(session, {**data, "record": "no"})
    assert asked[:5] == ["now", "patient_id", "record", "age", "conditions"]
    assert warning is None
    answers = session.finish()
    assert answers["age"] == 71 and answers["conditions"] == ["blood_thinners"]
    session.save_record()
    with triage.TriageLog(db) as log:
        record = log.patient("pt-w")
    assert record is not None and record.set_by == PATIENT_GIVEN
    assert (record.age, record.conditions) == (71, ("blood_thinners",))


def test_blood_thinners_without_a_record_make_a_fast_swelling_urgent(tmp_path: Path) -> None:
    """The story the questionnaire missed: a 70-year-old on blood thinners, no record, whose
    knee swelled within an hour."""
    knee = report(
        patient_id="margaret-70",
        age=70,
        conditions=["blood_thinners"],
        pain_during=6,
        pain_now=6,
        pain_region="knee",
        pain_site="joint",
        swelling="marked",
        swelling_fast=True,
    )
    session = triage.QuestionnaireSession(log=tmp_path / "log.db", pack=PACK)
    asked, warning = drive(session, knee)
    assert asked[:5] == ["now", "patient_id", "first", "age", "conditions"]
    assert warning is not None and warning.urgency == "urgent"
    assert "urgent.fast-swelling-on-blood-thinners" in [r.rule for r in warning.reasons]
    assert session.stop().logged
    with triage.TriageLog(tmp_path / "log.db") as log:
        record = log.patient("margaret-70")
    assert record is not None and record.conditions == ("blood_thinners",)
    assert record.set_by == PATIENT_GIVEN
