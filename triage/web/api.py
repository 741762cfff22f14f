"""The JSON API, version 1, under ``/api/v1/``: the same library calls as the CLI, so that a
decision is the same whichever way it was asked for. Every request carries an API token
(``Authorization: Bearer ...``, made with ``triage token add APP``); errors are JSON objects
listing every problem (``errors.as_json``)."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..errors import ContactError, InputError, Problem, ProblemsError, ReviewError, TriageError
from ..log import Filters
from ..log.access import checked_name
from ..outcomes import OUTCOMES, URGENCIES
from ..yamlio import decode, parse_json
from .errors import unknown_keys
from .openapi import DAY_PATTERN, MAX_OFFSET, openapi
from .site import api_access, site

REVIEW_KEYS = ("verdict", "reason", "note", "by")
CONTACT_KEYS = ("outcome", "note", "by")
ENTRY_QUERY = ("patient", "outcome", "urgency", "reviewed", "since", "until", "limit", "offset")


def routes() -> list[Route]:
    return [
        Route("/check", check, methods=["POST"]),
        Route("/entries", entries),
        Route("/entries/{entry_id:int}", entry),
        Route("/entries/{entry_id:int}/reviews", add_review, methods=["POST"]),
        Route("/entries/{entry_id:int}/contacts", add_contact, methods=["POST"]),
        Route("/schema", schema),
        Route("/questions", questions),
        Route("/openapi.json", description),
    ]


async def _json_body(request: Request, source: str) -> Any:
    body = await request.body()  # at most 2 MB: limits.BodyLimit
    return parse_json(decode(body, source), source)


# -- checks -------------------------------------------------------------------------------------


async def check(request: Request) -> Response:
    """A report or a FHIR ``QuestionnaireResponse``; the decision as JSON, or as a FHIR
    ``RiskAssessment`` on request (``?format=fhir`` or ``Accept: application/fhir+json``), with
    errors as an ``OperationOutcome`` then."""
    from .fhir import wants_fhir

    await run_in_threadpool(api_access, request)
    if wants_fhir(request):
        try:
            return await _check(request, fhir=True)
        except TriageError as error:
            from ..fhir.outcome import operation_outcome
            from .errors import headers_of, shown, status_of
            from .fhir import fhir_response

            status = status_of(error)
            outcome = operation_outcome(shown(request, error), status)
            return fhir_response(outcome, status, headers_of(error, status))
    return await _check(request, fhir=False)


async def _check(request: Request, *, fhir: bool) -> Response:
    answers = await _json_body(request, "request body")
    if not isinstance(answers, dict):
        raise InputError(
            [Problem("is not a JSON object of answers", file="request body")], "request body"
        )
    from ..checking.check import check as run_check
    from ..log.once import KEY_HEADER, REPLAYED_HEADER

    key = request.headers.get(KEY_HEADER)

    def checked() -> tuple[dict[str, Any], bool]:
        log = site(request).logs.get()
        result = run_check(
            answers, log=log, pack=site(request).pack, source="request body", idempotency_key=key
        )
        if not fhir:
            return result.to_dict(), result.replayed
        from ..checking.check import StoppedCheck
        from ..fhir import risk_assessment

        entry_id = result.entry.id if result.entry is not None else None
        if isinstance(result, StoppedCheck):
            return risk_assessment(result.warning, entry_id), result.replayed
        return risk_assessment(result.decision, entry_id), result.replayed

    data, replayed = await run_in_threadpool(checked)
    if data.get("not_logged"):
        from .errors import shown_reason

        data["not_logged"] = shown_reason(request, data["not_logged"])
    headers = {REPLAYED_HEADER: "true"} if replayed else {}
    if fhir:
        from .fhir import fhir_response

        return fhir_response(data, headers=headers)
    return JSONResponse(data, headers=headers)


# -- the log ------------------------------------------------------------------------------------


def entries(request: Request) -> Response:
    log, _ = api_access(request)
    params = request.query_params
    problems = [
        Problem("is not a filter of /entries", field=key, fix="one of " + ", ".join(ENTRY_QUERY))
        for key in params
        if key not in ENTRY_QUERY
    ]
    filters = _filters(params, problems)
    limit = _integer(params, "limit", 50, 1, 500, problems)
    offset = _integer(params, "offset", 0, 0, MAX_OFFSET, problems)
    if problems:
        raise InputError(problems, "the query")
    page = log.worklist(
        filters, limit=limit, offset=offset, follow_up_hours=site(request).pack.follow_up
    )
    data = page.to_dict()
    data["next"] = None
    if page.has_more:
        data["next"] = "/api/v1/entries?" + urlencode({**dict(params), "offset": offset + limit})
    return JSONResponse(data)


def _filters(params: Any, problems: list[Problem]) -> Filters:
    given: dict[str, Any] = {}
    if params.get("patient"):
        given["patient"] = params["patient"]
    for name, allowed in (("outcome", OUTCOMES), ("urgency", URGENCIES)):
        value = params.get(name)
        if value is None:
            continue
        if value in allowed:
            given[name] = value
        else:
            problems.append(Problem(f"is {value!r}, not one of {', '.join(allowed)}", field=name))
    reviewed = params.get("reviewed", "false")
    if reviewed not in ("false", "true", "any"):
        problems.append(Problem(f"is {reviewed!r}, not false, true or any", field="reviewed"))
    given["unreviewed"], given["reviewed"] = reviewed == "false", reviewed == "true"
    for name in ("since", "until"):
        value = params.get(name)
        if value is None:
            continue
        moment = _day_or_moment(value)
        if moment is None:
            problems.append(
                Problem(
                    f"is {value[:40]!r}, not a date or a date-time with its offset",
                    field=name,
                    fix="2026-11-21 (a whole UTC day) or 2026-11-21T14:30:00+01:00",
                )
            )
        else:
            given[name] = moment
    return Filters(**given)


def _day_or_moment(text: str) -> date | datetime | None:
    """A day (2026-11-21), or a date-time with its offset as a report's ``reported_at``
    (``openapi.WHEN_PATTERN``); None for anything else, a day not in the calendar included."""
    from ..contract.report import parse_moment

    try:
        if re.fullmatch(DAY_PATTERN, text):
            return date.fromisoformat(text)
        return parse_moment(text)
    except ValueError:
        return None


def _integer(
    params: Any, name: str, default: int, low: int, high: int, problems: list[Problem]
) -> int:
    text = params.get(name)
    if text is None:
        return default
    if text.isdigit() and low <= int(text) <= high:
        return int(text)
    problems.append(Problem(f"is {text!r}, not a whole number from {low} to {high}", field=name))
    return default


def entry(request: Request) -> Response:
    log, _ = api_access(request)
    return JSONResponse(log.entry(request.path_params["entry_id"]).to_dict())


async def add_review(request: Request) -> Response:
    texts, by = await _texts(request, REVIEW_KEYS, ReviewError, "a field of a review")
    done = await run_in_threadpool(
        lambda: (
            site(request)
            .logs.get()
            .review(
                request.path_params["entry_id"],
                by=by,
                verdict=texts["verdict"],  # type: ignore[arg-type]
                note=texts["note"].strip(),
                reason=texts["reason"],
            )
        )
    )
    return JSONResponse(vars(done), status_code=201)


async def add_contact(request: Request) -> Response:
    texts, by = await _texts(request, CONTACT_KEYS, ContactError, "a field of a contact")
    done = await run_in_threadpool(
        lambda: (
            site(request)
            .logs.get()
            .contact(
                request.path_params["entry_id"],
                by=by,
                outcome=texts["outcome"],
                note=texts["note"].strip(),
            )
        )
    )
    return JSONResponse(done.to_dict(), status_code=201)


async def _texts(
    request: Request, keys: tuple[str, ...], error: type[ProblemsError], what: str
) -> tuple[dict[str, str], str]:
    """The JSON body's texts by key (each of ``keys``, '' when absent), and who it is by: the
    token's application, or "NAME via APPLICATION" when the body names the clinician. Every
    problem of the body as ``error`` (an unknown key, a value that is not a text)."""
    _, token = await run_in_threadpool(api_access, request)
    body = await _json_body(request, "request body")
    source = f"entry {request.path_params['entry_id']}"
    if not isinstance(body, dict):
        raise error([Problem("is not a JSON object", file="request body")], source)
    problems = unknown_keys(body, keys, what)
    given = {key: body.get(key, "") for key in keys}
    texts = {key: value for key, value in given.items() if isinstance(value, str)}
    problems += [Problem("is not a text", field=key) for key in keys if key not in texts]
    if problems:
        raise error(problems, source)
    by = token.app if not texts["by"] else f"{checked_name(texts['by'])} via {token.app}"
    return texts, by


# -- the contract -------------------------------------------------------------------------------


def schema(request: Request) -> Response:
    api_access(request)
    from ..contract.reading import json_schema

    return JSONResponse(json_schema())


def questions(request: Request) -> Response:
    api_access(request)
    from ..evaluation.questionnaire import describe

    return JSONResponse(describe())


def description(request: Request) -> Response:
    api_access(request)
    return JSONResponse(openapi())
