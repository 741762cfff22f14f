"""`triage.check`: the whole check as `triage check` runs it, from Python; and the CLI's check
is a thin call of it (the same decisions, the same log entries)."""

from __future__ import annotations

import json
import os
import stat
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner

import triage
from tests.support.helpers import BASE, load_case, report, vignette_files
from tests.unit.evaluation.test_sequences import SEQUENCES, assert_step, full_report, load
from triage.log import TriageLog
from triage_cli.cli import main


@pytest.mark.parametrize("path", SEQUENCES, ids=lambda p: p.stem)
def test_check_with_a_log_runs_every_sequence(path: Path, tmp_path: Path) -> None:
    sequence = load(path)
    db = tmp_path / "clinic.db"
    for number, step in enumerate(sequence["steps"], 1):
        answers = full_report(sequence, step)
        if step.get("follow_up"):
            del answers["hours_since_session"], answers["session_id"]
        result = triage.check(answers, log=db, follow_up=bool(step.get("follow_up")))
        assert_step(result.decision.to_dict(), step, f"{path.stem} step {number}")
        assert result.logged and result.entry is not None and result.entry.id == number
        assert result.history is not None and len(result.history) == number - 1
        if step.get("follow_up"):
            assert result.session is not None and result.session.session_id == step["session"]
    with TriageLog(db) as log:
        assert log.verify().ok and log.verify().entries == len(sequence["steps"])


def test_the_cli_and_the_library_record_the_same_decision(tmp_path: Path) -> None:
    case = vignette_files()[5]
    data = triage.parse_report(load_case(case)["report"])
    answers = tmp_path / "a.json"
    answers.write_text(json.dumps(data.answers()))
    cli = CliRunner().invoke(main, ["check", "--answers", str(answers), "--json",
                                    "--db", str(tmp_path / "cli.db")])  # fmt: skip
    library = triage.check(data, log=tmp_path / "lib.db")
    from_cli = json.loads(cli.stdout)
    from_library = library.to_dict()
    for side in (from_cli, from_library):
        side["report"].pop("session_id")  # a new random session id for each check
    assert from_cli == from_library


def test_an_open_log_is_used_and_left_open(tmp_path: Path) -> None:
    with TriageLog(tmp_path / "open.db") as log:
        first = triage.check(report(patient_id="pt-o"), log=log)
        second = triage.check(report(patient_id="pt-o"), log=log)
        assert (first.entry.id, second.entry.id) == (1, 2)  # type: ignore[union-attr]
        assert second.history is not None and len(second.history) == 1
        assert log.verify().ok


def test_record_false_reads_the_history_but_records_nothing(tmp_path: Path) -> None:
    db = tmp_path / "h.db"
    triage.check(report(patient_id="pt-r"), log=db)
    result = triage.check(report(patient_id="pt-r"), log=db, record=False)
    assert not result.logged and result.not_logged == "recording was not asked for (--no-log)"
    assert result.history is not None and len(result.history) == 1
    assert result.to_dict()["logged"] is False
    with TriageLog(db) as log:
        assert log.verify().entries == 1


