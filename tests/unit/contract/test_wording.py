"""The wording of the questionnaire: each question asks one thing, in plain words, and says
what to answer in the cases people read two ways (24 people answering from their own stories).

The rows read ``field_table.FIELDS`` (what the questionnaire shows) and check that it says what
the model in ``report.py`` says. Every field that an emergency or urgent rule reads
(``rules/10-emergency.yaml``, ``rules/15-urgent.yaml``) tells the patient what to answer when
they are not sure.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from triage.contract.field_table import FIELDS
from triage.contract.fields import Ask, FieldSpec
from triage.contract.report import Report
from triage.pack.conditions import COMBINATORS

ROOT = Path(__file__).resolve().parents[3]
RED_FLAG_FILES = ("rules/10-emergency.yaml", "rules/15-urgent.yaml")

MAX_QUESTION_WORDS = 30
MAX_HELP_SENTENCES = 2
MAX_HELP_WORDS = 40
NOT_ASKED_AS_QUESTIONS = ("text", "datetime")
"""Patient ID, session ID and the time of the answers are prompts for a value, not questions."""


def _fields_in(condition: Any, found: set[str]) -> set[str]:
    if isinstance(condition, list):
        for part in condition:
            _fields_in(part, found)
    elif isinstance(condition, dict):
        for key, value in condition.items():
            if key in COMBINATORS:
                _fields_in(value, found)
            else:
                found.add(key)
    return found


def red_flag_fields() -> set[str]:
    """Every field read by the `when` of an emergency or urgent rule."""
    found: set[str] = set()
    for name in RED_FLAG_FILES:
        pack = yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))
        for rule in pack["rules"]:
            _fields_in(rule["when"], found)
    return found


RED_FLAG_FIELDS = sorted(red_flag_fields())


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.?!])\s+", text.strip()) if s]


def words(text: str) -> int:
    return len(text.split())


def part(spec: FieldSpec, where: str) -> str:
    """The text of a field the row reads: its question, help, every label, one label
    (``label:<choice>``), or all of them."""
    ask = spec.ask
    if where == "question":
        return ask.question
    if where == "help":
        return ask.help
    if where == "labels":
        return " | ".join(ask.labels.values())
    if where.startswith("label:"):
        wanted = where.removeprefix("label:")
        return next(text for value, text in ask.labels.items() if str(value) == wanted)
    if where == "short":
        return ask.short
    assert where == "all", where
    return " | ".join((ask.question, ask.help, *ask.labels.values(), ask.short))


# (field, where, must contain, must not contain): case-insensitive substrings.
ROWS: list[tuple[str, str, tuple[str, ...], tuple[str, ...]]] = [
    # When the pain started: a flare-up of an old pain, within the hour, two days after.
    ("pain_onset", "question", ("this pain", "get worse", "before"), ()),
    ("pain_onset", "help", ("within an hour", "counts as during", "not sure"), ()),
    ("pain_onset", "label:gradual_during", ("within an hour after",), ()),
    ("pain_onset", "label:next_day", ("next day", "or later"), ()),
    ("pain_onset", "label:sudden_during", ("suddenly",), ("during a set",)),
    # How long it has been there, asked before when it started.
    ("pain_duration", "label:new", ("new since this session",), ()),
    ("pain_duration", "question", ("how long",), ("start",)),
    # Something new you cannot do: examples, not a complete list; tiptoe included.
    ("functional_loss", "question", ("for example", "tiptoe", "grip", "lift your arm"), (":",)),
    ("functional_loss", "all", (), ("bear weight",)),
    # Overheating: being too hot first, the signs only with it.
    ("heat_illness", "question", ("too hot",), ("overheat:", "nausea")),
    ("heat_illness", "help", ("only if you got too hot", "30 minutes"), ()),
    # A tense limb is the whole arm, leg or muscle, apart from swelling at the sore spot.
    ("tense_swollen_limb", "question", ("whole", "tense", "hard"), ()),
    ("tense_swollen_limb", "help", ("one sore spot", "asked on its own"), ()),
    ("tense_swollen_limb", "short", ("whole",), ()),
    ("swelling", "question", ("spot or joint",), ("where it hurts",)),
    # Symptoms days later: since the session, including today.
    ("chest_pain", "question", ("since the session", "including today"), ("after the session",)),
    ("headache", "question", ("since the session", "including today"), ("after the session",)),
    ("dizziness", "question", ("since the session",), ()),
    ("heat_illness", "question", ("since the session",), ()),
    # Programme week from people who count in months.
    ("program_week", "help", ("months", "week 13"), ()),
    # The session as a whole, not its worst moment.
    ("session_rpe", "question", ("as a whole", "0 to 10"), ("feel?",)),
    ("session_rpe", "help", ("whole session", "not its hardest moment"), ()),
    # Pain trend when the pain began this morning.
    ("pain_trend", "question", ("when it started", "yesterday"), ("a day ago",)),
    ("pain_trend", "short", (), ("a day ago",)),
    # Rest pain and night pain: one thing each.
    ("rest_pain", "question", ("still",), ("wake", "night", "sleep")),
    ("night_pain", "question", ("wake",), ("rest", "still", "sit")),
    ("night_pain", "help", ("asked on its own",), ("question before",)),
    # Ordinary soreness counts as pain.
    ("pain_during", "help", ("muscle soreness", "stiffness"), ()),
    ("pain_now", "help", ("muscle soreness", "stiffness", "higher"), ()),
    # A muscle bulge and a joint out of place: one thing each, each naming the other.
    ("muscle_bulge", "question", ("muscle",), ("joint",)),
    ("muscle_bulge", "help", ("joint out of place", "asked on its own"), ()),
    ("deformity", "question", ("joint",), ("bulge", "muscle")),
    ("deformity", "help", ("bulge in a muscle", "asked on its own"), ()),
    # The heart group.
    ("referred_ache", "question", ("jaw", "throat", "neck", "shoulder", "arm", "effort"), ()),
    ("referred_ache", "help", ("no chest pain",), ()),
    ("cold_sweat", "question", ("cold sweat", "clammy"), ("nausea", "sick")),
    ("cold_sweat", "help", ("nausea", "ordinary sweat"), ()),
    (
        "dizziness",
        "label:brief",
        ("light-headed", "standing up", "right after a heavy set", "within a minute"),
        (),
    ),
    ("dizziness", "help", (), ("second answer",)),
    # Confusion covers the stroke signs a lay person knows (FAST).
    (
        "confusion",
        "question",
        ("confusion", "slurred speech", "unsteady walking", "face drooping", "one arm or leg"),
        (),
    ),
    ("confusion", "help", ("not from pain",), ()),
    # Plain words.
    ("unwell", "all", ("suddenly very unwell",), ("acutely",)),
    ("numbness", "all", (), ("saddle",)),
    # Not sure what hurts: the nearest answer, not "something else" (a muscle is read by U3).
    ("pain_site", "help", ("not sure", "feels most like"), ("last answer",)),
    ("conditions", "label:blood_thinners", ("blood thinners (anticoagulants)",), ()),
]


@pytest.mark.parametrize(
    ("name", "where", "present", "absent"), ROWS, ids=[f"{r[0]}-{r[1]}" for r in ROWS]
)
def test_wording_row(
    name: str, where: str, present: tuple[str, ...], absent: tuple[str, ...]
) -> None:
    text = part(FIELDS[name], where)
    lowered = text.lower()
    missing = [p for p in present if p.lower() not in lowered]
    unwanted = [a for a in absent if a.lower() in lowered]
    assert not missing and not unwanted, f"{name} {where}: {text!r}"


def test_heat_illness_asks_about_being_too_hot_before_the_signs() -> None:
    question = FIELDS["heat_illness"].ask.question.lower()
    hot = question.index("too hot")
    for sign in ("sick", "headache", "sweating", "dry skin"):
        assert hot < question.index(sign), sign


def test_no_field_points_to_another_question_by_its_place() -> None:
    """The questionnaire may ask in another order (how long before when it started): a field
    names the other question, never "the question before" or "the next question"."""
    pointing = re.compile(r"(question|answer) (before|after)|next question|previous question")
    assert [n for n, s in FIELDS.items() if pointing.search(part(s, "all").lower())] == []


QUESTIONS = [name for name, spec in FIELDS.items() if spec.kind not in NOT_ASKED_AS_QUESTIONS]


@pytest.mark.parametrize("name", QUESTIONS)
def test_a_question_is_one_question(name: str) -> None:
    question = FIELDS[name].ask.question
    assert question.endswith("?"), question
    assert question.count("?") == 1, question
    assert words(question) <= MAX_QUESTION_WORDS, (words(question), question)


@pytest.mark.parametrize("name", list(FIELDS))
def test_help_is_short(name: str) -> None:
    help_text = FIELDS[name].ask.help
    assert len(sentences(help_text)) <= MAX_HELP_SENTENCES, help_text
    assert words(help_text) <= MAX_HELP_WORDS, (words(help_text), help_text)


def test_no_question_says_during_or_after_the_session() -> None:
    """Symptoms two days later were answered no: "since the session, including today"."""
    saying = [n for n, s in FIELDS.items() if "during or after" in s.ask.question.lower()]
    assert saying == []


def test_rest_and_night_pain_are_not_asked_together() -> None:
    together = re.compile(r"\b(at rest|still)\b.*\bor\b.*\b(wake|night)\b", re.IGNORECASE)
    asking = [n for n, s in FIELDS.items() if together.search(s.ask.question)]
    assert asking == []


JARGON = ("radiating", "bilateral", "rpe", "anticoagulant", "nausea", "doms", "syncope",
          "palpitation", "haemarthrosis", "acutely", "bear weight")  # fmt: skip
"""Words a patient may not know: allowed only in brackets after a plain word."""


@pytest.mark.parametrize("name", list(FIELDS))
def test_no_jargon_without_a_plain_word_first(name: str) -> None:
    text = part(FIELDS[name], "all")
    outside_brackets = re.sub(r"\([^)]*\)", "", text).lower()
    used = [w for w in JARGON if re.search(rf"\b{w}", outside_brackets)]
    assert used == [], text


def test_red_flag_fields_are_read_from_the_rules() -> None:
    """The parse of the rule files finds real fields, the obvious ones among them."""
    assert set(RED_FLAG_FIELDS) <= set(FIELDS), set(RED_FLAG_FIELDS) - set(FIELDS)
    for name in ("chest_pain", "confusion", "dark_urine", "deformity", "vision_change"):
        assert name in RED_FLAG_FIELDS


def _not_sure_words(spec: FieldSpec) -> tuple[tuple[str, ...], ...]:
    """What the help of a field that can reveal a red flag must say: each entry is a list of
    alternatives, one of which must be there."""
    if spec.kind == "yes_no":
        return (("if you are not sure",), ("answer yes",))
    if spec.kind == "set":
        return (("not sure",), ("choose it",))
    if spec.kind == "choice" and spec.ask.worse:  # none < ... < the worst
        return (("if you are not sure",), ("worse answer", "answer yes"))
    if spec.ask.worse == "higher":
        return (("not sure",), ("higher",))
    return (("not sure",),)  # descriptive answers: the help says which one to choose


@pytest.mark.parametrize("name", RED_FLAG_FIELDS)
def test_a_red_flag_question_says_what_to_answer_when_not_sure(name: str) -> None:
    spec = FIELDS[name]
    lowered = spec.ask.help.lower()
    missing = [a for a in _not_sure_words(spec) if not any(w in lowered for w in a)]
    assert missing == [], f"{name}: {spec.ask.help!r}"


CHOICES = [
    name
    for name, spec in FIELDS.items()
    if spec.kind in ("choice", "yes_no", "yes_no_unsure") and spec.choices
]


@pytest.mark.parametrize("name", CHOICES)
def test_labels_name_every_answer_and_no_comes_first_as_no(name: str) -> None:
    spec = FIELDS[name]
    assert set(spec.ask.labels) == set(spec.choices)
    first = spec.choices[0]
    if first is False or first == "none":
        assert spec.ask.labels[first].startswith("No"), spec.ask.labels[first]


def test_yes_no_labels_are_yes_and_no() -> None:
    for name, spec in FIELDS.items():
        if spec.kind == "yes_no":
            assert spec.ask.labels == {True: "Yes", False: "No"}, name


@pytest.mark.parametrize("name", list(Report.model_fields))
def test_the_table_says_what_the_model_says(name: str) -> None:
    """The rows above read the generated table: it must hold report.py's wording."""
    asked = next(m for m in Report.model_fields[name].metadata if isinstance(m, Ask))
    assert FIELDS[name].ask == asked
