"""One error hierarchy for the library, split by phase.

Errors carry data (file, line, rule id, field, fix) so that any front end can word them; the CLI
turns them into messages in one place. Anything that is not a ``TriageError`` is a bug.
"""

from __future__ import annotations

from dataclasses import dataclass

RED_FLAG_ADVICE = (
    "If you have chest pain, fainting, severe breathlessness, confusion, a sudden severe headache, "
    "dark urine, numbness around the groin or trouble controlling your bladder or bowel, "
    "stop exercising and call your local emergency number now. "
    "Otherwise contact your clinician before your next session."
)


class TriageError(Exception):
    """Base of every error the library raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One located problem: where it is, what is wrong, and how to fix it when we know."""

    message: str
    field: str | None = None
    file: str | None = None
    line: int | None = None
    rule_id: str | None = None
    fix: str | None = None

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
        return ": ".join(parts)

    def __str__(self) -> str:
        where = self.location()
        text = f"{where}: {self.message}" if where else self.message
        return f"{text}; {self.fix}" if self.fix else text


class ProblemsError(TriageError):
    """An error made of one or more located problems, all reported at once."""

    what = "input"

    def __init__(self, problems: list[Problem], source: str | None = None) -> None:
        self.problems = list(problems)
        self.source = source
        count = len(self.problems)
        noun = "problem" if count == 1 else "problems"
        where = f" in {source}" if source else ""
        super().__init__(f"{count} {noun}{where}:\n" + "\n".join(f"  {p}" for p in self.problems))


class InputError(ProblemsError):
    """A file that cannot be read or parsed (not found, not YAML/JSON, duplicate keys)."""

    what = "input file"


class ReportError(ProblemsError):
    """A report that does not fit the report contract."""

    what = "report"


class PackError(ProblemsError):
    """A rule pack that does not load or does not validate; the whole pack is refused."""

    what = "rule pack"


class EvaluationError(TriageError):
    """The rules could not be evaluated. Callers must fail closed: never treat this as 'continue'."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.advice = RED_FLAG_ADVICE


class StorageError(TriageError):
    """The triage log cannot be opened, read or written."""

    def __init__(self, message: str, path: str | None = None, fix: str | None = None) -> None:
        self.path = path
        self.fix = fix
        super().__init__(message)
