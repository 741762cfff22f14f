"""Early warnings (clinical.md section 6.4): three-valued evaluation, and the proof that a warning
is sound: every way of finishing the answers is evaluated at least as urgent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import triage
from tests.support.helpers import (
    BASE,
    examples,
    gate_answer,
    load_case,
    report,
    reports,
    vignette_files,
)
from tests.support.helpers import _value as value_of
from triage.contract.reading import FIELDS, parse_report
from triage.contract.report import REQUIREMENTS
from triage.errors import ReportError
from triage.evaluation.questionnaire import ITEMS, Gate, Interview
from triage.evaluation.warning import early_warning
from triage.logic import All, AnyOf, FieldRef, Not, truth
from triage.logic import Test as On
from triage.outcomes import severity

PACK = triage.default_pack()
ASKED = sorted(ITEMS)
CLINICIAN_SET = ("profile", "age", "conditions")


# -- three-valued logic --------------------------------------------------------------------------

T, F = On("a", "eq", 1), On("b", "eq", 1)
U = On("u", "eq", 1)


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (T, True),
        (F, False),
        (U, None),
        (Not(U), None),
        (Not(F), True),
        (All((T, U)), None),
        (All((F, U)), False),
        (All((T, T)), True),
        (AnyOf((T, U)), True),
        (AnyOf((F, U)), None),
        (AnyOf((F, F)), False),
        (Not(AnyOf((F, U))), None),
        (Not(All((F, U))), True),
        (On("u", "present", False), None),
        (On("absent", "present", False), True),
        (On("absent", "eq", 1), False),
        (Not(On("absent", "eq", 1)), True),
        (On("a", "ge", FieldRef("u", 2)), None),  # a comparison with an unknown answer
        (On("a", "le", FieldRef("b", 0)), True),
    ],
    ids=lambda v: "" if isinstance(v, (bool, type(None))) else repr(v)[:60],
)
def test_three_valued_truth(condition: Any, expected: bool | None) -> None:
    assert truth(condition, {"a": 1, "b": 2}, {"u"}) is expected


# -- completions ---------------------------------------------------------------------------------


def _complete_within(draw: st.DrawFn, data: dict[str, Any], hidden: set[str]) -> dict[str, Any]:
    """Fix the contract's conditional requirements, changing only hidden answers."""
    for requirement in REQUIREMENTS:
        name = requirement.field
        if name not in hidden:
            continue
        applies = triage.logic.holds(requirement.when, data)
        present = data.get(name) not in (None, [])
        if requirement.required and applies and not present:
            data[name] = draw(value_of(FIELDS[name]).filter(lambda v: v != []))
        if requirement.only and present and not applies:
            del data[name]
    return data


@st.composite
def completions(draw: st.DrawFn, known: dict[str, Any], hidden: set[str]) -> dict[str, Any]:
    """A valid report that agrees with ``known`` on every field not ``hidden``: the hidden
    answers drawn at random, each optional one sometimes left out."""
    data = dict(known)
    for name in sorted(hidden):
        spec = FIELDS[name]
        if spec.required or draw(st.booleans()):
            data[name] = draw(value_of(spec))
    return _complete_within(draw, data, hidden)


def mildest(known: dict[str, Any], hidden: set[str]) -> dict[str, Any]:
    """The hidden answers at their least worrying: required ones at their first answer (none,
    no, 0), optional ones left out; then what the requirements need."""
    data = dict(known)
    for name in hidden:
        if FIELDS[name].required:
            data[name] = BASE[name]
    for requirement in REQUIREMENTS:
        name = requirement.field
        needed = requirement.required and triage.logic.holds(requirement.when, data)
        if name in hidden and needed and name not in data:
            data[name] = FIELDS[name].choices[0]
    return data


def _valid(data: dict[str, Any]) -> bool:
    try:
        parse_report(data)
    except ReportError:
        return False
    return True


def _decision_severity(data: dict[str, Any]) -> tuple[int, set[str]]:
    decision = triage.evaluate(data, pack=PACK, engine="reference")
    return severity(decision.outcome, decision.urgency), {r.rule for r in decision.reasons}


def _assert_sound(known: dict[str, Any], hidden: set[str], completion: dict[str, Any]) -> None:
    warning = early_warning(known, hidden, PACK)
    assume(warning is not None)
    assert warning is not None
    assume(all(completion.get(k) == known.get(k) for k in set(FIELDS) - hidden))
    assume(_valid(completion))
    level, fired = _decision_severity(completion)
    assert level >= warning.severity, (known, hidden, completion)
    assert {r.rule for r in warning.reasons} <= fired  # every row met is met in the completion


@st.composite
def partial_answers(draw: st.DrawFn) -> tuple[dict[str, Any], set[str]]:
    """A generated report with some of its asked answers not known yet."""
    full = draw(reports())
    hidden = set(draw(st.sets(st.sampled_from(ASKED), max_size=len(ASKED))))
    hidden.discard("patient_id")
    return {k: v for k, v in full.items() if k not in hidden}, hidden


def _lenient(count: int) -> settings:
    """``examples(count)``, allowing the completions that disagree with the partial answers to
    be filtered out."""
    base = examples(count)
    return settings(base, suppress_health_check=[*base.suppress_health_check, *_FILTERING])


_FILTERING = (HealthCheck.filter_too_much,)


@_lenient(600)
@given(st.data())
def test_early_warning_is_sound_for_generated_partial_answers(data: st.DataObject) -> None:
    """Any partial answers (any subset of the asked questions unknown): when the early warning
    fires, a random completion and the mildest completion are at least as urgent, and every
    row it names fires in them."""
    known, hidden = data.draw(partial_answers())
    warning = early_warning(known, hidden, PACK)
    assume(warning is not None)
    _assert_sound(known, hidden, mildest(known, hidden))
    _assert_sound(known, hidden, data.draw(completions(known, hidden)))


