"""A report is read and validated once per check, at the boundary, and passed on typed; the
core never imports the adapters at the edge (FHIR, the web): they plug into it (issue 22)."""

from __future__ import annotations

import ast
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
from click.testing import CliRunner

import triage
import triage.contract.readers
import triage.contract.report
from tests.support.helpers import ROOT, report
from triage.contract.report import Report
from triage.log import TriageLog
from triage_cli.cli import main

EDGE = ("triage.fhir", "triage.web")


class Counted:
    """How many reports were validated (each goes once through the conditional requirements,
    whichever way it is validated) and how often ``Report.model_validate`` was called."""

    def __init__(self) -> None:
        self.validated = 0
        self.model_validate = 0


@pytest.fixture
def counted() -> Iterator[Counted]:
    counts = Counted()
    conditional = triage.contract.report._any_conditional_problem
    model_validate = Report.model_validate

    def validating(values: Any) -> bool:
        counts.validated += 1
        return conditional(values)

    def parsing(data: Any, *args: Any, **kwargs: Any) -> Report:
        counts.model_validate += 1
        return model_validate(data, *args, **kwargs)

    with (
        mock.patch.object(triage.contract.report, "_any_conditional_problem", validating),
        mock.patch.object(Report, "model_validate", parsing),
    ):
        yield counts


def counts_of(counted: Counted, run: Callable[[], Any]) -> tuple[int, int]:
    counted.validated = counted.model_validate = 0
    run()
    return counted.validated, counted.model_validate


def test_a_check_validates_its_report_once(counted: Counted, tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    result = counts_of(counted, lambda: triage.check(report(patient_id="pt-1"), log=db))
    assert result == (1, 1)


def test_a_check_with_the_patients_record_validates_once(counted: Counted, tmp_path: Path) -> None:
    with TriageLog(tmp_path / "log.db") as log:
        log.set_patient("pt-1", conditions=["heart_disease"], by="Dr Ada")
        checked = triage.check(report(patient_id="pt-1"), log=log)
        assert isinstance(checked, triage.CheckResult)
        assert checked.decision.report.conditions == ("heart_disease",)
        assert counts_of(counted, lambda: triage.check(report(patient_id="pt-1"), log=log)) == (
            1,
            1,
        )


def test_a_follow_up_validates_its_report_once(counted: Counted, tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    first = report(patient_id="pt-1")
    triage.check(first, log=db)
    follow_up = {
        k: v
        for k, v in first.items()
        if k not in ("hours_since_session", "session_id", "reported_at")
    }
    result = counts_of(counted, lambda: triage.check(follow_up, log=db, follow_up=True))
    assert result == (1, 1)


def test_the_cli_check_validates_its_report_once(counted: Counted, tmp_path: Path) -> None:
    answers = tmp_path / "answers.json"
    answers.write_text(json.dumps(report(patient_id="pt-1")))
    args = ["check", "--answers", str(answers), "--json", "--db", str(tmp_path / "log.db")]

    def run() -> None:
        done = CliRunner().invoke(main, args)
        assert done.exit_code == 0, done.output

    assert counts_of(counted, run) == (1, 1)


def test_the_cli_reads_a_questionnaire_response_once(tmp_path: Path) -> None:
    from triage.fhir import questionnaire_response

    answers = tmp_path / "qr.json"
    answers.write_text(json.dumps(questionnaire_response(report(patient_id="pt-1"))))
    args = ["check", "--answers", str(answers), "--json", "--db", str(tmp_path / "log.db")]
    with mock.patch.object(
        triage.contract.readers, "reader_of", wraps=triage.contract.readers.reader_of
    ) as detect:
        done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    assert detect.call_count == 1


def _imports(path: Path, module: str) -> Iterator[str]:
    """The modules ``path`` (the module ``module``) imports, relative imports resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            base = base[: len(base) - node.level + 1] if node.level else []
            name = ".".join([*base, node.module] if node.module else base)
            yield name
            yield from (f"{name}.{alias.name}" for alias in node.names)


def test_the_core_imports_no_adapter_of_the_edge() -> None:
    found = []
    for path in sorted((ROOT / "triage").rglob("*.py")):
        parts = path.relative_to(ROOT).with_suffix("").parts
        module = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        if any(module == edge or module.startswith(f"{edge}.") for edge in EDGE):
            continue
        for name in _imports(path, module):
            if any(name == edge or name.startswith(f"{edge}.") for edge in EDGE):
                found.append(f"{module} imports {name}")
    assert found == []


def test_a_response_is_still_checked_by_triage_check(tmp_path: Path) -> None:
    from triage.fhir import questionnaire_response

    response = questionnaire_response(report(patient_id="pt-1"))
    result = triage.check(response, log=tmp_path / "log.db")
    assert isinstance(result, triage.CheckResult)
    assert result.decision.report.patient_id == "pt-1"
