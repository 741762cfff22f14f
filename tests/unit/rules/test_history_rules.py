"""History rules H1-H3: boundaries through the API with history=, both engines, and the
differential test over generated histories."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given

import triage
from tests.support.helpers import ROOT, at, examples, histories, report
from triage.engines import get_engine
from triage.pack.history import Earlier, build_context, compile_when, rule_holds

H1, H2, H3 = (
    "history.no-improvement-48h",
    "history.pain-rising-over-sessions",
    "history.repeated-reduce-load",
)
MUSCLE = {"pain_site": "muscle", "pain_region": "thigh"}


def check(current: dict[str, Any], history: list[Any] | None, engine: str) -> triage.Decision:
    return triage.evaluate(current, history=history, engine=engine)


def post(days: float, session: str, pain_now: int, **answers: Any) -> dict[str, Any]:
    """A post-session report, ``days`` ago."""
    return report(
        patient_id="pt-h",
        reported_at=at(days),
        session_id=session,
        hours_since_session=0.5,
        pain_during=answers.pop("pain_during", 3),
        pain_now=pain_now,
        **MUSCLE,
        **answers,
    )


def follow_up(hours: float, session: str, pain_now: int, trend: str = "better") -> dict[str, Any]:
    """A follow-up now, ``hours`` after the session."""
    return report(
        patient_id="pt-h",
        reported_at=at(0),
        session_id=session,
        hours_since_session=hours,
        pain_during=3,
        pain_now=pain_now,
        pain_trend=trend,
        **MUSCLE,
    )


ENGINES = pytest.mark.parametrize("engine", ["durable-rules", "reference"])

# (id, current, history, fires)
H1_ROWS = [
    ("48 h, same pain, said better", follow_up(48, "s1", 5), [post(2, "s1", 5)], True),
    ("47 h", follow_up(47, "s1", 5), [post(47 / 24, "s1", 5)], False),
    ("48 h, pain higher", follow_up(50, "s1", 6, "worse"), [post(2, "s1", 5)], True),
    ("48 h, pain lower", follow_up(50, "s1", 4), [post(2, "s1", 5)], False),
    ("earlier pain 3", follow_up(50, "s1", 3), [post(2, "s1", 3)], False),
    ("earlier pain 4", follow_up(50, "s1", 4), [post(2, "s1", 4)], True),
    ("another session", follow_up(50, "s2", 5), [post(2, "s1", 5)], False),
    ("no history", follow_up(50, "s1", 5), None, False),
]


@ENGINES
@pytest.mark.parametrize(
    ("current", "history", "fires"), [r[1:] for r in H1_ROWS], ids=[r[0] for r in H1_ROWS]
)
def test_h1_objective_no_improvement(
    current: dict, history: list | None, fires: bool, engine: str
) -> None:
    decision = check(current, history, engine)
    assert (H1 in {r.rule for r in decision.reasons}) is fires
    if fires:
        assert (decision.outcome, decision.urgency) == ("seek_medical_review", "routine")
        reason = next(r for r in decision.reasons if r.rule == H1)
        assert reason.matched["earlier"][0]["session_id"] == "s1"
        assert reason.matched["earlier"][0]["pain_now"] >= 4


def sessions(*pain_during: int, days: tuple[float, ...] = (14, 7, 0)) -> tuple[dict, list]:
    """Sessions ``days`` ago with these pains during; the last one is the current report."""
    reports = [
        post(d, f"s{i}", 1, pain_during=p)
        for i, (p, d) in enumerate(zip(pain_during, days[-len(pain_during) :], strict=True))
    ]
    return reports[-1], reports[:-1]


H2_ROWS = [
    ("3 rising", *sessions(2, 3, 4), True),
    ("2 sessions only", *sessions(3, 4), False),
    ("latest 3", *sessions(1, 2, 3), False),
    ("not strictly rising", *sessions(3, 3, 4), False),
    ("falling then rising", *sessions(5, 2, 3, 4, days=(21, 14, 7, 0)), True),
    ("rising but not the last three", *sessions(2, 3, 4, 1, days=(21, 14, 7, 0)), False),
    ("first one 22 days ago", *sessions(2, 3, 4, days=(22, 7, 0)), False),
    ("first one 21 days ago", *sessions(2, 3, 4, days=(20.9, 7, 0)), True),
]


@ENGINES
@pytest.mark.parametrize(
    ("current", "history", "fires"), [r[1:] for r in H2_ROWS], ids=[r[0] for r in H2_ROWS]
)
def test_h2_pain_rising_over_sessions(
    current: dict, history: list, fires: bool, engine: str
) -> None:
    decision = check(current, history, engine)
    assert (H2 in {r.rule for r in decision.reasons}) is fires
    if fires:
        reason = next(r for r in decision.reasons if r.rule == H2)
        assert [s["pain_during"] for s in reason.matched["sessions"]] == sorted(
            [s["pain_during"] for s in reason.matched["sessions"]], reverse=True
        )


def reduced(days: float, outcome: str = "reduce_load", urgency: str | None = None) -> Earlier:
    earlier = triage.parse_report(
        report(patient_id="pt-h", reported_at=at(days), unwell=outcome != "continue")
    )
    return Earlier.of_report(earlier, outcome, urgency)


H3_ROWS = [
    ("3 within 14 days", [reduced(2), reduced(6), reduced(13)], True),
    ("2 within 14 days", [reduced(2), reduced(6)], False),
    ("third 15 days ago", [reduced(2), reduced(6), reduced(15)], False),
    ("third 13 days ago", [reduced(2), reduced(6), reduced(13)], True),
    (
        "worse outcomes count",
        [reduced(1, "seek_medical_review", "routine"), reduced(3), reduced(4)],
        True,
    ),
    ("continue does not count", [reduced(1, "continue"), reduced(3), reduced(4)], False),
    ("five", [reduced(d) for d in (1, 2, 3, 4, 5)], True),
]


@ENGINES
@pytest.mark.parametrize(
    ("history", "fires"), [r[1:] for r in H3_ROWS], ids=[r[0] for r in H3_ROWS]
)
def test_h3_repeated_reduce_load(history: list, fires: bool, engine: str) -> None:
    decision = check(report(patient_id="pt-h", reported_at=at(0)), history, engine)
    assert (H3 in {r.rule for r in decision.reasons}) is fires
    assert (decision.outcome, decision.urgency) == (
        ("seek_medical_review", "routine") if fires else ("continue", None)
    )
    if fires:
        assert len(next(r for r in decision.reasons if r.rule == H3).matched["earlier"]) >= 3


def test_without_history_the_history_rules_do_not_fire_and_the_decision_says_so() -> None:
    decision = triage.evaluate(follow_up(50, "s1", 5))
    assert decision.history.available is False and decision.to_dict()["history"] == {
        "available": False
    }
    with_empty = triage.evaluate(follow_up(50, "s1", 5), history=[])
    assert with_empty.to_dict()["history"] == {"available": True, "earlier_checks": 0}


def test_history_accepts_decisions_and_reports() -> None:
    first = post(2, "s1", 5)
    as_decision = triage.evaluate(follow_up(50, "s1", 5), history=[triage.evaluate(first)])
    as_report = triage.evaluate(follow_up(50, "s1", 5), history=[first])
    assert H1 in {r.rule for r in as_decision.reasons} and H1 in {r.rule for r in as_report.reasons}


def test_history_of_another_patient_or_later_is_refused() -> None:
    with pytest.raises(triage.ReportError, match="not an earlier check of the same patient"):
        triage.evaluate(
            follow_up(50, "s1", 5), history=[{**post(2, "s1", 5), "patient_id": "pt-other"}]
        )
    with pytest.raises(triage.ReportError, match="not an earlier check"):
        triage.evaluate(post(2, "s1", 5), history=[follow_up(50, "s1", 5)])
    with pytest.raises(triage.ReportError, match="reported_at"):
        triage.evaluate(follow_up(50, "s1", 5), history=[report(patient_id="pt-h")])


def test_history_rules_never_touch_single_report_monotonicity() -> None:
    """Without history, the history rules cannot fire: the single-report properties still hold."""
    assert all(
        not r.history or triage.evaluate(report()).history.available is False
        for r in triage.default_pack().rules
    )


DURABLE, REFERENCE = get_engine("durable-rules"), get_engine("reference")
PACKS = [
    triage.default_pack(),
    triage.load_pack(ROOT / "tests" / "support" / "packs" / "history-coverage"),
]


COMPILED = [[(rule, compile_when(rule.when)) for rule in pack.rules] for pack in PACKS]
"""Each rule compiled once, as the reference backend does (``history.compile_when``)."""


@examples(2_000)
@given(histories())
def test_backends_and_the_compiled_rules_agree_on_generated_histories(
    case: tuple[dict, list[Earlier]],
) -> None:
    """Both engines fire the same rules, and each rule compiled fires exactly when interpreting
    it with ``rule_holds`` says it does, with and without the history known."""
    current, earlier = case
    report = triage.parse_report(current)
    for context in (build_context(report, earlier), build_context(report, None)):
        for pack, compiled in zip(PACKS, COMPILED, strict=True):
            assert DURABLE.fired(pack, context) == REFERENCE.fired(pack, context), pack.name
            for rule, holds_compiled in compiled:
                assert holds_compiled(context) == rule_holds(rule.when, context), rule.id
