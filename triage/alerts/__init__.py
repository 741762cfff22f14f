"""Alerts to clinicians, delivered by ``triage serve``: an e-mail (SMTP) or a signed webhook
(HMAC-SHA256 over the timestamp and the body) for each check recorded at a subscription's level
or above.

The log keeps the subscriptions and the outbox (``triage.log.alerts``): the alerts of a check are
stored in the check's own transaction, so none is lost and recording never waits for a network.
Here:

- ``settings``: the SMTP server, the sender and the public URL the links start with (from the
  environment: ``TRIAGE_SMTP_HOST``, ``TRIAGE_SMTP_PORT``, ``TRIAGE_SMTP_FROM``,
  ``TRIAGE_PUBLIC_URL``);
- ``messages``: what an alert says (the patient ID, the level and a link, nothing more), and
  the webhook's signature;
- ``delivery``: sending one alert, a pass over the alerts that are due (``deliver_due``: each
  sent, or its error recorded and its next try scheduled with back-off), and the background
  thread of ``triage serve`` that makes a pass every few seconds (``Deliverer``).
"""

from __future__ import annotations

from .delivery import Deliverer, DeliveryError, deliver_due, send, send_test
from .messages import sign, verify_signature
from .settings import Settings

__all__ = [
    "Deliverer",
    "DeliveryError",
    "Settings",
    "deliver_due",
    "send",
    "send_test",
    "sign",
    "verify_signature",
]
