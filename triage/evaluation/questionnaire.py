"""The patient's questionnaire: which questions are asked, in which order, and when.

The questions themselves (text, help, answer labels) come from the report contract; this module
only adds the structure: sections, three gate questions that answer a whole group with one "no",
and the conditions under which a question is needed. ``Interview`` walks the structure; it is
pure (no I/O), so any front end can drive it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from ..contract.field_table import FIELDS
from ..contract.fields import CONTRACT_VERSION, PAIN, PAIN_WORDS, FieldSpec, requirement_for
from ..errors import AnswerError
from ..logic import Condition, holds, to_data, truth
from .times import describe_hours, parse_programme_week, parse_session_end

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

    @property
    def key(self) -> str:
        return self.field

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
    """A yes/no question standing for a group: "no" answers every item of the group at once.
    A group may hold another gate (the signs of injury, inside pain)."""

    key: str
    title: str
    question: str
    help: str
    items: tuple[Step, ...]
    if_no: dict[str, Any] = field(default_factory=dict)

    def fields(self) -> list[str]:
        """Every field of the group, nested groups included, in asking order."""
        return [item.field for _, item in _items(self.items)]


PAIN_ONLY = f"when {PAIN_WORDS}"


@dataclass(frozen=True)
class Screen:
    """The first question: is anything happening now that needs an ambulance? Each answer but
    "No" stands for report answers that meet an emergency row on their own, so that the rules,
    not this question, decide: any of them stops the questionnaire at once."""

    key: str
    title: str
    question: str
    help: str
    answers: tuple[tuple[str, str, dict[str, Any]], ...]  # (value, label, report answers)

    def options(self) -> list[tuple[Any, str]]:
        return [(NOTHING_NOW, self.answers[0][1])] + [
            (v, label) for v, label, _ in self.answers[1:]
        ]

    def means(self, chosen: list[str]) -> dict[str, Any]:
        """The report answers the chosen answers stand for."""
        found: dict[str, Any] = {}
        for value, _, answers in self.answers:
            if value in chosen:
                found.update(answers)
        return found


NOTHING_NOW = "none"
RIGHT_NOW = Screen(
    "now",
    "Happening now",
    "First: is any of these happening to you now?",
    "These need an ambulance. If you are not sure, choose it: the next screen says what to do. "
    "If none of them is happening, answer 1 (No): the next questions ask about everything else, "
    "including what has passed.",
    (
        (NOTHING_NOW, "No, none of these", {}),
        (
            "chest",
            "Chest pain, pressure or tightness (not only sore when pressed)",
            {"chest_pain": "ongoing", "chest_pain_kind": "unsure"},
        ),
        (
            "fainted",
            "I fainted or blacked out, during or since the session",
            {"fainting": "fainted"},
        ),
        ("breathless", "Struggling to breathe, even when resting", {"breathless": "ongoing"}),
        (
            "confused",
            "Confusion, slurred speech, a drooping face, or sudden weakness of one side",
            {"confusion": True},
        ),
        ("headache", "A sudden, severe headache: the worst ever", {"headache": "thunderclap"}),
    ),
)
"""Asked before anything else, the patient ID included (red flags first)."""

Step = Item | Gate
Question = Step | Screen
"""What the session may ask: a report field, a gate, or the first screen."""


def _only(field: str) -> Item:
    """A question asked exactly when the contract allows its answer (optional then)."""
    requirement = requirement_for(field)
    assert requirement is not None, field
    return Item(field, requirement.when, f"when {requirement.words}")


INJURY = Gate(
    "injury",
    "Signs of injury",
    "Any sign of an injury: a pop, snap or tearing; swelling or bruising; a joint or limb "
    "out of shape, out of place, giving way or stuck; a part much weaker than usual or "
    "something new you cannot do; or a new lump in your groin or belly?",
    "Answer yes if you are not sure: the next questions ask about each one. Soreness and "
    "feeling a little weaker after a hard session are not signs of injury.",
    (
        Item("snap_or_tear"),
        Item("swelling"),
        _only("swelling_fast"),
        Item("bruising"),
        Item("deformity"),
        Item("muscle_bulge"),
        Item("weakness"),
        Item("functional_loss"),
        Item("joint_giving_way"),
        Item("joint_locked"),
        Item("groin_lump"),
    ),
    {
        "snap_or_tear": False,
        "swelling": "none",
        "bruising": False,
        "deformity": False,
        "muscle_bulge": False,
        "functional_loss": False,
        "joint_giving_way": False,
        "joint_locked": False,
        "groin_lump": False,
    },
)
"""Inside the pain group: most sessions with pain are sore muscles, with none of these."""

FLOW: tuple[Step, ...] = (
    Item("patient_id"),
    Item("hours_since_session"),
    # The warning signs come first: the questionnaire stops at the first red flag (clinical.md
    # section 6.4), so the questions that can reveal an emergency are asked before the others,
    # and within a group before those that can only reveal an urgent row. Only who the patient
    # is and when the session ended come before them: a check stopped early is recorded with
    # them, and the questions say "since the session".
    Gate(
        "heart",
        "Chest, heart, breathing or head symptoms",
        "During or since the session, including today, did you have any chest pain or "
        "tightness, an ache in your jaw, neck or arm, a cold sweat, fainting or nearly "
        "fainting, a racing or irregular heartbeat, unusual breathlessness, dizziness or "
        "light-headedness, confusion or slurred speech, sudden weakness of one side, a change "
        "in your vision, or a headache?",
        "Answer yes even if it has passed, or if you are not sure: the next questions ask "
        "about each one. Light-headedness for a few seconds on standing up counts too.",
        (
            Item("chest_pain"),
            _required("chest_pain_kind"),
            Item("referred_ache"),
            Item("cold_sweat"),
            Item("fainting"),
            Item("palpitations"),
            Item("breathless"),
            Item("dizziness"),
            Item("confusion"),
            Item("headache"),
            Item("vision_change"),  # last: alone it is urgent, with a headache an emergency
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
        "Since the session, including today, have you had any dark or much less urine, a "
        "whole arm or leg or a whole calf tense and swollen, one calf or arm swollen and warm, "
        "numbness or tingling, a change in bladder or bowel control or a leak of urine, "
        "getting too hot (overheating), or a fever or feeling ill?",
        "Answer yes even if you are not sure it is related to the session: the next questions "
        "ask about each one. Swelling only at a sore spot or joint is asked with the pain.",
        tuple(
            Item(f)
            for f in (
                "dark_urine",
                "tense_swollen_limb",
                "swollen_warm_limb",
                "bladder_bowel_change",
                "heat_illness",
                "numbness",  # after the emergency-only ones: in both arms it is urgent
                "unwell",
                "stress_leak",  # last: it can only be routine
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
    Gate(
        "pain",
        "Pain or injury",
        "Any pain, soreness or stiffness during or since the session, including today, or any "
        "injury: a pop or snap, swelling, a joint out of place, a new lump in the groin, or "
        "something you suddenly cannot do?",
        "Answer yes for any pain at all, even mild muscle soreness, stiffness or a headache: "
        "the next questions ask how much.",
        (
            Item("pain_during"),
            Item("pain_now"),
            _required("pain_region"),
            _required("pain_site"),
            _only("pain_duration"),  # how long, before when it started (or flared)
            _only("pain_onset"),
            _only("radiating_pain"),
            INJURY,  # after the answers that can make an emergency (a dislocation is urgent)
            _only("pain_spread"),
            _only("pain_sides"),
            _only("pain_character"),
            _only("eases_with_movement"),
            _only("rest_pain"),
            _only("night_pain"),
            Item("pain_before", PAIN, PAIN_ONLY),
            _required("pain_trend"),
        ),
        {
            "pain_during": 0,
            "pain_now": 0,
            **{k: v for k, v in INJURY.if_no.items() if FIELDS[k].required},
        },
    ),
    Item("program_week"),
    Item("new_load"),
    Item("session_rpe"),
    Item("reps_in_reserve"),
)
"""The questionnaire: who and when, three groups of warning signs behind a yes/no question
each, then the routine questions about the session. ``RIGHT_NOW`` comes before all of them."""

SESSION_FACTS = ("program_week", "new_load", "session_rpe", "reps_in_reserve", "pain_during")
"""What cannot have changed about a session since it ended: a follow-up takes them from the
session's first check instead of asking them again."""


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


