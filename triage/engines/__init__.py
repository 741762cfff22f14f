"""Backends that decide which rules of a pack fire for a report.

Both implement ``Engine``: ``fired(pack, context)`` returns the ids of the rules whose conditions
hold for a report and, for history rules, the patient's earlier checks. ``durable-rules`` is the
default; the plain-Python reference backend serves where it
cannot be imported (Python 3.13+), and is the oracle in the differential tests.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from ..errors import EvaluationError

if TYPE_CHECKING:
    from ..pack.history import Context
    from ..pack.rules import RulePack

DURABLE = "durable-rules"
REFERENCE = "reference"


class Engine(Protocol):
    name: str
    version: str

    def fired(self, pack: RulePack, context: Context) -> set[str]: ...


_engines: dict[str | None, Engine] = {}


def get_engine(name: str | None = None) -> Engine:
    """The named backend, or durable-rules when it is installed and the reference one otherwise."""
    engine = _engines.get(name)
    if engine is None:
        engine = _engines[name] = _find_engine(name)
    return engine


def _find_engine(name: str | None) -> Engine:
    if name in (None, DURABLE):
        try:
            from .durable import DurableEngine
        except ImportError as exc:
            if name == DURABLE:
                raise EvaluationError(f"durable-rules is not installed ({exc})") from None
        else:
            return DurableEngine.instance()
    if name in (None, REFERENCE):
        from .reference import ReferenceEngine

        return ReferenceEngine()
    raise EvaluationError(f"unknown engine {name!r}: use {DURABLE!r} or {REFERENCE!r}")


def compile_problems(pack: RulePack) -> list[tuple[str | None, str]]:
    """The rules of ``pack`` that durable-rules cannot compile, with its message (none where
    durable-rules is not installed: the reference backend runs any validated pack)."""
    try:
        from .durable import compile_problems as durable_compile_problems
    except ImportError:
        return []
    return durable_compile_problems(pack)
