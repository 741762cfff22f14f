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

import collections
import functools
import itertools
import operator
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..contract.fields import REQUIREMENTS, FieldSpec
from ..contract.reading import FIELDS
from ..logic import (
    All,
    AnyOf,
    Condition,
    CurrentRef,
    FieldRef,
    Not,
    Test,
    _test,
    fields_of,
    holds,
)
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
    """The search as ``_truth`` and ``_open_field`` define it, node for node and step for step
    (so the budget runs out exactly where theirs would), with the condition compiled
    (``_compiled``): each step asks the compiled condition for both at once, and a part of it
    whose answers have not changed since it was last asked answers from memory."""

    condition: Condition
    domains: Mapping[str, list[Any]]
    budget: int
    keep: bool = False
    """Whether parts may keep their results by their answers (``_may_keep``)."""

    def run(self, given: dict[str, Any]) -> dict[str, Any] | None:
        root = _compiled(self.condition)
        values = [given.get(name, _MISSING) for name in list(_PLACES)]
        memos: _Memos = collections.defaultdict(dict) if self.keep else None
        return self._run(root, given, values, memos)

    def _run(
        self, root: _Node, given: dict[str, Any], values: list[Any], memos: _Memos
    ) -> dict[str, Any] | None:
        truth, name = root(given, values, memos)
        if truth is not None:
            return dict(given) if truth else None
        self.budget -= 1
        if self.budget < 0:
            raise Undecided
        assert name is not None  # undecided: some test still lacks an answer
        at = _PLACES[name]
        for value in self.domains[name]:
            given[name] = value
            values[at] = value
            found = self._run(root, given, values, memos)
            if found is not None:
                return found
        del given[name]
        values[at] = _MISSING
        return None


# -- the condition, compiled for the search ----------------------------------------------------
#
# A condition is compiled into functions of the answers given so far (a dict, and the same
# answers as a list with a place for each name, ``_MISSING`` where none is given yet), each
# returning ``(_truth, _open_field)`` of its part. A part keeps its results, in one search, by
# the answers it reads (its dict in the search's ``memos``; None: keep nothing). A part is
# compiled once per process: the coverage of a pack asks about the same rules' conditions in
# thousands of combinations.

_MISSING: Any = object()
"""No answer yet (in the search's list of answers; None is an answer: not given)."""

_Step = tuple[bool | None, str | None]
_Memos = dict[int, dict[Any, _Step]] | None
_Node = Callable[[dict[str, Any], list[Any], _Memos], _Step]

_PLACES: dict[str, int] = {}
"""Each name's place in the search's list of answers."""
_NAMES: list[str] = []
_PARTS: dict[Any, _Part] = {}
"""Each part compiled, by what it tests (``_part``)."""
_MAX_PARTS = 100_000
_KEEP_UP_TO = 16
"""A part that reads more answers than this changes with almost every step: it keeps nothing."""
_LOCK = threading.RLock()


def _compiled(condition: Condition) -> _Node:
    """``condition`` compiled (its parts keep their results; it does not: it changes with
    every step of a search)."""
    with _LOCK:
        if len(_PARTS) > _MAX_PARTS:
            _PARTS.clear()
        return _part(condition).whole


@dataclass(frozen=True)
class _Part:
    whole: _Node
    kept: _Node
    """The same, keeping its results by the answers it reads."""
    reads: frozenset[int]
    """The places of the answers it reads."""


def _part(condition: Condition) -> _Part:
    """``condition`` compiled, once: a test is known by its field, operator and value and the
    value's type (conditions are equal when their values are, and ``True == 1``); a part made
    of others by them."""
    key: Any
    if isinstance(condition, Test):
        key = (condition, _signature(condition.value))
        items: list[_Part] = []
    else:
        inner = (condition.item,) if isinstance(condition, Not) else condition.items
        items = [_part(item) for item in inner]
        key = (type(condition), *(id(item) for item in items))
    found = _PARTS.get(key)
    if found is None:
        found = _PARTS[key] = _compile(condition, items)
    return found


def _signature(value: Any) -> Any:
    if isinstance(value, (tuple, list)):
        return (type(value), *(_signature(v) for v in value))
    if isinstance(value, (FieldRef, CurrentRef)):
        return (type(value), type(value.plus))
    return type(value)


def _place(name: str) -> int:
    if name not in _PLACES:
        _PLACES[name] = len(_NAMES)
        _NAMES.append(name)
    return _PLACES[name]


