"""Fast start: nothing is imported before it is needed (issue 15).

The log commands and the questionnaire's first question never load the rule engine, the
decision or pydantic (the report contract builds its models on import, about 100 ms); each is
run in a fresh interpreter, which lists what it imported when it leaves. The questionnaire
reads the contract's fields from ``triage/contract/field_table.py``, written out from the
model: it must be up to date.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import triage
from tests.support.helpers import ROOT, load_case, vignette_files
from triage.contract.field_table import FIELDS as TABLE
from triage.contract.reading import FIELDS, field_table_source
from triage.log import TriageLog

NEVER_BEFORE_NEEDED = (
    "pydantic",
    "pydantic_core",
    "triage.contract.report",
    "triage.contract.reading",
    "triage.evaluation.decision",
    "triage.evaluation.evaluator",
    "triage.engines.durable",
    "triage.engines.reference",
    "durable_rules_engine",
    "durable",
)
"""What a log command or the first question must not have imported."""

REPORT_MODULES = (
    "import sys, json, atexit, threading\n"
    "seen = []\n"
    "start = threading.Thread.start\n"
    "def starting(thread):\n"
    "    if getattr(thread, '_target', None).__qualname__ == '_PackLoading._load':\n"
    "        seen.append(sorted(sys.modules))\n"
    "    start(thread)\n"
    "threading.Thread.start = starting\n"
    "atexit.register(lambda: print(json.dumps([*seen, sorted(sys.modules)][0]), file=sys.stderr))\n"
    "from triage_cli.cli import main\n"
    "main(sys.argv[1:], prog_name='triage')\n"
)


def imported(*args: str, stdin: str = "") -> set[str]:
    """The modules a fresh ``triage ARGS`` had imported when it left; for the questionnaire,
    when its first question was on the screen, waiting: then the bundled rule pack starts
    loading in the background (pydantic, the engine), racing the end of the program."""
    env = {**os.environ, "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-c", REPORT_MODULES, *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=60,
    )
    return set(json.loads(done.stderr.strip().splitlines()[-1]))


def loaded_too_early(modules: set[str]) -> list[str]:
    return sorted(
        m
        for m in modules
        if m.split(".")[0] in ("pydantic", "pydantic_core", "durable") or m in NEVER_BEFORE_NEEDED
    )


def test_the_field_table_is_the_contract_written_out() -> None:
    assert TABLE == FIELDS and list(TABLE) == list(FIELDS)
    written = (ROOT / "triage" / "contract" / "field_table.py").read_text(encoding="utf-8")
    assert written == field_table_source(), "run: python -m triage.contract.reading"


@pytest.fixture(scope="module")
def log_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("start") / "log.db"
    with TriageLog(path) as log:
        log.record_many(triage.evaluate(load_case(p)["report"]) for p in vignette_files()[:5])
        patient = log.entries(limit=1)[0].patient_id
        log.set_patient(patient, profile="athlete", by="Dr Start")
    return path


# 'log show' is not here: it lists the more severe rules that did not fire ("why not"), which
# needs the rule pack and the report contract.
LOG_COMMANDS = {
    "list": ["log", "list"],
    "list-json": ["log", "list", "--json", "--unreviewed"],
    "review": ["log", "review", "2", "--by", "Dr Start", "--accept"],
    "export-csv": ["log", "export", "--format", "csv"],
    "export-jsonl": ["log", "export", "--format", "jsonl"],
    "verify": ["log", "verify"],
    "trend": ["log", "trend", "--patient", "PATIENT"],
    "patient-show": ["patient", "show", "PATIENT"],
}


@pytest.mark.parametrize("command", LOG_COMMANDS.values(), ids=LOG_COMMANDS.keys())
def test_log_commands_load_neither_the_engine_nor_the_decision_nor_pydantic(
    log_file: Path, command: list[str]
) -> None:
    with TriageLog(log_file) as log:
        patient = log.entries(limit=1)[0].patient_id
    args = [patient if a == "PATIENT" else a for a in command]
    modules = imported(*args, "--db", str(log_file))
    assert "triage.log" in modules  # it ran
    assert loaded_too_early(modules) == []


@pytest.mark.parametrize(
    "options", [[], ["--patient", "pt-start"]], ids=["first-question", "patient-given"]
)
def test_the_first_question_is_asked_before_anything_else_is_loaded(
    tmp_path: Path, options: list[str]
) -> None:
    """Standard input ends at the first question: what was loaded then is all there is."""
    modules = imported("check", "--interactive", "--db", str(tmp_path / "log.db"), *options)
    assert "triage.evaluation.questionnaire" in modules  # it asked
    assert loaded_too_early(modules) == []
    assert "triage.log" not in modules and "triage.pack.loading" not in modules


def test_a_pack_given_with_rules_is_checked_before_the_first_question(tmp_path: Path) -> None:
    bad = tmp_path / "rules"
    bad.mkdir()
    done = subprocess.run(
        [sys.executable, "-m", "triage_cli.cli", "check", "--interactive", "--rules", str(bad)],
        cwd=ROOT,
        input="",
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 1 and "pack.yaml" in done.stderr
    assert "Post-session check" not in done.stderr  # no question was asked


def test_a_check_not_recorded_loads_no_log_when_there_is_none(tmp_path: Path) -> None:
    """``check --no-log`` reads the patient's history from the log, if there is one: with no
    log there, nothing of the log (nor SQLite) is loaded to find that out (issue 26)."""
    case = str(vignette_files()[9])
    absent = str(tmp_path / "log.db")
    modules = imported("check", "--answers", case, "--json", "--no-log", "--db", absent)
    assert "triage.evaluation.evaluator" in modules  # it checked
    assert "triage.log.location" in modules  # it looked for the log
    assert not {"triage.log.facade", "triage.log.sqlite", "sqlite3"} & modules
    assert not (tmp_path / "log.db").exists()


def test_a_check_not_recorded_still_reads_the_history_of_a_log_there(log_file: Path) -> None:
    case = str(vignette_files()[9])
    modules = imported("check", "--answers", case, "--json", "--no-log", "--db", str(log_file))
    assert {"triage.log.facade", "triage.log.sqlite"} <= modules
