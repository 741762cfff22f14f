"""``triage serve``: the clinician's pages and the JSON API, one ASGI application over one triage
log (Starlette, Jinja2 templates, uvicorn; no JavaScript build step).

- ``app``: the application, its middleware, and one log connection per worker thread;
- ``security``: sessions, CSRF, sign-in rate limits, API tokens, response headers;
- ``pages``: sign-in, the worklist, a check, a patient (``templates/``, ``static/``);
- ``api``: the JSON API under ``/api/v1/``; ``openapi``: its OpenAPI description;
- ``present``: what the pages show (times, outcomes, answers, the pain chart);
- ``errors``: library errors as JSON or as a page, in one place;
- ``limits``: request bodies of at most 2 MB, read and header timeouts;
- ``server``: running it with uvicorn.

Every interface is a thin layer over the library: ``triage.check`` for checks, the log's
``worklist``, ``entry``, ``timeline``, ``review`` and ``access`` for the rest.
"""

from __future__ import annotations

from ..extras import needs

needs("serve")  # before anything imports starlette: say which extra to install

from .app import create_app  # noqa: E402
from .server import serve  # noqa: E402

__all__ = ["create_app", "serve"]
