"""What an alert says: the patient ID, the level and a link to the check, never the answers.
A webhook's body is signed: ``X-Triage-Signature: sha256=<hex>``, the HMAC-SHA256 with the
subscription's secret of ``"<X-Triage-Timestamp>.<body>"``."""

from __future__ import annotations

import hashlib
import hmac
import json
from email.message import EmailMessage
from typing import Any

from ..log.alerts import Alert
from ..outcomes import describe
from .settings import Settings

EVENT = "triage.check"
TEST_EVENT = "triage.test"
TIMESTAMP_HEADER = "X-Triage-Timestamp"
SIGNATURE_HEADER = "X-Triage-Signature"
DELIVERY_HEADER = "X-Triage-Delivery"
"""The outbox id of the alert: the same on each try, so a receiver can drop a repeat."""


def shouted(alert: Alert) -> str:
    """The level as the subject says it: URGENT, SAME DAY, REDUCE LOAD."""
    return alert.level.replace("_", " ").upper()


def payload(alert: Alert, settings: Settings, *, test: bool = False) -> dict[str, Any]:
    return {
        "event": TEST_EVENT if test else EVENT,
        "entry_id": alert.entry_id,
        "patient_id": alert.patient_id,
        "outcome": alert.outcome,
        "urgency": alert.urgency,
        "recorded_at": alert.recorded_at,
        "link": settings.link(alert.entry_id),
    }


def body(alert: Alert, settings: Settings, *, test: bool = False) -> bytes:
    data = payload(alert, settings, test=test)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def sign(secret: str, timestamp: str, content: bytes) -> str:
    """The value of ``X-Triage-Signature`` for ``content`` sent at ``timestamp``."""
    signed = timestamp.encode() + b"." + content
    return "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def verify_signature(secret: str, timestamp: str, content: bytes, signature: str) -> bool:
    """What a receiver checks (in constant time); it should also refuse an old timestamp."""
    return hmac.compare_digest(sign(secret, timestamp, content), signature)


def email(alert: Alert, settings: Settings, *, test: bool = False) -> EmailMessage:
    message = EmailMessage()
    prefix = "triage: TEST alert: " if test else "triage: "
    message["Subject"] = f"{prefix}{shouted(alert)} check for {alert.patient_id}"
    message["From"] = settings.smtp_from
    message["To"] = alert.target
    lines = [
        "This is a test of your triage alerts; no check was recorded." if test else
        f"A check at level {shouted(alert)} was recorded for patient {alert.patient_id}.",
        "",
        f"Level: {describe(alert.outcome, alert.urgency)}",
        f"Patient: {alert.patient_id}",
        f"Check: {settings.link(alert.entry_id)}",
        "",
        "Sign in to triage to see the check and record your review.",
    ]  # fmt: skip
    message.set_content("\n".join(lines) + "\n")
    return message
