"""Why a rule did not fire: for each rule more severe than a decision's outcome that did not
fire, the fewest answers that kept it from firing ("one answer away: pain_now was 5, the rule
needs 6 or more").

For clinicians only (``triage check --explain``, ``triage log show``), never as advice to a
patient. Computed from the rules' conditions and the report's answers with ``solver``, never by
an engine, so every engine gives the same explanation. The answers counted are those the rule
tests; answers it does not test may change with them as the contract requires (pain must be
present for a ``pain_site``).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ..contract.fields import FieldSpec, number_text
from ..contract.reading import FIELDS
from ..logic import fields_of
from ..outcomes import Outcome, Urgency, severity
from ..wording import counted
from .history import Context, When, rule_holds
from .rules import Rule, RulePack
from .solver import STEP, Undecided, possible_answers, satisfiable

MAX_WAYS = 5
"""At most this many alternative smallest sets of answers are given per rule."""


class _Frozen(BaseModel):
    """Immutable and strict, as the decision it belongs to."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Blocker(_Frozen):
    """One answer that kept a rule from firing: what it was (left out when it was not given)
    and, in words, what the rule needs."""

    field: str
    was: Any = None
    needs: str


class WhyNot(_Frozen):
    """A rule more severe than the outcome that did not fire, and why.

    ``answers_away`` is the fewest answers that would have to differ for it to fire, and
    ``blocked_by`` each smallest set of such answers (at most ``MAX_WAYS``). Both are absent when
    the answers met the rule's condition on this report: then ``history`` says that the
    patient's earlier checks did not meet it (``not met``) or were not known (``not known``).
    ``history`` is present for every rule that looks at earlier checks.
    """

    rule: str
    title: str
    outcome: Outcome
    urgency: Urgency | None = None
    answers_away: int | None = None
    blocked_by: tuple[tuple[Blocker, ...], ...] = ()
    history: Literal["met", "not met", "not known"] | None = None

    def words(self) -> str:
        """One line for a clinician: each smallest set of answers, or the history."""
        ways = [" and ".join(_blocker_words(b) for b in way) for way in self.blocked_by[:3]]
        text = "; or ".join(ways)
        if len(self.blocked_by) > 3:
            text += f"; or {counted(len(self.blocked_by) - 3, 'other way')}"
        if not self.blocked_by:
            if self.history in ("not met", "not known"):
                return f"the patient's earlier checks: {self.history}"
            return "no answers can make it fire"
        if self.history == "not known":
            text += "; and the patient's earlier checks were not known"
        return text


def _blocker_words(blocker: Blocker) -> str:
    was = "not given" if blocker.was is None else _value_words(blocker.was)
    return f"{blocker.field} was {was}, needs {blocker.needs}"


