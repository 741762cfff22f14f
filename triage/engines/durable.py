"""The durable-rules backend: the only module that imports durable-rules.

It drives durable-rules' C core (``durable_rules_engine``) directly. Its Python host
(``durable.engine``) is not used: that host treats an action that completes more than 10 s of
wall-clock time after it started as timed out and silently drops it, leaving the session leased,
so that a stalled process or a clock step turned every later evaluation into "no rule fired". Here
an evaluation is a few synchronous C calls under one lock, with no clock involved:

1. assert this evaluation's facts in one batch (``assert_facts``), in a session of its own;
2. take the fired rules one by one (``start_action_for_state``, then
   ``complete_and_start_action`` until none is left): the rule id is the key of each result;
3. delete the session (``delete_state``), facts and all.

Every compiled ruleset holds a sentinel rule that fires on every current report. An evaluation
proves it ran by returning the sentinel, exactly once, with every result naming this
evaluation's facts; anything else (no sentinel, a result left over from another evaluation, an
error code, an exception) raises ``EvaluationError`` and replaces the ruleset with a fresh
generation, so the next evaluation starts clean. A check never falls back to "continue".

The pitfalls of durable-rules measured on this machine (docs/engine.md), and what is done:

- a posted event fires only one matching rule, so reports are asserted as facts;
- an ``$or`` (or ``$and`` of ``$or``) fires its rule once per true branch: firings are a set;
- a fact field named ``id`` is the fact's identity: facts are built here, with our own id;
- retracting facts after a rule that joins two of them has fired reads freed frames, and
  deleting a session whose action context was never set frees uninitialised pointers (both seen
  with valgrind; the first crashed about one run in three of a few thousand generated
  histories): each evaluation asserts into a session of its own and deletes it once its first
  result has been taken (a session with none is left, and the ruleset replaced); never more
  than one session is alive, all under one lock;
- a comparison between two answers (a reference: ``{field: ...}``, ``{current: ...}``, rising
  sessions) is evaluated through uninitialised memory (valgrind; it crashed the process): the
  compiled rules hold none. The adapter computes each difference into the fact
  (``pain_now__minus__pain_before``, ``pain_now__minus_current__pain_now``,
  ``pain_during__minus_newer``) and the rule compares it with the offset, to 4 decimals, as
  ``triage.logic`` defines the comparison;
- rulesets are never re-registered (there is no unregister): the name carries the pack hash and a
  generation number;
- ``$nex`` (field absent) hangs the process when it stands alone or in an ``$or``: it is never
  emitted; presence is compiled as boolean flags that the adapter adds to each fact;
- a test on an absent field is guarded by its presence flag (a reference to an absent field gave
  context-dependent results before references were removed);
- a rule with more than 31 expressions in one pattern cannot be compiled ("error code: 113"):
  ``compile_problems`` finds the rules of a pack that do not compile, for the pack loader.

The C API used here (the functions above, their return shapes, and the result format
``{"rule id": ...}``) is that of durable-rules 2.0.28, which ``pyproject.toml`` pins;
``tests/unit/rules/test_engine.py`` checks each assumption.
"""

from __future__ import annotations

import itertools
import json
import os
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib.metadata import version as _dist_version
from typing import Any

import durable_rules_engine as _core  # type: ignore[import-not-found]

from ..contract.fields import FieldSpec
from ..contract.reading import FIELDS
from ..errors import EvaluationError
from ..logic import All, Condition, CurrentRef, FieldRef, Not, Test, difference, fields_of
from ..pack.conditions import EARLIER_FIELDS, SESSION_FIELDS
from ..pack.history import (
    Context,
    EarlierChecks,
    PreviousSession,
    RisingSessions,
    SessionFact,
    When,
)
from ..pack.rules import Rule, RulePack

_KIND = "fact_kind"  # current, earlier or session; no report field has this name
_CURRENT = "current"  # the name of the current report's pattern
_NEGATED = {"eq": "ne", "ne": "eq", "ge": "lt", "lt": "ge", "le": "gt", "gt": "le"}
_OPERATOR = {"ne": "$neq", "ge": "$gte", "le": "$lte", "gt": "$gt", "lt": "$lt"}


def _flag(field: str) -> str:
    return f"present__{field}"


def _minus(field: str, other: str) -> str:
    """``field`` minus another answer of the same fact, computed by the adapter."""
    return f"{field}__minus__{other}"


