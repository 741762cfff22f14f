"""Answering the patient's phone pages (``/p/{token}``, triage/web/patient_pages.py) as the
patient of a report: over plain HTTP form posts (httpx), or by tapping in Chromium. Both go
through the same pages, one question each, in the order the library's session asks them.

The answers come from the report as the terminal's come in ``helpers.keystrokes``: nothing
needs an ambulance now; the record confirmed when the clinician set one with a profile (the
vignette's profile, age and conditions), or, for a report without a profile, a record holding
no known conditions that the patient says is not right, so that they give their age and
conditions as a first check would; then every question of the report.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from html import unescape
from pathlib import Path
from typing import Any

import httpx

from tests.support.helpers import gate_answer, typed
from triage.contract.field_table import FIELDS
from triage.evaluation.questionnaire import CHOICE_KINDS, GATES, Gate, Interview
from triage.log import TriageLog

YES, NO = "2", "1"
"""The numbers of Yes and No on a yes/no page ("No" first, as in every question)."""


@dataclass
class Step:
    key: str
    typed: str
    """What the terminal's patient types: a number, several, 'none', text, '' to skip."""

    @property
    def skip(self) -> bool:
        return self.typed == ""

    def chosen(self) -> list[str] | None:
        """The boxes ticked on the page (their values), or None for a text answer."""
        if self.key == "now":
            return ["1"]
        if self.key in GATES or self.key in ("record", "session"):
            return [YES if self.typed == "yes" else NO]
        kind = FIELDS[self.key].kind
        if kind not in CHOICE_KINDS:
            return None
        if kind == "set":
            return self.typed.split() if self.typed != "none" else ["none"]
        return [self.typed]


def enrol(db: Path | str, report: dict[str, Any]) -> tuple[str, bool]:
    """The clinician sets the patient's record and makes their link: the token, and whether
    the record is the patient's own (to confirm) or one to correct."""
    patient = report["patient_id"]
    with TriageLog(db) as log:
        if "profile" in report:
            log.set_patient(
                patient,
                profile=report["profile"],
                age=report.get("age"),
                conditions=report.get("conditions", []),
                by="test",
            )
        else:
            log.set_patient(patient, conditions=[], by="test")
        _, token = log.links.make(patient, by="test")
    return token, "profile" in report


def steps(report: dict[str, Any], record: bool) -> list[Step]:
    """The pages' answers, in the order asked (as ``helpers.keystrokes``, the patient fixed)."""
    found = [Step("now", "n")]
    preset: dict[str, Any] = {"patient_id": report["patient_id"]}
    if record:
        found.append(Step("record", "yes"))
    else:
        found.append(Step("record", "no"))
        for name in ("age", "conditions"):
            value = report.get(name, [] if name == "conditions" else None)
            found.append(Step(name, typed(FIELDS[name], value)))
            if value is not None:
                preset[name] = value
    return found + _asked(Interview(preset), report)


def follow_up_steps(db: Path | str, report: dict[str, Any]) -> tuple[list[Step], dict[str, Any]]:
    """A follow-up's answers, in the order asked: nothing needs an ambulance, the record (set
    with a profile) is right, the latest session in the log is the one meant; then every
    question of the follow-up, answered from ``report``. And the answers as the terminal's
    ``--follow-up --answers`` file would hold them (the session left to the log)."""
    from triage.checking.check import follow_up_preset

    with TriageLog(db) as log:
        _, known = follow_up_preset(report["patient_id"], log)
    interview = Interview.follow_up(known)
    found = [Step("now", "n"), Step("record", "yes"), Step("session", "yes")]
    found += _asked(interview, report)
    answers = interview.report_data()
    return found, {
        k: v for k, v in answers.items() if k not in ("session_id", "hours_since_session")
    }


def _asked(interview: Interview, report: dict[str, Any]) -> list[Step]:
    found = []
    while (step := interview.next_step()) is not None:
        if isinstance(step, Gate):
            yes = gate_answer(step, report)
            found.append(Step(step.key, "yes" if yes else "no"))
            interview.answer(step, yes)
        else:
            value = report.get(step.field)
            found.append(Step(step.key, typed(step.spec, value)))
            interview.answer(step, value)
    return found


def expected_report(report: dict[str, Any]) -> dict[str, Any]:
    """The report as the questionnaire records it: the conditions said ('none') when the
    patient gives them."""
    data = dict(report)
    if "profile" not in data:
        data.setdefault("conditions", [])
    return data


# -- over HTTP -------------------------------------------------------------------------------------


FORM_TOKEN = re.compile(r'name="form_token" value="([^"]+)"')
ACTION = re.compile(r'<form method="post" action="([^"]+)" id="(question-form|check-form)"')
REFERENCE = re.compile(r"reference number (\d+)")


