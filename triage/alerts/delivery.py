"""Sending alerts: one at a time (``send``), every one that is due (``deliver_due``), and the
background thread of ``triage serve`` that keeps doing so (``Deliverer``).

A check never waits for any of this: its alerts are in the outbox when it is recorded, and the
deliverer sends them. A failed try is recorded with its error and tried again later, with
back-off (``log.alerts.retry_delay``), until ``log.alerts.MAX_ATTEMPTS`` tries have failed.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone

from .._version import __version__
from ..log import TriageLog
from ..log.alerts import Alert, Subscription
from ..log.records import now_utc
from . import messages
from .settings import HOST_ENV, Settings

LOGGER = logging.getLogger("triage.alerts")
INTERVAL_S = 5.0
"""Seconds between the deliverer's passes over the outbox."""


class DeliveryError(Exception):
    """One try of an alert failed; the message says why (kept as the alert's last error)."""


Sender = Callable[[Alert, Settings, datetime], None]


def send(alert: Alert, settings: Settings, now: datetime, *, test: bool = False) -> None:
    """Deliver ``alert`` once; DeliveryError says why it was not."""
    if alert.kind == "email":
        _send_email(alert, settings, test=test)
    else:
        _send_webhook(alert, settings, now, test=test)


def _send_email(alert: Alert, settings: Settings, *, test: bool) -> None:
    if not settings.smtp_host:
        raise DeliveryError(f"no SMTP server: set {HOST_ENV} for 'triage serve'")
    message = messages.email(alert, settings, test=test)
    try:
        with smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=settings.timeout) as s:
            if settings.smtp_starttls:
                s.starttls(context=ssl.create_default_context())
            refused = s.send_message(message)
    except (smtplib.SMTPException, OSError) as exc:
        raise DeliveryError(
            f"SMTP {settings.smtp_host}:{settings.smtp_port}: {_said(exc)}"
        ) from None
    if refused:
        raise DeliveryError(f"the SMTP server refused {', '.join(refused)}")


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # a redirect is an error: the signed body goes only where it was sent


def _send_webhook(alert: Alert, settings: Settings, now: datetime, *, test: bool) -> None:
    content = messages.body(alert, settings, test=test)
    timestamp = str(int(now.timestamp()))
    request = urllib.request.Request(
        alert.target,
        data=content,
        method="POST",
        headers={
            "Content-Type": "application/json",
            "User-Agent": f"triage/{__version__}",
            messages.TIMESTAMP_HEADER: timestamp,
            messages.SIGNATURE_HEADER: messages.sign(alert.secret or "", timestamp, content),
            messages.DELIVERY_HEADER: str(alert.id),
        },
    )
    opener = urllib.request.build_opener(_NoRedirects)
    try:
        with opener.open(request, timeout=settings.timeout) as response:
            status = response.status
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"the receiver answered HTTP {exc.code}") from None
    except urllib.error.URLError as exc:
        raise DeliveryError(f"cannot reach the receiver: {_said(exc.reason)}") from None
    except OSError as exc:
        raise DeliveryError(f"cannot reach the receiver: {_said(exc)}") from None
    if not 200 <= status < 300:
        raise DeliveryError(f"the receiver answered HTTP {status}")


def _said(exc: object) -> str:
    text = str(exc).strip()
    return text or type(exc).__name__


@dataclass(frozen=True)
class Outcome:
    """What one try of one alert came to: 'delivered', 'pending' (to be tried again) or
    'failed' (given up), with the error."""

    alert: Alert
    status: str
    error: str | None = None


def deliver_due(
    log: TriageLog, settings: Settings, now: datetime | None = None, send: Sender = send
) -> list[Outcome]:
    """Send every alert due at ``now`` (default: now); record each one's result."""
    moment = now or datetime.now(timezone.utc)
    if not log.alerts.due(moment):
        return []
    token, claimed = log.alerts.claim(moment)
    done = []
    for alert in claimed:
        try:
            send(alert, settings, moment)
        except DeliveryError as exc:
            status = log.alerts.not_sent(alert, token, str(exc), moment)
            done.append(Outcome(alert, status, str(exc)))
        else:
            log.alerts.sent(alert, token, moment)
            done.append(Outcome(alert, "delivered"))
    return done


def send_test(subscription: Subscription, secret: str | None, settings: Settings) -> None:
    """Send a test alert to ``subscription`` now (not through the outbox); DeliveryError if
    it was not delivered."""
    alert = Alert(
        id=0,
        subscription_id=subscription.id,
        entry_id=0,
        patient_id="test",
        outcome="seek_medical_review"
        if subscription.level not in ("reduce_load",)
        else "reduce_load",
        urgency=None if subscription.level == "reduce_load" else subscription.level,
        recorded_at=now_utc(),
        kind=subscription.kind,
        target=subscription.target,
        status="pending",
        attempts=0,
        due_at=now_utc(),
        last_error=None,
        last_attempt_at=None,
        delivered_at=None,
        secret=secret,
    )
    send(alert, settings, datetime.now(timezone.utc), test=True)


class Deliverer:
    """The thread of ``triage serve`` that delivers the alerts: a pass every ``interval``
    seconds, on its own connection to the log. ``last_error`` is what stopped the latest pass
    (the log could not be read), shown on the status page; None when it went through."""

    def __init__(
        self, open_log: Callable[[], TriageLog], settings: Settings, interval: float = INTERVAL_S
    ) -> None:
        self._open_log = open_log
        self.settings = settings
        self.interval = interval
        self.last_error: str | None = None
        self.last_pass: str | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="triage-alerts", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Make the next pass now."""
        self._wake.set()

    def stop(self, timeout: float = 15.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        log: TriageLog | None = None
        try:
            while not self._stop.is_set():
                try:
                    log = log or self._open_log()
                    deliver_due(log, self.settings)
                    self.last_error = None
                except Exception as exc:  # the log is down: try again at the next pass
                    self.last_error = _said(exc)
                    LOGGER.warning("alert delivery: %s", self.last_error)
                self.last_pass = now_utc()
                self._wake.wait(self.interval)
                self._wake.clear()
        finally:
            if log is not None:
                log.close()
