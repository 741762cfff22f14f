"""Bad input found by trying what users and attackers do (issue 8, section 3): each gets a clean,
located message (golden files in tests/support/golden/input/, regenerated on purpose only with
TRIAGE_REGOLD=1), within a second, never a traceback or the whole value echoed back."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import triage
from tests.support.fuzz import alias_bomb
from tests.support.golden_files import check_golden
from tests.support.helpers import BASE, ROOT, report
from triage.yamlio import MAX_BYTES
from triage_cli.cli import main

GOLDEN = ROOT / "tests" / "support" / "golden" / "input"


def yaml_report(**changes: str) -> str:
    """BASE as YAML text, with some lines' values replaced by raw YAML text."""
    lines = []
    for key, value in BASE.items():
        text = changes.pop(key, json.dumps(value))
        lines.append(f"{key}: {text}")
    lines += [f"{key}: {text}" for key, text in changes.items()]
    return "\n".join(lines) + "\n"


CASES = {
    "huge-integer": ("answers.yaml", yaml_report(pain_now="9" * 5000)),
    "huge-integer-json": (
        "answers.json",
        json.dumps(BASE)[:-1] + ', "pain_during": ' + "9" * 5000 + "}",
    ),
    "tag-bool": ("answers.yaml", yaml_report(confusion="!!bool off")),
    "tag-int": ("answers.yaml", yaml_report(pain_now="!!int 0x10")),
    "tag-timestamp": ("answers.yaml", yaml_report(reported_at="!!timestamp junk")),
    "alias-bomb": ("answers.yaml", alias_bomb(9)),
    "unknown-keys": ("answers.yaml", yaml_report(**{f"k{i}": "1" for i in range(100_000)})),
    "huge-patient-id": ("answers.yaml", yaml_report(patient_id="x" * 1_500_000)),
    "too-large": ("answers.yaml", yaml_report() + "#" * (MAX_BYTES + 10)),
    "json-syntax": ("answers.json", '{"patient_id": "pt-1",\n "pain_now": 3,\n}'),
    "bom-json": ("answers.json", "\ufeff" + json.dumps({**BASE, "pain_now": "3"})),
    "reported-at-year-1": ("answers.yaml", yaml_report(reported_at='"0001-01-01T00:00:00Z"')),
    "reported-at-unix": ("answers.yaml", yaml_report(reported_at="0")),
    "reported-at-no-offset": ("answers.yaml", yaml_report(reported_at='"2026-11-21T09:30:00"')),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_gets_a_short_located_message(name: str, tmp_path: Path) -> None:
    file, text = CASES[name]
    path = tmp_path / file
    path.write_text(text, encoding="utf-8")
    start = time.process_time()
    result = CliRunner().invoke(main, ["check", "--answers", str(path), "--no-log"])
    elapsed = time.process_time() - start
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert elapsed < 5, f"{name} took {elapsed:.1f} s"
    message = result.stderr.replace(str(tmp_path), "<tmp>")
    assert len(message) < 12_000, "a value is echoed back whole"
    check_golden(f"input/{name}.txt", message)


def test_invalid_utf8_on_standard_input_is_named(tmp_path: Path) -> None:
    raw = json.dumps(BASE).encode()[:40] + b"\xff\xfe" + json.dumps(BASE).encode()[40:]
    result = CliRunner().invoke(main, ["check", "--answers", "-", "--no-log"], input=raw)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "<stdin>" in result.stderr and "is not UTF-8 text (byte 41 is 0xff)" in result.stderr


def test_a_json_error_object_lists_every_problem_on_stdout(tmp_path: Path) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps({**BASE, "pain_now": "3", "chest_pian": "none"}))
    result = CliRunner().invoke(main, ["check", "--answers", str(path), "--json", "--no-log"])
    assert result.exit_code == 1
    error = json.loads(result.stdout)
    assert error["error"] == "report" and error["source"] == str(path)
    assert [p["field"] for p in error["problems"]] == ["pain_now", "chest_pian"]
    assert all(p["fix"] for p in error["problems"])


def test_an_earlier_check_with_an_impossible_date_is_refused_not_a_traceback() -> None:
    earlier = report(reported_at="0001-01-01T00:00:00Z")
    with pytest.raises(triage.ReportError, match="in 2000-2099"):
        triage.evaluate(report(), history=[earlier])


@pytest.mark.parametrize("moment", ["2000-01-01T00:00:00Z", "2099-12-31T23:59:59+14:00"])
def test_the_earliest_and_latest_dates_still_give_the_patient_a_result(
    tmp_path: Path, moment: str
) -> None:
    """The history window reaches before 2000 or the log's dates: it is cut, never an error."""
    db = tmp_path / "log.db"
    for days in (0, 1):
        triage.check(
            report(patient_id="pt-edge", reported_at=f"2050-06-0{days + 1}T10:00:00Z"), log=db
        )
    chest = report(patient_id="pt-edge", reported_at=moment, chest_pain="ongoing",
                   chest_pain_kind="pressure")  # fmt: skip
    path = tmp_path / "chest.json"
    path.write_text(json.dumps(chest))
    result = CliRunner().invoke(main, ["check", "--answers", str(path), "--db", str(db)])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("STOP EXERCISING")


def test_a_hundred_thousand_unknown_keys_through_the_api_are_counted_not_listed() -> None:
    start = time.process_time()
    with pytest.raises(triage.ReportError) as info:
        triage.parse_report({**BASE, **{f"k{i}": 1 for i in range(100_000)}})
    assert time.process_time() - start < 5
    problems = info.value.problems
    assert len(problems) == 51 and problems[-1].message == "and 99,950 more problems like these"


@pytest.mark.parametrize("extra", [0, 1])
def test_json_nested_at_the_limit_is_read_and_one_deeper_is_refused(extra: int) -> None:
    """The nesting scan is skipped when the text has too few brackets to nest deeper than the
    limit (issue 26): the boundary holds either way, and brackets in strings count as text."""
    from triage.errors import InputError
    from triage.yamlio import MAX_DEPTH, parse_json

    levels = MAX_DEPTH + extra
    text = "[" * levels + "]" * levels
    inner = "[" * (levels - 1) + "]" * (levels - 1)  # in an object: one level more
    quoted = json.dumps({"note": "[" * 200, "value": json.loads(inner)})
    for source in (text, quoted):
        if extra:
            with pytest.raises(InputError, match=f"nested more than {MAX_DEPTH} deep"):
                parse_json(source, "body")
        else:
            assert parse_json(source, "body") == json.loads(source)
