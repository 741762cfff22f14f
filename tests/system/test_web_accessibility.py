"""Every page of ``triage serve`` is accessible and usable on a phone, checked in headless
Chromium: axe-core (vendored in tests/support/axe) finds no serious or critical violation on any
page, at desktop size (1280x900) and phone size (390x844, emulated as a phone), and no page
scrolls sideways on the phone. Keyboard users get a skip link first and focus on the first
error; emergency and urgent differ in words and in colour.

With TRIAGE_SCREENSHOTS=docs the phone screenshots (and the desktop ones that
test_web_browser.py does not take) are written to docs/screenshots/.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webdriver import WebDriver

from tests.support.helpers import ROOT
from tests.support.web_support import NAME, PASSWORD, Server, running
from tests.system.test_web_browser import browser, shots, wait_for  # noqa: F401 (fixtures)
from tests.unit.checking.test_stopped_early import warning
from triage.checking.check import stop_early
from triage.log import TriageLog

pytestmark = pytest.mark.browser

AXE = ROOT / "tests" / "support" / "axe" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
SIZES = {"desktop": (1280, 900, False), "phone": (390, 844, True)}
IMPACTS = ("critical", "serious", "moderate", "minor")
OWN_SHOTS = {"sign-in", "worklist", "check", "patient"}
"""The desktop screenshots test_web_browser.py takes (this test takes the others)."""


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """Checks of every level (web_support.seed), a check stopped early at a red flag, and a
    reviewed check of pt-0042."""
    db = tmp_path_factory.mktemp("a11y") / "triage.db"
    stopped = stop_early(warning(), log=db)
    assert stopped.entry is not None
    served = running(db)
    server = next(served)
    server.ids["stopped"] = stopped.entry.id
    with TriageLog(db) as log:
        last = log.timeline("pt-0042", 1)[0]
        log.review(last.id, by=NAME, verdict="accepted", note="Seen in clinic; fine.")
    yield server
    next(served, None)


def size(driver: WebDriver, name: str) -> None:
    width, height, mobile = SIZES[name]
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride",
        {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile},
    )


AXE_RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ["violations"]}).then(
  (r) => done(r.violations.map((v) => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map((n) => n.target.join(" ") + " " + (n.failureSummary || "").split("\\n")[1])
  }))),
  (e) => done([{id: "axe-error", impact: "critical", help: String(e), nodes: []}]));
"""


def violations(driver: WebDriver) -> list[dict[str, Any]]:
    driver.execute_script(AXE.read_text())
    driver.set_script_timeout(60)
    found: list[dict[str, Any]] = driver.execute_async_script(AXE_RUN)
    return found


def sign_in(driver: WebDriver, server: Server, password: str = PASSWORD) -> None:
    driver.get(server.url + "/login")
    wait_for(driver, "#sign-in")
    driver.find_element(By.ID, "name").clear()
    driver.find_element(By.ID, "name").send_keys(NAME)
    driver.find_element(By.ID, "password").send_keys(password)
    driver.find_element(By.ID, "sign-in").click()


def pages(server: Server) -> list[tuple[str, str, str]]:
    """(name, path, an element the page shows) for every page, signed in."""
    ids = server.ids
    return [
        ("worklist", "/", "#needs-action"),
        ("worklist-filtered", "/?outcome=seek_medical_review&urgency=emergency", "#needs-action"),
        ("worklist-bad-filter", "/?urgency=soonish&since=yesterday", ".error"),
        ("check", f"/checks/{ids['emergency']}", "#review-form"),
        ("check-same-day", f"/checks/{ids['same_day']}", "#review-form"),
        ("check-stopped-early", f"/checks/{ids['stopped']}", "#stopped-early"),
        ("patient", "/patients/pt-0042", "#pain-chart"),
        ("alerts", "/alerts", "main h1"),
        ("not-found", "/checks/999999", "main h1"),
    ]


def test_the_vendored_axe_is_the_released_file() -> None:
    assert hashlib.sha256(AXE.read_bytes()).hexdigest() == AXE_SHA256


