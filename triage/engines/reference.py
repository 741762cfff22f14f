"""The reference backend: the condition language interpreted in plain Python.

A test on an absent answer is false (``present: false`` aside); ``not`` inverts fully. The
durable-rules compiler follows the same semantics, and the differential tests hold it to them.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any

from .._version import __version__
from ..conditions import All, AnyOf, Condition, FieldRef, Not, Test, fields_of
from ..pack import RulePack

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "ge": operator.ge,
    "le": operator.le,
    "gt": operator.gt,
    "lt": operator.lt,
}


def _same(a: Any, b: Any) -> bool:
    """Equality that keeps true apart from 1 and "unsure" apart from true."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


def _test(test: Test, answers: dict[str, Any]) -> bool:
    present = answers.get(test.field) is not None
    if test.op == "present":
        return present is test.value
    if not present:
        return False
    value = answers[test.field]
    if test.op == "in":
        return any(_same(value, choice) for choice in test.value)
    target = test.value
    if isinstance(target, FieldRef):
        if answers.get(target.field) is None:
            return False
        target = answers[target.field] + target.plus
    if test.op in ("eq", "ne"):
        return _same(value, target) is (test.op == "eq")
    return _COMPARE[test.op](value, target)


def holds(condition: Condition, answers: dict[str, Any]) -> bool:
    """Whether ``condition`` holds for the report ``answers``."""
    if isinstance(condition, Test):
        return _test(condition, answers)
    if isinstance(condition, All):
        return all(holds(item, answers) for item in condition.items)
    if isinstance(condition, AnyOf):
        return any(holds(item, answers) for item in condition.items)
    return not holds(condition.item, answers)


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


class ReferenceEngine:
    name = "reference"
    version = __version__

    def fired(self, pack: RulePack, answers: dict[str, Any]) -> set[str]:
        return {rule.id for rule in pack.rules if holds(rule.condition, answers)}
