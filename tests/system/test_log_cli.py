"""`triage check` records every check; `triage log ...` lets a clinician review them."""

from __future__ import annotations

import csv
import json
import re
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import pytest

import triage
from tests.support.backends import tamper
from tests.support.cli_runs import P03, P10, P17, check_golden, run
from tests.support.helpers import BASE, ROOT
from triage.log import TriageLog
from triage.log.sqlite import MIGRATIONS

BACKENDS = True  # every test runs on an SQLite file and a PostgreSQL database (conftest.py)


@pytest.fixture
def filled(private_log: Path) -> Path:
    for path in (P03, P17, P10):
        assert run("check", "--answers", path).exit_code == 0
    return private_log


def test_check_records_every_check_unless_no_log(private_log: Path) -> None:
    run("check", "--answers", P10)
    run("check", "--answers", P17, "--no-log")
    with TriageLog(private_log) as log:
        assert [e.patient_id for e in log.entries()] == ["pt-p10-chest-pain-ongoing"]


@pytest.mark.sqlite_only
def test_db_option_chooses_the_file(tmp_path: Path, private_log: Path) -> None:
    other = tmp_path / "other.db"
    run("check", "--answers", P10, "--db", str(other))
    assert other.exists() and not private_log.exists()


@pytest.mark.sqlite_only
@pytest.mark.parametrize("as_json", [False, True], ids=["screen", "json"])
def test_a_damaged_log_gives_the_red_flag_advice_and_no_result(
    private_log: Path, as_json: bool
) -> None:
    """The patient's record cannot be read from it, so no result (issue 21): the red-flag
    advice, exit 1; with --json, the error as JSON. A log that cannot be written is another
    matter (tests/unit/checking/test_check.py: the result is shown, not saved)."""
    private_log.write_bytes(b"not a database" * 200)
    result = run("check", "--answers", P10, *(["--json"] if as_json else []))
    assert result.exit_code == 1
    if as_json:
        error = json.loads(result.stdout)
        assert error["error"] == "unavailable" and "emergency number" in error["advice"]
        assert "urgency" not in error
    else:
        assert result.stdout == ""
    assert result.stderr.startswith("Your answers could not be checked")
    assert "damaged or is not a triage log" in result.stderr
    assert "Traceback" not in result.output


def test_list_flags_urgent_unreviewed_entries(filled: Path) -> None:
    lines = run("log", "list").stdout.splitlines()
    assert lines[0].split()[:3] == ["id", "answered", "(UTC)"]
    assert (
        lines[1].startswith("!!")
        and "pt-p10-chest-pain-ongoing" in lines[1]
        and "EMERGENCY" in lines[1]
    )
    assert "reduce load" in lines[2] and not lines[2].startswith("!")
    assert "1 urgent and unreviewed" in lines[-2]
    assert lines[-1].startswith("Whole log, unreviewed and needing action: 1 EMERGENCY, ")
    run("log", "review", "3", "--by", "Dr Ada", "--accept")
    lines = run("log", "list").stdout.splitlines()
    assert not lines[1].startswith("!") and "accepted" in lines[1]


def test_list_filters_and_json(filled: Path) -> None:
    data = json.loads(run("log", "list", "--outcome", "reduce_load", "--json").stdout)
    assert [e["patient_id"] for e in data] == ["pt-p17-fever"]
    assert (
        json.loads(run("log", "list", "--patient", "pt-p03-doms-30h", "--json").stdout)[0][
            "outcome"
        ]
        == "continue"
    )
    assert json.loads(run("log", "list", "--since", "2999-01-01", "--json").stdout) == []
    assert len(json.loads(run("log", "list", "--limit", "2", "--json").stdout)) == 2
    assert run("log", "list", "--since", "yesterday").exit_code == 2


def test_show_gives_answers_reasons_sources_rules_and_reviews(filled: Path) -> None:
    override = ("--override", "--reason", "other", "--note", "Seen in clinic.")
    run("log", "review", "3", "--by", "Dr Ada", *override)
    text = run("log", "show", "3").stdout
    for part in (
        "Entry 3: pt-p10-chest-pain-ongoing",
        "Outcome: EMERGENCY",
        "emergency.chest-pain-ongoing",
        "source: triage policy v3 E1",
        "chest_pain: ongoing",
        f"Rules: post-session-safety {triage.default_pack().version}",
        "sha256 ",
        "overridden by Dr Ada: Seen in clinic.",
    ):
        assert part in text, part
    data = json.loads(run("log", "show", "3", "--json").stdout)
    assert (
        data["decision"]["urgency"] == "emergency" and data["reviews"][0]["verdict"] == "overridden"
    )


