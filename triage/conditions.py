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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .contract import FIELDS, FieldSpec, hint, show, suggest
from .errors import Problem

OPERATORS = {
    "equals": "eq",
    "not_equals": "ne",
    "one_of": "in",
    "at_least": "ge",
    "at_most": "le",
    "above": "gt",
    "below": "lt",
    "present": "present",
}
COMPARISONS = {"ge", "le", "gt", "lt"}
COMBINATORS = ("all", "any", "not")


@dataclass(frozen=True)
class FieldRef:
    """Another answer of the same report, plus an offset: ``{field: pain_before, plus: 2}``."""

    field: str
    plus: float = 0


@dataclass(frozen=True)
class Test:
    """One test on one report field. ``op`` is eq, ne, in, ge, le, gt, lt or present."""

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


def fields_of(condition: Condition) -> list[str]:
    """Every report field a condition reads, in order of appearance."""
    if isinstance(condition, Test):
        ref = [condition.value.field] if isinstance(condition.value, FieldRef) else []
        return [condition.field, *ref]
    items = (condition.item,) if isinstance(condition, Not) else condition.items
    return list(dict.fromkeys(f for item in items for f in fields_of(item)))


def to_data(condition: Condition) -> Any:
    """The canonical, JSON-ready form of a condition (for the pack hash and `rules list`)."""
    if isinstance(condition, Test):
        value = condition.value
        if isinstance(value, FieldRef):
            value = {"field": value.field, "plus": value.plus}
        elif isinstance(value, tuple):
            value = list(value)
        return {condition.field: {condition.op: value}}
    if isinstance(condition, Not):
        return {"not": to_data(condition.item)}
    key = "all" if isinstance(condition, All) else "any"
    return {key: [to_data(item) for item in condition.items]}


class ConditionParser:
    """Parses one rule's condition, collecting every problem instead of stopping at the first."""

    def __init__(self, file: str, rule_id: str | None) -> None:
        self.file = file
        self.rule_id = rule_id
        self.problems: list[Problem] = []

    def problem(
        self, message: str, line: int | None, field: str | None = None, fix: str | None = None
    ) -> None:
        self.problems.append(
            Problem(message, field=field, file=self.file, line=line, rule_id=self.rule_id, fix=fix)
        )

    def parse(self, data: Any, line: int) -> Condition | None:
        if not isinstance(data, dict) or not data:
            self.problem(
                "a condition must be a mapping of field tests, or all/any/not",
                line,
                fix="for example 'chest_pain: ongoing'",
            )
            return None
        lines = getattr(data, "key_lines", {})
        parts = [self._parse_key(key, value, lines.get(key, line)) for key, value in data.items()]
        kept = tuple(p for p in parts if p is not None)
        if len(kept) != len(parts):
            return None
        return kept[0] if len(kept) == 1 else All(kept)

    def _parse_key(self, key: str, value: Any, line: int) -> Condition | None:
        if key in ("all", "any"):
            return self._parse_list(key, value, line)
        if key == "not":
            inner = self.parse(value, getattr(value, "line", line))
            return None if inner is None else Not(inner)
        spec = FIELDS.get(key)
        if spec is None:
            near = suggest(key, [*FIELDS, *COMBINATORS])
            self.problem(
                "is not a report field" + (f" (did you mean '{near}'?)" if near else ""),
                line,
                field=key,
                fix="'triage schema' lists the fields",
            )
            return None
        return self._parse_tests(spec, value, line)

    def _parse_list(self, key: str, value: Any, line: int) -> Condition | None:
        if not isinstance(value, list) or not value:
            self.problem(
                f"'{key}' takes a list of conditions",
                line,
                fix=f"write each condition on its own line starting with '-' under '{key}:'",
            )
            return None
        item_lines = getattr(value, "item_lines", [line] * len(value))
        items = [self.parse(item, item_line) for item, item_line in zip(value, item_lines)]
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
        if op == "present":
            if not isinstance(operand, bool):
                self.problem(
                    f"'present' takes true or false, got {show(operand)}", line, field=spec.name
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
        if isinstance(operand, dict):
            ref = self._field_ref(spec, operand, line)
            return None if ref is None else Test(spec.name, op, ref)
        if not self._value_fits(spec, operand, line):
            return None
        return Test(spec.name, op, operand)

    def _one_of(self, spec: FieldSpec, operand: Any, line: int) -> Test | None:
        if not isinstance(operand, list) or not operand:
            self.problem(
                "'one_of' takes a list of answers",
                line,
                field=spec.name,
                fix="for example '{one_of: [mild, marked]}'",
            )
            return None
        fits = [self._value_fits(spec, v, line) for v in operand]  # every bad value is reported
        if not all(fits):
            return None
        if len({show(v) for v in operand}) != len(operand):
            self.problem("'one_of' lists an answer twice", line, field=spec.name)
            return None
        return Test(spec.name, "in", tuple(operand))

    def _value_fits(self, spec: FieldSpec, value: Any, line: int) -> bool:
        if spec.accepts(value):
            return self._plain_number(value, line, spec.name)
        self.problem(
            f"{show(value)} is not a possible answer: expected {spec.expected()}",
            line,
            field=spec.name,
            fix=hint(spec, value),
        )
        return False

    def _field_ref(self, spec: FieldSpec, operand: dict[str, Any], line: int) -> FieldRef | None:
        unknown = set(operand) - {"field", "plus"}
        if unknown or "field" not in operand:
            self.problem(
                "a comparison with another answer is written {field: NAME, plus: N}",
                line,
                field=spec.name,
                fix="for example '{at_least: {field: pain_before, plus: 2}}'",
            )
            return None
        other = FIELDS.get(str(operand["field"]))
        plus = operand.get("plus", 0)
        if other is None or not other.numeric or not spec.numeric:
            near = suggest(str(operand["field"]), [n for n, s in FIELDS.items() if s.numeric])
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
        return FieldRef(other.name, plus)

    def _plain_number(self, value: Any, line: int, field: str) -> bool:
        """Numbers with at most 4 decimals: the rule engine cannot read exponent forms like 1e-05."""
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
