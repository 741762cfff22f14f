"""`triage patient link`, `links` and `unlink` (issue 27, part 1): the link printed once with its
QR code written owner-only, a listing that never shows a link, revocation by prefix, and every
refusal a message with its fix, never a traceback."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import Result

from tests.support.cli_runs import run
from tests.support.helpers import ROOT
from triage.log import TriageLog
from triage.log.links import qr_svg

BACKENDS = True  # every test runs on an SQLite file and a PostgreSQL database (conftest.py)


@pytest.fixture
def folder(private_log: Path | str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A log with patient pt-1, no accounts, and a folder to write QR codes in (the current
    one)."""
    monkeypatch.delenv("TRIAGE_PUBLIC_URL", raising=False)
    with TriageLog(private_log) as log:
        log.set_patient("pt-1", age=40, by="Dr Ada")
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    return here


def refused(result: Result, exit_code: int = 1) -> str:
    """The error message of a refused command: on stderr, no traceback."""
    assert result.exit_code == exit_code, result.output
    assert isinstance(result.exception, SystemExit), result.exception
    assert "Traceback" not in result.output and result.stdout == ""
    return result.stderr


def made_link(*args: str) -> str:
    result = run("patient", "link", *args)
    assert result.exit_code == 0, result.output
    [url] = result.stdout.splitlines()  # only the link on stdout: it can be piped
    return url


def test_link_prints_the_url_once_and_writes_its_qr_code_owner_only(
    folder: Path, private_log: Path | str
) -> None:
    result = run("patient", "link", "pt-1", "--by", "Dr Ada", "--days", "30")
    assert result.exit_code == 0, result.output
    [url] = result.stdout.splitlines()
    assert (
        url.startswith("http://127.0.0.1:8000/p/")
        and len(url) == len("http://127.0.0.1:8000/p/") + 43
    )
    token = url.rsplit("/", 1)[1]
    svg = folder / "triage-link-pt-1.svg"
    assert stat.S_IMODE(svg.stat().st_mode) == 0o600
    assert svg.read_text("utf-8") == qr_svg(url)  # segno's QR code of that URL
    said = result.stderr
    assert f"Link {token[:8]} for pt-1, made by Dr Ada; expires " in said
    assert "QR code: triage-link-pt-1.svg (readable by you only)." in said
    assert f"'triage patient unlink {token[:8]}' withdraws it" in said and token not in said
    with TriageLog(private_log) as log:
        link = log.links.for_token(token)
    assert link is not None and (link.patient, link.created_by) == ("pt-1", "Dr Ada")
    assert link.created_at[:10] < link.expires_at[:10]