def _value_words(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(value) + "]"
    if isinstance(value, float):
        return number_text(value)
    return str(value)


def why_not(
    pack: RulePack,
    context: Context,
    fired: Iterable[str],
    outcome: str,
    urgency: str | None = None,
) -> tuple[WhyNot, ...]:
    """Every rule more severe than ``outcome`` (and ``urgency``) that is not in ``fired``, the
    closest first (fewest answers away), then the most severe."""
    level = severity(outcome, urgency)
    done = set(fired)
    found = [
        _explain(rule, context)
        for rule in pack.rules
        if rule.id not in done and severity(rule.outcome, rule.urgency) > level
    ]
    return tuple(
        sorted(
            found,
            key=lambda w: (
                w.answers_away if w.answers_away is not None else 99,
                -severity(w.outcome, w.urgency),
            ),
        )
    )


def _explain(rule: Rule, context: Context) -> WhyNot:
    history = None
    if rule.history:
        if not context.has_history:
            history = "not known"
        else:
            history = "met" if rule_holds(When(None, rule.history), context) else "not met"
    ways = smallest_changes(rule, context.answers) if rule.condition is not None else ()
    return WhyNot(
        rule=rule.id,
        title=rule.title,
        outcome=rule.outcome,
        urgency=rule.urgency,
        answers_away=len(ways[0]) if ways else None,
        blocked_by=ways,
        history=history,
    )


def smallest_changes(rule: Rule, answers: Mapping[str, Any]) -> tuple[tuple[Blocker, ...], ...]:
    """Each smallest set of the answers ``rule`` tests that, given otherwise, would meet its
    condition on this report (none when the answers meet it already, or when no answers can)."""
    condition = rule.condition
    if condition is None:
        return ()
    tested = [f for f in fields_of(condition) if f in FIELDS]
    fixed = {f: _answer(answers, f) for f in tested}
    try:
        if satisfiable(condition, fixed):
            return ()
        for size in range(1, len(tested) + 1):
            ways = []
            for changed in itertools.combinations(tested, size):
                kept = {f: v for f, v in fixed.items() if f not in changed}
                if satisfiable(condition, kept):
                    ways.append(tuple(_blocker(condition, f, kept, fixed[f]) for f in changed))
                    if len(ways) == MAX_WAYS:
                        break
            if ways:
                return tuple(ways)
    except Undecided:
        return ()
    return ()


def _answer(answers: Mapping[str, Any], name: str) -> Any:
    value = answers.get(name)
    if FIELDS[name].kind == "set":
        return tuple(value or ())
    return value


def _blocker(condition: Any, name: str, kept: dict[str, Any], was: Any) -> Blocker:
    tried, works = possible_answers(condition, name, kept)
    shown = list(was) if isinstance(was, tuple) else was
    return Blocker(field=name, was=shown, needs=needs(FIELDS[name], tried, works))


# -- what a rule needs, in words ---------------------------------------------------------------


def needs(spec: FieldSpec, tried: list[Any], works: list[Any]) -> str:
    """The answers in ``works`` (out of those ``tried``) in words: '6 or more', 'mild or
    marked', 'includes both_legs or saddle', 'not given'."""
    words = []
    given = [v for v in works if v is not None]
    if spec.numeric:
        words += _ranges(spec, [v for v in tried if v is not None], given)
    elif spec.kind == "set":
        words.append(_set_words(spec, given))
    elif given and len(given) == len([v for v in tried if v is not None]) > 1:
        words.append("an answer")
    elif given:
        words.append(" or ".join(_value_words(v) for v in given))
    if None in works:
        words.append("not given")
    return " or ".join(w for w in words if w) or "an answer the contract does not allow"


def _ranges(spec: FieldSpec, tried: list[Any], works: list[Any]) -> list[str]:
    """Runs of the answers that work, as '6 or more', '3 or less', '4 to 5', 'at least 48'."""
    values = sorted(tried)
    good = set(works)
    runs: list[tuple[Any, Any]] = []
    for value in values:
        if value in good:
            if runs and runs[-1][1] == values[values.index(value) - 1]:
                runs[-1] = (runs[-1][0], value)
            else:
                runs.append((value, value))
    return [_range_words(spec, low, high, values) for low, high in runs]


def _range_words(spec: FieldSpec, low: Any, high: Any, values: list[Any]) -> str:
    show = number_text
    at_bottom, at_top = low == values[0], high == values[-1]
    if spec.kind == "integer":
        if at_bottom and at_top:
            return "any number"
        if low == high:
            return show(low)
        if at_top:
            return f"{show(low)} or more"
        if at_bottom:
            return f"{show(high)} or less"
        return f"{show(low)} to {show(high)}"
    parts = []
    if not at_bottom:  # 'more than 48' for 48.0001, 'at least 48' for 48
        below = round(low - STEP, 4)
        nicer = len(show(below)) < len(show(low))
        parts.append(f"more than {show(below)}" if nicer else f"at least {show(low)}")
    if not at_top:
        above = round(high + STEP, 4)
        nicer = len(show(above)) < len(show(high))
        parts.append(f"less than {show(above)}" if nicer else f"at most {show(high)}")
    return " and ".join(parts) or "any number"


def _set_words(spec: FieldSpec, works: list[Any]) -> str:
    """A family of sets in words: the items it must include, or must not."""
    family = {frozenset(v) for v in works}
    if not family:
        return ""
    every = frozenset(spec.choices)
    smallest = [s for s in family if not any(t < s for t in family)]
    upward = all(s | {c} in family for s in family for c in every)
    if upward:
        if smallest == [frozenset()]:
            return "any answers"
        ordered = [sorted(s, key=spec.choices.index) for s in smallest]
        ordered.sort(key=lambda s: [spec.choices.index(c) for c in s])
        return "to include " + " or ".join(" and ".join(s) for s in ordered)
    largest = [s for s in family if not any(t > s for t in family)]
    downward = all(s - {c} in family for s in family for c in s)
    if downward and len(largest) == 1:
        left_out = [c for c in spec.choices if c not in largest[0]]
        return "to include none of " + ", ".join(left_out)
    listed = sorted(family, key=lambda s: (len(s), [spec.choices.index(c) for c in s]))
    return " or ".join("[" + ", ".join(sorted(s, key=spec.choices.index)) + "]" for s in listed)