def _minus_current(field: str, other: str) -> str:
    """An earlier check's (or session's) ``field`` minus the current report's ``other``."""
    return f"{field}__minus_current__{other}"


def _same_as_current(field: str, other: str) -> str:
    """Whether an earlier check's (or session's) ``field`` is the current report's ``other``."""
    return f"{field}__same_as_current__{other}"


def _minus_newer(field: str) -> str:
    """A session's ``field`` minus that of the session ranked just before it (newer)."""
    return f"{field}__minus_newer"


def _member(field: str, value: str) -> str:
    """A set field is flattened into one true/false fact field per answer it can hold."""
    return f"{field}__{value}"


@dataclass
class _Needs:
    """What the facts of one kind (current, earlier, session) must hold for the rules compiled:
    nothing else is put in them."""

    flags: set[str] = field(default_factory=set)  # presence flags
    members: dict[str, set[str]] = field(default_factory=dict)  # set field: answers tested
    minus: set[tuple[str, str]] = field(default_factory=set)  # differences within one fact
    minus_current: set[tuple[str, str]] = field(default_factory=set)  # fact minus current
    same_as_current: set[tuple[str, str]] = field(default_factory=set)  # answer == current's
    minus_newer: set[str] = field(default_factory=set)  # session minus the newer session
    compared: set[str] = field(default_factory=set)  # answers compared as they are


