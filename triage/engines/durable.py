"""The durable-rules backend: the only module that imports durable-rules.

durable-rules (Rete, C core, unmaintained since 2020) has sharp edges, measured on this machine;
each is handled here:

- a posted event fires only one matching rule, so reports are asserted as facts;
- a fact that matches nothing raises MessageNotHandledException: that is "no rule fired";
- an ``$or`` (or ``$and`` of ``$or``) fires its rule once per true branch: firings are a set;
- an exception inside an action is swallowed into the session state: the state is checked after
  every evaluation, cleared, and the evaluation fails;
- a fact field named ``id`` is the fact's identity: facts are built here, with our own id;
- sessions are limited and deleting them can crash the process: one fixed session per ruleset,
  assert then retract, never delete, all under one lock;
- rulesets are never re-registered (there is no unregister): the name carries the pack hash;
- actions take exactly one parameter (two would make them asynchronous);
- ``$nex`` (field absent) hangs the process when it stands alone or in an ``$or``: it is never
  emitted; presence is compiled as boolean flags that the adapter adds to each fact;
- a comparison involving an absent field gives context-dependent results (``pain_now >=
  pain_before + 2`` fired with no ``pain_before``): every test on an optional field is guarded
  by its presence flag;
- ``Host()`` starts background threads that dispatch pending actions every 0.2 s and could take
  an action away from an evaluation in progress: this host has no background dispatch.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator, Mapping
from importlib.metadata import version as _dist_version
from typing import Any

import durable.engine as _durable  # type: ignore[import-untyped]

from ..conditions import (
    EARLIER_FIELDS,
    All,
    Condition,
    CurrentRef,
    EarlierChecks,
    FieldRef,
    Not,
    RisingSessions,
    Test,
    When,
    fields_of,
)
from ..contract import FIELDS, FieldSpec
from ..errors import EvaluationError
from ..history import Context
from ..pack import RulePack

_SESSION = "triage"
_KIND = "fact_kind"  # current, earlier or session; no report field has this name
_CURRENT = "current"  # the name of the current report's pattern, for {current: ...} references
_NEGATED = {"eq": "ne", "ne": "eq", "ge": "lt", "lt": "ge", "le": "gt", "gt": "le"}
_OPERATOR = {"ne": "$neq", "ge": "$gte", "le": "$lte", "gt": "$gt", "lt": "$lt"}


def _flag(field: str) -> str:
    return f"present__{field}"


class _QuietHost(_durable.Host):  # type: ignore[misc]
    """A host without the background dispatch threads (see the module docstring)."""

    def _run(self) -> None:
        pass


class _Compiler:
    """Turns validated conditions into durable-rules JSON, pushing ``not`` down to the tests."""

    def __init__(self) -> None:
        self.flags: set[str] = set()

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
        self.flags.add(field)
        return {_flag(field): present}

    def _test(self, test: Test, specs: Mapping[str, FieldSpec], negate: bool) -> dict[str, Any]:
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

    @staticmethod
    def _compare(field: str, op: str, value: Any) -> dict[str, Any]:
        if isinstance(value, FieldRef):
            value = {"$add": {"$l": {"$m": value.field}, "$r": value.plus}}
        elif isinstance(value, CurrentRef):
            value = {_CURRENT: value.field}  # the current report's fact, by its pattern name
        if op == "eq":
            return {field: value}
        return {_OPERATOR[op]: {field: value}}

    def rule(self, when: When) -> dict[str, Any]:
        """The patterns of one rule: the current report, then one or more per history test."""
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
            else:
                patterns += self._rising(test, number)
        return {"all": patterns, **compiled}

    def _earlier(self, test: EarlierChecks) -> dict[str, Any]:
        parts: list[dict[str, Any]] = [{_KIND: "earlier"}, {"$lte": {"days_ago": test.within_days}}]
        if test.same_session:
            parts.append({"same_session": True})
        if test.where is not None:
            parts.append(self.condition(test.where, EARLIER_FIELDS))
        return _all(parts)

    @staticmethod
    def _rising(test: RisingSessions, number: int) -> list[dict[str, Any]]:
        patterns = []
        for rank in range(test.sessions):
            parts: list[dict[str, Any]] = [
                {_KIND: "session"},
                {"rank": rank},
                {"$lte": {"days_ago": test.within_days}},
            ]
            if rank:  # lower than the newer session before it in the list
                parts.append({"$lt": {test.field: {f"session{number}_{rank - 1}": test.field}}})
            patterns.append({f"session{number}_{rank}": _all(parts)})
        return patterns


def _all(parts: list[dict[str, Any]]) -> dict[str, Any]:
    return parts[0] if len(parts) == 1 else {"$and": parts}


class _Ruleset:
    """One registered pack: its name, the presence flags its facts need, and the rules that fired."""

    def __init__(self, host: _QuietHost, pack: RulePack) -> None:
        self.name = f"triage_{pack.sha256[:20]}"
        self.fired: set[str] = set()
        compiler = _Compiler()
        definition = {
            rule.id: {**compiler.rule(rule.when), "run": self._action(rule.id)}
            for rule in pack.rules
        }
        self.flags = frozenset(compiler.flags)
        host.register_rulesets({self.name: definition})

    def _action(self, rule_id: str) -> Callable[[Any], None]:
        def record(closure: Any) -> None:  # exactly one parameter: a synchronous action
            self.fired.add(rule_id)

        return record

    def fact(
        self, kind: str, answers: dict[str, Any], fact_id: str, **derived: Any
    ) -> dict[str, Any]:
        fact = {f: v for f, v in answers.items() if v is not None}
        fact.update({_flag(f): answers.get(f) is not None for f in self.flags})
        fact.update(derived)
        fact[_KIND] = kind
        fact["id"] = fact_id  # ours, set last: report data can never be the fact identity
        fact["sid"] = _SESSION
        return fact

    def facts(self, context: Context, ids: Iterator[int]) -> list[dict[str, Any]]:
        """The current report, the earlier checks and the sessions, as facts."""
        facts = [self.fact("current", context.answers, f"report-{next(ids)}")]
        for earlier in context.earlier or ():
            facts.append(self.fact("earlier", earlier.facts(), f"report-{next(ids)}"))
        if context.has_history:
            for session in context.sessions:
                facts.append(
                    self.fact(
                        "session",
                        session.answers,
                        f"report-{next(ids)}",
                        rank=session.rank,
                        days_ago=session.days_ago,
                    )
                )
        return facts


class DurableEngine:
    """Evaluates packs with durable-rules, one evaluation at a time behind a lock."""

    name = "durable-rules"
    version = _dist_version("durable-rules")
    _instance: DurableEngine | None = None
    _instance_lock = threading.Lock()

    def __init__(self) -> None:
        self._host = _QuietHost()
        self._rulesets: dict[str, _Ruleset] = {}
        self._lock = threading.Lock()
        self._fact_ids = itertools.count()

    @classmethod
    def instance(cls) -> DurableEngine:
        """The process-wide engine: durable-rules keeps global state in its C core."""
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def prepare(self, pack: RulePack) -> None:
        """Compile and register ``pack`` now rather than at its first evaluation."""
        with self._lock:
            self._ruleset(pack)

    def _ruleset(self, pack: RulePack) -> _Ruleset:
        ruleset = self._rulesets.get(pack.sha256)
        if ruleset is None:
            ruleset = self._rulesets[pack.sha256] = _Ruleset(self._host, pack)
        return ruleset

    def fired(self, pack: RulePack, context: Context) -> set[str]:
        with self._lock:
            ruleset = self._ruleset(pack)
            facts = ruleset.facts(context, self._fact_ids)
            ruleset.fired = set()
            asserted = []
            try:
                for fact in facts:
                    asserted.append(fact)
                    self._call(self._host.assert_fact, ruleset.name, fact)
            finally:
                for fact in asserted:
                    self._call(self._host.retract_fact, ruleset.name, fact)
            self._check_state(ruleset.name)
            return ruleset.fired

    @staticmethod
    def _call(
        method: Callable[[str, dict[str, Any]], Any], name: str, fact: dict[str, Any]
    ) -> None:
        try:
            method(name, fact)
        except _durable.MessageNotHandledException:
            pass  # the fact matched no rule (or, on retract, left none to undo)

    def _check_state(self, name: str) -> None:
        state = self._host.get_state(name, _SESSION)
        error = state.pop("exception", None)
        if error is not None:
            self._host.update_state(name, state)
            raise EvaluationError(f"a durable-rules action failed: {str(error)[:200]}")