@dataclass
class Answered:
    """Where the pages ended: the stop or the result page, its text, the entry recorded."""

    url: str
    html: str
    entry: int | None
    pages: int
    sizes: list[int] = field(default_factory=list)
    """The pages' sizes in bytes, where measured."""

    @property
    def stopped(self) -> bool:
        return self.url.endswith("/stop")


def form_token(html: str) -> str:
    found = FORM_TOKEN.search(html)
    assert found, html[:2000]
    return found.group(1)


def post_data(step: Step, html: str) -> dict[str, Any]:
    data: dict[str, Any] = {"form_token": form_token(html)}
    if step.skip:
        data["skip"] = "1"
        return data
    chosen = step.chosen()
    data["answer"] = step.typed if chosen is None else chosen
    return data


def answer_over_http(client: httpx.Client, token: str, answers: list[Step]) -> Answered:
    """Answer every page with ``client`` (redirects followed, cookies kept), checking that each
    page asks the question expected next; stops at the stop page or the result."""
    page = client.get(f"/p/{token}")
    pages = 1
    queue = list(answers)
    while True:
        assert page.status_code == 200, (page.status_code, page.text[:2000])
        url = str(page.url)
        if url.endswith(("/stop", "/result")):
            found = REFERENCE.search(page.text)
            return Answered(url, page.text, int(found.group(1)) if found else None, pages)
        action = ACTION.search(page.text)
        assert action, page.text[:2000]
        target = unescape(action.group(1))
        if target.endswith("/summary"):
            assert not queue, f"the summary came before {[s.key for s in queue]}"
            page = client.post(target, data={"form_token": form_token(page.text)})
        else:
            assert queue, f"an extra question: {target}"
            step = queue.pop(0)
            assert target.endswith(f"/q/{step.key}"), (target, step.key)
            page = client.post(target, data=post_data(step, page.text))
        pages += 1


def phone_client(url: str, address: str | None = None) -> httpx.Client:
    """A client of the pages (from ``address``, another loopback address, when given)."""
    transport = httpx.HTTPTransport(local_address=address) if address else None
    return httpx.Client(base_url=url, timeout=60, follow_redirects=True, transport=transport)


# -- in Chromium ---------------------------------------------------------------------------------

WAIT = 60
"""An upper bound: every wait returns as soon as the page is there."""


def until(condition: Any, what: str, wait: float = WAIT) -> Any:
    """``condition()`` once it is true (polled), at most ``wait`` seconds."""
    deadline = time.monotonic() + wait
    while True:
        found = condition()
        if found:
            return found
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {wait:.0f} s for {what}")
        time.sleep(0.02)


def current_form(driver: Any) -> tuple[str, str]:
    """The page's form: (its id, its action); ('screen', url) on a stop or result page."""
    return driver.execute_script(  # type: ignore[no-any-return]
        "if (document.readyState !== 'complete') return null;"
        "const f = document.querySelector('#question-form, #check-form');"
        "if (f) return [f.id, f.getAttribute('action')];"
        "if (document.querySelector('#screen')) return ['screen', location.pathname];"
        "return null;"
    )


def tap(driver: Any, step: Step) -> None:
    """Answer the page on screen as the patient would: tap the answers, or type, then Next
    (or Skip)."""
    from selenium.webdriver.common.by import By

    if not step.skip:
        chosen = step.chosen()
        if chosen is None:
            box = driver.find_element(By.ID, "answer")
            box.clear()
            box.send_keys(step.typed)
        else:
            for value in chosen:
                driver.find_element(By.CSS_SELECTOR, f"label[for='answer-{value}']").click()
    driver.find_element(By.ID, "skip" if step.skip else "next").click()


def answer_in_browser(
    driver: Any, url: str, token: str, answers: list[Step], *, open_link: bool = True
) -> Answered:
    """Answer every page in Chromium (from the link, or from the page on screen); each page
    waited for (never slept for)."""
    from selenium.webdriver.common.by import By

    if open_link:
        driver.get(f"{url}/p/{token}")
    queue = list(answers)
    pages = 1
    previous = None
    while True:
        form = until(lambda last=previous: _changed(driver, last), "the next page")
        previous = driver.find_element(By.TAG_NAME, "html")
        kind, action = form
        if kind == "screen":
            saved = driver.find_elements(By.ID, "saved")
            found = REFERENCE.search(saved[0].text) if saved else None
            html = driver.page_source
            return Answered(action, html, int(found.group(1)) if found else None, pages)
        if kind == "check-form":
            assert not queue, f"the summary came before {[s.key for s in queue]}"
            driver.find_element(By.ID, "check").click()
        else:
            step = queue.pop(0)
            assert action.endswith(f"/q/{step.key}"), (action, step.key)
            tap(driver, step)
        pages += 1


