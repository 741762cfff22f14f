"""`triage check --follow-up`: the report is linked to the patient's latest session in the log;
the log is read only for the window the rules need."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

import triage
from tests.support.helpers import BASE, keystrokes, report
from triage.log import TriageLog
from triage_cli.cli import main


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input)


def answers_file(tmp_path: Path, name: str, **answers: object) -> str:
    path = tmp_path / name
    data = {**BASE, "patient_id": "pt-f", **answers}
    path.write_text(json.dumps({k: v for k, v in data.items() if v is not None}))
    return str(path)


def ago(hours: float) -> str:
    return (datetime.now(timezone.utc) - timedelta(hours=hours)).isoformat()


@pytest.fixture
def session(tmp_path: Path) -> str:
    """A post-session check 50 hours ago (the session ended 30 minutes before it)."""
    path = answers_file(
        tmp_path,
        "post.json",
        reported_at=ago(50),
        hours_since_session=0.5,
        pain_during=5,
        pain_now=5,
        pain_site="muscle",
        pain_region="thigh",
    )
    result = run("check", "--answers", path, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["report"]["session_id"]


def test_follow_up_with_answers_fills_the_session_and_hours(tmp_path: Path, session: str) -> None:
    path = answers_file(
        tmp_path,
        "follow.json",
        hours_since_session=None,
        pain_during=5,
        pain_now=5,
        pain_site="muscle",
        pain_region="thigh",
        pain_trend="better",
    )
    result = run("check", "--answers", path, "--follow-up", "--json")
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)
    assert decision["report"]["session_id"] == session
    assert decision["report"]["hours_since_session"] == pytest.approx(50.5, abs=0.1)
    assert (
        decision["urgency"] == "routine"
        and decision["reasons"][0]["rule"] == "history.no-improvement-48h"
    )
    assert (
        f"Follow-up of session {session}, which ended " in result.stderr
        and "50.5 hours ago" in result.stderr
    )


def test_follow_up_interactive_skips_the_session_question(tmp_path: Path, session: str) -> None:
    """The patient confirms the session; what cannot have changed about it (the pain during
    it, here) is taken from its first check, not asked again."""
    thigh = {"pain_during": 5, "pain_now": 5, "pain_region": "thigh", "pain_site": "muscle"}
    answers = {**BASE, **thigh, "pain_trend": "better"}
    known = {"patient_id": "pt-f", "hours_since_session": 50.5, "pain_during": 5}
    lines = ["pt-f", "yes", *keystrokes(answers, preset=known)]
    result = run("check", "--interactive", "--follow-up", "--json", input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.stderr[-1500:]
    assert "Follow-up check" in result.stderr and "When did the session end?" not in result.stderr
    assert "This follow-up is about your session that ended " in result.stderr
    for not_again in ("Which week", "How hard did the session", "repetitions", "worst pain"):
        assert not_again not in result.stderr
    decision = json.loads(result.stdout)
    assert decision["report"]["session_id"] == session and decision["urgency"] == "routine"
    assert decision["report"]["pain_during"] == 5


def test_follow_up_of_another_session_becomes_a_new_check(tmp_path: Path, session: str) -> None:
    lines = [
        "pt-f",
        "no",
        *keystrokes({**BASE, "patient_id": "pt-f"}, preset={"patient_id": "pt-f"}),
    ]
    result = run("check", "--interactive", "--follow-up", "--json", input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.stderr[-1500:]
    assert "Then this is a check of a new session." in result.stderr
    assert "When did the session end?" in result.stderr
    assert json.loads(result.stdout)["report"]["session_id"] != session


def test_follow_up_refuses_answers_that_contradict_the_log(tmp_path: Path, session: str) -> None:
    path = answers_file(
        tmp_path, "bad.json", session_id="s-other", hours_since_session=5, pain_during=0, pain_now=0
    )
    result = run("check", "--answers", path, "--follow-up")
    assert result.exit_code == 1
    assert f"the follow-up is about session {session}" in result.stderr
    assert "the log says the session ended 50.5 hours before this report, not 5" in result.stderr
    assert "bad.json: field 'session_id'" in result.stderr


def test_follow_up_without_an_earlier_check_says_what_to_do(tmp_path: Path) -> None:
    result = run(
        "check",
        "--answers",
        answers_file(tmp_path, "f.json", pain_during=0, pain_now=0),
        "--follow-up",
    )
    assert result.exit_code == 1
    assert (
        "there is no triage log" in result.stderr
        or "no earlier check for patient pt-f" in result.stderr
    )


def test_follow_up_of_a_session_over_14_days_old_is_refused(tmp_path: Path) -> None:
    old = answers_file(tmp_path, "old.json", reported_at=ago(400), hours_since_session=1)
    run("check", "--answers", old)
    result = run(
        "check",
        "--answers",
        answers_file(tmp_path, "f.json", hours_since_session=None),
        "--follow-up",
    )
    assert result.exit_code == 1 and "more than 14" in result.stderr


def test_check_reads_only_the_window_the_rules_need(tmp_path: Path) -> None:
    with TriageLog(tmp_path / "log.db") as log:
        for days in (30, 22, 20, 10, 1):
            log.record(
                triage.evaluate(report(patient_id="pt-w", reported_at=ago(days * 24), unwell=True))
            )
        log.record(triage.evaluate(report(patient_id="pt-other", reported_at=ago(24), unwell=True)))
        now = datetime.now(timezone.utc)
        window = log.history("pt-w", before=now, days=triage.default_pack().history_days)
        assert triage.default_pack().history_days == 21
        assert len(window) == 3 and all(e.patient_id == "pt-w" for e in window)
        assert len(log.history("pt-w", before=now, days=365, limit=2)) == 2


def test_the_decision_counts_the_earlier_checks_it_saw(tmp_path: Path, session: str) -> None:
    result = run("check", "--answers", answers_file(tmp_path, "x.json"), "--json")
    assert json.loads(result.stdout)["history"] == {"available": True, "earlier_checks": 1}
