"""Clinicians' sessions are kept in the log, so that they end: idle too long, too old however
busy, at sign-out, and every session of an account at a new password or when it is disabled.
Only the hash of a session's secret is stored. (tests/system/test_web_sessions.py replays real
cookies against a real server.)"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from tests.support.backends import Target
from tests.support.helpers import ROOT
from triage.log import TriageLog
from triage.log.records import token_hash
from triage.log.sessions import IDLE_MINUTES, LIFETIME_HOURS, SessionLimits

BACKENDS = True  # every test runs on an SQLite file and a PostgreSQL database (conftest.py)

PASSWORD = "long enough password"
T0 = datetime(2026, 11, 21, 8, 0, tzinfo=timezone.utc)


@pytest.fixture
def log(private_log: Target) -> Iterator[TriageLog]:
    """The test's log (on PostgreSQL as the app servers' role), with two accounts."""
    with TriageLog(private_log) as opened:
        opened.access.add_clinician("Dr Ada", PASSWORD)
        opened.access.add_clinician("Dr Bo", PASSWORD)
        yield opened


def test_a_session_lasts_while_used_and_ends_when_idle(log: TriageLog) -> None:
    limits = SessionLimits(idle_minutes=30, hours=12)
    secret = log.sessions.start("Dr Ada", limits, now=T0)
    for minutes in (29, 58, 87):  # used every 29 minutes: still signed in
        found = log.sessions.current(secret, limits, now=T0 + timedelta(minutes=minutes))
        assert found is not None and found.clinician == "Dr Ada"
    assert log.sessions.current(secret, limits, now=T0 + timedelta(minutes=87 + 31)) is None
    assert log.sessions.current(secret, limits, now=T0 + timedelta(minutes=88)) is None  # ended


def test_a_session_ends_at_its_lifetime_however_busy(log: TriageLog) -> None:
    limits = SessionLimits(idle_minutes=30, hours=2)
    secret = log.sessions.start("Dr Ada", limits, now=T0)
    moment = T0
    while moment < T0 + timedelta(hours=2) - timedelta(minutes=10):
        moment += timedelta(minutes=10)
        assert log.sessions.current(secret, limits, now=moment) is not None
    assert log.sessions.current(secret, limits, now=T0 + timedelta(hours=2, minutes=1)) is None


def test_sign_out_ends_that_session_only(log: TriageLog) -> None:
    limits = SessionLimits()
    first, second = (log.sessions.start("Dr Ada", limits) for _ in range(2))
    log.sessions.end(first)
    assert log.sessions.current(first, limits) is None
    assert log.sessions.current(second, limits) is not None


@pytest.mark.parametrize("change", ["password", "disable"])
def test_a_new_password_or_disabling_ends_every_session_of_the_account(
    log: TriageLog, change: str
) -> None:
    limits = SessionLimits()
    ada = [log.sessions.start("Dr Ada", limits) for _ in range(3)]
    bo = log.sessions.start("Dr Bo", limits)
    if change == "password":
        log.access.set_password("Dr Ada", "a brand new password")
    else:
        log.access.disable_clinician("Dr Ada")
    assert [log.sessions.current(secret, limits) for secret in ada] == [None, None, None]
    assert log.sessions.current(bo, limits) is not None


def test_ended_sessions_are_deleted_and_only_hashes_are_kept(log: TriageLog) -> None:
    limits = SessionLimits(idle_minutes=30, hours=12)
    old = log.sessions.start("Dr Ada", limits, now=T0)
    new = log.sessions.start("Dr Bo", limits, now=T0 + timedelta(hours=1))  # prunes the idle one
    rows = log._store.all_rows("web_sessions")
    assert [row["clinician"] for row in rows] == ["Dr Bo"]
    assert rows[0]["secret_hash"] == token_hash(new) and new not in str(rows)
    assert log.sessions.current(old, limits, now=T0 + timedelta(hours=1)) is None


def test_a_cookie_that_is_no_session_opens_nothing(log: TriageLog) -> None:
    assert log.sessions.current("made-up", SessionLimits()) is None
    assert log.sessions.current("x" * 10_000, SessionLimits()) is None


@pytest.mark.sqlite_only
def test_serve_offers_both_limits_with_the_defaults_of_the_sessions() -> None:
    from click.testing import CliRunner

    from triage_cli.cli import main

    shown = " ".join(CliRunner().invoke(main, ["serve", "--help"]).output.split())
    assert "--session-idle-minutes MINUTES End a clinician's session unused" in shown
    assert f"[default: {IDLE_MINUTES};" in shown and f"[default: {LIFETIME_HOURS};" in shown
    clinician = " ".join((ROOT / "docs" / "clinician.md").read_text().split())
    assert f"A session ends after {IDLE_MINUTES} minutes without" in clinician
    assert f"and {LIFETIME_HOURS} hours after signing in" in clinician
    assert "--session-idle-minutes MINUTES` and `--session-hours HOURS`" in clinician