class _Compiler:
    """Turns validated conditions into durable-rules JSON, pushing ``not`` down to the tests."""

    def __init__(self) -> None:
        self.needs = {kind: _Needs() for kind in ("current", "earlier", "session")}
        self.need = self.needs["current"]  # of the pattern being compiled

    def condition(
        self, node: Condition, specs: Mapping[str, FieldSpec], negate: bool = False
    ) -> dict[str, Any]:
        if isinstance(node, Test):
            return self._test(node, specs, negate)
        if isinstance(node, Not):
            return self.condition(node.item, specs, not negate)
        conjunction = isinstance(node, All) != negate
        parts = [self.condition(item, specs, negate) for item in node.items]
        return parts[0] if len(parts) == 1 else {"$and" if conjunction else "$or": parts}

    def _present(self, field: str, present: bool) -> dict[str, Any]:
        self.need.flags.add(field)
        return {_flag(field): present}

    def _set_test(self, test: Test, spec: FieldSpec, negate: bool) -> dict[str, Any]:
        """``has``, ``has_any`` and ``present`` (not empty) on the flattened set: any of the
        values' fields true; negated, all of them false."""
        values = {"has": (test.value,), "has_any": test.value}.get(test.op, spec.choices)
        self.need.members.setdefault(spec.name, set()).update(values)
        if test.op == "present" and not test.value:
            negate = not negate
        parts = [{_member(spec.name, v): not negate} for v in values]
        return parts[0] if len(parts) == 1 else {"$and" if negate else "$or": parts}

    def _test(self, test: Test, specs: Mapping[str, FieldSpec], negate: bool) -> dict[str, Any]:
        if specs[test.field].kind == "set":
            return self._set_test(test, specs[test.field], negate)
        if test.op == "present":
            return self._present(test.field, test.value != negate)
        if test.op == "in":
            op, join = ("ne", "$and") if negate else ("eq", "$or")
            parts = [self._compare(test.field, op, v) for v in test.value]
            return self._guard(test, specs, {join: parts} if len(parts) > 1 else parts[0], negate)
        op = _NEGATED[test.op] if negate else test.op
        return self._guard(test, specs, self._compare(test.field, op, test.value), negate)

    def _guard(
        self, test: Test, specs: Mapping[str, FieldSpec], comparison: dict[str, Any], negate: bool
    ) -> dict[str, Any]:
        """Never let durable-rules compare an absent answer: it is unreliable (an absent
        ``pain_before`` made ``pain_now >= pain_before + 2`` true). A test on an absent answer is
        false, so its negation is true."""
        optional = [f for f in fields_of(test) if not specs[f].required]
        if not optional:
            return comparison
        flags = [self._present(f, not negate) for f in optional]
        return {"$or" if negate else "$and": [*flags, comparison]}

    def _compare(self, field: str, op: str, value: Any) -> dict[str, Any]:
        """One comparison with a constant. A comparison with another answer (``FieldRef``,
        ``CurrentRef``) becomes one with a difference the adapter computes into the fact:
        durable-rules evaluates references between answers (its beta expressions) with reads of
        uninitialised memory, which valgrind shows and which crashed the process."""
        if isinstance(value, FieldRef):
            self.need.minus.add((field, value.field))
            field, value = _minus(field, value.field), value.plus
        elif isinstance(value, CurrentRef) and FIELDS[value.field].numeric:
            self.need.minus_current.add((field, value.field))
            field, value = _minus_current(field, value.field), value.plus
        elif isinstance(value, CurrentRef):
            self.need.same_as_current.add((field, value.field))
            field, value, op = _same_as_current(field, value.field), op == "eq", "eq"
        else:
            self.need.compared.add(field)
        if op == "eq":
            return {field: value}
        return {_OPERATOR[op]: {field: value}}

    def rule(self, when: When) -> dict[str, Any]:
        """The patterns of one rule: the current report, then one or more per history test."""
        self.need = self.needs["current"]
        current: list[dict[str, Any]] = [{_KIND: "current"}]
        if when.condition is not None:
            current.append(self.condition(when.condition, FIELDS))
        patterns = [{_CURRENT: _all(current)}]
        compiled: dict[str, Any] = {}
        for number, test in enumerate(when.history):
            if isinstance(test, EarlierChecks):
                patterns.append({f"earlier{number}": self._earlier(test)})
                if test.at_least > 1:
                    compiled["count"] = test.at_least
            elif isinstance(test, PreviousSession):
                patterns.append({f"previous{number}": self._previous(test)})
            else:
                patterns += self._rising(test, number)
        return {"all": patterns, **compiled}

    def _previous(self, test: PreviousSession) -> dict[str, Any]:
        self.need = self.needs["session"]
        parts: list[dict[str, Any]] = [
            {_KIND: "session"},
            {"rank": 1},
            {"$lte": {"days_ago": test.within_days}},
        ]
        if test.where is not None:
            parts.append(self.condition(test.where, SESSION_FIELDS))
        return _all(parts)

    def _earlier(self, test: EarlierChecks) -> dict[str, Any]:
        self.need = self.needs["earlier"]
        self.need.compared.update(("days_ago", "same_session"))
        parts: list[dict[str, Any]] = [{_KIND: "earlier"}, {"$lte": {"days_ago": test.within_days}}]
        if test.same_session:
            parts.append({"same_session": True})
        if test.where is not None:
            parts.append(self.condition(test.where, EARLIER_FIELDS))
        return _all(parts)

    def _rising(self, test: RisingSessions, number: int) -> list[dict[str, Any]]:
        self.need = self.needs["session"]
        self.need.minus_newer.add(test.field)
        patterns = []
        for rank in range(test.sessions):
            parts: list[dict[str, Any]] = [
                {_KIND: "session"},
                {"rank": rank},
                {"$lte": {"days_ago": test.within_days}},
            ]
            if rank:  # lower than the newer session before it in the list
                parts.append({"$lt": {_minus_newer(test.field): 0}})
            patterns.append({f"session{number}_{rank}": _all(parts)})
        return patterns


def _difference(
    answers: Mapping[str, Any], field: str, others: Mapping[str, Any], other: str
) -> float | None:
    if answers.get(field) is None or others.get(other) is None:
        return None
    return difference(answers[field], others[other])


def _put(fact: dict[str, Any], name: str, value: Any) -> None:
    if value is not None:
        fact[name] = value


def _all(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return parts[0] if len(parts) == 1 else {"$and": parts}


_SENTINEL = "triage:sentinel"  # ':' is never in a rule id: it cannot clash with a pack's rules
_SENTINEL_RULE = {"all": [{_CURRENT: {_KIND: "current"}}]}
_ASSERTED, _NOT_HANDLED = 0, 1  # the codes of assert_facts that mean "the facts are in"
_MAX_RESULTS = 10_000  # far above any pack: each rule fires at most once per branch or count


def _definition(rules: tuple[Rule, ...]) -> tuple[dict[str, Any], _Compiler]:
    """The ruleset for durable-rules, and its compiler: the presence flags and the flattened
    set fields its facts need."""
    compiler = _Compiler()
    definition = {rule.id: compiler.rule(rule.when) for rule in rules}
    return definition, compiler


def _create(name: str, definition: dict[str, Any]) -> int:
    handle: int = _core.create_ruleset(name, json.dumps(definition, ensure_ascii=False))
    return handle


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), check_circular=False)
"""One encoder for every evaluation (``json.dumps`` with options builds one per call)."""


