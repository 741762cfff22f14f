"""Every odd input to the log commands gets a clear answer: exclusive verdicts, plain-text names
and notes, numbers and dates at the edges, unknown patients, and text that could drive the
terminal shown escaped."""

from __future__ import annotations

import json
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

import triage
from tests.support.backends import rows, tamper
from tests.support.cli_runs import P03, P10, P17, check_golden, run
from tests.support.helpers import load_case
from triage.errors import UsageError
from triage.log import Filters, TriageLog

BACKENDS = True  # every test runs on an SQLite file and a PostgreSQL database (conftest.py)

BIG = str(2**64)
HUGE = "9" * 40


@pytest.fixture
def filled(private_log: Path) -> Path:
    """Entries 1-3: pt-p03-doms-30h (continue), pt-p17-fever, pt-p10-chest-pain-ongoing."""
    with TriageLog(private_log) as log:
        log.record_many(triage.evaluate(load_case(Path(p))["report"]) for p in (P03, P17, P10))
    return private_log


def reviews(path: Path | str) -> int:
    return len(rows(path, "SELECT id FROM reviews"))


# -- reviews ---------------------------------------------------------------------------------------


def test_accept_and_override_together_are_a_usage_error(filled: Path) -> None:
    result = run("log", "review", "3", "--by", "Dr Ada", "--accept", "--override", "--note", "x")
    assert result.exit_code == 2 and reviews(filled) == 0
    check_golden("review-both-verdicts", result.stderr)
    result = run("log", "review", "3", "--by", "Dr Ada", "--override", "--accept", "--note", "x")
    assert result.exit_code == 2 and reviews(filled) == 0


@pytest.mark.parametrize(
    ("field", "by", "note", "shown"),
    [
        ("reviewer", "Dr \x1b[31mAda", "", "\\x1b"),
        ("reviewer", "Dr Ada\r", "", "\\x0d"),
        ("note", "Dr Ada", "Seen.\x1b]8;;http://evil.example\x07here\x1b]8;;\x07", "\\x1b"),
        ("note", "Dr Ada", "line one\nline two", "\\x0a"),
        ("note", "Dr Ada", "\tindented", "\\x09"),
        ("note", "Dr Ada", "C1 \x9b31m", "\\x9b"),
    ],
    ids=["reviewer-csi", "reviewer-cr", "note-osc-link", "note-newline", "note-tab", "note-c1"],
)
def test_control_characters_in_names_and_notes_are_refused_naming_the_field(
    filled: Path, field: str, by: str, note: str, shown: str
) -> None:
    with TriageLog(filled) as log, pytest.raises(UsageError) as info:
        log.review(3, by=by, verdict="accepted", note=note)
    message = str(info.value)
    assert message.startswith(f"field '{field}' contains a control character ({shown} at position")
    assert not re.search(r"[\x00-\x1f\x7f-\x9f]", message)
    assert reviews(filled) == 0


def test_a_control_character_in_a_reviewer_name_is_a_clean_cli_error(filled: Path) -> None:
    result = run("log", "review", "3", "--by", "Dr \x1b[2JAda", "--accept")
    assert result.exit_code == 1 and reviews(filled) == 0
    check_golden("reviewer-control", result.stderr)


def test_a_reviewer_name_that_is_not_utf8_is_a_clean_error(filled: Path) -> None:
    """argv bytes that are not UTF-8 reach Python as lone surrogates ('\\udcff' for 0xff)."""
    result = run("log", "review", "3", "--by", "Dr \udcffda", "--accept")
    assert result.exit_code == 1 and "Traceback" not in result.output
    check_golden("reviewer-not-utf8", result.stderr)
    with TriageLog(filled) as log, pytest.raises(UsageError, match="field 'note' is not valid"):
        log.review(3, by="Dr Ada", verdict="accepted", note="\udce9t\udce9")
    assert reviews(filled) == 0


def test_a_patient_filter_that_is_not_utf8_is_a_clean_error(filled: Path) -> None:
    for command in (["log", "list"], ["log", "trend"], ["log", "export", "--format", "csv"]):
        result = run(*command, "--patient", "pt-\udcff")
        assert result.exit_code == 1 and "Traceback" not in result.output, command
        assert "field 'patient' is not valid UTF-8 text (byte 0xff" in result.stderr


