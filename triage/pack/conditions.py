"""The condition language of rule packs: parsed from YAML, checked against the report contract.

A condition is a mapping. ``all:``, ``any:`` (lists) and ``not:`` (one condition) combine
conditions; any other key is a report field with its test::

    chest_pain: ongoing                          # equals
    swelling: {one_of: [mild, marked]}
    pain_now: {at_least: 8}                      # also at_most, above, below, not_equals
    pain_before: {present: true}
    pain_now: {at_least: {field: pain_before, plus: 2}}

Several fields in one mapping must all hold. A test on an absent field is false (``present:
false`` aside), so ``not`` of it is true.

At the top of a rule's ``when``, two more keys look at the patient's earlier checks::

    earlier:                     # at least N earlier checks (default 1) ...
      at_least: 3
      within_days: 14            # ... reported in the last 14 days ...
      same_session: true         # ... about the same session (optional) ...
      where:                     # ... whose answers (and outcome, urgency) satisfy this
        outcome: {one_of: [reduce_load, seek_medical_review]}
        pain_now: {at_most: {current: pain_now}}   # compared with this report's answer
    sessions_rising:             # the last N sessions, this one included, each higher
      field: pain_during         # than the one before
      sessions: 3
      within_days: 21
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..contract.fields import Ask, FieldSpec, number_text
from ..contract.reading import FIELDS, STABLE_FIELDS, hint, show, suggest
from ..errors import Problem
from ..logic import All, AnyOf, Condition, CurrentRef, FieldRef, Not, Test, to_data
from ..outcomes import OUTCOMES, URGENCIES
from .history import EarlierChecks, HistoryTest, PreviousSession, RisingSessions, When

OPERATORS = {
    "equals": "eq",
    "not_equals": "ne",
    "one_of": "in",
    "at_least": "ge",
    "at_most": "le",
    "above": "gt",
    "below": "lt",
    "present": "present",
    "includes": "has",
    "includes_any_of": "has_any",
}
SET_TESTS = {"has", "has_any", "present"}
"""The tests of a set field (a list of answers); ``present`` means it is not empty."""
COMPARISONS = {"ge", "le", "gt", "lt"}
COMBINATORS = ("all", "any", "not")
HISTORY_KEYS = ("earlier", "sessions_rising", "previous_session")
MAX_DAYS = 365
MAX_NESTING = 8
"""How deep all/any/not may nest: deeper is never needed, and is refused with its line."""

EARLIER_FIELDS: dict[str, FieldSpec] = {
    **{
        name: replace(spec, required=spec.required and name in STABLE_FIELDS)
        for name, spec in FIELDS.items()
    },
    "outcome": FieldSpec("outcome", "choice", True, Ask("The outcome of that check"), OUTCOMES),
    "urgency": FieldSpec(
        "urgency", "choice", False, Ask("Its urgency (seek_medical_review only)"), URGENCIES
    ),
}
"""What ``where`` inside ``earlier`` can test: the earlier check's answers, outcome and urgency.
An answer an earlier contract version did not require may be absent there."""

SESSION_FIELDS = {k: v for k, v in EARLIER_FIELDS.items() if k not in ("outcome", "urgency")}
"""What ``where`` inside ``previous_session`` can test: the answers of its first check."""


def when_to_data(when: When) -> Any:
    """The canonical, JSON-ready form of a rule's ``when``."""
    data = to_data(when.condition) if when.condition is not None else {}
    for test in when.history:
        if isinstance(test, RisingSessions):
            key, value = (
                "sessions_rising",
                {
                    "field": test.field,
                    "sessions": test.sessions,
                    "within_days": test.within_days,
                },
            )
        elif isinstance(test, EarlierChecks):
            key, value = (
                "earlier",
                {
                    "at_least": test.at_least,
                    "within_days": test.within_days,
                    "same_session": test.same_session,
                },
            )
        else:
            key, value = "previous_session", {"within_days": test.within_days}
        if not isinstance(test, RisingSessions) and test.where is not None:
            value["where"] = to_data(test.where)
        data = {**data, key: value}
    return data


