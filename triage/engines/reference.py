"""The reference backend: the condition language in plain Python.

Its semantics are those of ``triage.logic`` (a condition on this report) and ``triage.pack.history``
(the history tests); the pack's conditions are compiled once into Python functions with exactly
those semantics (``triage.pack.compiled``). The durable-rules compiler follows the same semantics,
and the differential tests hold it to them.
"""

from __future__ import annotations

from .._version import __version__
from ..pack.compiled import compiled
from ..pack.history import Context
from ..pack.rules import RulePack


class ReferenceEngine:
    name = "reference"
    version = __version__

    def fired(self, pack: RulePack, context: Context) -> set[str]:
        return compiled(pack).fired(context)