YES_NO = [(False, "No"), (True, "Yes")]
"""A yes/no question's answers: "No" first, as in every question (one way to answer)."""
NO_VALUES = (False, "none")
"""The answer that means "no" wherever a question has one."""
_YES_WORDS = ("y", "yes", "yeah", "yep")
_NO_WORDS = ("n", "no", "nope")


def choices(spec: FieldSpec) -> list[tuple[Any, str]]:
    """The possible answers with their labels: "No" first, then the yes answers from least to
    most (the contract's order for the other choices)."""
    if spec.kind == "yes_no":
        return list(YES_NO)
    if spec.kind == "yes_no_unsure":
        return [(value, spec.ask.labels[value]) for value in (False, "unsure", True)]
    return [(value, spec.ask.labels.get(value, str(value))) for value in spec.choices]


def parse_choice(options: list[tuple[Any, str]], text: str) -> Any:
    """A choice by its number, by y/n/yes/no where the question has a "no" answer, or by a
    unique prefix of its value or its label (or of its label's words: 'next day')."""
    typed = " ".join(text.strip().lower().split()).rstrip(".!")
    if typed.isdigit():
        number = int(typed)
        if 1 <= number <= len(options):
            return options[number - 1][0]
        raise AnswerError(f"choose a number from 1 to {len(options)}")
    yes_or_no = _yes_or_no(options, typed)
    if yes_or_no is not None:
        return yes_or_no[0]
    matches = _matches(options, typed)
    exact = [m for m in matches if str(m[0]).lower() == typed or m[1].lower() == typed]
    if len(exact) == 1 or len(matches) == 1:
        return (exact or matches)[0][0]
    if matches:
        names = " or ".join(f"'{label}'" for _, label in matches)
        raise AnswerError(f"'{text.strip()}' could be {names}: type more letters, or the number")
    raise AnswerError(
        f"'{text.strip()}' is not one of the answers: type its number (1 to {len(options)})"
    )


