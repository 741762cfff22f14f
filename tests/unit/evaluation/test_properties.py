"""Properties that must always hold (clinical.md section 5), checked with hypothesis.

- The two backends fire exactly the same rules (default pack and a pack using every construct).
- The compiled conditions mean what ``holds`` says (the same packs).
- Monotonicity: making one answer worse never lowers the outcome or the urgency.
- Red flags are never diluted: a report meeting an emergency row is an emergency.
- No input, however malformed, produces anything but a decision or a ReportError.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import triage
from tests.support.helpers import ROOT, complete, examples, load_case, reports, vignette_files
from triage.contract.reading import FIELDS, worse_chains
from triage.contract.report import REQUIREMENTS
from triage.engines import get_engine
from triage.logic import Condition, compile_condition, compile_matched, holds, matched
from triage.outcomes import severity
from triage.pack.history import build_context, rule_holds

DURABLE = get_engine("durable-rules")
REFERENCE = get_engine("reference")
DEFAULT = triage.default_pack()
COVERAGE = triage.load_pack(ROOT / "tests" / "support" / "packs" / "coverage")


def fired_by_both(pack: triage.RulePack, data: dict[str, Any]) -> tuple[set[str], set[str]]:
    context = build_context(triage.parse_report(data), None)
    return DURABLE.fired(pack, context), REFERENCE.fired(pack, context)


@pytest.mark.parametrize("path", vignette_files(), ids=lambda p: p.stem)
def test_backends_agree_on_vignettes(path: Path) -> None:
    durable, reference = fired_by_both(DEFAULT, load_case(path)["report"])
    assert durable == reference


def interpreted(pack: triage.RulePack, context: Any) -> set[str]:
    """The rules that fire by the definition: each rule's condition interpreted by ``holds``."""
    return {rule.id for rule in pack.rules if rule_holds(rule.when, context)}


def _compiled(pack: triage.RulePack) -> list[tuple[Condition, Any, Any]]:
    """Each condition of the pack's rules and notes, compiled once as the library does: whether
    it holds, and the answers that made it hold."""
    conditions = [r.condition for r in pack.rules if r.condition is not None]
    return [
        (c, compile_condition(c), compile_matched(c))
        for c in [*conditions, *(n.condition for n in pack.notes)]
    ]


COMPILED = {pack.name: _compiled(pack) for pack in (DEFAULT, COVERAGE)}
REQUIRED_WHEN = [(r.when, compile_condition(r.when)) for r in REQUIREMENTS]


@examples(4_000)
@given(reports())
def test_engines_and_compiled_conditions_agree_on_generated_reports(data: dict[str, Any]) -> None:
    """On the bundled pack and on the pack with every construct of the rule language: both
    engines fire the same rules, the rules that interpreting the conditions says; the compiled
    conditions of rules, notes and reasons, and the contract's compiled requirements, give what
    interpreting them gives."""
    report = triage.parse_report(data)
    answers, context = report.answers(), build_context(report, None)
    for pack in (DEFAULT, COVERAGE):
        fired = REFERENCE.fired(pack, context)
        assert DURABLE.fired(pack, context) == fired, pack.name
        assert fired == interpreted(pack, context), pack.name
        for condition, holds_compiled, matched_compiled in COMPILED[pack.name]:
            holds_here = holds(condition, answers)
            assert holds_compiled(answers) == holds_here, condition
            if holds_here:
                assert matched_compiled(answers) == matched(condition, answers)
    for when, holds_compiled in REQUIRED_WHEN:
        assert holds_compiled(answers) == holds(when, answers)


ORDERED = [name for name, spec in FIELDS.items() if spec.ordered]


