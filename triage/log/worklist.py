"""The clinician's worklist: every unreviewed check that needs action, with counts over the
whole log, and the follow-up each one is owed. Its order: first the unreviewed emergency and
urgent checks of the last 24 hours (``RECENT_HOURS`` before ``now``), emergencies before urgent
ones, newest first; then the rest, most urgent first, oldest first within a level. With
``by_patient`` a patient has one row, their first check in that order, with their other open
checks folded under it.

A level the pack gives a follow-up window (same day and routine in the bundled pack) expects a
later check of the patient within that many hours: the follow-up is *due* while the window runs
with no later check, *overdue* once it has passed with none, *late* when one came only after it,
*received* when one came in time. The worklist is read from the log's worklist index
(``store.Store``), never by reading every entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

from ..outcomes import LEVELS, by_key
from .records import MAX_ID, EntrySummary, Filters, Row, stamp
from .store import Recent, Store

FollowUpStatus = Literal["due", "overdue", "received", "late"]
Order = Literal["urgency", "newest"]

RECENT_HOURS = 24
"""How recent an emergency or urgent check is to come first, newest first."""
RECENT_FROM = LEVELS.index(by_key("urgent"))
"""The least severe level that comes first when recent: urgent (and emergency above it)."""
OTHERS_SHOWN = 20
"""At most this many of a patient's other open checks are listed under their row."""


@dataclass(frozen=True)
class FollowUp:
    """The later check an outcome expects, within the pack's window."""

    due_at: str
    """The moment (stored form) by which a later check of the patient was expected."""
    received_at: str | None
    """When the patient's next check was answered, if there is one."""
    status: FollowUpStatus

    @property
    def missing(self) -> bool:
        """Due but not received: no later check yet, within the window or past it."""
        return self.status in ("due", "overdue")

    def to_dict(self) -> dict[str, Any]:
        return {"due_at": self.due_at, "received_at": self.received_at, "status": self.status}


@dataclass(frozen=True)
class WorkItem:
    entry: EntrySummary
    follow_up: FollowUp | None = None
    recent: bool = False
    """In the worklist's first part: an emergency or urgent check of the last 24 hours."""
    new: bool = False
    """Recorded after the clinician last looked (its id above the ``seen`` one)."""
    others: tuple[WorkItem, ...] = ()
    """By patient: the patient's next open checks in the worklist's order (at most
    ``OTHERS_SHOWN``)."""
    open_checks: int = 1
    """By patient: how many open checks the patient has that match, this one included."""

    @property
    def more(self) -> int:
        """The patient's other open checks, shown under the row or not."""
        return self.open_checks - 1

    def to_dict(self) -> dict[str, Any]:
        found = {
            **vars(self.entry),
            "follow_up": None if self.follow_up is None else self.follow_up.to_dict(),
        }
        if self.open_checks > 1:
            found["open_checks"] = self.open_checks
            found["others"] = [other.to_dict() for other in self.others]
        return found


@dataclass(frozen=True)
class Worklist:
    """One page of the worklist (or of another filtered list of entries), with the counts of
    the whole log."""

    counts: dict[str, int]
    """Unreviewed checks that need action, by level key (``emergency`` ... ``reduce_load``,
    most severe first), over the whole log whatever the filters and the page."""
    follow_ups_overdue: int
    """Unreviewed checks whose follow-up window has passed with no later check."""
    matched: int
    """Entries that match the filters (all pages)."""
    items: tuple[WorkItem, ...]
    offset: int
    limit: int
    order: Order = "urgency"
    """``urgency``: the worklist's order (recent emergency and urgent checks first, newest
    first; then most urgent first, oldest first); ``newest``: newest first (lists that include
    reviewed checks, or continue ones)."""
    filters: Filters = field(default_factory=Filters)
    by_patient: bool = False
    """One item per patient: ``matched`` counts patients, ``checks`` their open checks."""
    checks: int = -1
    """Entries that match the filters (all pages), whatever ``by_patient``; -1: ``matched``."""

    @property
    def matched_checks(self) -> int:
        return self.matched if self.checks < 0 else self.checks

    @property
    def new_checks(self) -> int:
        """Checks on this page recorded after the clinician last looked."""
        return sum(item.new for top in self.items for item in (top, *top.others))

    @property
    def needs_action(self) -> int:
        return sum(self.counts.values())

    @property
    def has_more(self) -> bool:
        return self.offset + len(self.items) < self.matched

    def to_dict(self) -> dict[str, Any]:
        return {
            "counts": self.counts,
            "needs_action": self.needs_action,
            "follow_ups_overdue": self.follow_ups_overdue,
            "matched": self.matched,
            "offset": self.offset,
            "limit": self.limit,
            "order": self.order,
            "entries": [item.to_dict() for item in self.items],
        }