def _yes_or_no(options: list[tuple[Any, str]], typed: str) -> tuple[Any] | None:
    """y/n/yes/no, where the question has a "no" answer: "no" is it; "yes" is the one yes
    answer, or, when there are several, a message asking which (by number)."""
    no = [value for value, _ in options if is_no(value)]
    if not no or typed not in (*_YES_WORDS, *_NO_WORDS):
        return None
    if typed in _NO_WORDS:
        return (no[0],)
    yes = [(n, label) for n, (value, label) in enumerate(options, 1) if _is_yes(value)]
    if len(yes) == 1:
        return (options[yes[0][0] - 1][0],)
    which = "; ".join(f"{n}) {label}" for n, label in yes)
    raise AnswerError(f"which yes? Type its number: {which}")


def _is_yes(value: Any) -> bool:
    return not is_no(value) and value != "unsure"


def is_no(value: Any) -> bool:
    return any(value is no or (type(value) is type(no) and value == no) for no in NO_VALUES)


def _matches(options: list[tuple[Any, str]], typed: str) -> list[tuple[Any, str]]:
    """The answers whose value or label starts with ``typed``; failing any, those with a
    word of the label from which it starts ('next day' for 'The next day')."""
    found = [
        (v, label)
        for v, label in options
        if str(v).lower().startswith(typed) or label.lower().startswith(typed)
    ]
    if found or not typed:
        return found
    return [(v, label) for v, label in options if f" {typed}" in f" {label.lower()}"]


