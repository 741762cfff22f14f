"""A real ``triage serve`` for the web tests: a log seeded with one check of every level (and a
patient with a course of checks), a clinician's account and an API token, and the server started
as its own process on 127.0.0.1 (a free port it picks and announces) and stopped with Ctrl-C."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

import triage
from tests.support.helpers import ROOT, report
from triage.log import TriageLog

NAME, PASSWORD = "Dr A. Osei", "correct horse battery staple"
NOW = datetime.now(timezone.utc)

LEVEL_REPORTS: dict[str, dict[str, Any]] = {
    "continue": {"patient_id": "pt-fine"},
    "reduce_load": {
        "patient_id": "pt-sore",
        "pain_during": 7,
        "pain_now": 3,
        "pain_region": "thigh",
        "pain_site": "muscle",
    },
    "routine": {"patient_id": "pt-groin", "groin_lump": True},
    "same_day": {
        "patient_id": "pt-snap",
        "snap_or_tear": True,
        "pain_during": 4,
        "pain_now": 3,
        "pain_region": "thigh",
        "pain_site": "muscle",
    },
    "emergency": {"patient_id": "pt-chest", "chest_pain": "ongoing", "chest_pain_kind": "pressure"},
    "urgent": {
        "patient_id": "pt-shoulder",
        "deformity": True,
        "pain_during": 6,
        "pain_now": 6,
        "pain_region": "shoulder",
        "pain_site": "joint",
    },
}
"""One report per level; the urgent and emergency ones are the newest, so a worklist ordered
newest first would not put the emergency first by chance."""


def at(hours_ago: float) -> str:
    return (NOW - timedelta(hours=hours_ago)).isoformat()


def seed(path: Path | str) -> dict[str, int]:
    """Checks of every level (answered 30 h ago down to 1 h ago, the emergency 2 h ago), and a
    course of five checks of pt-0042 over two weeks; the entry id of each level."""
    ids: dict[str, int] = {}
    with TriageLog(path) as log:
        hours = {"continue": 30, "reduce_load": 28, "routine": 26, "same_day": 30, "emergency": 2}
        for key, changes in LEVEL_REPORTS.items():
            answers = report(**changes, reported_at=at(hours.get(key, 1)), hours_since_session=0.5)
            result = triage.check(answers, log=log)
            assert result.entry is not None
            assert (result.decision.urgency or result.decision.outcome) == key
            ids[key] = result.entry.id
        for days, during, now_, usual in ((14, 3, 2, 2), (10, 5, 3, 2), (7, 6, 4, 2), (3, 4, 3, 2),
                                          (1, 2, 1, 2)):  # fmt: skip
            answers = report(
                patient_id="pt-0042",
                reported_at=at(days * 24),
                pain_during=during,
                pain_now=now_,
                pain_before=usual,
                pain_region="knee",
                pain_site="joint",
                pain_trend="same" if days != 14 else None,
                hours_since_session=0.5,
            )
            triage.check(answers, log=log)
        log.access.add_clinician(NAME, PASSWORD, time_zone="Europe/London")
    return ids


@dataclass
class Server:
    url: str
    db: Path | str
    """The log: an SQLite file, or a PostgreSQL database's URL (as the app servers' role)."""
    token: str
    ids: dict[str, int]
    process: subprocess.Popen[str]
    output: list[str] = field(default_factory=list)

    def api(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token or self.token}"}
        return httpx.Client(base_url=f"{self.url}/api/v1", headers=headers, timeout=30)

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, follow_redirects=False)

    def sign_in(self, client: httpx.Client, name: str = NAME, password: str = PASSWORD) -> None:
        """A session for ``client``, through the sign-in form."""
        page = client.get("/login")
        response = client.post(
            "/login",
            data={
                "csrf_token": csrf_of(page.text),
                "name": name,
                "password": password,
                "next": "/",
            },
        )
        assert response.status_code == 303, response.text


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF token in the page"
    return found.group(1)


def start(db: Path | str, *extra: str) -> tuple[subprocess.Popen[str], str, list[str]]:
    """``triage serve`` on a free port of 127.0.0.1; returns it, its URL and its output so far."""
    env = {**os.environ, "TRIAGE_DB": str(db), "PYTHONUNBUFFERED": "1"}
    if isinstance(db, str):  # a PostgreSQL log is named on the command line, as people do
        extra = ("--db", db, *extra)
    process = subprocess.Popen(
        [sys.executable, "-m", "triage_cli.cli", "serve", "--port", "0", *extra],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    output: list[str] = []
    timer = threading.Timer(180, process.kill)  # never wait forever for the announcement
    timer.start()
    try:
        for line in process.stdout:
            output.append(line)
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                return process, found.group(1), output
    finally:
        timer.cancel()
    raise AssertionError("triage serve did not start:\n" + "".join(output))


def stop(process: subprocess.Popen[str], output: list[str]) -> str:
    """Ctrl-C, as a person stops it; it must stop by itself, cleanly."""
    process.send_signal(signal.SIGINT)
    rest, _ = process.communicate(timeout=30)
    text = "".join(output) + rest
    assert process.returncode == 0, text
    assert "triage serve: stopped." in text
    return text


def running(db: Path | str) -> Iterator[Server]:
    """A seeded log at ``db`` with an API token, and ``triage serve`` on it until the end."""
    ids = seed(db)
    with TriageLog(db) as log:
        _, token = log.access.add_token("test-suite")
    process, url, output = start(db)
    serving = Server(url, db, token, ids, process, output)
    try:
        yield serving
    finally:
        if process.poll() is None:
            stop(process, output)


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from running(tmp_path_factory.mktemp("serve") / "triage.db")


def on_either_backend(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """For a module-scoped ``server`` fixture with ``params=["sqlite", "postgresql"]``: the
    server on an SQLite file, or on a PostgreSQL database of the tests' throwaway server (which
    the app servers' role, triage_app, reads and appends to)."""
    yield from on_backend(request.param, request, tmp_path_factory)


def on_backend(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """``triage serve`` on a new SQLite file or PostgreSQL database (``backend``)."""
    if backend == "sqlite":
        yield from running(tmp_path_factory.mktemp("serve") / "triage.db")
        return
    from tests.support.pg_server import APP

    postgres = request.getfixturevalue("postgres")
    name = postgres.new_database()
    try:
        yield from running(postgres.url(name, APP))
    finally:
        postgres.drop(name)
