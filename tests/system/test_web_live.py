"""The worklist updates itself in a real browser (headless Chromium, as test_web_browser.py): a
check recorded while the page is open shows up at the top, marked new, with the count of
unreviewed emergencies in the title, without a reload, and what the clinician was typing in the
filters stays."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support.ui import WebDriverWait

import triage
from tests.support.helpers import report
from tests.support.web_support import LEVEL_REPORTS, NAME, PASSWORD, Server
from tests.system.test_web_browser import browser, wait_for  # noqa: F401 (the fixture)
from triage.log import TriageLog

pytestmark = pytest.mark.browser


def test_a_new_emergency_appears_without_a_reload(server: Server, browser: WebDriver) -> None:  # noqa: F811
    browser.get(server.url + "/login")
    wait_for(browser, "#name")
    browser.find_element(By.ID, "name").send_keys(NAME)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.find_element(By.ID, "sign-in").click()
    wait_for(browser, "#worklist")
    with TriageLog(server.db) as log:
        count = log.worklist(limit=1).counts["emergency"]
    assert browser.title.startswith(f"({count}) Worklist")
    browser.execute_script("window.__same_page = true")  # gone if the page reloads
    browser.execute_script("document.querySelector('#filters input[name=patient]').value = 'pt-'")

    moment = datetime.now(timezone.utc) - timedelta(minutes=1)
    changes = {**LEVEL_REPORTS["emergency"], "patient_id": "pt-live-browser"}
    with TriageLog(server.db) as log:
        assert triage.check(report(**changes, reported_at=moment.isoformat()), log=log).entry

    WebDriverWait(browser, 120).until(lambda d: d.title.startswith(f"({count + 1}) Worklist"))
    first = browser.find_element(By.CSS_SELECTOR, "tr.work-row")
    assert first.get_attribute("data-patient") == "pt-live-browser"
    assert "new" in (first.get_attribute("class") or "").split() and "New" in first.text
    assert browser.execute_script("return window.__same_page") is True
    typed = browser.execute_script(
        "return document.querySelector('#filters input[name=patient]').value"
    )
    assert typed == "pt-"
    assert browser.find_element(By.ID, "live-status").text.startswith("Updated at")
