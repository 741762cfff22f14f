"""A patient's earlier checks, as facts relative to the report being checked.

Both engines match the history rules against the same facts: each earlier check with how many
days ago it was reported and whether it is about the same session, and the patient's sessions
ranked from the one this report is about (rank 0) backwards. Deriving these is bookkeeping;
which of them make a rule fire is left to the engines.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from .errors import Problem, ReportError

if TYPE_CHECKING:
    from .report import Report


@dataclass(frozen=True)
class Earlier:
    """An earlier check of the same patient: its report, and the outcome it got then."""

    report: Report
    outcome: str
    urgency: str | None = None


@dataclass(frozen=True)
class EarlierFact:
    """An earlier check as the history rules see it."""

    index: int
    answers: dict[str, Any]
    days_ago: float
    same_session: bool

    def facts(self) -> dict[str, Any]:
        """Its answers with ``outcome``/``urgency``, ``days_ago`` and ``same_session``."""
        given = {k: v for k, v in self.answers.items() if v is not None}
        return {**given, "days_ago": self.days_ago, "same_session": self.same_session}

    def describe(self, fields: Iterable[str] = ()) -> dict[str, Any]:
        """How a reason names it: when, which session, the answers compared, the outcome."""
        keys = ("reported_at", "session_id", *fields, "outcome", "urgency")
        return {k: self.answers[k] for k in dict.fromkeys(keys) if self.answers.get(k) is not None}


@dataclass(frozen=True)
class SessionFact:
    """One training session: its first report's answers, and how recent it is."""

    rank: int
    key: str
    answers: dict[str, Any]
    days_ago: float

    def describe(self, field: str) -> dict[str, Any]:
        session: dict[str, Any] = {
            k: self.answers[k] for k in ("session_id", "reported_at") if k in self.answers
        }
        return {**session, field: self.answers[field]}


@dataclass(frozen=True)
class Context:
    """Everything the rules look at: this report's answers and, if known, the patient's history."""

    answers: dict[str, Any]
    earlier: tuple[EarlierFact, ...] | None = None
    sessions: tuple[SessionFact, ...] = field(default=())

    @property
    def has_history(self) -> bool:
        return self.earlier is not None


def new_session_id() -> str:
    """An id for a new session: 's-' and 10 random hex digits."""
    return f"s-{secrets.token_hex(5)}"


def with_session(report: Report) -> Report:
    """The report, with a new session id if it has none (a post-session check starts a session)."""
    if report.session_id is not None:
        return report
    return report.model_copy(update={"session_id": new_session_id()})


def _at(report: Report) -> datetime:
    return report.reported_at


def _days(later: datetime, earlier: datetime) -> float:
    return round((later - earlier).total_seconds() / 86400, 4)


def _session_key(report: Report, index: int) -> str:
    return report.session_id or f"#report-{index}"  # "#" is never in a session id


def build_context(report: Report, history: Iterable[Earlier] | None) -> Context:
    """The facts for one evaluation; ``history`` None means the history is not known."""
    answers = report.answers()
    if history is None:
        return Context(answers)
    earlier = sorted(history, key=lambda e: _at(e.report))
    for position, item in enumerate(earlier):
        if item.report.patient_id != report.patient_id or _at(item.report) > _at(report):
            raise ReportError(
                [
                    Problem(
                        f"earlier check {position + 1} ({item.report.patient_id}, {item.report.reported_at.isoformat()}) "
                        "is not an earlier check of the same patient",
                        field="history",
                    )
                ]
            )
    facts = tuple(
        EarlierFact(
            i,
            {**e.report.answers(), "outcome": e.outcome, "urgency": e.urgency},
            _days(_at(report), _at(e.report)),
            report.session_id is not None and e.report.session_id == report.session_id,
        )
        for i, e in enumerate(earlier)
    )
    return Context(answers, facts, _sessions(report, [e.report for e in earlier]))


def _sessions(report: Report, earlier: list[Report]) -> tuple[SessionFact, ...]:
    """Sessions up to this report's, newest first; each described by its first report."""
    first: dict[str, Report] = {}
    for index, item in enumerate([*earlier, report]):
        key = _session_key(item, index)
        if key not in first or _at(item) < _at(first[key]):
            first[key] = item
    current_key = _session_key(report, len(earlier))

    def ended(item: Report) -> datetime:
        return _at(item) - timedelta(hours=item.hours_since_session)

    current_end = ended(first[current_key])
    ordered = sorted(
        (k for k in first if ended(first[k]) <= current_end),
        key=lambda k: ended(first[k]),
        reverse=True,
    )
    ordered.remove(current_key)
    ranked = [current_key, *ordered]
    return tuple(
        SessionFact(rank, key, first[key].answers(), _days(_at(report), ended(first[key])))
        for rank, key in enumerate(ranked)
    )