def _compile(condition: Condition, parts: list[_Part]) -> _Part:
    if isinstance(condition, Test):
        return _compile_test(condition)
    if isinstance(condition, Not):
        inner = parts[0].kept

        def negation(given: dict[str, Any], values: list[Any], memos: _Memos) -> _Step:
            truth, name = inner(given, values, memos)
            return (None, name) if truth is None else (not truth, None)

        return _Part(negation, negation, parts[0].reads)
    items = tuple(part.kept for part in parts)
    reads = frozenset().union(*(part.reads for part in parts))
    decided = isinstance(condition, AnyOf)  # the value that settles it
    settled: _Step = (decided, None)
    otherwise: _Step = (not decided, None)

    def combined(given: dict[str, Any], values: list[Any], memos: _Memos) -> _Step:
        first: str | None = None
        undecided = False
        for item in items:
            truth, name = item(given, values, memos)
            if truth is decided:
                return settled
            if truth is None and not undecided:
                undecided = True
                first = name
        return (None, first) if undecided else otherwise

    return _Part(
        combined, _keep(combined, reads) if 0 < len(reads) <= _KEEP_UP_TO else combined, reads
    )


def _keep(node: _Node, reads: frozenset[int]) -> _Node:
    """``node``, keeping its results by the answers it reads."""
    key = operator.itemgetter(*sorted(reads))
    slot = next(_SLOTS)

    def kept(given: dict[str, Any], values: list[Any], memos: _Memos) -> _Step:
        if memos is None:
            return node(given, values, memos)
        memo = memos[slot]
        answers = key(values)
        found = memo.get(answers)
        if found is None:
            found = memo[answers] = node(given, values, memos)
        return found

    return kept


_SLOTS = itertools.count()
"""A number for each part that keeps its results: its key in a search's ``memos``."""


def _compile_test(test: Test) -> _Part:
    at = _place(test.field)
    value = test.value
    other = _place(value.field) if isinstance(value, FieldRef) else None
    reads = frozenset(_place(name) for name in _read(test))
    first: _Step = (None, test.field)
    second: _Step = (None, value.field if isinstance(value, FieldRef) else None)

    def decided(given: dict[str, Any], values: list[Any], memos: _Memos) -> _Step:
        return (_test(test, given, given), None)  # holds(test, given)

    checked = _keep(decided, reads)

    def leaf(given: dict[str, Any], values: list[Any], memos: _Memos) -> _Step:
        if values[at] is _MISSING:
            return first
        if other is not None and values[other] is _MISSING:
            return second
        return decided(given, values, memos)

    def kept(given: dict[str, Any], values: list[Any], memos: _Memos) -> _Step:
        if values[at] is _MISSING:
            return first
        if other is not None and values[other] is _MISSING:
            return second
        return checked(given, values, memos)

    return _Part(leaf, kept, reads)


def _read(test: Test) -> list[str]:
    """The answers a test reads: its field's, and the other answer it is compared with (a
    ``{current: ...}`` one too: in the search it is read from the same answers)."""
    other = test.value.field if isinstance(test.value, (FieldRef, CurrentRef)) else None
    return [test.field] if other is None else [test.field, other]


@functools.lru_cache(maxsize=4096)
def _may_keep(whole: Condition, fixed: tuple[tuple[str, Any], ...]) -> bool:
    """Whether a search may keep results by the answers a part reads: only when every answer
    it can see is hashable and no two of one field's are equal without being the same answer
    (``True == 1 == 1.0``, in a set of answers too)."""
    domains = _domains(whole, fixed)
    given = dict(fixed)
    for name in dict.fromkeys(name for test in _tests(whole) for name in _read(test)):
        kinds: set[type] = set()
        for answer in [*domains.get(name, ()), *([given[name]] if name in given else [])]:
            try:
                hash(answer)
            except TypeError:
                return False
            _kinds(answer, kinds)
        if len(kinds & {bool, int, float, complex}) > 1:
            return False
    return True


def _hashable(answers: Mapping[str, Any]) -> bool:
    try:
        hash(tuple(answers.values()))
    except TypeError:
        return False
    return True


def _kinds(answer: Any, kinds: set[type]) -> None:
    if isinstance(answer, (tuple, frozenset)):
        for item in answer:
            _kinds(item, kinds)
    else:
        kinds.add(type(answer))


def witness(
    condition: Condition, fixed: Mapping[str, Any] | None = None, budget: int = BUDGET
) -> dict[str, Any] | None:
    """Answers (those that decide it; None: not given) for which ``condition`` and what the
    contract requires of them hold, with the answers in ``fixed`` kept; None if there are none.
    Raises ``Undecided`` when the search runs out of ``budget``."""
    whole = _with_contract(condition)
    frozen = _frozen(fixed)
    given = dict(fixed or {})
    keep = _hashable(given) and _may_keep(whole, frozen)
    return _Search(whole, _domains(whole, frozen), budget, keep).run(given)


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
