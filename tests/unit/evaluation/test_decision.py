"""The decision contract of design.md: fields, JSON form, ordering, urgency and advice rules."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

import triage
from tests.support.helpers import load_case, report, vignette_files
from triage.outcomes import severity

DECISIONS = [triage.evaluate(load_case(p)["report"]) for p in vignette_files()]


def test_json_has_exactly_the_public_fields() -> None:
    for decision in DECISIONS:
        data = json.loads(decision.to_json())
        expected = {
            "outcome", "reasons", "advice", "rule_pack", "engine", "history", "report", "notes",
            "safety_net", "contacts",
        }  # fmt: skip
        if decision.headline is not None:
            expected.add("headline")
        if decision.outcome == "seek_medical_review":
            expected.add("urgency")
        assert set(data) == expected
        for reason in data["reasons"]:
            keys = {"rule", "title", "outcome", "patient", "clinician", "source", "matched"}
            assert set(reason) == keys | (
                {"urgency"} if reason["outcome"] == "seek_medical_review" else set()
            )


def test_without_history_the_decision_says_it_was_not_available() -> None:
    assert all(d.to_dict()["history"] == {"available": False} for d in DECISIONS)


def test_reasons_are_most_severe_first_and_each_once() -> None:
    for decision in DECISIONS:
        ranks = [severity(r.outcome, r.urgency) for r in decision.reasons]
        assert ranks == sorted(ranks, reverse=True)
        rules = [r.rule for r in decision.reasons]
        assert len(rules) == len(set(rules))
        if decision.reasons:
            top = decision.reasons[0]
            assert (decision.outcome, decision.urgency) == (
                top.outcome,
                top.urgency if top.outcome == "seek_medical_review" else None,
            )


def test_advice_only_when_the_outcome_is_continue() -> None:
    for decision in DECISIONS:
        assert bool(decision.advice) is (decision.outcome == "continue")


def test_matched_holds_the_answers_that_made_the_rule_fire() -> None:
    decision = triage.evaluate(
        report(numbness=["one_arm", "saddle"], chest_pain="ongoing", chest_pain_kind="pressure")
    )
    reasons = {r.rule: r for r in decision.reasons}
    assert reasons["emergency.cauda-equina"].matched == {"numbness": ["one_arm", "saddle"]}
    assert reasons["emergency.chest-pain-ongoing"].matched == {
        "chest_pain": "ongoing",
        "chest_pain_kind": "pressure",
    }


def test_source_names_policy_row_and_reference() -> None:
    reason = triage.evaluate(report(dark_urine=True)).reasons[0]
    assert reason.source.startswith("triage policy v3 E10; ")


def test_report_in_the_decision_is_the_normalised_report() -> None:
    decision = triage.evaluate(
        report(hours_since_session=3, reported_at="2026-11-21T09:30:00+01:00")
    )
    data = decision.to_dict()["report"]
    assert data["hours_since_session"] == 3.0
    assert data["reported_at"] == "2026-11-21T09:30:00+01:00"
    assert "pain_before" not in data


def test_decision_is_immutable() -> None:
    with pytest.raises(ValidationError):
        DECISIONS[0].outcome = "continue"  # type: ignore[misc]


def test_evaluate_accepts_a_report_object_and_a_custom_pack() -> None:
    parsed = triage.parse_report(report(unwell=True))
    assert triage.evaluate(parsed, pack=triage.default_pack()).outcome == "reduce_load"


def _without_engine(decision: triage.Decision) -> dict:
    data = decision.to_dict()
    del data["engine"]
    return data


@pytest.mark.parametrize("path", vignette_files(), ids=lambda p: p.stem)
def test_the_reasons_a_patient_reads_do_not_depend_on_the_engine(path) -> None:
    """Which answers made a rule fire is worked out by triage.logic, not by an engine: the same
    decision, word for word, whichever backend fired the rules."""
    data = triage.parse_report(load_case(path)["report"])
    durable = triage.evaluate(data, engine="durable-rules")
    reference = triage.evaluate(data, engine="reference")
    assert (durable.engine.name, reference.engine.name) == ("durable-rules", "reference")
    assert _without_engine(durable) == _without_engine(reference)


def test_the_reasons_of_history_rules_do_not_depend_on_the_engine() -> None:
    from hypothesis import given

    from tests.support.helpers import examples, histories

    @examples(300)
    @given(histories())
    def check(case: tuple[dict, list]) -> None:
        current, earlier = triage.parse_report(case[0]), case[1]
        durable = triage.evaluate(current, engine="durable-rules", history=earlier)
        reference = triage.evaluate(current, engine="reference", history=earlier)
        assert _without_engine(durable) == _without_engine(reference)

    check()


def test_the_engine_modules_are_not_used_to_explain_a_decision() -> None:
    import ast
    from pathlib import Path

    source = (Path(triage.__file__).parent / "evaluation" / "decision.py").read_text()
    imported = {
        node.module
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.ImportFrom) and node.module
    }
    assert not any("engines" in module for module in imported), imported
