"""triage: a safety check after a resistance-training session.

    >>> import triage
    >>> decision = triage.evaluate(report_mapping)
    >>> decision.outcome, decision.urgency

See docs/embedding.md.
"""

from __future__ import annotations

from ._version import __version__
from .contract import FIELDS, json_schema, parse_report
from .decision import Decision, Reason
from .errors import (
    EvaluationError,
    InputError,
    PackError,
    Problem,
    ReportError,
    StorageError,
    TriageError,
)
from .evaluation import evaluate
from .pack import Rule, RulePack, default_pack, load_pack
from .report import Report

__all__ = [
    "FIELDS",
    "Decision",
    "EvaluationError",
    "InputError",
    "PackError",
    "Problem",
    "Reason",
    "Report",
    "ReportError",
    "Rule",
    "RulePack",
    "StorageError",
    "TriageError",
    "__version__",
    "default_pack",
    "evaluate",
    "json_schema",
    "load_pack",
    "parse_report",
]
