"""What a rule pack covers, found from its rules alone: rules that can never fire, rules that can
never change a decision, and policy rows no rule cites.

A rule can never fire when its condition cannot hold for any report the contract accepts
(``pain_now >= 8`` and ``pain_now <= 3``), its history conditions included. A rule can never
change a decision when every report that makes it fire also makes a more severe rule fire: it is
always overruled (for a continue rule, its advice is never shown). History rules overrule
nothing here: they fire only when the history is known. ``triage rules test`` adds the rules no
case makes fire.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..logic import All, AnyOf, Condition, Not
from ..outcomes import severity
from .rules import Rule, RulePack
from .solver import TRUE, Undecided, rule_condition, satisfiable


@dataclass(frozen=True)
class Overruled:
    """A rule that can never change a decision, and the more severe rules that always fire with
    it (one when a single rule's condition is weaker than its own)."""

    rule: str
    by: tuple[str, ...]


@dataclass(frozen=True)
class Coverage:
    """What the rules of a pack cover, from their conditions and the policy rows they cite."""

    never_fire: tuple[str, ...]
    overruled: tuple[Overruled, ...]
    uncited_rows: tuple[str, ...]
    rows_listed: bool
    undecided: tuple[str, ...] = ()
    """Rules too complex to analyse within the search's budget (neither proved nor refuted)."""


def _level(rule: Rule) -> int:
    return severity(rule.outcome, rule.urgency)


def _condition(rule: Rule) -> Condition:
    return rule.condition if rule.condition is not None else TRUE


def can_fire(rule: Rule) -> bool:
    """Whether some report the contract accepts (and some history) makes ``rule`` fire."""
    return satisfiable(rule_condition(rule.when))


def overruling(rule: Rule, pack: RulePack) -> tuple[str, ...] | None:
    """The more severe rules that always fire when ``rule`` does, or None if there is a report
    where it fires and none of them does. A single rule is named when one suffices; otherwise
    as few as the search finds."""
    mine = rule_condition(rule.when)
    above = [r for r in pack.rules if _level(r) > _level(rule) and not r.history]
    if not above:
        return None
    for other in above:  # a more severe rule with a weaker condition
        if not satisfiable(_and(mine, _condition(other))):
            return (other.id,)
    if satisfiable(_and(mine, *(_condition(r) for r in above))):
        return None
    needed = list(above)
    for other in above:  # drop each rule the others do not need
        rest = [r for r in needed if r is not other]
        if not satisfiable(_and(mine, *(_condition(r) for r in rest))):
            needed = rest
    return tuple(r.id for r in needed)


def _and(mine: Condition, *others: Condition) -> Condition:
    """``mine`` holds and none of ``others`` does."""
    return All((mine, Not(AnyOf(others)))) if others else mine


_FOUND: dict[tuple[str, tuple[str, ...]], Coverage] = {}
"""Coverage by the pack's content hash and its listed rows (which the hash leaves out): the
search takes seconds, and ``rules test`` or a page may ask again in one process."""


def coverage(pack: RulePack) -> Coverage:
    """The rules that can never fire or never change a decision, and the uncited policy rows."""
    key = (pack.sha256, pack.rows)
    if key not in _FOUND:
        _FOUND[key] = _search(pack)
    return _FOUND[key]


def _search(pack: RulePack) -> Coverage:
    never: list[str] = []
    overruled: list[Overruled] = []
    undecided: list[str] = []
    for rule in pack.rules:
        try:
            if not can_fire(rule):
                never.append(rule.id)
                continue
            by = overruling(rule, pack)
        except Undecided:
            undecided.append(rule.id)
            continue
        if by is not None:
            overruled.append(Overruled(rule.id, by))
    cited = {rule.policy_row for rule in pack.rules}
    return Coverage(
        tuple(never),
        tuple(overruled),
        tuple(row for row in pack.rows if row not in cited),
        bool(pack.rows),
        tuple(undecided),
    )
