"""Bounded work per request, against a real ``triage serve`` over real sockets: forwarded
addresses are trusted only from a named proxy, a request body is refused (413) as soon as it
passes 2 MB however it is sent, slow, stalled and idle connections are closed, a connection
beyond the limit is answered 503, and a client that leaves mid-body is one log line.

Timeouts are set short (2 s) and every effect is awaited for up to ``WAIT`` seconds, so that a
busy machine makes a test slower, never wrong."""

from __future__ import annotations

import json
import select
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import ec

import cli
from tests.support.ehr import ISSUER, Ehr, jwks_file
from tests.support.web_support import NAME, PASSWORD, csrf_of, seed, start
from triage.log import TriageLog
from triage.web import limits
from triage.web.cds import SERVICE_ID
from triage.yamlio import MAX_BYTES

WAIT = 60.0
"""How long any test waits for an effect (a close, an answer, a log line)."""
TIMEOUT = 2
"""The header, body and keep-alive timeouts of the ``limited`` server."""


@dataclass
class Running:
    """A ``triage serve`` whose output is read as it comes."""

    url: str
    process: subprocess.Popen[str]
    lines: list[str]
    token: str = ""
    ids: dict[str, int] | None = None
    ehr: Ehr | None = None

    def output(self) -> str:
        return "".join(self.lines)

    def address(self) -> tuple[str, int]:
        parts = urlsplit(self.url)
        assert parts.hostname and parts.port
        return parts.hostname, parts.port


def serving(db: Path, *options: str) -> Iterator[Running]:
    process, url, lines = start(db, *options)

    def read() -> None:
        for line in process.stdout or ():
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    running = Running(url, process, lines)
    try:
        yield running
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=WAIT)
        reader.join(timeout=WAIT)
    assert process.returncode == 0, running.output()


@pytest.fixture(scope="module")
def limited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    """A seeded log served with 2 s timeouts and a CDS Hooks EHR."""
    folder = tmp_path_factory.mktemp("limits")
    ids = seed(folder / "triage.db")
    with TriageLog(folder / "triage.db") as log:
        _, token = log.access.add_token("limits")
    key = ec.generate_private_key(ec.SECP384R1())
    keys = jwks_file(key, folder / "ehr.jwks.json")
    options = ["--cds-ehr-key", str(keys), "--cds-ehr-issuer", ISSUER]
    for name in ("--header-timeout", "--body-timeout", "--keep-alive-timeout"):
        options += [name, str(TIMEOUT)]
    for running in serving(folder / "triage.db", *options):
        running.token, running.ids, running.ehr = token, ids, Ehr(running.url, key)
        yield running
    assert "Traceback" not in running.output()


# -- raw sockets --------------------------------------------------------------------------------


def connect(server: Running) -> socket.socket:
    return socket.create_connection(server.address(), timeout=WAIT)


def read_until_closed(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (TimeoutError after WAIT)."""
    data = b""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk
    raise TimeoutError(f"the connection is still open after {WAIT} s")


def read_response(sock: socket.socket) -> tuple[int, bytes]:
    """One response with a Content-Length: its status and body."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"closed before a whole response: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split()[1]), body


def closed(sock: socket.socket, trickle: bytes) -> bytes | None:
    """Send ``trickle`` one byte every 0.1 s until the server answers or closes; what it sent
    then (b"" for a close without an answer), None if it never did within WAIT."""
    deadline = time.monotonic() + WAIT
    for byte in trickle:
        if time.monotonic() > deadline:
            break
        readable, _, _ = select.select([sock], [], [], 0.1)
        if readable:
            return read_until_closed(sock)
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            return b""
    return None


def head(path: str, *lines: str, method: str = "GET") -> bytes:
    return "\r\n".join([f"{method} {path} HTTP/1.1", "Host: triage.test", *lines, "", ""]).encode()


# -- forwarded addresses ------------------------------------------------------------------------


def failed_sign_ins(url: str, count: int) -> list[int]:
    """``count`` wrong passwords, each for another name and from another forwarded address."""
    statuses = []
    with httpx.Client(base_url=url, timeout=WAIT) as client:
        for i in range(count):
            forwarded = {"X-Forwarded-For": f"203.0.113.{i + 1}"}
            page = client.get("/login", headers=forwarded)
            form = {"csrf_token": csrf_of(page.text), "name": f"Dr {i}", "password": "guess-123"}
            statuses.append(client.post("/login", data=form, headers=forwarded).status_code)
    return statuses


@pytest.mark.parametrize(
    "trusted", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["by-default", "trusted"]
)
def test_a_forwarded_address_counts_only_from_a_trusted_proxy(
    tmp_path: Path, trusted: bool
) -> None:
    """By default X-Forwarded-For is ignored: 25 failures from 127.0.0.1, each claiming another
    address, are limited after 20 (the limit per address). From a proxy named with
    --trusted-proxy, the forwarded address is the client's: 25 addresses, none limited."""
    with TriageLog(tmp_path / "triage.db") as log:
        log.access.add_clinician(NAME, PASSWORD)
    options = ["--trusted-proxy", "127.0.0.1"] if trusted else []
    for running in serving(tmp_path / "triage.db", *options):
        statuses = failed_sign_ins(running.url, 25)
    assert statuses == ([401] * 25 if trusted else [401] * 20 + [429] * 5)


