"""The reference backend: the condition language interpreted in plain Python.

A test on an absent answer is false (``present: false`` aside); ``not`` inverts fully. The
durable-rules compiler follows the same semantics, and the differential tests hold it to them.
"""

from __future__ import annotations

import itertools
import operator
from collections.abc import Callable
from typing import Any

from .._version import __version__
from ..conditions import (
    All,
    AnyOf,
    Condition,
    CurrentRef,
    EarlierChecks,
    FieldRef,
    HistoryTest,
    Not,
    RisingSessions,
    Test,
    When,
    fields_of,
)
from ..history import Context, EarlierFact, SessionFact
from ..pack import RulePack

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq, "ne": operator.ne, "ge": operator.ge, "le": operator.le,
    "gt": operator.gt, "lt": operator.lt,
}  # fmt: skip


def _same(a: Any, b: Any) -> bool:
    """Equality that keeps true apart from 1 and "unsure" apart from true."""
    return bool(a == b and isinstance(a, bool) == isinstance(b, bool))


def _test(test: Test, answers: dict[str, Any], current: dict[str, Any]) -> bool:
    present = answers.get(test.field) is not None
    if test.op == "present":
        return bool(present is test.value)
    if not present:
        return False
    value = answers[test.field]
    if test.op == "in":
        return any(_same(value, choice) for choice in test.value)
    target = test.value
    if isinstance(target, CurrentRef):
        target = current[target.field]
    elif isinstance(target, FieldRef):
        if answers.get(target.field) is None:
            return False
        target = answers[target.field] + target.plus
    if test.op in ("eq", "ne"):
        return _same(value, target) is (test.op == "eq")
    return _COMPARE[test.op](value, target)


def holds(
    condition: Condition, answers: dict[str, Any], current: dict[str, Any] | None = None
) -> bool:
    """Whether ``condition`` holds for ``answers``; ``current`` is the report being checked,
    for ``{current: ...}`` inside ``earlier``."""
    if isinstance(condition, Test):
        return _test(condition, answers, current or answers)
    if isinstance(condition, All):
        return all(holds(item, answers, current) for item in condition.items)
    if isinstance(condition, AnyOf):
        return any(holds(item, answers, current) for item in condition.items)
    return not holds(condition.item, answers, current)


def matched(condition: Condition, answers: dict[str, Any]) -> dict[str, Any]:
    """The answers that made a condition hold: every part of ``all``, the true branches of ``any``."""
    if isinstance(condition, (Test, Not)):
        return {f: answers[f] for f in fields_of(condition) if answers.get(f) is not None}
    parts = condition.items
    if isinstance(condition, AnyOf):
        parts = tuple(item for item in parts if holds(item, answers))
    found: dict[str, Any] = {}
    for item in parts:
        found.update(matched(item, answers))
    return found


# -- history -------------------------------------------------------------------------------------


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
    values = [s.answers[test.field] for s in last]  # newest first
    if all(newer > older for newer, older in itertools.pairwise(values)):
        return list(last)
    return None


def _history_holds(test: HistoryTest, context: Context) -> bool:
    if isinstance(test, EarlierChecks):
        return len(earlier_matches(test, context)) >= test.at_least
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
        if isinstance(test, EarlierChecks):
            compared = fields_of(test.where) if test.where is not None else []
            found["earlier"] = [fact.describe(compared) for fact in earlier_matches(test, context)]
        else:
            sessions = rising_sessions(test, context) or []
            found["sessions"] = [session.describe(test.field) for session in sessions]
    return found


class ReferenceEngine:
    name = "reference"
    version = __version__

    def fired(self, pack: RulePack, context: Context) -> set[str]:
        return {rule.id for rule in pack.rules if rule_holds(rule.when, context)}