def parse_answer(spec: FieldSpec, text: str, now: datetime | None = None) -> Any:
    """Read one typed answer for ``spec``; raises AnswerError with a short explanation."""
    if spec.name == "hours_since_session":
        return parse_session_end(text, now or datetime.now().astimezone())
    if spec.name == "program_week":
        return parse_programme_week(text)
    if spec.kind in ("choice", "yes_no", "yes_no_unsure"):
        return parse_choice(choices(spec), text)
    if spec.kind == "set":
        return parse_set(choices(spec), text)
    if spec.numeric:
        return _parse_number(spec, text)
    value = text.strip()
    if spec.name == "patient_id" and _not_an_id(value):
        raise AnswerError(NOT_AN_ID.format(value))
    if not re.fullmatch(r"[A-Za-z0-9._-]{1,64}", value):
        raise AnswerError("use 1 to 64 letters, digits, '.', '_' or '-' (no spaces)")
    return value


NOT_AN_ID = (
    "'{}' is not a patient ID. Your patient ID is the short code your clinic gave you (on "
    "your appointment letter or message), not your name. If you do not have it, press Ctrl-C "
    "and ask your clinic; if something worries you now, do not wait: call your clinic, or "
    "your emergency number for the symptoms that need an ambulance."
)
_NOT_IDS = {
    *("idk", "dunno", "dontknow", "donotknow", "idontknow", "notsure", "unsure", "unknown"),
    *("none", "no", "nope", "na", "forgot", "iforgot", "noidea"),
}


def _not_an_id(typed: str) -> bool:
    """Whether what was typed says the patient does not know their ID ("idk", "don't know",
    "n/a"), rather than giving one: a check under such an ID reaches no one's record."""
    letters = re.sub(r"[^a-z0-9]", "", typed.lower())
    return letters in _NOT_IDS or not letters


def _parse_number(spec: FieldSpec, text: str) -> int | float:
    low, high = int(spec.minimum or 0), int(spec.maximum or 0)
    try:
        value = int(text.strip())
    except ValueError:
        raise AnswerError(f"type a whole number from {low} to {high}") from None
    if not low <= value <= high:
        raise AnswerError(f"{value} is out of range: type a whole number from {low} to {high}")
    return value


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


def _items(
    flow: tuple[Step, ...], path: tuple[Gate, ...] = ()
) -> list[tuple[tuple[Gate, ...], Item]]:
    """Every item with the gates it is behind, outermost first."""
    found: list[tuple[tuple[Gate, ...], Item]] = []
    for step in flow:
        if isinstance(step, Gate):
            found += _items(step.items, (*path, step))
        else:
            found.append((path, step))
    return found


def _gates(flow: tuple[Step, ...]) -> list[Gate]:
    """Every gate, nested ones included, in asking order."""
    found: list[Gate] = []
    for step in flow:
        if isinstance(step, Gate):
            found += [step, *_gates(step.items)]
    return found


ITEMS = {item.field: (path, item) for path, item in _items(FLOW)}
GATES = {gate.key: gate for gate in _gates(FLOW)}
NOT_ASKED = tuple(name for name in FIELDS if name not in ITEMS)
"""The report fields the questionnaire never asks: the session id and time of the report (set
by the program), the profile, age and conditions (on the patient's record)."""


