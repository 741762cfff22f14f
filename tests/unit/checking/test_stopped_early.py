"""Checks stopped early in the log (no schema change): recorded with the answers given and the
rows met, readable in every view, the export and the history rules; ``--patient`` with
``--answers``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import triage
from tests.support.helpers import BASE, report
from triage.checking.check import record_answers, stop_early, with_patient
from triage.contract.reading import FIELDS
from triage.errors import ReportError, UsageError
from triage.evaluation.warning import early_warning
from triage.log import TriageLog
from triage_cli.cli import main

PACK = triage.default_pack()
SO_FAR = {"patient_id": "pt-s", "hours_since_session": 1.0, "fainting": "fainted"}


def warning(answers: dict[str, Any] = SO_FAR) -> Any:
    found = early_warning(
        answers, set(FIELDS) - set(answers) - {"profile", "age", "conditions"}, PACK
    )
    assert found is not None
    return found


def test_a_check_stopped_early_is_recorded_and_readable(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    stopped = stop_early(warning(), log=db)
    assert stopped.logged and stopped.entry is not None and stopped.started_log == str(db)
    data = stopped.to_dict()
    assert data["stopped_early"] is True and data["urgency"] == "emergency"
    assert data["log_entry"] == stopped.entry.id and "reported_at" in data["report"]
    with TriageLog(db) as log:
        [summary] = log.entries()
        assert summary.top_reason.startswith("Stopped early: ")
        entry = log.entry(summary.id)
        assert entry.report["fainting"] == "fainted" and entry.engine["name"] == "early-warning"
        assert entry.decision["unanswered"][:2] == ["chest_pain", "chest_pain_kind"]  # in order
        [point] = log.trend("pt-s")
        assert point.pain_during is None
        assert log.verify().ok
    for args in (["list"], ["show", "1"], ["trend", "--patient", "pt-s"], ["verify"]):
        shown = CliRunner().invoke(main, ["log", *args, "--db", str(db)])
        assert shown.exit_code == 0, shown.output
    shown = CliRunner().invoke(main, ["log", "show", "1", "--db", str(db)]).stdout
    assert "Stopped early: the questionnaire stopped at the first red flag" in shown
    csv = CliRunner().invoke(main, ["log", "export", "--format", "csv", "--db", str(db)]).stdout
    assert "emergency.fainted" in csv


def test_no_log_records_nothing(tmp_path: Path) -> None:
    stopped = stop_early(warning(), log=tmp_path / "log.db", record=False)
    assert not stopped.logged and "--no-log" in str(stopped.not_logged)
    assert not (tmp_path / "log.db").exists()


def test_a_check_stopped_before_the_patient_is_known_is_refused(tmp_path: Path) -> None:
    with TriageLog(tmp_path / "log.db") as log, pytest.raises(UsageError, match="patient"):
        log.record_stopped_early(warning({"fainting": "fainted"}))


@pytest.mark.parametrize("engine", ["durable-rules", "reference"])
def test_later_checks_read_a_stopped_check_in_their_history(tmp_path: Path, engine: str) -> None:
    """A stopped check has no pain scores: the history rules read them as absent (H2 and H2b
    compare pain between sessions), and it counts for H3 as the emergency it was."""
    db = tmp_path / "log.db"
    stop_early(warning(), log=db)
    later = report(patient_id="pt-s", pain_during=6, pain_now=2, pain_region="thigh",
                   pain_site="muscle")  # fmt: skip
    result = triage.check(later, log=db, engine=engine)
    assert result.history is not None and len(result.history) == 1
    assert result.decision.outcome == "reduce_load"
    follow = triage.check({k: v for k, v in later.items() if k != "hours_since_session"},
                          log=db, engine=engine, follow_up=True)  # fmt: skip
    assert follow.session is not None


def test_the_patients_conditions_are_known_to_the_early_warning(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    assert record_answers("pt-s", db) is None  # no log yet: not known
    with TriageLog(db) as log:
        log.set_patient("pt-s", profile=None, conditions=["heart_disease"], by="dr", note="")
    assert record_answers("pt-s", db) == {"conditions": ["heart_disease"]}
    assert record_answers("pt-other", db) == {}


def test_patient_fills_a_missing_id_and_refuses_another(tmp_path: Path) -> None:
    assert with_patient({"pain_now": 0}, "pt-1") == {"pain_now": 0, "patient_id": "pt-1"}
    assert with_patient({"patient_id": "pt-1"}, "pt-1") == {"patient_id": "pt-1"}
    with pytest.raises(ReportError) as raised:
        with_patient({"patient_id": "pt-2"}, "pt-1", "a.yaml")
    assert "pt-2" in raised.value.explain() and "pt-1" in raised.value.explain()


def test_patient_option_with_answers(tmp_path: Path) -> None:
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps({k: v for k, v in BASE.items() if k != "patient_id"}))
    db = ["--db", str(tmp_path / "log.db")]
    run = CliRunner().invoke
    filled = run(main, ["check", "--answers", str(answers), "--patient", "pt-9", "--json", *db])
    assert filled.exit_code == 0, filled.output
    assert json.loads(filled.stdout)["report"]["patient_id"] == "pt-9"
    answers.write_text(json.dumps({**BASE, "patient_id": "pt-2"}))
    refused = run(main, ["check", "--answers", str(answers), "--patient", "pt-9", *db])
    assert refused.exit_code == 1
    assert "'patient_id'" in refused.stderr and "pt-2" in refused.stderr
    assert "pt-9" in refused.stderr
    bad = run(main, ["check", "--answers", str(answers), "--patient", "no spaces", *db])
    assert bad.exit_code == 2
