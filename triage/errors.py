"""One error hierarchy for the library, split by phase.

Errors carry data (file, line, rule id, field, fix) and word themselves: ``explain()`` is the
text a person reads, ``to_dict()`` the same for a program. Each front end converts them in one
place. Anything that is not a ``TriageError`` is a bug.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any

RED_FLAG_ADVICE = (
    "If you have chest pain, fainting, severe breathlessness, confusion, a sudden severe headache, "
    "dark urine, numbness around the groin or trouble controlling your bladder or bowel, "
    "stop exercising and call your local emergency number now. "
    "Otherwise contact your clinician before your next session."
)


class TriageError(Exception):
    """Base of every error the library raises on purpose."""

    kind = "error"
    """A stable name for programs: ``{"error": kind, ...}``."""

    def explain(self) -> str:
        """The message for a person: what is wrong, where, and the fix."""
        return f"error: {self}"

    def to_dict(self) -> dict[str, Any]:
        """The same for a program."""
        return {"error": self.kind, "message": str(self)}


@dataclass(frozen=True)
class Problem:
    """One located problem: where it is, what is wrong, and how to fix it when we know."""

    message: str
    field: str | None = None
    file: str | None = None
    line: int | None = None
    rule_id: str | None = None
    fix: str | None = None
    item: str | None = None
    """The ``linkId`` of a FHIR QuestionnaireResponse item the problem is about."""

    def location(self) -> str:
        place = ""
        if self.file:
            place = self.file if self.line is None else f"{self.file}:{self.line}"
        elif self.line is not None:
            place = f"line {self.line}"
        parts = [place] if place else []
        if self.rule_id:
            parts.append(f"rule '{self.rule_id}'")
        if self.field is not None:
            parts.append(f"field '{self.field}'")
        if self.item is not None:
            parts.append(f"item '{self.item}'")
        return ": ".join(parts)

    def __str__(self) -> str:
        where = self.location()
        text = f"{where}: {self.message}" if where else self.message
        return f"{text}; {self.fix}" if self.fix else text

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if v is not None}


class ProblemsError(TriageError):
    """An error made of one or more located problems, all reported at once."""

    kind = "input"
    header = "{source} is invalid"

    def __init__(self, problems: list[Problem], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        where = f" in {source}" if source else ""
        super().__init__(f"{count} {noun}{where}:\n" + "\n".join(f"  {p}" for p in self.problems))

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its problems (``evaluate_many``'s workers send errors back)."""
        return (type(self), (self.problems, self.source))

    def title(self) -> str:
        count = len(self.problems)
        plural = "s" if count != 1 else ""
        return f"{self.header.format(source=self.source or 'the input')} ({count} problem{plural})"

    def explain(self) -> str:
        return "\n".join([f"error: {self.title()}:", *(f"  {p}" for p in self.problems)])

    def to_dict(self) -> dict[str, Any]:
        return {
            "error": self.kind,
            "message": self.title(),
            "source": self.source,
            "problems": [p.to_dict() for p in self.problems],
        }


class InputError(ProblemsError):
    """A file that cannot be read or parsed (not found, not YAML/JSON, duplicate keys)."""

    kind = "input"
    header = "cannot read {source}"


class ReportError(ProblemsError):
    """A report that does not fit the report contract."""

    kind = "report"
    header = "the answers in {source} do not fit the report contract"


class PackError(ProblemsError):
    """A rule pack that does not load or does not validate; the whole pack is refused."""

    kind = "rule_pack"
    header = "the rule pack {source} is refused"


class ReviewError(ProblemsError):
    """A clinician's review that is not complete (an override without its reason or note)."""

    kind = "review"
    header = "the review of {source} is incomplete"


class ContactError(ProblemsError):
    """A clinician's contact with a patient that is not complete (no outcome, or "other" with
    no note)."""

    kind = "contact"
    header = "the contact about {source} is incomplete"


class IdempotencyKeyError(ProblemsError):
    """An idempotency key sent again with other answers than those of the check first recorded
    under it (a retry must send exactly the same answers)."""

    kind = "idempotency_key"
    header = "the idempotency key sent with {source} was first used for other answers"


class EvaluationError(TriageError):
    """The rules could not be evaluated. Callers must fail closed: never read it as 'continue'."""

    kind = "evaluation"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.advice = RED_FLAG_ADVICE

    def explain(self) -> str:
        return "\n".join(
            [
                "Your answers could not be checked, so no advice can be given.",
                self.advice,
                f"Reason: {self}",
            ]
        )

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "advice": self.advice}


class StorageError(TriageError):
    """The triage log cannot be opened, read or written."""

    kind = "storage"

    def __init__(self, message: str, path: str | None = None, fix: str | None = None) -> None:
        self.path = path
        self.fix = fix
        super().__init__(message)

    def explain(self) -> str:
        return f"error: {self}" + (f"\n  {self.fix}" if self.fix else "")

    def to_dict(self) -> dict[str, Any]:
        data = {**super().to_dict(), "path": self.path, "fix": self.fix}
        return {k: v for k, v in data.items() if v is not None}


class MissingLogError(StorageError):
    """There is no triage log at the place given: no file, an empty one, no folder for it, or
    something that is not a triage log (a folder, another program's database). Not a failure to
    read: no log there holds no record and no earlier check."""

    @classmethod
    def nothing_at(cls, path: os.PathLike[str]) -> MissingLogError:
        """No file at ``path`` (where a log is opened, not created)."""
        return cls(
            f"there is no triage log at {path} yet",
            os.fspath(path),
            "it is created by the first 'triage check'; or give --db PATH",
        )


class UnavailableError(StorageError):
    """What a decision depends on (the patient's record, their earlier checks) could not be read
    from the triage log, so no decision was made. Callers must fail closed, as for an
    ``EvaluationError``; the log may be back in a moment (HTTP: 503 with Retry-After)."""

    kind = "unavailable"
    retry_after = 5
    """Seconds after which a retry may find the log back (a database restarting)."""

    def __init__(self, message: str, path: str | None = None, fix: str | None = None) -> None:
        super().__init__(message, path, fix)
        self.advice = RED_FLAG_ADVICE

    def explain(self) -> str:
        return "\n".join(
            [
                "Your answers could not be checked, so no advice can be given.",
                self.advice,
                f"Reason: {self}",
                *([f"  {self.fix}"] if self.fix else []),
            ]
        )

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), "advice": self.advice, "retry_after": self.retry_after}


class NotFoundError(StorageError):
    """A record asked for by its id or name (an entry, a patient, an account, a token) is not
    in the log. Its ``kind`` stays 'storage': programs reading JSON errors see no change."""


class UsageError(TriageError):
    """A call that cannot be carried out as asked (a review without a verdict, a follow-up with
    no earlier session); ``fix`` says what to do instead."""

    kind = "usage"

    def __init__(self, message: str, fix: str | None = None) -> None:
        self.fix = fix
        super().__init__(message)

    def explain(self) -> str:
        return f"error: {self}" + (f"\n  {self.fix}" if self.fix else "")

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), **({"fix": self.fix} if self.fix else {})}


class AnswerError(TriageError, ValueError):
    """An answer typed in the questionnaire that does not answer the question; the message says
    what is expected, and the question is asked again."""

    kind = "answer"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        """The question's field or gate, when known (``QuestionnaireSession.answer``)."""

    def explain(self) -> str:
        return f"error: field '{self.field}': {self}" if self.field else super().explain()

    def to_dict(self) -> dict[str, Any]:
        return {**super().to_dict(), **({"field": self.field} if self.field else {})}
