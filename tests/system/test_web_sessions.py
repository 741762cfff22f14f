"""A session cookie saved before a password change, a sign-out or a disabled account opens
nothing afterwards, on a real ``triage serve`` over an SQLite log and a PostgreSQL one: every
page redirects to the sign-in page, and a review posted with the old cookie and its CSRF token
records nothing."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from click.testing import CliRunner

from tests.support.web_support import PASSWORD, Server, csrf_of, on_either_backend
from triage.log import TriageLog
from triage_cli.cli import main

COOKIE = "triage_session"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """The server on an SQLite log, then on a PostgreSQL one."""
    yield from on_either_backend(request, tmp_path_factory)


def signed_in(server: Server, name: str) -> tuple[httpx.Client, str]:
    """A client signed in as ``name``, and the CSRF token of its session's forms."""
    client = server.client()
    server.sign_in(client, name, PASSWORD)
    page = client.get(f"/checks/{server.ids['reduce_load']}")
    assert page.status_code == 200, page.text
    return client, csrf_of(page.text)


def replayed(server: Server, cookie: str) -> httpx.Client:
    """A client that sends a copy of a saved cookie, as an attacker who kept it would."""
    return httpx.Client(base_url=server.url, cookies={COOKIE: cookie}, timeout=30)


def opens_nothing(server: Server, cookie: str, csrf: str, entry: int) -> None:
    """Every page sends the cookie to the sign-in page; a review posted with it is refused."""
    with replayed(server, cookie) as client:
        for path in ("/", f"/checks/{entry}", "/patients/pt-0042"):
            response = client.get(path)
            assert response.status_code == 303, (path, response.text)
            assert response.headers["location"].startswith("/login?next="), path
        review = client.post(
            f"/checks/{entry}/review", data={"csrf_token": csrf, "verdict": "accepted"}
        )
        assert review.status_code == 303 and review.headers["location"].startswith("/login")
    with TriageLog(server.db) as log:
        assert log.entry(entry).reviews == ()


def cli(*args: str, password: str | None = None) -> None:
    result = CliRunner().invoke(main, list(args), input=password, prog_name="triage")
    assert result.exit_code == 0, result.output


def add_account(server: Server, name: str) -> None:
    with TriageLog(server.db) as log:
        log.access.add_clinician(name, PASSWORD)


def test_a_cookie_saved_before_a_password_change_opens_nothing(server: Server) -> None:
    add_account(server, "Dr Pat")
    first, csrf = signed_in(server, "Dr Pat")
    second, _ = signed_in(server, "Dr Pat")  # another browser: every session ends
    saved = first.cookies[COOKIE]
    new_password = "an entirely new password"
    cli("user", "password", "Dr Pat", "--password-stdin", "--db", str(server.db),
        password=f"{new_password}\n")  # fmt: skip
    opens_nothing(server, saved, csrf, server.ids["same_day"])
    for client in (first, second):
        assert client.get("/").status_code == 303
        client.close()
    with server.client() as fresh:  # the new password signs in
        server.sign_in(fresh, "Dr Pat", new_password)
        assert fresh.get("/").status_code == 200


def test_a_cookie_replayed_after_sign_out_opens_nothing(server: Server) -> None:
    add_account(server, "Dr Out")
    client, csrf = signed_in(server, "Dr Out")
    other, _ = signed_in(server, "Dr Out")  # the same account in another browser
    saved = client.cookies[COOKIE]
    response = client.post("/logout", data={"csrf_token": csrf})
    assert response.status_code == 303 and response.headers["location"] == "/login"
    opens_nothing(server, saved, csrf, server.ids["routine"])
    assert other.get("/").status_code == 200  # signing out ends this session only
    client.close()
    other.close()


def test_a_cookie_saved_before_the_account_was_disabled_opens_nothing(server: Server) -> None:
    add_account(server, "Dr Off")
    client, csrf = signed_in(server, "Dr Off")
    saved = client.cookies[COOKIE]
    cli("user", "disable", "Dr Off", "--db", str(server.db))
    opens_nothing(server, saved, csrf, server.ids["urgent"])
    with TriageLog(server.db) as log:  # its sessions were ended, not only refused
        assert log._store.find_rows("web_sessions", "clinician", "Dr Off") == []
    client.close()