def test_a_log_that_cannot_be_written_never_hides_the_decision(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    chest = report(chest_pain="ongoing", chest_pain_kind="pressure")
    result = triage.check(chest, log=folder)
    assert result.decision.urgency == "emergency"
    assert not result.logged and result.log_error is not None
    assert "could not be used" in (result.not_logged or "")


def test_json_exit_code_keeps_the_outcome_status_when_the_log_fails(tmp_path: Path) -> None:
    folder = tmp_path / "a-folder"
    folder.mkdir()
    answers = tmp_path / "chest.json"
    answers.write_text(json.dumps(report(chest_pain="ongoing", chest_pain_kind="pressure")))
    result = CliRunner().invoke(
        main, ["check", "--answers", str(answers), "--json", "--exit-code", "--db", str(folder)]
    )
    assert result.exit_code == 6  # emergency, not 1: an app branching on it shows the emergency
    data = json.loads(result.stdout)
    assert data["urgency"] == "emergency" and data["logged"] is False
    assert "could not be used" in data["not_logged"]
    assert "not saved in the triage log" in result.stderr
    plain = CliRunner().invoke(main, ["check", "--answers", str(answers), "--db", str(folder)])
    assert plain.exit_code == 1 and plain.stdout.startswith("STOP EXERCISING")


def test_the_decision_is_shown_before_the_answers_are_saved(tmp_path: Path) -> None:
    """A FIFO would block and a full disk would fail: the patient still sees the result first."""
    fifo = tmp_path / "answers.fifo"
    os.mkfifo(fifo)
    answers = tmp_path / "chest.json"
    answers.write_text(json.dumps(report(chest_pain="ongoing", chest_pain_kind="pressure")))
    result = CliRunner().invoke(
        main, ["check", "--answers", str(answers), "--save-answers", str(fifo), "--no-log"]
    )
    assert result.stdout.startswith("STOP EXERCISING")
    assert result.exit_code == 1
    assert "is not a regular file" in result.stderr and "--save-answers" in result.stderr
    full = CliRunner().invoke(
        main,
        ["check", "--answers", str(answers), "--save-answers", "/dev/full/x.yaml", "--no-log"],
    )
    assert full.stdout.startswith("STOP EXERCISING") and "cannot write" in full.stderr


def test_saved_answers_replace_a_symlink_and_are_owner_only(tmp_path: Path) -> None:
    target = tmp_path / "precious.txt"
    target.write_text("keep me")
    link = tmp_path / "answers.yaml"
    link.symlink_to(target)
    loose = tmp_path / "loose.yaml"
    loose.write_text("old")
    loose.chmod(0o644)
    answers = tmp_path / "r.json"
    answers.write_text(json.dumps(report()))
    for path in (link, loose):
        result = CliRunner().invoke(
            main, ["check", "--answers", str(answers), "--save-answers", str(path), "--no-log"]
        )
        assert result.exit_code == 0, result.output
        assert not path.is_symlink() and stat.S_IMODE(path.stat().st_mode) == 0o600
        assert triage.parse_report(dict(__import__("yaml").safe_load(path.read_text())))
    assert target.read_text() == "keep me"


IN_TEN_HOURS = (datetime.now(timezone.utc) + timedelta(hours=10)).isoformat()
"""A follow-up reported 10 hours after the first check: 1 hour since the session would put its
end after that check (a time that corrects the first check's is taken: test_follow_up.py)."""


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"hours_since_session": "2"}, "is worked out from the log for a follow-up"),
        ({"reported_at": IN_TEN_HOURS, "hours_since_session": 1}, "the log says the session ended"),
        ({"session_id": "s-other"}, "not s-other"),
        ({"reported_at": "not a time"}, "expected an ISO-8601 date-time"),
        ({"reported_at": "0001-01-01T00:00:00Z"}, "in 2000-2099"),
        ({"reported_at": 0}, "expected an ISO-8601 date-time"),
    ],
)
def test_a_follow_up_refuses_answers_that_contradict_the_log(
    tmp_path: Path, answers: dict, message: str
) -> None:
    db = tmp_path / "f.db"
    triage.check(report(patient_id="pt-f", hours_since_session=0.5), log=db)
    data = {**report(patient_id="pt-f"), **answers}
    data.pop("hours_since_session") if "hours_since_session" not in answers else None
    with pytest.raises(triage.ReportError, match=message):
        triage.check(data, log=db, follow_up=True)


def test_a_follow_up_without_an_earlier_check_says_what_to_do(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    triage.check(report(patient_id="pt-someone"), log=db)
    with pytest.raises(triage.UsageError, match="no earlier check for patient pt-new"):
        triage.check({**BASE, "patient_id": "pt-new"}, log=db, follow_up=True)
