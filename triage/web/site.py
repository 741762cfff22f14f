"""What every request handler needs (``Site``: the log, the rules, the templates, the sign-in
limiter, how long sessions last), and the API's bearer-token access to the log."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.exceptions import HTTPException
from starlette.requests import Request

from ..log import TriageLog
from ..log.access import ApiToken
from ..log.sessions import SessionLimits
from ..pack.rules import RulePack
from .security import SignInLimiter, bearer

HERE = Path(__file__).resolve().parent


class Logs:
    """One open ``TriageLog`` per worker thread, all on the same file; closed together. A log
    that may be shared (PostgreSQL: its pool of connections) is opened once for all threads."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        self._local = threading.local()
        self._opened: list[TriageLog] = []
        self._shared: TriageLog | None = None
        self._lock = threading.Lock()

    def get(self) -> TriageLog:
        if self._shared is not None:
            return self._shared
        log: TriageLog | None = getattr(self._local, "log", None)
        if log is None:
            with self._lock:
                if self._shared is not None:
                    return self._shared
                log = TriageLog(self.path, create=False)
                self._opened.append(log)
                if log.shared:
                    self._shared = log
                    return log
            self._local.log = log
        return log

    def close(self) -> None:
        with self._lock:
            for log in self._opened:
                log.close()
            self._opened.clear()
            self._shared = None


@dataclass
class Site:
    """What every request handler needs: the log, the rules, the templates, the limiter, how
    long sessions last."""

    logs: Logs
    pack: RulePack
    templates: Environment
    limiter: SignInLimiter = field(default_factory=SignInLimiter)
    sessions: SessionLimits = field(default_factory=SessionLimits)


def site(request: Request) -> Site:
    found: Site = request.app.state.site
    return found


def templates() -> Environment:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(("html", "svg"), default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env


def api_access(request: Request) -> tuple[TriageLog, ApiToken]:
    """This thread's connection to the log, and the request's token; 401 without a valid one.
    A connection is used only by the thread that opened it: an async handler calls this again
    inside each ``run_in_threadpool`` that touches the log."""
    log = site(request).logs.get()
    token = bearer(request, log)
    if token is None:
        raise HTTPException(401, "an API token is needed: Authorization: Bearer <token>")
    return log, token
