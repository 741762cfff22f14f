"""``evaluate``: a report in, a decision out. Pure: no I/O besides loading the bundled pack once.
``evaluate_many``: many reports, on every core when there are many."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from ..contract.reading import parse_report
from ..contract.report import Report
from ..engines import get_engine
from ..errors import EvaluationError, Problem, ReportError, TriageError
from ..pack.history import Earlier, build_context
from ..pack.loading import default_pack
from ..pack.rules import RulePack
from .decision import Decision, Plain, build_decision, engine_info, from_plain, to_plain


def evaluate(
    report: Mapping[str, Any] | Report,
    *,
    pack: RulePack | None = None,
    engine: str | None = None,
    history: Iterable[Earlier | Decision | Report | Mapping[str, Any]] | None = None,
    explain: bool = False,
) -> Decision:
    """Decide what to do after a session.

    ``report`` is a mapping or a ``Report``; a mapping that does not fit the contract raises
    ``ReportError`` listing every problem. ``pack`` defaults to the bundled rules. ``engine`` picks
    the backend ("durable-rules" or "reference"); by default durable-rules when it is installed.
    ``history`` holds the patient's earlier checks (a ``Decision`` keeps the outcome it got; a
    report is evaluated again, without history, for its outcome); without it the history rules
    do not fire and ``decision.history.available`` is false. ``explain`` adds ``why_not``: for
    each rule more severe than the outcome that did not fire, the fewest answers that kept it from
    firing (for clinicians; the same whichever engine evaluates).
    Any failure to evaluate raises ``EvaluationError``: never treat it as "continue".
    """
    checked = parse_report(report)
    rules = pack if pack is not None else default_pack()
    backend = get_engine(engine)
    earlier = (
        None
        if history is None
        else [_earlier(item, n, rules, engine) for n, item in enumerate(history, 1)]
    )
    context = build_context(checked, earlier)
    try:
        fired = backend.fired(rules, context)
    except TriageError:
        raise
    except Exception as exc:  # fail closed: an engine fault must never look like "no rule fired"
        raise EvaluationError(
            f"the {backend.name} engine failed: {type(exc).__name__}: {exc}"
        ) from exc
    info = engine_info(backend.name, backend.version)
    decision = build_decision(rules, checked, fired, info, context)
    if not explain:
        return decision
    from ..pack.explain import why_not

    reasons = why_not(rules, context, fired, decision.outcome, decision.urgency)
    return decision.model_copy(update={"why_not": reasons})


def _earlier(item: Any, number: int, pack: RulePack, engine: str | None) -> Earlier:
    """One earlier check; a bare report gets the outcome these rules give it alone."""
    if isinstance(item, Earlier):
        return item
    if isinstance(item, Decision):
        return Earlier.of_report(item.report, item.outcome, item.urgency)
    source = f"earlier check {number}"
    if isinstance(item, Mapping) and "reported_at" not in item:
        raise ReportError(
            [
                Problem(
                    "is needed in an earlier report, to know how long ago it was",
                    field="reported_at",
                    file=source,
                )
            ],
            source,
        )
    report = parse_report(item, source)
    decision = evaluate(report, pack=pack, engine=engine)
    return Earlier.of_report(report, decision.outcome, decision.urgency)


PARALLEL_FROM = 2_000
"""``evaluate_many`` uses worker processes from this many reports on (below, starting them
costs more than it saves)."""
_CHUNK = 500


def evaluate_many(
    reports: Iterable[Mapping[str, Any] | Report],
    *,
    pack: RulePack | None = None,
    engine: str | None = None,
    workers: int | None = None,
) -> list[Decision]:
    """Decide many reports alone (without history), in order: ``[evaluate(r) for r in
    reports]``, for replaying a log or checking a file of reports.

    From ``PARALLEL_FROM`` reports on, they are evaluated in ``workers`` processes (default:
    one per core; 1 keeps them in this one). As with any use of ``multiprocessing``, a script
    that calls it at its top level needs the ``if __name__ == "__main__":`` guard on platforms
    that start processes afresh (Windows, macOS). A report that does not fit the contract
    raises ``ReportError`` naming it ("report 7"); any failure to evaluate raises
    ``EvaluationError``: never treat it as "continue".
    """
    items = list(reports)
    rules = pack if pack is not None else default_pack()
    count = workers if workers is not None else os.cpu_count() or 1
    if count <= 1 or len(items) < PARALLEL_FROM:
        with _collection_paused():
            return _numbered(items, 1, rules, engine)
    from concurrent.futures import ProcessPoolExecutor

    chunks = [(start + 1, items[start : start + _CHUNK]) for start in range(0, len(items), _CHUNK)]
    with (
        ProcessPoolExecutor(
            max_workers=min(count, len(chunks)), initializer=_start_worker, initargs=(rules, engine)
        ) as pool,
        _collection_paused(),
    ):  # each worker validates and evaluates its reports
        return [from_plain(plain) for part in pool.map(_evaluate_chunk, chunks) for plain in part]


@contextmanager
def _collection_paused() -> Iterator[None]:
    """Python's cycle collector paused while the decisions are made or come in: it would walk
    every decision made so far, again and again (13% of the CPU of one process, half of the
    parent's with workers, profiled); decisions hold no cycles, so reference counting frees
    all they leave. Resumed if it ran before."""
    running = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if running:
            gc.enable()


def _numbered(
    reports: Sequence[Mapping[str, Any] | Report], first: int, pack: RulePack, engine: str | None
) -> list[Decision]:
    return [
        evaluate(parse_report(report, f"report {number}"), pack=pack, engine=engine)
        for number, report in enumerate(reports, first)
    ]


_worker: dict[str, Any] = {}


def _start_worker(pack: RulePack, engine: str | None) -> None:
    gc.freeze()  # what the worker inherits: never walked by the cycle collector of the worker
    _worker.update(pack=pack, engine=engine)


def _evaluate_chunk(chunk: tuple[int, Sequence[Mapping[str, Any] | Report]]) -> list[Plain]:
    """A worker's decisions, as plain data (``decision.to_plain``: far cheaper to unpickle)."""
    first, reports = chunk
    return [to_plain(d) for d in _numbered(reports, first, _worker["pack"], _worker["engine"])]
