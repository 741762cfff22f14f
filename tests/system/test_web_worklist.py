"""The worklist page (issue 25) on a real ``triage serve``, over an SQLite log and a PostgreSQL
one: recent emergency and urgent checks first, one row per patient with their other open checks
folded under it, the count of unreviewed emergencies in the title, what the page polls to
update itself (a new check changes it), "new since you last looked", and a bad filter that
shows its errors and no list."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest

import triage
from tests.support.helpers import report
from tests.support.web_support import LEVEL_REPORTS, PASSWORD, Server, on_either_backend
from triage.log import TriageLog

LIVE = {"X-Triage-Live": "1"}


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


def rows(html: str) -> list[tuple[str, str, bool]]:
    """(level, patient, marked new) of each row of the worklist, in order."""
    found = re.findall(r'<tr class="work-row[^"]*"([^>]*)>', html)
    return [
        (
            re.search(r'data-level="([^"]+)"', attrs).group(1),  # type: ignore[union-attr]
            re.search(r'data-patient="([^"]+)"', attrs).group(1),  # type: ignore[union-attr]
            "data-new" in attrs,
        )
        for attrs in found
    ]


def title(html: str) -> str:
    found = re.search(r"<title>(.*?)</title>", html, re.S)
    assert found, html
    return found.group(1).strip()


def emergencies(server: Server) -> int:
    with TriageLog(server.db) as log:
        return log.worklist(limit=1).counts["emergency"]


def record(server: Server, patient: str, level: str, minutes_ago: float = 3) -> int:
    moment = datetime.now(timezone.utc) - timedelta(minutes=minutes_ago)
    changes = {**LEVEL_REPORTS[level], "patient_id": patient}
    with TriageLog(server.db) as log:
        result = triage.check(report(**changes, reported_at=moment.isoformat()), log=log)
    assert result.entry is not None
    return result.entry.id


def test_recent_urgent_checks_first_one_row_per_patient_and_the_title_count(
    server: Server, client: httpx.Client
) -> None:
    page = client.get("/")
    assert page.status_code == 200, page.text
    shown = rows(page.text)
    assert [level for level, _, _ in shown[:2]] == ["emergency", "urgent"]  # 2 h and 1 h old
    patients = [patient for _, patient, _ in shown]
    assert len(patients) == len(set(patients))  # one row per patient
    assert patients.count("pt-0042") == 1
    count = emergencies(server)
    assert title(page.text).startswith(f"({count}) Worklist")
    assert "Emergency and urgent checks of the last 24 hours first" in page.text
    assert '<script src="/static/worklist.js"></script>' in page.text


def test_a_patients_other_open_checks_fold_under_their_row(
    server: Server, client: httpx.Client
) -> None:
    for minutes in (60 * 24 * 3, 60 * 24 * 2, 60 * 30):
        record(server, "pt-grouped", "routine", minutes)
    page = client.get("/", params={"patient": "pt-grouped"})
    assert [patient for _, patient, _ in rows(page.text)] == ["pt-grouped"]
    folded = re.search(r'<details class="others"[^>]*>\s*<summary>(.*?)</summary>', page.text)
    assert folded is not None and folded.group(1).startswith("and 2 more open checks")
    assert page.text.count('<li class="other-check') == 2


def test_a_new_check_changes_the_version_and_shows_up_new_and_in_the_title(
    server: Server, client: httpx.Client
) -> None:
    client.get("/")  # the clinician looks
    before = client.get("/worklist/version")
    assert before.status_code == 200 and before.headers["content-type"] == "application/json"
    assert client.get("/worklist/version").json() == before.json()
    count = emergencies(server)
    assert before.json()["emergencies"] == count
    entry_id = record(server, "pt-live", "emergency")
    after = client.get("/worklist/version").json()
    assert after["version"] != before.json()["version"] and after["emergencies"] == count + 1

    live = client.get("/", headers=LIVE)  # what the page's script fetches: not a visit
    assert rows(live.text)[0] == ("emergency", "pt-live", True)
    assert title(live.text).startswith(f"({count + 1}) Worklist")
    assert f'data-entry-id="{entry_id}"' in live.text and "1 new since you last looked" in live.text
    again = client.get("/")  # a visit: still new, since the one before it
    assert rows(again.text)[0] == ("emergency", "pt-live", True)
    assert not any(new for _, _, new in rows(client.get("/").text))  # seen now

    with TriageLog(server.db) as log:
        log.review(entry_id, by="Dr Ada", verdict="accepted")
    reviewed = client.get("/worklist/version").json()
    assert reviewed["version"] != after["version"] and reviewed["emergencies"] == count


def test_the_page_may_fetch_from_its_own_site_only(client: httpx.Client) -> None:
    policy = client.get("/").headers["content-security-policy"]
    assert "connect-src 'self'" in policy and "default-src 'none'" in policy
    script = client.get("/static/worklist.js")
    assert script.status_code == 200 and "/worklist/version" in script.text


@pytest.mark.parametrize(
    "query",
    [{"urgency": "soon"}, {"since": "yesterday"}, {"outcome": "fine", "until": "2026-13-01"}],
    ids=["urgency", "date", "two"],
)
def test_a_bad_filter_shows_its_errors_and_no_list(
    client: httpx.Client, query: dict[str, str]
) -> None:
    page = client.get("/", params=query)
    assert page.status_code == 400
    problems = re.search(r'id="filter-problems"|role="alert"', page.text)
    assert problems is not None
    assert "is not one of" in page.text or "is not a date" in page.text
    assert rows(page.text) == [] and 'id="worklist"' not in page.text
    assert "Showing" not in page.text and 'id="filters"' in page.text


def test_what_a_clinician_has_seen_follows_the_account_not_the_device(
    server: Server, client: httpx.Client
) -> None:
    """Seen on the desk's browser, a check is not new on the phone signed in as the same
    clinician; another clinician, who has not looked since, still sees it new."""
    with TriageLog(server.db) as log:
        if log.access.clinician("Dr B. Mensah") is None:
            log.access.add_clinician("Dr B. Mensah", PASSWORD)
    with server.client() as other:
        server.sign_in(other, "Dr B. Mensah")
        other.get("/")  # the other clinician looks, before the check
        entry_id = record(server, "pt-seen-once", "emergency")
        assert rows(client.get("/").text)[0] == ("emergency", "pt-seen-once", True)
        with server.client() as phone:
            server.sign_in(phone)
            assert rows(phone.get("/").text)[0] == ("emergency", "pt-seen-once", False)
        assert rows(other.get("/").text)[0] == ("emergency", "pt-seen-once", True)
    with TriageLog(server.db) as log:
        assert log.access.seen_entry("Dr B. Mensah") == entry_id
        log.review(entry_id, by="Dr Ada", verdict="accepted")
