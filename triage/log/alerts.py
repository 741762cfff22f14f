"""Alerts kept in the log's database: the clinicians' subscriptions, and the outbox of alerts to
deliver (``triage.alerts`` delivers them from ``triage serve``).

``TriageLog.record`` (and the record of a check stopped early) inserts one outbox row per
matching subscription in the transaction that appends the check (``Store.append``), so that a
recorded check never lacks its alert. The outbox is not part of the hash chain: a row's status,
attempts, next try and last error change as it is delivered. A deliverer claims the rows that
are due for a while (``claim``), so that two servers of one log do not send the same alert at
once; a claim that is never settled (the server stopped) falls due again when it ends.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from functools import partial
from typing import Literal

from ..errors import NotFoundError, UsageError
from ..outcomes import KEYS, by_key, severity
from . import sql as queries
from .records import Row, now_utc, plain_text, stamp
from .store import Store

Kind = Literal["email", "webhook"]
Status = Literal["pending", "delivered", "failed", "cancelled"]

LEVEL_KEYS = KEYS[1:]
"""The levels a subscription may start at: every one above continue."""
DEFAULT_LEVEL = "urgent"
MAX_ATTEMPTS = 8
"""Tries before an alert is given up as failed (30 s, 2 min, 8 min, 32 min, then hourly)."""
FIRST_DELAY_S = 30
MAX_DELAY_S = 3600
CLAIM_S = 120
"""How long a claimed alert stays with its deliverer before another may take it."""
MAX_ERROR = 500

_EMAIL = re.compile(r"[^@\s<>\"',;]+@[A-Za-z0-9.-]+\.[A-Za-z0-9-]+")


@dataclass(frozen=True)
class Subscription:
    """Who asked for alerts: an e-mail address or a webhook URL, from which level on. The
    secret of a webhook is never part of it (``Alerts.secret``)."""

    id: int
    kind: Kind
    target: str
    level: str
    created_at: str

    @classmethod
    def from_row(cls, row: Row) -> Subscription:
        return cls(
            int(row["id"]),
            row["kind"],
            row["target"],
            LEVEL_KEYS[int(row["min_severity"]) - 1],
            row["created_at"],
        )


@dataclass(frozen=True)
class Alert:
    """One alert of the outbox: the check it is about, where it goes, how its delivery went."""

    id: int
    subscription_id: int
    entry_id: int
    patient_id: str
    outcome: str
    urgency: str | None
    recorded_at: str
    kind: Kind
    target: str
    status: Status
    attempts: int
    due_at: str
    last_error: str | None
    last_attempt_at: str | None
    delivered_at: str | None
    secret: str | None = None

    @classmethod
    def from_row(cls, row: Row) -> Alert:
        return cls(
            int(row["id"]),
            int(row["subscription_id"]),
            int(row["entry_id"]),
            row["patient_id"],
            row["outcome"],
            row["urgency"],
            row["recorded_at"],
            row["kind"],
            row["target"],
            row["status"],
            int(row["attempts"]),
            row["due_at"],
            row["last_error"],
            row["last_attempt_at"],
            row["delivered_at"],
            row.get("secret"),
        )

    @property
    def level(self) -> str:
        """The check's level, as one word ('urgent', 'same_day', 'reduce_load')."""
        return self.urgency or self.outcome


