"""triage: a safety check after a resistance-training session.

    >>> import triage
    >>> decision = triage.evaluate(report_mapping)
    >>> decision.outcome, decision.urgency

Names are loaded on first use (PEP 562), so that commands which only read the triage log start
quickly. ``_EXPORTS`` is the one list of public names; the block for type checkers at the end
repeats them as imports, and tests/system/test_packaging.py fails if the two drift. See
docs/embedding.md.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._version import __version__
from .contract import readers

readers.ADAPTERS["QuestionnaireResponse"] = "triage.fhir"  # the edge reads a FHIR response

_EXPORTS = {
    "CheckResult": "checking.check",
    "StoppedCheck": "checking.check",
    "check": "checking.check",
    "FIELDS": "contract.reading",
    "json_schema": "contract.reading",
    "parse_report": "contract.reading",
    "Decision": "evaluation.decision",
    "Reason": "evaluation.decision",
    "AnswerError": "errors",
    "EvaluationError": "errors",
    "IdempotencyKeyError": "errors",
    "InputError": "errors",
    "NotFoundError": "errors",
    "PackError": "errors",
    "Problem": "errors",
    "ReportError": "errors",
    "StorageError": "errors",
    "UnavailableError": "errors",
    "UsageError": "errors",
    "TriageError": "errors",
    "evaluate": "evaluation.evaluator",
    "evaluate_many": "evaluation.evaluator",
    "TriageLog": "log",
    "Rule": "pack.rules",
    "RulePack": "pack.rules",
    "default_pack": "pack.loading",
    "load_pack": "pack.loading",
    "Report": "contract.report",
    "QuestionnaireSession": "checking.session",
    "EarlyWarning": "evaluation.warning",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'triage' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:  # the names of _EXPORTS, for type checkers (tests/system/test_packaging.py)
    from .checking.check import CheckResult as CheckResult
    from .checking.check import StoppedCheck as StoppedCheck
    from .checking.check import check as check
    from .checking.session import QuestionnaireSession as QuestionnaireSession
    from .contract.reading import FIELDS as FIELDS
    from .contract.reading import json_schema as json_schema
    from .contract.reading import parse_report as parse_report
    from .contract.report import Report as Report
    from .errors import (
        AnswerError as AnswerError,
    )
    from .errors import (
        EvaluationError as EvaluationError,
    )
    from .errors import (
        IdempotencyKeyError as IdempotencyKeyError,
    )
    from .errors import (
        InputError as InputError,
    )
    from .errors import (
        NotFoundError as NotFoundError,
    )
    from .errors import (
        PackError as PackError,
    )
    from .errors import (
        Problem as Problem,
    )
    from .errors import (
        ReportError as ReportError,
    )
    from .errors import (
        StorageError as StorageError,
    )
    from .errors import (
        TriageError as TriageError,
    )
    from .errors import (
        UnavailableError as UnavailableError,
    )
    from .errors import (
        UsageError as UsageError,
    )
    from .evaluation.decision import Decision as Decision
    from .evaluation.decision import Reason as Reason
    from .evaluation.evaluator import evaluate as evaluate
    from .evaluation.evaluator import evaluate_many as evaluate_many
    from .evaluation.warning import EarlyWarning as EarlyWarning
    from .log import (
        TriageLog as TriageLog,
    )
    from .pack.loading import default_pack as default_pack
    from .pack.loading import load_pack as load_pack
    from .pack.rules import Rule as Rule
    from .pack.rules import RulePack as RulePack
