"""Conditions as data: tests on answers combined with all/any/not, whether they hold, and which
answers made them hold.

This is the meaning of a condition, independent of any rule engine: the rule pack's conditions
(parsed in ``conditions.py``), the report contract's conditional requirements (``report.py``) and
the questionnaire's "asked when" are all written with these classes. The reference backend
evaluates them with ``holds``; the durable-rules adapter compiles them and is held to the same
answers by the differential tests; a decision's reasons quote ``matched``, so that what a patient
reads never depends on which engine fired the rules.

A test on an absent answer is false (``present: false`` aside), so ``not`` of it is true.

``truth`` evaluates a condition over answers of which some are not known yet (a questionnaire
half answered), in Kleene's three-valued logic: a test that reads an unknown answer is unknown,
and all/any/not combine unknowns so that a condition is true only if it holds whatever the
unknown answers turn out to be (and false only if it holds for none of them).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldRef:
    """Another answer of the same report, plus an offset: ``{field: pain_before, plus: 2}``."""

    field: str
    plus: float = 0


@dataclass(frozen=True)
class CurrentRef:
    """Inside a history test: this (the current) report's answer, plus an offset:
    ``{current: pain_during, plus: -2}``."""

    field: str
    plus: float = 0


@dataclass(frozen=True)
class Test:
    """One test on one report field. ``op`` is eq, ne, in, ge, le, gt, lt or present; on a set
    field (a list of answers), has (includes a value), has_any (includes one of several values)
    or present (not empty)."""

    field: str
    op: str
    value: Any


@dataclass(frozen=True)
class All:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Test | All | AnyOf | Not

Answers = Mapping[str, Any]

_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "eq": operator.eq, "ne": operator.ne, "ge": operator.ge, "le": operator.le,
    "gt": operator.gt, "lt": operator.lt,
}  # fmt: skip


def fields_of(condition: Condition) -> list[str]:
    """Every report field a condition reads, in order of appearance."""
    if isinstance(condition, Test):
        ref = [condition.value.field] if isinstance(condition.value, FieldRef) else []
        return [condition.field, *ref]  # a CurrentRef reads the other report
    items = (condition.item,) if isinstance(condition, Not) else condition.items
    return list(dict.fromkeys(f for item in items for f in fields_of(item)))


def to_data(condition: Condition) -> Any:
    """The canonical, JSON-ready form of a condition (for the pack hash, `rules list` and the
    questionnaire's description)."""
    if isinstance(condition, Test):
        value = condition.value
        if isinstance(value, FieldRef):
            value = {"field": value.field, "plus": value.plus}
        elif isinstance(value, CurrentRef):
            value = {"current": value.field, **({"plus": value.plus} if value.plus else {})}
        elif isinstance(value, tuple):
            value = list(value)
        return {condition.field: {condition.op: value}}
    if isinstance(condition, Not):
        return {"not": to_data(condition.item)}
    key = "all" if isinstance(condition, All) else "any"
    return {key: [to_data(item) for item in condition.items]}


def _same(a: Any, b: Any) -> bool:
    """Equality that keeps true apart from 1 and "unsure" apart from true."""
    return bool(a == b and isinstance(a, bool) == isinstance(b, bool))


def _test(test: Test, answers: Answers, current: Answers) -> bool:
    present = answers.get(test.field) not in (None, (), [])
    if test.op == "present":
        return bool(present is test.value)
    if not present:
        return False
    value = answers[test.field]
    if test.op == "has":
        return test.value in value
    if test.op == "has_any":
        return any(choice in value for choice in test.value)
    if test.op == "in":
        return any(_same(value, choice) for choice in test.value)
    target = test.value
    if isinstance(target, (CurrentRef, FieldRef)):
        other = (current if isinstance(target, CurrentRef) else answers).get(target.field)
        return _with_other(test.op, value, other, target.plus)
    if test.op in ("eq", "ne"):
        return _same(value, target) is (test.op == "eq")
    return _COMPARE[test.op](value, target)


def _with_other(op: str, value: Any, other: Any, plus: float) -> bool:
    """A test comparing an answer with another answer (``other``, None when absent)."""
    if other is None:
        return False
    if not isinstance(other, (int, float)) or isinstance(other, bool):
        return _same(value, other) is (op == "eq")  # same answer, or not
    # A comparison with another answer compares the difference with the offset, to 4
    # decimals (every answer and offset has at most 4): exact, and what durable-rules is given.
    return _COMPARE[op](difference(value, other), plus)


def difference(value: float, other: float) -> float:
    """``value - other`` to 4 decimals (the answers and offsets have at most 4)."""
    return round(value - other, 4)


def holds(condition: Condition, answers: Answers, current: Answers | None = None) -> bool:
    """Whether ``condition`` holds for ``answers``; ``current`` is the report being checked,
    for ``{current: ...}`` inside ``earlier``."""
    if isinstance(condition, Test):
        return _test(condition, answers, current or answers)
    if isinstance(condition, All):
        return all(holds(item, answers, current) for item in condition.items)
    if isinstance(condition, AnyOf):
        return any(holds(item, answers, current) for item in condition.items)
    return not holds(condition.item, answers, current)


def truth(condition: Condition, answers: Answers, unknown: Collection[str]) -> bool | None:
    """Whether ``condition`` holds, when the answers named in ``unknown`` are not known yet:
    True if it holds whatever they turn out to be (given or left out), False if it holds for
    none of them, None if that depends on them. Every other field is known: its answer in
    ``answers``, or absent. Strong Kleene logic, so True and False are sound: no completion of
    the answers can change them."""
    if isinstance(condition, Test):
        if any(name in unknown for name in fields_of(condition)):
            return None
        return _test(condition, answers, answers)
    if isinstance(condition, Not):
        inner = truth(condition.item, answers, unknown)
        return None if inner is None else not inner
    values = [truth(item, answers, unknown) for item in condition.items]
    decisive = isinstance(condition, AnyOf)  # any: one true branch decides; all: one false one
    if any(value is decisive for value in values):
        return decisive
    return None if any(value is None for value in values) else not decisive


def matched(
    condition: Condition, answers: Answers, unknown: Collection[str] = ()
) -> dict[str, Any]:
    """The answers that made a condition hold: every part of ``all``, the true branches of
    ``any`` (with answers still ``unknown``: the branches that are true whatever they are)."""
    if isinstance(condition, (Test, Not)):
        return {f: answers[f] for f in fields_of(condition) if answers.get(f) not in (None, (), [])}
    parts = condition.items
    if isinstance(condition, AnyOf):
        parts = tuple(item for item in parts if truth(item, answers, unknown) is True)
    found: dict[str, Any] = {}
    for item in parts:
        found.update(matched(item, answers, unknown))
    return found


# -- compiled conditions ---------------------------------------------------------------------------

Predicate = Callable[..., bool]
"""A compiled condition: ``predicate(answers, current=None)``, the same as ``holds``."""

_EMPTY: tuple[Any, ...] = (None, (), [])
_SYMBOLS = {"ge": ">=", "le": "<=", "gt": ">", "lt": "<"}


class _Source:
    """Python source for conditions, with every value of the rules bound as a name (never
    written out as text), so that the source means exactly what the condition says."""

    def __init__(self) -> None:
        self.names: dict[str, Any] = {"_EMPTY": _EMPTY, "_with_other": _with_other}
        self._count = 0

    def name(self, value: Any, prefix: str = "k") -> str:
        self._count += 1
        name = f"{prefix}{self._count}"
        self.names[name] = value
        return name

    def variable(self) -> str:
        self._count += 1
        return f"v{self._count}"

    def condition(self, node: Condition) -> str:
        if isinstance(node, Test):
            return self.test(node)
        if isinstance(node, Not):
            return f"(not {self.condition(node.item)})"
        if not node.items:
            return "True" if isinstance(node, All) else "False"
        join = " and " if isinstance(node, All) else " or "
        return "(" + join.join(self.condition(item) for item in node.items) + ")"

    def test(self, test: Test) -> str:
        """``_test``, written out for one test."""
        field = self.name(test.field, "f")
        if test.op == "present":
            return f"((a.get({field}) not in _EMPTY) is {self.name(test.value)})"
        if test.op == "eq" and isinstance(test.value, (bool, str)):
            return self._same(f"a.get({field})", test.value)  # an absent answer is never it
        if test.op == "in" and all(isinstance(v, str) for v in test.value):
            return f"(a.get({field}) in {self.name(tuple(test.value))})"  # nor one of these
        v = self.variable()
        return f"(({v} := a.get({field})) not in _EMPTY and {self._on_value(test, v)})"

    def _on_value(self, test: Test, v: str) -> str:
        target = test.value
        if test.op == "has":
            return f"{self.name(target)} in {v}"
        if test.op == "has_any":
            return self._either([f"{self.name(choice)} in {v}" for choice in target])
        if test.op == "in":
            return self._either([self._same(v, choice) for choice in target])
        if isinstance(target, (CurrentRef, FieldRef)):
            other = (
                f"{'c' if isinstance(target, CurrentRef) else 'a'}.get({self.name(target.field)})"
            )
            return f"_with_other({self.name(test.op)}, {v}, {other}, {self.name(target.plus)})"
        if test.op in ("eq", "ne"):
            same = self._same(v, target)
            return same if test.op == "eq" else f"(not {same})"
        return f"{v} {_SYMBOLS[test.op]} {self.name(target)}"

    def _same(self, v: str, value: Any) -> str:
        """``_same(v, value)``: true is never 1, and a word is never true."""
        if isinstance(value, bool):
            return f"({v} is {self.name(value)})"
        if isinstance(value, str):
            return f"({v} == {self.name(value)})"
        return f"({v} == {self.name(value)} and not isinstance({v}, bool))"

    @staticmethod
    def _either(parts: list[str]) -> str:
        return "(" + " or ".join(parts) + ")" if parts else "False"

    def function(self, body: list[str], name: str) -> Callable[..., Any]:
        source = "\n".join(body) + "\n"
        exec(compile(source, f"<compiled {name}>", "exec"), self.names)
        function: Callable[..., Any] = self.names[name]
        return function


def compile_condition(condition: Condition) -> Predicate:
    """``condition`` compiled once into a Python function: ``compile_condition(c)(answers,
    current)`` is ``holds(c, answers, current)`` for any answers, without walking the condition
    per report (tests/unit/evaluation/test_properties.py holds the two to each other)."""
    source = _Source()
    body = [
        "def holds(a, c=None):",
        "    c = c or a",
        f"    return bool({source.condition(condition)})",
    ]
    return source.function(body, "holds")


def compile_selection(
    conditions: Sequence[tuple[str, Condition]],
) -> Callable[[Answers], list[str]]:
    """One function that returns the keys, in order, of the ``(key, condition)`` pairs whose
    condition holds for ``answers``: a pack's single-report rules in one call."""
    source = _Source()
    body = ["def selected(a):", "    c = a", "    found = []"]
    for key, condition in conditions:
        body.append(f"    if {source.condition(condition)}:")
        body.append(f"        found.append({source.name(key)})")
    body.append("    return found")
    return source.function(body, "selected")


Matcher = Callable[[Answers], dict[str, Any]]
"""A compiled ``matched``: the answers that made a condition hold."""


def compile_matched(condition: Condition) -> Matcher:
    """``matched(condition, answers)`` as a function of the answers, built once (the same
    answers, in the same order): one generated function, each value bound by name."""
    source = _Source()
    body = ["def matched(a):", "    c = a", "    found = {}"]
    _matched_lines(source, condition, body, "    ")
    body.append("    return found")
    return source.function(body, "matched")


def _matched_lines(source: _Source, condition: Condition, body: list[str], indent: str) -> None:
    """``matched``, written out: a test (or a negation) adds each answer it reads that is given;
    ``all`` adds each part's; ``any`` each true branch's (nesting is bounded by the pack's
    ``MAX_NESTING``)."""
    if isinstance(condition, (Test, Not)):
        for name in fields_of(condition):
            field = source.name(name, "f")
            body.append(f"{indent}x = a.get({field})")
            body.append(f"{indent}if x not in _EMPTY:")
            body.append(f"{indent}    found[{field}] = x")
        return
    for item in condition.items:
        if isinstance(condition, AnyOf):
            body.append(f"{indent}if {source.condition(item)}:")
            _matched_lines(source, item, body, indent + "    ")
            body.append(f"{indent}    pass")
        else:
            _matched_lines(source, item, body, indent)
