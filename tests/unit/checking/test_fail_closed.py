"""No decision without what it depends on (issue 21, item 1): when the patient's record or
their earlier checks cannot be read from a log that exists, no decision is made and nothing is
recorded; the person gets the red-flag advice instead (the CLI: exit 1; HTTP: 503 with
Retry-After). A log that does not exist is not a failure: it holds no record."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

import triage
from tests.support.helpers import report
from tests.support.pg_server import APP, OWNER, Server
from tests.support.web_support import start, stop
from triage.errors import RED_FLAG_ADVICE
from triage_cli.cli import main

FAST_SWELLING = report(patient_id="pt-bt", swelling="mild", swelling_fast=True, pain_during=3,
                       pain_now=3, pain_region="knee", pain_site="joint")  # fmt: skip
"""Urgent on blood thinners (U7), which only the patient's record says."""


@pytest.fixture
def database(postgres: Server) -> Iterator[str]:
    """A log in a new database of the tests' server, with pt-bt's record: blood thinners."""
    name = postgres.new_database()
    with triage.TriageLog(postgres.url(name, APP)) as log:
        log.set_patient("pt-bt", conditions=["blood_thinners"], by="Dr Test")
        assert triage.check(FAST_SWELLING, log=log).decision.urgency == "urgent"
    yield name
    postgres.drop(name)


def _revoke(postgres: Server, database: str, table: str) -> None:
    with postgres.connect(database, OWNER) as conn:
        conn.execute(f"REVOKE SELECT ON triage.{table} FROM triage_writer")


def _entries(postgres: Server, database: str) -> int:
    with triage.TriageLog(postgres.url(database, OWNER)) as log:
        return log.count()


@pytest.mark.parametrize(
    ("table", "what"),
    [("patients", "the patient's record"), ("entries", "the patient's earlier checks")],
)
def test_no_decision_when_the_record_or_the_history_cannot_be_read(
    postgres: Server, database: str, table: str, what: str
) -> None:
    """The reproducer of the issue: the writer may no longer read the records, but may append."""
    _revoke(postgres, database, table)
    before = _entries(postgres, database)
    with pytest.raises(triage.UnavailableError) as raised:
        triage.check(FAST_SWELLING, log=postgres.url(database, APP))
    assert str(raised.value).startswith(f"{what} could not be read from the triage log")
    assert raised.value.advice == RED_FLAG_ADVICE
    assert _entries(postgres, database) == before


def test_the_cli_gives_the_red_flag_advice_and_no_result(postgres: Server, database: str) -> None:
    _revoke(postgres, database, "patients")
    shown = CliRunner().invoke(
        main, ["check", "--answers", "-", "--db", postgres.url(database, APP)],
        input=triage.parse_report(FAST_SWELLING).model_dump_json(exclude_none=True),
    )  # fmt: skip
    assert shown.exit_code == 1 and "Traceback" not in shown.output
    assert shown.stdout == ""  # no decision at all
    assert shown.stderr.startswith("Your answers could not be checked, so no advice can be given.")
    assert "call your local emergency number now" in shown.stderr
    assert "the patient's record could not be read" in shown.stderr


def test_the_api_answers_503_with_retry_after_and_the_advice(
    postgres: Server, database: str
) -> None:
    import httpx

    url = postgres.url(database, APP)
    with triage.TriageLog(url) as log:
        _, token = log.access.add_token("fail-closed")
    process, base, output = start(url)
    try:
        _revoke(postgres, database, "patients")
        before = _entries(postgres, database)
        headers = {"Authorization": f"Bearer {token}"}
        for params in ({}, {"format": "fhir"}):
            answer = httpx.post(f"{base}/api/v1/check", json=FAST_SWELLING, headers=headers,
                                params=params, timeout=60)  # fmt: skip
            assert answer.status_code == 503, answer.text
            assert answer.headers["retry-after"] == "5"
            body = answer.json()
            if params:  # a FHIR OperationOutcome: transient, the advice in its diagnostics
                assert body["resourceType"] == "OperationOutcome"
                assert body["issue"][0]["code"] == "transient"
                text = body["issue"][0]["diagnostics"]
            else:
                assert body["error"] == "unavailable" and body["retry_after"] == 5
                text = body["advice"]
            assert "call your local emergency number now" in text
            assert "outcome" not in body and "urgency" not in body
        assert _entries(postgres, database) == before
    finally:
        stop(process, output)