def test_every_page_has_no_serious_accessibility_problem_and_fits_a_phone(
    site: Server,
    browser: WebDriver,  # noqa: F811
    shots: Path,  # noqa: F811
) -> None:
    browser.delete_all_cookies()
    found: dict[tuple[str, str], list[dict[str, Any]]] = {}
    too_wide: list[str] = []
    widths: dict[tuple[str, str], list[int]] = {}

    def measure(name: str, screen: str) -> None:
        found[name, screen] = violations(browser)
        width = browser.execute_script(
            "return [document.documentElement.scrollWidth, window.innerWidth]"
        )
        widths[name, screen] = width
        if screen == "phone" and (width[0] > width[1] or width[1] != SIZES["phone"][0]):
            too_wide.append(f"{name}: {width[0]} px wide, {width[1]} px screen (390 px phone)")
        if screen == "phone" or name not in OWN_SHOTS:
            shot = f"{name}-phone.png" if screen == "phone" else f"{name}.png"
            browser.save_screenshot(str(shots / shot))

    try:
        for screen in SIZES:
            size(browser, screen)
            browser.delete_all_cookies()
            browser.get(site.url + "/login")
            wait_for(browser, "#sign-in")
            measure("sign-in", screen)
            sign_in(browser, site)
            wait_for(browser, "#needs-action")
            for name, path, shown in pages(site):
                browser.get(site.url + path)
                wait_for(browser, shown)
                measure(name, screen)
    finally:
        browser.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})

    print("\naxe-core violations (rules, nodes in brackets): critical/serious/moderate/minor")
    for (name, screen), problems in found.items():
        counts = [
            f"{sum(1 for v in problems if v['impact'] == impact)}"
            f"({sum(len(v['nodes']) for v in problems if v['impact'] == impact)})"
            for impact in IMPACTS
        ]
        page_width, screen_width = widths[name, screen]
        print(f"  {name:22} {screen:8} {'/'.join(counts):22} {page_width}/{screen_width} px")
        for v in problems:
            print(f"      {v['impact']:9} {v['id']}: {v['nodes'][:3]}")
    bad = {
        f"{name} at {screen}": [f"{v['id']} ({v['impact']}): {v['nodes'][:3]}" for v in problems]
        for (name, screen), problems in found.items()
        if any(v["impact"] in ("serious", "critical") for v in problems)
    }
    assert not too_wide, too_wide
    assert not bad, bad


def focused(driver: WebDriver) -> Any:
    return driver.execute_script("return document.activeElement")


def test_keyboard_users_get_a_skip_link_and_focus_on_the_first_error(
    site: Server,
    browser: WebDriver,  # noqa: F811
) -> None:
    browser.delete_all_cookies()
    sign_in(browser, site, password="not the password")
    wait_for(browser, "#login-error")
    assert focused(browser).get_attribute("id") == "login-error"  # the error is said first

    sign_in(browser, site)
    wait_for(browser, "#needs-action")
    first = browser.execute_script(
        "return [...document.querySelectorAll('a[href], button, input:not([type=hidden]), "
        "select, textarea, [tabindex]')].find((e) => e.tabIndex >= 0)"
    )
    assert first.get_attribute("class") == "skip-link"
    assert first.get_attribute("textContent") == "Skip to content"
    browser.find_element(By.TAG_NAME, "body").send_keys(Keys.TAB)
    link = focused(browser)
    assert link.get_attribute("class") == "skip-link"
    assert link.is_displayed() and link.rect["y"] >= 0 and link.rect["height"] > 10
    outline = link.value_of_css_property("outline-width")
    assert float(outline.removesuffix("px")) >= 2, outline  # a visible focus style
    link.send_keys(Keys.ENTER)
    assert focused(browser).get_attribute("id") == "main"

    browser.get(f"{site.url}/checks/{site.ids['same_day']}")
    wait_for(browser, "#review-form")
    browser.find_element(By.ID, "verdict-override").click()
    browser.find_element(By.ID, "submit-review").click()
    wait_for(browser, "#review-problems")
    assert focused(browser).get_attribute("id") == "review-problems"


def test_emergency_and_urgent_differ_in_words_and_colour(
    site: Server,
    browser: WebDriver,  # noqa: F811
) -> None:
    browser.delete_all_cookies()
    sign_in(browser, site)
    wait_for(browser, "#needs-action")
    badges = {key: browser.find_element(By.ID, f"count-{key}") for key in ("emergency", "urgent")}
    words = {key: badge.text.split(":")[0] for key, badge in badges.items()}
    colours = {
        key: badge.value_of_css_property("background-color") for key, badge in badges.items()
    }
    assert words["emergency"] != words["urgent"], words
    assert colours["emergency"] != colours["urgent"], colours


def test_the_pain_chart_values_are_readable_without_a_mouse(
    site: Server,
    browser: WebDriver,  # noqa: F811
) -> None:
    browser.delete_all_cookies()
    sign_in(browser, site)
    wait_for(browser, "#needs-action")
    browser.get(f"{site.url}/patients/pt-0042")
    wait_for(browser, "#pain-table")
    rows = browser.find_elements(By.CSS_SELECTOR, "#pain-table tbody tr")
    assert len(rows) == 5
    headers = browser.find_element(By.CSS_SELECTOR, "#pain-table thead").text
    assert "Pain during" in headers and "Usual pain" in headers
    assert "/10" in rows[0].text


def test_a_missing_page_keeps_the_menu_and_the_phone_layout(
    site: Server,
    browser: WebDriver,  # noqa: F811
) -> None:
    browser.delete_all_cookies()
    sign_in(browser, site)
    wait_for(browser, "#needs-action")
    browser.get(f"{site.url}/patients/pt-nobody-at-all")
    wait_for(browser, "main h1")
    assert "no patient" in browser.find_element(By.CSS_SELECTOR, "main h1").text
    assert browser.find_element(By.ID, "signed-in").text == NAME  # the menu, signed in
    viewport = browser.find_element(By.CSS_SELECTOR, "meta[name=viewport]")
    assert "width=device-width" in (viewport.get_attribute("content") or "")
