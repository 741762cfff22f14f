"""The report contract as plain data, without pydantic: how each field is asked (``Ask``), what
it accepts (``FieldSpec``) and the answers that depend on other answers (``REQUIREMENTS``).

``report.py`` builds the pydantic model from these; ``reading.FIELDS`` reads each field's
``FieldSpec`` back from that model; ``field_table.py`` holds the same table written out, so
that the questionnaire asks its first question without building the model (about 100 ms).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..logic import All, AnyOf, Condition, Test

CONTRACT_VERSION = "3"
"""The version of the report contract; the log stores it with each entry."""

HIGHER = "higher"  # for scores: a higher number is worse
ADDING = "adding"  # for set fields: adding an answer is worse


@dataclass(frozen=True)
class Ask:
    """How a field is asked and read: question, help, answer labels, and which answers are worse.

    ``worse`` lists chains of answers from least to most worrying (``HIGHER`` for scores);
    fields with no clinical order (where it hurts, when it started) leave it empty.
    """

    question: str
    help: str = ""
    labels: dict[Any, str] = field(default_factory=dict)
    worse: tuple[tuple[Any, ...], ...] | str = ()
    short: str = ""  # a few words for summaries; the field name in words when empty


Kind = Literal["text", "datetime", "number", "integer", "yes_no", "choice", "yes_no_unsure", "set"]


@dataclass(frozen=True)
class FieldSpec:
    """What a report field accepts, and how it is asked."""

    name: str
    kind: Kind
    required: bool
    ask: Ask
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    @property
    def label(self) -> str:
        """A few words naming the answer, for summaries."""
        return self.ask.short or self.name.replace("_", " ").capitalize()

    @property
    def ordered(self) -> bool:
        return bool(self.ask.worse)

    @property
    def numeric(self) -> bool:
        return self.kind in ("number", "integer")

    def expected(self) -> str:
        """The accepted answers, in words: 'a whole number from 0 to 10', 'one of a, b'."""
        if self.kind == "integer":
            return f"a whole number from {number_text(self.minimum)} to {number_text(self.maximum)}"
        if self.kind == "number":
            return f"a number from {number_text(self.minimum)} to {number_text(self.maximum)}"
        if self.kind == "yes_no":
            return "true or false"
        if self.kind == "yes_no_unsure":
            return "true, false or unsure"
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "set":
            return "a list of different answers from " + ", ".join(self.choices) + " ([] for none)"
        if self.kind == "datetime":
            return MOMENT_WORDS
        return "1 to 64 letters, digits, '.', '_' or '-'"

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is a possible answer (used to check values in rules)."""
        if self.kind in ("number", "integer"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return False
            if self.kind == "integer" and not isinstance(value, int):
                return False
            return self.minimum <= value <= self.maximum  # type: ignore[operator]
        if self.kind == "yes_no":
            return isinstance(value, bool)
        if self.kind in ("choice", "yes_no_unsure", "set"):
            return any(value is c or (type(value) is type(c) and value == c) for c in self.choices)
        return isinstance(value, str)


def number_text(value: float | None) -> str:
    """A number as people write it: 10, not 10.0."""
    return str(int(value)) if value is not None and float(value).is_integer() else str(value)


MOMENT_WORDS = (
    "an ISO-8601 date-time with its offset, in 2000-2099, such as 2026-11-21T09:30:00+00:00"
)


@dataclass(frozen=True)
class Requirement:
    """An answer that depends on other answers: ``field`` is needed when ``when`` holds
    (``required``), and must be left out when it does not (``only``). ``words`` says when, for
    people. The report's validation, the JSON Schema and the questionnaire all read these."""

    field: str
    when: Condition
    words: str
    required: bool = True
    only: bool = False

    def required_text(self) -> str:
        return f"is required when {self.words}"

    def only_text(self) -> str:
        return f"must be left out unless {self.words}"


PAIN = AnyOf((Test("pain_during", "gt", 0), Test("pain_now", "gt", 0)))
PAIN_WORDS = "there is pain (pain_during or pain_now above 0)"
_DESCRIBING_PAIN = (
    "pain_spread",
    "pain_sides",
    "pain_character",
    "pain_onset",
    "pain_duration",
    "eases_with_movement",
    "rest_pain",
    "night_pain",
    "radiating_pain",
)

REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement("pain_region", PAIN, PAIN_WORDS, only=True),
    Requirement("pain_site", PAIN, PAIN_WORDS, only=True),
    Requirement(
        "pain_trend",
        All((Test("hours_since_session", "ge", 24), Test("pain_now", "gt", 0))),
        "hours_since_session is 24 or more and pain_now is above 0",
    ),
    *(Requirement(name, PAIN, PAIN_WORDS, required=False, only=True) for name in _DESCRIBING_PAIN),
    Requirement(
        "swelling_fast",
        Test("swelling", "ne", "none"),
        "there is swelling (swelling is not none)",
        required=False,
        only=True,
    ),
    Requirement(
        "chest_pain_kind",
        Test("chest_pain", "ne", "none"),
        "there was chest pain (chest_pain is not none)",
        only=True,
    ),
)
"""Every conditional requirement of the contract, defined once."""


def requirement_for(field: str) -> Requirement | None:
    return next((r for r in REQUIREMENTS if r.field == field), None)