def _walk(full: dict[str, Any]) -> list[tuple[str, dict[str, Any], set[str]]]:
    """Answer the questionnaire with a report's answers; after each answer, the key answered
    and what the early warning sees (the answers so far with the clinician's, the pending
    questions)."""
    clinician = {k: full[k] for k in CLINICIAN_SET if k in full}
    interview = Interview({"patient_id": full["patient_id"]})
    seen = []
    while (step := interview.next_step()) is not None:
        value = gate_answer(step, full) if isinstance(step, Gate) else full.get(step.field)
        interview.answer(step, value)
        answers, pending = interview.partial()
        seen.append((step.key, {**answers, **clinician}, pending))
    return seen


@_lenient(400)
@given(st.data())
def test_early_warning_is_sound_along_the_questionnaire(data: st.DataObject) -> None:
    """Partial answers as the questionnaire has them after each answer: where the warning fires,
    the report being answered and another completion are at least as urgent."""
    full = data.draw(reports())
    steps = _walk(full)
    fired = [(key, known, pending) for key, known, pending in steps if early_warning(
        known, pending, PACK
    )]  # fmt: skip
    assume(fired)
    _, known, pending = fired[0]
    warning = early_warning(known, pending, PACK)
    assert warning is not None
    level, _ = _decision_severity(full)
    assert level >= warning.severity
    _assert_sound(known, pending, data.draw(completions(known, pending)))


# -- the questionnaire stops where it should -----------------------------------------------------


def first_warning(full: dict[str, Any]) -> tuple[str, str] | None:
    """(the question after which the warning fires, its urgency), or None."""
    for key, known, pending in _walk(full):
        warning = early_warning(known, pending, PACK)
        if warning is not None:
            return key, warning.urgency
    return None


NO_PAIN = {**BASE, "patient_id": "pt-w"}
PAIN_GIVEN = {"pain_during": 6, "pain_now": 5, "pain_site": "joint", "swelling": "mild"}


@pytest.mark.parametrize(
    ("answers", "stops_after", "urgency"),
    [
        (report(chest_pain="ongoing", chest_pain_kind="pressure"), "chest_pain_kind", "emergency"),
        (report(chest_pain="ongoing", chest_pain_kind="tender"), None, None),
        (report(chest_pain="resolved", chest_pain_kind="tearing"), "chest_pain_kind", "emergency"),
        (report(numbness=["one_leg", "saddle"]), "numbness", "emergency"),
        (report(numbness=["one_leg"]), None, None),
        (report(fainting="fainted"), "fainting", "emergency"),
        (report(fainting="nearly"), None, None),  # same day: the questionnaire goes on
        (report(**PAIN_GIVEN, pain_region="shoulder", deformity=True), "deformity", "urgent"),
        (report(vision_change=True), "vision_change", "urgent"),
        (report(vision_change=True, headache="usual"), "vision_change", "emergency"),
        (report(breathless="ongoing"), "breathless", "emergency"),
        (report(dark_urine=True), "dark_urine", "emergency"),
        (
            report(pain_during=2, pain_now=1, pain_region="thigh", pain_site="muscle"),
            None,
            None,
        ),
    ],
    ids=[
        "pressure-chest-pain",
        "tender-chest-wall",
        "tearing-chest-pain",
        "saddle-and-one-leg",
        "one-leg-only",
        "fainted",
        "nearly-fainted",
        "dislocated-shoulder",
        "vision-change",
        "vision-and-headache",
        "breathless-at-rest",
        "dark-urine",
        "doms",
    ],
)
def test_the_questionnaire_stops_right_after_the_red_flag(
    answers: dict[str, Any], stops_after: str | None, urgency: str | None
) -> None:
    found = first_warning(answers)
    assert found == (None if stops_after is None else (stops_after, urgency))


def test_a_known_condition_from_the_patients_record_counts() -> None:
    """Tender chest-wall pain is not an emergency, unless the patient has heart disease (E2b):
    then any chest pain is, and the kind need not be asked."""
    tender = report(chest_pain="resolved", chest_pain_kind="tender")
    assert first_warning(tender) is None
    assert first_warning({**tender, "conditions": ["heart_disease"]}) == ("chest_pain", "emergency")


def test_history_rules_are_left_out() -> None:
    assert all(not r.history for r in _walk_rules(report(fainting="fainted")))


def _walk_rules(full: dict[str, Any]) -> list[Any]:
    for _, known, pending in _walk(full):
        warning = early_warning(known, pending, PACK)
        if warning is not None:
            return [PACK.rule(r.rule) for r in warning.reasons]
    return []


RED_FLAG_CASES = [
    p
    for p in vignette_files()
    if load_case(p)["expected"].get("urgency") in ("urgent", "emergency")
]


@pytest.mark.parametrize("path", RED_FLAG_CASES, ids=lambda p: p.stem)
def test_every_red_flag_vignette_stops_early_at_its_own_urgency(path: Path) -> None:
    """Every emergency and urgent vignette stops at the latest on its last answer, with the
    urgency it expects (the warning is never more urgent than the whole report)."""
    case = load_case(path)
    found = first_warning(case["report"])
    assert found is not None
    assert found[1] == case["expected"]["urgency"]


@pytest.mark.parametrize("path", vignette_files(), ids=lambda p: p.stem)
def test_no_vignette_is_warned_beyond_its_expected_urgency(path: Path) -> None:
    case = load_case(path)
    found = first_warning(case["report"])
    expected = severity(case["expected"]["outcome"], case["expected"].get("urgency"))
    assert found is None or severity("seek_medical_review", found[1]) <= expected
