"""Exports a spreadsheet cannot run, that never overwrite by surprise, never write through a
link, never replace what is not a regular file, and never leave a partial file behind."""

from __future__ import annotations

import csv
import io
import json
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import triage
from tests.support.backends import tamper
from tests.support.cli_runs import P03, P10, P17, check_golden, run
from tests.support.helpers import load_case
from triage.log import Entry, TriageLog
from triage.views.export import CSV_COLUMNS, neutralised, write_export

BACKENDS = True  # every test runs on an SQLite file and a PostgreSQL database (conftest.py)


@pytest.fixture
def filled(private_log: Path) -> Path:
    with TriageLog(private_log) as log:
        log.record_many(triage.evaluate(load_case(Path(p))["report"]) for p in (P03, P17, P10))
    return private_log


@pytest.fixture
def outdir(tmp_path: Path) -> Path:
    """A folder for the exports alone (the log is in tmp_path)."""
    folder = tmp_path / "exports"
    folder.mkdir()
    return folder


def export(*args: str) -> tuple[int, str]:
    result = run("log", "export", *args)
    return result.exit_code, result.stderr


# -- spreadsheet injection ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+1+1", "'+1+1"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Dr Ada", "Dr Ada"),
        ("", ""),
        (None, ""),
        (7, 7),
    ],
    ids=[
        "equals",
        "plus",
        "minus",
        "at",
        "tab",
        "carriage-return",
        "plain",
        "empty",
        "none",
        "number",
    ],
)
def test_text_cells_that_start_a_formula_get_a_leading_quote(cell: object, written: object) -> None:
    assert neutralised(cell) == written


def test_csv_export_neutralises_names_and_notes_and_includes_the_last_note(filled: Path) -> None:
    with TriageLog(filled) as log:
        log.review(3, by="=cmd|' /C calc'!A0", verdict="accepted", note="first")
        log.review(
            3, by="@Dr Ada", verdict="overridden", reason="other", note="-2+3 seen; +1 cleared"
        )
        log.review(2, by="Dr Bo", verdict="accepted", note='=HYPERLINK("http://evil")')
    result = run("log", "export", "--format", "csv")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[0] == ",".join(f'"{c}"' for c in CSV_COLUMNS)
    rows = {row["id"]: row for row in csv.DictReader(io.StringIO(result.stdout))}
    assert (rows["3"]["last_reviewer"], rows["3"]["last_note"]) == (
        "'@Dr Ada",
        "'-2+3 seen; +1 cleared",
    )
    assert rows["2"]["last_note"] == '\'=HYPERLINK("http://evil")'
    assert (rows["1"]["reviews"], rows["1"]["last_note"]) == ("0", "")
    assert rows["3"]["contract_version"] == "3"
    for row in rows.values():
        assert not any(v.startswith(("=", "+", "-", "@")) for v in row.values())


def test_every_text_cell_is_quoted_and_numbers_are_not(filled: Path) -> None:
    first_row = run("log", "export", "--format", "csv").stdout.splitlines()[1]
    assert first_row.startswith('1,"') and ',0,"' in first_row  # id and review count bare


# -- the output file -------------------------------------------------------------------------------


def test_an_existing_output_is_refused_unless_force(filled: Path, outdir: Path) -> None:
    target = outdir / "out.csv"
    target.write_text("precious")
    target.chmod(0o644)
    code, stderr = export("--format", "csv", "--output", str(target))
    assert code == 1 and target.read_text() == "precious"
    check_golden("export-exists", stderr.replace(str(outdir), "TMP"))
    code, stderr = export("--format", "csv", "--output", str(target), "--force")
    assert code == 0 and "Exported 3 entries" in stderr
    assert target.read_text().startswith('"id",')
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert sorted(p.name for p in outdir.iterdir() if p.name.startswith(".")) == []


def test_a_symlink_at_the_old_partial_name_is_not_followed(filled: Path, outdir: Path) -> None:
    victim = outdir / "victim.txt"
    victim.write_text("precious")
    (outdir / "out.jsonl.partial").symlink_to(victim)
    code, _ = export("--format", "jsonl", "--output", str(outdir / "out.jsonl"))
    assert code == 0 and victim.read_text() == "precious"
    assert len((outdir / "out.jsonl").read_text().splitlines()) == 3


@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_a_symlink_as_the_output_is_never_replaced(filled: Path, outdir: Path, force: bool) -> None:
    victim = outdir / "victim.txt"
    victim.write_text("precious")
    link = outdir / "out.csv"
    link.symlink_to(victim)
    code, stderr = export("--format", "csv", "--output", str(link), *(["--force"] if force else []))
    assert code == 1 and link.is_symlink() and victim.read_text() == "precious"
    check_golden("export-symlink", stderr.replace(str(outdir), "TMP"))


