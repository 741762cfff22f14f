"""Cases as data: reports with the decision a pack must reach, run against a pack.

A case file is YAML or JSON holding one of:

- one case (the vignette format): ``id``, ``summary``, ``expected: {outcome, urgency}``,
  ``report``, and optionally ``fires`` and ``does_not_fire`` (rule ids) and ``why``;
- ``cases:``, a list of such cases;
- a sequence: one patient's checks in order (``patient``, ``steps``), each step a case with
  ``at`` (when it was answered) and ``session``, whose history is the steps before it.

A mapping's ``<<`` key merges another mapping into it (YAML's merge key, for a shared ``base``).
Every problem in a case (an unknown key, a rule id the pack does not have, answers that do not
fit the contract) makes that case fail with the problem named; the other cases still run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..contract.reading import parse_report, suggest
from ..errors import InputError, Problem, ReportError, UsageError
from ..outcomes import OUTCOMES, URGENCIES, describe
from ..pack.coverage import Coverage, coverage
from ..pack.rules import RulePack
from ..yamlio import read_document
from .evaluator import evaluate

CASE_KEYS = {"id", "summary", "why", "expected", "report", "fires", "does_not_fire"}
STEP_KEYS = {"at", "session", "follow_up", "summary", "why", "expected", "report", "fires",
             "does_not_fire"}  # fmt: skip
SEQUENCE_KEYS = {"id", "summary", "why", "patient", "base", "steps"}
SUFFIXES = (".yaml", ".yml", ".json")


@dataclass(frozen=True)
class CaseResult:
    """One case run: what was expected, what came out, and which rules fired."""

    name: str
    file: str
    expected: str
    got: str | None = None
    fired: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    """Rules the case says must fire, that did not."""
    unexpected: tuple[str, ...] = ()
    """Rules the case says must not fire, that did."""
    problems: tuple[str, ...] = ()
    """What is wrong with the case itself (it was not run, or not run as written)."""

    @property
    def passed(self) -> bool:
        return (
            not self.problems
            and self.got == self.expected
            and not self.missing
            and not self.unexpected
        )

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "case": self.name,
            "file": self.file,
            "passed": self.passed,
            "expected": self.expected,
            "got": self.got,
            "fired": list(self.fired),
        }
        for key in ("missing", "unexpected", "problems"):
            if getattr(self, key):
                data[key] = list(getattr(self, key))
        return data


@dataclass(frozen=True)
class CaseRun:
    """Every case of a run, and the rules that fired in at least one of them."""

    results: tuple[CaseResult, ...]
    fired: frozenset[str] = field(default_factory=frozenset)

    @property
    def failed(self) -> tuple[CaseResult, ...]:
        return tuple(r for r in self.results if not r.passed)


def case_files(location: str | Path) -> list[Path]:
    """The case files at ``location``: the file itself, or every YAML/JSON file in the folder
    and its subfolders, in name order."""
    path = Path(location)
    if path.is_file():
        return [path]
    if not path.is_dir():
        raise InputError(
            [Problem("is not a file or a folder of case files", file=str(path))], str(path)
        )
    return sorted(p for p in path.rglob("*") if p.suffix in SUFFIXES and p.is_file())


def run_cases(
    locations: Iterable[str | Path], pack: RulePack, engine: str | None = None
) -> CaseRun:
    """Run every case found at ``locations`` against ``pack``."""
    results: list[CaseResult] = []
    fired: set[str] = set()
    for location in locations:
        for path in case_files(location):
            for result in _run_file(path, pack, engine):
                results.append(result)
                fired.update(result.fired)
    return CaseRun(tuple(results), frozenset(fired))


def _run_file(path: Path, pack: RulePack, engine: str | None) -> Iterator[CaseResult]:
    try:
        data = merged(read_document(path))
    except InputError as exc:
        yield CaseResult(path.name, str(path), "?", problems=tuple(map(str, exc.problems)))
        return
    if isinstance(data, dict) and isinstance(data.get("cases"), list):
        extra = [k for k in data if k not in ("cases", "base")]
        if extra:
            yield _broken(path.name, path, [f"unknown key '{extra[0]}' next to 'cases'"])
        for number, item in enumerate(data["cases"], 1):
            if isinstance(item, dict) and "steps" in item:
                yield from _run_sequence(item, path, pack, engine, f"case {number}", True)
            else:
                yield _run_case(item, path, pack, engine, f"case {number}", True)
    elif isinstance(data, dict) and "steps" in data:
        yield from _run_sequence(data, path, pack, engine, path.stem, False)
    else:
        yield _run_case(data, path, pack, engine, path.stem, False)


def merged(data: Any) -> Any:
    """``data`` with every ``<<`` key merged into its mapping (keys given there win)."""
    if isinstance(data, list):
        return [merged(item) for item in data]
    if not isinstance(data, dict):
        return data
    result: dict[str, Any] = {}
    base = data.get("<<")
    for part in base if isinstance(base, list) else [base] if base is not None else []:
        if isinstance(part, dict):
            result.update(merged(part))
    result.update({k: merged(v) for k, v in data.items() if k != "<<"})
    return result


def _broken(name: str, path: Path, problems: list[str]) -> CaseResult:
    return CaseResult(name, str(path), "?", problems=tuple(problems))


def _case_name(path: Path, data: Any, default: str, listed: bool) -> str:
    """A case's id (a case in a list: its file's name, then its id)."""
    name = data.get("id") if isinstance(data, dict) else None
    name = name if isinstance(name, str) and name else default
    return f"{path.stem}: {name}" if listed else name


def _run_case(
    data: Any, path: Path, pack: RulePack, engine: str | None, default: str, listed: bool
) -> CaseResult:
    name = _case_name(path, data, default, listed)
    if not isinstance(data, dict):
        return _broken(name, path, ["a case must be a mapping with expected and report"])
    problems = _unknown(data, CASE_KEYS)
    return _evaluate_case(name, path, data, data.get("report"), None, pack, engine, problems)[0]


def _run_sequence(
    data: dict[str, Any],
    path: Path,
    pack: RulePack,
    engine: str | None,
    default: str,
    listed: bool,
) -> Iterator[CaseResult]:
    base = _case_name(path, data, default, listed)
    problems = _unknown(data, SEQUENCE_KEYS)
    steps = data.get("steps")
    patient = data.get("patient")
    if not isinstance(steps, list) or not steps or not isinstance(patient, str):
        yield _broken(base, path, [*problems, "a sequence needs 'patient' and a list of 'steps'"])
        return
    history: list[Any] = []
    for number, step in enumerate(steps, 1):
        name = f"{base} step {number}"
        if not isinstance(step, dict):
            yield _broken(name, path, ["a step must be a mapping with at, report and expected"])
            return
        step_problems = [*problems, *_unknown(step, STEP_KEYS)]
        report = step.get("report")
        if isinstance(report, dict):
            report = {
                **report,
                "patient_id": patient,
                "reported_at": step.get("at"),
                "session_id": step.get("session"),
            }
            report = {k: v for k, v in report.items() if v is not None}
        result, decision = _evaluate_case(
            name, path, step, report, list(history), pack, engine, step_problems
        )
        yield result
        if decision is None:
            return  # the later steps' history would be wrong
        history.append(decision)


def _unknown(data: Mapping[str, Any], allowed: set[str]) -> list[str]:
    problems = []
    for key in data:
        if key not in allowed:
            near = suggest(str(key), allowed)
            problems.append(
                f"unknown key '{key}'" + (f" (did you mean '{near}'?)" if near else "")
                + "; allowed: " + ", ".join(sorted(allowed))
            )  # fmt: skip
    return problems


def _expected(data: Mapping[str, Any], problems: list[str]) -> str:
    expected = data.get("expected")
    if not isinstance(expected, dict) or expected.get("outcome") not in OUTCOMES:
        problems.append(
            "'expected' must give an outcome: " + ", ".join(OUTCOMES) + " (and an urgency)"
        )
        return "?"
    outcome, urgency = expected["outcome"], expected.get("urgency")
    extra = set(expected) - {"outcome", "urgency"}
    if extra:
        problems.append(f"'expected' has an unknown key '{sorted(extra)[0]}'")
    if (outcome == "seek_medical_review") != (urgency is not None) or (
        urgency is not None and urgency not in URGENCIES
    ):
        problems.append(
            "'expected' needs an urgency (" + ", ".join(URGENCIES) + ") exactly when its "
            "outcome is seek_medical_review"
        )
    return describe(outcome, urgency if isinstance(urgency, str) else None)


def _rule_ids(data: Mapping[str, Any], key: str, pack: RulePack, problems: list[str]) -> list[str]:
    value = data.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"'{key}' must be a list of rule ids")
        return []
    known = {r.id for r in pack.rules}
    for rule_id in value:
        if rule_id not in known:
            near = suggest(rule_id, known)
            problems.append(
                f"'{key}' names {rule_id}, which is not a rule of {pack.name} {pack.version}"
                + (f" (did you mean '{near}'?)" if near else "")
            )
    return [v for v in value if v in known]


def _evaluate_case(
    name: str,
    path: Path,
    data: Mapping[str, Any],
    report: Any,
    history: list[Any] | None,
    pack: RulePack,
    engine: str | None,
    problems: list[str],
) -> tuple[CaseResult, Any]:
    """The case's result, and its decision (None when it could not be evaluated)."""
    problems = list(problems)
    expected = _expected(data, problems)
    must = _rule_ids(data, "fires", pack, problems)
    must_not = _rule_ids(data, "does_not_fire", pack, problems)
    if not isinstance(report, dict):
        return _broken(name, path, [*problems, "'report' must be a mapping of answers"]), None
    try:
        decision = evaluate(parse_report(report), pack=pack, engine=engine, history=history)
    except ReportError as exc:
        found = [f"report: {p.location() or 'report'}: {p.message}" for p in exc.problems]
        return _broken(name, path, [*problems, *found]), None
    fired = tuple(r.rule for r in decision.reasons)
    return (
        CaseResult(
            name,
            str(path),
            expected,
            describe(decision.outcome, decision.urgency),
            fired,
            tuple(r for r in must if r not in fired),
            tuple(r for r in must_not if r in fired),
            tuple(problems),
        ),
        decision,
    )


