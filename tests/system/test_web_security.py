"""Access control of ``triage serve``, against a real server: nothing is readable without a
credential, forged forms are refused, people's text is shown inert, revoked tokens and disabled
accounts stop working, failed sign-ins are limited, and secrets are stored only as hashes."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import httpx
import pytest
from starlette.routing import Mount, Route

import triage
from tests.support.cli_runs import run
from tests.support.helpers import report
from tests.support.web_support import NAME, PASSWORD, Server, csrf_of, start, stop
from triage.log import TriageLog
from triage.web import create_app

PUBLIC = {"/login", "/static"}
"""The sign-in page, and the stylesheet and script (which hold no data)."""


def every_route() -> list[tuple[str, str]]:
    """(method, path) of every route of the application, with example path parameters."""
    app = create_app(":memory:")
    found = []

    def walk(routes: list[Route | Mount], prefix: str) -> None:
        for route in routes:
            if isinstance(route, Mount):
                if route.path not in PUBLIC:
                    walk(route.routes, prefix + route.path)  # type: ignore[arg-type]
                continue
            path = prefix + route.path
            if path in PUBLIC:
                continue
            path = path.replace("{entry_id:int}", "1").replace("{patient_id}", "pt-chest")
            path = path.replace("Questionnaire/{id}", "Questionnaire/post-session-check")
            path = path.replace("{id}", "pain-region").replace(
                "{service_id}", "triage-patient-view"
            )
            found.extend((m, path) for m in sorted(route.methods or ()) if m != "HEAD")

    walk(app.routes, "")  # type: ignore[arg-type]
    return found


ROUTES = every_route()


def test_every_route_is_listed() -> None:
    paths = {path for _, path in ROUTES}
    assert {"/", "/checks/1", "/patients/pt-chest", "/api/v1/check", "/api/v1/entries"} <= paths
    assert {"/fhir/Questionnaire", "/cds-services",
            "/cds-services/triage-patient-view/feedback"} <= paths  # fmt: skip
    assert len(ROUTES) >= 12


@pytest.mark.parametrize(("method", "path"), ROUTES, ids=[f"{m} {p}" for m, p in ROUTES])
def test_without_a_credential_nothing_is_readable(server: Server, method: str, path: str) -> None:
    with server.client() as client:
        response = client.request(method, path, json={} if method == "POST" else None)
    if path.startswith(("/api/", "/cds-services")):  # an API token; the EHR's signed JWT
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert set(response.json()) >= {"error", "message", "problems"}
    elif path.startswith("/fhir/"):
        assert response.status_code == 401
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["resourceType"] == "OperationOutcome"
    elif path.startswith(
        "/p/"
    ):  # a patient's link: "{token}" is none (tests/system/test_patient_phone.py)
        assert response.status_code == 404
    else:
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login?next=")
    assert "pt-chest" not in response.text and "Chest pain" not in response.text


@pytest.mark.parametrize(
    "header",
    ["Bearer trg_not-a-token", "Bearer", "Basic dXNlcjpwYXNz", "trg_no-scheme"],
    ids=["unknown", "empty", "basic", "no-scheme"],
)
def test_the_api_refuses_anything_but_a_valid_token(server: Server, header: str) -> None:
    with server.client() as client:
        response = client.get("/api/v1/entries", headers={"Authorization": header})
    assert response.status_code == 401


def test_a_clinicians_session_does_not_open_the_api(server: Server) -> None:
    with server.client() as client:
        server.sign_in(client)
        assert client.get("/").status_code == 200
        assert client.get("/api/v1/entries").status_code == 401


def test_a_revoked_token_is_refused(server: Server) -> None:
    with TriageLog(server.db) as log:
        made, secret = log.access.add_token("short-lived")
    with server.api(secret) as api:
        assert api.get("/entries").status_code == 200
        result = run("token", "revoke", str(made.id), "--db", str(server.db))
        assert result.exit_code == 0 and "revoked" in result.stdout
        refused = api.get("/entries")
    assert refused.status_code == 401


@pytest.mark.parametrize(
    "forge",
    ["no-token", "wrong-token", "other-session", "other-origin"],
)
def test_a_forged_form_post_is_refused_and_records_nothing(server: Server, forge: str) -> None:
    entry_id = server.ids["reduce_load"]
    with server.client() as client, server.client() as other:
        server.sign_in(client)
        page = client.get(f"/checks/{entry_id}")
        token = csrf_of(page.text)
        headers = {}
        form = {"verdict": "accepted", "note": "forged", "csrf_token": token}
        if forge == "no-token":
            del form["csrf_token"]
        elif forge == "wrong-token":
            form["csrf_token"] = token[::-1]
        elif forge == "other-session":
            server.sign_in(other)
            form["csrf_token"] = csrf_of(other.get("/").text)
        else:
            headers["Origin"] = "https://attacker.example"
        response = client.post(f"/checks/{entry_id}/review", data=form, headers=headers)
    assert response.status_code == 403
    with TriageLog(server.db, create=False) as log:
        assert all(r.note != "forged" for r in log.entry(entry_id).reviews)


def test_notes_are_shown_inert_on_every_page(server: Server) -> None:
    entry_id = server.ids["urgent"]
    hostile = "<script>alert('note')</script><img src=x onerror=alert(1)>"
    with server.api() as api:
        made = api.post(
            f"/entries/{entry_id}/reviews",
            json={"verdict": "accepted", "note": hostile},
        )
        assert made.status_code == 201
    with server.client() as client:
        server.sign_in(client)
        pages = [client.get(f"/checks/{entry_id}").text, client.get("/patients/pt-shoulder").text]
    for html in pages:
        assert hostile not in html and "<script>alert" not in html
        assert "&lt;script&gt;alert(&#39;note&#39;)&lt;/script&gt;" in html


def test_the_patient_page_shows_the_record_its_age_and_its_note_inert(server: Server) -> None:
    hostile = "<script>alert('record')</script>"
    with TriageLog(server.db, create=False) as log:
        log.set_patient(
            "pt-0042", profile="older_adult", age=72, conditions=["osteoporosis"], by="Dr Ada",
            note=hostile,
        )  # fmt: skip
        log.set_patient("pt-0042", age=None, by="Dr <b>Bo</b>")
    with server.client() as client:
        server.sign_in(client)
        html = client.get("/patients/pt-0042").text
    found = re.search(r'<section class="record" id="record">(.*?)</section>', html, re.S)
    assert found is not None
    record = " ".join(found.group(1).split())
    assert record.startswith(
        '<h2>Patient record</h2> <p id="record-current">Profile: <strong>older_adult</strong>; '
        "age: <strong>none</strong>; conditions: "
        '<strong>osteoporosis</strong> <span class="muted">(set by Dr &lt;b&gt;Bo&lt;/b&gt;,'
    )
    timeline = " ".join(html.split())
    assert (
        "Record set by Dr Ada: profile older_adult, age 72, conditions osteoporosis "
        "(&lt;script&gt;alert(&#39;record&#39;)&lt;/script&gt;)"
    ) in timeline
    assert "profile older_adult, age none, conditions osteoporosis</li>" in timeline
    assert hostile not in html and "<b>Bo</b>" not in html


def test_a_hostile_patient_id_in_a_url_is_shown_inert(server: Server) -> None:
    with server.client() as client:
        server.sign_in(client)
        response = client.get("/patients/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert response.status_code == 404
    assert "<script>alert(1)" not in response.text


def test_a_hostile_patient_id_in_the_log_is_shown_inert(tmp_path: Path) -> None:
    """A log edited behind triage's back (verify would say so) still cannot run script in the
    clinician's browser: every page escapes what the log holds."""
    db = tmp_path / "log.db"
    with TriageLog(db) as log:
        triage.check(report(patient_id="pt-x", groin_lump=True), log=log)
        log.access.add_clinician(NAME, PASSWORD)
    hostile = "<script>alert(1)</script>"
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE entries SET patient_id = ?, top_reason = ?", (hostile, hostile))
        conn.execute("UPDATE worklist SET patient_id = ?", (hostile,))
    process, url, output = start(db)
    try:
        with httpx.Client(base_url=url) as client:
            page = client.get("/login")
            form = {"csrf_token": csrf_of(page.text), "name": NAME, "password": PASSWORD}
            client.post("/login", data=form)
            pages = [client.get("/").text, client.get("/checks/1").text]
    finally:
        stop(process, output)
    for html in pages:
        assert hostile not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_failed_sign_ins_are_limited(server: Server) -> None:
    with TriageLog(server.db) as log:
        log.access.add_clinician("Dr Lock", PASSWORD)
    with server.client() as client:
        statuses = []
        for _ in range(6):
            page = client.get("/login")
            response = client.post(
                "/login",
                data={
                    "csrf_token": csrf_of(page.text),
                    "name": "Dr Lock",
                    "password": "guess-1234",
                },
            )
            statuses.append(response.status_code)
        page = client.get("/login")
        right = client.post(
            "/login",
            data={"csrf_token": csrf_of(page.text), "name": "Dr Lock", "password": PASSWORD},
        )
    assert statuses == [401] * 5 + [429]
    assert right.status_code == 429 and "Too many failed sign-ins" in right.text


