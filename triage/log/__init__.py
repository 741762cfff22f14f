"""The triage log: every check recorded, reviews appended, nothing edited or deleted.

``TriageLog(path)`` records decisions, clinicians' reviews and patient records (a patient's
profile and conditions), answers the clinician's queries, exports entries and verifies the hash
chain. Inside the package:

- ``records``: the one definition of the stored columns, and the records the log returns;
- ``chain``: the hash chain and its versioned canonical forms;
- ``store``: what a storage backend provides; ``sqlite``: the SQLite backend and its migrations;
  ``postgres``: the PostgreSQL backend (one shared chain, append-only for the app's role);
- ``checkpoints``: signed checkpoints of the chain's head, and the auditor's file of them;
- ``location``: where the log is and which backend stores it;
- ``patients``: patient records, checked against the report contract;
- ``facade``: ``TriageLog``; ``export``: JSON Lines and CSV files; ``views``: the clinician's views;
- ``worklist``: the clinician's worklist (most urgent first, counts, follow-ups);
- ``access``: clinicians' accounts and API tokens, for ``triage serve``; ``sessions``: their
  signed-in sessions; ``once``: CDS Hooks JWTs used and checks recorded under an idempotency key.

Names are loaded on first use (PEP 562), as in ``triage``: ``triage.log.location`` can then say
where the log is, and that there is none yet, without loading the log itself (``triage check
--no-log`` with no log). ``_EXPORTS`` is the one list; the block for type checkers repeats it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS = {
    "CONTACT_OUTCOMES": "..outcomes",
    "OVERRIDE_REASONS": "..outcomes",
    "ApiToken": ".access",
    "Clinician": ".access",
    "TriageLog": ".facade",
    "KEEP": ".patients",
    "Keep": ".patients",
    **dict.fromkeys(
        (
            "VERDICTS",
            "Contact",
            "Entry",
            "EntrySummary",
            "Filters",
            "PatientRecord",
            "Review",
            "SessionRef",
            "TrendPoint",
            "Verdict",
            "Verification",
        ),
        ".records",
    ),
    "FollowUp": ".worklist",
    "WorkItem": ".worklist",
    "Worklist": ".worklist",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'triage.log' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS])


if TYPE_CHECKING:  # the names of _EXPORTS, for type checkers
    from ..outcomes import CONTACT_OUTCOMES as CONTACT_OUTCOMES
    from ..outcomes import OVERRIDE_REASONS as OVERRIDE_REASONS
    from .access import ApiToken as ApiToken
    from .access import Clinician as Clinician
    from .facade import TriageLog as TriageLog
    from .patients import KEEP as KEEP
    from .patients import Keep as Keep
    from .records import VERDICTS as VERDICTS
    from .records import Contact as Contact
    from .records import Entry as Entry
    from .records import EntrySummary as EntrySummary
    from .records import Filters as Filters
    from .records import PatientRecord as PatientRecord
    from .records import Review as Review
    from .records import SessionRef as SessionRef
    from .records import TrendPoint as TrendPoint
    from .records import Verdict as Verdict
    from .records import Verification as Verification
    from .worklist import FollowUp as FollowUp
    from .worklist import WorkItem as WorkItem
    from .worklist import Worklist as Worklist
