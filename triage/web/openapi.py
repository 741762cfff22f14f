"""The OpenAPI 3.1 description of the JSON API (``GET /api/v1/openapi.json``). The report's
schema is the contract's own JSON Schema (``triage schema``), so the two cannot drift."""

from __future__ import annotations

from functools import cache
from typing import Any

from .._version import __version__
from ..contract.report import MOMENT_PATTERN
from ..log import CONTACT_OUTCOMES, OVERRIDE_REASONS
from ..log.once import KEY_HEADER, KEY_HOURS, MAX_KEY, REPLAYED_HEADER
from ..outcomes import KEYS, OUTCOMES, URGENCIES

MAX_OFFSET = 10**9


def _error(description: str, *, fhir: bool = False) -> dict[str, Any]:
    """An error answer: JSON (``errors.as_json``), or with ``fhir`` also a FHIR
    OperationOutcome (asked for with ?format=fhir or 'Accept: application/fhir+json')."""
    content: dict[str, Any] = {
        "application/json": {"schema": {"$ref": "#/components/schemas/Error"}}
    }
    if fhir:
        content[FHIR_JSON] = {"schema": {"$ref": "#/components/schemas/OperationOutcome"}}
    return {"description": description, "content": content}


def _ok(description: str, schema: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{schema}"}}},
    }


FHIR_JSON = "application/fhir+json"


def _resource(kind: str) -> dict[str, Any]:
    return {
        "type": "object",
        "required": ["resourceType"],
        "properties": {"resourceType": {"const": kind}},
        "description": f"a FHIR R4 {kind}: see docs/embedding.md",
    }


