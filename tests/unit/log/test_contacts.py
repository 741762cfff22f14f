"""Contacts (issue 25): a clinician records a call or message to the patient about a check and
what came of it. Appended to the log's one hash chain like reviews, never edited; the one rule
(``contact_problems``) for Python, ``triage log contact`` and the web form (tests/system)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import triage
from tests.support.backends import tamper
from tests.support.cli_runs import run
from tests.support.helpers import report
from tests.support.pg_server import APP, Server
from triage.errors import ContactError, NotFoundError, UsageError
from triage.log import CONTACT_OUTCOMES, TriageLog

BACKENDS = True  # every test runs on an SQLite file and a PostgreSQL database (conftest.py)


@pytest.fixture
def log(private_log: Path) -> Iterator[TriageLog]:
    with TriageLog(private_log) as opened:
        yield opened


def urgent_check(log: TriageLog) -> int:
    result = triage.check(report(patient_id="pt-call", chest_pain="ongoing",
                                 chest_pain_kind="unsure"), log=log)  # fmt: skip
    assert result.entry is not None
    return result.entry.id


def test_contacts_are_appended_read_back_in_order_and_verified(log: TriageLog) -> None:
    entry_id = urgent_check(log)
    first = log.contact(entry_id, by="Dr Ada", outcome="no_answer")
    second = log.contact(
        entry_id, by=" Dr Ada ", outcome="attended_ed", note="Seen in A&E: ECG normal."
    )
    entry = log.entry(entry_id)
    assert entry.contacts == (first, second)
    assert (second.by, second.outcome_words) == ("Dr Ada", CONTACT_OUTCOMES["attended_ed"])
    assert [c.id for c in log.timeline("pt-call")[0].contacts] == [first.id, second.id]
    assert entry.to_dict()["contacts"][1]["note"] == "Seen in A&E: ECG normal."
    assert entry.reviews == () and log.worklist().items[0].entry.id == entry_id  # still open
    verified = log.verify()
    assert verified.ok and (verified.entries, verified.contacts) == (1, 2)


@pytest.mark.parametrize(
    ("outcome", "note", "by", "fields"),
    [
        ("", "", "Dr Ada", ["outcome"]),
        ("phoned", "", "Dr Ada", ["outcome"]),
        ("other", "", "Dr Ada", ["note"]),
        ("other", "   ", "Dr Ada", ["note"]),
        ("reached", "", "  ", ["by"]),
        ("", "", "", ["outcome", "by"]),
    ],
    ids=["none", "unknown", "other-no-note", "other-blank-note", "no-name", "bare"],
)
def test_an_incomplete_contact_names_every_field_and_stores_nothing(
    log: TriageLog, outcome: str, note: str, by: str, fields: list[str]
) -> None:
    entry_id = urgent_check(log)
    with pytest.raises(ContactError) as refused:
        log.contact(entry_id, by=by, outcome=outcome, note=note)
    assert [p.field for p in refused.value.problems] == fields
    assert f"the contact about entry {entry_id} is incomplete" in refused.value.explain()
    assert log.entry(entry_id).contacts == ()


def test_a_contact_about_no_entry_or_with_control_characters_is_refused(log: TriageLog) -> None:
    entry_id = urgent_check(log)
    with pytest.raises(NotFoundError):
        log.contact(entry_id + 1, by="Dr Ada", outcome="reached")
    with pytest.raises(UsageError) as info:
        log.contact(entry_id, by="Dr Ada", outcome="reached", note="fine\x1b[2J")
    assert "field 'note' contains a control character" in str(info.value)
    assert log.verify().contacts == 0


@pytest.mark.parametrize(
    ("sql", "bad"),
    [
        (
            "UPDATE contacts SET outcome = 'reached' WHERE id = 1",
            "contact 1 (record 2) does not match",
        ),
        (
            "UPDATE contacts SET note = 'all fine' WHERE id = 1",
            "contact 1 (record 2) does not match",
        ),
        ("DELETE FROM contacts WHERE id = 1", "record 2 is missing"),
    ],
    ids=["outcome", "note", "deleted"],
)
def test_an_edited_or_deleted_contact_breaks_the_chain(
    private_log: Path | str, sql: str, bad: str
) -> None:
    with TriageLog(private_log) as log:
        entry_id = urgent_check(log)
        log.contact(entry_id, by="Dr Ada", outcome="no_answer")
        log.review(entry_id, by="Dr Ada", verdict="accepted")
    tamper(private_log, sql)
    with TriageLog(private_log, create=False) as log:
        result = log.verify()
    assert not result.ok and str(result.first_bad).startswith(bad), result.first_bad


@pytest.mark.sqlite_only  # runs once, on a database of its own
@pytest.mark.postgres
def test_the_application_role_cannot_edit_a_contact_on_postgresql(postgres: Server) -> None:
    import psycopg

    name = postgres.new_database()
    url = postgres.url(name, APP)
    try:
        with TriageLog(url) as log:
            log.contact(urgent_check(log), by="Dr Ada", outcome="reached")
        with psycopg.connect(url) as conn, pytest.raises(psycopg.Error) as refused:
            conn.execute("UPDATE triage.contacts SET outcome = 'no_answer'")
        assert "append-only" in str(refused.value) or "permission denied" in str(refused.value)
    finally:
        postgres.drop(name)


def test_log_contact_records_and_log_show_lists_it(private_log: Path | str) -> None:
    with TriageLog(private_log) as log:
        entry_id = urgent_check(log)
    done = run("log", "contact", str(entry_id), "--by", "Dr Ada", "--outcome", "advised_to_attend",
               "--note", "Told to go to A&E now.")  # fmt: skip
    assert done.exit_code == 0, done.output
    assert done.output == (
        f"Contact 1 recorded: entry {entry_id}, {CONTACT_OUTCOMES['advised_to_attend']}, "
        "by Dr Ada.\n"
    )
    shown = run("log", "show", str(entry_id))
    words = " ".join(shown.output.split())  # lines wrapped to the terminal's width
    assert "Contacts:" in shown.output
    assert f"{CONTACT_OUTCOMES['advised_to_attend']}, by Dr Ada: Told to go to A&E now." in words
    verified = run("log", "verify")
    assert verified.exit_code == 0 and "1 entry, 0 reviews and 1 contact" in verified.output


def test_log_contact_says_what_is_missing(private_log: Path | str) -> None:
    with TriageLog(private_log) as log:
        entry_id = urgent_check(log)
    other = run("log", "contact", str(entry_id), "--by", "Dr Ada", "--outcome", "other")
    assert other.exit_code == 1 and "Traceback" not in other.output
    assert f"error: the contact about entry {entry_id} is incomplete (1 problem):" in other.stderr
    assert "field 'note': say in the note what came of the contact" in other.stderr
    unknown = run("log", "contact", str(entry_id), "--by", "Dr Ada", "--outcome", "phoned")
    assert unknown.exit_code == 2 and "'phoned' is not one of 'reached'" in unknown.stderr


def test_the_json_lines_export_carries_each_entrys_contacts(log: TriageLog) -> None:
    """The export's one query builds the contacts as ``Entry.to_dict`` gives them."""
    from triage.views.export import export_text

    entry_id = urgent_check(log)
    contact = log.contact(entry_id, by="Dr Ada", outcome="reached", note="Resting; pain gone.")
    (line,) = export_text(log.export_rows(), "jsonl").splitlines()
    assert (
        json.loads(line)["contacts"]
        == [contact.to_dict()]
        == log.entry(entry_id).to_dict()["contacts"]
    )
