"""The patient page's "Make a link for this patient" button (issue 27, part 1) on a real
``triage serve``, over an SQLite log and a PostgreSQL one: a link made under the signed-in
clinician's name, shown once with its QR code inline (segno's SVG of that URL), never cached;
the CSRF token and a session required; an unknown patient refused."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.support.web_support import NAME, Server, csrf_of, on_either_backend
from triage.log import TriageLog
from triage.log.links import qr_inline


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    yield from on_either_backend(request, tmp_path_factory)


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as signed:
        server.sign_in(signed)
        yield signed


def press(client: httpx.Client, patient: str) -> httpx.Response:
    page = client.get(f"/patients/{patient}")
    assert page.status_code == 200, page.text
    assert 'action="/patients/' + patient + '/link"' in page.text
    assert "Make a link for this patient" in page.text
    assert 'id="made-link"' not in page.text  # no link shown until one is made
    return client.post(f"/patients/{patient}/link", data={"csrf_token": csrf_of(page.text)})


def test_the_button_makes_a_link_shown_once_with_its_qr_code(
    server: Server, client: httpx.Client
) -> None:
    made = press(client, "pt-0042")
    assert made.status_code == 200, made.text
    assert "no-store" in made.headers["cache-control"]
    found = re.search(r'id="link-url" readonly value="([^"]+)"', made.text)
    assert found
    url = html.unescape(found.group(1))
    assert url.startswith(f"{server.url}/p/")  # the address the page was asked at
    token = url.rsplit("/", 1)[1]
    assert qr_inline(url) in made.text  # segno's SVG of that very URL, inline
    assert f"made by {NAME}</strong>" in made.text
    with TriageLog(server.db) as log:
        link = log.links.for_token(token)
    assert link is not None and (link.patient, link.created_by) == ("pt-0042", NAME)
    assert f"Link {link.prefix} made by" in made.text
    again = client.get("/patients/pt-0042")
    assert token not in again.text and 'id="made-link"' not in again.text  # shown once


def test_the_button_needs_this_sessions_csrf_token_and_a_session(
    server: Server, client: httpx.Client
) -> None:
    with TriageLog(server.db) as log:
        before = len(log.links.links("pt-0042"))
    for data in ({}, {"csrf_token": "forged"}):
        assert client.post("/patients/pt-0042/link", data=data).status_code == 403
    with server.client() as anonymous:
        page = anonymous.post("/patients/pt-0042/link", data={"csrf_token": "x"})
        assert page.status_code == 303 and page.headers["location"].startswith("/login")
    with TriageLog(server.db) as log:
        assert len(log.links.links("pt-0042")) == before


def test_no_link_for_a_patient_the_log_does_not_know(server: Server, client: httpx.Client) -> None:
    page = client.get("/patients/pt-0042")
    refused = client.post("/patients/pt-nobody/link", data={"csrf_token": csrf_of(page.text)})
    assert refused.status_code == 404
    assert "pt-nobody" in refused.text and "/p/" not in refused.text
    with TriageLog(server.db) as log:
        assert log.links.links("pt-nobody") == []
