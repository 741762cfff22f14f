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
"""

from __future__ import annotations

from ..outcomes import CONTACT_OUTCOMES, OVERRIDE_REASONS
from .access import ApiToken, Clinician
from .facade import TriageLog
from .patients import KEEP, Keep
from .records import (
    VERDICTS,
    Contact,
    Entry,
    EntrySummary,
    Filters,
    PatientRecord,
    Review,
    SessionRef,
    TrendPoint,
    Verdict,
    Verification,
)
from .worklist import FollowUp, WorkItem, Worklist

__all__ = [
    "CONTACT_OUTCOMES",
    "KEEP",
    "OVERRIDE_REASONS",
    "VERDICTS",
    "ApiToken",
    "Clinician",
    "Contact",
    "Entry",
    "EntrySummary",
    "Filters",
    "FollowUp",
    "Keep",
    "PatientRecord",
    "Review",
    "SessionRef",
    "TrendPoint",
    "TriageLog",
    "Verdict",
    "Verification",
    "WorkItem",
    "Worklist",
]
