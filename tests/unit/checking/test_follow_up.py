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


WHO = ["n", "pt-f", "", "none"]
"""Nothing needs an ambulance now; the patient, checked before but without a record: no age,
no conditions."""


def report_lines(answers: dict, preset: dict) -> list[str]:
    """The report's questions of ``keystrokes`` (after its first screen and record answers)."""
    return keystrokes(answers, preset={"patient_id": "pt-f", **preset}, checked_before=True)[3:]


def test_follow_up_interactive_skips_the_session_question(tmp_path: Path, session: str) -> None:
    """The patient confirms the session; what cannot have changed about it (the pain during
    it, here) is taken from its first check, not asked again."""
    thigh = {"pain_during": 5, "pain_now": 5, "pain_region": "thigh", "pain_site": "muscle"}
    answers = {**BASE, **thigh, "pain_trend": "better"}
    known = {"hours_since_session": 50.5, "pain_during": 5, "conditions": []}
    lines = [*WHO, "yes", *report_lines(answers, known)]
    result = run("check", "--interactive", "--follow-up", "--json", input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.stderr[-1500:]
    assert "Follow-up check" in result.stderr and "When did the session end?" not in result.stderr
    assert "This follow-up is about your session that ended " in result.stderr
    for not_again in ("Which week", "How hard was the session", "repetitions", "worst pain"):
        assert not_again not in result.stderr
    decision = json.loads(result.stdout)
    assert decision["report"]["session_id"] == session and decision["urgency"] == "routine"
    assert decision["report"]["pain_during"] == 5


def test_follow_up_of_another_session_becomes_a_new_check(tmp_path: Path, session: str) -> None:
    """No: the session meant ended an hour ago, after the logged session's check (50 hours
    ago): a new session, whose end is not asked twice."""
    preset = {"hours_since_session": 1.0, "conditions": []}
    lines = [*WHO, "no", "1 hour ago", *report_lines({**BASE, "patient_id": "pt-f"}, preset)]
    result = run("check", "--interactive", "--follow-up", "--json", input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.stderr[-1500:]
    assert "Then when did the session you mean end?" in result.stderr
    assert "Then this is a check of a new session." in result.stderr
    assert result.stderr.count("When did the session end?") == 1
    report = json.loads(result.stdout)["report"]
    assert report["session_id"] != session and report["hours_since_session"] == 1


def test_follow_up_with_the_wrong_time_corrects_it_and_stays_that_session(
    tmp_path: Path, session: str
) -> None:
    """No: the session meant ended three days ago, before the logged session's first check
    (50 hours ago): that session, its end corrected; the result compares with that check."""
    thigh = {"pain_during": 5, "pain_now": 3, "pain_region": "thigh", "pain_site": "muscle"}
    answers = {**BASE, **thigh, "pain_trend": "better"}
    preset = {"hours_since_session": 72.0, "pain_during": 5, "conditions": []}
    lines = [*WHO, "no", "3 days ago", *report_lines(answers, preset)]
    result = run("check", "--interactive", "--follow-up", "--json", input="\n".join(lines) + "\n")
    assert result.exit_code == 0, result.stderr[-1500:]
    assert "Then it is that session, ended at the time you gave" in result.stderr
    decision = json.loads(result.stdout)
    assert decision["report"]["session_id"] == session
    assert decision["report"]["hours_since_session"] == pytest.approx(72, abs=0.2)
    assert decision["compared_with"]["changes"][0]["before"] == 5
    assert decision["compared_with"]["changes"][0]["after"] == 3


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


# -- a corrected time of the session (the first check's was rough) -------------------------------


def first_check(db: Path, reported_at: datetime, hours: float, **answers: object) -> str:
    """A post-session check reported at ``reported_at``, ``hours`` after the session: its id."""
    given = {"pain_during": 6, "pain_now": 6, "pain_site": "muscle", "pain_region": "thigh"}
    if hours >= 24:
        given["pain_trend"] = "same"
    data = report(
        patient_id="pt-c",
        reported_at=reported_at.isoformat(),
        hours_since_session=hours,
        **{**given, **answers},
    )
    result = triage.check(data, log=db)
    assert isinstance(result, triage.CheckResult) and result.logged
    return result.decision.report.session_id or ""


def follow_up(db: Path, reported_at: datetime, **answers: object) -> triage.CheckResult:
    given = {"pain_during": 6, "pain_now": 4, "pain_site": "muscle", "pain_region": "thigh"}
    given["pain_trend"] = "better"
    data = report(patient_id="pt-c", reported_at=reported_at.isoformat(), **{**given, **answers})
    data.pop("hours_since_session") if "hours_since_session" not in answers else None
    result = triage.check(data, log=db, follow_up=True)
    assert isinstance(result, triage.CheckResult)
    return result


NOW = datetime.now(timezone.utc).replace(microsecond=0)
FIRST = NOW - timedelta(hours=50)
"""The first check, 50 hours ago, said the session ended 24 hours before it ("yesterday")."""


def test_a_follow_up_takes_a_corrected_time_of_the_session_and_records_it(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    session = first_check(db, FIRST, 24)
    result = follow_up(db, NOW, hours_since_session=60)  # it ended 10 hours before the check
    assert result.session is not None and result.session.session_id == session
    assert result.session.first_checked_at == FIRST
    assert result.decision.report.session_id == session
    assert result.decision.report.hours_since_session == 60
    assert result.entry is not None
    with TriageLog(db) as log:
        assert log.entry(result.entry.id).report["hours_since_session"] == 60


def test_a_follow_up_within_an_hour_of_the_log_keeps_the_logs_hours(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    first_check(db, FIRST, 24)
    result = follow_up(db, NOW, hours_since_session=73.5)
    assert result.decision.report.hours_since_session == 74


def test_a_follow_up_that_puts_the_end_after_the_first_check_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    first_check(db, FIRST, 24)
    with pytest.raises(triage.ReportError) as refused:
        follow_up(db, NOW, hours_since_session=40)  # 10 hours after the first check
    [problem] = refused.value.problems
    assert problem.field == "hours_since_session"
    assert str(problem.message).startswith(
        "the log says the session ended 74 hours before this report, not 40: its first check was "
        "50 hours before this report, and a session that ended after it is not that session"
    )
    assert problem.fix is not None and "without --follow-up" in problem.fix


def test_a_session_that_ended_exactly_at_its_first_check_is_that_session(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    session = first_check(db, FIRST, 24)
    result = follow_up(db, NOW, hours_since_session=50)
    assert result.decision.report.session_id == session
    assert result.decision.report.hours_since_session == 50
    with pytest.raises(triage.ReportError, match="a session that ended after it"):
        follow_up(db, NOW, hours_since_session=49.9)


def test_a_corrected_time_over_14_days_ago_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    first_check(db, FIRST, 24)
    with pytest.raises(triage.ReportError, match="ended 15 days ago, more than 14"):
        follow_up(db, NOW, hours_since_session=360)


def test_is_same_session_ends_at_the_first_check_and_the_14_day_limit() -> None:
    from triage.checking.check import is_same_session
    from triage.log import SessionRef

    ref = SessionRef("s-1", FIRST - timedelta(hours=24), 1, FIRST)
    assert is_same_session(ref, FIRST - timedelta(hours=10), NOW)
    assert is_same_session(ref, FIRST, NOW)  # exactly at the first check
    assert not is_same_session(ref, FIRST + timedelta(seconds=1), NOW)  # after it: a new one
    assert is_same_session(ref, NOW - timedelta(hours=336), NOW)
    assert not is_same_session(ref, NOW - timedelta(hours=336, seconds=1), NOW)
    assert is_same_session(ref, (FIRST - timedelta(hours=1)).replace(tzinfo=None), NOW)  # UTC
    assert is_same_session(ref, FIRST - timedelta(hours=1))  # now by default
    unknown = SessionRef("s-1", FIRST - timedelta(hours=24), 1)  # the first check's time unknown
    assert unknown.first_checked_at is None
    assert not is_same_session(unknown, FIRST - timedelta(hours=23), NOW)


def test_the_latest_session_knows_when_its_first_check_was(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    first_check(db, FIRST, 24)
    follow_up(db, NOW - timedelta(hours=1))
    with TriageLog(db) as log:
        latest = log.latest_session("pt-c")
    assert latest is not None and latest.first_checked_at == FIRST
    assert latest.ended_at == FIRST - timedelta(hours=24)


# -- a follow-up compared with the earlier check of its session ---------------------------------

THIGH = {"pain_site": "muscle", "pain_region": "thigh"}


def test_a_follow_up_is_compared_with_the_earlier_check_of_its_session(tmp_path: Path) -> None:
    from triage.checking.compare import Change
    from triage.views.render import comparison_lines

    db = tmp_path / "c.db"
    first_check(db, FIRST, 1, swelling="mild", weakness="mild")
    result = follow_up(db, NOW, swelling="none", weakness="mild", pain_trend="better")
    compared = result.compared
    assert compared is not None and compared.reported_at == FIRST
    assert compared.changes == (
        Change("pain_now", "pain now", 6, 4, "better"),
        Change("swelling", "swelling", "mild", "none", "better"),
        Change("weakness", "weakness", "mild", "mild", "the same"),
    )  # no pain trend in the first check; the pain during the session is not compared
    assert result.to_dict()["compared_with"] == {
        "reported_at": FIRST.isoformat(),
        "changes": [
            {"field": "pain_now", "before": 6, "after": 4, "word": "better"},
            {"field": "swelling", "before": "mild", "after": "none", "word": "better"},
            {"field": "weakness", "before": "mild", "after": "mild", "word": "the same"},
        ],
    }
    lines = comparison_lines(compared, FIRST + timedelta(minutes=5))
    local = FIRST.astimezone()
    assert [line.text for line in lines] == [
        "",
        f"Since your check today at {local:%H:%M}: pain now 6/10 -> 4/10 (better); swelling "
        "mild -> none (better); weakness mild, the same.",
    ]


def test_a_comparison_and_the_session_question_say_the_time_where_the_patient_is() -> None:
    """The phone's pages say times in the clinic's time zone, not the server's: 23:30 UTC is
    13:30 the next day in Kiritimati (UTC+14)."""
    from zoneinfo import ZoneInfo

    from triage.checking.compare import Change, Comparison
    from triage.evaluation.questionnaire import session_question
    from triage.views.render import comparison_lines

    kiri = ZoneInfo("Pacific/Kiritimati")
    earlier = datetime(2026, 12, 7, 23, 30, tzinfo=timezone.utc)
    now = earlier + timedelta(hours=2)
    compared = Comparison(earlier, (Change("pain_now", "pain now", 6, 4, "better"),))
    [_, line] = comparison_lines(compared, now, zone=kiri)
    assert line.text == "Since your check today at 13:30: pain now 6/10 -> 4/10 (better)."
    [_, line] = comparison_lines(compared, now, zone=timezone.utc)
    assert line.text.startswith("Since your check yesterday at 23:30:")  # 01:30 in UTC
    asked = session_question(earlier, now + timedelta(days=1), kiri).question
    assert "that ended yesterday at 13:30." in asked


def test_a_follow_up_is_compared_with_the_latest_earlier_check(tmp_path: Path) -> None:
    from triage.views.render import comparison_lines

    db = tmp_path / "c.db"
    first_check(db, FIRST, 1)
    second = follow_up(db, NOW - timedelta(hours=20), pain_now=5, pain_trend="better")
    third = follow_up(db, NOW, pain_now=5, pain_trend="same")
    assert second.compared is not None and second.compared.reported_at == FIRST
    compared = third.compared
    assert compared is not None and compared.reported_at == NOW - timedelta(hours=20)
    [_, line] = comparison_lines(compared, NOW)
    assert line.text.endswith(
        ": pain now 5/10, the same; pain trend better -> about the same (worse)."
    )


def test_a_check_that_is_not_a_follow_up_is_not_compared(tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    first = triage.check(report(patient_id="pt-c", pain_during=6, pain_now=6, **THIGH), log=db)
    again = triage.check(report(patient_id="pt-c", pain_during=6, pain_now=4, **THIGH), log=db)
    for result in (first, again):  # a first check; a check of another (new) session
        assert isinstance(result, triage.CheckResult) and result.compared is None
        assert "compared_with" not in result.to_dict()


def test_only_checks_of_the_same_session_are_compared() -> None:
    from triage.checking.compare import compared_with
    from triage.pack.history import Earlier

    now = triage.parse_report(
        report(
            patient_id="pt-c", session_id="s-b", reported_at=NOW.isoformat(), pain_now=4, **THIGH
        )
    )

    def earlier(session: str, hours_ago: float, pain: int) -> Earlier:
        at = (NOW - timedelta(hours=hours_ago)).isoformat()
        answers = report(patient_id="pt-c", session_id=session, reported_at=at, pain_now=pain)
        return Earlier(answers, "continue")

    other = [earlier("s-a", 30, 8), earlier("s-a", 2, 7)]
    assert compared_with(other, now) is None
    compared = compared_with([earlier("s-b", 20, 6), *other], now)
    assert compared is not None and compared.reported_at == NOW - timedelta(hours=20)
    assert [(c.before, c.after, c.word) for c in compared.changes] == [(6, 4, "better")]
    stopped = Earlier({"session_id": "s-b", "reported_at": NOW.isoformat()}, "continue")
    assert compared_with([stopped], now) is None  # not earlier, and nothing to compare


def test_the_cli_shows_what_changed_since_the_earlier_check(tmp_path: Path, session: str) -> None:
    path = answers_file(
        tmp_path,
        "follow.json",
        hours_since_session=None,
        pain_during=5,
        pain_now=3,
        pain_site="muscle",
        pain_region="thigh",
        pain_trend="better",
    )
    result = run("check", "--answers", path, "--follow-up")
    assert result.exit_code == 0, result.output
    assert "Since your check " in result.stdout
    assert ": pain now 5/10 -> 3/10 (better)." in result.stdout
    # above the safety net, which comes last (policy v3 section 7), before what was saved
    before_saved = result.stdout.split("\nSaved for your clinician")[0].rstrip()
    last = before_saved.splitlines()[-1]
    assert "Since your check " not in last and result.stdout.index("Since your check ") < (
        result.stdout.index("If you get chest pain")
    )
    as_json = run("check", "--answers", path, "--follow-up", "--json")
    changes = json.loads(as_json.stdout)["compared_with"]["changes"]
    assert changes[0] == {"field": "pain_now", "before": 3, "after": 3, "word": "the same"}
