"""Reviewing a check in fewer steps (issue 25, point 3) on a real ``triage serve``, over an
SQLite log and a PostgreSQL one: the review panel comes first, before the long "rules that did
not fire"; a review that breaks the rule says so by each field, the override reasons in words;
a recorded review goes on to the next unreviewed check of the worklist; and a patient's earlier
open checks, superseded by a later one, are accepted with it in one transaction; a contact
with the patient (a call, and what came of it) is recorded from the same panel."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import triage
from tests.support.helpers import report
from tests.support.web_support import NAME, Server, at, csrf_of, on_either_backend
from triage.log import CONTACT_OUTCOMES, OVERRIDE_REASONS, Filters, TriageLog
from triage.web.pages import _next_unreviewed

ROUTINE = {"groin_lump": True}
URGENT = {
    "deformity": True,
    "pain_during": 6,
    "pain_now": 6,
    "pain_region": "shoulder",
    "pain_site": "joint",
}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    yield from on_either_backend(request, tmp_path_factory)


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    with server.client() as signed:
        server.sign_in(signed)
        yield signed


def checks(server: Server, patient: str, *levels: tuple[dict[str, object], float]) -> list[int]:
    """Record the patient's checks (answers, hours ago); their entry ids."""
    ids = []
    with TriageLog(server.db) as log:
        for changes, hours in levels:
            answers = report(
                patient_id=patient, **changes, reported_at=at(hours), hours_since_session=0.5
            )
            result = triage.check(answers, log=log)
            assert result.entry is not None
            ids.append(result.entry.id)
    return ids


def post_review(client: httpx.Client, entry_id: int, **form: object) -> httpx.Response:
    page = client.get(f"/checks/{entry_id}")
    return client.post(
        f"/checks/{entry_id}/review", data={"csrf_token": csrf_of(page.text), **form}
    )


def problems_box(html: str) -> str:
    found = re.search(r'<div class="error" role="alert" id="review-problems".*?</div>', html, re.S)
    assert found, html
    return found.group(0)


def test_the_review_panel_comes_before_the_rules_that_did_not_fire(
    server: Server, client: httpx.Client
) -> None:
    html = client.get(f"/checks/{server.ids['routine']}").text
    panel, why_not = html.index('id="review-panel"'), html.index('id="why-not"')
    assert panel < html.index('id="review-form"') < html.index('id="submit-review"') < why_not
    assert html.index('id="next-unreviewed"') < why_not
    assert panel < html.index('class="columns"')  # before the reasons and the answers too


def test_a_failed_override_says_the_reasons_in_words_by_their_field(
    server: Server, client: httpx.Client
) -> None:
    response = post_review(client, server.ids["same_day"], verdict="overridden", note="")
    assert response.status_code == 400
    box = problems_box(response.text)
    assert "autofocus" in box  # the page moves focus to it (test_web_accessibility.py)
    for code, words in OVERRIDE_REASONS.items():
        assert words in box and code not in box
    reason = re.search(r'<p class="field-error" id="error-reason">(.*?)</p>', response.text)
    note = re.search(r'<p class="field-error" id="error-note">(.*?)</p>', response.text)
    assert reason and "Less urgent than decided" in reason.group(1)
    assert note and "note" in note.group(1)
    assert 'aria-describedby="error-reason"' in response.text
    assert response.text.index('id="error-reason"') < response.text.index('id="why-not"')
    with TriageLog(server.db) as log:
        assert not log.entry(server.ids["same_day"]).reviews


def test_a_recorded_review_goes_to_the_next_unreviewed_check(
    server: Server, client: httpx.Client
) -> None:
    with TriageLog(server.db) as log:
        first, second = (item.entry.id for item in log.worklist(limit=2).items)
    page = client.get(f"/checks/{first}").text
    assert f'href="/checks/{second}" id="next-unreviewed"' in page
    response = post_review(client, first, verdict="accepted", note="Seen; fine.")
    assert response.status_code == 303 and response.headers["location"] == f"/checks/{second}"
    shown = client.get(response.headers["location"]).text
    assert f"Review recorded: check {first} accepted by" in shown
    with TriageLog(server.db) as log:
        assert [r.verdict for r in log.entry(first).reviews] == ["accepted"]


def test_with_no_unreviewed_check_left_the_next_is_the_worklist(tmp_path: Path) -> None:
    with TriageLog(tmp_path / "alone.db") as log:
        answers = report(patient_id="pt-alone", **URGENT, hours_since_session=0.5)
        done = triage.check(answers, log=log)
        assert done.entry is not None
        assert _next_unreviewed(log, done.entry.id) is None
        log.review(done.entry.id, by="Dr A", verdict="accepted")
        assert _next_unreviewed(log, 0) is None