class ConditionParser:
    """Parses one rule's condition, collecting every problem instead of stopping at the first."""

    def __init__(
        self,
        file: str,
        rule_id: str | None,
        specs: Mapping[str, FieldSpec] = FIELDS,
        in_earlier: bool = False,
    ) -> None:
        self.file = file
        self.rule_id = rule_id
        self.specs = specs
        self.in_earlier = in_earlier
        self.problems: list[Problem] = []

    def problem(
        self, message: str, line: int | None, field: str | None = None, fix: str | None = None
    ) -> None:
        self.problems.append(
            Problem(message, field=field, file=self.file, line=line, rule_id=self.rule_id, fix=fix)
        )

    def parse(
        self, data: Any, line: int, skip: tuple[str, ...] = (), depth: int = 0
    ) -> Condition | None:
        """Parse a condition mapping; keys in ``skip`` are left to the caller. ``depth`` counts
        the all/any/not around it."""
        if depth > MAX_NESTING:
            self.problem(
                f"all/any/not are nested more than {MAX_NESTING} deep",
                line,
                fix="flatten the condition, or split it into several rules",
            )
            return None
        if not isinstance(data, dict) or not data:
            self.problem(
                "a condition must be a mapping of field tests, or all/any/not",
                line,
                fix="for example 'chest_pain: ongoing'",
            )
            return None
        lines = getattr(data, "key_lines", {})
        parts = [
            self._parse_key(key, value, lines.get(key, line), depth)
            for key, value in data.items()
            if key not in skip
        ]
        kept = tuple(p for p in parts if p is not None)
        if len(kept) != len(parts):
            return None
        return kept[0] if len(kept) == 1 else All(kept)

    def _parse_key(self, key: str, value: Any, line: int, depth: int) -> Condition | None:
        if key in ("all", "any"):
            return self._parse_list(key, value, line, depth + 1)
        if key == "not":
            inner = self.parse(value, getattr(value, "line", line), depth=depth + 1)
            return None if inner is None else Not(inner)
        if key in HISTORY_KEYS:
            self.problem(
                f"'{key}' can only be used at the top of a rule's 'when'",
                line,
                fix="move it up, next to the other conditions of the rule",
            )
            return None
        spec = self.specs.get(key)
        if spec is None:
            near = suggest(key, [*self.specs, *COMBINATORS, *HISTORY_KEYS])
            self.problem(
                "is not a report field" + (f" (did you mean '{near}'?)" if near else ""),
                line,
                field=key,
                fix="'triage schema' lists the fields",
            )
            return None
        return self._parse_tests(spec, value, line)

    def _parse_list(self, key: str, value: Any, line: int, depth: int) -> Condition | None:
        if not isinstance(value, list) or not value:
            self.problem(
                f"'{key}' takes a list of conditions",
                line,
                fix=f"write each condition on its own line starting with '-' under '{key}:'",
            )
            return None
        item_lines = getattr(value, "item_lines", [line] * len(value))
        items = [
            self.parse(item, item_line, depth=depth)
            for item, item_line in zip(value, item_lines, strict=True)
        ]
        if any(item is None for item in items):
            return None
        kept = tuple(i for i in items if i is not None)
        return All(kept) if key == "all" else AnyOf(kept)

    def _parse_tests(self, spec: FieldSpec, value: Any, line: int) -> Condition | None:
        if isinstance(value, list):
            self.problem(
                "a list of answers needs 'one_of'",
                line,
                field=spec.name,
                fix=f"write '{spec.name}: {{one_of: [...]}}'",
            )
            return None
        if not isinstance(value, dict):
            return self._test(spec, "eq", value, line)
        if not value:
            self.problem("has no test", line, field=spec.name, fix="for example '{at_least: 6}'")
            return None
        tests = [self._operator(spec, name, operand, line) for name, operand in value.items()]
        if any(t is None for t in tests):
            return None
        kept = tuple(t for t in tests if t is not None)
        return kept[0] if len(kept) == 1 else All(kept)

    def _operator(self, spec: FieldSpec, name: str, operand: Any, line: int) -> Test | None:
        op = OPERATORS.get(name)
        if op is None:
            near = suggest(name, OPERATORS)
            hint = f"did you mean '{near}'?" if near else "use one of " + ", ".join(OPERATORS)
            self.problem(f"'{name}' is not a test", line, field=spec.name, fix=hint)
            return None
        return self._test(spec, op, operand, line)

    def _test(self, spec: FieldSpec, op: str, operand: Any, line: int) -> Test | None:
        if (spec.kind == "set") != (op in SET_TESTS - {"present"}) and op != "present":
            self._set_mismatch(spec, op, operand, line)
            return None
        if op in ("has", "has_any"):
            return self._includes(spec, op, operand, line)
        if op == "present":
            if not isinstance(operand, bool):
                self.problem(
                    f"'present' takes true or false, got {show(operand)}", line, field=spec.name
                )
                return None
            if spec.required and spec.kind != "set":  # a set may be empty: present = not empty
                self.problem(
                    f"every report has this answer, so 'present: {show(operand)}' is always "
                    f"{'true' if operand else 'false'}",
                    line,
                    field=spec.name,
                    fix="remove the test",
                )
                return None
            return Test(spec.name, op, operand)
        if spec.kind in ("text", "datetime"):
            self.problem(
                "can only be tested with 'present'",
                line,
                field=spec.name,
                fix="rules must not depend on identifiers or timestamps",
            )
            return None
        if op in COMPARISONS and not spec.numeric:
            self.problem(
                f"'{_word(op)}' compares numbers, but this field takes {spec.expected()}",
                line,
                field=spec.name,
                fix="use equals, not_equals or one_of",
            )
            return None
        if op == "in":
            return self._one_of(spec, operand, line)
        if isinstance(operand, dict) and "current" in operand:
            current = self._current_ref(spec, op, operand, line)
            return None if current is None else Test(spec.name, op, current)
        if isinstance(operand, dict):
            ref = self._field_ref(spec, op, operand, line)
            return None if ref is None else Test(spec.name, op, ref)
        if not self._value_fits(spec, operand, line):
            return None
        if op in COMPARISONS and not self._meaningful(spec, op, operand, spec, 0, line):
            return None
        return Test(spec.name, op, operand)

    def _set_mismatch(self, spec: FieldSpec, op: str, operand: Any, line: int) -> None:
        """A set test on a one-answer field, or a one-answer test on a set field."""
        if spec.kind == "set":
            example = operand if op == "eq" and operand in spec.choices else spec.choices[-1]
            fix = (
                f"write '{spec.name}: {{includes: {example}}}', or "
                f"'{spec.name}: {{includes_any_of: [{', '.join(spec.choices[:2])}]}}'"
            )
            self.problem(
                f"holds a list of answers: test it with 'includes' or 'includes_any_of', "
                f"not '{_word(op)}'",
                line,
                field=spec.name,
                fix=fix,
            )
            return
        near = "equals" if op == "has" else "one_of"
        self.problem(
            f"'{_word(op)}' is for fields that hold a list of answers; this field takes "
            f"{spec.expected()}",
            line,
            field=spec.name,
            fix=f"did you mean '{near}'?",
        )

    def _includes(self, spec: FieldSpec, op: str, operand: Any, line: int) -> Test | None:
        if op == "has":
            return Test(spec.name, op, operand) if self._value_fits(spec, operand, line) else None
        test = self._one_of(spec, operand, line, "includes_any_of")
        return None if test is None else Test(spec.name, "has_any", test.value)

    def _one_of(
        self, spec: FieldSpec, operand: Any, line: int, word: str = "one_of"
    ) -> Test | None:
        if not isinstance(operand, list) or not operand:
            self.problem(
                f"'{word}' takes a list of answers",
                line,
                field=spec.name,
                fix=f"for example '{{{word}: [{', '.join(map(str, spec.choices[:2]))}]}}'",
            )
            return None
        fits = [self._value_fits(spec, v, line) for v in operand]  # every bad value is reported
        if not all(fits):
            return None
        if len({show(v) for v in operand}) != len(operand):
            self.problem(f"'{word}' lists an answer twice", line, field=spec.name)
            return None
        return Test(spec.name, "in", tuple(operand))

    def _value_fits(self, spec: FieldSpec, value: Any, line: int) -> bool:
        if spec.accepts(value):
            return self._plain_number(value, line, spec.name)
        expected = "one of " + ", ".join(spec.choices) if spec.kind == "set" else spec.expected()
        self.problem(
            f"{show(value)} is not a possible answer: expected {expected}",
            line,
            field=spec.name,
            fix=hint(spec, value),
        )
        return False

    def _meaningful(
        self,
        spec: FieldSpec,
        op: str,
        value: float,
        other: FieldSpec,
        refers: int,
        line: int,
        ref: str = "field",
    ) -> bool:
        """A comparison that holds for every possible answer, or for none, is a mistake (and an
        offset beyond the answers' range could exceed what the rule engine compares correctly).
        ``refers`` 1: ``value`` is an offset added to ``other``; 0: a threshold."""
        low = spec.minimum - refers * other.maximum  # type: ignore[operator]
        high = spec.maximum - refers * other.minimum  # type: ignore[operator]
        verdict = _always_or_never(op, value, low, high)
        if verdict is None:
            return True
        if refers:
            test = f"{_word(op)}: {{{ref}: {other.name}, plus: {show(value)}}}"
            what = f"{spec.name} minus {other.name} is {number_text(low)} to {number_text(high)}"
        else:
            test = f"{_word(op)}: {show(value)}"
            what = f"answers are {number_text(low)} to {number_text(high)}"
        self.problem(
            f"'{test}' is {verdict} true ({what})",
            line,
            field=spec.name,
            fix="remove the test" if verdict == "always" else "correct the number",
        )
        return False

    def _field_ref(
        self, spec: FieldSpec, op: str, operand: dict[str, Any], line: int
    ) -> FieldRef | None:
        unknown = set(operand) - {"field", "plus"}
        if unknown or "field" not in operand:
            self.problem(
                "a comparison with another answer is written {field: NAME, plus: N}",
                line,
                field=spec.name,
                fix="for example '{at_least: {field: pain_before, plus: 2}}'",
            )
            return None
        other = self.specs.get(str(operand["field"]))
        plus = operand.get("plus", 0)
        if other is None or not other.numeric or not spec.numeric:
            near = suggest(str(operand["field"]), [n for n, s in self.specs.items() if s.numeric])
            self.problem(
                f"can only be compared with another number field, not {show(operand['field'])}",
                line,
                field=spec.name,
                fix=f"did you mean '{near}'?" if near else None,
            )
            return None
        if isinstance(plus, bool) or not isinstance(plus, (int, float)):
            self.problem(f"'plus' takes a number, got {show(plus)}", line, field=spec.name)
            return None
        if not self._plain_number(plus, line, spec.name):
            return None
        if not self._meaningful(spec, op, plus, other, 1, line):
            return None
        return FieldRef(other.name, plus)

    def _current_ref(
        self, spec: FieldSpec, op: str, operand: dict[str, Any], line: int
    ) -> CurrentRef | None:
        """``{current: FIELD}`` (``plus: N`` for numbers) inside a history test: a field every
        report has, of the same kind (the rule engine fails on a comparison with a missing
        answer)."""
        name = operand["current"]
        other = FIELDS.get(str(name))
        plus = operand.get("plus", 0)
        if not self.in_earlier:
            self.problem(
                "{current: ...} compares an earlier check with this report: use it inside "
                "'earlier: where:' or 'previous_session: where:'",
                line,
                field=spec.name,
                fix="use {field: NAME} for this report",
            )
        elif set(operand) - {"current", "plus"} or ("plus" in operand and not spec.numeric):
            self.problem(
                "a comparison with this report is written {current: NAME} "
                "(or {current: NAME, plus: N} for numbers)",
                line,
                field=spec.name,
            )
        elif isinstance(plus, bool) or not isinstance(plus, (int, float)):
            self.problem(f"'plus' takes a number, got {show(plus)}", line, field=spec.name)
        elif other is None or not other.required:
            required = [n for n, s in FIELDS.items() if s.required and s.kind == spec.kind]
            self.problem(
                f"{{current: {name}}} must name an answer every report has",
                line,
                field=spec.name,
                fix="one of " + ", ".join(required),
            )
        elif other.kind != spec.kind or (other.kind == "choice" and other.choices != spec.choices):
            self.problem(
                f"cannot be compared with {name}: they take different answers",
                line,
                field=spec.name,
            )
        elif self._plain_number(plus, line, spec.name) and (
            not spec.numeric or self._meaningful(spec, op, plus, other, 1, line, "current")
        ):
            return CurrentRef(other.name, plus)
        return None

    # -- history ---------------------------------------------------------------------------

    def parse_when(self, data: Any, line: int) -> When | None:
        """A rule's ``when``: conditions on this report, and on earlier checks at the top level.
        Every part is checked, so that all problems are reported at once."""
        if not isinstance(data, dict) or not data:
            return None if self.parse(data, line) is None else When(None)
        lines = getattr(data, "key_lines", {})
        on_report = any(key not in HISTORY_KEYS for key in data)
        condition = self.parse(data, line, skip=HISTORY_KEYS) if on_report else None
        history = [
            self._history(key, data[key], lines.get(key, line))
            for key in HISTORY_KEYS
            if key in data
        ]
        if (on_report and condition is None) or any(h is None for h in history):
            return None
        kept = tuple(h for h in history if h is not None)
        if any(isinstance(h, EarlierChecks) and h.at_least > 1 for h in kept) and len(kept) > 1:
            self.problem(
                "a rule that counts earlier checks (at_least above 1) cannot have another "
                "history condition",
                line,
                fix="split it into two rules",
            )
            return None
        return When(condition, kept)

    def _history(self, key: str, value: Any, line: int) -> HistoryTest | None:
        allowed = {
            "earlier": ("within_days", "at_least", "same_session", "where"),
            "sessions_rising": ("field", "sessions", "within_days"),
            "previous_session": ("within_days", "where"),
        }[key]
        if not isinstance(value, dict):
            self.problem(f"'{key}' takes a mapping of " + ", ".join(allowed), line)
            return None
        lines = getattr(value, "key_lines", {})
        unknown = [name for name in value if name not in allowed]
        for name in unknown:
            near = suggest(str(name), allowed)
            self.problem(
                f"'{key}' has no '{name}'" + (f" (did you mean '{near}'?)" if near else ""),
                lines.get(name, line),
                fix="allowed: " + ", ".join(allowed),
            )
        days = self._whole(
            value, "within_days", lines.get("within_days", line), 1, MAX_DAYS, None, key
        )
        parse = {"earlier": self._earlier, "sessions_rising": self._rising}.get(key, self._previous)
        parsed = parse(value, lines, line, days)
        return None if unknown else parsed

    def _whole(
        self, value: Any, name: str, line: int, low: int, high: int, default: int | None, key: str
    ) -> int | None:
        if name not in value:
            if default is None:
                self.problem(
                    f"'{key}' needs '{name}'", line, fix=f"a whole number from {low} to {high}"
                )
            return default
        number = value[name]
        if isinstance(number, bool) or not isinstance(number, int) or not low <= number <= high:
            self.problem(
                f"'{name}' takes a whole number from {low} to {high}, got {show(number)}", line
            )
            return None
        return number

    def _earlier(
        self, value: Any, lines: Mapping[str, int], line: int, days: int | None
    ) -> EarlierChecks | None:
        at_least = self._whole(value, "at_least", lines.get("at_least", line), 1, 50, 1, "earlier")
        same = value.get("same_session", False)
        if not isinstance(same, bool):
            self.problem(
                f"'same_session' takes true or false, got {show(same)}",
                lines.get("same_session", line),
            )
        where = self._where(value, lines, line, EARLIER_FIELDS)
        if (
            days is None
            or at_least is None
            or not isinstance(same, bool)
            or ("where" in value and where is None)
        ):
            return None
        return EarlierChecks(days, at_least, same, where)

    def _where(
        self, value: Any, lines: Mapping[str, int], line: int, specs: Mapping[str, FieldSpec]
    ) -> Condition | None:
        """The ``where`` of a history test, on the earlier check's (or session's) answers."""
        if "where" not in value:
            return None
        inner = ConditionParser(self.file, self.rule_id, specs, in_earlier=True)
        where = inner.parse(value["where"], lines.get("where", line))
        self.problems.extend(inner.problems)
        return where

    def _previous(
        self, value: Any, lines: Mapping[str, int], line: int, days: int | None
    ) -> PreviousSession | None:
        where = self._where(value, lines, line, SESSION_FIELDS)
        if days is None or ("where" in value and where is None):
            return None
        return PreviousSession(days, where)

    def _rising(
        self, value: Any, lines: Mapping[str, int], line: int, days: int | None
    ) -> RisingSessions | None:
        sessions = self._whole(
            value, "sessions", lines.get("sessions", line), 2, 10, None, "sessions_rising"
        )
        name = value.get("field")
        spec = FIELDS.get(str(name))
        if spec is None or not spec.numeric or not spec.required:
            usable = [n for n, s in FIELDS.items() if s.numeric and s.required]
            self.problem(
                f"'sessions_rising' needs a number every report has as 'field', got {show(name)}",
                lines.get("field", line),
                fix="one of " + ", ".join(usable),
            )
            return None
        return (
            None if sessions is None or days is None else RisingSessions(spec.name, sessions, days)
        )

    def _plain_number(self, value: Any, line: int, field: str) -> bool:
        """Numbers with at most 4 decimals: the rule engine cannot read exponent forms (1e-05)."""
        if isinstance(value, float) and (round(value, 4) != value or "e" in repr(value)):
            self.problem(
                f"{show(value)} has more than 4 decimals",
                line,
                field=field,
                fix="round it to at most 4 decimals",
            )
            return False
        return True


def _word(op: str) -> str:
    return next(word for word, code in OPERATORS.items() if code == op)


def _always_or_never(op: str, value: float, low: float, high: float) -> str | None:
    """'always' or 'never' when ``x op value`` holds for every or for no x in [low, high]."""
    always = {"ge": value <= low, "gt": value < low, "le": value >= high, "lt": value > high,
              "eq": False, "ne": not low <= value <= high}  # fmt: skip
    never = {"ge": value > high, "gt": value >= high, "le": value < low, "lt": value <= low,
             "eq": not low <= value <= high, "ne": low == high == value}  # fmt: skip
    return "always" if always[op] else "never" if never[op] else None
