"""A library error as a FHIR R4 ``OperationOutcome``: one issue per problem, located by the
item's ``linkId`` (or the report field) in ``expression``, with the fix in ``diagnostics``."""

from __future__ import annotations

from typing import Any

from ..errors import (
    EvaluationError,
    NotFoundError,
    PackError,
    ProblemsError,
    StorageError,
    TriageError,
    UnavailableError,
    UsageError,
)

_STATUS_CODES = {401: "login", 403: "forbidden", 404: "not-found", 413: "too-long"}
"""The issue type of an HTTP error raised outside the library, by its status."""


def issue_code(error: TriageError | str, status: int | None = None) -> str:
    """The FHIR issue type (``http://hl7.org/fhir/issue-type``) of ``error``: a library error
    by its kind; an error outside the library (a string) by its HTTP ``status``."""
    if isinstance(error, UnavailableError):
        return "transient"  # may be retried
    if isinstance(error, NotFoundError):
        return "not-found"
    if isinstance(error, (PackError, EvaluationError, StorageError)):
        return "exception"
    if status in _STATUS_CODES:
        return _STATUS_CODES[status]
    if isinstance(error, (ProblemsError, UsageError)) or status in (400, 422):
        return "invalid"
    return "exception" if status is not None and status >= 500 else "processing"


def operation_outcome(error: TriageError | str, status: int | None = None) -> dict[str, Any]:
    """The one builder of a FHIR error: ``error`` a library error, or the text of one raised
    outside the library (the web server's HTTP errors, a bug's plain words) with its status."""
    code = issue_code(error, status)
    if isinstance(error, str):
        issues = [{"severity": "error", "code": code, "diagnostics": error}]
    elif not isinstance(error, ProblemsError):
        text = str(error)
        advice = getattr(error, "advice", None)  # what to do when no decision could be made
        if advice:
            text += " " + advice
        issues = [{"severity": "error", "code": code, "diagnostics": text}]
    else:
        issues = []
        for problem in error.problems:
            issue: dict[str, Any] = {
                "severity": "error",
                "code": code,
                "details": {"text": problem.message},
                "diagnostics": str(problem),
            }
            if problem.item is not None:
                issue["expression"] = [
                    f"QuestionnaireResponse.repeat(item).where(linkId = '{problem.item}')"
                ]
            elif problem.field is not None:
                issue["expression"] = [problem.field]
            issues.append(issue)
    return {"resourceType": "OperationOutcome", "issue": issues}
