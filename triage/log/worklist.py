"""The clinician's worklist: every unreviewed check that needs action, most urgent first, then
oldest first, with counts over the whole log, and the follow-up each one is owed.

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
from .store import Store

FollowUpStatus = Literal["due", "overdue", "received", "late"]
Order = Literal["urgency", "newest"]


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

    def to_dict(self) -> dict[str, Any]:
        return {
            **vars(self.entry),
            "follow_up": None if self.follow_up is None else self.follow_up.to_dict(),
        }


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
    """``urgency``: most urgent first, then oldest (the worklist); ``newest``: newest first
    (lists that include reviewed checks, or continue ones)."""
    filters: Filters = field(default_factory=Filters)

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
) -> Worklist:
    """The page ``filters`` ask for: from the worklist index when they ask for unreviewed checks
    that need action, else from the entries, newest first."""
    limit, offset = max(1, min(limit, MAX_ID)), max(0, min(offset, MAX_ID))
    windows = _windows(follow_up_hours)
    counts = store.worklist_counts()
    if filters.unreviewed and filters.outcome != "continue":
        rows = store.worklist_rows(filters, limit, offset)
        whole = filters == Filters(unreviewed=True)  # the counts say it: no second count
        matched = sum(counts.values()) if whole else store.worklist_count(filters)
        order: Order = "urgency"
    else:
        rows = store.summaries(filters, limit, offset)
        matched, order = store.count(filters), "newest"
    items = []
    for row in rows:
        summary = EntrySummary.from_row(row, row["last_verdict"])
        items.append(WorkItem(summary, _follow_up(store, summary, row, windows, now)))
    return Worklist(
        {lv.key: counts.get(n, 0) for n, lv in reversed(list(enumerate(LEVELS))) if n},
        _overdue(store, windows, now),
        matched,
        tuple(items),
        offset,
        limit,
        order,
        filters,
    )


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