def test_a_patients_earlier_open_checks_are_accepted_with_a_later_one(
    server: Server, client: httpx.Client
) -> None:
    early, later, urgent = checks(server, "pt-bulk", (ROUTINE, 10), (ROUTINE, 8), (URGENT, 1))
    page = client.get(f"/checks/{urgent}").text
    assert "Also accept this patient's 2 earlier open checks (superseded by this one)" in page
    assert "Also accept" not in client.get(f"/checks/{early}").text  # nothing earlier to it
    with TriageLog(server.db) as log:
        before = log.verify().reviews

    refused = post_review(  # only an acceptance goes to the earlier checks
        client, urgent, verdict="overridden", reason="less_urgent", note="x", also="1",
        also_ids=[str(early), str(later)],
    )  # fmt: skip
    assert refused.status_code == 400 and 'id="error-also"' in refused.text
    assert 'id="also-accept" checked' in refused.text

    note = "Routine lumps superseded by today's urgent check; called the patient."
    response = post_review(
        client, urgent, verdict="accepted", note=note, also="1", also_ids=[str(early), str(later)]
    )
    assert response.status_code == 303
    flash = client.get(response.headers["location"]).text
    assert f"Review recorded: check {urgent} and 2 earlier checks of the patient accepted" in flash
    with TriageLog(server.db) as log:
        for entry_id in (early, later, urgent):
            reviews = log.entry(entry_id).reviews
            assert [(r.verdict, r.note) for r in reviews] == [("accepted", note)]
        verified = log.verify(full=True)
        assert verified.ok and verified.reviews == before + 3
        assert not log.worklist(Filters(patient="pt-bulk", unreviewed=True)).items


def test_only_the_offered_earlier_checks_of_the_patient_are_accepted(
    server: Server, client: httpx.Client
) -> None:
    """An id that is not one of the patient's earlier open checks (another patient's, or one
    reviewed meanwhile) is left out, whatever the form says."""
    (other,) = checks(server, "pt-other", (ROUTINE, 9))
    early, urgent = checks(server, "pt-bulk-2", (ROUTINE, 9), (URGENT, 1))
    response = post_review(
        client, urgent, verdict="accepted", also="1", also_ids=[str(early), str(other)]
    )
    assert response.status_code == 303
    with TriageLog(server.db) as log:
        assert len(log.entry(early).reviews) == 1 and not log.entry(other).reviews


def post_contact(client: httpx.Client, entry_id: int, **form: object) -> httpx.Response:
    page = client.get(f"/checks/{entry_id}")
    return client.post(
        f"/checks/{entry_id}/contact", data={"csrf_token": csrf_of(page.text), **form}
    )


def test_a_contact_is_recorded_under_the_clinician_and_shown_on_the_check_and_the_patient(
    server: Server, client: httpx.Client
) -> None:
    (entry_id,) = checks(server, "pt-phoned", (URGENT, 0.2))
    for outcome, note in (("no_answer", ""), ("attended_ed", "X-ray: dislocation reduced.")):
        response = post_contact(client, entry_id, outcome=outcome, note=note)
        assert response.status_code == 303, response.text
        assert response.headers["location"] == f"/checks/{entry_id}#contacts"
    page = client.get(f"/checks/{entry_id}").text
    assert "Contact recorded: check" in page and "the patient attended the emergency" in page
    listed = re.findall(
        r'<li class="contact" data-outcome="(\w+)"><strong>(.*?)</strong> — (.*?),', page
    )
    assert listed == [
        ("no_answer", CONTACT_OUTCOMES["no_answer"], NAME),
        ("attended_ed", CONTACT_OUTCOMES["attended_ed"], NAME),
    ]
    assert page.index('id="contacts"') < page.index('id="why-not"')
    assert "not reviewed yet" in page  # a contact is not a review: the check stays open
    timeline = client.get("/patients/pt-phoned").text
    assert timeline.count('<li class="event contact"') == 2
    assert "X-ray: dislocation reduced." in timeline
    with TriageLog(server.db) as log:
        stored = log.entry(entry_id).contacts
        assert [(c.outcome, c.by) for c in stored] == [("no_answer", NAME), ("attended_ed", NAME)]
        assert log.worklist(Filters(patient="pt-phoned")).matched == 1


def test_a_contact_that_breaks_the_rule_says_so_by_its_field_and_keeps_the_form(
    server: Server, client: httpx.Client
) -> None:
    (entry_id,) = checks(server, "pt-unphoned", (URGENT, 0.2))
    response = post_contact(client, entry_id, outcome="other", note="")
    assert response.status_code == 400
    assert '<details class="contact-form" open>' in response.text
    assert 'id="contact-problems"' in response.text and "autofocus" in response.text
    note = re.search(r'<p class="field-error" id="contact-error-note">(.*?)</p>', response.text)
    assert note and "say in the note what came of the contact" in note.group(1)
    assert 'id="contact-other" checked' in response.text  # the answer given is kept
    bare = post_contact(client, entry_id, note="Left a voicemail.")
    outcome = re.search(r'id="contact-error-outcome">(.*?)</p>', bare.text)
    assert bare.status_code == 400 and outcome is not None
    assert CONTACT_OUTCOMES["reached"] in outcome.group(1) and "no_answer" not in outcome.group(1)
    assert "Left a voicemail." in bare.text
    with TriageLog(server.db) as log:
        assert log.entry(entry_id).contacts == ()
