"""The JSON API through an HTTP client against a real ``triage serve`` on 127.0.0.1: the same
decision as the library, the worklist's order and counts, reviews, the contract, the OpenAPI
description, and errors as JSON objects listing every problem. On an SQLite log, then on a
PostgreSQL one."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import triage
from tests.support.helpers import report
from tests.support.web_support import Server, on_either_backend, start, stop
from triage.log import TriageLog
from triage.log.location import shown_location

URGENCY_ORDER = ["emergency", "urgent", "same_day", "routine", "reduce_load"]


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The server on an SQLite log, then on a PostgreSQL one."""
    yield from on_either_backend(request, tmp_path_factory)


def test_a_check_gives_the_decision_the_library_gives_and_is_logged(server: Server) -> None:
    answers = report(patient_id="pt-api", snap_or_tear=True, pain_during=4, pain_now=3,
                     pain_region="thigh", pain_site="muscle")  # fmt: skip
    with server.api() as api:
        response = api.post("/check", json=answers)
    assert response.status_code == 200, response.text
    data = response.json()
    expected = triage.evaluate(answers)
    assert (data["outcome"], data["urgency"]) == (expected.outcome, expected.urgency)
    assert [r["rule"] for r in data["reasons"]] == [r.rule for r in expected.reasons]
    assert data["logged"] is True
    with TriageLog(server.db, create=False) as log:
        assert log.entry(data["log_entry"]).patient_id == "pt-api"


def test_a_bad_report_is_one_json_object_listing_every_problem(server: Server) -> None:
    bad = report(chest_pian="ongoing", pain_now=11)
    del bad["fainting"]
    with server.api() as api:
        response = api.post("/check", json=bad)
    assert response.status_code == 422
    data = response.json()
    assert data["error"] == "report"
    fields = {p.get("field") for p in data["problems"]}
    assert {"chest_pian", "pain_now", "fainting"} <= fields
    suggestion = next(p for p in data["problems"] if p.get("field") == "chest_pian")
    assert "chest_pain" in suggestion.get("fix", "") + suggestion["message"]


def test_a_body_that_is_not_json_is_refused_as_the_cli_refuses_it(server: Server) -> None:
    with server.api() as api:
        response = api.post("/check", content=b'{"patient_id": "a", "patient_id": "b"}')
    assert response.status_code == 400
    assert response.json()["error"] == "input" and response.json()["problems"]


def test_the_worklist_is_most_urgent_first_with_counts_over_the_whole_log(server: Server) -> None:
    with server.api() as api:
        page = api.get("/entries").json()
        small = api.get("/entries", params={"limit": 1}).json()
    levels = [e["urgency"] or e["outcome"] for e in page["entries"]]
    ranked = sorted(levels, key=URGENCY_ORDER.index)
    assert levels == ranked and levels[0] == "emergency"
    assert "continue" not in levels
    assert page["order"] == "urgency"
    assert small["counts"] == page["counts"] and small["needs_action"] == page["needs_action"]
    assert len(small["entries"]) == 1 and small["next"] is not None
    assert page["counts"]["emergency"] >= 1 and page["counts"]["urgent"] >= 1


def test_entries_filter_by_patient_outcome_urgency_review_and_date(server: Server) -> None:
    with server.api() as api:
        by_patient = api.get("/entries", params={"patient": "pt-snap"}).json()
        by_level = api.get(
            "/entries", params={"outcome": "seek_medical_review", "urgency": "routine"}
        ).json()
        everything = api.get("/entries", params={"reviewed": "any", "limit": 500}).json()
        recent = api.get("/entries", params={"reviewed": "any", "since": "2000-01-01"}).json()
        none = api.get("/entries", params={"reviewed": "any", "until": "2000-01-01"}).json()
    assert {e["patient_id"] for e in by_patient["entries"]} == {"pt-snap"}
    assert {e["urgency"] for e in by_level["entries"]} == {"routine"}
    assert everything["order"] == "newest"
    assert any(e["outcome"] == "continue" for e in everything["entries"])
    assert recent["matched"] == everything["matched"] and none["matched"] == 0


def test_bad_filters_are_listed_together(server: Server) -> None:
    with server.api() as api:
        response = api.get("/entries", params={"urgency": "soon", "limit": "lots", "colour": "red"})
    assert response.status_code == 400
    fields = {p["field"] for p in response.json()["problems"]}
    assert fields == {"urgency", "limit", "colour"}


def test_one_entry_and_a_review_through_the_api(server: Server) -> None:
    entry_id = server.ids["routine"]
    with server.api() as api:
        before = api.get(f"/entries/{entry_id}").json()
        incomplete = api.post(f"/entries/{entry_id}/reviews", json={"verdict": "overridden"})
        done = api.post(
            f"/entries/{entry_id}/reviews",
            json={
                "verdict": "overridden",
                "reason": "less_urgent",
                "note": "Seen: a known hernia.",
                "by": "Dr B. Ng",
            },
        )
        after = api.get(f"/entries/{entry_id}").json()
        missing = api.get("/entries/999999")
    assert before["reviews"] == [] and before["decision"]["reasons"]
    assert incomplete.status_code == 422
    assert {p["field"] for p in incomplete.json()["problems"]} == {"reason", "note"}
    assert done.status_code == 201, done.text
    assert done.json()["reviewer"] == "Dr B. Ng via test-suite"
    assert after["reviews"][0]["reason"] == "less_urgent"
    assert missing.status_code == 404 and missing.json()["error"] == "storage"


