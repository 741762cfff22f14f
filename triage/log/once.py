"""What may happen only once, on every server of one log: a CDS Hooks JWT used, and a check
recorded under an idempotency key.

Both are kept in the log's database (not in a server's memory), so that a restart, or a second
server on the same log, knows them too; only SHA-256 hashes of the JWT ids and of the keys are
kept, and each is deleted once it has expired.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from ..errors import UsageError
from .records import stamp, token_hash
from .store import Once, Store

KEY_HOURS = 24
"""How long an idempotency key answers with the check first recorded under it."""
MAX_KEY = 255
KEY_HEADER = "Idempotency-Key"
"""The HTTP header the API takes a key in (``triage.check``'s ``idempotency_key``)."""
REPLAYED_HEADER = "Idempotent-Replayed"
"""The HTTP header (``true``) on the answer to a check sent again under its key."""


# -- CDS Hooks JWT ids ---------------------------------------------------------------------------


class UsedTokens:
    """The ids (``jti``) of the JWTs already used, each until its JWT has expired."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def first_use(self, jti: str, until: float, now: datetime | None = None) -> bool:
        """Whether this is the first use of the JWT ``jti``, which could be accepted until
        ``until`` (seconds since the epoch): then it is kept until then, and ids kept past
        theirs are deleted."""
        moment = now or datetime.now(timezone.utc)
        self._store.delete_rows("used_jtis", "expires_at", stamp(moment), older=True)
        expires = stamp(datetime.fromtimestamp(until, timezone.utc))
        return self._store.add_once(
            "used_jtis", {"jti_hash": token_hash(jti), "expires_at": expires}
        )


# -- idempotency keys ---------------------------------------------------------------------------


def checked_key(key: str) -> str:
    """An idempotency key as given: 1 to 255 visible ASCII characters; else a UsageError."""
    if not 0 < len(key) <= MAX_KEY or not all("!" <= c <= "~" for c in key):
        raise UsageError(
            f"the {KEY_HEADER} (idempotency_key) must be 1 to {MAX_KEY} visible ASCII "
            "characters, without spaces",
            "send a new random UUID for each new check (uuid4), and the same one when retrying it",
        )
    return key


def body_hash(answers: Mapping[str, Any]) -> str:
    """The SHA-256 of the answers, as canonical JSON (whatever the order of their keys)."""
    canonical = json.dumps(
        dict(answers), sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )
    return token_hash(canonical)


def key_for(key: str, answers: Mapping[str, Any], now: datetime | None = None) -> Once:
    """The idempotency key ``key`` for the append of the check of ``answers``."""
    moment = now or datetime.now(timezone.utc)
    return Once(
        key_hash=token_hash(checked_key(key)),
        body_hash=body_hash(answers),
        at=stamp(moment),
        expired_before=stamp(moment - timedelta(hours=KEY_HOURS)),
    )
