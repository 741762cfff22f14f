"""The solver's compiled search against its definition: ``_truth`` and ``_open_field`` walked
node by node, as the search was first written. Both must find the same answers, or none, in
the same number of steps (so a budget runs out at the same step in both), for the conditions
the coverage of a pack and the "why not" explanations ask about."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

import triage
from tests.support.helpers import ROOT
from triage import logic
from triage.logic import All, AnyOf, Condition, Not
from triage.pack import solver
from triage.pack.coverage import _and, _condition, _level
from triage.pack.loading import default_pack
from triage.pack.rules import RulePack


class _Reference:
    """The search as first written: the whole condition walked at every step."""

    def __init__(self, condition: Condition, domains: Mapping[str, list[Any]], budget: int):
        self.condition = condition
        self.domains = domains
        self.budget = budget

    def run(self, given: dict[str, Any]) -> dict[str, Any] | None:
        truth = solver._truth(self.condition, given)
        if truth is not None:
            return dict(given) if truth else None
        self.budget -= 1
        if self.budget < 0:
            raise solver.Undecided
        name = solver._open_field(self.condition, given)
        assert name is not None
        for value in self.domains[name]:
            given[name] = value
            found = self.run(given)
            if found is not None:
                return found
        del given[name]
        return None


def _both(
    condition: Condition, fixed: Mapping[str, Any] | None = None, budget: int = solver.BUDGET
) -> tuple[Any, Any]:
    """What each search finds (a witness, None, or "undecided") and the budget it leaves."""
    whole = solver._with_contract(condition)
    frozen = solver._frozen(fixed)
    domains = solver._domains(whole, frozen)
    found = []
    for search in (
        _Reference(whole, domains, budget),
        solver._Search(
            whole,
            domains,
            budget,
            solver._hashable(dict(fixed or {})) and solver._may_keep(whole, frozen),
        ),
    ):
        try:
            result: Any = search.run(dict(fixed or {}))
        except solver.Undecided:
            result = "undecided"
        found.append((result, search.budget))
    return found[0], found[1]


def _questions(pack: RulePack, full: bool) -> Iterator[Condition]:
    """The conditions the coverage of ``pack`` asks about (the pairs, and with ``full`` the
    rule against all more severe rules at once)."""
    for rule in pack.rules:
        mine = solver.rule_condition(rule.when)
        yield mine
        above = [r for r in pack.rules if _level(r) > _level(rule) and not r.history]
        for other in above[:12]:
            yield _and(mine, _condition(other))
        if full and above:
            yield _and(mine, *(_condition(r) for r in above))


def _packs() -> list[RulePack]:
    support = ROOT / "tests" / "support" / "packs"
    return [triage.load_pack(support / name) for name in ("coverage", "history-coverage")]


def test_the_same_answers_in_the_same_steps_for_the_bundled_pack() -> None:
    pack = default_pack()
    for condition in _questions(pack, full=False):
        reference, compiled = _both(condition)
        assert compiled == reference, condition


@pytest.mark.parametrize("pack", _packs(), ids=lambda pack: pack.name)
def test_the_same_answers_in_the_same_steps_for_small_packs(pack: RulePack) -> None:
    for condition in _questions(pack, full=True):
        reference, compiled = _both(condition)
        assert compiled == reference, condition


def test_a_budget_runs_out_at_the_same_step() -> None:
    pack = default_pack()
    rule = pack.rules[-1]
    mine = solver.rule_condition(rule.when)
    above = [r for r in pack.rules if _level(r) > _level(rule) and not r.history]
    condition = _and(mine, *(_condition(r) for r in above[:30]))
    _, (_, left) = _both(condition, budget=100_000)
    used = 100_000 - left
    assert used > 3
    for budget in (1, 2, used // 2, used - 1, used, used + 1):
        reference, compiled = _both(condition, budget=budget)
        assert compiled == reference, budget
    assert _both(condition, budget=used - 1)[1][0] == "undecided"


def test_with_answers_fixed_as_the_explanations_ask() -> None:
    pack = default_pack()
    fixed_sets: list[dict[str, Any]] = [
        {"pain_now": 3, "pain_during": 5},
        {"numbness": ("one_leg",), "radiating_pain": ()},
        {"numbness": ["one_leg"], "chest_pain": "none"},  # a list: nothing kept by answers
        {"snap_or_tear": "unsure", "swelling": "mild"},
        {"hours_since_session": 48.5, "pain_trend": None},
    ]
    for rule in pack.rules[:40]:
        if rule.condition is None:
            continue
        for fixed in fixed_sets:
            reference, compiled = _both(rule.condition, fixed)
            assert compiled == reference, (rule.id, fixed)


def test_answers_equal_without_being_the_same_are_never_mixed_up() -> None:
    """``True == 1``: a search keeps results by answers only when no field can have two that
    are equal without being the same, or an answer that cannot be a key."""
    condition = AnyOf(
        (
            All((logic.Test("snap_or_tear", "eq", True), logic.Test("pain_now", "ge", 1))),
            Not(logic.Test("snap_or_tear", "in", ("unsure",))),
        )
    )
    for fixed in ({"snap_or_tear": 1}, {"snap_or_tear": True}, {"pain_now": True}, None):
        reference, compiled = _both(condition, fixed)
        assert compiled == reference, fixed
    assert solver._may_keep(solver._with_contract(condition), (("pain_now", True),))
    assert not solver._hashable({"numbness": ["one_leg"]})