@pytest.mark.parametrize("force", [False, True], ids=["plain", "force"])
def test_a_device_or_pipe_as_the_output_is_never_replaced(
    filled: Path, outdir: Path, force: bool
) -> None:
    fifo = outdir / "pipe"
    os.mkfifo(fifo)
    flags = ["--force"] if force else []
    code, stderr = export("--format", "csv", "--output", str(fifo), *flags)
    assert code == 1 and stat.S_ISFIFO(fifo.lstat().st_mode)
    assert "is a named pipe, not a regular file" in stderr
    code, stderr = export("--format", "csv", "--output", os.devnull, *flags)
    assert code == 1 and stat.S_ISCHR(os.lstat(os.devnull).st_mode)
    assert "/dev/null is a character device, not a regular file" in stderr


def test_an_output_in_a_missing_folder_is_a_clear_error(filled: Path, outdir: Path) -> None:
    code, stderr = export("--format", "csv", "--output", str(outdir / "nope" / "out.csv"))
    assert code == 1 and "the folder" in stderr and "does not exist" in stderr
    assert not (outdir / "nope").exists()


def test_an_interrupted_export_leaves_nothing(filled: Path, outdir: Path) -> None:
    def failing() -> Iterator[Entry]:
        with TriageLog(filled) as log:
            yield from log.export(limit=2)
        raise KeyboardInterrupt

    target = outdir / "out.jsonl"
    with pytest.raises(KeyboardInterrupt):
        write_export(failing(), "jsonl", target)
    assert list(outdir.iterdir()) == []


def test_something_appearing_at_the_output_meanwhile_is_not_replaced(
    filled: Path, outdir: Path
) -> None:
    """Without --force the export is linked into place, which fails if anything is there."""
    target = outdir / "out.jsonl"

    def racing() -> Iterator[Entry]:
        with TriageLog(filled) as log:
            yield from log.export()
        target.write_text("written meanwhile")

    with pytest.raises(triage.StorageError, match="already exists"):
        write_export(racing(), "jsonl", target)
    assert target.read_text() == "written meanwhile"
    assert [p.name for p in outdir.iterdir()] == ["out.jsonl"]


# -- one query, nothing parsed ------------------------------------------------------------------


@pytest.fixture
def reviewed(filled: Path) -> Path:
    """Entries with no review, one, and two, whose texts hold what a spreadsheet or a terminal
    would act on (as an edit outside triage could leave them)."""
    with TriageLog(filled) as log:
        log.review(1, by="=Dr Ada", verdict="accepted", note="-2+3 seen")
        log.review(1, by="Dr Bo", verdict="overridden", reason="other", note="+1 cleared")
        log.review(3, by="Dr Cy", verdict="accepted", note="placeholder")
    tamper(filled, "UPDATE reviews SET note = ? WHERE id = 3", "\x1b[2J\t\x9b0m \u202eevil")
    tamper(filled, "UPDATE entries SET top_reason = ? WHERE id = 2", "@Fever\x1b]8;;x\x07")
    return filled


def written(entries: Iterator[Any], fmt: str, folder: Path, name: str) -> bytes:
    target = folder / name
    write_export(entries, fmt, target)
    return target.read_bytes()


def test_the_one_query_export_writes_what_the_entries_give(reviewed: Path, outdir: Path) -> None:
    """``TriageLog.export_rows`` (what 'triage log export' writes from) gives the CSV file that
    the entries in full give, byte for byte, and the same JSON Lines, as data."""
    with TriageLog(reviewed) as log:
        for fmt in ("csv", "jsonl"):
            full = written(log.export(), fmt, outdir, f"full.{fmt}")
            fast = written(log.export_rows(whole=fmt == "jsonl"), fmt, outdir, f"fast.{fmt}")
            if fmt == "csv":
                assert fast == full
            else:
                lines = fast.decode().splitlines()
                assert [json.loads(x) for x in lines] == [
                    json.loads(x) for x in full.decode().splitlines()
                ]
                assert not any(c in fast.decode() for c in "\x1b\x07\x9b\u202e\t")
                assert len(lines) == 3


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_export_reads_the_log_in_one_query(reviewed: Path, fmt: str) -> None:
    with TriageLog(reviewed) as log:
        statements: list[str] = []
        store: Any = log._store
        if log.backend == "PostgreSQL":  # every query of the store is one _all or _stream
            for method in ("_all", "_stream"):
                setattr(store, method, _recording(getattr(store, method), statements))
        else:
            store.conn.set_trace_callback(statements.append)
        assert sum(1 for _ in log.export_rows(whole=fmt == "jsonl")) == 3
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1


def _recording(method: Any, statements: list[str]) -> Any:
    def recorded(sql: str, *args: Any) -> Any:
        statements.append(sql)
        return method(sql, *args)

    return recorded


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_export_of_damaged_json_is_a_storage_error(reviewed: Path, fmt: str) -> None:
    tamper(reviewed, "UPDATE entries SET decision_json = '{\"reasons\": [' WHERE id = 2")
    with TriageLog(reviewed) as log, pytest.raises(triage.StorageError, match="damaged") as info:
        list(log.export_rows(whole=fmt == "jsonl"))
    if log.backend == "PostgreSQL" or fmt == "jsonl":
        assert "entry 2 " in str(info.value) and "decision_json" in str(info.value)
