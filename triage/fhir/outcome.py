"""A library error as a FHIR R4 ``OperationOutcome``: one issue per problem, located by the
item's ``linkId`` (or the report field) in ``expression``, with the fix in ``diagnostics``."""

from __future__ import annotations

from typing import Any

from ..errors import InputError, ProblemsError, ReportError, TriageError, UnavailableError


def _code(error: TriageError) -> str:
    if isinstance(error, (ReportError, InputError)):
        return "invalid"
    return "transient" if isinstance(error, UnavailableError) else "processing"  # may be retried


def operation_outcome(error: TriageError) -> dict[str, Any]:
    code = _code(error)
    if not isinstance(error, ProblemsError):
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
