"""A patient's history in the order it happened (issue 21, item 13): a check recorded late with
an earlier ``reported_at`` (a back-dated QuestionnaireResponse, a form sent when the phone was
back online) takes its place by when it was answered, not by when it reached the log: in the
trend, the timeline, a session's checks and the session a follow-up is about."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from click.testing import CliRunner

import triage
from tests.support.helpers import report
from triage.log import TriageLog
from triage_cli.cli import main

BACKENDS = True
NOW = datetime.now(timezone.utc).replace(microsecond=0)


def _at(hours_ago: float) -> str:
    return (NOW - timedelta(hours=hours_ago)).isoformat()


def _knee(pain: int, hours_ago: float, **changes: object) -> dict[str, object]:
    return report(patient_id="pt-late", reported_at=_at(hours_ago), pain_during=pain,
                  pain_now=pain, pain_region="knee", pain_site="joint", **changes)  # fmt: skip


def _record_out_of_order(log: TriageLog) -> None:
    """Answered 30 h ago (session A), then 2 h ago (session B); then, recorded last, a check
    answered 16 days ago (a back-dated response)."""
    for pain, hours in ((3, 30), (5, 2), (2, 16 * 24)):
        assert triage.check(_knee(pain, hours, hours_since_session=0.5), log=log).logged


def test_trend_and_timeline_follow_when_the_checks_were_answered(private_log: Path | str) -> None:
    with TriageLog(private_log) as log:
        _record_out_of_order(log)
        points = log.trend("pt-late")
        assert [p.pain_during for p in points] == [2, 3, 5]
        assert [p.reported_at for p in points] == sorted(p.reported_at for p in points)
        assert [e.report["pain_during"] for e in log.timeline("pt-late")] == [5, 3, 2]
    shown = CliRunner().invoke(main, ["log", "trend", "--patient", "pt-late",
                                      "--db", str(private_log)])  # fmt: skip
    assert shown.exit_code == 0, shown.output
    first, last = _at(16 * 24)[:10], _at(2)[:10]
    assert f"3 checks, {first} to {last}" in shown.stdout


def test_a_follow_up_is_about_the_latest_session_answered(private_log: Path | str) -> None:
    """Before: the back-dated check, recorded last, was taken as the latest session (16 days
    ago, over the 14-day limit), and the follow-up of the session 2 h ago was refused."""
    with TriageLog(private_log) as log:
        _record_out_of_order(log)
        latest = log.latest_session("pt-late")
        assert latest is not None
        follow = triage.check(_knee(4, 0, hours_since_session=None), log=log, follow_up=True)
        assert isinstance(follow, triage.CheckResult) and follow.session is not None
        assert follow.session.session_id == latest.session_id
        assert follow.decision.report.hours_since_session == 2.5
        session = log.session_checks("pt-late", latest.session_id)
        assert [s.reported_at for s in session] == sorted(s.reported_at for s in session)


def test_a_session_lists_its_checks_in_the_order_they_were_answered(
    private_log: Path | str,
) -> None:
    with TriageLog(private_log) as log:
        post = triage.check(_knee(5, 3, hours_since_session=0.5), log=log)
        assert isinstance(post, triage.CheckResult)
        session = post.decision.report.session_id
        for hours in (1, 2):  # recorded newest first
            later = _knee(4, hours, session_id=session, hours_since_session=3.5 - hours)
            triage.check(later, log=log)
        checks = log.session_checks("pt-late", session)
        assert [c.reported_at for c in checks] == sorted(c.reported_at for c in checks)
        latest = log.latest_session("pt-late")
        assert latest is not None and latest.entry_id == post.entry.id  # its first report
        assert latest.first_checked_at == post.decision.report.reported_at
        assert latest.ended_at == latest.first_checked_at - timedelta(hours=0.5)