class Interview:
    """The state of one questionnaire: answers so far, and which question comes next.

    ``preset`` answers are fixed: never asked, never changed (the patient given with
    ``--patient``, a follow-up's session). A gate whose group holds a preset answer other than
    what "no" would imply is open. Skipped optional questions are remembered so they are not
    asked again. Answering a question again (``answer``) replaces its answer; a gate answered
    "no" forgets what was answered behind it. Questions that no longer apply are dropped from
    the report, and questions that now apply are asked.
    """

    def __init__(self, preset: Answers | None = None) -> None:
        self.preset: Answers = dict(preset or {})
        self.answers: Answers = {}
        self.gates: dict[str, bool] = {}
        self.skipped: set[str] = set()
        self.not_asked: set[str] = set()  # left unanswered on purpose: not asked, not shown
        self.opened = {
            gate.key
            for gate in GATES.values()
            if any(
                name in self.preset and self.preset[name] != gate.if_no.get(name, object())
                for name in gate.fields()
            )
        }
        self.gates.update(dict.fromkeys(self.opened, True))

    @classmethod
    def follow_up(cls, preset: Answers) -> Interview:
        """A follow-up's questionnaire: ``preset`` holds what the log knows about the session
        (``checking.follow_up_preset``); the session's facts it lacks (skipped then) are not
        asked again, unless the contract requires them."""
        interview = cls(preset)
        interview.not_asked = {
            name for name in SESSION_FACTS if name not in preset and not FIELDS[name].required
        }
        return interview

    def _implied(self) -> Answers:
        implied: Answers = {}
        for gate in GATES.values():
            if self.gates.get(gate.key) is False:
                implied.update(gate.if_no)
        return implied

    def current(self) -> Answers:
        """Every answer in force: typed ones, preset ones, and those implied by a gate answered
        no."""
        return {**self._implied(), **self.answers, **self.preset}

    def next_step(self) -> Step | None:
        """The next question to ask, or None when the report is complete."""
        return self._next(FLOW)

    def _next(self, steps: tuple[Step, ...]) -> Step | None:
        for step in steps:
            if isinstance(step, Item):
                if self._unanswered(step):
                    return step
            elif step.key not in self.gates:
                return step
            elif self.gates[step.key]:
                pending = self._next(step.items)
                if pending is not None:
                    return pending
        return None

    def _given(self, name: str) -> bool:
        known = (self.answers, self.preset, self.skipped, self.not_asked)
        return any(name in where for where in known)

    def _unanswered(self, item: Item) -> bool:
        return not self._given(item.field) and item.applies(self.current())

    def step(self, key: str) -> Step:
        """The question behind a key of ``summary``: a field or a gate."""
        return GATES[key] if key in GATES else ITEMS[key][1]

    def value(self, key: str) -> Any:
        """The answer in force for a field or a gate; None when there is none (skipped)."""
        if key in GATES:
            return self.gates.get(key)
        return self.current().get(key)

    def answer(self, step: Step, value: Any) -> None:
        """Record an answer (again, when changing one); ``None`` skips an optional question."""
        if step.key in self.preset or step.key in self.opened:
            raise ValueError(f"{step.key} is preset: it cannot be answered")
        if isinstance(step, Gate):
            self.gates[step.key] = bool(value)
            if not value:
                self._forget(step)
        elif value is None:
            self.skipped.add(step.field)
            self.answers.pop(step.field, None)
        else:
            self.answers[step.field] = value
            self.skipped.discard(step.field)

    def _forget(self, gate: Gate) -> None:
        """A gate answered no: what was answered behind it no longer stands."""
        for name in gate.fields():
            self.answers.pop(name, None)
            self.skipped.discard(name)
        for inner in _gates(gate.items):
            self.gates.pop(inner.key, None)

    def change(self, key: str) -> None:
        """Forget one answer (a field or a gate) so that it is asked again."""
        if key in GATES:
            self.gates.pop(key, None)
            self._forget(GATES[key])
        else:
            self.answers.pop(key, None)
            self.skipped.discard(key)

    def _in_force(self, path: tuple[Gate, ...]) -> bool:
        """Whether the answers behind these gates count: every gate answered, up to the first
        "no" (whose implied answers count)."""
        for gate in path:
            if gate.key not in self.gates:
                return False
            if not self.gates[gate.key]:
                return True
        return True

    def report_data(self) -> Answers:
        """The report: the answers in force whose questions still apply, and the preset
        answers the questionnaire does not ask (a follow-up's ``session_id``)."""
        current = self.current()
        data = {
            name: current[name]
            for name, (path, item) in ITEMS.items()
            if name in current
            and (name in self.preset or (item.applies(current) and self._in_force(path)))
        }
        return {**data, **{k: v for k, v in self.preset.items() if k not in ITEMS}}

    def pending(self) -> set[str]:
        """The report fields that may still get an answer: not answered, not skipped, not
        implied by a gate, behind no gate answered no, and whose question may still apply.
        The fields the questionnaire does not ask are not pending: they are preset or absent."""
        current = self.current()
        open_fields = {
            name
            for name, (path, _) in ITEMS.items()
            if not self._given(name)
            and name not in current
            and not any(self.gates.get(gate.key) is False for gate in path)
        }
        return {
            name
            for name in open_fields
            if ITEMS[name][1].when is None
            or truth(ITEMS[name][1].when, current, open_fields) is not False  # type: ignore[arg-type]
        }

    def partial(self) -> tuple[Answers, set[str]]:
        """The answers so far as the report would hold them, and the fields still pending:
        what ``triage.evaluation.warning.early_warning`` needs."""
        pending = self.pending()
        data = {k: v for k, v in self.report_data().items() if k not in pending}
        return data, pending

    def summary(self) -> list[tuple[str | None, str, str]]:
        """(key to change, label, answer) for the confirmation screen, in asking order; the
        key is None for a preset answer, which cannot be changed. A skipped question is shown,
        so that it can still be answered."""
        data = self.report_data()
        return self._rows(FLOW, data, ())

    def _rows(
        self, steps: tuple[Step, ...], data: Answers, path: tuple[Gate, ...]
    ) -> list[tuple[str | None, str, str]]:
        rows: list[tuple[str | None, str, str]] = []
        for step in steps:
            if isinstance(step, Gate):
                if self.gates.get(step.key) is False:
                    rows.append((step.key, step.title, "None of these"))
                elif self.gates.get(step.key):
                    rows += self._rows(step.items, data, (*path, step))
                continue
            name = step.field
            if name in data:
                key = None if name in self.preset else name
                rows.append((key, step.spec.label, show_answer(step.spec, data[name])))
            elif name in self.skipped and step.applies(self.current()) and self._in_force(path):
                rows.append((name, step.spec.label, NOT_ANSWERED))
        return rows