@st.composite
def worsened_pairs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A valid report and the same report with one ordered answer made worse: a step up its
    order, or one more answer in a set field (clinical.md section 6.1)."""
    base = draw(reports())
    name = draw(st.sampled_from(ORDERED))
    spec = FIELDS[name]
    if spec.kind == "set":
        held = list(base.get(name, []))
        missing = [v for v in spec.choices if v not in held]
        if not missing:
            held = held[:-1]
            missing = [v for v in spec.choices if v not in held]
        better = complete(draw, {**base, name: held})
        worse = complete(draw, {**better, name: [*held, draw(st.sampled_from(missing))]})
        return better, worse, name
    chain = draw(st.sampled_from(worse_chains(spec)))
    low, high = sorted(
        draw(st.lists(st.sampled_from(range(len(chain))), min_size=2, max_size=2, unique=True))
    )
    better = complete(draw, {**base, name: chain[low]})
    worse = complete(draw, {**better, name: chain[high]})
    return better, worse, name


def rank(data: dict[str, Any]) -> int:
    decision = triage.evaluate(data)
    return severity(decision.outcome, decision.urgency)


def test_every_ordered_field_is_worsened_somewhere() -> None:
    """clinical.md 6.1 lists the ordered answers: each has an order in the contract."""
    assert worse_chains(FIELDS["dizziness"]) == [("none", "brief", "resolved", "ongoing")]
    assert "osteoporosis" in FIELDS["conditions"].choices  # a set: adding it is worse
    listed = {
        "pain_during", "pain_now", "pain_trend", "snap_or_tear", "swelling", "weakness",
        "chest_pain", "palpitations", "breathless", "dizziness", "heat_illness", "fainting",
        "headache", "swelling_fast", "deformity", "joint_locked", "groin_lump", "vision_change",
        "numbness", "radiating_pain", "conditions", "night_pain", "bruising", "functional_loss",
        "joint_giving_way", "confusion", "dark_urine", "tense_swollen_limb", "swollen_warm_limb",
        "bladder_bowel_change", "unwell",
        # v3
        "referred_ache", "muscle_bulge", "cold_sweat", "stress_leak",
    }  # fmt: skip
    assert listed <= set(ORDERED)
    unordered = {"hours_since_session", "pain_before", "profile", "pain_region", "pain_site",
                 "pain_onset", "pain_spread", "pain_sides", "pain_character", "chest_pain_kind",
                 "eases_with_movement", "age", "pain_duration", "rest_pain"}  # fmt: skip
    assert not unordered & set(ORDERED)


@examples(2_500)
@given(worsened_pairs())
def test_worse_answer_never_lowers_outcome_or_urgency(pair: tuple[dict, dict, str]) -> None:
    better, worse, name = pair
    assert rank(worse) >= rank(better), f"worsening {name}: {better[name]!r} -> {worse[name]!r}"


PAIN_7 = {"pain_now": 7, "pain_during": 7}
EMERGENCY_ROWS = {
    "E1": {"chest_pain": "ongoing", "chest_pain_kind": "pressure"},
    "E1-unsure": {"chest_pain": "ongoing", "chest_pain_kind": "unsure"},
    "E2": {"chest_pain": "resolved", "chest_pain_kind": "tender", "dizziness": "resolved"},
    "E2-palpitations": {
        "chest_pain": "resolved",
        "chest_pain_kind": "breathing",
        "palpitations": "resolved",
    },
    "E2b": {"chest_pain": "resolved", "chest_pain_kind": "tender", "conditions": ["heart_disease"]},
    "E1b": {"referred_ache": "ongoing"},
    "E2c-sweat": {"referred_ache": "resolved", "cold_sweat": True},
    "E2c-breathless": {"referred_ache": "resolved", "breathless": "resolved"},
    "E2c-heart": {"referred_ache": "resolved", "conditions": ["heart_disease"]},
    "E2d": {"chest_pain": "resolved", "chest_pain_kind": "tender", "cold_sweat": True},
    "E3": {"fainting": "fainted"},
    "E4": {"breathless": "ongoing"},
    "E5": {"palpitations": "ongoing"},
    "E6": {"fainting": "nearly", "palpitations": "resolved"},
    "E7": {"dizziness": "ongoing"},
    "E8": {"confusion": True},
    "E9": {"headache": "thunderclap"},
    "E10": {"dark_urine": True},
    "E11": {"tense_swollen_limb": True},
    "E12-both-legs": {"numbness": ["both_legs"]},
    "E12-saddle": {"numbness": ["saddle"]},
    "E12-bilateral-sciatica": {"radiating_pain": ["both_legs"], "pain_now": 4},
    "E12-bladder": {"bladder_bowel_change": True},
    "E13": {"swollen_warm_limb": True, "breathless": "resolved"},
    "E14": {"heat_illness": "ongoing"},
    "E15": {"chest_pain": "resolved", "chest_pain_kind": "tearing"},
    "E16": {
        **PAIN_7,
        "pain_region": "upper_back",
        "pain_onset": "sudden_during",
        "fainting": "nearly",
    },
    "E17-neck": {"headache": "new", "pain_now": 3, "pain_region": "neck"},
    "E17-dizzy": {"headache": "new", "dizziness": "resolved"},
    "E18": {"vision_change": True, "headache": "usual"},
}
URGENT_ROWS = {
    "U1": {"deformity": True},
    "U2-numb": {"numbness": ["both_arms"]},
    "U2-radiating": {"radiating_pain": ["both_arms"], "pain_now": 3},
    "U3": {**PAIN_7, "pain_site": "muscle", "pain_trend": "worse", "swelling": "marked"},
    "U4": {**PAIN_7, "pain_region": "lower_leg", "numbness": ["one_leg"], "weakness": "marked"},
    "U4-function": {
        **PAIN_7,
        "pain_region": "arm",
        "numbness": ["one_arm"],
        "functional_loss": True,
    },
    "U5": {"groin_lump": True, **PAIN_7},
    "U5-unwell": {"groin_lump": True, "unwell": True},
    "U6": {"vision_change": True},
    "U7": {"conditions": ["blood_thinners"], "swelling": "mild", "swelling_fast": True},
}


def with_row(draw: st.DrawFn, data: dict[str, Any], row: dict[str, Any]) -> dict[str, Any]:
    """A generated report that also meets a row: its answers set (a set field gains the row's
    answers), then the contract's requirements completed."""
    merged = dict(data)
    for name, value in row.items():
        if FIELDS[name].kind == "set":
            value = [v for v in FIELDS[name].choices if v in {*merged.get(name, []), *value}]
        merged[name] = value
    return complete(draw, merged)


