"""The worklist's order (issue 25): the unreviewed emergency and urgent checks of the last 24
hours first, emergencies first, newest first; then the rest most urgent first, oldest first in
a level; one row per patient with their other open checks folded under it; checks recorded
after the clinician last looked marked new; and the version a live page polls. Every test runs
on an SQLite file and a PostgreSQL database (conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

import triage
from tests.support.backends import Target
from tests.support.helpers import report
from tests.support.web_support import LEVEL_REPORTS
from triage.log import Filters, TriageLog, Worklist

BACKENDS = True

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)

CASES: list[tuple[str, str, float, bool]] = [
    # (name, level, hours before NOW, reviewed)
    ("emergency-14d", "emergency", 14 * 24, False),
    ("urgent-5d", "urgent", 5 * 24, False),
    ("routine-80h", "routine", 80, False),
    ("same_day-50h", "same_day", 50, False),
    ("urgent-25h", "urgent", 25, False),
    ("routine-40h", "routine", 40, False),
    ("same_day-30h", "same_day", 30, False),
    ("urgent-23h", "urgent", 23, False),
    ("emergency-20h", "emergency", 20, False),
    ("reduce_load-2h", "reduce_load", 2, False),
    ("same_day-1h", "same_day", 1, False),
    ("emergency-reviewed-1h", "emergency", 1, True),
    ("continue-1h", "continue", 1, False),
    ("emergency-3min", "emergency", 0.05, False),
]
"""Recorded in this order (the oldest first, as they would be), each its own patient."""

EXPECTED = [
    # the last 24 hours' emergency and urgent checks, emergencies first, newest first
    "emergency-3min", "emergency-20h", "urgent-23h",
    # then the rest: most urgent first, oldest first within a level
    "emergency-14d", "urgent-5d", "urgent-25h",
    "same_day-50h", "same_day-30h", "same_day-1h",
    "routine-80h", "routine-40h",
    "reduce_load-2h",
]  # fmt: skip


def at(hours_ago: float) -> str:
    return (NOW - timedelta(hours=hours_ago)).isoformat()


def record(log: TriageLog, patient: str, level: str, hours_ago: float, exact: bool = True) -> int:
    """A check of ``patient`` (of ``level`` when ``exact``: a patient's earlier checks can
    change the outcome of a later one)."""
    changes = {**LEVEL_REPORTS[level], "patient_id": patient}
    result = triage.check(report(**changes, reported_at=at(hours_ago)), log=log)
    assert result.entry is not None
    if exact:
        assert (result.decision.urgency or result.decision.outcome) == level
    return result.entry.id


@pytest.fixture
def log(private_log: Target) -> Iterator[TriageLog]:
    opened = TriageLog(private_log)
    yield opened
    opened.close()


@pytest.fixture
def cases(log: TriageLog) -> dict[int, str]:
    """The case table recorded: each entry's id and its name."""
    names = {}
    for name, level, hours_ago, reviewed in CASES:
        entry_id = record(log, f"pt-{name}", level, hours_ago)
        if reviewed:
            log.review(entry_id, by="Dr Ada", verdict="accepted")
        names[entry_id] = name
    return names


def order(page: Worklist, names: dict[int, str]) -> list[str]:
    return [names[item.entry.id] for item in page.items]


def test_recent_emergencies_and_urgent_checks_first_newest_first_then_the_rest(
    log: TriageLog, cases: dict[int, str]
) -> None:
    page = log.worklist(now=NOW)
    assert order(page, cases) == EXPECTED
    assert [item.recent for item in page.items] == [True] * 3 + [False] * 9
    assert page.matched == page.needs_action == len(EXPECTED) and page.order == "urgency"
    assert page.counts["emergency"] == 3  # the reviewed one is off the worklist


def test_the_same_order_page_by_page_one_row_per_patient_or_not(
    log: TriageLog, cases: dict[int, str]
) -> None:
    for by_patient in (False, True):
        pages = [
            log.worklist(limit=2, offset=offset, now=NOW, by_patient=by_patient)
            for offset in range(0, len(EXPECTED), 2)
        ]
        assert [name for page in pages for name in order(page, cases)] == EXPECTED
        assert all(page.matched == len(EXPECTED) for page in pages)


def test_an_emergency_leaves_the_first_part_after_24_hours(
    log: TriageLog, cases: dict[int, str]
) -> None:
    later = log.worklist(now=NOW + timedelta(hours=4.5))  # 20 h and 23 h are now past 24 h
    assert order(later, cases)[:4] == ["emergency-3min", "emergency-14d", "emergency-20h",
                                       "urgent-5d"]  # fmt: skip


