"""The cards the CDS Hooks service showed in an EHR, kept beside the chain (never chained: the
feedback on a card is recorded on the chain as a review of its check). Kept in the log, so that
feedback is recorded after the server restarts, and recorded once however often it is sent."""

from __future__ import annotations

from dataclasses import dataclass

from .records import Row, now_utc
from .store import Store

MAX_CARD_ID = 64
"""Our card ids are uuids (36 characters); anything longer was never shown by us."""


@dataclass(frozen=True)
class ShownCard:
    id: int
    card: str
    entry_id: int
    clinician: str
    shown_at: str
    verdict: str | None
    review_id: int | None


class ShownCards:
    """The cards shown, by their uuid."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def remember(self, card: str, entry_id: int, clinician: str) -> ShownCard:
        row: Row = {"card": card, "entry_id": entry_id, "clinician": clinician,
                    "shown_at": now_utc(), "verdict": None, "review_id": None}  # fmt: skip
        row["id"] = self._store.add_row("cds_cards", row)
        return ShownCard(**row)

    def find(self, card: str) -> ShownCard | None:
        if len(card) > MAX_CARD_ID:
            return None
        rows = self._store.find_rows("cds_cards", "card", card)
        return ShownCard(**rows[0]) if rows else None

    def answered(self, shown: ShownCard, verdict: str, review_id: int) -> None:
        """The feedback ``verdict`` on ``shown`` was recorded as review ``review_id``."""
        self._store.update_row("cds_cards", shown.id, {"verdict": verdict, "review_id": review_id})
