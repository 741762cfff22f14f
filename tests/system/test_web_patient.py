"""The patient page (issue 25, point 4) on a real ``triage serve``, over an SQLite log and a
PostgreSQL one: the record (profile, age, conditions) set in the browser, with its errors next to
their fields and the CSRF token required; each check's review status on the timeline; one
patient's checks exported as CSV and as a FHIR Bundle of RiskAssessments; a check stopped before
the pain was asked marked on the chart, not plotted as 0; and nothing of it without signing in."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator

import httpx
import pytest

from tests.support.fhir_support import schema_errors
from tests.support.web_support import NAME, Server, csrf_of, on_either_backend
from tests.unit.checking.test_stopped_early import SO_FAR, warning
from triage.checking.check import stop_early
from triage.log import Filters, TriageLog

PATHS = ("/record", "/export.csv", "/export.fhir.json")


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


def record_form(client: httpx.Client, patient: str, **fields: object) -> httpx.Response:
    page = client.get(f"/patients/{patient}")
    assert page.status_code == 200, page.text
    data = {"csrf_token": csrf_of(page.text), "profile": "", "age": "", "note": "", **fields}
    return client.post(f"/patients/{patient}/record", data=data)


def test_the_record_form_saves_it_set_by_the_signed_in_clinician(
    server: Server, client: httpx.Client
) -> None:
    saved = record_form(
        client,
        "pt-groin",
        profile="older_adult",
        age="71",
        conditions=["blood_thinners", "heart_disease"],
        note="from the referral letter",
    )
    assert saved.status_code == 303, saved.text
    assert saved.headers["location"].startswith("/patients/pt-groin")
    with TriageLog(server.db) as log:
        record = log.patient("pt-groin")
    assert record is not None
    assert (record.profile, record.age, record.set_by) == ("older_adult", 71, NAME)
    assert record.conditions == ("heart_disease", "blood_thinners")  # the contract's order
    assert record.note == "from the referral letter"
    page = client.get("/patients/pt-groin").text
    assert f"set by {NAME}" in page and "older_adult" in page
    assert re.search(r'value="blood_thinners" checked', page)  # the form shows it
    assert 'id="record-age" min="5" max="120" step="1" inputmode="numeric" value="71"' in page


def test_saving_the_record_unchanged_records_nothing(server: Server, client: httpx.Client) -> None:
    with TriageLog(server.db) as log:
        log.set_patient("pt-same", age=52, conditions=["heart_disease"], by="Dr Ada")
        before = log.patient_history("pt-same")
    same = record_form(client, "pt-same", age="52", conditions=["heart_disease"])
    assert same.status_code == 303, same.text
    page = client.get(same.headers["location"]).text
    assert "Nothing changed: the record is as it was, and nothing was saved." in page
    noted = record_form(client, "pt-same", age="52", conditions=["heart_disease"], note="Checked.")
    assert noted.status_code == 303
    assert f"Patient record saved, set by {NAME}." in client.get(noted.headers["location"]).text
    with TriageLog(server.db) as log:
        after = log.patient_history("pt-same")
    assert after[: len(before)] == before and len(after) == len(before) + 1  # only the noted one
    assert (after[-1].note, after[-1].set_by) == ("Checked.", NAME)


def test_a_record_the_patient_gave_says_so(server: Server, client: httpx.Client) -> None:
    with TriageLog(server.db) as log:
        log.set_patient("pt-shoulder", age=40, by="the patient (questionnaire)")
    page = client.get("/patients/pt-shoulder").text
    assert "given by the patient" in page
    assert "set by the patient" not in page


@pytest.mark.parametrize("age", ["abc", "200", "4", "7.5", "-3"])
def test_a_bad_age_is_refused_next_to_its_field_and_nothing_is_saved(
    server: Server, client: httpx.Client, age: str
) -> None:
    refused = record_form(client, "pt-fine", profile="athlete", age=age, conditions=["bogus"])
    assert refused.status_code == 400, refused.text
    found = re.search(r'id="age-error">([^<]+)<', refused.text)
    assert found and "whole years, from 5 to 120" in found.group(1)
    assert 'id="record-age"' in refused.text and 'aria-invalid="true"' in refused.text
    assert 'id="conditions-error"' in refused.text  # every problem, each by its field
    assert "The record was not saved" in refused.text
    with TriageLog(server.db) as log:
        assert log.patient("pt-fine") is None


def test_the_record_form_needs_this_sessions_csrf_token(
    server: Server, client: httpx.Client
) -> None:
    for token in (None, "forged"):
        data = {"profile": "athlete", "age": "30"} | ({"csrf_token": token} if token else {})
        refused = client.post("/patients/pt-snap/record", data=data)
        assert refused.status_code == 403
    with TriageLog(server.db) as log:
        assert log.patient("pt-snap") is None


def test_the_timeline_shows_each_checks_review_status(server: Server, client: httpx.Client) -> None:
    with TriageLog(server.db) as log:
        entries = [e.id for e in log.entries(Filters(patient="pt-0042"))]
        log.review(entries[0], by="Dr B. Ng", verdict="accepted")
        log.review(
            entries[1], by="Dr C. <b>Roy</b>", verdict="overridden", reason="other", note="no"
        )
    page = client.get("/patients/pt-0042").text
    status = dict(re.findall(r'class="review-status [^"]*" data-entry="(\d+)">([^<]*)<', page))
    assert status[str(entries[0])] == "accepted by Dr B. Ng"
    assert status[str(entries[1])] == "overridden by Dr C. &lt;b&gt;Roy&lt;/b&gt;"  # escaped
    assert {status[str(e)] for e in entries[2:]} == {"not reviewed"}


def test_the_csv_export_holds_only_that_patients_checks(client: httpx.Client) -> None:
    response = client.get("/patients/pt-0042/export.csv")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == ('attachment; filename="triage-pt-0042.csv"')
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 5
    assert {row["patient_id"] for row in rows} == {"pt-0042"}
    assert [row["pain_during"] for row in rows] == ["3", "5", "6", "4", "2"]  # oldest first


def test_the_fhir_export_is_a_bundle_of_that_patients_risk_assessments(
    server: Server, client: httpx.Client
) -> None:
    response = client.get("/patients/pt-0042/export.fhir.json")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/fhir+json")
    assert "attachment" in response.headers["content-disposition"]
    bundle = response.json()
    assert (bundle["resourceType"], bundle["type"]) == ("Bundle", "collection")
    assert schema_errors({**bundle, "entry": []}) == []  # the envelope (whole, it is slow)
    resources = [entry["resource"] for entry in bundle["entry"]]
    assert [schema_errors(r) for r in resources] == [[]] * len(resources)
    assert len(resources) == 5
    assert {r["resourceType"] for r in resources} == {"RiskAssessment"}
    assert {r["subject"]["identifier"]["value"] for r in resources} == {"pt-0042"}
    with TriageLog(server.db) as log:
        ids = sorted(e.id for e in log.entries(Filters(patient="pt-0042")))
    assert [r["id"] for r in resources] == [f"check-{i}" for i in ids]
    urls = [entry["fullUrl"] for entry in bundle["entry"]]
    assert all(re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", url) for url in urls)
    assert len(set(urls)) == len(urls)  # one per check, and the same in the next export
    assert urls == [
        e["fullUrl"] for e in client.get("/patients/pt-0042/export.fhir.json").json()["entry"]
    ]


def test_a_check_stopped_before_the_pain_is_marked_on_the_chart_not_plotted_as_0(
    server: Server, client: httpx.Client
) -> None:
    stopped = stop_early(warning({**SO_FAR, "patient_id": "pt-sore"}), log=server.db)
    assert stopped.entry is not None
    page = client.get("/patients/pt-sore").text
    assert f'<g class="unasked" data-entry="{stopped.entry.id}">' in page
    assert "stopped before the pain was asked" in page
    chart = page[page.index('id="pain-chart"') : page.index("</svg>")]
    bottom = re.search(r'y1="([\d.]+)" y2="[\d.]+"/>\s*<text class="tick"[^>]*>0<', chart)
    assert bottom
    circles = re.findall(r'<circle cx="[\d.]+" cy="([\d.]+)"', chart)
    assert len(circles) == 2  # the full check's pain during and now; none for the stopped one
    assert bottom.group(1) not in circles
    fhir = client.get("/patients/pt-sore/export.fhir.json").json()
    assert len(fhir["entry"]) == 2


@pytest.mark.parametrize("path", ["", *PATHS])
def test_signed_out_requests_go_to_sign_in(server: Server, path: str) -> None:
    with server.client() as client:
        method = "POST" if path == "/record" else "GET"
        response = client.request(method, f"/patients/pt-0042{path}")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=")


def test_an_unknown_patients_exports_are_not_found(client: httpx.Client) -> None:
    for path in PATHS[1:]:
        assert client.get(f"/patients/pt-nobody{path}").status_code == 404
