"""Where the log is: owner-only when triage starts it, a new log only where one was meant to be,
URLs that name a backend triage lacks refused, and a clear word for what is not a log."""

from __future__ import annotations

import os
import sqlite3
import stat
from pathlib import Path

import pytest

import triage
from tests.support.cli_runs import P10, check_golden, run
from tests.support.helpers import report
from triage.log import TriageLog
from triage.log.location import default_log_path


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# -- owner-only ----------------------------------------------------------------------------------


@pytest.mark.parametrize("given", [0o644, 0o666], ids=oct)
def test_an_existing_empty_file_is_made_owner_only_when_triage_starts_a_log_in_it(
    tmp_path: Path, given: int
) -> None:
    path = tmp_path / "log.db"
    path.touch()
    path.chmod(given)
    with TriageLog(path) as log:
        assert log.created
        log.record(triage.evaluate(report()))
        assert log.verify().ok
    assert mode(path) == 0o600
    for companion in tmp_path.glob("log.db-*"):  # the WAL files, while they exist
        assert mode(companion) == 0o600, companion.name


def test_a_new_log_is_owner_only_and_says_it_was_created(tmp_path: Path) -> None:
    with TriageLog(tmp_path / "log.db") as log:
        assert log.created
    assert mode(tmp_path / "log.db") == 0o600
    with TriageLog(tmp_path / "log.db") as log:
        assert not log.created


def test_an_existing_log_keeps_its_mode(tmp_path: Path) -> None:
    """A log triage did not start is not triage's to change (a clinic may share it by group)."""
    path = tmp_path / "log.db"
    TriageLog(path).close()
    path.chmod(0o640)
    TriageLog(path).close()
    assert mode(path) == 0o640


# -- where a new log may be started ------------------------------------------------------------


def test_a_missing_folder_is_refused_and_not_created(tmp_path: Path) -> None:
    path = tmp_path / "typo" / "deeper" / "log.db"
    with pytest.raises(triage.StorageError) as info:
        TriageLog(path)
    assert not (tmp_path / "typo").exists()
    check_golden("missing-folder", info.value.explain().replace(str(tmp_path), "TMP") + "\n")


def test_check_with_a_missing_folder_shows_the_result_and_creates_nothing(tmp_path: Path) -> None:
    result = run("check", "--answers", P10, "--db", str(tmp_path / "typo" / "log.db"))
    assert result.exit_code == 1
    assert result.stdout.startswith("STOP EXERCISING")
    assert "the folder" in result.stderr and "does not exist" in result.stderr
    assert not (tmp_path / "typo").exists()


def test_triage_db_with_a_missing_folder_is_refused_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAGE_DB", str(tmp_path / "typo" / "log.db"))
    with pytest.raises(triage.StorageError, match="does not exist"):
        TriageLog()
    assert not (tmp_path / "typo").exists()


def test_only_the_default_place_gets_its_folders(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRIAGE_DB")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    with TriageLog() as log:
        assert log.created and log.path == default_log_path()
    assert mode(tmp_path / "data" / "triage") == 0o700


@pytest.mark.parametrize(
    "command",
    [
        ["log", "list"],
        ["log", "show", "1"],
        ["log", "review", "1", "--by", "Dr Ada", "--accept"],
        ["log", "export", "--format", "jsonl"],
        ["log", "trend", "--patient", "pt-x"],
        ["log", "verify"],
    ],
    ids=lambda c: "-".join(c[:2]),
)
def test_log_commands_never_start_a_log(tmp_path: Path, command: list[str]) -> None:
    path = tmp_path / "none.db"
    result = run(*command, "--db", str(path))
    assert result.exit_code == 1 and "there is no triage log at" in result.stderr
    assert not path.exists()


# -- what is not a log -------------------------------------------------------------------------


def test_a_url_of_a_backend_triage_lacks_is_refused_naming_the_scheme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("log", "list", "--db", "mysql://clinic@db.example/triage")
    assert result.exit_code == 1 and "Traceback" not in result.output
    check_golden("url-scheme", result.stderr)
    with pytest.raises(triage.StorageError, match=r"mysql:// logs are not supported$"):
        TriageLog("mysql://clinic@db.example/triage")
    monkeypatch.setenv("TRIAGE_DB", "mysql://db.example/triage")
    with pytest.raises(triage.StorageError, match=r"mysql:// logs are not supported$"):
        TriageLog()
    assert list(tmp_path.iterdir()) == []  # no folder named 'mysql:'


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://clinic:s3cret-pw@127.0.0.1:1/triage",
        "postgres://clinic@127.0.0.1:1/triage?password=s3cret-pw&connect_timeout=5",
    ],
    ids=["in-netloc", "in-options"],
)
def test_an_unreachable_server_is_named_without_its_password(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str
) -> None:
    monkeypatch.chdir(tmp_path)
    result = run("log", "list", "--db", url)
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert "cannot reach the triage log postgres" in result.stderr
    assert "clinic@127.0.0.1:1/triage" in result.stderr and "s3cret" not in result.output
    monkeypatch.setenv("TRIAGE_DB", url)
    with pytest.raises(triage.StorageError) as info:
        TriageLog()
    assert "s3cret" not in str(info.value) + str(info.value.to_dict())
    assert list(tmp_path.iterdir()) == []  # no folder named 'postgresql:'


def test_a_sqlite_url_names_the_file(tmp_path: Path) -> None:
    with TriageLog(f"sqlite://{tmp_path}/url.db") as log:
        assert log.path == tmp_path / "url.db" and log.created
    assert (tmp_path / "url.db").exists()


@pytest.mark.parametrize(
    "url", ["sqlite://host/x.db", "sqlite:///x.db?mode=ro", "sqlite://"], ids=str
)
def test_a_sqlite_url_with_a_host_or_options_is_refused(tmp_path: Path, url: str) -> None:
    with pytest.raises(triage.StorageError, match="sqlite:/// followed by the file's absolute"):
        TriageLog(url)


def test_a_folder_given_as_the_log_is_called_a_folder(tmp_path: Path) -> None:
    folder = tmp_path / "records"
    folder.mkdir()
    result = run("log", "list", "--db", str(folder))
    assert result.exit_code == 1
    check_golden("folder", result.stderr.replace(str(tmp_path), "TMP"))


def test_an_empty_file_is_not_read_as_a_log_and_is_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    path.touch()
    path.chmod(0o644)
    result = run("log", "list", "--db", str(path))
    assert result.exit_code == 1
    check_golden("empty-file", result.stderr.replace(str(tmp_path), "TMP"))
    assert path.stat().st_size == 0 and mode(path) == 0o644


def test_another_programs_database_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE notes (text TEXT)")
    with pytest.raises(triage.StorageError, match="an SQLite database of another program"):
        TriageLog(path)
    with sqlite3.connect(path) as conn:
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master")]
    assert tables == ["notes"]


def test_a_device_is_not_a_log() -> None:
    with pytest.raises(triage.StorageError, match="/dev/null is not a regular file"):
        TriageLog(os.devnull)
