"""Alerts delivered for real (issue 25): an e-mail to an SMTP server (aiosmtpd) and a signed
webhook to an HTTP receiver, both on 127.0.0.1; a receiver that is down keeps the alert pending
with its error until it is up; ``triage alerts ...`` in the terminal."""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import triage
from tests.support.backends import Target
from tests.support.helpers import report
from tests.support.web_support import LEVEL_REPORTS
from triage.alerts import Deliverer, Settings, deliver_due, verify_signature
from triage.log import TriageLog
from triage.log.alerts import retry_delay
from triage_cli.cli import main

pytestmark = pytest.mark.system

SECRET = "s3cret-of-the-webhook-0123456789"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Message] = []
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        self.messages.append(message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[int, Mailbox]]:
    from aiosmtpd.controller import Controller

    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield port, mailbox
    finally:
        controller.stop()


class Receiver:
    """A webhook receiver on 127.0.0.1:``port``, started and stopped at will."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}/triage-hook"
        self.received: list[tuple[dict[str, str], bytes]] = []
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                received.append((dict(self.headers), self.rfile.read(length)))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    made = Receiver(free_port())
    yield made
    made.stop()


def checked(log: TriageLog, level: str) -> int:
    result = triage.check(report(**LEVEL_REPORTS[level]), log=log)
    assert result.entry is not None
    return result.entry.id


def settings(smtp_port: int = 1) -> Settings:
    return Settings(
        smtp_host="127.0.0.1",
        smtp_port=smtp_port,
        smtp_from="triage@clinic.example",
        public_url="https://triage.example.org",
        timeout=30,
    )


def test_an_urgent_check_is_e_mailed_with_no_answers(
    private_log: Target, smtp: tuple[int, Mailbox]
) -> None:
    port, mailbox = smtp
    with TriageLog(private_log) as log:
        log.alerts.subscribe("email", "dr.a@clinic.example")
        entry = checked(log, "urgent")
        checked(log, "same_day")  # below the subscription's level: no e-mail
        [outcome] = deliver_due(log, settings(port))
        assert outcome.status == "delivered"
        assert log.alerts.outbox(entry_id=entry)[0].status == "delivered"
    [message] = mailbox.messages
    assert message["Subject"] == "triage: URGENT check for pt-shoulder"
    assert mailbox.envelopes[0].rcpt_tos == ["dr.a@clinic.example"]
    text = message.get_payload(decode=True).decode()
    assert f"https://triage.example.org/checks/{entry}" in text
    assert "pt-shoulder" in text and "seek_medical_review (urgent)" in text
    for answer in ("deformity", "shoulder\n", "pain", "joint"):
        assert answer not in text.lower().replace("pt-shoulder", "")


def test_a_webhook_is_signed_and_holds_only_the_id_the_level_and_a_link(
    private_log: Target, receiver: Receiver
) -> None:
    receiver.start()
    with TriageLog(private_log) as log:
        log.alerts.subscribe("webhook", receiver.url, level="same_day", secret=SECRET)
        entry = checked(log, "same_day")
        [outcome] = deliver_due(log, settings())
        assert outcome.status == "delivered"
    [(headers, body)] = receiver.received
    timestamp, signature = headers["X-Triage-Timestamp"], headers["X-Triage-Signature"]
    assert verify_signature(SECRET, timestamp, body, signature)
    assert not verify_signature("another-secret-0123456789", timestamp, body, signature)
    assert abs(int(timestamp) - time.time()) < 60
    data = json.loads(body)
    assert set(data) == {
        "event", "entry_id", "patient_id", "outcome", "urgency", "recorded_at", "link"
    }  # fmt: skip
    assert (data["event"], data["entry_id"], data["patient_id"], data["urgency"]) == (
        "triage.check", entry, "pt-snap", "same_day"
    )  # fmt: skip
    assert data["link"] == f"https://triage.example.org/checks/{entry}"


def test_a_receiver_that_is_down_keeps_the_alert_until_it_is_up(
    private_log: Target, receiver: Receiver
) -> None:
    with TriageLog(private_log) as log:
        log.alerts.subscribe("webhook", receiver.url, secret=SECRET)
        entry = checked(log, "urgent")
        now = datetime.now(timezone.utc)
        [outcome] = deliver_due(log, settings(), now)
        assert outcome.status == "pending"
    with TriageLog(private_log) as log:  # a restart of the server: the alert is still there
        [alert] = log.alerts.outbox(("pending",))
        assert (alert.entry_id, alert.attempts) == (entry, 1)
        assert "cannot reach the receiver" in (alert.last_error or "")
        status = CliRunner().invoke(main, ["alerts", "status"])
        assert status.exit_code == 0 and "1 waiting" in status.output
        assert "cannot reach the receiver" in status.output and SECRET not in status.output
        receiver.start()
        assert deliver_due(log, settings(), now + timedelta(seconds=5)) == []  # not due yet
        [outcome] = deliver_due(log, settings(), now + retry_delay(1))
        assert outcome.status == "delivered"
        assert log.alerts.counts()["delivered"] == 1
    assert len(receiver.received) == 1


def test_the_deliverer_thread_sends_without_the_check_waiting(
    private_log: Target, receiver: Receiver
) -> None:
    receiver.start()
    with TriageLog(private_log) as log:
        log.alerts.subscribe("webhook", receiver.url, secret=SECRET)
    deliverer = Deliverer(lambda: TriageLog(private_log, create=False), settings(), interval=0.05)
    deliverer.start()
    try:
        with TriageLog(private_log) as log:
            checked(log, "emergency")
        deadline = time.monotonic() + 60  # a bound for a loaded machine: it returns at once
        while not receiver.received and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        deliverer.stop()
    assert len(receiver.received) == 1 and deliverer.last_error is None


def test_the_alerts_commands(
    private_log: Target, smtp: tuple[int, Mailbox], tmp_path: Path, monkeypatch: Any
) -> None:
    port, mailbox = smtp
    monkeypatch.setenv("TRIAGE_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("TRIAGE_SMTP_PORT", str(port))
    runner = CliRunner()
    added = runner.invoke(main, ["alerts", "add", "--email", "dr.a@clinic.example"])
    assert added.exit_code == 0, added.output
    assert "Alert 1: email dr.a@clinic.example, for checks at urgent or above." in added.output
    secret = tmp_path / "hook.secret"
    secret.write_text(SECRET + "\n")
    added = runner.invoke(
        main,
        ["alerts", "add", "--webhook", "http://127.0.0.1:9/h", "--secret-file", str(secret),
         "--level", "same_day"],
    )  # fmt: skip
    assert added.exit_code == 0 and "Alert 2: webhook" in added.output
    listed = runner.invoke(main, ["alerts", "list"])
    assert "dr.a@clinic.example" in listed.output and "from same_day" in listed.output
    assert SECRET not in listed.output
    tested = runner.invoke(main, ["alerts", "test", "1"])
    assert tested.exit_code == 0, tested.output
    assert mailbox.messages[0]["Subject"] == "triage: TEST alert: URGENT check for test"
    failed = runner.invoke(main, ["alerts", "test", "2"])  # nothing listens on port 9
    assert failed.exit_code == 1 and "not delivered" in failed.output
    wrong = runner.invoke(main, ["alerts", "add", "--webhook", "http://127.0.0.1:9/h"])
    assert wrong.exit_code == 2 and "--secret-file" in wrong.output
    removed = runner.invoke(main, ["alerts", "remove", "2"])
    assert removed.exit_code == 0 and "Alert 2" in removed.output
    missing = runner.invoke(main, ["alerts", "remove", "2"])
    assert missing.exit_code == 1 and "no alert subscription 2" in missing.output
    status = runner.invoke(main, ["alerts", "status", "--json"])
    assert json.loads(status.output)["counts"]["pending"] == 0


def test_triage_serve_delivers_and_its_status_page_shows_what_is_not_delivered(
    tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A real ``triage serve``: an urgent check to a receiver that is down shows on the signed-in
    clinician's status page, with its error; the menu links to it; signed out, it is not shown."""
    from tests.support.web_support import running

    db = tmp_path / "triage.db"
    with TriageLog(db, create=True) as log:
        log.alerts.subscribe("webhook", receiver.url, secret=SECRET)
    monkeypatch.setenv("TRIAGE_PUBLIC_URL", "https://triage.example.org")
    serving = running(db)
    server = next(serving)
    try:
        with TriageLog(db) as log:
            entry = checked(log, "urgent")
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not [
                a for a in log.alerts.outbox(("pending",)) if a.entry_id == entry and a.attempts
            ]:
                time.sleep(0.1)
        with server.client() as anonymous:
            assert anonymous.get("/alerts").status_code == 303  # to the sign-in page
        with server.client() as client:
            server.sign_in(client)
            page = client.get("/alerts")
            worklist = client.get("/")
    finally:
        serving.close()
    assert page.status_code == 200, page.text
    assert 'href="/alerts"' in worklist.text
    assert f'<a href="/checks/{entry}">{entry}</a>' in page.text
    assert "cannot reach the receiver" in page.text and SECRET not in page.text
    waiting = re.search(r"<strong>(\d+)</strong>\s*waiting", page.text)
    assert waiting and int(waiting.group(1)) >= 1  # the seeded urgent checks' alerts too