def retry_delay(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed try: 30 s, times 4 each time, at
    most an hour."""
    return timedelta(seconds=min(FIRST_DELAY_S * 4 ** max(0, attempts - 1), MAX_DELAY_S))


class Alerts:
    """The subscriptions and the outbox of one log (``TriageLog.alerts``)."""

    def __init__(self, store: Store) -> None:
        self._store = store

    # -- subscriptions -----------------------------------------------------------------------

    def subscribe(
        self, kind: Kind, target: str, *, level: str = DEFAULT_LEVEL, secret: str | None = None
    ) -> Subscription:
        """Alert ``target`` (an e-mail address, or an http(s) webhook URL with the ``secret``
        its bodies are signed with) of every check recorded at ``level`` or above."""
        target = plain_text("target", target).strip()
        if level not in LEVEL_KEYS:
            raise UsageError(
                f"{level!r} is not a level alerts can start at",
                f"give one of {', '.join(LEVEL_KEYS)}",
            )
        if kind == "email":
            if not _EMAIL.fullmatch(target) or len(target) > 254:
                raise UsageError(
                    f"{target[:100]!r} is not an e-mail address", "give one such as a@example.org"
                )
            secret = None
        elif kind == "webhook":
            if not re.fullmatch(r"https?://[^\s/?#]+[^\s]*", target) or len(target) > 2000:
                raise UsageError(
                    f"{target[:100]!r} is not an http or https URL",
                    "give the receiver's URL, such as https://alerts.example.org/triage",
                )
            secret = (secret or "").strip()
            if len(secret) < 16 or not secret.isprintable():
                raise UsageError(
                    "a webhook's secret must be at least 16 printable characters",
                    "make one with: python3 -c 'import secrets; print(secrets.token_hex(32))'",
                )
        else:
            raise UsageError(f"{kind!r} is not a kind of alert", "give email or webhook")
        row = {
            "kind": kind,
            "target": target,
            "secret": secret,
            "min_severity": severity(by_key(level).outcome, by_key(level).urgency),
            "created_at": now_utc(),
        }
        found = self._store.alert_write(partial(queries.add_subscription, row=row))
        return self.subscription(int(found[0]["id"]))

    def subscriptions(self) -> list[Subscription]:
        """The subscriptions in force, oldest first."""
        return [Subscription.from_row(r) for r in self._store.alert_read(queries.subscriptions)]

    def subscription(self, subscription_id: int) -> Subscription:
        """One subscription in force; NotFoundError if there is none with that id."""
        return Subscription.from_row(self._row(subscription_id))

    def secret(self, subscription_id: int) -> str | None:
        """The secret a webhook's bodies are signed with (None for an e-mail)."""
        found: str | None = self._row(subscription_id)["secret"]
        return found

    def unsubscribe(self, subscription_id: int) -> Subscription:
        """Remove a subscription; its alerts not yet sent are cancelled."""
        self._row(subscription_id)
        found = self._store.alert_write(
            partial(queries.remove_subscription, subscription_id=subscription_id, at=now_utc())
        )
        if not found:
            raise self._missing(subscription_id)
        return Subscription.from_row(found[0])

    def _row(self, subscription_id: int) -> Row:
        rows = self._store.alert_read(
            partial(queries.subscriptions, subscription_id=subscription_id)
        ) if 0 < subscription_id < 2**63 else []  # fmt: skip
        if not rows or rows[0]["removed_at"] is not None:
            raise self._missing(subscription_id)
        return rows[0]

    @staticmethod
    def _missing(subscription_id: int) -> NotFoundError:
        return NotFoundError(
            f"there is no alert subscription {subscription_id}",
            None,
            "'triage alerts list' shows the subscriptions",
        )

    # -- the outbox --------------------------------------------------------------------------

    def outbox(
        self, statuses: tuple[Status, ...] = (), *, entry_id: int | None = None, limit: int = 100
    ) -> list[Alert]:
        """The alerts with these statuses (default: all), or of one check, oldest first."""
        rows = self._store.alert_read(
            partial(queries.alerts, statuses=statuses, entry_id=entry_id, limit=limit)
        )
        return [Alert.from_row(r) for r in rows]

    def counts(self) -> dict[str, int]:
        """How many alerts have each status."""
        found = dict.fromkeys(("pending", "delivered", "failed", "cancelled"), 0)
        for row in self._store.alert_read(queries.alert_counts):
            found[row["status"]] = int(row["n"])
        return found

    def due(self, now: datetime | None = None) -> int:
        """How many alerts are due (a read only: a deliverer with nothing to do writes nothing)."""
        moment = stamp(now or datetime.now(timezone.utc))
        rows = self._store.alert_read(partial(queries.alerts_due, now=moment))
        return int(rows[0]["n"]) if rows else 0

    def claim(self, now: datetime | None = None, limit: int = 20) -> tuple[str, list[Alert]]:
        """Take the alerts due at ``now`` for ``CLAIM_S`` seconds: the claim's token, and the
        alerts, with the webhooks' secrets."""
        moment = now or datetime.now(timezone.utc)
        token = secrets.token_hex(8)
        rows = self._store.alert_write(
            partial(
                queries.claim_alerts,
                now=stamp(moment),
                until=stamp(moment + timedelta(seconds=CLAIM_S)),
                token=token,
                limit=limit,
            )
        )
        return token, [Alert.from_row(r) for r in rows]

    def sent(self, alert: Alert, token: str, now: datetime | None = None) -> None:
        """Record that ``alert``, claimed under ``token``, was delivered."""
        at = stamp(now or datetime.now(timezone.utc))
        self._store.alert_write(partial(queries.alert_sent, alert_id=alert.id, token=token, at=at))

    def not_sent(self, alert: Alert, token: str, error: str, now: datetime | None = None) -> Status:
        """Record that a try of ``alert`` failed with ``error``: it is tried again after the
        back-off (``retry_delay``), or, after ``MAX_ATTEMPTS`` tries, given up as failed.
        Returns its status now."""
        moment = now or datetime.now(timezone.utc)
        attempts = alert.attempts + 1
        status: Status = "failed" if attempts >= MAX_ATTEMPTS else "pending"
        self._store.alert_write(
            partial(
                queries.alert_not_sent,
                alert_id=alert.id,
                token=token,
                at=stamp(moment),
                error=" ".join(error.split())[:MAX_ERROR] or "failed",
                status=status,
                due_at=stamp(moment + retry_delay(attempts)),
            )
        )
        return status