QUESTIONNAIRE_RESPONSE = _resource("QuestionnaireResponse")
INCOMPLETE = {
    "type": "object",
    "description": "answers that do not fit the report contract (missing, refused, unknown): "
    "422 listing every problem, unless the answers given already meet an emergency or urgent "
    "row whatever the others are; then the early warning, 200, with stopped_early and the "
    "problems (docs/embedding.md)",
}
BY = {
    "type": "string",
    "description": "the clinician, recorded as 'NAME via APP' (a name of 1 to 64 letters, "
    "digits, spaces and . _ ' -, starting with a letter or digit); '' or none: the app alone",
}
UNAUTHORISED = {
    **_error("no API token, or an unknown or revoked one"),
    "headers": {"WWW-Authenticate": {"required": True, "schema": {"const": "Bearer"}}},
}
UNAVAILABLE = {
    **_error("the triage log cannot be read or written now: nothing was decided or recorded"),
    "headers": {
        "Retry-After": {
            "description": "seconds after which a retry may succeed (when the log may be "
            "back in a moment, a database restarting)",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
}
TOO_LARGE = _error("the body is larger than 2 MB")
TOO_SLOW = _error("the body did not arrive within the server's body timeout (60 s by default)")
DAY_PATTERN = r"^20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
WHEN_PATTERN = f"{DAY_PATTERN}|{MOMENT_PATTERN}"
"""``since`` and ``until``: a day, or a date-time with its offset as a report's ``reported_at``
(the API refuses anything else, and a day that is not in the calendar, with 400)."""


def _document(description: str) -> dict[str, Any]:
    """The answers of a GET of a JSON document."""
    return {
        "200": {
            "description": description,
            "content": {"application/json": {"schema": {"type": "object"}}},
        },
        "401": UNAUTHORISED,
        "503": UNAVAILABLE,
    }


FORMAT = {
    "name": "format",
    "in": "query",
    "required": False,
    "description": "json (the default) or fhir: the decision as a FHIR R4 RiskAssessment",
    "schema": {"enum": ["json", "fhir"], "default": "json"},
}
IDEMPOTENCY_KEY = {
    "name": KEY_HEADER,
    "in": "header",
    "required": False,
    "description": f"A new random UUID for each check, the same one when retrying it: within "
    f"{KEY_HOURS} hours the same key with the same body answers with the check first recorded "
    f"under it (the same body and log_entry, with '{REPLAYED_HEADER}: true'), never a second "
    "entry; with another body, 422.",
    "schema": {"type": "string", "pattern": f"^[!-~]{{1,{MAX_KEY}}}$"},
}

_QUERY: list[tuple[str, str | dict[str, Any], str]] = [
    ("patient", "string", "only this patient (ids are case-sensitive)"),
    ("outcome", {"enum": list(OUTCOMES)}, "only this outcome"),
    ("urgency", {"enum": list(URGENCIES)}, "only this urgency"),
    (
        "reviewed",
        {"enum": ["false", "true", "any"], "default": "false"},
        "false (the default): the worklist, unreviewed checks that need action: the emergency "
        "and urgent ones of the last 24 hours first, newest first, then most urgent first, "
        "oldest first; true: reviewed checks; any: every check (both newest first)",
    ),
    (
        "since",
        {"pattern": WHEN_PATTERN},
        "from this date (a whole UTC day, 2026-11-21) or date-time with its offset "
        "(2026-11-21T14:30:00+01:00), included",
    ),
    (
        "until",
        {"pattern": WHEN_PATTERN},
        "up to this date (a whole UTC day, included) or before this date-time with its offset",
    ),
    ("limit", {"type": "integer", "minimum": 1, "maximum": 500, "default": 50}, "page size"),
    (
        "offset",
        {"type": "integer", "minimum": 0, "maximum": MAX_OFFSET, "default": 0},
        "entries to skip",
    ),
]


@cache
def openapi() -> dict[str, Any]:
    from ..contract.reading import json_schema

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
                    "parameters": [FORMAT, IDEMPOTENCY_KEY],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "anyOf": [
                                        {"$ref": "#/components/schemas/Report"},
                                        QUESTIONNAIRE_RESPONSE,
                                        INCOMPLETE,
                                    ]
                                }
                            },
                            FHIR_JSON: {"schema": QUESTIONNAIRE_RESPONSE},
                        },
                    },
                    "responses": {
                        "200": {
                            **_ok("the decision; logged, with its entry id, or why not", "Checked"),
                            "content": {
                                **_ok("", "Checked")["content"],
                                FHIR_JSON: {"schema": _resource("RiskAssessment")},
                            },
                            "headers": {
                                REPLAYED_HEADER: {
                                    "description": f"'true' when the {KEY_HEADER} was used "
                                    "before: this is the check first recorded under it",
                                    "schema": {"const": "true"},
                                }
                            },
                        },
                        "400": _error(
                            "the body is not JSON, or format is neither json nor fhir", fhir=True
                        ),
                        "401": UNAUTHORISED,
                        "408": _error(TOO_SLOW["description"], fhir=True),
                        "413": _error(TOO_LARGE["description"], fhir=True),
                        "422": _error(
                            "the answers do not fit the report contract; or the "
                            f"{KEY_HEADER} was first sent with other answers",
                            fhir=True,
                        ),
                        "500": _error("the rules could not be evaluated: fail closed", fhir=True),
                        "503": {**UNAVAILABLE, **_error(UNAVAILABLE["description"], fhir=True)},
                    },
                }
            },
            "/entries": {
                "get": {
                    "summary": "The worklist, or other checks, with counts over the whole log",
                    "parameters": parameters,
                    "responses": {
                        "200": _ok("one page, and the counts", "Worklist"),
                        "400": _error(
                            "a filter is not understood, or a day is not in the calendar"
                        ),
                        "401": UNAUTHORISED,
                        "503": UNAVAILABLE,
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
                        "503": UNAVAILABLE,
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
                        "400": _error(
                            "the body is not JSON; or 'by' is not a clinician's name, or 'by' or "
                            "'note' is not one line of plain text"
                        ),
                        "401": UNAUTHORISED,
                        "404": _error("no such entry"),
                        "408": TOO_SLOW,
                        "413": TOO_LARGE,
                        "422": _error(
                            "the review is incomplete or contradicts itself: an override without "
                            "its reason or note, an acceptance with a reason, an unknown field"
                        ),
                        "503": UNAVAILABLE,
                    },
                }
            },
            "/entries/{entry_id}/contacts": {
                "post": {
                    "summary": "Record a contact with the patient about a check (appended)",
                    "parameters": [entry_id],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": "#/components/schemas/ContactRequest"}
                            }
                        },
                    },
                    "responses": {
                        "201": _ok("the contact recorded", "Contact"),
                        "400": _error(
                            "the body is not JSON; or 'by' is not a clinician's name, or 'by' or "
                            "'note' is not one line of plain text"
                        ),
                        "401": UNAUTHORISED,
                        "404": _error("no such entry"),
                        "408": TOO_SLOW,
                        "413": TOO_LARGE,
                        "422": _error(
                            "the contact is incomplete: no outcome from the list, 'other' without "
                            "a note, an unknown field"
                        ),
                        "503": UNAVAILABLE,
                    },
                }
            },
            "/schema": {
                "get": {
                    "summary": "The report's JSON Schema (as 'triage schema')",
                    "responses": _document("JSON Schema (2020-12)"),
                }
            },
            "/questions": {
                "get": {
                    "summary": "The questionnaire (as 'triage questions --json')",
                    "responses": _document("the questions"),
                }
            },
            "/openapi.json": {
                "get": {
                    "summary": "This description",
                    "responses": _document("OpenAPI 3.1"),
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
                    "'log_entry' (or 'not_logged': why not); or, for incomplete answers that "
                    "already meet an emergency or urgent row, the early warning: stopped_early, "
                    "the unanswered fields and the problems of the answers given",
                    "required": ["outcome", "reasons", "rule_pack", "engine", "report", "logged"],
                    "properties": {
                        "outcome": {"enum": list(OUTCOMES)},
                        "urgency": {"enum": list(URGENCIES)},
                        "reasons": {"type": "array", "items": {"type": "object"}},
                        "advice": {"type": "array", "items": {"type": "string"}},
                        "headline": {"type": "string"},
                        "safety_net": {"type": "array", "items": {"type": "string"}},
                        "contacts": {
                            "type": "object",
                            "properties": {
                                "emergency_examples": {"type": "string"},
                                "urgent_care": {"type": "string"},
                            },
                        },
                        "rule_pack": {"type": "object"},
                        "engine": {"type": "object"},
                        "report": {"type": "object"},
                        "logged": {"type": "boolean"},
                        "log_entry": {"type": "integer"},
                        "not_logged": {"type": "string"},
                        "stopped_early": {"const": True},
                        "unanswered": {"type": "array", "items": {"type": "string"}},
                        "problems": {"type": "array", "items": {"type": "object"}},
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
                    "description": "An acceptance (no reason), or an override with its reason "
                    "and a note saying what was decided instead; anything else is a 422",
                    "oneOf": [
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["verdict"],
                            "properties": {
                                "verdict": {"const": "accepted"},
                                "reason": {
                                    "const": "",
                                    "description": "none (a reason goes with an override); "
                                    "'' is none, as a recorded acceptance shows it",
                                },
                                "note": {"type": "string"},
                                "by": BY,
                            },
                        },
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["verdict", "reason", "note"],
                            "properties": {
                                "verdict": {"const": "overridden"},
                                "reason": {
                                    "enum": list(OVERRIDE_REASONS),
                                    "description": "; ".join(
                                        f"{k}: {v}" for k, v in OVERRIDE_REASONS.items()
                                    ),
                                },
                                "note": {
                                    "type": "string",
                                    "pattern": "\\S",
                                    "description": "what was decided instead (not blank)",
                                },
                                "by": BY,
                            },
                        },
                    ],
                },
                "Review": {
                    "type": "object",
                    "required": [
                        "id",
                        "entry_id",
                        "reviewed_at",
                        "reviewer",
                        "verdict",
                        "note",
                        "reason",
                    ],
                    "properties": {
                        "id": {"type": "integer"},
                        "entry_id": {"type": "integer"},
                        "reviewed_at": {"type": "string"},
                        "reviewer": {"type": "string"},
                        "verdict": {"enum": ["accepted", "overridden"]},
                        "note": {"type": "string"},
                        "reason": {"enum": ["", *OVERRIDE_REASONS]},
                    },
                },
                "ContactRequest": {
                    "description": "What came of a call or message to the patient about the "
                    "check; 'other' needs a note",
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["outcome"],
                    "properties": {
                        "outcome": {
                            "enum": list(CONTACT_OUTCOMES),
                            "description": "; ".join(
                                f"{k}: {v}" for k, v in CONTACT_OUTCOMES.items()
                            ),
                        },
                        "note": {"type": "string"},
                        "by": BY,
                    },
                },
                "Contact": {
                    "type": "object",
                    "required": ["id", "entry_id", "contacted_at", "by", "outcome", "note"],
                    "properties": {
                        "id": {"type": "integer"},
                        "entry_id": {"type": "integer"},
                        "contacted_at": {"type": "string"},
                        "by": {"type": "string"},
                        "outcome": {"enum": list(CONTACT_OUTCOMES)},
                        "note": {"type": "string"},
                    },
                },
                "OperationOutcome": {
                    "type": "object",
                    "required": ["resourceType", "issue"],
                    "properties": {
                        "resourceType": {"const": "OperationOutcome"},
                        "issue": {
                            "type": "array",
                            "minItems": 1,
                            "items": {
                                "type": "object",
                                "required": ["severity", "code"],
                                "properties": {
                                    "severity": {"enum": ["fatal", "error", "warning"]},
                                    "code": {"type": "string"},
                                    "diagnostics": {"type": "string"},
                                },
                            },
                        },
                    },
                },
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
