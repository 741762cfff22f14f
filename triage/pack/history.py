"""A patient's earlier checks, as facts relative to the report being checked.

Both engines match the history rules against the same facts: each earlier check with how many
days ago it was reported and whether it is about the same session, and the patient's sessions
ranked from the one this report is about (rank 0) backwards. What a rule's history tests mean
(``rule_holds``) and which earlier checks made them hold (``history_matched``) are defined here,
once: the reference backend evaluates with them, and a decision's reasons quote them whichever
engine fired the rules.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from ..errors import Problem, ReportError
from ..logic import Condition, Predicate, compile_condition, fields_of, holds

if TYPE_CHECKING:
    from ..contract.report import Report


@dataclass(frozen=True)
class EarlierChecks:
    """At least ``at_least`` earlier checks of the patient, reported within ``within_days`` days
    (and about the same session if ``same_session``), satisfy ``where``."""

    within_days: float
    at_least: int = 1
    same_session: bool = False
    where: Condition | None = None


@dataclass(frozen=True)
class RisingSessions:
    """The last ``sessions`` sessions within ``within_days`` days, this report's included, each
    with a higher ``field`` than the one before."""

    field: str
    sessions: int
    within_days: float


@dataclass(frozen=True)
class PreviousSession:
    """The patient's previous session (the most recent earlier session, described by its first
    check) ended within ``within_days`` days, and its answers satisfy ``where``."""

    within_days: float
    where: Condition | None = None


HistoryTest = EarlierChecks | RisingSessions | PreviousSession


@dataclass(frozen=True)
class When:
    """A rule's whole condition: on this report, and on the patient's earlier checks."""

    condition: Condition | None
    history: tuple[HistoryTest, ...] = ()

    @property
    def window_days(self) -> float:
        """How many days of earlier checks the rule needs (0 for none)."""
        return max((h.within_days for h in self.history), default=0)


@dataclass(frozen=True)
class Earlier:
    """An earlier check of the same patient: its answers as stored (normalised, with
    ``reported_at``; read into the current contract, so an answer an older contract could not
    give is absent), and the outcome it got then."""

    answers: Mapping[str, Any]
    outcome: str
    urgency: str | None = None

    @classmethod
    def of_report(cls, report: Report, outcome: str = "", urgency: str | None = None) -> Earlier:
        return cls(report.answers(), outcome, urgency)

    @property
    def patient_id(self) -> str:
        return str(self.answers["patient_id"])

    @property
    def session_id(self) -> str | None:
        return self.answers.get("session_id")

    @property
    def reported_at(self) -> datetime:
        return datetime.fromisoformat(str(self.answers["reported_at"]).replace("Z", "+00:00"))

    @property
    def ended_at(self) -> datetime:
        return self.reported_at - timedelta(hours=float(self.answers["hours_since_session"]))


@dataclass(frozen=True)
class EarlierFact:
    """An earlier check as the history rules see it."""

    index: int
    answers: dict[str, Any]
    days_ago: float
    same_session: bool

    def facts(self) -> dict[str, Any]:
        """Its answers with ``outcome``/``urgency``, ``days_ago`` and ``same_session``."""
        return dict(self.rule_facts)

    @cached_property
    def rule_facts(self) -> Mapping[str, Any]:
        """``facts()``, built once, for the compiled history tests (never changed)."""
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

    def describe(self, *fields: str) -> dict[str, Any]:
        session: dict[str, Any] = {
            k: self.answers[k] for k in ("session_id", "reported_at") if k in self.answers
        }
        return {**session, **{f: self.answers[f] for f in fields if f in self.answers}}


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
    import secrets  # here: it loads random, which no read of the log needs

    return f"s-{secrets.token_hex(5)}"


def with_session(report: Report) -> Report:
    """The report, with a new session id if it has none (a post-session check starts a session)."""
    if report.session_id is not None:
        return report
    return report.model_copy(update={"session_id": new_session_id()})


def _days(later: datetime, earlier: datetime) -> float:
    return round((later - earlier).total_seconds() / 86400, 4)


def _session_key(check: Earlier, index: int) -> str:
    return check.session_id or f"#report-{index}"  # "#" is never in a session id


def build_context(report: Report, history: Iterable[Earlier] | None) -> Context:
    """The facts for one evaluation; ``history`` None means the history is not known."""
    return context_of(report.answers(), history)


def context_of(answers: dict[str, Any], history: Iterable[Earlier] | None) -> Context:
    """``build_context`` for a report's normalised answers (``Report.answers()``, as the log
    stores them)."""
    if history is None:
        return Context(answers)
    current = Earlier(answers, "")
    earlier = sorted(history, key=lambda e: e.reported_at)
    now = current.reported_at
    for position, item in enumerate(earlier):
        if item.patient_id != current.patient_id or item.reported_at > now:
            raise ReportError(
                [
                    Problem(
                        f"earlier check {position + 1} ({item.patient_id}, "
                        f"{item.reported_at.isoformat()}) "
                        "is not an earlier check of the same patient",
                        field="history",
                    )
                ]
            )
    facts = tuple(
        EarlierFact(
            i,
            {**e.answers, "outcome": e.outcome, "urgency": e.urgency},
            _days(now, e.reported_at),
            current.session_id is not None and e.session_id == current.session_id,
        )
        for i, e in enumerate(earlier)
    )
    return Context(answers, facts, _sessions(current, earlier))


def _sessions(current: Earlier, earlier: list[Earlier]) -> tuple[SessionFact, ...]:
    """Sessions up to this report's, newest first; each described by its first report."""
    checks = [*earlier, current]
    first: dict[str, Earlier] = {}
    for index, item in enumerate(checks):
        key = _session_key(item, index)
        if key not in first or item.reported_at < first[key].reported_at:
            first[key] = item
    current_key = _session_key(checks[-1], len(earlier))
    current_end = first[current_key].ended_at
    ordered = sorted(
        (k for k in first if first[k].ended_at <= current_end),
        key=lambda k: first[k].ended_at,
        reverse=True,
    )
    ordered.remove(current_key)
    ranked = [current_key, *ordered]
    now = current.reported_at
    return tuple(
        SessionFact(rank, key, dict(first[key].answers), _days(now, first[key].ended_at))
        for rank, key in enumerate(ranked)
    )