# -- numbers and dates at the edges ----------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["log", "show", BIG],
        ["log", "show", HUGE],
        ["log", "show", "0"],
        ["log", "review", BIG, "--by", "Dr Ada", "--accept"],
        ["log", "review", HUGE, "--by", "Dr Ada", "--accept"],
    ],
    ids=["show-2**64", "show-40-digits", "show-0", "review-2**64", "review-40-digits"],
)
def test_an_entry_id_past_64_bits_is_no_such_entry(filled: Path, args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 1, result.output
    assert f"there is no entry {args[2]} in" in result.stderr
    assert "Traceback" not in result.output and "Overflow" not in result.output


@pytest.mark.parametrize(
    "args",
    [
        ["log", "list", "--limit", BIG, "--json"],
        ["log", "list", "--limit", HUGE, "--json"],
        ["log", "trend", "--patient", "pt-p10-chest-pain-ongoing", "--limit", BIG],
    ],
    ids=["list-2**64", "list-40-digits", "trend-2**64"],
)
def test_a_limit_past_64_bits_means_all(filled: Path, args: list[str]) -> None:
    result = run(*args)
    assert result.exit_code == 0, result.output
    if "--json" in args:
        assert [e["id"] for e in json.loads(result.stdout)] == [3, 2, 1]
    else:
        assert "1 check," in result.stdout


@pytest.mark.parametrize(
    ("args", "ids"),
    [
        (["--until", "9999-12-31"], [3, 2, 1]),
        (["--since", "0001-01-01"], [3, 2, 1]),
        (["--since", "0001-01-01", "--until", "9999-12-31"], [3, 2, 1]),
        (["--since", "9999-12-31"], []),
        (["--until", "0001-01-01"], []),
        (["--since", "0001-01-01T00:00+05:00"], [3, 2, 1]),
        (["--until", "9999-12-31T23:00-05:00"], [3, 2, 1]),
        (["--until", "0001-01-01T00:30+01:00"], []),
    ],
    ids=[
        "until-9999",
        "since-0001",
        "since-0001-until-9999",
        "since-9999",
        "until-0001",
        "since-0001-with-offset",
        "until-9999-with-offset",
        "until-0001-with-offset",
    ],
)
def test_dates_at_the_ends_of_the_calendar_filter_correctly(
    filled: Path, args: list[str], ids: list[int]
) -> None:
    result = run("log", "list", "--json", *args)
    assert result.exit_code == 0, result.output
    assert [e["id"] for e in json.loads(result.stdout)] == ids


def test_export_with_dates_at_the_ends_of_the_calendar(filled: Path) -> None:
    result = run("log", "export", "--format", "jsonl", "--until", "9999-12-31")
    assert result.exit_code == 0 and len(result.stdout.splitlines()) == 3


def test_library_filters_take_the_extreme_dates(filled: Path) -> None:
    with TriageLog(filled) as log:
        assert len(log.entries(Filters(since=date.min, until=date.max))) == 3
        assert log.entries(Filters(since=datetime.max)) == []
        assert log.entries(Filters(until=datetime.min)) == []


UTC = timezone.utc


@pytest.mark.parametrize(
    ("before", "found"),
    [
        (datetime(1, 1, 1, tzinfo=UTC), 0),
        (datetime(1, 1, 1, 0, 30, tzinfo=timezone(timedelta(hours=1))), 0),
        (datetime(1, 1, 21, tzinfo=UTC), 0),
        (datetime(9999, 12, 31, 23, 59, tzinfo=UTC), 0),
        (datetime(9999, 12, 31, 23, 0, tzinfo=timezone(timedelta(hours=-5))), 0),
        (datetime.now(UTC) + timedelta(hours=1), 1),
    ],
    ids=["year-1", "year-1-plus-1h", "year-1-day-21", "year-9999", "year-9999-minus-5h", "now"],
)
def test_history_never_raises_at_the_ends_of_the_calendar(
    filled: Path, before: datetime, found: int
) -> None:
    with TriageLog(filled) as log:
        earlier = log.history("pt-p10-chest-pain-ongoing", before=before, days=21)
        assert len(earlier) == found
        assert log.history("pt-p10-chest-pain-ongoing", before=before, days=1e9) is not None


def test_history_of_a_log_entry_answered_in_year_1_is_read(filled: Path) -> None:
    tamper(filled, "UPDATE entries SET reported_at = '0001-01-01T00:00:00.000000Z' WHERE id = 3")
    with TriageLog(filled) as log:
        assert (
            len(
                log.history(
                    "pt-p10-chest-pain-ongoing", before=datetime(1, 1, 2, tzinfo=UTC), days=21
                )
            )
            == 1
        )
        session = log.latest_session("pt-p10-chest-pain-ongoing")
    assert session is not None and session.ended_at.year == 1


# -- patients ----------------------------------------------------------------------------------


def test_an_unknown_patient_is_said_with_the_same_id_in_another_case(filled: Path) -> None:
    result = run("log", "list", "--patient", "PT-P10-CHEST-PAIN-ONGOING")
    assert result.exit_code == 1
    check_golden("unknown-patient", result.stderr.replace(str(filled), "LOG"))


@pytest.mark.parametrize(
    ("command", "patient", "suggested"),
    [
        (["log", "list"], "pt-p17-fevr", "did you mean pt-p17-fever?"),
        (["log", "trend"], "pt-p03-doms-30", "did you mean pt-p03-doms-30h?"),
        (["log", "export", "--format", "csv"], "PT-P17-FEVER", "did you mean pt-p17-fever?"),
        (["log", "list"], "nobody", "patient ids are case-sensitive"),
    ],
    ids=["list-typo", "trend-typo", "export-case", "list-nothing-close"],
)
def test_an_unknown_patient_is_an_error_with_suggestions(
    filled: Path, command: list[str], patient: str, suggested: str
) -> None:
    result = run(*command, "--patient", patient)
    assert result.exit_code == 1 and result.stdout == ""
    assert f"there is no patient {patient} in the triage log" in result.stderr
    assert suggested in result.stderr
    if patient == "nobody":
        assert "did you mean" not in result.stderr


def test_a_known_patient_with_no_matching_entries_is_not_an_error(filled: Path) -> None:
    result = run("log", "list", "--patient", "pt-p17-fever", "--outcome", "continue")
    assert result.exit_code == 0 and "No entries match." in result.stdout


# -- terminal injection ------------------------------------------------------------------------

RAW_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f\u202e]")