def test_review_rules(filled: Path) -> None:
    assert run("log", "review", "1", "--by", "Dr Ada").exit_code == 2  # neither flag
    bare = run("log", "review", "1", "--by", "Dr Ada", "--override")
    assert bare.exit_code == 1 and "field 'reason'" in bare.stderr and "field 'note'" in bare.stderr
    missing = run("log", "review", "99", "--by", "Dr Ada", "--accept")
    assert missing.exit_code == 1 and "there is no entry 99" in missing.stderr
    ok = run("log", "review", "1", "--by", "Dr Ada", "--accept", "--note", "fine")
    assert ok.stdout == "Review 1 recorded: entry 1 accepted by Dr Ada.\n"


def test_export_jsonl_and_csv_to_owner_only_files(filled: Path, tmp_path: Path) -> None:
    jsonl, table = tmp_path / "out.jsonl", tmp_path / "out.csv"
    result = run("log", "export", "--format", "jsonl", "--output", str(jsonl))
    assert result.exit_code == 0 and "Exported 3 entries" in result.stderr
    rows = [json.loads(line) for line in jsonl.read_text().splitlines()]
    assert [r["id"] for r in rows] == [1, 2, 3] and rows[2]["decision"]["urgency"] == "emergency"
    run(
        "log",
        "export",
        "--format",
        "csv",
        "--output",
        str(table),
        "--outcome",
        "seek_medical_review",
    )
    records = list(csv.DictReader(table.open()))
    assert [(r["id"], r["urgency"], r["rules_fired"]) for r in records] == [
        ("3", "emergency", "emergency.chest-pain-ongoing;same-day.chest-pain")
    ]
    assert stat.S_IMODE(jsonl.stat().st_mode) == 0o600
    assert not list(tmp_path.glob("*.partial"))


def test_export_to_stdout(filled: Path) -> None:
    lines = run(
        "log", "export", "--format", "jsonl", "--patient", "pt-p17-fever"
    ).stdout.splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["outcome"] == "reduce_load"


def test_trend_chart_has_dates_pain_and_outcomes(private_log: Path, tmp_path: Path) -> None:
    for during, now in ((2, 1), (4, 3), (7, 6)):
        path = tmp_path / f"r{during}.json"
        data = {
            **BASE,
            "patient_id": "pt-t",
            "pain_during": during,
            "pain_now": now,
            "pain_site": "muscle",
            "pain_region": "thigh",
        }
        path.write_text(json.dumps(data))
        run("check", "--answers", str(path))
    lines = run("log", "trend", "--patient", "pt-t").stdout.splitlines()
    assert lines[0].startswith("Patient pt-t: 3 checks, ")
    assert "██········  2    █·········  1" in lines[2] and lines[2].endswith("continue")
    assert "███████···  7" in lines[4] and lines[4].endswith("reduce load")


def test_verify_ok_then_tampered(filled: Path) -> None:
    ok = run("log", "verify")
    assert (
        ok.exit_code == 0
        and ok.stdout.startswith("ok: ")
        and "3 entries and 0 reviews" in ok.stdout
    )
    tamper(filled, "UPDATE entries SET outcome = 'continue' WHERE id = 3")
    bad = run("log", "verify")
    assert bad.exit_code == 1
    assert "First bad record: entry 3 (record 3) does not match its hash" in bad.stdout


@pytest.mark.sqlite_only
@pytest.mark.parametrize("case", ["missing", "newer-schema", "corrupt"])
def test_log_errors_golden(case: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "log.db"
    if case == "newer-schema":
        TriageLog(path).close()
        with sqlite3.connect(path) as conn:
            conn.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    elif case == "corrupt":
        path.write_bytes(b"garbage" * 1000)
    result = run("log", "list", "--db", str(path))
    assert result.exit_code == 1 and "Traceback" not in result.output
    check_golden(case, result.stderr.replace(str(path), "LOG"))


def test_log_commands_do_not_load_the_report_models(filled: Path) -> None:
    """They start in about a third of the time of 'check' (see benchmarks/bench_log.py)."""
    code = (
        "import sys\nimport triage_cli.cli as cli\n"
        "try:\n    cli.main(['log', 'list', '--db', sys.argv[1]])\n"
        "except SystemExit:\n    pass\n"
        "print('pydantic' in sys.modules, 'triage.contract.report' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code, str(filled)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.splitlines()[-1] == "False False", out.stderr


def test_counts_of_one_are_singular(tmp_path: Path) -> None:
    """'1 entry', '1 review', '1 check': never '1 entries' (issue 20)."""
    path = tmp_path / "one.db"
    run("check", "--answers", str(P10), "--db", str(path))
    run("log", "review", "1", "--by", "Dr A", "--accept", "--db", str(path))
    shown = "\n".join(
        run(*command, "--db", str(path)).output
        for command in (
            ["log", "list"],
            ["log", "verify"],
            ["log", "trend", "--patient", "pt-p10-chest-pain-ongoing"],
        )
    )
    assert "1 entry" in shown and "1 review;" in shown and "1 check," in shown
    assert not re.search(r"\b1 (entries|reviews|checks|rows|cases|other ways)\b", shown)
