"""One review rule, in the library (``TriageLog.review``): Python, ``triage log review``, the
JSON API and the web review form accept and refuse the same reviews, naming the same fields."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from tests.support.web_support import NAME, Server, csrf_of, running
from triage.errors import ReviewError
from triage.log import TriageLog
from triage_cli.cli import main

CASES = [
    # verdict, reason, note, the fields refused (none: recorded)
    ("accepted", "", "", []),
    ("accepted", "", "Agree.", []),
    ("overridden", "less_urgent", "Seen: a known hernia.", []),
    ("overridden", "", "Seen: a known hernia.", ["reason"]),
    ("overridden", "more_urgent", "", ["note"]),
    ("overridden", "more_urgent", "   ", ["note"]),
    ("overridden", "", "", ["reason", "note"]),
    ("accepted", "other", "Agree.", ["reason"]),
]
IDS = [
    "accept",
    "accept-note",
    "override",
    "no-reason",
    "no-note",
    "blank-note",
    "bare",
    "accept-reason",
]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from running(tmp_path_factory.mktemp("serve") / "triage.db")


def reviews(server: Server, entry_id: int) -> int:
    with TriageLog(server.db, create=False) as log:
        return len(log.entry(entry_id).reviews)


def by_python(server: Server, entry_id: int, verdict: str, reason: str, note: str) -> list[str]:
    with TriageLog(server.db, create=False) as log:
        try:
            log.review(entry_id, by="Dr Ada", verdict=verdict, reason=reason, note=note)  # type: ignore[arg-type]
        except ReviewError as error:
            return [p.field or "" for p in error.problems]
    return []


def by_cli(server: Server, entry_id: int, verdict: str, reason: str, note: str) -> list[str]:
    args = ["log", "review", str(entry_id), "--by", NAME, "--db", str(server.db)]
    args += ["--accept" if verdict == "accepted" else "--override", "--note", note]
    args += ["--reason", reason] if reason else []
    result = CliRunner().invoke(main, args, prog_name="triage")
    if result.exit_code == 0:
        return []
    assert result.exit_code == 1 and "the review of entry" in result.stderr, result.output
    return re.findall(r"^  field '(\w+)'", result.stderr, re.MULTILINE)


def by_api(server: Server, entry_id: int, verdict: str, reason: str, note: str) -> list[str]:
    with server.api() as api:
        response = api.post(
            f"/entries/{entry_id}/reviews",
            json={"verdict": verdict, "reason": reason, "note": note, "by": "Dr Ada"},
        )
    if response.status_code == 201:
        return []
    assert response.status_code == 422 and response.json()["error"] == "review", response.text
    return [p["field"] for p in response.json()["problems"]]


def by_form(server: Server, entry_id: int, verdict: str, reason: str, note: str) -> list[str]:
    with server.client() as client:
        server.sign_in(client)
        page = client.get(f"/checks/{entry_id}")
        form = {"csrf_token": csrf_of(page.text), "verdict": verdict, "reason": reason}
        response = client.post(f"/checks/{entry_id}/review", data={**form, "note": note})
    if response.status_code == 303:
        return []
    assert response.status_code == 400, response.text
    return re.findall(r'<li data-field="(\w+)">', response.text)


@pytest.mark.parametrize(("verdict", "reason", "note", "refused"), CASES, ids=IDS)
def test_every_interface_applies_the_one_review_rule(
    server: Server, verdict: str, reason: str, note: str, refused: list[str]
) -> None:
    entry_id = server.ids["routine"]
    for path in (by_python, by_cli, by_api, by_form):
        before = reviews(server, entry_id)
        assert path(server, entry_id, verdict, reason, note) == refused, path.__name__
        assert reviews(server, entry_id) == before + (0 if refused else 1), path.__name__


def test_a_review_needs_the_reviewers_name(server: Server) -> None:
    entry_id = server.ids["routine"]
    with TriageLog(server.db, create=False) as log, pytest.raises(ReviewError) as refused:
        log.review(entry_id, by="  ", verdict="accepted")
    assert [p.field for p in refused.value.problems] == ["reviewer"]
    result = CliRunner().invoke(
        main, ["log", "review", str(entry_id), "--by", " ", "--accept", "--db", str(server.db)]
    )
    assert (
        result.exit_code == 1
        and "field 'reviewer': a review needs the reviewer's name" in result.stderr
    )


def test_once_the_log_has_accounts_a_terminal_review_names_an_active_one(server: Server) -> None:
    """``--by`` is an account's name once there are accounts: a made-up or mistyped name is
    refused with the names to choose from, and nothing is recorded."""
    entry_id = server.ids["routine"]
    before = reviews(server, entry_id)
    args = ["log", "review", str(entry_id), "--accept", "--db", str(server.db)]
    result = CliRunner().invoke(main, [*args, "--by", "Dr Ada"], prog_name="triage")
    assert result.exit_code == 1, result.output
    assert "there is no active clinician account named 'Dr Ada'" in result.stderr
    assert f"give one of: {NAME}; or add the account with 'triage user add NAME'" in result.stderr
    assert "Traceback" not in result.output and reviews(server, entry_id) == before
    assert CliRunner().invoke(main, [*args, "--by", NAME]).exit_code == 0
    assert reviews(server, entry_id) == before + 1
