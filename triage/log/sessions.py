"""Clinicians' sessions of ``triage serve``, kept in the log so that they can be ended.

A session's cookie holds a random secret; the log keeps only its SHA-256, the account's name,
when it started and when it was last used. A session ends when it is idle too long, when it is
too old however busy (``SessionLimits``), at sign-out, and, for every session of the account at
once, when the account gets a new password or is disabled: its row is deleted, so a copy of the
cookie opens nothing, on any server of the log.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from .records import Row, stamp, token_hash
from .store import Store

IDLE_MINUTES = 30
"""A session unused this long has ended (``triage serve --session-idle-minutes``)."""
LIFETIME_HOURS = 12
"""A session this old has ended, however busy (``triage serve --session-hours``)."""
SEEN_EVERY = timedelta(minutes=1)
"""How often a session's last use is written down: the idle timeout is kept to the minute
without a write on every page."""


@dataclass(frozen=True)
class SessionLimits:
    """How long a clinician's session lasts: ``idle_minutes`` without a request, and
    ``hours`` at most."""

    idle_minutes: float = IDLE_MINUTES
    hours: float = LIFETIME_HOURS


@dataclass(frozen=True)
class Session:
    id: int
    clinician: str
    started_at: str
    seen_at: str


class Sessions:
    """The signed-in sessions kept in one triage log."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def start(self, clinician: str, limits: SessionLimits, now: datetime | None = None) -> str:
        """A new session of ``clinician``: its secret, for the cookie (only its hash is kept).
        Sessions that have ended by their limits are deleted meanwhile."""
        moment = now or datetime.now(timezone.utc)
        self._prune(limits, moment)
        secret = secrets.token_urlsafe(32)
        row: Row = {"secret_hash": token_hash(secret), "clinician": clinician,
                    "started_at": stamp(moment), "seen_at": stamp(moment)}  # fmt: skip
        self._store.add_row("web_sessions", row)
        return secret

    def current(
        self, secret: str, limits: SessionLimits, now: datetime | None = None
    ) -> Session | None:
        """The session whose cookie holds ``secret``, or None: unknown, ended, or past its
        limits (then it is ended)."""
        if len(secret) > 200:
            return None
        rows = self._store.find_rows("web_sessions", "secret_hash", token_hash(secret))
        if not rows:
            return None
        row = rows[0]
        found = Session(row["id"], row["clinician"], row["started_at"], row["seen_at"])
        moment = now or datetime.now(timezone.utc)
        idle = moment - _parsed(found.seen_at)
        if idle > timedelta(minutes=limits.idle_minutes) or moment - _parsed(
            found.started_at
        ) > timedelta(hours=limits.hours):
            self._store.delete_rows("web_sessions", "id", found.id)
            return None
        if idle >= SEEN_EVERY:
            self._store.update_row("web_sessions", found.id, {"seen_at": stamp(moment)})
        return found

    def end(self, secret: str) -> None:
        """Sign-out: the session whose cookie holds ``secret`` ends."""
        self._store.delete_rows("web_sessions", "secret_hash", token_hash(secret))

    def end_all(self, clinician: str) -> int:
        """Every session of ``clinician`` ends (a new password, a disabled account); how many."""
        return self._store.delete_rows("web_sessions", "clinician", clinician)

    def _prune(self, limits: SessionLimits, now: datetime) -> None:
        idle_since = stamp(now - timedelta(minutes=limits.idle_minutes))
        self._store.delete_rows("web_sessions", "seen_at", idle_since, older=True)
        started_since = stamp(now - timedelta(hours=limits.hours))
        self._store.delete_rows("web_sessions", "started_at", started_since, older=True)


def _parsed(stored: str) -> datetime:
    return datetime.fromisoformat(stored.replace("Z", "+00:00"))
