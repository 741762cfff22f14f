"""The hash chain of the triage log: each record's SHA-256 covers its content and the hash of
the record before it, so an edit or deletion anywhere but the very end breaks the chain."""

from __future__ import annotations

import hashlib
import json
from typing import Any

GENESIS = "0" * 64
"""The 'previous hash' of the first record."""

ENTRY_FIELDS = (
    "id",
    "seq",
    "recorded_at",
    "reported_at",
    "patient_id",
    "session_id",
    "outcome",
    "urgency",
    "top_reason",
    "pack_name",
    "pack_version",
    "pack_sha256",
    "engine_name",
    "engine_version",
    "program_version",
    "report_json",
    "decision_json",
    "prev_hash",
)
REVIEW_FIELDS = ("id", "seq", "entry_id", "reviewed_at", "reviewer", "verdict", "note", "prev_hash")


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_hash(kind: str, row: dict[str, Any]) -> str:
    """The hash of one stored record (kind 'entry' or 'review'), over every stored field."""
    fields = ENTRY_FIELDS if kind == "entry" else REVIEW_FIELDS
    payload = canonical({"kind": kind, **{name: row[name] for name in fields}})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