@examples(2_000)
@given(reports(), st.sampled_from(sorted(EMERGENCY_ROWS)), st.data())
def test_an_emergency_row_is_always_an_emergency(data: dict, row: str, draw: st.DataObject) -> None:
    report = with_row(draw.draw, data, EMERGENCY_ROWS[row])
    decision = triage.evaluate(report)
    assert (decision.outcome, decision.urgency) == ("seek_medical_review", "emergency"), row


@examples(2_000)
@given(reports(), st.sampled_from(sorted(URGENT_ROWS)), st.data())
def test_an_urgent_row_is_always_at_least_urgent(data: dict, row: str, draw: st.DataObject) -> None:
    report = with_row(draw.draw, data, URGENT_ROWS[row])
    decision = triage.evaluate(report)
    assert severity(decision.outcome, decision.urgency) >= severity("seek_medical_review", "urgent")


ANY_VALUE = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-5, 400)
    | st.floats(allow_nan=True)
    | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=6,
)


@examples(1_000)
@given(
    reports(),
    st.dictionaries(
        st.sampled_from([*FIELDS, "chest_pian", "id", "sid", ""]), ANY_VALUE, min_size=1, max_size=4
    ),
)
def test_any_input_gives_a_decision_or_a_report_error(data: dict[str, Any], changes: dict) -> None:
    try:
        decision = triage.evaluate({**data, **changes})
    except triage.ReportError as exc:
        problems = exc.problems
    else:
        assert decision.outcome in ("continue", "reduce_load", "seek_medical_review")
        return
    assert problems and all(p.field is not None for p in problems)