@pytest.fixture
def hostile(filled: Path) -> Path:
    """Texts with escape sequences, as an older triage or an edit outside triage left them."""
    with TriageLog(filled) as log:
        log.review(3, by="Dr Ada", verdict="overridden", reason="other", note="placeholder")
    tamper(
        filled,
        "UPDATE reviews SET reviewer = ?, note = ? WHERE id = 1",
        "Dr \x1b]0;pwned\x07Ada",
        "Seen \x1b[2J\x1b[31mcleared\x9b0m \u202eevil",
    )
    tamper(
        filled,
        "UPDATE entries SET top_reason = ?, patient_id = ? WHERE id = 2",
        "Fever\x1b]8;;http://x\x07 link",
        "pt-\x1b[8mhidden",
    )
    return filled


@pytest.mark.parametrize(
    "command",
    [
        ["log", "show", "3"],
        ["log", "list"],
        ["log", "show", "3", "--json"],
        ["log", "list", "--json"],
    ],
    ids=["show", "list", "show-json", "list-json"],
)
def test_control_characters_from_the_log_are_shown_escaped(
    hostile: Path, command: list[str]
) -> None:
    result = run(*command)
    assert result.exit_code == 0, result.output
    assert not RAW_CONTROL.search(result.stdout), repr(result.stdout)
    if "--json" in command:
        data = json.loads(result.stdout)
        entry = data if isinstance(data, dict) else next(e for e in data if e["id"] == 3)
        if "reviews" in entry:
            assert (
                entry["reviews"][0]["reviewer"] == "Dr \x1b]0;pwned\x07Ada"
            )  # JSON keeps the data
    elif command[1] == "show":
        assert "Dr \\x1b]0;pwned\\x07Ada" in result.stdout
        assert "\\x1b[2J\\x1b[31mcleared\\x9b0m \\u202eevil" in result.stdout
    else:
        assert (
            "pt-\\x1b[8mhidden" in result.stdout and "Fever\\x1b]8;;http://x\\x07" in result.stdout
        )


def test_export_as_json_lines_escapes_terminal_controls_too(hostile: Path) -> None:
    result = run("log", "export", "--format", "jsonl")
    assert not RAW_CONTROL.search(result.stdout)
    assert json.loads(result.stdout.splitlines()[1])["patient_id"] == "pt-\x1b[8mhidden"