def gone(element: Any) -> bool:
    """Whether the page ``element`` was on has been replaced."""
    from selenium.common.exceptions import WebDriverException

    try:
        element.tag_name  # noqa: B018 - raises once the page has been replaced
        return False
    except WebDriverException:  # stale, or (Chromium) "does not belong to the document"
        return True


def _changed(driver: Any, previous: Any) -> Any:
    """The new page's form once the page before has gone."""
    if previous is not None and not gone(previous):
        return None
    return current_form(driver)


def step_on(driver: Any, step: Step) -> None:
    """Answer the page on screen, and wait for the next one."""
    from selenium.webdriver.common.by import By

    old = driver.find_element(By.TAG_NAME, "html")
    tap(driver, step)
    until(lambda: gone(old), "the next page")
    until(lambda: current_form(driver), "a page")


# -- in Chromium, each page filled by a script the browser adds to it ---------------------------

_ON_EVERY_PAGE = """
window.addEventListener('load', () => {
  const plan = sessionStorage.getItem('plan');
  if (plan === null) return;
  const queue = JSON.parse(plan);
  const sizes = JSON.parse(sessionStorage.getItem('sizes') || '[]');
  sizes.push(performance.getEntriesByType('navigation')[0].decodedBodySize);
  sessionStorage.setItem('sizes', JSON.stringify(sizes));
  const form = document.querySelector('#question-form, #check-form');
  const end = (left) => {
    const saved = document.getElementById('saved');
    sessionStorage.removeItem('plan');
    sessionStorage.setItem('end', JSON.stringify([location.pathname,
      saved ? saved.textContent : '', sizes, left]));
  };
  if (!form || form.id === 'check-form' && queue.length) return end(queue.map((s) => s.key));
  if (form.id === 'check-form') return document.getElementById('check').click();
  const step = queue.shift();
  if (!form.getAttribute('action').endsWith('/q/' + step.key)) return end([step.key]);
  sessionStorage.setItem('plan', JSON.stringify(queue));
  for (const value of step.chosen || []) document.getElementById('answer-' + value).checked = true;
  if (step.text !== null) document.getElementById('answer').value = step.text;
  document.getElementById(step.button).click();
});
"""

_START = """
sessionStorage.clear();
sessionStorage.setItem('plan', JSON.stringify(arguments[0]));
location.href = arguments[1];
"""


def fill_in_browser(driver: Any, url: str, token: str, answers: list[Step]) -> Answered:
    """Answer every page in Chromium with no round trip to WebDriver between pages: a script
    the browser adds to every page (``Page.addScriptToEvaluateOnNewDocument``) fills each
    form from the plan kept in the tab's sessionStorage and presses the page's own button (the
    browser submits the form, follows the redirect, keeps the cookie). A third quicker than
    ``answer_in_browser``'s taps, for the sweep of every vignette; ``Answered.sizes`` holds
    the size of each page, as the browser measured it."""
    added = driver.execute_cdp_cmd(
        "Page.addScriptToEvaluateOnNewDocument", {"source": _ON_EVERY_PAGE}
    )
    try:
        return _filled(driver, url, token, answers)
    finally:
        driver.execute_cdp_cmd("Page.removeScriptToEvaluateOnNewDocument", added)


def _filled(driver: Any, url: str, token: str, answers: list[Step]) -> Answered:
    driver.get(f"{url}/static/patient.css")  # the site's origin, for its sessionStorage
    plan = [
        {
            "key": s.key,
            "button": "skip" if s.skip else "next",
            "chosen": None if s.skip else s.chosen(),
            "text": s.typed if not s.skip and s.chosen() is None else None,
        }
        for s in answers
    ]
    driver.execute_script(_START, plan, f"{url}/p/{token}")
    # the pages follow one another unwatched: a bound for them all, however slow the machine
    end = until(lambda: _ended(driver), "the last page", WAIT + 5 * len(plan))
    path, saved, sizes, left = end
    html = driver.page_source
    assert path.endswith(("/stop", "/result")), (path, left, html[-2000:])
    assert path.endswith("/stop") or not left, f"the summary came before {left}"
    found = REFERENCE.search(saved)
    return Answered(path, html, int(found.group(1)) if found else None, len(sizes), sizes)


def _ended(driver: Any) -> Any:
    from selenium.common.exceptions import WebDriverException

    time.sleep(0.2)  # a poll costs the browser as much as a page
    try:
        end = driver.execute_script("return sessionStorage.getItem('end')")
    except WebDriverException:  # between pages
        return None
    return None if end is None else json.loads(end)
