"""A decision the library builds without validating it again (``decision._made``), and one sent
between processes as plain data (``to_plain``, ``from_plain``), are the decision validation
would give: the same values, of the same types, with the same fields set, all the way down."""

from __future__ import annotations

import pickle
from datetime import timedelta
from typing import Any

import pytest
from pydantic import BaseModel

import triage
from tests.support.helpers import NOW, load_case, report, vignette_files
from triage.evaluation.decision import Decision, Note, Reason, from_plain, to_plain

REPORTS = [{**load_case(p)["report"], "reported_at": NOW.isoformat()} for p in vignette_files()]
MANY_REASONS = report(
    pain_during=8,
    pain_now=8,
    pain_region="knee",
    pain_site="joint",
    swelling="marked",
    swelling_fast=True,
    bruising=True,
    functional_loss=True,
    joint_locked=True,
    snap_or_tear=True,
    dark_urine=True,
    conditions=["diabetes_insulin", "previous_clot"],
    dizziness="resolved",
)


def shape(value: Any) -> Any:
    """Everything that tells two models apart: class, fields set, each value and its type."""
    if isinstance(value, BaseModel):
        return (
            type(value),
            sorted(value.model_fields_set),
            [(k, shape(v)) for k, v in value.__dict__.items()],
            value.__pydantic_extra__,
            value.__pydantic_private__,
        )
    if isinstance(value, (tuple, list)):
        return (type(value), [shape(v) for v in value])
    if isinstance(value, dict):
        return (dict, [(k, shape(v)) for k, v in value.items()])
    return (type(value), repr(value))


def validated(decision: Decision) -> Decision:
    """``decision`` validated again from its own data, as ``Decision(...)`` would build it."""
    data: dict[str, Any] = {k: getattr(decision, k) for k in decision.model_fields_set}
    data["reasons"] = [r.model_dump() for r in decision.reasons]
    data["notes"] = [n.model_dump() for n in decision.notes]
    for name in ("rule_pack", "engine", "history", "contacts"):
        data[name] = data[name].model_dump()
    return Decision(**data)


def decisions() -> list[Decision]:
    found = [triage.evaluate(r, engine=e) for r in REPORTS for e in ("reference", "durable-rules")]
    found.append(triage.evaluate(MANY_REASONS))
    earlier = [
        triage.evaluate({**MANY_REASONS, "reported_at": (NOW - timedelta(days=d)).isoformat()})
        for d in (9, 5, 2)
    ]
    found.append(triage.evaluate({**MANY_REASONS, "reported_at": NOW.isoformat()}, history=earlier))
    found.append(triage.evaluate(REPORTS[3], explain=True))
    return found


@pytest.fixture(scope="module")
def made() -> list[Decision]:
    return decisions()


def test_there_are_reasons_and_notes_to_compare(made: list[Decision]) -> None:
    assert max(len(d.reasons) for d in made) >= 9
    assert any(d.notes for d in made)
    assert any(d.history.available for d in made)


def test_a_decision_built_is_the_decision_validated(made: list[Decision]) -> None:
    for decision in made:
        again = validated(decision)
        assert shape(decision) == shape(again)
        assert decision == again
        assert decision.to_json() == again.to_json()
        assert all(isinstance(r, Reason) for r in decision.reasons)
        assert all(isinstance(n, Note) for n in decision.notes)


def test_plain_data_gives_the_same_decision_back(made: list[Decision]) -> None:
    for decision in made:
        back = from_plain(pickle.loads(pickle.dumps(to_plain(decision))))
        assert shape(back) == shape(decision)
        assert back == decision
        assert back.to_json() == decision.to_json()


def test_a_decision_with_fields_left_unset_keeps_them_unset() -> None:
    decision = triage.evaluate(REPORTS[0])
    given = ("outcome", "reasons", "advice", "rule_pack", "engine", "history", "report")
    partial = Decision(**{name: getattr(decision, name) for name in given})
    back = from_plain(to_plain(partial))
    assert shape(back) == shape(partial)
    assert back.model_fields_set == partial.model_fields_set == set(given)
