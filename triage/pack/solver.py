"""Which reports can make a condition hold: a search over the answers the report contract allows.

The coverage of a pack (a rule that can never fire, a rule always overruled by a more severe
one) and the "why not" explanations ask the same question: is there a report the contract
accepts for which a condition holds, perhaps with some answers fixed? Each field's answers are
finite once a number is reduced to the points where a test can change its truth (each threshold
and the smallest step either side of it: answers have at most 4 decimals). The search gives the
fields values one at a time, most of them least worrying first, and leaves a branch as soon as
the condition is false whatever the other fields are (a test on a field without a value is
neither true nor false yet).

It works on the data classes of ``logic`` and ``history`` only: what a condition means is
``logic.holds``, here as in both engines. A rule's history tests add the answers of an earlier
check (``earlier.FIELD``) or of the previous session (``previous.FIELD``); ``{current: ...}``
compares them with this report's.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..contract.fields import REQUIREMENTS, FieldSpec
from ..contract.reading import FIELDS
from ..logic import All, AnyOf, Condition, CurrentRef, FieldRef, Not, Test, fields_of, holds
from .history import EarlierChecks, PreviousSession, When

STEP = 0.0001
"""The smallest difference between two answers (numbers have at most 4 decimals)."""

EARLIER = "earlier."
PREVIOUS = "previous."
TRUE: Condition = All(())
BUDGET = 200_000
"""Search steps one question may take before it is left undecided."""


class Undecided(Exception):
    """The search took more than its budget of steps: neither proved nor refuted."""


def spec_of(name: str) -> FieldSpec:
    """The field a (possibly prefixed) name stands for: a report field, or one of an earlier
    check (which may lack answers an older contract did not ask) or of the previous session."""
    from .conditions import EARLIER_FIELDS, SESSION_FIELDS

    if name.startswith(EARLIER):
        return EARLIER_FIELDS[name.removeprefix(EARLIER)]
    if name.startswith(PREVIOUS):
        return SESSION_FIELDS[name.removeprefix(PREVIOUS)]
    return FIELDS[name]


# -- a rule's whole condition as one ---------------------------------------------------------


def rule_condition(when: When) -> Condition:
    """A rule's condition on this report and, renamed, the conditions its history tests put on
    an earlier check or on the previous session: it can fire only if this can hold."""
    parts = [when.condition] if when.condition is not None else []
    for test in when.history:
        if isinstance(test, EarlierChecks) and test.where is not None:
            parts.append(_renamed(test.where, EARLIER))
        elif isinstance(test, PreviousSession) and test.where is not None:
            parts.append(_renamed(test.where, PREVIOUS))
    return parts[0] if len(parts) == 1 else All(tuple(parts))


def _renamed(condition: Condition, prefix: str) -> Condition:
    if isinstance(condition, Test):
        value = condition.value
        if isinstance(value, FieldRef):
            value = FieldRef(prefix + value.field, value.plus)
        elif isinstance(value, CurrentRef):
            value = FieldRef(value.field, value.plus)
        return Test(prefix + condition.field, condition.op, value)
    if isinstance(condition, Not):
        return Not(_renamed(condition.item, prefix))
    renamed = tuple(_renamed(item, prefix) for item in condition.items)
    return All(renamed) if isinstance(condition, All) else AnyOf(renamed)


def contract_of(condition: Condition) -> Condition:
    """What the contract requires of the answers a condition reads: an answer needed or allowed
    only when others say so (``report.REQUIREMENTS``), and, for those answers' conditions, theirs
    in turn; an earlier check has an urgency exactly when it ended in seek_medical_review.
    Answers the condition does not read can always be given to fit."""
    parts: list[Condition] = []
    seen: set[str] = set()
    pending = list(fields_of(condition))
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        if name == EARLIER + "urgency" or name == EARLIER + "outcome":
            review = Test(EARLIER + "outcome", "eq", "seek_medical_review")
            given = Test(EARLIER + "urgency", "present", True)
            parts += [AnyOf((Not(review), given)), AnyOf((review, Not(given)))]
            seen |= {EARLIER + "urgency", EARLIER + "outcome"}
            continue
        for requirement in REQUIREMENTS:
            if requirement.field != name:
                continue
            given = Test(name, "present", True)
            if requirement.required:
                parts.append(AnyOf((Not(requirement.when), given)))
            if requirement.only:
                parts.append(AnyOf((requirement.when, Not(given))))
            pending += fields_of(requirement.when)
    return All(tuple(parts))


# -- the answers each field can take ---------------------------------------------------------


def _points(condition: Condition) -> tuple[dict[str, set[float]], list[tuple[str, str, float]]]:
    """The numbers each field is compared with, and the comparisons between two fields."""
    points: dict[str, set[float]] = {}
    links: list[tuple[str, str, float]] = []
    for test in _tests(condition):
        value = test.value
        if isinstance(value, (FieldRef, CurrentRef)):
            links.append((test.field, value.field, value.plus))
        elif isinstance(value, tuple):
            points.setdefault(test.field, set()).update(_numbers(value))
        else:
            points.setdefault(test.field, set()).update(_numbers((value,)))
    return points, links


def _numbers(values: Iterable[Any]) -> list[float]:
    return [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]


def _tests(condition: Condition) -> Iterable[Test]:
    if isinstance(condition, Test):
        yield condition
    elif isinstance(condition, Not):
        yield from _tests(condition.item)
    else:
        for item in condition.items:
            yield from _tests(item)


def _numeric(spec: FieldSpec, points: Iterable[float]) -> list[float]:
    low, high = float(spec.minimum or 0), float(spec.maximum or 0)
    whole = spec.kind == "integer"
    if whole and high - low <= 24:
        return [float(n) for n in range(int(low), int(high) + 1)]
    step = 1.0 if whole else STEP
    found = {low, high}
    for point in points:
        for near in (point - step, point, point + step):
            near = round(float(near), 4)
            if low <= near <= high and (not whole or near.is_integer()):
                found.add(near)
    return sorted(found)


def _as_answer(spec: FieldSpec, value: float) -> Any:
    return int(value) if spec.kind == "integer" else value


def domains(condition: Condition, fixed: Mapping[str, Any] | None = None) -> dict[str, list[Any]]:
    """The answers worth trying for each field ``condition`` reads (None: not given); a field in
    ``fixed`` has only its given answer."""
    fixed = fixed or {}
    points, links = _points(condition)
    names = list(dict.fromkeys([*fields_of(condition), *(f for f, _, _ in links)]))
    result: dict[str, list[Any]] = {}

    def known(name: str) -> list[float]:
        return _numbers(result.get(name, [fixed[name]] if name in fixed else []))

    for _ in range(2):  # a comparison between fields adds the other's answers, plus the offset
        for name in names:
            spec = spec_of(name)
            if spec.numeric:
                extra = [
                    v + plus for field, other, plus in links if field == name for v in known(other)
                ]
                extra += [
                    v - plus for field, other, plus in links if other == name for v in known(field)
                ]
                result[name] = [
                    _as_answer(spec, v) for v in _numeric(spec, [*points.get(name, ()), *extra])
                ]
    for name in names:
        spec = spec_of(name)
        if not spec.numeric:
            result[name] = _choices(spec)
        if not spec.required and spec.kind != "set":
            result[name] = [None, *result[name]]
    for name, value in fixed.items():
        result[name] = [value]
    return result


def _choices(spec: FieldSpec) -> list[Any]:
    if spec.kind == "set":
        return [
            tuple(combo)
            for size in range(len(spec.choices) + 1)
            for combo in itertools.combinations(spec.choices, size)
        ]
    if spec.kind == "yes_no":
        return [False, True]
    if spec.kind in ("text", "datetime"):
        return ["x"]
    return list(spec.choices)


# -- the search --------------------------------------------------------------------------------


def _truth(condition: Condition, given: Mapping[str, Any]) -> bool | None:
    """True or false once the answers given decide it; None while they do not."""
    if isinstance(condition, Test):
        value = condition.value
        if condition.field not in given or (
            isinstance(value, FieldRef) and value.field not in given
        ):
            return None
        return holds(condition, given)
    if isinstance(condition, Not):
        inner = _truth(condition.item, given)
        return None if inner is None else not inner
    decided = isinstance(condition, AnyOf)  # the value that settles it
    undecided = False
    for item in condition.items:
        truth = _truth(item, given)
        if truth is decided:
            return decided
        undecided = undecided or truth is None
    return None if undecided else not decided


def _open_field(condition: Condition, given: Mapping[str, Any]) -> str | None:
    """A field without a value in a test that is not yet decided."""
    if isinstance(condition, Test):
        if condition.field not in given:
            return condition.field
        value = condition.value
        return value.field if isinstance(value, FieldRef) and value.field not in given else None
    if _truth(condition, given) is not None:
        return None
    items = (condition.item,) if isinstance(condition, Not) else condition.items
    for item in items:
        found = _open_field(item, given)
        if found is not None:
            return found
    return None


@dataclass
class _Search:
    condition: Condition
    domains: Mapping[str, list[Any]]
    budget: int

    def run(self, given: dict[str, Any]) -> dict[str, Any] | None:
        truth = _truth(self.condition, given)
        if truth is not None:
            return dict(given) if truth else None
        self.budget -= 1
        if self.budget < 0:
            raise Undecided
        name = _open_field(self.condition, given)
        assert name is not None  # undecided: some test still lacks an answer
        for value in self.domains[name]:
            given[name] = value
            found = self.run(given)
            if found is not None:
                return found
        del given[name]
        return None


def witness(
    condition: Condition, fixed: Mapping[str, Any] | None = None, budget: int = BUDGET
) -> dict[str, Any] | None:
    """Answers (those that decide it; None: not given) for which ``condition`` and what the
    contract requires of them hold, with the answers in ``fixed`` kept; None if there are none.
    Raises ``Undecided`` when the search runs out of ``budget``."""
    whole = _with_contract(condition)
    return _Search(whole, _domains(whole, _frozen(fixed)), budget).run(dict(fixed or {}))


@functools.lru_cache(maxsize=4096)
def _with_contract(condition: Condition) -> Condition:
    return All((condition, contract_of(condition)))


def _frozen(fixed: Mapping[str, Any] | None) -> tuple[tuple[str, Any], ...]:
    """``fixed`` as a key: set answers (lists) as tuples."""
    return tuple(
        sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in (fixed or {}).items())
    )


@functools.lru_cache(maxsize=4096)
def _domains(whole: Condition, fixed: tuple[tuple[str, Any], ...]) -> dict[str, list[Any]]:
    """``domains``, kept: "why not" asks for the same rule's with the same answers fixed again
    and again (a third of its time was spent working them out)."""
    return domains(whole, dict(fixed))


def satisfiable(
    condition: Condition, fixed: Mapping[str, Any] | None = None, budget: int = BUDGET
) -> bool:
    return witness(condition, fixed, budget) is not None


def possible_answers(
    condition: Condition, name: str, fixed: Mapping[str, Any] | None = None
) -> tuple[list[Any], list[Any]]:
    """The answers of ``name`` tried, and those for which ``condition`` can hold (with
    ``fixed`` kept)."""
    tried = _domains(_with_contract(condition), _frozen(fixed)).get(name, [])
    works = [v for v in tried if satisfiable(condition, {**(fixed or {}), name: v})]
    return tried, works
