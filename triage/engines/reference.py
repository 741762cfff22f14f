"""The reference backend: the condition language interpreted in plain Python.

Its semantics are those of ``triage.logic`` (a condition on this report) and ``triage.history``
(the history tests); the durable-rules compiler follows the same semantics, and the differential
tests hold it to them.
"""

from __future__ import annotations

from .._version import __version__
from ..history import Context, rule_holds
from ..pack import RulePack


class ReferenceEngine:
    name = "reference"
    version = __version__

    def fired(self, pack: RulePack, context: Context) -> set[str]:
        return {rule.id for rule in pack.rules if rule_holds(rule.when, context)}
