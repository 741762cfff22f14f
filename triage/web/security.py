"""Who is asking, and whether they may: clinicians' sessions, cross-site request forgery,
failed sign-ins, API bearer tokens, and the headers every response carries.

- A clinician's session is a cookie signed with the server's secret (Starlette's
  ``SessionMiddleware``: itsdangerous, HttpOnly, SameSite=Lax, Secure behind HTTPS), holding the
  session's random secret, a CSRF token and the time zone. The session itself is kept in the log
  (``log.sessions``: only the secret's hash), looked up with its account on every request: it
  ends when idle or too old (``SessionLimits``), at sign-out, and when the account gets a new
  password or is disabled, on every server of the log at once.
- Every form carries the session's CSRF token; a POST without it (or from another origin) is
  refused with 403 before anything is read or written.
- Failed sign-ins are counted per name and per client address; past the limit, sign-in is
  refused (429) for the rest of the window without checking the password.
- The API takes ``Authorization: Bearer <token>``; the token's SHA-256 is looked up, and a revoked
  token is refused like an unknown one (401).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..log import ApiToken, Clinician, TriageLog
from ..log.sessions import SessionLimits

CSRF_FIELD = "csrf_token"

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


@dataclass
class SignInLimiter:
    """At most ``per_name`` failed sign-ins for one name, and ``per_address`` from one address,
    within ``window`` seconds; kept in memory (one process serves the log)."""

    per_name: int = 5
    per_address: int = 20
    window: float = 15 * 60
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, key: str, now: float) -> deque[float]:
        found = self._failures.setdefault(key, deque())
        while found and found[0] <= now - self.window:
            found.popleft()
        return found

    def wait(self, name: str, address: str) -> float:
        """Seconds before another try is allowed (0: allowed now)."""
        now = time.monotonic()
        with self._lock:
            waits = []
            for key, limit in ((f"name:{name.casefold()}", self.per_name),
                               (f"addr:{address}", self.per_address)):  # fmt: skip
                recent = self._recent(key, now)
                if len(recent) >= limit:
                    waits.append(recent[0] + self.window - now)
            return max(waits, default=0.0)

    def failed(self, name: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (f"name:{name.casefold()}", f"addr:{address}"):
                self._recent(key, now).append(now)
            if len(self._failures) > 10_000:  # forget idle keys, so memory stays bounded
                for key in [k for k, v in self._failures.items() if not v]:
                    del self._failures[key]

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(f"name:{name.casefold()}", None)


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


# -- sessions and CSRF ---------------------------------------------------------------------------


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (the sign-in form has one too)."""
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = request.session["csrf"] = secrets.token_urlsafe(32)
    return token


def csrf_ok(request: Request, form: Any) -> bool:
    """The form carries this session's token, and the request does not come from another
    origin (when the browser says where it comes from)."""
    expected = request.session.get("csrf")
    given = form.get(CSRF_FIELD)
    if not isinstance(expected, str) or not isinstance(given, str):
        return False
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        return False
    return secrets.compare_digest(expected.encode(), given.encode())


def start_session(
    request: Request, secret: str, clinician: Clinician, time_zone: str | None
) -> None:
    """The cookie of the new session ``secret`` (``log.sessions.start``) of ``clinician``:
    everything of the one before is dropped (no fixation)."""
    request.session.clear()
    request.session.update(
        {
            "session": secret,
            "tz": time_zone or clinician.time_zone,
            "csrf": secrets.token_urlsafe(32),
        }
    )


def session_secret(request: Request) -> str | None:
    """The secret of the session the cookie names, if any."""
    found = request.session.get("session")
    return found if isinstance(found, str) else None


def signed_in(request: Request, log: TriageLog, limits: SessionLimits) -> Clinician | None:
    """The active clinician of this session, or None: no session, or one that has ended (idle,
    too old, signed out, a new password, a disabled account); its cookie is then cleared."""
    secret = session_secret(request)
    if secret is None:
        return None
    session = log.sessions.current(secret, limits)
    clinician = log.access.clinician(session.clinician) if session is not None else None
    if clinician is None or not clinician.active:
        request.session.clear()
        return None
    return clinician


def bearer(request: Request, log: TriageLog) -> ApiToken | None:
    """The active API token the request carries, or None."""
    header = request.headers.get("authorization", "")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    return log.access.token_for(secret.strip())


# -- every response ------------------------------------------------------------------------------


class Headers:
    """ASGI middleware: security headers on every response, no caching of anything but the
    static files, and ``Server-Timing: app;dur=MS`` (the time the server spent, for the
    benchmarks and the browser's network panel)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                took = (time.perf_counter() - started) * 1000
                headers += [
                    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"x-frame-options", b"DENY"),
                    (b"referrer-policy", b"same-origin"),
                    (b"server-timing", f"app;dur={took:.2f}".encode()),
                ]
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
