"""The triage log: every check recorded, reviews appended, nothing edited or deleted.

``TriageLog(path)`` records decisions, clinicians' reviews and patient records (a patient's
profile and conditions), answers the clinician's queries, exports entries and verifies the hash
chain. Inside the package:

- ``records``: the one definition of the stored columns, and the records the log returns;
- ``chain``: the hash chain and its versioned canonical forms;
- ``store``: what a storage backend provides; ``sqlite``: the SQLite backend and its migrations;
- ``location``: where the log is and which backend stores it;
- ``patients``: patient records, checked against the report contract;
- ``facade``: ``TriageLog``; ``export``: JSON Lines and CSV files; ``views``: the clinician's views.
"""

from __future__ import annotations

from .facade import TriageLog
from .patients import KEEP, Keep
from .records import (
    VERDICTS,
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

__all__ = [
    "KEEP",
    "VERDICTS",
    "Entry",
    "EntrySummary",
    "Filters",
    "Keep",
    "PatientRecord",
    "Review",
    "SessionRef",
    "TrendPoint",
    "TriageLog",
    "Verdict",
    "Verification",
]