def test_a_trusted_proxy_must_be_an_address() -> None:
    from click.testing import CliRunner

    result = CliRunner().invoke(cli.main, ["serve", "--trusted-proxy", "proxy.example"])
    assert result.exit_code == 2
    assert "'proxy.example' is not an IP address or network" in result.output


def test_the_options_default_to_the_servers_limits() -> None:
    defaults = {param.name: param.default for param in cli.serve.params}
    assert defaults["header_timeout"] == limits.HEADER_TIMEOUT
    assert defaults["body_timeout"] == limits.BODY_TIMEOUT
    assert defaults["keep_alive_timeout"] == limits.KEEP_ALIVE_TIMEOUT
    assert defaults["max_connections"] == limits.MAX_CONNECTIONS


# -- the size of a body -------------------------------------------------------------------------


class Huge:
    """A chunked body of up to ``total`` bytes, counting what was taken from it."""

    def __init__(self, total: int, fill: bytes = b" ") -> None:
        self.total, self.sent, self.block = total, 0, b"&" + fill * 65535

    def __iter__(self) -> Iterator[bytes]:
        while self.sent < self.total:
            self.sent += len(self.block)
            yield self.block


def memory_kb(pid: int) -> dict[str, int]:
    status = Path(f"/proc/{pid}/status").read_text()
    return {
        key: int(value.split()[0])
        for key, value in (line.split(":", 1) for line in status.splitlines())
        if key in ("VmRSS", "VmHWM")
    }


def test_a_huge_chunked_body_is_refused_early_and_memory_stays_low(limited: Running) -> None:
    """400 MB sent in chunks (no Content-Length): 413 once 2 MB have arrived, the connection
    closed so the client stops, and the server stays under 100 MB."""
    body = Huge(400 * 1_000_000)
    response = httpx.post(
        f"{limited.url}/api/v1/check",
        content=body,
        headers={"Authorization": f"Bearer {limited.token}", "Content-Type": "application/json"},
        timeout=WAIT,
    )
    assert response.status_code == 413, response.text
    assert response.headers["connection"] == "close"
    problem = response.json()["problems"][0]
    assert f"more than {MAX_BYTES:,} bytes" in problem["message"]
    assert problem["fix"] == "send one report, review or hook call per request"
    assert body.sent < 50 * 1_000_000, f"the client sent {body.sent:,} bytes before the answer"
    memory = memory_kb(limited.process.pid)
    assert memory["VmHWM"] < 100 * 1024, memory


def _signed_in(limited: Running) -> httpx.Client:
    client = httpx.Client(base_url=limited.url, timeout=WAIT)
    page = client.get("/login")
    form = {"csrf_token": csrf_of(page.text), "name": NAME, "password": PASSWORD, "next": "/"}
    assert client.post("/login", data=form).status_code == 303
    return client


ROUTES = ["api-check", "fhir-check", "api-review", "login-form", "review-form", "cds-hook",
          "cds-feedback"]  # fmt: skip


@pytest.mark.parametrize("route", ROUTES)
def test_every_route_that_reads_a_body_refuses_one_past_the_limit(
    limited: Running, route: str
) -> None:
    """A chunked body of 40 MB to each route that reads one: 413 in that route's own form
    (JSON, a FHIR OperationOutcome, a page), before the client has sent it all."""
    assert limited.ids is not None and limited.ehr is not None
    entry = limited.ids["emergency"]
    bearer = {"Authorization": f"Bearer {limited.token}"}
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    client = httpx.Client(base_url=limited.url, timeout=WAIT)
    if route == "api-check":
        path, headers = "/api/v1/check", bearer
    elif route == "fhir-check":
        path, headers = "/api/v1/check?format=fhir", bearer
    elif route == "api-review":
        path, headers = f"/api/v1/entries/{entry}/reviews", bearer
    elif route == "login-form":
        path, headers = "/login", form
    elif route == "review-form":
        client = _signed_in(limited)
        path, headers = f"/checks/{entry}/review", form
    else:
        path = f"/cds-services/{SERVICE_ID}" + ("/feedback" if route == "cds-feedback" else "")
        token = limited.ehr.token(f"{limited.url}/cds-services/{SERVICE_ID}")
        headers = {"Authorization": f"Bearer {token}"}
    body = Huge(40 * 1_000_000, b"a")  # fields of 64 KB: under the form parser's own limits
    try:
        response = client.post(path, content=body, headers=headers)
    finally:
        client.close()
    assert response.status_code == 413, response.text
    assert body.sent < 40 * 1_000_000
    if route == "fhir-check":
        assert response.json()["resourceType"] == "OperationOutcome"
    elif route in ("login-form", "review-form"):
        assert f"more than {MAX_BYTES:,} bytes" in response.text
        assert response.headers["content-type"].startswith("text/html")
    else:
        assert f"more than {MAX_BYTES:,} bytes" in response.json()["problems"][0]["message"]


