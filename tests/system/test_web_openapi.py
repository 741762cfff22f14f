"""The JSON API against its own OpenAPI description (``GET /api/v1/openapi.json``), fuzzed by
schemathesis against a real ``triage serve`` on 127.0.0.1: every operation, with valid and
invalid requests (its coverage phase, then up to ``EXAMPLES`` random ones per operation, then
sequences of calls). No answer is a server error, every answer is one the description states
(status, content type, headers, schema), every invalid request is refused, and a method a
path does not allow is a 405 with ``Allow``.

Not checked: that every request the schema allows is accepted ("positive_data_acceptance").
The description cannot say all that the API refuses, with a documented 400 or 422: a day not
in the calendar, a name that is not a clinician's, answers that the report contract refuses
across fields, an Idempotency-Key sent again with other answers.

schemathesis runs as its command (``schemathesis run``): its pytest integration needs the
schema when tests are collected, before the server is started, and its lazy form does not
run under pytest 9."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.web_support import Server
from triage.web.openapi import WHEN_PATTERN, openapi

EXAMPLES = 30
"""Random requests per operation in the fuzzing phase (the coverage phase adds its own)."""
SEED = 21


def test_every_path_is_described_and_dates_are_as_the_api_reads_them(server: Server) -> None:
    with server.api() as api:
        served = api.get("/openapi.json").json()
    assert served == json.loads(json.dumps(openapi()))
    assert set(served["paths"]) == {
        "/check", "/entries", "/entries/{entry_id}", "/entries/{entry_id}/reviews",
        "/entries/{entry_id}/contacts", "/schema",
        "/questions", "/openapi.json",
    }  # fmt: skip
    for good in ("2026-11-21", "2026-11-21T14:30:00+01:00", "2026-11-21T14:30:00.5Z"):
        assert re.search(WHEN_PATTERN, good), good
    for bad in ("", "2026-11-21T14:30:00", "21/11/2026", "20261121", "2026-11-21 14:30Z"):
        assert not re.search(WHEN_PATTERN, bad), bad


@pytest.mark.parametrize(
    ("query", "status"),
    [("since=", 400), ("until=2026-11-21T14:30:00", 400), ("since=2026-02-30", 400),
     ("since=2026-11-21&until=2026-11-22T00:00:00Z", 200), ("offset=1000000001", 400)],
)  # fmt: skip
def test_the_api_reads_dates_and_offsets_as_described(
    server: Server, query: str, status: int
) -> None:
    with server.api() as api:
        response = api.get(f"/entries?{query}")
    assert response.status_code == status, response.text


def test_a_review_that_contradicts_itself_is_refused_as_described(server: Server) -> None:
    entry = f"/entries/{server.ids['routine']}/reviews"
    with server.api() as api:
        with_reason = api.post(entry, json={"verdict": "accepted", "reason": "other"})
        empty_reason = api.post(entry, json={"verdict": "overridden", "reason": "", "note": "x"})
        no_name = api.post(entry, json={"verdict": "accepted", "by": "?"})
        not_json = api.post(entry, content=b"{")
    assert with_reason.status_code == 422 and empty_reason.status_code == 422
    assert no_name.status_code == 400 and not_json.status_code == 400
    described = openapi()["paths"]["/entries/{entry_id}/reviews"]["post"]["responses"]
    assert {"400", "422"} <= set(described)
    accepted, overridden = openapi()["components"]["schemas"]["ReviewRequest"]["oneOf"]
    assert accepted["properties"]["reason"] == {**accepted["properties"]["reason"], "const": ""}
    assert "" not in overridden["properties"]["reason"]["enum"]


def test_a_method_a_path_does_not_allow_is_405_with_allow(server: Server) -> None:
    with server.api() as api:
        answers = [api.request("TRACE", "/check"), api.delete("/entries/1"), api.put("/schema")]
    assert [r.status_code for r in answers] == [405, 405, 405]
    allowed = [set(r.headers.get("allow", "").split(", ")) for r in answers]
    assert allowed == [{"POST"}, {"GET", "HEAD"}, {"GET", "HEAD"}]


def test_fhir_errors_are_described_as_operation_outcomes(server: Server) -> None:
    with server.api() as api:
        response = api.post("/check?format=fhir", content=b"{")
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/fhir+json"
    content = openapi()["paths"]["/check"]["post"]["responses"]["400"]["content"]
    assert set(content) == {"application/json", "application/fhir+json"}
    assert response.json()["resourceType"] == "OperationOutcome"


@pytest.mark.slow  # about 25 s (7 operations, 650 requests), on its own server
def test_schemathesis_finds_every_answer_as_described(tmp_path: Path) -> None:
    from tests.support.web_support import running

    for served in running(tmp_path / "triage.db"):
        described = tmp_path / "openapi.json"
        headers = {"Authorization": f"Bearer {served.token}"}
        described.write_bytes(
            httpx.get(f"{served.url}/api/v1/openapi.json", headers=headers, timeout=30).content
        )  # a file, not its URL: schemathesis would leave out the operation that serves it
        run = subprocess.run(
            [sys.executable, "-m", "schemathesis.cli", "run", str(described),
             "--url", f"{served.url}/api/v1", "-H", f"Authorization: Bearer {served.token}",
             "--checks", "all", "--exclude-checks", "positive_data_acceptance",
             "--max-examples", str(EXAMPLES), "--seed", str(SEED), "--workers", "1",
             "--suppress-health-check", "all", "--request-timeout", "60",
             "--generation-database", "none", "--no-color", "--report", "json,ndjson",
             "--report-json-path", str(tmp_path / "run.json"),
             "--report-ndjson-path", str(tmp_path / "run.ndjson")],
            capture_output=True, text=True, timeout=600, cwd=tmp_path,
        )  # fmt: skip
    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    summary = json.loads((tmp_path / "run.json").read_text())
    assert summary["failures"] == [] and summary["errors"] == []
    assert summary["operations"]["tested"] == 8, summary["operations"]
    sent = _requests_per_operation(tmp_path / "run.ndjson")
    print(f"schemathesis: {summary['test_cases']['generated']} requests, by operation: {sent}")
    assert len(sent) == 8, sent
    for operation in ("POST /check", "GET /entries", "POST /entries/{entry_id}/reviews"):
        assert sent[operation] >= 2 * EXAMPLES, sent


def _requests_per_operation(events: Path) -> dict[str, int]:
    """The requests of the coverage and fuzzing phases, by operation (the stateful phase
    mixes them)."""
    sent: dict[str, int] = {}
    for line in events.read_text().splitlines():
        finished = json.loads(line).get("ScenarioFinished")
        if finished and finished["phase"] in ("coverage", "fuzzing"):
            label = finished["recorder"]["label"]
            sent[label] = sent.get(label, 0) + len(finished["recorder"].get("cases", {}))
    return sent
