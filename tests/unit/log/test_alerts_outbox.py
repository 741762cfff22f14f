"""Alerts in the log (issue 25): subscriptions, and the outbox filled in the transaction of each
check that needs an alert; claiming, back-off and giving up, driven with a fake clock; the outbox
survives a restart. On SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

import triage
from tests.support.backends import Target
from tests.support.helpers import report
from tests.support.web_support import LEVEL_REPORTS
from triage.alerts import DeliveryError, Settings, deliver_due
from triage.checking.check import stop_early
from triage.contract.reading import FIELDS
from triage.errors import NotFoundError, UsageError
from triage.evaluation.warning import early_warning
from triage.log import TriageLog
from triage.log.alerts import MAX_ATTEMPTS, Alert, retry_delay

BACKENDS = True
SECRET = "s3cret-of-the-webhook-0123456789"
SETTINGS = Settings(smtp_host="127.0.0.1", public_url="https://triage.example.org")


@pytest.fixture
def log(private_log: Target) -> Iterator[TriageLog]:
    opened = TriageLog(private_log)
    yield opened
    opened.close()


def checked(log: TriageLog, level: str, patient: str | None = None) -> int:
    changes = dict(LEVEL_REPORTS[level])
    if patient:
        changes["patient_id"] = patient
    result = triage.check(report(**changes), log=log)
    assert result.entry is not None
    assert (result.decision.urgency or result.decision.outcome) == level
    return result.entry.id


def test_subscriptions_are_added_listed_and_removed_without_their_secrets(log: TriageLog) -> None:
    mail = log.alerts.subscribe("email", "a@example.org")
    hook = log.alerts.subscribe("webhook", "http://127.0.0.1:9/h", level="same_day", secret=SECRET)
    assert (mail.id, mail.level, hook.id, hook.level) == (1, "urgent", 2, "same_day")
    assert log.alerts.subscriptions() == [mail, hook]
    assert SECRET not in repr(log.alerts.subscriptions())
    assert log.alerts.secret(hook.id) == SECRET and log.alerts.secret(mail.id) is None
    assert log.alerts.unsubscribe(mail.id).id == mail.id
    assert log.alerts.subscriptions() == [hook]
    with pytest.raises(NotFoundError, match="no alert subscription 1"):
        log.alerts.unsubscribe(mail.id)


@pytest.mark.parametrize(
    ("kind", "target", "options", "problem"),
    [
        ("email", "not an address", {}, "not an e-mail address"),
        ("email", "a@example.org\nBcc: b@example.org", {}, "target"),
        ("webhook", "ftp://example.org/x", {"secret": SECRET}, "not an http or https URL"),
        ("webhook", "https://example.org/x", {"secret": "short"}, "at least 16"),
        ("email", "a@example.org", {"level": "continue"}, "not a level"),
    ],
)
def test_a_subscription_that_cannot_work_is_refused(
    log: TriageLog, kind: Any, target: str, options: dict[str, Any], problem: str
) -> None:
    with pytest.raises(UsageError, match=problem):
        log.alerts.subscribe(kind, target, **options)
    assert log.alerts.subscriptions() == []


def test_a_check_gets_one_alert_per_matching_subscription_in_its_transaction(
    log: TriageLog,
) -> None:
    urgent_mail = log.alerts.subscribe("email", "a@example.org")
    same_day_hook = log.alerts.subscribe(
        "webhook", "http://127.0.0.1:9/h", level="same_day", secret=SECRET
    )
    log.alerts.subscribe("email", "gone@example.org", level="routine")
    log.alerts.unsubscribe(3)
    urgent = checked(log, "urgent")
    same_day = checked(log, "same_day")
    fine = checked(log, "continue")
    emergency = checked(log, "emergency")
    by_entry = {e: log.alerts.outbox(entry_id=e) for e in (urgent, same_day, fine, emergency)}
    assert [a.subscription_id for a in by_entry[urgent]] == [urgent_mail.id, same_day_hook.id]
    assert [a.subscription_id for a in by_entry[same_day]] == [same_day_hook.id]
    assert by_entry[fine] == []
    assert len(by_entry[emergency]) == 2
    alert = by_entry[urgent][0]
    assert (alert.status, alert.attempts, alert.patient_id, alert.level) == (
        "pending", 0, "pt-shoulder", "urgent"
    )  # fmt: skip
    assert log.alerts.counts()["pending"] == 5
    assert log.verify(full=True).ok  # the outbox is not part of the chain


def test_a_check_stopped_early_gets_its_alert(log: TriageLog) -> None:
    log.alerts.subscribe("email", "a@example.org", level="emergency")
    so_far = {"patient_id": "pt-s", "hours_since_session": 1.0, "fainting": "fainted"}
    hidden = set(FIELDS) - set(so_far) - {"profile", "age", "conditions"}
    warning = early_warning(so_far, hidden, triage.default_pack())
    assert warning is not None
    stopped = stop_early(warning, log=log)
    assert stopped.entry is not None
    [alert] = log.alerts.outbox(entry_id=stopped.entry.id)
    assert (alert.patient_id, alert.urgency) == ("pt-s", "emergency")


def test_a_failed_try_is_kept_with_its_error_and_retried_with_back_off(log: TriageLog) -> None:
    log.alerts.subscribe("webhook", "http://127.0.0.1:9/h", secret=SECRET)
    entry = checked(log, "urgent")
    now = datetime.now(timezone.utc)
    down = True
    sent: list[Alert] = []

    def send(alert: Alert, settings: Settings, at: datetime) -> None:
        if down:
            raise DeliveryError("cannot reach the receiver: Connection refused")
        sent.append(alert)

    [outcome] = deliver_due(log, SETTINGS, now, send)
    refused = "cannot reach the receiver: Connection refused"
    assert (outcome.status, outcome.error) == ("pending", refused)
    [alert] = log.alerts.outbox(entry_id=entry)
    assert (alert.status, alert.attempts) == ("pending", 1)
    assert alert.last_error == "cannot reach the receiver: Connection refused"
    assert deliver_due(log, SETTINGS, now + timedelta(seconds=29), send) == []  # not yet due
    down = False
    [outcome] = deliver_due(log, SETTINGS, now + retry_delay(1), send)
    assert outcome.status == "delivered" and [a.entry_id for a in sent] == [entry]
    assert sent[0].secret == SECRET  # the deliverer has the secret; the listings never do
    [alert] = log.alerts.outbox(entry_id=entry)
    assert (alert.status, alert.attempts, alert.delivered_at is not None) == ("delivered", 2, True)
    assert deliver_due(log, SETTINGS, now + timedelta(days=1), send) == []


def test_the_back_off_grows_and_the_alert_is_given_up_after_the_last_try(log: TriageLog) -> None:
    assert [retry_delay(n).total_seconds() for n in (1, 2, 3, 4, 5, 6)] == [
        30, 120, 480, 1920, 3600, 3600
    ]  # fmt: skip
    log.alerts.subscribe("email", "a@example.org")
    checked(log, "urgent")

    def refuse(alert: Alert, settings: Settings, at: datetime) -> None:
        raise DeliveryError("SMTP 127.0.0.1:25: Connection refused")

    now = datetime.now(timezone.utc)
    statuses = []
    for attempt in range(1, MAX_ATTEMPTS + 1):
        [outcome] = deliver_due(log, SETTINGS, now, refuse)
        statuses.append(outcome.status)
        now += retry_delay(attempt)
    assert statuses == ["pending"] * (MAX_ATTEMPTS - 1) + ["failed"]
    [alert] = log.alerts.outbox(("failed",))
    assert alert.attempts == MAX_ATTEMPTS and "Connection refused" in (alert.last_error or "")
    assert deliver_due(log, SETTINGS, now + timedelta(days=30), refuse) == []


def test_a_claimed_alert_is_not_sent_twice_and_a_lost_claim_falls_due_again(
    log: TriageLog,
) -> None:
    log.alerts.subscribe("email", "a@example.org")
    checked(log, "urgent")
    now = datetime.now(timezone.utc)
    first, [claimed] = log.alerts.claim(now)
    assert log.alerts.claim(now)[1] == []  # another deliverer finds nothing
    second, [again] = log.alerts.claim(now + timedelta(minutes=3))  # the first one stopped
    assert again.id == claimed.id and second != first
    log.alerts.sent(claimed, first, now)  # a lost claim settles nothing
    assert log.alerts.outbox(entry_id=claimed.entry_id)[0].status == "pending"
    log.alerts.sent(again, second, now)
    assert log.alerts.outbox(entry_id=claimed.entry_id)[0].status == "delivered"


def test_the_outbox_survives_a_restart(private_log: Target) -> None:
    with TriageLog(private_log) as log:
        log.alerts.subscribe("email", "a@example.org")
        entry = checked(log, "urgent")
    with TriageLog(private_log) as log:
        [alert] = log.alerts.outbox(("pending",))
        assert alert.entry_id == entry
        assert [s.target for s in log.alerts.subscriptions()] == ["a@example.org"]
