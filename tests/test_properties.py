"""Properties that must always hold (clinical.md section 5), checked with hypothesis.

- The two backends fire exactly the same rules (default pack and a pack using every construct).
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
from tests.helpers import ROOT, complete, examples, load_case, reports, vignette_files
from triage.contract import FIELDS, worse_chains
from triage.engines import get_engine
from triage.history import build_context
from triage.outcomes import severity

DURABLE = get_engine("durable-rules")
REFERENCE = get_engine("reference")
DEFAULT = triage.default_pack()
COVERAGE = triage.load_pack(ROOT / "tests" / "packs" / "coverage")


def fired_by_both(pack: triage.RulePack, data: dict[str, Any]) -> tuple[set[str], set[str]]:
    context = build_context(triage.parse_report(data), None)
    return DURABLE.fired(pack, context), REFERENCE.fired(pack, context)


@pytest.mark.parametrize("path", vignette_files(), ids=lambda p: p.stem)
def test_backends_agree_on_vignettes(path: Path) -> None:
    durable, reference = fired_by_both(DEFAULT, load_case(path)["report"])
    assert durable == reference


@examples(10_000)
@given(reports())
def test_backends_agree_on_generated_reports(data: dict[str, Any]) -> None:
    durable, reference = fired_by_both(DEFAULT, data)
    assert durable == reference


@examples(3_000)
@given(reports())
def test_backends_agree_on_every_construct(data: dict[str, Any]) -> None:
    durable, reference = fired_by_both(COVERAGE, data)
    assert durable == reference


ORDERED = [name for name, spec in FIELDS.items() if spec.ordered]


@st.composite
def worsened_pairs(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any], str]:
    """A valid report and the same report with one ordered answer made worse."""
    base = draw(reports())
    name = draw(st.sampled_from(ORDERED))
    chain = draw(st.sampled_from(worse_chains(FIELDS[name])))
    low, high = sorted(
        draw(st.lists(st.sampled_from(range(len(chain))), min_size=2, max_size=2, unique=True))
    )
    better = complete(draw, {**base, name: chain[low]})
    worse = complete(draw, {**better, name: chain[high]})
    return better, worse, name


def rank(data: dict[str, Any]) -> int:
    decision = triage.evaluate(data)
    return severity(decision.outcome, decision.urgency)


@examples(3_000)
@given(worsened_pairs())
def test_worse_answer_never_lowers_outcome_or_urgency(pair: tuple[dict, dict, str]) -> None:
    better, worse, name = pair
    assert rank(worse) >= rank(better), f"worsening {name}: {better[name]!r} -> {worse[name]!r}"


EMERGENCY_ROWS = [
    {"chest_pain": "ongoing"},
    {"chest_pain": "resolved", "dizziness": "resolved"},
    {"fainting": "fainted"},
    {"breathless": "ongoing"},
    {"palpitations": "ongoing"},
    {"fainting": "nearly", "palpitations": "resolved"},
    {"dizziness": "ongoing"},
    {"confusion": True},
    {"sudden_headache": True},
    {"dark_urine": True},
    {"tense_swollen_limb": True},
    {"numbness": "both_legs"},
    {"numbness": "saddle"},
    {"bladder_bowel_change": True},
    {"swollen_warm_limb": True, "breathless": "resolved"},
    {"heat_illness": "ongoing"},
]


@examples(1_500)
@given(reports(), st.sampled_from(EMERGENCY_ROWS))
def test_red_flags_are_never_diluted(data: dict[str, Any], red_flag: dict[str, Any]) -> None:
    decision = triage.evaluate({**data, **red_flag})
    assert (decision.outcome, decision.urgency) == ("seek_medical_review", "emergency")


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