NOT_ANSWERED = "Not answered"


def describe() -> dict[str, Any]:
    """The questionnaire as data (``triage questions --json``), for apps that render their own
    form: every step in asking order, and when each question is asked as a condition in the
    canonical data form of ``rules list --json`` (``asked_when``; null: always), from ``FLOW``,
    the definition the questionnaire itself walks; ``tests`` names each test of that form as
    the rule language writes it (docs/rules.md). A gate's ``if_yes`` may hold another gate."""
    from ..pack.conditions import (
        OPERATORS,  # here: it loads the contract's models (not at the start)
    )

    return {
        "contract_version": CONTRACT_VERSION,
        "tests": {code: word for word, code in OPERATORS.items()},
        "first": {
            "screen": RIGHT_NOW.key,
            "question": RIGHT_NOW.question,
            "help": RIGHT_NOW.help,
            "answers": [
                {"value": value, "label": label, "means": means}
                for value, label, means in RIGHT_NOW.answers
            ],
            "several": True,
            "stops": "at once, at any answer but the first (the rules decide, from 'means')",
        },
        "patient_record": {
            "after": "patient_id",
            "first_check": first_check_question("ID").question.replace("'ID'", "'<ID>'"),
            "confirm": "Your record says: <age; conditions>. Is that right?",
            "asks": [_describe(item) for item in RECORD_ITEMS.values()],
            "when": "the log has no record of the patient, or the patient says it is wrong; "
            "the answers go into the report and onto the record, as given by the patient",
        },
        "steps": [_describe(step) for step in FLOW],
        "not_asked": list(NOT_ASKED),
        "follow_up_keeps": list(SESSION_FACTS),
        "stops_early": {
            "outcome": "seek_medical_review",
            "urgency": ["urgent", "emergency"],
            "when": "after each answer, the answers given meet a single-report rule of one of "
            "these urgencies whatever the answers still to come (three-valued evaluation: "
            "triage.evaluation.warning.early_warning)",
        },
    }


