"""The OpenAPI 3.1 description of the JSON API (``GET /api/v1/openapi.json``). The report's
schema is the contract's own JSON Schema (``triage schema``), so the two cannot drift."""

from __future__ import annotations

from functools import cache
from typing import Any

from .._version import __version__
from ..log import OVERRIDE_REASONS
from ..outcomes import KEYS, OUTCOMES, URGENCIES


def _error(description: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
    }


def _ok(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


UNAUTHORISED = _error("no API token, or an unknown or revoked one")
FHIR_RESOURCE = {
    "type": "object",
    "required": ["resourceType"],
    "description": "a FHIR R4 resource (QuestionnaireResponse in, RiskAssessment or "
    "OperationOutcome out): see docs/embedding.md",
}
FORMAT = {
    "name": "format",
    "in": "query",
    "required": False,
    "description": "json (the default) or fhir: the decision as a FHIR R4 RiskAssessment",
    "schema": {"enum": ["json", "fhir"], "default": "json"},
}

_QUERY: list[tuple[str, str | dict[str, Any], str]] = [
    ("patient", "string", "only this patient (ids are case-sensitive)"),
    ("outcome", {"enum": list(OUTCOMES)}, "only this outcome"),
    ("urgency", {"enum": list(URGENCIES)}, "only this urgency"),
    (
        "reviewed",
        {"enum": ["false", "true", "any"], "default": "false"},
        "false (the default): the worklist, unreviewed checks that need action, most urgent "
        "first then oldest; true: reviewed checks; any: every check (both newest first)",
    ),
    ("since", "string", "from this date (a whole UTC day) or date-time, included"),
    ("until", "string", "up to this date (a whole UTC day, included) or before this date-time"),
    ("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}, "page size"),
    ("offset", {"type": "integer", "minimum": 0, "default": 0}, "entries to skip"),
]


@cache
def openapi() -> dict[str, Any]:
    from ..contract import json_schema

    parameters = [
        {
            "name": name,
            "in": "query",
            "required": False,
            "description": words,
            "schema": {"type": kind} if isinstance(kind, str) else {"type": "string", **dict(kind)},
        }
        for name, kind, words in _QUERY
    ]
    entry_id = {"name": "entry_id", "in": "path", "required": True, "schema": {"type": "integer"}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "triage",
            "version": __version__,
            "description": "Post-session safety checks and the clinician's worklist. "
            "Every request needs 'Authorization: Bearer <token>' (triage token add APP).",
        },
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/check": {
                "post": {
                    "summary": "Check a report: the decision, recorded in the triage log",
                    "description": "The body is a report, or a FHIR R4 QuestionnaireResponse to "
                    "the questionnaire of GET /fhir/Questionnaire. With ?format=fhir or "
                    "'Accept: application/fhir+json' the decision is a FHIR RiskAssessment and "
                    "an error an OperationOutcome.",
                    "parameters": [FORMAT],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "oneOf": [
                                        {"$ref": "#/components/schemas/Report"},
                                        FHIR_RESOURCE,
                                    ]
                                }
                            },
                            "application/fhir+json": {"schema": FHIR_RESOURCE},
                        },
                    },
                    "responses": {
                        "200": {
                            **_ok("the decision; logged, with its entry id, or why not", "Checked"),
                            "content": {
                                **_ok("", "Checked")["content"],
                                "application/fhir+json": {"schema": FHIR_RESOURCE},
                            },
                        },
                        "400": _error("the body is not JSON"),
                        "401": UNAUTHORISED,
                        "422": _error("the answers do not fit the report contract"),
                        "500": _error("the rules could not be evaluated: fail closed"),
                    },
                }
            },
            "/entries": {
                "get": {
                    "summary": "The worklist, or other checks, with counts over the whole log",
                    "parameters": parameters,
                    "responses": {
                        "200": _ok("one page, and the counts", "Worklist"),
                        "400": _error("a filter is not understood"),
                        "401": UNAUTHORISED,
                    },
                }
            },
            "/entries/{entry_id}": {
                "get": {
                    "summary": "One check in full: answers, decision, rules, engine, reviews",
                    "parameters": [entry_id],
                    "responses": {
                        "200": _ok("the check", "Entry"),
                        "401": UNAUTHORISED,
                        "404": _error("no such entry"),
                    },
                }
            },
            "/entries/{entry_id}/reviews": {
                "post": {
                    "summary": "Record a review (appended; the check is never edited)",
                    "parameters": [entry_id],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ReviewRequest"}
                            }
                        },
                    },
                    "responses": {
                        "201": _ok("the review recorded", "Review"),
                        "401": UNAUTHORISED,
                        "404": _error("no such entry"),
                        "422": _error("the review is incomplete"),
                    },
                }
            },
            "/schema": {
                "get": {
                    "summary": "The report's JSON Schema (as 'triage schema')",
                    "responses": {"200": {"description": "JSON Schema"}, "401": UNAUTHORISED},
                }
            },
            "/questions": {
                "get": {
                    "summary": "The questionnaire (as 'triage questions --json')",
                    "responses": {"200": {"description": "the questions"}, "401": UNAUTHORISED},
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This description",
                    "responses": {"200": {"description": "OpenAPI 3.1"}, "401": UNAUTHORISED},
                }
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "Report": json_schema(),
                "Checked": {
                    "type": "object",
                    "description": "The decision (as 'triage check --json'), with 'logged' and "
                    "'log_entry' (or 'not_logged': why not)",
                    "required": ["outcome", "reasons", "rule_pack", "engine", "report", "logged"],
                    "properties": {
                        "outcome": {"enum": list(OUTCOMES)},
                        "urgency": {"enum": list(URGENCIES)},
                        "reasons": {"type": "array", "items": {"type": "object"}},
                        "advice": {"type": "array", "items": {"type": "string"}},
                        "rule_pack": {"type": "object"},
                        "engine": {"type": "object"},
                        "report": {"type": "object"},
                        "logged": {"type": "boolean"},
                        "log_entry": {"type": "integer"},
                        "not_logged": {"type": "string"},
                    },
                },
                "Worklist": {
                    "type": "object",
                    "required": ["counts", "needs_action", "matched", "entries"],
                    "properties": {
                        "counts": {
                            "type": "object",
                            "description": "unreviewed checks that need action, by level, "
                            "over the whole log",
                            "properties": {k: {"type": "integer"} for k in KEYS if k != "continue"},
                        },
                        "needs_action": {"type": "integer"},
                        "follow_ups_overdue": {"type": "integer"},
                        "matched": {"type": "integer"},
                        "offset": {"type": "integer"},
                        "limit": {"type": "integer"},
                        "order": {"enum": ["urgency", "newest"]},
                        "entries": {"type": "array", "items": {"type": "object"}},
                        "next": {"type": ["string", "null"]},
                    },
                },
                "Entry": {"type": "object", "description": "as 'triage log show ID --json'"},
                "ReviewRequest": {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["verdict"],
                    "properties": {
                        "verdict": {"enum": ["accepted", "overridden"]},
                        "reason": {
                            "enum": list(OVERRIDE_REASONS),
                            "description": "required with overridden: "
                            + "; ".join(f"{k}: {v}" for k, v in OVERRIDE_REASONS.items()),
                        },
                        "note": {"type": "string", "description": "required with overridden"},
                        "by": {
                            "type": "string",
                            "description": "the clinician, recorded as 'NAME via APP'",
                        },
                    },
                },
                "Review": {"type": "object"},
                "Error": {
                    "type": "object",
                    "required": ["error", "message", "problems"],
                    "properties": {
                        "error": {"type": "string"},
                        "message": {"type": "string"},
                        "problems": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "message": {"type": "string"},
                                    "field": {"type": "string"},
                                    "fix": {"type": "string"},
                                },
                            },
                        },
                    },
                },
            },
        },
    }