class _FactPlan:
    """How the facts of one kind are built: only what the rules read of them (the answers they
    compare, the presence flags, the flattened set fields, the differences they test). An
    answer no rule reads is left out: durable-rules parses and indexes every field it is given."""

    def __init__(self, needs: _Needs) -> None:
        self.compared = tuple(sorted(needs.compared))
        self.flags = tuple((_flag(f), f) for f in sorted(needs.flags))
        self.members = tuple(
            (_member(name, v), name, v)
            for name, values in sorted(needs.members.items())
            for v in sorted(values)
        )
        self.minus = tuple((_minus(f, o), f, o) for f, o in sorted(needs.minus))
        self.minus_current = tuple(
            (_minus_current(f, o), f, o) for f, o in sorted(needs.minus_current)
        )
        self.same_as_current = tuple(
            (_same_as_current(f, o), f, o) for f, o in sorted(needs.same_as_current)
        )
        self.minus_newer = tuple((_minus_newer(f), f) for f in sorted(needs.minus_newer))

    def fact(self, answers: Mapping[str, Any], current: Mapping[str, Any] | None) -> dict[str, Any]:
        get = answers.get
        fact = {f: v for f in self.compared if (v := get(f)) is not None}
        for key, f in self.flags:
            fact[key] = get(f) is not None
        for key, f, value in self.members:
            fact[key] = value in (get(f) or ())
        for key, f, other in self.minus:
            _put(fact, key, _difference(answers, f, answers, other))
        if current is not None:
            for key, f, other in self.minus_current:
                _put(fact, key, _difference(answers, f, current, other))
            for key, f, other in self.same_as_current:
                if get(f) is not None:
                    fact[key] = answers[f] == current[other]
        return fact


class _Ruleset:
    """One compiled pack in the C core, and how its facts are built."""

    def __init__(self, pack: RulePack, generation: int) -> None:
        definition, compiler = _definition(pack.rules)
        self.plans = {kind: _FactPlan(needs) for kind, needs in compiler.needs.items()}
        self.name = f"triage_{pack.sha256[:20]}_{generation}"
        self.handle = _create(self.name, {**definition, _SENTINEL: _SENTINEL_RULE})

    def fact(
        self,
        kind: str,
        answers: Mapping[str, Any],
        fact_id: str,
        current: Mapping[str, Any] | None = None,
        **derived: Any,
    ) -> dict[str, Any]:
        """One fact of ``kind``: what the rules read of the answers, with the comparisons with
        other answers computed here (``current``: the report an earlier check is compared
        with). A derived value whose answers are absent is left out, as the answers are."""
        fact = self.plans[kind].fact(answers, current)
        fact.update(derived)
        fact[_KIND] = kind
        fact["id"] = fact_id  # ours, set last: report data can never be the fact identity
        fact["sid"] = fact_id.split("-")[0]  # the session of this evaluation
        return fact

    def facts(self, context: Context, ids: Iterator[int]) -> list[dict[str, Any]]:
        """The current report (first), the earlier checks and the sessions, as facts."""
        evaluation = next(ids)
        numbers = itertools.count()

        def fact_id() -> str:
            return f"e{evaluation}-{next(numbers)}"

        current = context.answers
        facts = [self.fact("current", current, fact_id())]
        for earlier in context.earlier or ():
            facts.append(self.fact("earlier", earlier.facts(), fact_id(), current))
        if context.has_history:
            newer: SessionFact | None = None
            for session in context.sessions:
                down: dict[str, Any] = {}
                if newer is not None:
                    for key, f in self.plans["session"].minus_newer:
                        # an answer may be absent (a check stopped early): then no difference
                        _put(down, key, _difference(session.answers, f, newer.answers, f))
                facts.append(
                    self.fact(
                        "session",
                        session.answers,
                        fact_id(),
                        current,
                        rank=session.rank,
                        days_ago=session.days_ago,
                        **down,
                    )
                )
                newer = session
        return facts

    def evaluate(self, facts: list[dict[str, Any]]) -> set[str]:
        """Assert the facts in a session of their own, take every result, delete the session;
        check the proof of evaluation."""
        text = _ENCODER.encode(facts)
        marker = f'"id":"{facts[0]["id"]}"'  # every rule's first pattern is the current report
        started = False
        try:
            code, state = _core.assert_facts(self.handle, text)
            if code not in (_ASSERTED, _NOT_HANDLED):
                raise EvaluationError(f"durable-rules refused the facts (code {code})")
            first = _core.start_action_for_state(self.handle, state)
            started = first is not None
            fired = self._results(first, state, marker)
        finally:
            # Deleting a session frees its action context, which only a started action sets:
            # a session without one is left in this ruleset, which the engine then replaces.
            if started:
                _core.delete_state(self.handle, facts[0]["sid"])
        if fired.count(_SENTINEL) != 1:
            raise EvaluationError(
                "durable-rules gave no proof that it evaluated the rules (the sentinel rule "
                f"fired {fired.count(_SENTINEL)} times instead of once)"
            )
        return set(fired) - {_SENTINEL}

    def _results(self, result: Any, state: int, marker: str) -> list[str]:
        fired: list[str] = []
        while result is not None:
            messages = result if isinstance(result, str) else result[1]
            if marker not in messages:
                raise EvaluationError("durable-rules returned a result of another evaluation")
            fired.append(messages[2 : messages.index('"', 2)])  # '{"rule id":{...}}'
            if len(fired) > _MAX_RESULTS:
                raise EvaluationError("durable-rules returned results without end")
            result = _core.complete_and_start_action(self.handle, state)
        return fired