def _describe(step: Step) -> dict[str, Any]:
    if isinstance(step, Gate):
        return {
            "gate": step.key,
            "title": step.title,
            "question": step.question,
            "help": step.help,
            "answers": [{"value": True, "label": "Yes"}, {"value": False, "label": "No"}],
            "if_yes": [_describe(inner) for inner in step.items],
            "if_no": step.if_no,
        }
    spec = step.spec
    entry: dict[str, Any] = {
        "field": spec.name,
        "question": spec.ask.question,
        "help": spec.ask.help,
        "label": spec.label,
        "required": not step.optional,
        "asked": step.when_text,
        "asked_when": None if step.when is None else to_data(step.when),
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


def session_end(ended_at: datetime, now: datetime, zone: tzinfo | None = None) -> str:
    """When a session ended, as a person says it, in ``zone`` (this computer's time zone when
    None): 'today at 09:10', 'yesterday at 18:30', 'on Thursday at 18:30', 'on 12 November at
    18:30'."""
    local, today = ended_at.astimezone(zone), now.astimezone(zone).date()
    clock = f"{local:%H:%M}"
    if local.date() == today:
        return f"today at {clock}"
    if local.date() == today - timedelta(days=1):
        return f"yesterday at {clock}"
    if today - local.date() < timedelta(days=7):
        return f"on {local:%A} at {clock}"
    return f"on {local.day} {local:%B} at {clock}"


def session_question(ended_at: datetime, now: datetime, zone: tzinfo | None = None) -> Gate:
    """A follow-up's first question: is this the session the patient means?"""
    return Gate(
        "session",
        "Session",
        f"This follow-up is about your session that ended {session_end(ended_at, now, zone)}. "
        "Is that the one?",
        "A follow-up checks in about your latest session in the log. Answer no if you have "
        "trained since, or if that time is wrong: the next question asks when the session you "
        "mean ended.",
        (),
    )


# -- the questions before the report's ----------------------------------------------------------

RECORD_ITEMS = {"age": Item("age"), "conditions": Item("conditions", needed=True)}
"""Asked when the patient's record holds none (or they say it is wrong): policy v3 section 5."""


def show_answer_now(chosen: list[str]) -> str:
    """The first screen's answers as the patient reads them back."""
    labels = dict(RIGHT_NOW.options())
    return "; ".join(labels[value] for value in chosen) or "None of these"


def first_check_question(patient: str) -> Gate:
    """The question after an ID the log has never seen: a mistyped ID would drop the
    patient's record and history without a word."""
    return Gate(
        "first",
        "Patient ID",
        f"This is the first check for '{patient}'. Is that your patient ID?",
        "If you have done checks before, you may have typed it differently (a missing '-', a "
        "capital letter): answer no to type it again. Answer yes if this is your first check.",
        (),
    )


def record_question(record: Answers) -> Gate:
    """The question that shows what the patient's record holds, to be confirmed."""
    return Gate(
        "record",
        "Your record",
        f"Your record says: {describe_record(record)}. Is that right?",
        "Your clinician set this; it changes what some answers mean (blood thinners make a "
        "swelling more urgent). Answer no if something is wrong or missing: the next "
        "questions ask again, and your clinician sees what you said.",
        (),
    )


def describe_record(record: Answers) -> str:
    """A record's age and conditions in words: 'age 70; taking blood thinners'."""
    parts = [] if record.get("age") is None else [f"age {record['age']}"]
    conditions = record.get("conditions") or []
    labels = dict(choices(FIELDS["conditions"]))
    parts += [_lower_first(labels[c]) for c in conditions] or ["no known conditions"]
    return "; ".join(parts)


def _lower_first(label: str) -> str:
    return label[:1].lower() + label[1:]