def test_a_contact_through_the_api_follows_the_one_rule(server: Server) -> None:
    entry_id = server.ids["urgent"]
    with server.api() as api:
        incomplete = api.post(f"/entries/{entry_id}/contacts", json={"outcome": "other"})
        unknown = api.post(f"/entries/{entry_id}/contacts", json={"outcome": "x", "when": 1})
        done = api.post(
            f"/entries/{entry_id}/contacts",
            json={"outcome": "no_answer", "note": "Rang twice.", "by": "Dr B. Ng"},
        )
        after = api.get(f"/entries/{entry_id}").json()
    assert incomplete.status_code == 422 and incomplete.json()["error"] == "contact"
    assert [p["field"] for p in incomplete.json()["problems"]] == ["note"]
    assert unknown.status_code == 422
    assert [p.get("field") for p in unknown.json()["problems"]] == ["when"]
    assert done.status_code == 201, done.text
    assert (done.json()["by"], done.json()["outcome"]) == ("Dr B. Ng via test-suite", "no_answer")
    assert after["contacts"] == [done.json()] and after["reviews"] == []


def _where_the_log_is(db: Path | str) -> list[str]:
    """The log's path and folder, or its database URL (with and without its password)."""
    if isinstance(db, Path):
        return [str(db), str(db.resolve()), str(db.parent), str(db.resolve().parent)]
    return [db, shown_location(db)]


def test_no_answer_or_page_shows_where_the_log_is(server: Server) -> None:
    """The log's path or URL is the operator's (the CLI shows it): a 404 for a missing check,
    over the API and on the pages, names the check, never the file, its folder or the URL."""
    with server.api() as api:
        answers = [
            api.get("/entries/999999"),
            api.post("/entries/999999/reviews", json={"verdict": "accepted"}),
        ]
    with server.client() as browser:
        server.sign_in(browser)
        answers += [browser.get("/checks/999999"), browser.get("/patients/pt-nobody")]
    places = _where_the_log_is(server.db)
    for response in answers:
        assert response.status_code == 404, response.text
        assert [p for p in places if p in response.text] == [], response.text
    assert answers[0].json()["message"] == "there is no entry 999999 in the triage log"
    assert "path" not in answers[0].json()
    assert "there is no entry 999999 in the triage log" in answers[2].text


def test_a_log_that_fails_is_not_named_in_the_answer_but_in_the_servers_output(
    tmp_path: Path,
) -> None:
    """A log that cannot be written gives a decision not logged, and one that cannot be read
    a 503 (JSON, a FHIR OperationOutcome): neither names the log's path; the server's output
    does, for the operator."""
    db = tmp_path / "triage.db"
    with TriageLog(db) as log:
        _, token = log.access.add_token("test-suite")
    process, url, output = start(db)
    try:
        headers = {"Authorization": f"Bearer {token}"}
        with sqlite3.connect(db) as conn:  # a check cannot be recorded: answered, not logged
            conn.execute("DROP TABLE worklist_tally")
        unlogged = httpx.post(f"{url}/api/v1/check", json=report(), headers=headers, timeout=30)
        with sqlite3.connect(db) as conn:  # the patients' records are gone: no decision
            conn.execute("DROP TABLE patients")
        answers = [
            httpx.post(f"{url}/api/v1/check{query}", json=report(), headers=headers, timeout=30)
            for query in ("", "?format=fhir")
        ]
        with sqlite3.connect(db) as conn:  # nor can the API tokens be read
            conn.execute("DROP TABLE api_tokens")
        answers.append(httpx.get(f"{url}/fhir/Questionnaire", headers=headers, timeout=30))
    finally:
        text = stop(process, output)
    assert unlogged.status_code == 200 and unlogged.json()["logged"] is False, unlogged.text
    assert unlogged.json()["not_logged"].startswith("the triage log could not be used: ")
    assert [p for p in _where_the_log_is(db) if p in unlogged.text] == [], unlogged.text
    for response in answers:
        assert response.status_code == 503, response.text
        assert [p for p in _where_the_log_is(db) if p in response.text] == [], response.text
    assert answers[0].json()["error"] == "unavailable"
    assert answers[0].headers["retry-after"]
    for fhir in answers[1:]:
        assert fhir.headers["content-type"] == "application/fhir+json"
        assert fhir.json()["resourceType"] == "OperationOutcome"
        assert "the triage log" in fhir.text
    assert str(db) in text


def test_the_schema_questions_and_openapi_description(server: Server) -> None:
    with server.api() as api:
        schema = api.get("/schema").json()
        questions = api.get("/questions").json()
        described = api.get("/openapi.json").json()
    assert schema == json.loads(json.dumps(triage.json_schema()))
    assert questions["steps"]
    assert described["openapi"].startswith("3.")
    assert set(described["paths"]) == {
        "/check", "/entries", "/entries/{entry_id}", "/entries/{entry_id}/reviews",
        "/entries/{entry_id}/contacts", "/schema",
        "/questions", "/openapi.json",
    }  # fmt: skip
    assert described["components"]["schemas"]["Report"] == schema


def test_cors_is_off_unless_configured(server: Server) -> None:
    with server.api() as api:
        response = api.options(
            "/entries",
            headers={"Origin": "https://elsewhere.example", "Access-Control-Request-Method": "GET"},
        )
        plain = api.get("/entries", headers={"Origin": "https://elsewhere.example"})
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-origin" not in plain.headers


def test_serve_says_where_it_listens_and_refuses_a_port_in_use(server: Server) -> None:
    import subprocess
    import sys

    from tests.support.helpers import ROOT

    assert server.output[0].startswith("triage serve: listening on http://127.0.0.1:")
    port = server.url.rsplit(":", 1)[1]
    taken = subprocess.run(
        [sys.executable, "-m", "triage_cli.cli", "serve", "--port", port, "--db", str(server.db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert taken.returncode == 1
    assert f"cannot listen on 127.0.0.1:{port}" in taken.stderr and "--port" in taken.stderr
