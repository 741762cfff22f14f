"""The patient's questionnaire: which questions are asked, in which order, and when.

The questions themselves (text, help, answer labels) come from the report contract; this module
only adds the structure: sections, three gate questions that answer a whole group with one "no",
and the conditions under which a question is needed. ``Interview`` walks the structure; it is
pure (no I/O), so any front end can drive it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from .errors import AnswerError
from .field_table import FIELDS
from .fields import PAIN, PAIN_WORDS, FieldSpec, requirement_for
from .logic import Condition, holds

Answers = dict[str, Any]


@dataclass(frozen=True)
class Item:
    """One report field to ask, when its condition holds (a condition of the contract's
    conditional requirements, or one of the questionnaire's own, in the same language)."""

    field: str
    when: Condition | None = None
    when_text: str = "always"
    needed: bool = False  # required whenever it is asked, although optional in the contract

    @property
    def spec(self) -> FieldSpec:
        return FIELDS[self.field]

    def applies(self, answers: Answers) -> bool:
        return self.when is None or holds(self.when, answers)

    @property
    def optional(self) -> bool:
        """Whether Enter may skip it."""
        return not (self.spec.required or self.needed)


def _required(field: str) -> Item:
    """A question asked exactly when the contract requires its answer."""
    requirement = requirement_for(field)
    assert requirement is not None, field
    return Item(field, requirement.when, f"when {requirement.words}", needed=True)


@dataclass(frozen=True)
class Gate:
    """A yes/no question standing for a group: "no" answers every item of the group at once."""

    key: str
    title: str
    question: str
    help: str
    items: tuple[Item, ...]
    if_no: dict[str, Any] = field(default_factory=dict)


Step = Item | Gate
PAIN_ONLY = f"when {PAIN_WORDS}"


def _only(field: str) -> Item:
    """A question asked exactly when the contract allows its answer (optional then)."""
    requirement = requirement_for(field)
    assert requirement is not None, field
    return Item(field, requirement.when, f"when {requirement.words}")


FLOW: tuple[Step, ...] = (
    Item("patient_id"),
    Item("hours_since_session"),
    Item("program_week"),
    Item("new_load"),
    Item("session_rpe"),
    Item("reps_in_reserve"),
    Gate(
        "pain",
        "Pain or injury",
        "Any pain or injury during or since the session, including a headache, a pop or snap, "
        "swelling, a joint out of place, a new lump in the groin, or something you suddenly "
        "cannot do?",
        "Answer yes for any pain at all, even mild muscle soreness or a headache.",
        (
            Item("pain_during"),
            Item("pain_now"),
            _required("pain_region"),
            _required("pain_site"),
            _only("pain_onset"),
            _only("pain_spread"),
            _only("pain_sides"),
            _only("pain_character"),
            _only("eases_with_movement"),
            _only("night_pain"),
            _only("radiating_pain"),
            Item("pain_before", PAIN, PAIN_ONLY),
            _required("pain_trend"),
            Item("snap_or_tear"),
            Item("swelling"),
            _only("swelling_fast"),
            Item("bruising"),
            Item("deformity"),
            Item("weakness"),
            Item("functional_loss"),
            Item("joint_giving_way"),
            Item("joint_locked"),
            Item("groin_lump"),
        ),
        {
            "pain_during": 0,
            "pain_now": 0,
            "snap_or_tear": False,
            "swelling": "none",
            "deformity": False,
            "functional_loss": False,
            "groin_lump": False,
        },
    ),
    Gate(
        "heart",
        "Chest, heart, breathing or head symptoms",
        "During or after the session, did you have any chest pain or tightness, "
        "fainting or nearly fainting, a racing or irregular heartbeat, unusual breathlessness, "
        "dizziness, confusion, a change in your vision, or a headache?",
        "Answer yes even if it has passed.",
        (
            Item("chest_pain"),
            _required("chest_pain_kind"),
            Item("fainting"),
            Item("palpitations"),
            Item("breathless"),
            Item("dizziness"),
            Item("confusion"),
            Item("vision_change"),
            Item("headache"),
        ),
        {
            "chest_pain": "none",
            "fainting": "none",
            "palpitations": "none",
            "breathless": "none",
            "dizziness": "none",
            "confusion": False,
            "vision_change": False,
            "headache": "none",
        },
    ),
    Gate(
        "since",
        "Urine, limbs, numbness, bladder, heat or illness",
        "Since the session, have you had any dark or much less urine, a tense swollen "
        "arm or leg, a swollen warm calf or arm, numbness or tingling, a change in bladder or "
        "bowel control, overheating, or a fever or feeling ill?",
        "Answer yes even if you are not sure it is related to the session.",
        tuple(
            Item(f)
            for f in (
                "dark_urine",
                "tense_swollen_limb",
                "swollen_warm_limb",
                "numbness",
                "bladder_bowel_change",
                "heat_illness",
                "unwell",
            )
        ),
        {
            "dark_urine": False,
            "tense_swollen_limb": False,
            "swollen_warm_limb": False,
            "numbness": [],
            "bladder_bowel_change": False,
            "heat_illness": "none",
            "unwell": False,
        },
    ),
)


# -- reading typed answers -----------------------------------------------------------------------


CHOICE_KINDS = ("choice", "yes_no", "yes_no_unsure", "set")
"""Fields answered by choosing from a numbered list (several at once for a set)."""
_NONE_WORDS = ("none", "no", "n", "0")


def parse_set(options: list[tuple[Any, str]], text: str) -> list[Any]:
    """Several choices: their numbers (or first letters) separated by spaces or commas, or
    'none'. Each is read as one choice; every problem names the part typed."""
    parts = [part for part in re.split(r"[\s,;]+", text.strip().lower()) if part]
    if parts in ([], *([word] for word in _NONE_WORDS)):
        return []
    if any(part in _NONE_WORDS for part in parts):
        raise AnswerError("'none' is an answer of its own: type it alone, or only the numbers")
    chosen = [parse_choice(options, part) for part in parts]
    return [value for value, _ in options if value in chosen]  # each once, in the usual order


def choices(spec: FieldSpec) -> list[tuple[Any, str]]:
    """The possible answers with their labels, in the contract's order."""
    if spec.kind == "yes_no":
        return [(True, "Yes"), (False, "No")]
    if spec.kind == "yes_no_unsure":
        return [(value, spec.ask.labels[value]) for value in (True, "unsure", False)]
    return [(value, spec.ask.labels.get(value, str(value))) for value in spec.choices]


def parse_choice(options: list[tuple[Any, str]], text: str) -> Any:
    """A choice by its number, or by a unique prefix of its value or its label."""
    typed = text.strip().lower()
    if typed.isdigit():
        number = int(typed)
        if 1 <= number <= len(options):
            return options[number - 1][0]
        raise AnswerError(f"choose a number from 1 to {len(options)}")
    if typed in ("y", "n") and any(v is True for v, _ in options):
        return typed == "y"
    matches = [
        (v, label)
        for v, label in options
        if str(v).lower().startswith(typed) or label.lower().startswith(typed)
    ]
    exact = [m for m in matches if str(m[0]).lower() == typed or m[1].lower() == typed]
    if len(exact) == 1 or len(matches) == 1:
        return (exact or matches)[0][0]
    if matches:
        names = " or ".join(f"'{label}'" for _, label in matches)
        raise AnswerError(f"'{text.strip()}' could be {names}: type more letters, or the number")
    raise AnswerError(
        f"'{text.strip()}' is not one of the answers: type its number (1 to {len(options)})"
    )


def parse_answer(spec: FieldSpec, text: str, now: datetime | None = None) -> Any:
    """Read one typed answer for ``spec``; raises AnswerError with a short explanation."""
    if spec.name == "hours_since_session":
        return parse_session_end(text, now or datetime.now().astimezone())
    if spec.kind in ("choice", "yes_no", "yes_no_unsure"):
        return parse_choice(choices(spec), text)
    if spec.kind == "set":
        return parse_set(choices(spec), text)
    if spec.numeric:
        return _parse_number(spec, text)
    value = text.strip()
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", value):
        raise AnswerError("use 1 to 64 letters, digits, '.', '_' or '-' (no spaces)")
    return value


def _parse_number(spec: FieldSpec, text: str) -> int | float:
    low, high = int(spec.minimum or 0), int(spec.maximum or 0)
    try:
        value = int(text.strip())
    except ValueError:
        raise AnswerError(f"type a whole number from {low} to {high}") from None
    if not low <= value <= high:
        raise AnswerError(f"{value} is out of range: type a whole number from {low} to {high}")
    return value


_UNITS = {
    "minute": 1 / 60,
    "min": 1 / 60,
    "hour": 1,
    "hr": 1,
    "h": 1,
    "day": 24,
    "d": 24,
    "week": 168,
}
_PARTS_OF_DAY = {"this morning": 8, "this afternoon": 14, "this evening": 19, "tonight": 19}
_MAX_HOURS = 336


def parse_session_end(text: str, now: datetime) -> float:
    """Hours since the session ended, from 'just now', '3 hours ago', 'this morning', 'yesterday',
    'last night', '2 days ago', '18:30' or a plain number of hours."""
    typed = " ".join(text.strip().lower().split())
    hours = _hours_from_words(typed, now)
    if hours is None:
        raise AnswerError(
            "type a number of hours, or: just now, this morning, yesterday, "
            "last night, 2 days ago, 18:30"
        )
    if hours < 0:
        raise AnswerError("that time is still to come today: type how many hours ago it was")
    if hours > _MAX_HOURS:
        raise AnswerError("only sessions in the last 14 days (336 hours) can be checked")
    return round(hours, 1)


def _hours_from_words(typed: str, now: datetime) -> float | None:
    if typed in ("now", "just now", "0"):
        return 0.0
    if typed in _PARTS_OF_DAY:
        return _since(
            now, now.replace(hour=_PARTS_OF_DAY[typed], minute=0, second=0, microsecond=0)
        )
    if typed == "yesterday":
        return 24.0
    if typed == "last night":
        start = now.replace(hour=19, minute=0, second=0, microsecond=0) - timedelta(days=1)
        return _since(now, start)
    clock = re.fullmatch(r"(?:at )?(\d{1,2})[:.h](\d{2})", typed)
    if clock and int(clock[1]) < 24 and int(clock[2]) < 60:
        start = now.replace(hour=int(clock[1]), minute=int(clock[2]), second=0, microsecond=0)
        return _since(now, start if start <= now else start - timedelta(days=1))
    amount = re.fullmatch(r"(an?|one|\d+(?:\.\d+)?) ?([a-z]*?)s?(?: ago)?", typed)
    if not amount:
        return None
    number = 1.0 if amount[1] in ("a", "an", "one") else float(amount[1])
    unit = amount[2] or "hour"
    return number * _UNITS[unit] if unit in _UNITS else None


def _since(now: datetime, start: datetime) -> float:
    return (now - start).total_seconds() / 3600


def describe_hours(hours: float) -> str:
    if hours < 1:
        return "less than an hour ago" if hours else "just now"
    if hours < 48:
        return f"{hours:g} hours ago"
    return f"{hours:g} hours ago (about {hours / 24:.0f} days)"


def show_answer(spec: FieldSpec, value: Any) -> str:
    """An answer as the patient would read it back."""
    if spec.name == "hours_since_session":
        return describe_hours(value)
    if spec.kind in ("choice", "yes_no", "yes_no_unsure"):
        return str(dict(choices(spec))[value])
    if spec.kind == "set":
        labels = dict(choices(spec))
        return "; ".join(labels[v] for v in value) or "None"
    if spec.numeric and spec.maximum == 10 and spec.name.startswith("pain"):
        return f"{value}/10"
    return str(value)


# -- the interview ------------------------------------------------------------------------------


def _items(flow: tuple[Step, ...]) -> list[tuple[Gate | None, Item]]:
    found: list[tuple[Gate | None, Item]] = []
    for step in flow:
        if isinstance(step, Gate):
            found += [(step, item) for item in step.items]
        else:
            found.append((None, step))
    return found


class Interview:
    """The state of one questionnaire: answers so far, and which question comes next.

    Skipped optional questions are remembered so they are not asked again. Changing an answer
    (``change``) forgets it; questions that no longer apply are dropped from the report, and
    questions that now apply are asked.
    """

    def __init__(self, preset: Answers | None = None) -> None:
        self.answers: Answers = dict(preset or {})
        self.gates: dict[str, bool] = {}
        self.skipped: set[str] = set()

    def _implied(self) -> Answers:
        implied: Answers = {}
        for step in FLOW:
            if isinstance(step, Gate) and self.gates.get(step.key) is False:
                implied.update(step.if_no)
        return implied

    def current(self) -> Answers:
        """Every answer in force: typed ones, and those implied by a gate answered no."""
        return {**self.answers, **self._implied()}

    def next_step(self) -> Step | None:
        """The next question to ask, or None when the report is complete."""
        for step in FLOW:
            if isinstance(step, Item):
                if self._unanswered(step):
                    return step
                continue
            if step.key not in self.gates:
                return step
            if self.gates[step.key]:
                pending = next((item for item in step.items if self._unanswered(item)), None)
                if pending is not None:
                    return pending
        return None

    def _unanswered(self, item: Item) -> bool:
        known = item.field in self.answers or item.field in self.skipped
        return not known and item.applies(self.current())

    def answer(self, step: Step, value: Any) -> None:
        """Record an answer; ``None`` skips an optional question."""
        if isinstance(step, Gate):
            self.gates[step.key] = bool(value)
            return
        if value is None:
            self.skipped.add(step.field)
        else:
            self.answers[step.field] = value

    def change(self, key: str) -> None:
        """Forget one answer (a field or a gate) so that it is asked again."""
        gate = next((s for s in FLOW if isinstance(s, Gate) and s.key == key), None)
        if gate is not None:
            self.gates.pop(key, None)
            for item in gate.items:
                self.answers.pop(item.field, None)
                self.skipped.discard(item.field)
        else:
            self.answers.pop(key, None)
            self.skipped.discard(key)

    def report_data(self) -> Answers:
        """The report: the answers in force whose questions still apply, and any preset answer
        the questionnaire does not ask (a follow-up's ``session_id``)."""
        current = self.current()
        asked = {item.field for _, item in _items(FLOW)}
        data = {
            item.field: current[item.field]
            for gate, item in _items(FLOW)
            if item.field in current
            and item.applies(current)
            and (gate is None or gate.key in self.gates)
        }
        return {**data, **{k: v for k, v in self.answers.items() if k not in asked}}

    def summary(self) -> list[tuple[str, str, str]]:
        """(key to change, label, answer) for the confirmation screen, in asking order."""
        data = self.report_data()
        rows: list[tuple[str, str, str]] = []
        for step in FLOW:
            if isinstance(step, Gate) and self.gates.get(step.key) is False:
                rows.append((step.key, step.title, "None of these"))
                continue
            items = step.items if isinstance(step, Gate) else (step,)
            for item in items:
                if item.field in data:
                    rows.append(
                        (item.field, item.spec.label, show_answer(item.spec, data[item.field]))
                    )
        return rows


def describe() -> dict[str, Any]:
    """The questionnaire as data (``triage questions --json``), for apps that render their own
    form."""

    def question(item: Item) -> dict[str, Any]:
        spec = item.spec
        entry: dict[str, Any] = {
            "field": spec.name,
            "question": spec.ask.question,
            "help": spec.ask.help,
            "label": spec.label,
            "required": not item.optional,
            "asked": item.when_text,
        }
        if spec.kind in CHOICE_KINDS:
            entry["answers"] = [{"value": v, "label": label} for v, label in choices(spec)]
            entry["several"] = spec.kind == "set"
        elif spec.numeric:
            entry["answers"] = {
                "minimum": spec.minimum,
                "maximum": spec.maximum,
                "whole_number": spec.kind == "integer",
            }
        return entry

    steps: list[dict[str, Any]] = []
    for step in FLOW:
        if isinstance(step, Gate):
            steps.append(
                {
                    "gate": step.key,
                    "title": step.title,
                    "question": step.question,
                    "help": step.help,
                    "answers": [{"value": True, "label": "Yes"}, {"value": False, "label": "No"}],
                    "if_yes": [question(i) for i in step.items],
                    "if_no": step.if_no,
                }
            )
        else:
            steps.append(question(step))
    return {"steps": steps}
