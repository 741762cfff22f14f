"""Through real ``triage serve`` processes, on an SQLite log and a PostgreSQL one: a retried
``POST /api/v1/check`` under its ``Idempotency-Key`` gets the first answer again and makes no
second entry (also when the retries come at once); other answers under the key are a located
422; and a CDS Hooks JWT used once is refused by a second server on the same log and after a
restart."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.ehr import ISSUER, Ehr, jwks_file
from tests.support.helpers import report
from tests.support.web_support import Server, on_either_backend, seed, start, stop
from triage.log import TriageLog

PUBLIC = "https://triage.clinic.example"
"""The one public URL both servers are behind: the audience of the EHR's JWTs."""


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The server on an SQLite log, then on a PostgreSQL one."""
    yield from on_either_backend(request, tmp_path_factory)


def entries(server: Server) -> int:
    with TriageLog(server.db) as log:
        return log.count()


# -- Idempotency-Key ------------------------------------------------------------------------------


def test_a_retried_check_gets_the_first_answer_and_no_second_entry(server: Server) -> None:
    answers = report(patient_id="pt-retry", snap_or_tear=True, pain_during=4, pain_now=3,
                     pain_region="thigh", pain_site="muscle")  # fmt: skip
    before = entries(server)
    key = {"Idempotency-Key": "0b6c3e8e-5d0a-4c4e-9a51-1e3f0c2d7a10"}
    with server.api() as api:
        first = api.post("/check", json=answers, headers=key)
        again = api.post("/check", json=answers, headers=key)
    assert first.status_code == again.status_code == 200, first.text
    assert again.content == first.content and first.json()["logged"] is True
    assert "idempotent-replayed" not in first.headers
    assert again.headers["idempotent-replayed"] == "true"
    assert entries(server) == before + 1


def test_other_answers_under_a_used_key_are_a_located_422(server: Server) -> None:
    key = {"Idempotency-Key": "key-reused-for-other-answers"}
    with server.api() as api:
        assert api.post("/check", json=report(patient_id="pt-k1"), headers=key).status_code == 200
        before = entries(server)
        refused = api.post("/check", json=report(patient_id="pt-k2"), headers=key)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["error"] == "idempotency_key"
    (problem,) = body["problems"]
    assert problem["field"] == "Idempotency-Key" and "other answers" in problem["message"]
    assert "new key" in problem["fix"] and "Traceback" not in refused.text
    assert entries(server) == before


def test_a_malformed_key_is_refused_naming_the_header(server: Server) -> None:
    before = entries(server)
    with server.api() as api:
        refused = api.post("/check", json=report(), headers={"Idempotency-Key": "x" * 256})
    assert refused.status_code == 400
    assert "Idempotency-Key" in refused.json()["message"] and refused.json()["problems"][0]["fix"]
    assert entries(server) == before


def test_simultaneous_retries_make_one_entry(server: Server) -> None:
    answers = report(patient_id="pt-burst", swelling="marked")
    key = {"Idempotency-Key": "burst-of-retries"}
    before = entries(server)
    go = threading.Barrier(8)
    answered: list[httpx.Response] = []

    def retry() -> None:
        with server.api() as api:
            go.wait(timeout=60)
            answered.append(api.post("/check", json=answers, headers=key))

    threads = [threading.Thread(target=retry) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert [response.status_code for response in answered] == [200] * 8
    assert len({response.content for response in answered}) == 1
    assert entries(server) == before + 1


# -- CDS Hooks JWT ids ----------------------------------------------------------------------------


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def seeded(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Path | str]:
    """A seeded log: an SQLite file, or a database on the tests' PostgreSQL server."""
    if request.param == "sqlite":
        path = tmp_path / "triage.db"
        seed(path)
        yield path
        return
    from tests.support.pg_server import APP

    postgres = request.getfixturevalue("postgres")
    name = postgres.new_database()
    try:
        url = postgres.url(name, APP)
        seed(url)
        yield url
    finally:
        postgres.drop(name)


@pytest.mark.slow  # three server starts: about 7 s
def test_a_jwt_is_used_once_by_every_server_of_the_log(seeded: Path | str, tmp_path: Path) -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    options = ("--cds-ehr-key", str(jwks_file(key, tmp_path / "ehr.jwks.json")),
               "--cds-ehr-issuer", ISSUER, "--public-url", PUBLIC)  # fmt: skip
    audience = f"{PUBLIC}/cds-services"
    running: list[tuple[Any, str, list[str]]] = []
    try:
        running += [start(seeded, *options), start(seeded, *options)]
        (first, first_url, first_output), (_, second_url, _) = running
        token = Ehr(first_url, key).token(audience)
        assert Ehr(first_url, key).call("GET", "/cds-services", token=token).status_code == 200
        on_second = Ehr(second_url, key).call("GET", "/cds-services", token=token)
        assert on_second.status_code == 401 and "used before" in on_second.json()["message"]
        stop(first, first_output)
        running.pop(0)
        running.append(start(seeded, *options))
        _, restarted_url, _ = running[-1]
        again = Ehr(restarted_url, key).call("GET", "/cds-services", token=token)
        assert again.status_code == 401 and "used before" in again.json()["message"]
        fresh = Ehr(restarted_url, key).token(audience)
        assert Ehr(restarted_url, key).call("GET", "/cds-services", token=fresh).status_code == 200
    finally:
        for process, _, output in running:
            if process.poll() is None:
                stop(process, output)
