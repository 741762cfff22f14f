"""``evaluate``: a report in, a decision out. Pure: no I/O besides loading the bundled pack once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from .contract import parse_report
from .decision import Decision, EngineInfo, build_decision
from .engines import get_engine
from .errors import EvaluationError, Problem, ReportError, TriageError
from .history import Earlier, build_context
from .pack import RulePack, default_pack
from .report import Report


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
    info = EngineInfo(name=backend.name, version=backend.version)
    decision = build_decision(rules, checked, fired, info, context)
    if not explain:
        return decision
    from .explain import why_not

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
