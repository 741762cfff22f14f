"""A check the questionnaire stopped at the first red flag (issue 11) is a partial report: the
clinician's pages and the API show it, first on the worklist, with the answers given and the
questions left unanswered."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.support.web_support import NAME, PASSWORD, csrf_of, start, stop
from tests.unit.checking.test_stopped_early import warning
from triage.checking.check import stop_early
from triage.log import TriageLog


def test_a_check_stopped_early_is_on_every_page_and_in_the_api(tmp_path: Path) -> None:
    db = tmp_path / "log.db"
    stopped = stop_early(warning(), log=db)
    assert stopped.entry is not None
    entry_id = stopped.entry.id
    with TriageLog(db) as log:
        log.access.add_clinician(NAME, PASSWORD)
        _, token = log.access.add_token("test")
    process, url, output = start(db)
    try:
        with httpx.Client(base_url=url, timeout=30) as client:
            page = client.get("/login")
            form = {"csrf_token": csrf_of(page.text), "name": NAME, "password": PASSWORD}
            client.post("/login", data=form)
            worklist = client.get("/")
            check = client.get(f"/checks/{entry_id}")
            patient = client.get("/patients/pt-s")
        headers = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=30) as api:
            shown = api.get(f"/entries/{entry_id}")
    finally:
        stop(process, output)
    for response in (worklist, check, patient, shown):
        assert response.status_code == 200, response.text
    assert "Stopped early" in worklist.text and "pt-s" in worklist.text
    assert 'id="stopped-early"' in check.text and "Fainted" in check.text
    assert "Not asked: chest_pain, chest_pain_kind" in check.text  # in asking order
    assert "Stopped early" in patient.text
    data = shown.json()
    assert data["decision"]["stopped_early"] is True and data["urgency"] == "emergency"