def test_a_damaged_log_file_gives_no_decision(tmp_path: Path) -> None:
    damaged = tmp_path / "damaged.db"
    damaged.write_bytes(b"garbage" * 1000)
    with pytest.raises(triage.UnavailableError):
        triage.check(FAST_SWELLING, log=damaged)
    with pytest.raises(triage.UnavailableError):
        triage.check(FAST_SWELLING, log=damaged, record=False)


def test_a_log_that_does_not_exist_holds_no_record(tmp_path: Path) -> None:
    """Not a failure to read: a decision, and why it was not saved."""
    missing = tmp_path / "no-such-folder" / "triage.db"
    result = triage.check(FAST_SWELLING, log=missing)
    assert result.decision.outcome == "reduce_load" and not result.logged  # L9 without U7
    assert "does not exist" in str(result.log_error)
    fresh = triage.check(FAST_SWELLING, log=tmp_path / "new.db", record=False)
    assert fresh.decision.outcome == "reduce_load" and fresh.log_error is None


@pytest.mark.slow
@pytest.mark.postgres
def test_a_restart_of_postgresql_costs_no_failed_check(tmp_path: Path) -> None:
    """The pool checks a connection before it hands it out: after the server restarts, the next
    check gets a live one (it got a dead one, and failed, before)."""
    server = Server(durable=True)  # an immediate restart must not lose what was committed
    try:
        name = server.new_database()
        with triage.TriageLog(server.url(name, APP)) as log:
            log.set_patient("pt-bt", conditions=["blood_thinners"], by="Dr Test")
            assert triage.check(FAST_SWELLING, log=log).logged
            for _ in range(2):
                server.restart()
                result = triage.check(FAST_SWELLING, log=log)
                assert result.logged and result.decision.urgency == "urgent"
    finally:
        server.stop()


@pytest.mark.slow
@pytest.mark.postgres
def test_eight_clients_through_eight_restarts_never_get_a_decision_without_the_record() -> None:
    """The issue's run: 8 clients check a patient on blood thinners (a fast swelling: urgent)
    through ``triage serve`` while PostgreSQL restarts 8 times. Every answer is the urgent
    decision or a 503 to retry; never a decision made without the record."""
    import threading

    import httpx

    server = Server(durable=True)  # an immediate restart must not lose what was committed
    process = None
    try:
        name = server.new_database()
        url = server.url(name, APP)
        with triage.TriageLog(url) as log:
            log.set_patient("pt-bt", conditions=["blood_thinners"], by="Dr Test")
            _, token = log.access.add_token("restarts")
        process, base, output = start(url)
        answers: list[tuple[int, str | None]] = []
        done = threading.Event()

        def client() -> None:
            with httpx.Client(base_url=f"{base}/api/v1", timeout=120,
                              headers={"Authorization": f"Bearer {token}"}) as api:  # fmt: skip
                while not done.is_set():
                    answer = api.post("/check", json=FAST_SWELLING)
                    urgency = answer.json().get("urgency") if answer.status_code == 200 else None
                    answers.append((answer.status_code, urgency))

        clients = [threading.Thread(target=client) for _ in range(8)]
        for thread in clients:
            thread.start()
        for _ in range(8):
            while len(answers) < 4:  # the clients are under way before each restart
                done.wait(0.05)
            answers_before = len(answers)
            server.restart()
            while len(answers) < answers_before + 8:
                done.wait(0.05)
        done.set()
        for thread in clients:
            thread.join(600)
        decided = [urgency for status, urgency in answers if status == 200]
        assert decided and set(decided) == {"urgent"}, answers
        assert {status for status, _ in answers} <= {200, 503}, answers
        print(f"\n{len(answers)} answers: {len(decided)} urgent, "
              f"{len(answers) - len(decided)} 503 (retry)")  # fmt: skip
    finally:
        if process is not None:
            stop(process, output)
        server.stop()
