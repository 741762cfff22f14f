"""FHIR R4 over HTTP, under ``/fhir/``: the Questionnaire and our CodeSystems, read-only, in
``application/fhir+json``; errors are ``OperationOutcome``s. The same API token as ``/api/v1/``.
``POST /api/v1/check`` takes a ``QuestionnaireResponse`` and answers a ``RiskAssessment`` on
request (``api.check``)."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..fhir import code_system, questionnaire
from ..fhir.codes import CANONICAL, QUESTIONNAIRE_ID, code_systems
from .site import api_access

FHIR_JSON = "application/fhir+json"


def routes() -> list[Route]:
    return [
        Route("/Questionnaire", questionnaires),
        Route("/Questionnaire/{id}", one_questionnaire),
        Route("/CodeSystem", systems),
        Route("/CodeSystem/{id}", one_system),
    ]


def fhir_response(
    resource: dict[str, Any], status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return JSONResponse(resource, status_code=status_code, headers=headers, media_type=FHIR_JSON)


def wants_fhir(request: Request) -> bool:
    """``?format=fhir``, or an ``Accept`` header that names ``application/fhir+json`` (400 for
    a format that is neither json nor fhir)."""
    chosen = request.query_params.get("format")
    if chosen not in (None, "json", "fhir"):
        raise HTTPException(400, f"format is {chosen[:20]!r}: json (the default) or fhir")
    return chosen == "fhir" or FHIR_JSON in request.headers.get("accept", "")


def _authorised(request: Request) -> None:
    api_access(request)


def _searchset(request: Request, resources: list[dict[str, Any]]) -> Response:
    """A search: ``url`` (canonical, with or without ``|version``) and ``_id`` filter."""
    url = request.query_params.get("url")
    wanted_id = request.query_params.get("_id")
    found = [
        r
        for r in resources
        if (url is None or url in (r["url"], f"{r['url']}|{r['version']}"))
        and (wanted_id is None or wanted_id == r["id"])
    ]
    kind = resources[0]["resourceType"]
    return fhir_response(
        {
            "resourceType": "Bundle",
            "type": "searchset",
            "total": len(found),
            "entry": [
                {
                    "fullUrl": f"{CANONICAL}/{kind}/{r['id']}",
                    "resource": r,
                    "search": {"mode": "match"},
                }
                for r in found
            ],
        }
    )


def questionnaires(request: Request) -> Response:
    _authorised(request)
    return _searchset(request, [questionnaire()])


def one_questionnaire(request: Request) -> Response:
    _authorised(request)
    if request.path_params["id"] != QUESTIONNAIRE_ID:
        raise HTTPException(404, f"no Questionnaire {request.path_params['id'][:64]!r}")
    return fhir_response(questionnaire())


def systems(request: Request) -> Response:
    _authorised(request)
    return _searchset(request, code_systems())


def one_system(request: Request) -> Response:
    _authorised(request)
    found = code_system(request.path_params["id"].replace("-", "_"))
    if found is None:
        raise HTTPException(404, f"no CodeSystem {request.path_params['id'][:64]!r}")
    return fhir_response(found)
