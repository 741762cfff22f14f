"""Errors become responses in one place: JSON objects listing every problem under ``/api/``, a
page elsewhere. A library error keeps its own words (``to_dict``, ``explain``); anything else is
a bug: logged with its traceback, answered with a plain 500 that shows nothing of it.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from ..errors import (
    ContactError,
    EvaluationError,
    IdempotencyKeyError,
    InputError,
    NotFoundError,
    PackError,
    Problem,
    ProblemsError,
    ReportError,
    ReviewError,
    StorageError,
    TriageError,
    UnavailableError,
    UsageError,
)
from .limits import BodyTooLarge

log = logging.getLogger("triage.web")

STATUS: list[tuple[type[TriageError], int]] = [
    (ReportError, 422),
    (ReviewError, 422),
    (ContactError, 422),
    (IdempotencyKeyError, 422),
    (BodyTooLarge, 413),
    (InputError, 400),
    (UsageError, 400),
    (NotFoundError, 404),
    (PackError, 500),
    (EvaluationError, 500),
    (StorageError, 503),
]
"""The HTTP status of each library error, most specific first."""


def status_of(exc: TriageError) -> int:
    return next((status for kind, status in STATUS if isinstance(exc, kind)), 500)


def headers_of(exc: Exception, status: int) -> dict[str, str]:
    """What the client needs besides the body: how to authenticate, when to try again, which
    methods a path allows (a 405's ``Allow``)."""
    if status == 401:
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(exc, UnavailableError):
        return {"Retry-After": str(exc.retry_after)}
    if isinstance(exc, HTTPException) and exc.headers:
        return dict(exc.headers)
    return {}


def shown(request: Request, exc: TriageError) -> TriageError:
    """``exc`` as a client may see it. A StorageError names the log's file or database URL,
    which the operator reads in the CLI; an HTTP client never does: every form of the log's
    place (and its folder) becomes "the triage log" ("the log's folder"), and the error in
    full goes to the server's own log."""
    if not isinstance(exc, StorageError):
        return exc
    if not isinstance(exc, NotFoundError):
        log.warning("%s %s: %s", request.method, request.url.path, exc)
    places = _places(request, exc.path)
    return type(exc)(_hidden(str(exc), places), None, exc.fix and _hidden(exc.fix, places))


def shown_reason(request: Request, reason: str) -> str:
    """Why a check was answered but not recorded (its ``not_logged``), as a client may see it:
    without the log's place, which the server's log has."""
    log.warning("%s %s: answered, not recorded: %s", request.method, request.url.path, reason)
    return _hidden(reason, _places(request, None))


def _places(request: Request, path: str | None) -> list[tuple[str, str]]:
    """The log's path or URL in each form a message may show, with the words shown instead;
    the longest first, so that a path is hidden before its folder."""
    from ..log.location import Place, locate, shown_location
    from .site import site

    given = site(request).logs.path
    found = {given: "the triage log", shown_location(given): "the triage log"}
    if path:
        found[path] = "the triage log"
    try:
        place = locate(given)
    except StorageError:
        place = None
    if isinstance(place, Place):
        for file in (place.path, place.path.resolve()):
            found.setdefault(str(file), "the triage log")
            found.setdefault(str(file.parent), "the log's folder")
    kept = [(text, words) for text, words in found.items() if len(text) > 1]
    return sorted(kept, key=lambda pair: len(pair[0]), reverse=True)


def _hidden(text: str, places: list[tuple[str, str]]) -> str:
    for place, words in places:
        text = text.replace(f"{words} {place}", words).replace(place, words)
    return text


def as_json(exc: TriageError) -> dict[str, Any]:
    """The error as the CLI's --json prints it, always with a list of problems."""
    data = exc.to_dict()
    if not isinstance(exc, ProblemsError):
        problem = {"message": str(exc), **({"fix": data["fix"]} if data.get("fix") else {})}
        data["problems"] = [problem]
    return data


async def error_response(request: Request, exc: Exception) -> Response:
    api = request.url.path.startswith(("/api/", "/cds-services"))
    error: TriageError | str
    if isinstance(exc, TriageError):
        error = shown(request, exc)
        status, data = status_of(exc), as_json(error)
    elif isinstance(exc, HTTPException):
        status, error = exc.status_code, str(exc.detail)
        data = {"error": "http", "message": error, "problems": [{"message": exc.detail}]}
    else:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        status, error = 500, "the server failed; the error is in its log"
        data = {"error": "internal", "message": error, "problems": [{"message": error}]}
    headers = headers_of(exc, status)
    if request.url.path.startswith("/fhir/"):
        from ..fhir.outcome import operation_outcome
        from .fhir import fhir_response

        return fhir_response(operation_outcome(error, status), status, headers)
    if api:
        return JSONResponse(data, status_code=status, headers=headers)
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(_error_page, request, status, data, headers)


def _error_page(
    request: Request, status: int, data: dict[str, Any], headers: dict[str, str]
) -> Response:
    """The error as a page like the others: with the menu when a clinician is signed in. When
    that cannot be known (no session: an error outside the session middleware; the log
    unreachable), the page without the menu."""
    from . import present
    from .security import CSRF_FIELD, csrf_token, signed_in
    from .site import site

    context = {"code": status, "message": data["message"], "problems": data["problems"]}
    page = site(request).templates.get_template("error.html")
    try:
        here = site(request)
        clinician = signed_in(request, here.logs.get(), here.sessions)
        tz = present.zone(request.session.get("tz") if clinician else None)
        html = page.render(
            clinician=clinician,
            csrf_field=CSRF_FIELD,
            csrf=csrf_token(request),
            tz_name=str(tz.key),
            **context,
        )
    except Exception:  # the error page itself must not fail: then it goes without the menu
        html = page.render(**context)
    response: Response = HTMLResponse(html, status_code=status)
    response.headers.update(headers)
    return response


def unknown_keys(
    given: dict[str, Any], keys: tuple[str, ...], what: str, where: str = ""
) -> list[Problem]:
    """A located problem for each key of ``given`` that is not one of ``keys`` (a typo is never
    ignored), with the key meant when one is near; ``where`` is the path of ``given``."""
    from ..contract.reading import suggest
    from ..log.records import visible

    problems = []
    for key in given:
        if key in keys:
            continue
        near = suggest(str(key), keys)
        problems.append(
            Problem(
                f"is not {what}" + (f" (did you mean '{near}'?)" if near else ""),
                field=f"{where}.{visible(str(key)[:40])}".lstrip("."),
                fix="remove it or correct its name: " + ", ".join(keys),
            )
        )
    return problems