# -- what the history tests mean --------------------------------------------------------------


def earlier_matches(test: EarlierChecks, context: Context) -> list[EarlierFact]:
    """The earlier checks that satisfy ``test`` (window, session and ``where``)."""
    return [
        fact
        for fact in context.earlier or ()
        if fact.days_ago <= test.within_days
        and (fact.same_session or not test.same_session)
        and (test.where is None or holds(test.where, fact.facts(), context.answers))
    ]


def rising_sessions(test: RisingSessions, context: Context) -> list[SessionFact] | None:
    """The last ``test.sessions`` sessions if each is higher than the one before, else None."""
    last = context.sessions[: test.sessions]
    if len(last) < test.sessions or any(s.days_ago > test.within_days for s in last):
        return None
    values = [s.answers.get(test.field) for s in last]  # newest first
    if any(value is None for value in values):  # a check stopped early before the question
        return None
    if all(newer > older for newer, older in itertools.pairwise(values)):  # type: ignore[operator]
        return list(last)
    return None


def previous_session(test: PreviousSession, context: Context) -> SessionFact | None:
    """The previous session, if it ended within the window and satisfies ``where``."""
    if len(context.sessions) < 2:
        return None
    previous = context.sessions[1]
    if previous.days_ago > test.within_days:
        return None
    if test.where is not None and not holds(test.where, previous.answers, context.answers):
        return None
    return previous


def _history_holds(test: HistoryTest, context: Context) -> bool:
    if isinstance(test, EarlierChecks):
        return len(earlier_matches(test, context)) >= test.at_least
    if isinstance(test, PreviousSession):
        return previous_session(test, context) is not None
    return rising_sessions(test, context) is not None


def rule_holds(when: When, context: Context) -> bool:
    """A rule fires when its condition holds for this report and, if it looks at the history,
    the history is known and its history conditions hold."""
    if when.history and not context.has_history:
        return False
    if when.condition is not None and not holds(when.condition, context.answers):
        return False
    return all(_history_holds(test, context) for test in when.history)


def history_matched(when: When, context: Context) -> dict[str, Any]:
    """The earlier checks and sessions that made a history rule fire, for its explanation."""
    found: dict[str, Any] = {}
    for test in when.history:
        where = None if isinstance(test, RisingSessions) else test.where
        compared = fields_of(where) if where is not None else []
        if isinstance(test, EarlierChecks):
            found["earlier"] = [fact.describe(compared) for fact in earlier_matches(test, context)]
        elif isinstance(test, PreviousSession):
            previous = previous_session(test, context)
            found["sessions"] = [previous.describe(*compared)] if previous else []
        else:
            sessions = rising_sessions(test, context) or []
            found["sessions"] = [session.describe(test.field) for session in sessions]
    return found


# -- the history tests, compiled ----------------------------------------------------------------

ContextTest = Callable[[Context], bool]


def compile_when(when: When) -> ContextTest:
    """``rule_holds(when, context)`` as a function of the context, its conditions compiled once
    (``logic.compile_condition``); tests/unit/rules/test_history_rules.py holds the two to each
    other."""
    condition = compile_condition(when.condition) if when.condition is not None else None
    tests = tuple(_compile_history(test) for test in when.history)

    def compiled(context: Context) -> bool:
        if tests and context.earlier is None:
            return False
        if condition is not None and not condition(context.answers):
            return False
        return all(test(context) for test in tests)

    return compiled


def _compile_history(test: HistoryTest) -> ContextTest:
    where = (
        compile_condition(test.where)
        if not isinstance(test, RisingSessions) and test.where
        else None
    )
    if isinstance(test, EarlierChecks):
        return _compile_earlier(test, where)
    if isinstance(test, PreviousSession):
        return _compile_previous(test, where)
    return lambda context: rising_sessions(test, context) is not None


def _compile_earlier(test: EarlierChecks, where: Predicate | None) -> ContextTest:
    within, same_session, at_least = test.within_days, test.same_session, test.at_least

    def earlier(context: Context) -> bool:
        found = 0
        for fact in context.earlier or ():
            if (
                fact.days_ago <= within
                and (fact.same_session or not same_session)
                and (where is None or where(fact.rule_facts, context.answers))
            ):
                found += 1
        return found >= at_least

    return earlier


def _compile_previous(test: PreviousSession, where: Predicate | None) -> ContextTest:
    within = test.within_days

    def previous(context: Context) -> bool:
        if len(context.sessions) < 2:
            return False
        session = context.sessions[1]
        if session.days_ago > within:
            return False
        return where is None or where(session.answers, context.answers)

    return previous