def test_the_base_url_comes_from_the_option_then_the_environment(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAGE_PUBLIC_URL", "https://triage.clinic.example/")
    assert made_link("pt-1", "--qr", "a.svg").startswith("https://triage.clinic.example/p/")
    url = made_link("pt-1", "--qr", "b.svg", "--base-url", "https://other.example/t")
    assert url.startswith("https://other.example/t/p/")
    assert (folder / "b.svg").read_text("utf-8") == qr_svg(url)
    message = refused(run("patient", "link", "pt-1", "--qr", "c.svg", "--base-url", "x.example"))
    assert "'x.example' (--base-url) is not a web address" in message
    assert not (folder / "c.svg").exists()


def test_an_existing_qr_file_is_refused_before_any_link_is_made(
    folder: Path, private_log: Path | str
) -> None:
    first = made_link("pt-1")
    message = refused(run("patient", "link", "pt-1"))
    assert "triage-link-pt-1.svg exists already" in message and "--force" in message
    with TriageLog(private_log) as log:
        assert len(log.links.links("pt-1")) == 1
    second = made_link("pt-1", "--force")
    assert second != first
    assert (folder / "triage-link-pt-1.svg").read_text("utf-8") == qr_svg(second)


def test_a_link_for_an_unknown_patient_is_refused_with_suggestions(folder: Path) -> None:
    message = refused(run("patient", "link", "PT-1"))
    assert "there is no patient PT-1" in message and "did you mean pt-1?" in message
    assert list(folder.iterdir()) == []  # no QR code either


def test_bad_options_are_usage_errors(folder: Path) -> None:
    for days in ("0", "366", "many"):
        assert "--days" in refused(run("patient", "link", "pt-1", "--days", days), 2)
    message = refused(run("patient", "link", "pt-1", "--qr", "missing/x.svg"))
    assert "there is no folder missing" in message


def test_once_the_log_has_accounts_by_is_an_active_account(
    folder: Path, private_log: Path | str
) -> None:
    pytest.importorskip("argon2")
    with TriageLog(private_log) as log:
        log.access.add_clinician("Dr Ada", "a long enough password")
    message = refused(run("patient", "link", "pt-1", "--by", "Dr Who"))
    assert "no active clinician account named 'Dr Who'" in message and "Dr Ada" in message
    assert not (folder / "triage-link-pt-1.svg").exists()
    made_link("pt-1", "--by", "Dr Ada")


def test_links_lists_them_without_the_links_themselves(folder: Path) -> None:
    empty = run("patient", "links", "pt-1")
    assert empty.exit_code == 0
    assert empty.stdout == "No links for pt-1 yet: make one with 'triage patient link pt-1'.\n"
    first = made_link("pt-1", "--by", "Dr Ada", "--qr", "1.svg")
    second = made_link("pt-1", "--by", "Dr Bo", "--qr", "2.svg", "--days", "7")
    assert run("patient", "unlink", first.rsplit("/", 1)[1][:8]).exit_code == 0
    listed = run("patient", "links", "pt-1")
    assert listed.exit_code == 0, listed.output
    header, *lines = listed.stdout.splitlines()
    assert header.split("  ")[0] == "PREFIX" and "EXPIRES (UTC)" in header
    assert "LAST USED" in header
    assert len(lines) == 2
    assert lines[0].startswith(first.rsplit("/", 1)[1][:8]) and "revoked" in lines[0]
    assert lines[1].startswith(second.rsplit("/", 1)[1][:8]) and " active " in lines[1]
    assert "Dr Bo" in lines[1]
    for url in (first, second):
        assert url.rsplit("/", 1)[1] not in listed.stdout
    as_json = run("patient", "links", "pt-1", "--json")
    data = json.loads(as_json.stdout)
    assert [d["state"] for d in data] == ["revoked", "active"]
    assert set(data[0]) == {
        "id", "patient", "prefix", "created_at", "created_by", "expires_at", "revoked_at",
        "last_used_at", "state",
    }  # fmt: skip
    assert first.rsplit("/", 1)[1] not in as_json.stdout


def test_links_of_an_unknown_patient_is_an_error(folder: Path) -> None:
    assert "there is no patient pt-9" in refused(run("patient", "links", "pt-9"))
    data = json.loads(run("patient", "links", "pt-9", "--json").stdout)
    assert data["error"] == "storage" and "pt-9" in data["message"]


def test_unlink_revokes_once_and_says_what_it_did(folder: Path, private_log: Path | str) -> None:
    url = made_link("pt-1")
    prefix = url.rsplit("/", 1)[1][:8]
    done = run("patient", "unlink", prefix)
    assert done.exit_code == 0, done.output
    assert done.stdout == f"Link {prefix} of pt-1 revoked: it no longer opens.\n"
    again = run("patient", "unlink", url)  # the whole link names it too
    assert again.exit_code == 0
    assert again.stdout.startswith(f"Link {prefix} of pt-1 was already revoked (")
    with TriageLog(private_log) as log:
        assert log.links.lookup(url.rsplit("/", 1)[1]).problem == "revoked"
        assert len(log.links.links("pt-1")) == 1  # kept, never deleted


def test_unlink_of_no_link_or_too_little_says_how_to_find_one(folder: Path) -> None:
    made_link("pt-1")
    message = refused(run("patient", "unlink", "zzzz"))
    assert message.startswith("error: there is no patient link 'zzzz'")
    assert "'triage patient links ID' lists" in message
    assert "too short" in refused(run("patient", "unlink", "ab"))


def test_a_refusal_in_a_real_process_has_no_traceback(folder: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "triage_cli.cli", "patient", "unlink", "zzzz"],
        capture_output=True,
        text=True,
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.startswith("error: there is no patient link 'zzzz'")
    assert "Traceback" not in done.stderr