class DurableEngine:
    """Evaluates packs with durable-rules' C core, one evaluation at a time behind a lock."""

    name = "durable-rules"
    version = _dist_version("durable-rules")
    _instance: DurableEngine | None = None
    _instance_lock = threading.Lock()

    def __init__(self) -> None:
        self._rulesets: dict[str, _Ruleset] = {}
        self._generations = itertools.count(1)
        self._lock = threading.Lock()
        self._evaluations = itertools.count()

    @classmethod
    def instance(cls) -> DurableEngine:
        """The process-wide engine: durable-rules keeps global state in its C core."""
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def prepare(self, pack: RulePack) -> None:
        """Compile ``pack`` now rather than at its first evaluation; raises ``_core.error`` if
        durable-rules cannot compile it."""
        with self._lock:
            self._ruleset(pack)

    def _ruleset(self, pack: RulePack) -> _Ruleset:
        ruleset = self._rulesets.get(pack.sha256)
        if ruleset is None:
            ruleset = self._rulesets[pack.sha256] = _Ruleset(pack, next(self._generations))
        return ruleset

    def fired(self, pack: RulePack, context: Context) -> set[str]:
        with self._lock:
            try:
                ruleset = self._ruleset(pack)
                return ruleset.evaluate(ruleset.facts(context, self._evaluations))
            except BaseException as exc:
                # Whatever state the failure left behind, the next evaluation starts afresh.
                self._rulesets.pop(pack.sha256, None)
                if isinstance(exc, EvaluationError) or not isinstance(exc, Exception):
                    raise
                raise EvaluationError(f"durable-rules failed: {exc}") from exc


def _fresh_locks_after_fork() -> None:
    """In a forked child (``evaluate_many``'s workers), a lock that another thread of the parent
    held at the fork would never be released: the child starts with fresh ones. Its copy of
    the C core's state is its own."""
    DurableEngine._instance_lock = threading.Lock()
    if DurableEngine._instance is not None:
        DurableEngine._instance._lock = threading.Lock()


os.register_at_fork(after_in_child=_fresh_locks_after_fork)

_probe_names = itertools.count()


def compile_problems(pack: RulePack) -> list[tuple[str | None, str]]:
    """The rules of ``pack`` that durable-rules cannot compile, each with the engine's message
    (rule id None: the pack as a whole). A pack that compiles is kept, ready to evaluate."""
    try:
        DurableEngine.instance().prepare(pack)
        return []
    except _core.error as whole:
        problems: list[tuple[str | None, str]] = []
        for rule in pack.rules:
            definition, _ = _definition((rule,))
            try:
                handle = _create(f"triage_probe_{next(_probe_names)}", definition)
            except _core.error as exc:
                problems.append((rule.id, str(exc)))
            else:
                _core.delete_ruleset(handle)  # never used: it holds no state
        return problems or [(None, str(whole))]
