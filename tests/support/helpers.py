"""Shared test data: the public vignettes, a base report, and the contract-driven strategies."""

from __future__ import annotations

import os
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from triage.contract.reading import FIELDS, FieldSpec, parse_report
from triage.contract.report import REQUIREMENTS
from triage.logic import holds
from triage.outcomes import OUTCOMES, URGENCIES
from triage.pack.history import Earlier
from triage.yamlio import read_document

THOROUGH = os.environ.get("TRIAGE_TESTS") == "thorough"
"""Property tests run their full counts when TRIAGE_TESTS=thorough (.ci/run sets it); a
twentieth of them (at least 25) by default, so that the suite is quick to run while working."""


def examples(count: int) -> settings:
    """Hypothesis settings for ``count`` examples in the thorough profile."""
    return settings(
        max_examples=count if THOROUGH else max(25, count // 20),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(os.environ.get("TRIAGE_SHARED", ROOT.parent / "shared"))
VIGNETTE_DIR = SHARED / "vignettes-v3"
CASES_DIR = ROOT / "tests" / "support" / "cases"


def vignette_files() -> list[Path]:
    files = sorted(VIGNETTE_DIR.glob("*.yaml")) + sorted(CASES_DIR.glob("*.yaml"))
    assert files, f"no vignettes found in {VIGNETTE_DIR}"
    return files


def load_case(path: Path) -> dict[str, Any]:
    return dict(read_document(path))


BASE: dict[str, Any] = {
    "patient_id": "pt-base",
    "hours_since_session": 0.5,
    "pain_during": 0,
    "pain_now": 0,
    "snap_or_tear": False,
    "swelling": "none",
    "deformity": False,
    "functional_loss": False,
    "groin_lump": False,
    "chest_pain": "none",
    "fainting": "none",
    "palpitations": "none",
    "breathless": "none",
    "dizziness": "none",
    "confusion": False,
    "vision_change": False,
    "headache": "none",
    "dark_urine": False,
    "tense_swollen_limb": False,
    "swollen_warm_limb": False,
    "numbness": [],
    "bladder_bowel_change": False,
    "heat_illness": "none",
    "unwell": False,
}
"""A valid report with no pain and no symptom: nothing alarming fires."""


def report(**changes: Any) -> dict[str, Any]:
    """BASE with some answers changed; a value of None removes the answer."""
    data = {**BASE, **changes}
    return {k: v for k, v in data.items() if v is not None}


# -- strategies ----------------------------------------------------------------------------------

HOURS = [0, 0.5, 6, 11.5, 12, 20, 23.5, 24, 30, 47, 47.9, 48, 50, 71, 72, 100, 167, 168, 200, 336]


_STRATEGIES: dict[str, st.SearchStrategy[Any]] = {}


def _value(spec: FieldSpec) -> st.SearchStrategy[Any]:
    """The values of one field, as a strategy made once per field (making one is half the cost
    of drawing a report)."""
    if spec.name not in _STRATEGIES:
        _STRATEGIES[spec.name] = _strategy(spec)
    return _STRATEGIES[spec.name]


def _strategy(spec: FieldSpec) -> st.SearchStrategy[Any]:
    if spec.name == "hours_since_session":
        return st.one_of(st.sampled_from(HOURS), st.floats(0, 336, allow_nan=False))
    if spec.kind == "integer":
        return st.integers(int(spec.minimum or 0), int(spec.maximum or 10))
    if spec.kind == "yes_no":
        # mostly "no", so that reports reach every tier, not only the emergency one
        return st.sampled_from([False, False, False, True]) if spec.ordered else st.booleans()
    if spec.kind == "set":  # mostly empty, so that reports reach every tier
        some = st.lists(st.sampled_from(spec.choices), min_size=1, max_size=3, unique=True)
        return st.one_of(st.just([]), st.just([]), st.just([]), some)
    if spec.kind in ("choice", "yes_no_unsure"):
        choices = list(spec.choices)
        if spec.ordered:
            choices = [choices[0]] * (2 * len(choices)) + choices
        return st.sampled_from(choices)
    return st.just("pt-gen")


_REPORT_FIELDS = [
    (name, spec) for name, spec in FIELDS.items() if name not in ("reported_at", "session_id")
]
_BYTES_PER_FIELD = 3  # whether it is given, its value, and the finer part of a number of hours


def _given_value(spec: FieldSpec, value: int, fine: int, alarm: int) -> Any:
    """The value of ``spec`` that the bytes ``value`` and ``fine`` stand for. An ordered answer
    other than a score is worrying only with odds ``alarm``/256, drawn once per report, so that
    reports reach every tier, not mostly the emergency one; zero bytes give the least worrying
    answers, so that a failing report shrinks towards a benign one."""
    if spec.name == "hours_since_session":
        if value < 128:
            return HOURS[value % len(HOURS)]
        return ((value - 128) * 256 + fine) * 336 / (128 * 256 - 1)  # any of 32,768 points
    if spec.kind == "integer":
        low, high = int(spec.minimum or 0), int(spec.maximum or 10)
        return low + value % (high - low + 1)
    calm = spec.ordered and fine >= alarm
    if spec.kind == "yes_no":
        return not calm and bool(value % 2)
    if spec.kind == "set":
        return [] if calm else random.Random(value).sample(list(spec.choices), 1 + value % 3)
    if spec.kind in ("choice", "yes_no_unsure"):
        return spec.choices[0] if calm else spec.choices[value % len(spec.choices)]
    return "pt-gen"


@st.composite
def answers(draw: st.DrawFn, *, required: bool = True, **fixed: Any) -> dict[str, Any]:
    """Answers of the right types: every required field (or, with ``required=False``, any field)
    given or not, whatever the others say. They come from one draw of bytes, a few per field:
    drawing each answer on its own cost 4.5 ms a report (about 60 draws), which made the thorough
    property tests the longest part of the suite; the bytes shrink as well as the draws did."""
    size = 1 + _BYTES_PER_FIELD * len(_REPORT_FIELDS)
    alarm, *entropy = draw(st.binary(min_size=size, max_size=size))
    data: dict[str, Any] = {}
    for index, (name, spec) in enumerate(_REPORT_FIELDS):
        given, value, fine = entropy[index * _BYTES_PER_FIELD : (index + 1) * _BYTES_PER_FIELD]
        if name not in fixed and ((required and spec.required) or given % 2):
            data[name] = _given_value(spec, value, fine, alarm // 4)
    return {**data, **fixed}


@st.composite
def reports(draw: st.DrawFn, **fixed: Any) -> dict[str, Any]:
    """Valid reports: every required field, each optional one sometimes, conditions respected."""
    return complete(draw, draw(answers(**fixed)))


def complete(draw: st.DrawFn, data: dict[str, Any]) -> dict[str, Any]:
    """Add or remove the answers the contract requires given the others (report.REQUIREMENTS:
    pain_region and pain_site with pain, pain_trend at 24 h, chest_pain_kind, ...)."""
    for requirement in REQUIREMENTS:
        applies = holds(requirement.when, data)
        given = data.get(requirement.field) not in (None, [])
        if requirement.required and applies and not given:
            data[requirement.field] = draw(_value(FIELDS[requirement.field]))
            while data[requirement.field] == []:  # a required set answer is not empty here
                data[requirement.field] = draw(_value(FIELDS[requirement.field]))
        if requirement.only and given and not applies:
            del data[requirement.field]
    return data


# -- typing a report into the questionnaire ----------------------------------------------------


_ABSENT = object()


def gate_answer(gate: Any, data: dict[str, Any]) -> bool:
    """Yes when the report says anything in the group (nested groups included) other than what
    "no" would imply, leaving out an answer that "no" would give included."""
    return any(data.get(name, _ABSENT) != gate.if_no.get(name, _ABSENT) for name in gate.fields())


def typed(spec: FieldSpec, value: Any) -> str:
    """What a person types to give ``value``: a choice's number, a number, or text."""
    from triage.evaluation.questionnaire import choices

    if value is None:
        return ""
    if spec.kind == "set":
        values = [v for v, _ in choices(spec)]
        return " ".join(str(values.index(v) + 1) for v in value) or "none"
    if spec.kind in ("choice", "yes_no", "yes_no_unsure"):
        values = [v for v, _ in choices(spec)]
        return str(
            next(
                i
                for i, v in enumerate(values, 1)
                if v is value or (v == value and type(v) is type(value))
            )
        )
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def keystrokes(
    data: dict[str, Any],
    preset: dict[str, Any] | None = None,
    *,
    checked_before: bool = False,
    record: bool = False,
) -> list[str]:
    """The lines a person types to answer the questionnaire with this report, then confirms:
    nothing needs an ambulance now; their patient ID (unless ``preset``), confirmed when the log
    has never seen it (not ``checked_before``, no ``record``); their ``record`` confirmed, or,
    without one, their age and conditions typed; then the report's questions. ``preset``
    answers are not asked (a follow-up's patient and hours)."""
    from triage.contract.field_table import FIELDS
    from triage.evaluation.questionnaire import Gate, Interview

    preset = dict(preset or {})
    lines = ["n"]
    if "patient_id" not in preset:
        lines.append(data["patient_id"])
        preset["patient_id"] = data["patient_id"]
        if not checked_before and not record:
            lines.append("yes")
    if record:
        lines.append("yes")
    else:
        for name in ("age", "conditions"):
            value = data.get(name, [] if name == "conditions" else None)
            lines.append(typed(FIELDS[name], value))
            if value is not None:
                preset[name] = value
    interview = Interview(preset)
    while (step := interview.next_step()) is not None:
        value = gate_answer(step, data) if isinstance(step, Gate) else data.get(step.field)
        lines.append(
            ("yes" if value else "no") if isinstance(step, Gate) else typed(step.spec, value)
        )
        interview.answer(step, value)
    return [*lines, ""]


# -- histories ---------------------------------------------------------------------------------

NOW = datetime(2026, 11, 21, 12, 0, tzinfo=timezone.utc)
SESSION_IDS = ["s-a", "s-b", "s-c", None]
DAYS_AGO = [0, 0.5, 1, 2, 6.9, 7, 7.1, 10, 13.9, 14, 14.1, 20, 21, 21.1, 29]


def at(days_ago: float) -> str:
    return (NOW - timedelta(days=days_ago)).isoformat()


@st.composite
def histories(draw: st.DrawFn) -> tuple[dict[str, Any], list[Earlier]]:
    """A report and up to six earlier checks of the same patient, some about the same sessions."""
    current = {**draw(reports()), "patient_id": "pt-h", "reported_at": at(0)}
    session = draw(st.sampled_from(SESSION_IDS))
    if session:
        current["session_id"] = session
    earlier = []
    for _ in range(draw(st.integers(0, 6))):
        days = draw(st.one_of(st.sampled_from(DAYS_AGO), st.floats(0, 30)))
        report = {**draw(reports()), "patient_id": "pt-h", "reported_at": at(days)}
        session = draw(st.sampled_from(SESSION_IDS))
        if session:
            report["session_id"] = session
        outcome = draw(st.sampled_from(OUTCOMES))
        urgency = draw(st.sampled_from(URGENCIES)) if outcome == "seek_medical_review" else None
        earlier.append(Earlier.of_report(parse_report(report), outcome, urgency))
    return current, earlier
