"""``triage.evaluate_many``: the decisions ``evaluate`` gives, in order, on every core when the
batch is large."""

from __future__ import annotations

from typing import Any

import pytest

import triage
import triage.evaluation.evaluator
from tests.support.helpers import NOW, load_case, vignette_files

REPORTS = [{**load_case(p)["report"], "reported_at": NOW.isoformat()} for p in vignette_files()]


@pytest.fixture
def small_batches(monkeypatch: pytest.MonkeyPatch) -> None:
    """Worker processes from 10 reports on, 7 to a chunk: the parallel path on a small batch."""
    monkeypatch.setattr(triage.evaluation.evaluator, "PARALLEL_FROM", 10)
    monkeypatch.setattr(triage.evaluation.evaluator, "_CHUNK", 7)


def dumped(decisions: list[triage.Decision]) -> list[dict[str, Any]]:
    return [d.to_dict() for d in decisions]


@pytest.mark.parametrize("engine", ["durable-rules", "reference"])
@pytest.mark.parametrize("workers", [1, 2], ids=["one-process", "two-workers"])
def test_the_decisions_are_those_of_evaluate_in_order(
    small_batches: None, engine: str, workers: int
) -> None:
    expected = dumped([triage.evaluate(r, engine=engine) for r in REPORTS])
    assert dumped(triage.evaluate_many(REPORTS, engine=engine, workers=workers)) == expected


@pytest.mark.parametrize("workers", [1, 2], ids=["one-process", "two-workers"])
def test_a_bad_report_is_named_by_its_place(small_batches: None, workers: int) -> None:
    reports = [*REPORTS[:20], {**REPORTS[0], "chest_pian": "none"}, *REPORTS[20:30]]
    with pytest.raises(triage.ReportError, match="report 21") as caught:
        triage.evaluate_many(reports, workers=workers)
    assert caught.value.problems[0].field == "chest_pian"


def test_a_small_batch_stays_in_this_process(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("a process pool was started")

    monkeypatch.setattr("concurrent.futures.ProcessPoolExecutor", refuse)
    assert len(triage.evaluate_many(REPORTS[:5], workers=4)) == 5


@pytest.mark.parametrize("workers", [1, 2], ids=["one-process", "two-workers"])
@pytest.mark.parametrize("collecting", [True, False], ids=["collector-on", "collector-off"])
def test_the_cycle_collector_is_paused_for_the_batch_and_left_as_it_was(
    small_batches: None, monkeypatch: pytest.MonkeyPatch, workers: int, collecting: bool
) -> None:
    """Issue 26: the collector walked every decision made so far, again and again."""
    import gc

    states: list[bool] = []
    evaluate = triage.evaluation.evaluator.evaluate

    def watched(*args: Any, **kwargs: Any) -> triage.Decision:
        states.append(gc.isenabled())
        return evaluate(*args, **kwargs)

    monkeypatch.setattr(triage.evaluation.evaluator, "evaluate", watched)
    was = gc.isenabled()
    try:
        gc.enable() if collecting else gc.disable()
        good = triage.evaluate_many(REPORTS[:30], workers=workers)
        assert gc.isenabled() is collecting
        with pytest.raises(triage.ReportError):
            triage.evaluate_many([*REPORTS[:20], {"chest_pian": "none"}], workers=workers)
        assert gc.isenabled() is collecting
    finally:
        gc.enable() if was else gc.disable()
    assert len(good) == 30
    if workers == 1:  # the workers' evaluations are in their own processes
        assert states and not any(states)
