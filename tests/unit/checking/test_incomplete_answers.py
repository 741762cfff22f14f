"""Incomplete answers that already hold a red flag (issue 21, item 2): every input path
(``triage.check``, ``check --answers``, ``POST /api/v1/check``, a QuestionnaireResponse) gives
the early warning the questionnaire would give, recorded as stopped early, with what was missing
or refused listed after it; only answers that need no emergency or urgent review whatever the
missing ones are get the located errors alone."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import event, given
from hypothesis import strategies as st

import triage
from tests.support.fhir_support import assert_valid
from tests.support.helpers import examples, reports
from tests.support.web_support import Server
from tests.support.web_support import server as server
from triage.fhir import codes
from triage.fhir.response import answers_from_response
from triage.log import TriageLog
from triage.outcomes import severity
from triage_cli.cli import EXIT_CODES, main

HALF = {"patient_id": "pt-half", "hours_since_session": 1, "chest_pain": "ongoing",
        "chest_pain_kind": "pressure"}  # fmt: skip
"""Only the first warning sign answered: ongoing chest pressure (emergency, whatever else)."""


def half_response(status: str = "in-progress", **extra: Any) -> dict[str, Any]:
    """A QuestionnaireResponse as a half-filled form exports it: the chest pain questions only."""
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{codes.QUESTIONNAIRE_URL}|{codes.VERSION}",
        "status": status,
        "subject": {"identifier": {"system": codes.PATIENT_ID_SYSTEM, "value": "pt-half"}},
        "item": [
            {"linkId": "hours_since_session", "answer": [{"valueDecimal": 1}]},
            {"linkId": "heart", "answer": [{"valueBoolean": True}]},
            {
                "linkId": "heart-group",
                "item": [
                    {"linkId": name, "answer": [{"valueCoding": codes.coding(name, value)}]}
                    for name, value in (("chest_pain", "ongoing"), ("chest_pain_kind", "pressure"))
                ],
            },
        ],
        **extra,
    }


def test_half_answers_give_the_emergency_recorded_as_stopped_early(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    result = triage.check(HALF, log=db)
    assert isinstance(result, triage.StoppedCheck)
    warning = result.warning
    assert (warning.outcome, warning.urgency) == ("seek_medical_review", "emergency")
    assert warning.reasons[0].rule == "emergency.chest-pain-ongoing"
    missing = {problem.field for problem in warning.problems}
    assert {"pain_during", "fainting", "numbness"} <= missing and "chest_pain" not in missing
    assert all(problem.message == "is required" for problem in warning.problems)
    assert result.logged and result.entry is not None
    with TriageLog(db) as log:
        entry = log.entry(result.entry.id)
    assert entry.decision["stopped_early"] is True and entry.urgency == "emergency"
    assert {p["field"] for p in entry.decision["problems"]} == missing
    assert entry.report["chest_pain"] == "ongoing" and "pain_during" not in entry.report
    shown = CliRunner().invoke(main, ["log", "show", str(result.entry.id), "--db", str(db)])
    assert "Stopped early: the answers sent were incomplete" in shown.stdout
    assert "Missing or refused: " in shown.stdout


def test_a_half_filled_questionnaire_response_gives_the_emergency(tmp_path: Path) -> None:
    """The reproducer of the issue: 9 "is required" problems and no outcome, before."""
    for status in ("in-progress", "completed"):
        result = triage.check(half_response(status), log=tmp_path / "log.db")
        assert isinstance(result, triage.StoppedCheck), status
        assert result.warning.urgency == "emergency" and result.logged
        items = {problem.item for problem in result.warning.problems}
        assert {"fainting", "pain"} <= items  # located by linkId, the unanswered gate too


def test_a_refused_answer_counts_as_unknown_never_as_given(tmp_path: Path) -> None:
    """An ongoing chest pain of an unknown kind may be only tender to touch: not an emergency
    whatever the rest, so the answers are refused with their errors (never a guess)."""
    answers = {**HALF, "chest_pain_kind": "crushing"}
    with pytest.raises(triage.ReportError) as raised:
        triage.check(answers, log=tmp_path / "log.db")
    assert "chest_pain_kind" in {problem.field for problem in raised.value.problems}
    assert not (tmp_path / "log.db").exists() or TriageLog(tmp_path / "log.db").count() == 0


def test_incomplete_answers_without_a_red_flag_get_the_located_errors(tmp_path: Path) -> None:
    with pytest.raises(triage.ReportError) as raised:
        triage.check({**HALF, "chest_pain": "none", "chest_pain_kind": None}, log=tmp_path / "l.db")
    assert any(problem.field == "fainting" for problem in raised.value.problems)


def test_without_a_patient_or_a_session_time_it_is_shown_but_not_recorded(tmp_path: Path) -> None:
    answers = {k: v for k, v in HALF.items() if k != "patient_id"}
    result = triage.check(answers, log=tmp_path / "log.db")
    assert isinstance(result, triage.StoppedCheck) and result.warning.urgency == "emergency"
    assert not result.logged
    assert result.not_logged == "the answers do not say who the patient is"
    answers = {k: v for k, v in HALF.items() if k != "hours_since_session"}
    result = triage.check(answers, log=tmp_path / "log.db")
    assert isinstance(result, triage.StoppedCheck) and not result.logged
    assert result.not_logged == "the answers do not say when the session ended"


def test_the_patients_record_counts(tmp_path: Path) -> None:
    """A fast swelling is urgent on blood thinners: the record in the log makes half answers
    (no other symptom answered) urgent, as it makes a full report urgent."""
    db = tmp_path / "log.db"
    fast = {"patient_id": "pt-bt", "hours_since_session": 1, "swelling": "mild",
            "swelling_fast": True}  # fmt: skip
    with pytest.raises(triage.ReportError):
        triage.check(fast, log=db)
    with TriageLog(db) as log:
        log.set_patient("pt-bt", conditions=["blood_thinners"], by="Dr Test")
    result = triage.check(fast, log=db)
    assert isinstance(result, triage.StoppedCheck) and result.warning.urgency == "urgent"
    assert result.warning.answers["conditions"] == ["blood_thinners"]


@examples(1000)
@given(reports(), st.data())
def test_a_stopped_check_is_never_more_urgent_than_any_full_answers(
    full: dict[str, Any], data: st.DataObject
) -> None:
    """Whatever answers are left out, a check stopped early is at most as urgent as the full
    report they come from (one of the ways to complete them), and at least urgent."""
    names = sorted(full)
    dropped = data.draw(st.sets(st.sampled_from(names)))
    partial = {name: value for name, value in full.items() if name not in dropped}
    try:
        result = triage.check(partial, record=False, log=None)
    except triage.ReportError:
        event("refused")
        return
    event("stopped early" if isinstance(result, triage.StoppedCheck) else "decided")
    if isinstance(result, triage.StoppedCheck):
        decided = triage.evaluate(full)
        assert result.warning.severity <= severity(decided.outcome, decided.urgency)
        assert result.warning.severity >= severity("seek_medical_review", "urgent")
        assert result.warning.problems


def test_the_cli_shows_the_emergency_first_then_what_was_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    path = Path("half.json")
    path.write_text(json.dumps(HALF))
    db = str(tmp_path / "log.db")
    shown = CliRunner().invoke(main, ["check", "--answers", str(path), "--db", db])
    assert shown.exit_code == 0, shown.output
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("STOP EXERCISING AND CALL YOUR LOCAL EMERGENCY NUMBER NOW")
    assert "Your answers are not complete, but those given already need this." in lines
    assert "Missing or not readable (21 answers):" in lines
    assert f"  - {path}: field 'fainting': is required;" in shown.stdout
    assert "Saved for your clinician in the triage log (reference number 1)." in lines
    coded = CliRunner().invoke(main, ["check", "--answers", str(path), "--db", db, "--exit-code"])
    assert coded.exit_code == EXIT_CODES[("seek_medical_review", "emergency")]
    data = json.loads(
        CliRunner().invoke(main, ["check", "--answers", str(path), "--no-log", "--json"]).stdout
    )
    assert data["stopped_early"] is True and data["urgency"] == "emergency"
    assert data["logged"] is False and len(data["problems"]) == 21


def test_the_cli_reads_a_half_filled_response_and_writes_fhir(tmp_path: Path) -> None:
    path = tmp_path / "qr.json"
    path.write_text(json.dumps(half_response()))
    shown = CliRunner().invoke(
        main, ["check", "--answers", str(path), "--db", str(tmp_path / "l.db"), "--format", "fhir"]
    )
    assert shown.exit_code == 0, shown.output
    assessment = json.loads(shown.stdout)
    assert_valid(assessment)
    assert assessment["prediction"][0]["qualitativeRisk"]["coding"][0]["code"] == "emergency"
    assert assessment["identifier"][0]["value"] == "1"
    (response,) = assessment["contained"]
    assert response["status"] == "in-progress"
    gate = next(item for item in response["item"] if item["linkId"] == "heart")
    assert gate["answer"] == [{"valueBoolean": True}]
    assert "pain" not in {item["linkId"] for item in response["item"]}
    finished = {**response, "status": "completed"}
    with pytest.raises(triage.ReportError):  # the basis holds the answers given, no more
        answers_from_response(finished)
    assert assessment["note"][-1]["text"].startswith("Stopped early: the answers given already")


def test_the_api_answers_with_the_emergency(server: Server) -> None:
    with server.api() as api:
        answer = api.post("/check", json=HALF)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["stopped_early"] is True and body["urgency"] == "emergency"
        assert (
            body["logged"] is True
            and {"field": "fainting"}.items()
            <= next(p for p in body["problems"] if p.get("field") == "fainting").items()
        )
        fhir = api.post("/check", json=half_response(), params={"format": "fhir"})
        assert fhir.status_code == 200, fhir.text
        assessment = fhir.json()
        assert_valid(assessment)
        assert assessment["prediction"][0]["qualitativeRisk"]["coding"][0]["code"] == "emergency"
        refused = api.post("/check", json={**HALF, "chest_pain": "none", "chest_pain_kind": None})
        assert refused.status_code == 422
    with TriageLog(server.db) as log:
        entry = log.entry(body["log_entry"])
    assert entry.decision["stopped_early"] is True and entry.decision["problems"]
