"""The clinician's pages in a real browser: headless Chromium (Debian's chromium and
chromium-driver, installed by tests/system-packages.sh) driven by Selenium. A clinician signs
in, finds the most urgent check first, reviews it, and sees the review on the patient's page.

The screenshots in docs/screenshots/ come from this test: TRIAGE_SCREENSHOTS=docs pytest
tests/system/test_web_browser.py writes them there (otherwise they go to a temporary folder).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver
from selenium.webdriver.support import expected_conditions as ready
from selenium.webdriver.support.ui import Select, WebDriverWait

from tests.support.helpers import ROOT
from tests.support.web_support import NAME, PASSWORD, Server

pytestmark = pytest.mark.browser

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
BROWSER_ZONE = "America/New_York"
"""The browser's time zone; the account's is Europe/London: pages must use the browser's."""


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WebDriver]:
    assert shutil.which(CHROMIUM) and shutil.which(CHROMEDRIVER), (
        "Chromium is missing: run sh tests/system-packages.sh (it installs chromium and "
        "chromium-driver)"
    )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
        "--window-size=1280,1000",
        "--lang=en-GB",
        f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}",
    ):
        options.add_argument(flag)
    service = Service(CHROMEDRIVER, env={**os.environ, "TZ": BROWSER_ZONE})
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.environ.get("TRIAGE_SCREENSHOTS") == "docs":
        folder = ROOT / "docs" / "screenshots"
        folder.mkdir(exist_ok=True)
        return folder
    return tmp_path_factory.mktemp("screenshots")


def wait_for(driver: WebDriver, css: str) -> None:
    WebDriverWait(driver, 15).until(ready.presence_of_element_located((By.CSS_SELECTOR, css)))


def no_alert(driver: WebDriver) -> bool:
    try:
        opened = driver.switch_to.alert
    except NoAlertPresentException:
        return True
    return opened is None


def test_a_clinician_signs_in_reviews_the_most_urgent_check_and_sees_it_on_the_patient(
    server: Server, browser: WebDriver, shots: Path
) -> None:
    browser.get(server.url + "/")
    wait_for(browser, "#sign-in")
    assert "/login" in browser.current_url  # nothing without signing in
    browser.find_element(By.ID, "name").send_keys(NAME)
    browser.find_element(By.ID, "password").send_keys(PASSWORD)
    browser.save_screenshot(str(shots / "sign-in.png"))
    browser.find_element(By.ID, "sign-in").click()

    wait_for(browser, "#worklist")
    assert BROWSER_ZONE in browser.find_element(By.CSS_SELECTOR, "header .who").text
    rows = browser.find_elements(By.CSS_SELECTOR, "tr.work-row")
    levels = [row.get_attribute("data-level") for row in rows]
    assert levels[0] == "emergency" and levels[1] == "urgent", levels
    assert "continue" not in levels
    first = rows[0]
    assert "EMERGENCY" in first.text and "pt-chest" in first.text and "ago" in first.text
    badge = first.find_element(By.CSS_SELECTOR, ".badge")
    assert badge.value_of_css_property("background-color") == "rgba(183, 28, 28, 1)"  # red
    needs_action = int(browser.find_element(By.ID, "needs-action").text)
    browser.save_screenshot(str(shots / "worklist.png"))

    first.find_element(By.CSS_SELECTOR, "a.open").click()
    wait_for(browser, "#review-form")
    assert browser.find_element(By.ID, "outcome").text == "EMERGENCY"
    fired = browser.find_elements(By.CSS_SELECTOR, "#answers tr.fired")
    assert "chest_pain" in [row.get_attribute("data-field") for row in fired]
    assert "emergency.chest-pain-ongoing" in browser.find_element(By.ID, "answers").text
    assert "sha256" in browser.find_element(By.ID, "rules").text
    browser.save_screenshot(str(shots / "check.png"))

    reviewed = browser.current_url
    browser.find_element(By.ID, "verdict-accept").click()
    browser.find_element(By.ID, "note").send_keys("Called the patient; ambulance on its way.")
    browser.find_element(By.ID, "submit-review").click()
    wait_for(browser, ".flash")  # on the next unreviewed check
    assert f"accepted by {NAME}" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    assert browser.current_url != reviewed
    browser.get(reviewed)
    wait_for(browser, "#reviews")
    reviews = browser.find_element(By.ID, "reviews").text
    assert f"accepted by {NAME}" in reviews and "ambulance" in reviews

    browser.find_element(By.ID, "patient-link").click()
    wait_for(browser, "#timeline")
    assert browser.find_element(By.ID, "patient-id").text == "pt-chest"
    assert f"accepted by {NAME}" in browser.find_element(By.ID, "timeline").text

    browser.get(server.url + "/")
    wait_for(browser, "#needs-action")
    assert int(browser.find_element(By.ID, "needs-action").text) == needs_action - 1
    levels = [
        r.get_attribute("data-level") for r in browser.find_elements(By.CSS_SELECTOR, "tr.work-row")
    ]
    assert levels[0] == "urgent"


def test_an_override_needs_a_reason_and_a_note_and_shows_them_inert(
    server: Server, browser: WebDriver
) -> None:
    browser.get(f"{server.url}/checks/{server.ids['same_day']}")
    wait_for(browser, "#review-form")
    browser.find_element(By.ID, "verdict-override").click()
    browser.find_element(By.ID, "submit-review").click()
    wait_for(browser, "#review-problems")
    problems = browser.find_element(By.ID, "review-problems").text
    assert "reason" in problems and "note" in problems

    browser.find_element(By.ID, "verdict-override").click()
    Select(browser.find_element(By.ID, "reason")).select_by_value("less_urgent")
    note = "Strain on exam <script>alert('x')</script> <img src=x onerror=alert(1)>"
    browser.find_element(By.ID, "note").clear()
    browser.find_element(By.ID, "note").send_keys(note)
    browser.find_element(By.ID, "submit-review").click()
    wait_for(browser, ".flash")  # on the next unreviewed check
    assert no_alert(browser)
    browser.get(f"{server.url}/checks/{server.ids['same_day']}")
    wait_for(browser, "#reviews")
    assert no_alert(browser)
    text = browser.find_element(By.ID, "reviews").text
    assert note in text and "Less urgent than decided" in text
    assert not browser.find_elements(By.CSS_SELECTOR, "#reviews script, #reviews img")


def test_the_patient_page_draws_the_pain_chart(
    server: Server, browser: WebDriver, shots: Path
) -> None:
    browser.get(f"{server.url}/patients/pt-0042")
    wait_for(browser, "#pain-chart")
    chart = browser.find_element(By.ID, "pain-chart")
    lines = chart.find_elements(By.CSS_SELECTOR, "polyline")
    assert len(lines) == 3  # pain during, pain now, usual pain
    assert len(chart.find_elements(By.CSS_SELECTOR, ".pain-during circle")) == 5
    assert "Usual pain" in browser.find_element(By.CSS_SELECTOR, ".legend").text
    browser.save_screenshot(str(shots / "patient.png"))