# -- a pack's tests: its cases and its coverage --------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """Something the rules do not cover: what (``kind``) and which rules or rows."""

    kind: str
    items: tuple[str, ...]
    words: str

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "items": list(self.items), "message": self.words}


@dataclass(frozen=True)
class PackTests:
    """The cases run against a pack, and what its rules cover (``triage rules test``)."""

    pack: RulePack
    locations: tuple[str, ...]
    run: CaseRun
    coverage: Coverage
    own_cases: bool = False
    """The cases are the pack's own (its ``cases`` folder), not ones given."""

    @property
    def unfired(self) -> tuple[str, ...]:
        """Rules that no case makes fire."""
        return tuple(r.id for r in self.pack.rules if r.id not in self.run.fired)

    def findings(self) -> list[Finding]:
        """Every coverage problem, in words; empty when the rules cover everything."""
        found = []
        cov = self.coverage
        if self.unfired:
            found.append(Finding("unfired", self.unfired, "no case makes these rules fire"))
        if not cov.rows_listed:
            found.append(
                Finding(
                    "rows_not_listed",
                    (),
                    "pack.yaml does not list the policy's rows, so rows no rule cites cannot be "
                    "found (add 'rows:')",
                )
            )
        if cov.uncited_rows:
            found.append(Finding("uncited_rows", cov.uncited_rows, "no rule cites these rows"))
        if cov.never_fire:
            found.append(
                Finding(
                    "never_fire",
                    cov.never_fire,
                    "these rules can never fire: their conditions contradict each other for "
                    "every report the contract accepts",
                )
            )
        if cov.overruled:
            found.append(
                Finding(
                    "overruled",
                    tuple(o.rule for o in cov.overruled),
                    "these rules can never change a decision: a more severe rule always fires "
                    "with them ("
                    + "; ".join(f"{o.rule} by {', '.join(o.by)}" for o in cov.overruled)
                    + ")",
                )
            )
        if cov.undecided:
            found.append(
                Finding(
                    "undecided",
                    cov.undecided,
                    "these rules are too complex to analyse: split them into simpler rules",
                )
            )
        return found

    def ok(self, strict: bool = False) -> bool:
        """Every case passed (and, with ``strict``, nothing is uncovered)."""
        return not self.run.failed and not (strict and self.findings())

    def to_dict(self, strict: bool = False) -> dict[str, Any]:
        results = self.run.results
        return {
            "rule_pack": {
                "name": self.pack.name,
                "version": self.pack.version,
                "sha256": self.pack.sha256,
            },
            "cases": [r.to_dict() for r in results],
            "passed": sum(r.passed for r in results),
            "failed": len(self.run.failed),
            "coverage": [f.to_dict() for f in self.findings()],
            "strict": strict,
            "ok": self.ok(strict),
        }


def default_cases(pack: RulePack) -> Path | None:
    """The pack's own cases: the ``cases`` folder next to its rule files, if it has one."""
    folder = Path(pack.path) / "cases"
    return folder if folder.is_dir() else None


def run_tests(
    pack: RulePack, locations: Iterable[str | Path] | None = None, engine: str | None = None
) -> PackTests:
    """Run the cases at ``locations`` (default: the pack's own) and analyse the pack's rules."""
    own_cases = locations is None
    if locations is None:
        own = default_cases(pack)
        if own is None:
            raise UsageError(
                f"the rule pack {pack.path} has no cases folder",
                "give the folder or file of cases to run, or add cases to "
                f"{Path(pack.path) / 'cases'}",
            )
        locations = [own]
    where = tuple(str(p) for p in locations)
    return PackTests(pack, where, run_cases(where, pack, engine), coverage(pack), own_cases)
