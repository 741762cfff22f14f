"""The worklist in the library: most urgent first then oldest, counts over the whole log, the
follow-ups owed, the index it reads (never a scan of the entries), and the storage beside the
chain (override reasons, accounts, tokens). Every test runs on an SQLite file and a PostgreSQL
database (conftest.py)."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import triage
from tests.support.backends import Target, explain, tamper
from tests.support.helpers import report
from tests.support.web_support import LEVEL_REPORTS
from triage.errors import NotFoundError, ReviewError, UsageError
from triage.log import Filters, TriageLog
from triage.log.records import review_problems
from triage.log.worklist import status

BACKENDS = True

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
WINDOWS = {"same_day": 24, "routine": 72}


def at(hours_ago: float) -> str:
    return (NOW - timedelta(hours=hours_ago)).isoformat()


@pytest.fixture
def log(private_log: Target) -> Iterator[TriageLog]:
    """Two checks of every level, answered at different times; most severe are the newest."""
    opened = TriageLog(private_log)
    for copy in range(2):
        for offset, changes in enumerate(LEVEL_REPORTS.values()):
            patient = f"{changes['patient_id']}-{copy}"
            when = at(100 - 10 * offset - copy)
            answers = report(**{**changes, "patient_id": patient}, reported_at=when)
            assert triage.check(answers, log=opened).entry is not None
    yield opened
    opened.close()


def levels(page: triage.log.Worklist) -> list[str]:
    return [item.entry.urgency or item.entry.outcome for item in page.items]


def test_most_urgent_first_then_oldest_and_never_continue(log: TriageLog) -> None:
    page = log.worklist(now=NOW)
    assert levels(page) == [
        "emergency", "emergency", "urgent", "urgent", "same_day", "same_day",
        "routine", "routine", "reduce_load", "reduce_load",
    ]  # fmt: skip
    times = [item.entry.reported_at for item in page.items]
    assert all(times[i] < times[i + 1] for i in range(0, 10, 2))  # oldest first in a level
    assert page.counts == {"emergency": 2, "urgent": 2, "same_day": 2, "routine": 2,
                           "reduce_load": 2}  # fmt: skip
    assert page.needs_action == page.matched == 10


def test_counts_are_over_the_whole_log_whatever_the_page_and_filters(log: TriageLog) -> None:
    whole = log.worklist(now=NOW)
    first = log.worklist(limit=1, now=NOW)
    second = log.worklist(limit=1, offset=1, now=NOW)
    one = log.worklist(Filters(unreviewed=True, patient="pt-chest-1"), now=NOW)
    assert first.counts == second.counts == one.counts == whole.counts
    assert [i.entry.id for i in first.items + second.items] == [i.entry.id for i in whole.items[:2]]
    assert first.has_more and one.matched == 1 and levels(one) == ["emergency"]


def test_a_review_takes_a_check_off_the_worklist(log: TriageLog) -> None:
    top = log.worklist(now=NOW).items[0].entry
    log.review(top.id, by="Dr Ada", verdict="accepted")
    after = log.worklist(now=NOW)
    assert top.id not in [i.entry.id for i in after.items]
    assert after.counts["emergency"] == 1
    reviewed = log.worklist(Filters(reviewed=True), now=NOW)
    assert [i.entry.id for i in reviewed.items] == [top.id] and reviewed.order == "newest"
    assert log.verify().ok


def test_filters_by_outcome_urgency_and_dates(log: TriageLog) -> None:
    urgent = log.worklist(Filters(unreviewed=True, urgency="urgent"), now=NOW)
    reduce = log.worklist(Filters(unreviewed=True, outcome="reduce_load"), now=NOW)
    recent = log.worklist(Filters(unreviewed=True, since=NOW - timedelta(hours=60)), now=NOW)
    everything = log.worklist(Filters(), now=NOW)
    continues = log.worklist(Filters(unreviewed=True, outcome="continue"), now=NOW)
    assert levels(urgent) == ["urgent"] * 2 and levels(reduce) == ["reduce_load"] * 2
    assert set(levels(recent)) == {"emergency", "urgent"}
    assert everything.matched == 12 and everything.order == "newest"
    assert levels(continues) == ["continue"] * 2


@pytest.mark.parametrize(
    ("next_hours_after", "now_hours_after", "expected"),
    [
        (None, 10, "due"),
        (None, 30, "overdue"),
        (5, 30, "received"),
        (24, 30, "received"),
        (26, 30, "late"),
    ],
    ids=["due", "overdue", "received", "received-at-the-end", "late"],
)
def test_a_follow_up_is_due_overdue_received_or_late(
    next_hours_after: float | None, now_hours_after: float, expected: str
) -> None:
    answered = NOW - timedelta(days=3)
    stored = answered.isoformat().replace("+00:00", "Z")
    later = None
    if next_hours_after is not None:
        later = (answered + timedelta(hours=next_hours_after)).isoformat().replace("+00:00", "Z")
    found = status(stored, later, timedelta(hours=24), answered + timedelta(hours=now_hours_after))
    assert found.status == expected


def test_follow_ups_on_the_worklist_and_their_count(log: TriageLog) -> None:
    page = log.worklist(follow_up_hours=WINDOWS, now=NOW)
    owed = {i.entry.urgency: i.follow_up for i in page.items if i.follow_up is not None}
    assert set(owed) == {"same_day", "routine"}
    assert all(f is not None and f.status == "overdue" for f in owed.values())
    assert page.follow_ups_overdue == 4  # two same day, two routine, none followed up
    answers = report(patient_id="pt-snap-0", reported_at=at(1), hours_since_session=1)
    triage.check(answers, log=log)
    after = log.worklist(follow_up_hours=WINDOWS, now=NOW)
    snap = next(i for i in after.items if i.entry.patient_id == "pt-snap-0")
    assert snap.follow_up is not None and snap.follow_up.status == "late"
    assert after.follow_ups_overdue == 3


def query_plans(log: TriageLog, action: object) -> list[str]:
    """The query plan of every statement ``action`` runs on the log: on SQLite, of its one
    connection; on PostgreSQL, of every query the store makes, planned with sequential scans
    off (a table of a few rows is read whole otherwise, whatever the indexes)."""
    if log.backend == "PostgreSQL":
        return _postgres_plans(log, action)
    conn: sqlite3.Connection = log._store.conn  # type: ignore[attr-defined]
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    try:
        action()  # type: ignore[operator]
    finally:
        conn.set_trace_callback(None)
    plans = []
    for sql in statements:
        if sql.lstrip().upper().startswith("SELECT"):
            rows = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
            plans.append(sql + "\n" + "\n".join(str(row[3]) for row in rows))
    return plans


def _postgres_plans(log: TriageLog, action: object) -> list[str]:
    store: Any = log._store
    reads: list[tuple[str, list[Any]]] = []
    read = store._all

    def recorded(sql: str, params: Any = ()) -> Any:
        reads.append((sql, list(params)))
        return read(sql, params)

    store._all = recorded
    try:
        action()  # type: ignore[operator]
    finally:
        del store._all
    return [sql + "\n" + explain(log.target, sql, params) for sql, params in reads]


FULL_SCAN = re.compile(r"\bSCAN (e|entries|n)\b|Seq Scan on entries")
"""A plan line reading every row (or every index entry) of the entries (SQLite's words, then
PostgreSQL's)."""


def test_the_worklist_and_patient_page_never_scan_the_entries(log: TriageLog) -> None:
    plans = query_plans(log, lambda: log.worklist(follow_up_hours=WINDOWS, now=NOW))
    plans += query_plans(
        log, lambda: log.worklist(Filters(unreviewed=True, patient="pt-snap-0"), now=NOW)
    )
    plans += query_plans(log, lambda: (log.timeline("pt-0042"), log.trend("pt-0042")))
    plans += query_plans(log, lambda: log.session_checks("pt-snap-0", "s-0000000000"))
    assert plans and any("worklist_by_urgency" in plan for plan in plans)
    if log.backend == "PostgreSQL":
        assert any("worklist_waiting" in plan for plan in plans)  # the overdue follow-ups
    for plan in plans:
        assert not FULL_SCAN.search(plan), plan


@pytest.mark.parametrize(
    "edit",
    [
        "DELETE FROM worklist WHERE severity = 5",
        "UPDATE worklist SET severity = 1 WHERE severity = 5",
        "UPDATE worklist SET next_at = '2026-11-21T11:00:00.000000Z' WHERE severity = 3",
        "INSERT INTO worklist SELECT id, 5, reported_at, patient_id, NULL FROM entries "
        "WHERE outcome = 'continue'",
        "UPDATE worklist_tally SET checks = 0 WHERE severity = 5",
    ],
    ids=["hidden-emergency", "downgraded", "follow-up-faked", "extra-row", "tally"],
)
def test_verify_finds_a_worklist_edited_behind_the_logs_back(
    log: TriageLog, private_log: Target, edit: str
) -> None:
    tamper(private_log, edit, careful=False)
    result = log.verify()
    assert not result.ok and "edited outside triage" in result.integrity


# -- reviews and their reasons -------------------------------------------------------------------


def test_an_override_keeps_its_coded_reason(log: TriageLog) -> None:
    review = log.review(1, by="Dr Ada", verdict="overridden", reason="more_urgent", note="Seen")
    assert log.entry(1).reviews[-1].reason == review.reason == "more_urgent"
    assert review.reason_words.startswith("More urgent")
    with pytest.raises(ReviewError, match="field 'reason': an override needs a reason from"):
        log.review(1, by="Dr Ada", verdict="overridden", reason="bored", note="Seen")
    with pytest.raises(ReviewError, match="field 'reason': a reason goes with an override"):
        log.review(1, by="Dr Ada", verdict="accepted", reason="other")
    assert log.verify().ok


@pytest.mark.parametrize(
    ("verdict", "reason", "note", "fields"),
    [
        ("accepted", "", "", []),
        ("overridden", "other", "Seen in clinic", []),
        ("overridden", "", "", ["reason", "note"]),
        ("overridden", "bored", "x", ["reason"]),
        ("accepted", "other", "", ["reason"]),
        ("", "", "", ["verdict"]),
    ],
    ids=["accept", "override", "override-bare", "unknown-reason", "accept-reason", "none"],
)
def test_what_a_review_from_the_web_needs(
    verdict: str, reason: str, note: str, fields: list[str]
) -> None:
    assert [p.field for p in review_problems(verdict, reason, note, "Dr Ada")] == fields


# -- accounts and tokens -------------------------------------------------------------------------


def test_clinicians_sign_in_with_their_password_only(log: TriageLog) -> None:
    made = log.access.add_clinician("Dr A. Osei", "long enough pass", time_zone="Europe/Paris")
    assert made.time_zone == "Europe/Paris"
    assert log.access.sign_in("Dr A. Osei", "long enough pass") == made
    assert log.access.sign_in("Dr A. Osei", "wrong password!") is None
    assert log.access.sign_in("Nobody", "long enough pass") is None
    log.access.disable_clinician("Dr A. Osei")
    assert log.access.sign_in("Dr A. Osei", "long enough pass") is None
    with pytest.raises(UsageError, match="already"):
        log.access.add_clinician("Dr A. Osei", "another long one")


@pytest.mark.parametrize(
    ("name", "password", "zone", "message"),
    [
        ("<b>x</b>", "long enough pass", "UTC", "is not a clinician's name"),
        ("Dr Short", "short", "UTC", "10 to 1024 characters"),
        ("Dr Zone", "long enough pass", "Mars/Olympus", "not a time zone"),
        ("Dr\x1b[31m", "long enough pass", "UTC", "control character"),
    ],
    ids=["markup", "short-password", "zone", "escape"],
)
def test_accounts_refuse_what_cannot_be_shown_or_used(
    log: TriageLog, name: str, password: str, zone: str, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        log.access.add_clinician(name, password, time_zone=zone)


def test_tokens_are_shown_once_and_revoked_by_id(log: TriageLog) -> None:
    made, secret = log.access.add_token("portal")
    assert secret.startswith("trg_") and len(secret) > 40 and made.prefix == secret[:10]
    assert log.access.token_for(secret) == made
    assert log.access.token_for(secret + "x") is None
    log.access.revoke_token(made.id)
    assert log.access.token_for(secret) is None
    with pytest.raises(NotFoundError):
        log.access.revoke_token(999)


def test_log_list_worklist_orders_by_urgency_and_counts_the_whole_log(log: TriageLog) -> None:
    from tests.support.cli_runs import run

    result = run("log", "list", "--worklist", "--limit", "3", "--db", log.target)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "EMERGENCY" in lines[1] and "EMERGENCY" in lines[2] and "URGENT" in lines[3]
    assert "the first 3 are shown" in lines[-2]
    assert lines[-1] == (
        "Whole log, unreviewed and needing action: 2 EMERGENCY, 2 URGENT: ED now, 2 same day, "
        "2 routine review, 2 reduce load."
    )
