"""The CLI: check with files and stdin, JSON and exit codes, clear errors, schema, rules."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import triage
from tests.support.golden_files import check_golden
from tests.support.helpers import BASE, ROOT, VIGNETTE_DIR, report
from triage_cli.cli import EXIT_CODES, main

P10_EMERGENCY = VIGNETTE_DIR / "p10-chest-pain-ongoing.yaml"


def run(*args: str, input: str | None = None) -> Result:  # noqa: F821
    return CliRunner().invoke(main, list(args), input=input)


def write(tmp_path: Path, data: dict, name: str = "answers.yaml") -> str:
    path = tmp_path / name
    path.write_text(json.dumps(data) if name.endswith(".json") else yaml.safe_dump(data))
    return str(path)


@pytest.mark.parametrize(
    ("answers", "outcome", "status"),
    [
        ({}, ("continue", None), 0),
        ({"unwell": True}, ("reduce_load", None), 3),
        ({"dizziness": "resolved"}, ("seek_medical_review", "routine"), 4),
        ({"fainting": "nearly"}, ("seek_medical_review", "same_day"), 5),
        ({"confusion": True}, ("seek_medical_review", "emergency"), 6),
    ],
    ids=["continue", "reduce_load", "routine", "same_day", "emergency"],
)
def test_exit_code_per_outcome(tmp_path: Path, answers: dict, outcome: tuple, status: int) -> None:
    path = write(tmp_path, report(**answers))
    assert run("check", "--answers", path).exit_code == 0
    result = run("check", "--answers", path, "--exit-code", "--json")
    assert result.exit_code == status == EXIT_CODES[outcome]
    data = json.loads(result.stdout)
    assert (data["outcome"], data.get("urgency")) == outcome


def test_reads_json_from_stdin() -> None:
    result = run("check", "--answers", "-", "--json", input=json.dumps(report(unwell=True)))
    assert result.exit_code == 0
    assert json.loads(result.stdout)["outcome"] == "reduce_load"


def test_reads_a_json_file(tmp_path: Path) -> None:
    result = run("check", "--answers", write(tmp_path, report(), "a.json"), "--json")
    assert json.loads(result.stdout)["outcome"] == "continue"


def test_emergency_screen_starts_with_the_call_now_line() -> None:
    result = run("check", "--answers", str(P10_EMERGENCY))
    first, *rest = result.stdout.splitlines()
    assert (
        first
        == "STOP EXERCISING AND CALL YOUR LOCAL EMERGENCY NUMBER NOW (for example 999, 112 or 911)."
    )
    assert "can be a sign of a heart problem" in " ".join(" ".join(rest).split())
    assert "\x1b[" not in result.stdout  # not a terminal: no colour


def test_continue_screen_reassures_and_advises(tmp_path: Path) -> None:
    result = run("check", "--answers", write(tmp_path, report(reps_in_reserve=3)))
    text = result.stdout
    assert text.startswith("Carry on with your programme.")
    assert "Advice:" in text and "add 2-10%" in text


BAD_INPUTS = [
    ("missing file", None, "cannot read", "file not found"),
    ("not yaml", "a: [1,\n", "cannot read", "not valid YAML"),
    ("not a mapping", "- 1\n- 2\n", "do not fit the report contract", "must be a mapping"),
    ("typo in field", None, "do not fit the report contract", "did you mean 'chest_pain'?"),
]


@pytest.mark.parametrize(
    ("content", "header", "detail"), [r[1:] for r in BAD_INPUTS], ids=[r[0] for r in BAD_INPUTS]
)
def test_bad_answers_file_gives_a_message_not_a_traceback(
    tmp_path: Path, content: str | None, header: str, detail: str
) -> None:
    path = tmp_path / "answers.yaml"
    if content is not None:
        path.write_text(content)
    elif "typo" in detail or "chest_pain" in detail:
        path.write_text(yaml.safe_dump({**BASE, "chest_pian": "none"}))
    result = run("check", "--answers", str(path))
    assert result.exit_code == 1
    assert result.stdout == ""
    assert header in result.stderr and detail in result.stderr
    assert "Traceback" not in result.stderr
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


def test_bad_report_golden_message(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    golden = ROOT / "tests" / "support" / "golden" / "reports"
    monkeypatch.chdir(golden)
    result = run("check", "--answers", "typos.yaml")
    assert result.exit_code == 1
    check_golden("reports/typos.txt", result.stderr)


def test_bad_rules_are_refused_before_any_check(tmp_path: Path) -> None:
    broken = ROOT / "tests" / "support" / "golden" / "packs" / "values"
    result = run("check", "--answers", str(P10_EMERGENCY), "--rules", str(broken))
    assert result.exit_code == 1
    assert "is refused" in result.stderr and result.stdout == ""


def test_usage_errors_exit_2() -> None:
    assert run("check", "--bogus").exit_code == 2
    assert run("check", "--engine", "drools", "--answers", "-").exit_code == 2


def test_engine_option_and_custom_rules(tmp_path: Path) -> None:
    result = run(
        "check",
        "--answers",
        str(P10_EMERGENCY),
        "--json",
        "--engine",
        "reference",
        "--rules",
        str(ROOT / "rules"),
    )
    data = json.loads(result.stdout)
    assert data["engine"]["name"] == "reference" and data["urgency"] == "emergency"


def test_schema_prints_the_json_schema() -> None:
    schema = json.loads(run("schema").stdout)
    assert schema["properties"]["chest_pain"]["enum"] == ["none", "resolved", "ongoing"]
    assert "pain_site" in json.dumps(schema["allOf"])


def test_rules_list_table_and_json() -> None:
    table = run("rules", "list").stdout.splitlines()
    pack = triage.default_pack()
    assert table[0].startswith(f"post-session-safety {pack.version}: {len(pack.rules)} rules")
    assert table[1].split()[:3] == ["E1", "emergency.chest-pain-ongoing", "seek_medical_review"]
    data = json.loads(run("rules", "list", "--json").stdout)
    assert len(data["rules"]) == len(pack.rules) and data["rules"][0]["urgency"] == "emergency"
    assert data["rules"][-1]["outcome"] == "continue"


def test_version_and_help() -> None:
    assert run("--version").stdout.startswith("triage, version ")
    for command in (["check"], ["schema"], ["rules", "check"], ["rules", "list"]):
        result = run(*command, "--help")
        assert result.exit_code == 0 and "Usage:" in result.stdout
