"""The ASGI application of ``triage serve``: the clinician's pages and the JSON API over one
triage log, with one rule pack.

Each worker thread reads and writes an SQLite log through its own connection (``Logs``); a
PostgreSQL log is opened once, its pool of connections shared by the threads. Writes queue (one
transaction each, under the chain's lock), so checks and reviews from many clients land in the
one chain.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from ..alerts import Deliverer
from ..alerts import Settings as AlertSettings
from ..log import TriageLog
from ..log.sessions import SessionLimits
from ..pack.loading import default_pack
from ..pack.rules import RulePack
from . import alerts, api, cds, fhir, pages, patient_pages
from .limits import BODY_TIMEOUT, BodyLimit
from .security import Headers
from .site import HERE, Logs, Site, templates

if TYPE_CHECKING:
    from .cds import EhrTrust

SECRET_ENV = "TRIAGE_SECRET_KEY"


def create_app(
    log_path: str | Path,
    *,
    pack: RulePack | None = None,
    secret_key: str | None = None,
    cors_origins: Sequence[str] = (),
    https_only: bool = False,
    cds_trust: EhrTrust | None = None,
    body_timeout: float = BODY_TIMEOUT,
    sessions: SessionLimits | None = None,
    alert_settings: AlertSettings | None = None,
    deliver_alerts: bool = True,
) -> Starlette:
    """The application over the log at ``log_path`` (which must exist: ``triage serve`` starts
    it). ``secret_key`` signs session cookies (default: ``TRIAGE_SECRET_KEY``, else a random
    key, so that sessions end when the server stops). CORS is off unless ``cors_origins`` names
    the origins whose pages may call the API. ``cds_trust`` is the EHR whose signed JWTs the
    CDS Hooks service accepts (None: every CDS Hooks call is refused, 401). ``sessions``:
    how long a clinician's session lasts (default: ``SessionLimits()``). A request body
    is at most 2 MB, all of it within ``body_timeout`` seconds (``limits.BodyLimit``). While
    it runs (its lifespan), it delivers the alerts of the log's outbox (``triage.alerts``),
    unless ``deliver_alerts`` is false, with ``alert_settings`` (default: from the
    environment, ``AlertSettings.from_env``)."""
    logs = Logs(log_path)
    state = Site(logs, pack or default_pack(), templates())
    state.sessions = sessions or state.sessions
    alert_settings = alert_settings or AlertSettings.from_env()  # a bad setting stops the start

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        deliverer = None
        if deliver_alerts:
            deliverer = Deliverer(
                lambda: TriageLog(logs.path, create=False),
                alert_settings,
            )
            app.state.alerts = deliverer
            deliverer.start()
        try:
            yield
        finally:
            if deliverer is not None:
                deliverer.stop()
            logs.close()

    middleware = [
        Middleware(Headers),
        Middleware(BodyLimit, timeout=body_timeout),
        Middleware(
            SessionMiddleware,
            secret_key=secret_key or os.environ.get(SECRET_ENV) or secrets.token_urlsafe(32),
            session_cookie="triage_session",
            max_age=int(state.sessions.hours * 3600),
            same_site="lax",
            https_only=https_only,
        ),
    ]
    if cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(cors_origins),
                allow_methods=["GET", "POST"],
                allow_headers=["Authorization", "Content-Type"],
            )
        )
    routes: list[Route | Mount] = [
        *pages.routes(),
        *patient_pages.routes(),
        Route("/alerts", alerts.status_page, name="alerts"),
        Mount("/api/v1", routes=api.routes()),
        Mount("/fhir", routes=fhir.routes()),
        *cds.routes(),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=middleware,
        lifespan=lifespan,
        exception_handlers=pages.exception_handlers(),
    )
    app.state.site = state
    app.state.cds = cds.CdsState(cds_trust)
    return app
