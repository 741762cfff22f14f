"""Contacts: a clinician's call or message to a patient about a check, and what came of it
(``CONTACT_OUTCOMES``), appended to the chain like reviews and never edited."""

from __future__ import annotations

from collections.abc import Callable

from . import chain
from .records import Contact, Row, now_utc
from .store import Head


def contact_row(entry_id: int, by: str, outcome: str, note: str) -> Callable[[Head], list[Row]]:
    """What appends one contact about ``entry_id``, chained from the head."""

    def build(head: Head) -> list[Row]:
        row: Row = {
            "id": head.next_id,
            "seq": head.seq + 1,
            "entry_id": entry_id,
            "contacted_at": now_utc(),
            "contacted_by": by,
            "outcome": outcome,
            "note": note,
            "prev_hash": head.hash,
            "form": chain.CURRENT_FORM,
        }
        row["hash"] = chain.record_hash("contact", row)
        return [row]

    return build


def contact_from(row: Row) -> Contact:
    return Contact(
        row["id"], row["entry_id"], row["contacted_at"], row["contacted_by"], row["outcome"],
        row["note"],
    )  # fmt: skip
