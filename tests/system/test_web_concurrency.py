"""Four applications post checks through the API while a clinician reviews in the web pages, all
against one real server: every check is recorded once, every review lands, and the log's chain
and worklist verify afterwards. On an SQLite log, then on a PostgreSQL one (whose pool of
connections the server's threads share)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator

import pytest

from tests.support.helpers import report
from tests.support.web_support import LEVEL_REPORTS, Server, csrf_of, on_either_backend
from triage.log import Filters, TriageLog

pytestmark = pytest.mark.slow

CLIENTS, CHECKS_EACH = 4, 25


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The server on an SQLite log, then on a PostgreSQL one."""
    yield from on_either_backend(request, tmp_path_factory)


def test_four_clients_post_checks_while_a_clinician_reviews(server: Server) -> None:
    with TriageLog(server.db, create=False) as log:
        before = log.count()
    kinds = list(LEVEL_REPORTS.values())
    logged: list[int] = []
    failures: list[str] = []
    posting = threading.Event()
    posting.set()
    lock = threading.Lock()

    def post_checks(client_number: int) -> None:
        with server.api() as api:
            for n in range(CHECKS_EACH):
                changes = kinds[(client_number + n) % len(kinds)]
                answers = report(**{**changes, "patient_id": f"pt-c{client_number}-{n % 5}"})
                response = api.post("/check", json=answers)
                with lock:
                    if response.status_code != 200 or not response.json().get("logged"):
                        failures.append(response.text)
                    else:
                        logged.append(response.json()["log_entry"])

    reviewed: list[int] = []

    def review() -> None:
        deadline = time.monotonic() + 600  # generous: a busy machine is slow, not wrong
        with server.client() as client:
            server.sign_in(client)
            while time.monotonic() < deadline:
                page = client.get("/", params={"patient": ""}).text
                ids = [int(i) for i in re.findall(r'data-entry-id="(\d+)"', page)]
                ids = [i for i in ids if i not in reviewed]
                if not ids:
                    if not posting.is_set():
                        return
                    time.sleep(0.05)
                    continue
                check = client.get(f"/checks/{ids[0]}")
                done = client.post(
                    f"/checks/{ids[0]}/review",
                    data={"csrf_token": csrf_of(check.text), "verdict": "accepted"},
                )
                if done.status_code != 303:
                    failures.append(f"review {ids[0]}: {done.status_code} {done.text[:200]}")
                    return
                reviewed.append(ids[0])

    posters = [threading.Thread(target=post_checks, args=(n,)) for n in range(CLIENTS)]
    reviewer = threading.Thread(target=review)
    reviewer.start()
    for thread in posters:
        thread.start()
    for thread in posters:
        thread.join(timeout=300)
    posting.clear()
    reviewer.join(timeout=300)

    assert not failures, failures[:3]
    assert len(logged) == CLIENTS * CHECKS_EACH == len(set(logged))
    assert reviewed, "the clinician reviewed nothing while the checks came in"
    with TriageLog(server.db, create=False) as log:
        assert log.count() == before + CLIENTS * CHECKS_EACH
        for entry_id in reviewed:
            assert [r.verdict for r in log.entry(entry_id).reviews] == ["accepted"]
        assert log.worklist().needs_action == 0  # the clinician cleared the worklist
        assert log.count(Filters(reviewed=True)) >= len(reviewed)
        result = log.verify()
    assert result.ok, (result.integrity, result.first_bad)
    assert result.reviews >= len(reviewed)