def build(
    store: Store,
    filters: Filters,
    *,
    limit: int,
    offset: int,
    follow_up_hours: Mapping[str, float],
    now: datetime,
    by_patient: bool = False,
    seen: int | None = None,
) -> Worklist:
    """The page ``filters`` ask for: from the worklist index when they ask for unreviewed checks
    that need action (``by_patient``: one item per patient), else from the entries, newest
    first. Entries whose id is above ``seen`` are marked new."""
    limit, offset = max(1, min(limit, MAX_ID)), max(0, min(offset, MAX_ID))
    windows = _windows(follow_up_hours)
    counts = store.worklist_counts()
    recent = Recent(RECENT_FROM, stamp(now - timedelta(hours=RECENT_HOURS)))
    checks = -1
    others: dict[str, list[Row]] = {}
    if filters.unreviewed and filters.outcome != "continue":
        whole = filters == Filters(unreviewed=True)  # the counts say it: no second count
        matched = sum(counts.values()) if whole else store.worklist_count(filters)
        order: Order = "urgency"
        if by_patient:
            rows = store.worklist_patients(filters, recent, limit, offset)
            patients = [row["patient_id"] for row in rows if row["open_checks"] > 1]
            if patients:
                for row in store.worklist_others(filters, recent, patients, OTHERS_SHOWN):
                    others.setdefault(row["patient_id"], []).append(row)
            checks, matched = matched, store.worklist_patient_count(filters)
        else:
            rows = _flat(store, filters, recent, limit, offset)
    else:
        rows = store.summaries(filters, limit, offset)
        matched, order = store.count(filters), "newest"
        by_patient = False

    def item(row: Row, folded: tuple[WorkItem, ...] = ()) -> WorkItem:
        summary = EntrySummary.from_row(row, row["last_verdict"])
        return WorkItem(
            summary,
            _follow_up(store, summary, row, windows, now),
            recent=row.get("band") == 0,
            new=seen is not None and summary.id > seen,
            others=folded,
            open_checks=int(row.get("open_checks", 1)),
        )

    items = [
        item(row, tuple(item(other) for other in others.get(row["patient_id"], []))) for row in rows
    ]
    return Worklist(
        {lv.key: counts.get(n, 0) for n, lv in reversed(list(enumerate(LEVELS))) if n},
        _overdue(store, windows, now),
        matched,
        tuple(items),
        offset,
        limit,
        order,
        filters,
        by_patient,
        checks,
    )


@dataclass(frozen=True)
class Version:
    """What tells a worklist on screen that it is out of date, read without reading the list."""

    tag: str
    """Changes with every record the log appends (a check, a review, a patient record)."""
    last_entry: int
    """The newest entry's id (0: none): what a clinician has seen after looking."""
    emergencies: int
    """Unreviewed emergency checks, over the whole log."""

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.tag, "last_entry": self.last_entry,
                "emergencies": self.emergencies}  # fmt: skip


def version(store: Store) -> Version:
    seq, digest = store.head()
    newest = store.summaries(Filters(), 1)
    emergencies = store.worklist_counts().get(LEVELS.index(by_key("emergency")), 0)
    return Version(f"{seq}-{digest[:16]}", int(newest[0]["id"]) if newest else 0, emergencies)


def _flat(store: Store, filters: Filters, recent: Recent, limit: int, offset: int) -> list[Row]:
    """One page of the worklist in its order, a check a row: from the recent part, then from the
    rest (each read through the worklist's index)."""
    first = store.worklist_count(filters, recent, True)
    rows: list[Row] = []
    if offset < first:
        rows = [
            {**row, "band": 0} for row in store.worklist_rows(filters, limit, offset, recent, True)
        ]
    if len(rows) < limit:
        rest = store.worklist_rows(filters, limit - len(rows), max(0, offset - first), recent)
        rows += [{**row, "band": 1} for row in rest]
    return rows


def _windows(follow_up_hours: Mapping[str, float]) -> dict[int, timedelta]:
    """The follow-up window of each severity the pack gives one."""
    return {
        LEVELS.index(by_key(key)): timedelta(hours=hours) for key, hours in follow_up_hours.items()
    }


def _follow_up(
    store: Store, entry: EntrySummary, row: Row, windows: dict[int, timedelta], now: datetime
) -> FollowUp | None:
    try:
        window = windows.get(entry.severity)
    except KeyError:  # an outcome no triage writes (an edited log): no window
        return None
    if window is None:
        return None
    if "next_at" in row:  # the worklist keeps it
        later = row["next_at"]
    else:
        later = store.next_check_after(entry.patient_id, entry.reported_at)
    return status(entry.reported_at, later, window, now)


def status(reported_at: str, next_at: str | None, window: timedelta, now: datetime) -> FollowUp:
    """The follow-up of a check answered at ``reported_at``, whose patient's next check was
    answered at ``next_at`` (None: not yet), expected within ``window``."""
    due = _moment(reported_at) + window
    state: FollowUpStatus
    if next_at is not None:
        state = "received" if _moment(next_at) <= due else "late"
    else:
        state = "overdue" if now > due else "due"
    return FollowUp(stamp(due), next_at, state)


def _overdue(store: Store, windows: dict[int, timedelta], now: datetime) -> int:
    """Worklist checks whose window has passed with no later check of the patient."""
    return sum(
        store.worklist_waiting(severity, stamp(now - window))
        for severity, window in windows.items()
    )


def _moment(stored: str) -> datetime:
    moment = datetime.fromisoformat(stored.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