def test_a_disabled_account_is_signed_out_at_its_next_page(server: Server) -> None:
    with TriageLog(server.db) as log:
        log.access.add_clinician("Dr Gone", PASSWORD)
    with server.client() as client:
        server.sign_in(client, "Dr Gone", PASSWORD)
        assert client.get("/").status_code == 200
        assert run("user", "disable", "Dr Gone", "--db", str(server.db)).exit_code == 0
        assert client.get("/").status_code == 303


def test_the_session_cookie_is_signed_httponly_and_samesite(server: Server) -> None:
    with server.client() as client:
        page = client.get("/login")
        cookie = page.headers["set-cookie"]
        response = client.post(
            "/login",
            data={"csrf_token": csrf_of(page.text), "name": NAME, "password": PASSWORD},
        )
        signed = response.headers["set-cookie"]
        value = re.search(r"triage_session=([^;]+)", signed)
    assert value is not None
    for header in (cookie, signed):
        assert "httponly" in header.lower() and "samesite=lax" in header.lower()
    forged = value.group(1)[:-4] + "AAAA"  # a changed signature
    with httpx.Client(base_url=server.url, cookies={"triage_session": forged}) as forger:
        assert forger.get("/").status_code == 303


def test_every_response_carries_the_security_headers(server: Server) -> None:
    with server.client() as client:
        response = client.get("/login")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["server-timing"].startswith("app;dur=")


def test_passwords_and_tokens_are_stored_only_as_hashes(server: Server) -> None:
    with sqlite3.connect(server.db) as conn:
        hashes = [row[0] for row in conn.execute("SELECT password_hash FROM clinicians")]
        tokens = [row[0] for row in conn.execute("SELECT token_hash FROM api_tokens")]
        dump = "\n".join(conn.iterdump())
    assert hashes and all(h.startswith("$argon2id$") for h in hashes)
    assert tokens and all(re.fullmatch(r"[0-9a-f]{64}", t) for t in tokens)
    assert PASSWORD not in dump and server.token not in dump