def test_filters_keep_the_order(log: TriageLog, cases: dict[int, str]) -> None:
    urgent = log.worklist(Filters(unreviewed=True, urgency="urgent"), now=NOW)
    assert order(urgent, cases) == ["urgent-23h", "urgent-5d", "urgent-25h"]
    grouped = log.worklist(Filters(unreviewed=True, urgency="urgent"), now=NOW, by_patient=True)
    assert order(grouped, cases) == order(urgent, cases)


def test_one_row_per_patient_with_their_other_open_checks_folded_under_it(
    log: TriageLog,
) -> None:
    ids: dict[str, list[int]] = {"pt-a": [], "pt-b": []}
    for hours_ago, level in ((300, "routine"), (200, "same_day"), (100, "urgent"),
                             (50, "reduce_load"), (0.05, "emergency")):  # fmt: skip
        ids["pt-a"].append(record(log, "pt-a", level, hours_ago, exact=False))
        ids["pt-b"].append(record(log, "pt-b", level, hours_ago + 48, exact=False))
    record(log, "pt-c", "same_day", 10)
    page = log.worklist(now=NOW, by_patient=True)
    assert [item.entry.patient_id for item in page.items] == ["pt-a", "pt-b", "pt-c"]
    a, b, c = page.items
    assert a.entry.id == ids["pt-a"][-1] and a.recent  # their emergency of 3 minutes ago
    assert a.entry.urgency == "emergency"
    assert b.entry.id == ids["pt-b"][-1] and not b.recent  # 2 days old: the rest
    assert (a.open_checks, a.more, len(a.others)) == (5, 4, 4)
    assert (b.more, len(b.others), c.more, c.others) == (4, 4, 0, ())
    for top in (a, b):  # the patient's checks in the worklist's order
        alone = log.worklist(Filters(unreviewed=True, patient=top.entry.patient_id), now=NOW)
        assert [i.entry.id for i in alone.items] == [top.entry.id] + [
            o.entry.id for o in top.others
        ]
        assert sorted(i.entry.id for i in alone.items) == ids[top.entry.patient_id]
    assert page.matched == 3 and page.checks == page.matched_checks == 11
    second = log.worklist(limit=1, offset=1, now=NOW, by_patient=True)
    assert [i.entry.patient_id for i in second.items] == ["pt-b"] and second.has_more
    flat = log.worklist(now=NOW)
    assert flat.matched == 11 and len(flat.items) == 11 and not flat.by_patient
    assert page.to_dict()["entries"][0]["open_checks"] == 5


def test_checks_recorded_after_the_clinician_last_looked_are_new(
    log: TriageLog, cases: dict[int, str]
) -> None:
    looked = log.worklist_version()
    assert looked.last_entry == max(cases) and looked.emergencies == 3
    assert not any(item.new for item in log.worklist(now=NOW, seen=looked.last_entry).items)
    assert not any(item.new for item in log.worklist(now=NOW).items)  # never looked: none
    fresh = record(log, "pt-emergency-3min", "urgent", 0.01)  # folded under their emergency
    other = record(log, "pt-new", "routine", 0.01)
    page = log.worklist(now=NOW, seen=looked.last_entry, by_patient=True)
    assert {item.entry.id for item in page.items if item.new} == {other}
    top = page.items[0]
    assert [o.entry.id for o in top.others if o.new] == [fresh] and page.new_checks == 2


def test_the_version_changes_with_each_check_and_review(
    log: TriageLog, cases: dict[int, str]
) -> None:
    before = log.worklist_version()
    assert log.worklist_version() == before
    entry_id = record(log, "pt-late", "emergency", 0.01)
    added = log.worklist_version()
    assert added.tag != before.tag and added.last_entry == entry_id
    assert added.emergencies == before.emergencies + 1
    log.review(entry_id, by="Dr Ada", verdict="accepted")
    reviewed = log.worklist_version()
    assert reviewed.tag != added.tag and reviewed.emergencies == before.emergencies


def test_the_worklist_by_patient_never_scans_the_entries(
    log: TriageLog, cases: dict[int, str]
) -> None:
    from tests.unit.log.test_worklist import FULL_SCAN, query_plans

    plans = query_plans(log, lambda: log.worklist(now=NOW, by_patient=True))
    plans += query_plans(log, lambda: log.worklist(limit=2, offset=2, now=NOW))
    assert plans  # (the version reads the chain's head, as every append does)
    for plan in plans:
        assert not FULL_SCAN.search(plan), plan