@pytest.mark.parametrize(
    ("path", "kind"),
    [("/api/v1/check", "application/json"), ("/login", "application/x-www-form-urlencoded")],
)
def test_a_content_length_past_the_limit_is_refused_at_once(
    limited: Running, path: str, kind: str
) -> None:
    """The head says 400 MB: 413 before a byte of the body is sent, and the connection closed."""
    with connect(limited) as sock:
        sock.sendall(
            head(
                path,
                f"Authorization: Bearer {limited.token}",
                f"Content-Type: {kind}",
                "Content-Length: 400000000",
                method="POST",
            )
        )
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert b"\r\nconnection: close\r\n" in answer.lower()
    assert f"more than {MAX_BYTES:,} bytes".encode() in answer


def test_an_answer_before_the_body_is_read_closes_the_connection(limited: Running) -> None:
    """No token: 401 without reading the body, and the client need not send the rest."""
    body = Huge(400 * 1_000_000)
    response = httpx.post(f"{limited.url}/api/v1/check", content=body, timeout=WAIT)
    assert response.status_code == 401
    assert response.headers["connection"] == "close"
    assert body.sent < 50 * 1_000_000


# -- slow, stalled and idle connections ---------------------------------------------------------


@pytest.mark.parametrize(
    "sent",
    [b"", b"GET /login HTTP/1.1\r\nHost: tri"],
    ids=["nothing", "half-a-head"],
)
def test_a_connection_that_stalls_before_its_headers_are_done_is_closed(
    limited: Running, sent: bytes
) -> None:
    started = time.monotonic()
    with connect(limited) as sock:
        sock.sendall(sent)
        assert read_until_closed(sock) == b""  # closed, nothing said
    assert time.monotonic() - started >= TIMEOUT - 0.1  # by the timeout, not at once


def test_a_head_sent_a_byte_at_a_time_is_closed(limited: Running) -> None:
    """Slowloris: every byte resets nothing; the whole head must come within the timeout."""
    endless = b"GET /login HTTP/1.1\r\n" + b"X-Padding: " + b"a" * 100_000
    with connect(limited) as sock:
        assert closed(sock, endless) == b""


def test_a_body_sent_a_byte_at_a_time_is_answered_408_and_closed(limited: Running) -> None:
    with connect(limited) as sock:
        sock.sendall(
            head(
                "/api/v1/check",
                f"Authorization: Bearer {limited.token}",
                "Content-Type: application/json",
                "Content-Length: 100000",
                method="POST",
            )
        )
        answer = closed(sock, b" " * 100_000)
    assert answer is not None and answer.startswith(b"HTTP/1.1 408 "), answer
    assert f"within {TIMEOUT} s".encode() in answer


@pytest.mark.parametrize(
    "then", [b"", b"GET /login HTTP/1.1\r\nHost: tri"], ids=["idle", "half-a-head"]
)
def test_a_kept_alive_connection_is_closed_when_idle_or_stalled(
    limited: Running, then: bytes
) -> None:
    with connect(limited) as sock:
        sock.sendall(head("/login"))
        status, _ = read_response(sock)
        sock.sendall(then)
        assert read_until_closed(sock) == b""
    assert status == 200


def test_a_request_beyond_the_connection_limit_is_answered_503(tmp_path: Path) -> None:
    """With --max-connections 4: four connections held open, a fifth is answered 503 and
    closed; once one of the four closes, a new one is served."""
    seed(tmp_path / "triage.db")
    options = ["--max-connections", "4", "--header-timeout", "600", "--keep-alive-timeout", "600"]
    for running in serving(tmp_path / "triage.db", *options):
        held = [connect(running) for _ in range(4)]
        for sock in held:
            sock.sendall(head("/login"))
            assert read_response(sock)[0] == 200
        with connect(running) as extra:
            extra.sendall(head("/login"))
            answer = read_until_closed(extra)
        held.pop().close()
        served = None
        deadline = time.monotonic() + WAIT
        while served != 200 and time.monotonic() < deadline:
            with connect(running) as sock:
                sock.sendall(head("/login"))
                served = read_response(sock)[0]
        for sock in held:
            sock.close()
    assert answer.startswith(b"HTTP/1.1 503 "), answer
    assert served == 200


def test_a_client_that_leaves_mid_body_is_one_log_line(limited: Running) -> None:
    line = "POST /api/v1/check: the client left before sending the whole request body"
    before = limited.output().count(line)
    for _ in range(5):
        with connect(limited) as sock:
            sock.sendall(
                head(
                    "/api/v1/check",
                    f"Authorization: Bearer {limited.token}",
                    "Content-Type: application/json",
                    "Content-Length: 1000",
                    method="POST",
                )
                + json.dumps({"patient_id": "pt-gone"}).encode()
            )
    deadline = time.monotonic() + WAIT
    while limited.output().count(line) < before + 5 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert limited.output().count(line) == before + 5, limited.output()[-3000:]
    assert "Traceback" not in limited.output()
