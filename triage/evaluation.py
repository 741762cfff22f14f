"""``evaluate``: a report in, a decision out. Pure: no I/O besides loading the bundled pack once."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from .contract import parse_report
from .decision import Decision, EngineInfo, build_decision
from .engines import get_engine
from .errors import EvaluationError, TriageError
from .pack import RulePack, default_pack
from .report import Report


def evaluate(
    report: Mapping[str, Any] | Report, *, pack: RulePack | None = None, engine: str | None = None
) -> Decision:
    """Decide what to do after a session.

    ``report`` is a mapping or a ``Report``; a mapping that does not fit the contract raises
    ``ReportError`` listing every problem. ``pack`` defaults to the bundled rules. ``engine`` picks
    the backend ("durable-rules" or "reference"); by default durable-rules when it is installed.
    Any failure to evaluate raises ``EvaluationError``: never treat it as "continue".
    """
    checked = parse_report(report)
    rules = pack if pack is not None else default_pack()
    backend = get_engine(engine)
    try:
        fired = backend.fired(rules, checked.answers())
    except TriageError:
        raise
    except Exception as exc:  # fail closed: an engine fault must never look like "no rule fired"
        raise EvaluationError(
            f"the {backend.name} engine failed: {type(exc).__name__}: {exc}"
        ) from exc
    return build_decision(
        rules, checked, fired, EngineInfo(name=backend.name, version=backend.version)
    )
