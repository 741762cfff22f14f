"""The patient's pages (issue 27): the questionnaire on a phone, opened with the link the clinic
gave (``/p/{token}``, ``log.links``), driven by the same library session as ``triage check``.

- **The link** is checked on every request (one indexed read): a valid one reaches only its
  patient's questionnaire and this visit's result; an unknown, expired or revoked one gets a
  page that says so and what to do about symptoms that need an ambulance, with nothing of any
  patient (404 or 410). Failed lookups are counted per client address: past ``LOOKUPS`` in a
  minute, every link from that address is refused (429) for the rest of the minute, so that
  tokens cannot be guessed at speed (a valid token is never slowed by others' failures). A
  valid link gets at most ``LINK_PAGES`` requests a minute, far above a person's pace, so that
  a leaked link cannot flood the server.
- **The answers** are kept on the server, in memory, for ``VISIT_HOURS`` after the last page
  (``Visits``), under a random id in a cookie scoped to ``/p/`` (HttpOnly, SameSite=Lax, Secure
  over HTTPS): health answers never travel in URLs or hidden fields, a copy of the page holds
  none, and one process serves the log (as for the sign-in limiter). A visit belongs to one
  link; another link (or none) starts its own. What is kept is the list of answers in the order
  given (values, as the session read them); every request replays them into a fresh
  ``QuestionnaireSession`` (a few milliseconds), so that going back and changing an answer is
  exactly the terminal's changing it from its summary.
- **One question per page**, plain forms (no script), POST-redirect-GET: reload and the back
  button show a page again and never answer twice. A POST needs the visit's own form token and
  no other origin.
- The wording is the library's: questions, answers, help and validation messages
  (``evaluation.questionnaire``, ``views.prompts``), the early-stop and result screens
  (``views.render``), with ``tel:`` links to the pack's emergency numbers.
"""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from ..errors import AnswerError, NotFoundError, StorageError, TriageError
from ..evaluation.questionnaire import (
    CHOICE_KINDS,
    RIGHT_NOW,
    Gate,
    Item,
    Question,
    Screen,
    session_end,
)
from ..log.links import PATH, LinkLookup, PatientLink
from ..views.prompts import (
    CHECK_TITLE,
    check_title,
    echoed,
    help_text,
    hint,
    is_optional,
    options,
    question_text,
)
from ..views.render import IF_STOPPED, Line, render_decision, render_early_warning
from .errors import shown_reason
from .security import client_address
from .site import site

if TYPE_CHECKING:
    from ..checking.check import CheckResult, StoppedCheck
    from ..checking.session import QuestionnaireSession
    from ..log import Entry, TriageLog
    from ..log.records import SessionRef

COOKIE = "triage_patient"
VISIT_HOURS = 2
MAX_VISITS = 10_000
LOOKUPS = 30
"""Failed link lookups allowed per client address and minute."""
LINK_PAGES = 300
"""Requests allowed per link and minute: five a second, ten times what someone answering as
fast as they can makes (a question and its answer every two seconds), so that a leaked link
cannot flood the server."""
CHANNEL = "phone"
FORM_FIELD = "form_token"

# What the terminal says around the questions (cli.py), in the same words.
SAID = "Your answer: {}"
FOR_THE_RECORD = (
    "Call for help first. Then, if you can, so that your clinician sees this check: "
    "two quick questions."
)
SAVED = "Saved for your clinician in the triage log (reference number {})."
NOT_SAVED = "Not saved in the triage log: {}."
LOG_FAILED = (
    "Your result above is valid, but it was not saved in the triage log: tell your clinician."
)
RECORD_NOT_SAVED = "Your age and conditions were not saved on your record: {}"
STARTED_AGAIN = "Your earlier answers were not kept (after {} hours, or a restart of the server)."


def routes() -> list[Route]:
    base = PATH + "{token}"
    return [
        Route(base, start, methods=["GET"], name="patient_start"),
        Route(base + "/q/{key}", question_page, methods=["GET"], name="patient_question"),
        Route(base + "/q/{key}", answer, methods=["POST"]),
        Route(base + "/summary", summary_page, methods=["GET"], name="patient_summary"),
        Route(base + "/summary", check, methods=["POST"]),
        Route(base + "/stop", stop_page, methods=["GET"], name="patient_stop"),
        Route(base + "/stop", for_the_record, methods=["POST"]),
        Route(base + "/result", result_page, methods=["GET"], name="patient_result"),
        Route(base + "/again", again, methods=["POST"], name="patient_again"),
        Route(base + "/checks", checks_page, methods=["GET"], name="patient_checks"),
        Route(base + "/checks/{entry_id:int}", past_check_page, methods=["GET"]),
    ]


# -- state: visits and the lookup limiter -------------------------------------------------------


@dataclass
class Done:
    """A visit's end, as shown again on reload: the screen's lines, whether the questionnaire
    stopped early, and what was said about saving it."""

    lines: list[Line]
    level: str
    stopped: bool
    saved: list[str]


@dataclass
class Visit:
    """One patient's answers, on the server, for one link."""

    id: str
    link: int
    form_token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    answers: list[tuple[str, Any]] = field(default_factory=list)
    for_record: list[tuple[str, Any]] = field(default_factory=list)
    said: str | None = None
    done: Done | None = None
    follow_up: bool = False
    """A follow-up of the patient's latest session (chosen on the first page), not a check after
    a session."""
    seen: float = field(default_factory=time.monotonic)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def answered(self) -> bool:
        """Whether anything has been answered yet (the kind of check can change until then)."""
        return bool(self.answers or self.for_record)


class Visits:
    """The visits of one app, in memory, each forgotten ``VISIT_HOURS`` after its last page."""

    def __init__(self, hours: float = VISIT_HOURS) -> None:
        self.ttl = hours * 3600
        self._visits: dict[str, Visit] = {}
        self._lock = threading.Lock()

    def get(self, visit_id: str | None, link: int) -> Visit | None:
        now = time.monotonic()
        with self._lock:
            found = self._visits.get(visit_id or "")
            if found is None or found.link != link:
                return None
            if found.seen <= now - self.ttl:
                del self._visits[found.id]
                return None
            found.seen = now
            return found

    def new(self, link: int) -> Visit:
        now = time.monotonic()
        with self._lock:
            if len(self._visits) >= MAX_VISITS:
                for key in [k for k, v in self._visits.items() if v.seen <= now - self.ttl]:
                    del self._visits[key]
            while len(self._visits) >= MAX_VISITS:  # the oldest go first
                del self._visits[min(self._visits, key=lambda k: self._visits[k].seen)]
            visit = Visit(secrets.token_urlsafe(32), link)
            self._visits[visit.id] = visit
            return visit


class Limiter:
    """At most ``limit`` events per key (a client address, a link) within ``window`` seconds."""

    def __init__(self, limit: int, window: float = 60) -> None:
        self.limit, self.window = limit, window
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def wait(self, key: str) -> float:
        """The seconds until ``key`` may have another event (0 when it may now)."""
        now = time.monotonic()
        with self._lock:
            recent = self._events.get(key)
            while recent and recent[0] <= now - self.window:
                recent.popleft()
            if recent is None or len(recent) < self.limit:
                return 0.0
            return recent[0] + self.window - now

    def count(self, key: str) -> None:
        now = time.monotonic()
        with self._lock:
            self._events.setdefault(key, deque()).append(now)
            if len(self._events) > 10_000:
                for old in [k for k, v in self._events.items() if v[-1] <= now - self.window]:
                    del self._events[old]


@dataclass
class PatientState:
    visits: Visits = field(default_factory=Visits)
    lookups: Limiter = field(default_factory=lambda: Limiter(LOOKUPS))
    """Failed link lookups, per client address."""
    pages: Limiter = field(default_factory=lambda: Limiter(LINK_PAGES))
    """Requests, per valid link."""


_STATE_LOCK = threading.Lock()


def state(request: Request) -> PatientState:
    """This app's visits and limiter (made with the app's first patient page)."""
    app_state = request.app.state
    with _STATE_LOCK:
        found = getattr(app_state, "patient_pages", None)
        if found is None:
            found = app_state.patient_pages = PatientState()
    assert isinstance(found, PatientState)
    return found


# -- the link ------------------------------------------------------------------------------------


class Refused(Exception):
    """The link does not open (or too many did not): the response to give."""

    def __init__(self, response: Response) -> None:
        self.response = response


def _link(request: Request, log: TriageLog) -> PatientLink:
    """The valid link of the request's token; ``Refused`` otherwise."""
    limits, address = state(request), client_address(request)
    wait = limits.lookups.wait(address)
    if wait > 0:
        raise Refused(_too_many(request, TOO_MANY_LINKS, wait))
    found: LinkLookup = log.links.lookup(request.path_params["token"])
    if not found.valid or found.link is None:
        limits.lookups.count(address)
        status = 404 if found.problem == "unknown" else 410
        raise Refused(_problem(request, status, found.words or ""))
    link = str(found.link.id)
    wait = limits.pages.wait(link)
    if wait > 0:
        raise Refused(_too_many(request, TOO_MANY_PAGES, wait))
    limits.pages.count(link)
    return found.link


TOO_MANY_LINKS = "Too many links were tried from here. Try again in {} s."
TOO_MANY_PAGES = "Too many pages were asked for with this link. Try again in {} s."


def _problem(request: Request, status: int, words: str) -> Response:
    return _page(request, "patient/problem.html", status, words=words, net=IF_STOPPED)


def _too_many(request: Request, words: str, wait: float) -> Response:
    retry = int(wait) + 1
    response = _problem(request, 429, words.format(retry))
    response.headers["Retry-After"] = str(retry)
    return response


# -- rendering -----------------------------------------------------------------------------------


def _numbers(request: Request) -> list[str]:
    """The emergency numbers of the pack's contacts ("999, 112 or 911"), for ``tel:`` links."""
    examples = site(request).pack.contacts.emergency_examples
    return re.findall(r"\+?\d[\d-]*\d|\d", examples)


def _page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    page = site(request).templates.get_template(template)
    html = page.render(**{"title": CHECK_TITLE, "numbers": _numbers(request), **context})
    return HTMLResponse(html, status_code=status)


def _visit_page(context: Context, template: str, status: int = 200, **values: Any) -> Response:
    """A page of the visit's check, under its title (a check after a session, or a follow-up),
    its forms carrying the visit's form token."""
    visit = context.visit
    assert visit is not None
    return _page(
        context.request,
        template,
        status,
        title=check_title(visit.follow_up),
        base=context.base,
        form_field=FORM_FIELD,
        form_token=visit.form_token,
        **values,
    )


def _with_calls(text: str, numbers: list[str]) -> Markup:
    """``text`` escaped, each emergency number in it a ``tel:`` link."""
    if not numbers:
        return escape(text)
    pattern = "|".join(re.escape(n) for n in sorted(numbers, key=len, reverse=True))
    parts: list[Markup] = []
    last = 0
    for found in re.finditer(rf"(?<![\d+]){pattern}(?!\d)", text):
        number = found.group(0)
        parts += [escape(text[last : found.start()])]
        parts += [Markup('<a href="tel:{0}">{0}</a>').format(number)]
        last = found.end()
    return Markup("").join([*parts, escape(text[last:])])


def screen_blocks(lines: list[Line], numbers: list[str]) -> list[dict[str, Any]]:
    """The lines of a result or early-stop screen as blocks of a page, in their order: a
    heading, a paragraph (with its style) or a list of the '- ' lines under it."""
    blocks: list[dict[str, Any]] = []
    for line in lines:
        if not line.text:
            continue
        if line.indent and line.text.startswith("- "):
            if not blocks or blocks[-1]["kind"] != "list":
                blocks.append({"kind": "list", "entries": []})
            blocks[-1]["entries"].append(line.text[2:])
            continue
        kind = "heading" if line.style == "heading" else "line"
        blocks.append({"kind": kind, "style": line.style, "text": _with_calls(line.text, numbers)})
    return blocks


def _field(step: Question) -> str:
    """How the question is answered on the page: radio, checkbox or text."""
    if isinstance(step, Screen):
        return "checkbox"
    if isinstance(step, Gate):
        return "radio"
    kind = step.spec.kind
    if kind == "set":
        return "checkbox"
    return "radio" if kind in CHOICE_KINDS else "text"


_TYPING = ("type", " for No", " for Yes", "? for help", "Enter", "the number")


def web_hint(step: Question) -> str:
    """The terminal's hint without what is about typing: 'If you are not sure, answer yes.',
    '0 to 10', 'For example: just now, 2 hours ago, ...'."""
    parts = [p for p in hint(step)[1:-1].split("; ") if not any(w in p for w in _TYPING)]
    text = "; ".join(parts)
    return f"{text[:1].upper()}{text[1:]}." if text else ""


def _chosen(step: Question, value: Any) -> tuple[list[str], str]:
    """The answer in force as the form shows it: the numbers checked, or the text."""
    if value is None:
        return [], ""
    listed = [v for v, _ in options(step)]
    if _field(step) == "text":
        return [], f"{value:g}" if isinstance(value, float) else str(value)
    values = value if isinstance(value, list) else [value]
    if isinstance(step, Screen) and not values:
        return ["1"], ""
    if isinstance(step, Item) and step.spec.kind == "set" and not values:
        return ["none"], ""
    numbers = [
        str(n)
        for n, v in enumerate(listed, 1)
        if any(v is w or (type(v) is type(w) and v == w) for w in values)
    ]
    return numbers, ""


# -- the questionnaire, replayed -----------------------------------------------------------------


def _session(
    request: Request, log: TriageLog, link: PatientLink, follow_up: bool
) -> QuestionnaireSession:
    from ..checking.session import QuestionnaireSession

    return QuestionnaireSession(
        link.patient,
        follow_up=follow_up,
        log=log,
        pack=site(request).pack,
        channel=CHANNEL,
        time_zone=patient_zone(log, link),
    )


def patient_zone(log: TriageLog, link: PatientLink) -> ZoneInfo | None:
    """Where the patient's times of day ("6pm", "yesterday at 18:00") are read: the time zone of
    the clinician who made the link (the clinic's; a page without script cannot ask the
    phone's), or this computer's when no account has that name."""
    maker = log.access.clinician(link.created_by)
    return ZoneInfo(maker.time_zone) if maker is not None else None


def _replayed(
    request: Request, log: TriageLog, link: PatientLink, visit: Visit
) -> QuestionnaireSession | None:
    """A fresh session with the visit's answers given again, in their order; None when they
    no longer replay (the patient's record changed meanwhile): the visit starts again."""
    session = _session(request, log, link, visit.follow_up)
    try:
        for key, value in visit.answers:
            session.answer(key, value)
        for key, value in visit.for_record:
            session.give_for_record(key, value)
    except TriageError:
        visit.answers.clear()
        visit.for_record.clear()
        return None
    return session


def _allowed(session: QuestionnaireSession, key: str) -> Question | None:
    """The question ``key`` when it may be shown: the next one, or one answered that the
    summary lets the patient change."""
    from ..views.prompts import changeable

    following = session.next_question()
    if following is not None and following.key == key:
        return following
    if session.interview is not None:
        keys = changeable(session.summary())
    else:
        keys = [k for k in ("now", "age", "conditions") if session.value(k) is not None]
        keys += [k for k in ("age", "conditions") if k in session.given_record]
    return session.question(key) if key in keys else None


def _where(token: str, session: QuestionnaireSession | None, visit: Visit) -> str:
    """The page a visit is at: its end, the stop screen, the next question or the summary."""
    base = f"{PATH}{token}"
    if visit.done is not None:
        return f"{base}/stop" if visit.done.stopped else f"{base}/result"
    if session is None:
        return base
    if session.warning is not None:
        return f"{base}/stop"
    following = session.next_question()
    return f"{base}/q/{following.key}" if following is not None else f"{base}/summary"


def _go(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@dataclass
class Context:
    """What a page's handler has, in the worker thread: the log, the link, the visit."""

    request: Request
    log: TriageLog
    link: PatientLink
    visit: Visit | None

    @property
    def token(self) -> str:
        token: str = self.request.path_params["token"]
        return token

    @property
    def base(self) -> str:
        return f"{PATH}{self.token}"


async def _serve(request: Request, work: Any, form: bool = False) -> Response:
    """Check the link, find the visit, and run ``work(context, form)`` in a worker thread (the
    log's connection is the thread's own). A POST needs the visit's form token; without a visit
    (none, expired, another link's) a page goes back to the start."""
    given = None
    if form:
        given = await request.form()

    def run() -> Response:
        log = site(request).logs.get()
        try:
            link = _link(request, log)
        except Refused as refused:
            return refused.response
        visit = state(request).visits.get(request.cookies.get(COOKIE), link.id)
        context = Context(request, log, link, visit)
        if visit is None:
            return _go(f"{PATH}{context.token}")
        if given is not None and not _form_ok(request, given, visit):
            return _page(request, "patient/problem.html", 403, words=FORM_REFUSED, net=IF_STOPPED)
        with visit.lock:
            response: Response = work(context, given)
            return response

    return await run_in_threadpool(run)


FORM_REFUSED = "This form has expired or did not come from this site: open your link again."


def _form_ok(request: Request, form: Any, visit: Visit) -> bool:
    given = form.get(FORM_FIELD)
    origin = request.headers.get("origin")
    if origin is not None and origin != f"{request.url.scheme}://{request.url.netloc}":
        return False
    return isinstance(given, str) and secrets.compare_digest(
        given.encode(), visit.form_token.encode()
    )


def _with_cookie(response: Response, request: Request, visit: Visit) -> Response:
    response.set_cookie(
        COOKIE,
        visit.id,
        max_age=VISIT_HOURS * 3600,
        path=PATH,
        secure=request.url.scheme == "https",
        httponly=True,
        samesite="lax",
    )
    return response


# -- the pages -----------------------------------------------------------------------------------


async def start(request: Request) -> Response:
    """The link: the visit's page (its next question, its summary or its end), a new visit
    when there is none."""

    def run() -> Response:
        log = site(request).logs.get()
        try:
            link = _link(request, log)
        except Refused as refused:
            return refused.response
        visits = state(request).visits
        cookie = request.cookies.get(COOKIE)
        visit = visits.get(cookie, link.id)
        token = request.path_params["token"]
        if visit is None:
            log.links.touch(link)
            visit = visits.new(link.id)
            if cookie:
                visit.said = STARTED_AGAIN.format(VISIT_HOURS)
            return _with_cookie(_go(f"{PATH}{token}/q/now"), request, visit)
        with visit.lock:
            session = None if visit.done else _replayed(request, log, link, visit)
            return _with_cookie(_go(_where(token, session, visit)), request, visit)

    return await run_in_threadpool(run)


def _show_question(
    context: Context,
    step: Question,
    value: Any = None,
    error: str | None = None,
    typed: str | None = None,
    status: int = 200,
) -> Response:
    assert context.visit is not None
    field_kind = _field(step)
    checked, text = _chosen(step, value)
    listed = [(str(n), label) for n, (_, label) in enumerate(options(step), 1)]
    if isinstance(step, Item) and step.spec.kind == "set":
        from ..evaluation.questionnaire import show_answer

        listed = [("none", show_answer(step.spec, [])), *listed]
    said, context.visit.said = context.visit.said, None
    return _visit_page(
        context,
        "patient/question.html",
        status,
        action=f"{context.base}/q/{step.key}",
        switch=_kind_switch(context) if step.key == RIGHT_NOW.key else None,
        question=question_text(step),
        help=help_text(step),
        hint=web_hint(step),
        field=field_kind,
        numeric=isinstance(step, Item) and step.spec.numeric,
        options=listed,
        checked=checked,
        text=text if typed is None else typed,
        optional=is_optional(step),
        error=error,
        said=said,
    )


KIND_SWITCH = {
    False: ("Checking in later about your session that ended {}?", "Start a follow-up instead"),
    True: ("Checking after a new session?", "Start a post-session check instead"),
}
"""What the first page offers before anything is answered: the other kind of check."""


def _kind_switch(context: Context) -> dict[str, str] | None:
    """The first page's offer of the other kind of check: a follow-up when the patient has a
    session recent enough to follow up, a check after a session when this is a follow-up."""
    visit = context.visit
    assert visit is not None
    if visit.answered:
        return None
    words, button = KIND_SWITCH[visit.follow_up]
    if not visit.follow_up:
        latest = _followable(context)
        if latest is None:
            return None
        zone = patient_zone(context.log, context.link)
        words = words.format(session_end(latest.ended_at, datetime.now(timezone.utc), zone))
    return {"follow_up": "" if visit.follow_up else "1", "words": words, "button": button}


def _followable(context: Context) -> SessionRef | None:
    """The patient's latest session, when it ended recently enough for a follow-up (the
    library's test of a session's end, given the session's own)."""
    from ..checking.check import is_same_session

    latest = context.log.latest_session(context.link.patient)
    if latest is None or not is_same_session(latest, latest.ended_at):
        return None
    return latest


def _answered(form: Any, step: Question) -> str:
    """The form's answer as the terminal would read it typed: the numbers chosen, or the text."""
    if form.get("skip"):
        return ""
    if _field(step) == "text":
        return str(form.get("answer", ""))
    return " ".join(str(v) for v in form.getlist("answer"))


def _going_on(context: Context) -> QuestionnaireSession | RedirectResponse:
    """The visit's session, replayed, while its check has not ended; else the way to its end
    (or to the start, when its answers no longer replay)."""
    visit = context.visit
    assert visit is not None
    if visit.done is not None:
        return _go(_where(context.token, None, visit))
    session = _replayed(context.request, context.log, context.link, visit)
    return _go(context.base) if session is None else session


async def question_page(request: Request) -> Response:
    def work(context: Context, form: Any) -> Response:
        session = _going_on(context)
        if isinstance(session, Response):
            return session
        assert context.visit is not None
        step = _allowed(session, request.path_params["key"]) if session.warning is None else None
        if step is None:
            return _go(_where(context.token, session, context.visit))
        following = session.next_question()
        asked = following is not None and following.key == step.key
        return _show_question(context, step, None if asked else session.value(step.key))

    return await _serve(request, work)


async def answer(request: Request) -> Response:
    def work(context: Context, form: Any) -> Response:
        session = _going_on(context)
        if isinstance(session, Response):
            return session
        visit = context.visit
        assert visit is not None
        step = _allowed(session, request.path_params["key"]) if session.warning is None else None
        if step is None:
            return _go(_where(context.token, session, visit))
        typed = _answered(form, step)
        try:
            warning = session.answer(step.key, typed)
        except AnswerError as exc:
            return _show_question(
                context, step, error=str(exc), typed=typed if _field(step) == "text" else None,
                status=422,
            )  # fmt: skip
        visit.answers.append((step.key, session.value(step.key)))
        visit.said = SAID.format(echoed(step, session.value(step.key)))
        if warning is not None:
            visit.said = None
            if not session.missing_for_record():
                _stop(context, session)
        return _go(_where(context.token, session, visit))

    return await _serve(request, work, form=True)


def _stop(context: Context, session: QuestionnaireSession) -> None:
    """Record the check stopped early (channel "phone"); the visit ends on its screen."""
    assert context.visit is not None and session.warning is not None
    stopped = session.stop()
    lines = render_early_warning(stopped.warning)
    context.visit.done = Done(lines, _level(stopped.warning), True, _saved(context, stopped))


def _level(done: Any) -> str:
    return str(done.urgency or done.outcome)


def _saved(context: Context, result: CheckResult | StoppedCheck) -> list[str]:
    """Whether it was saved, in the terminal's words (a place of the log never shown)."""
    if result.log_error is not None:
        return [LOG_FAILED]
    if result.entry is not None:
        return [SAVED.format(result.entry.id)]
    return [NOT_SAVED.format(shown_reason(context.request, result.not_logged or ""))]


async def stop_page(request: Request) -> Response:
    def work(context: Context, form: Any) -> Response:
        visit = context.visit
        assert visit is not None
        if visit.done is not None:
            if not visit.done.stopped:
                return _go(_where(context.token, None, visit))
            return _show_done(context, visit.done)
        session = _replayed(request, context.log, context.link, visit)
        if session is None or session.warning is None:
            return _go(_where(context.token, session, visit))
        return _show_for_record(context, session)

    return await _serve(request, work)


def _show_for_record(
    context: Context, session: QuestionnaireSession, error: str | None = None, typed: str = ""
) -> Response:
    """The early-stop screen, then the question(s) the record still needs (the terminal's
    'two quick questions'), each skippable."""
    assert context.visit is not None and session.warning is not None
    key = session.missing_for_record()[0]
    step = session.question(key)
    return _visit_page(
        context,
        "patient/stop.html",
        422 if error else 200,
        blocks=screen_blocks(render_early_warning(session.warning), _numbers(context.request)),
        level=_level(session.warning),
        for_the_record=FOR_THE_RECORD,
        question=question_text(step),
        hint=web_hint(step),
        key=key,
        error=error,
        text=typed,
        saved=None,
    )


async def for_the_record(request: Request) -> Response:
    def work(context: Context, form: Any) -> Response:
        session = _going_on(context)
        if isinstance(session, Response):
            return session
        visit = context.visit
        assert visit is not None
        if session.warning is None:
            return _go(_where(context.token, session, visit))
        key = session.missing_for_record()[0]
        typed = "" if form.get("skip") else str(form.get("answer", ""))
        if typed.strip():
            try:
                session.give_for_record(key, typed)
            except AnswerError as exc:
                return _show_for_record(context, session, str(exc), typed)
            visit.for_record.append((key, session.warning.answers[key]))
            if session.missing_for_record():
                return _go(f"{context.base}/stop")
        _stop(context, session)
        return _go(_where(context.token, session, visit))

    return await _serve(request, work, form=True)


def _at_summary(context: Context) -> QuestionnaireSession | RedirectResponse:
    """The visit's session when every question is answered; else the way to where it is."""
    session = _going_on(context)
    if isinstance(session, Response):
        return session
    assert context.visit is not None
    where = _where(context.token, session, context.visit)
    return session if where == f"{context.base}/summary" else _go(where)


async def summary_page(request: Request) -> Response:
    def work(context: Context, form: Any) -> Response:
        session = _at_summary(context)
        if isinstance(session, Response):
            return session
        assert context.visit is not None
        said, context.visit.said = context.visit.said, None
        return _visit_page(context, "patient/summary.html", rows=session.summary(), said=said)

    return await _serve(request, work)


async def check(request: Request) -> Response:
    """The answers checked, as ``triage check`` checks them, and recorded (channel "phone")."""
    from ..checking.check import StoppedCheck
    from ..checking.check import check as run_check

    def work(context: Context, form: Any) -> Response:
        session = _at_summary(context)
        if isinstance(session, Response):
            return session
        visit = context.visit
        assert visit is not None
        answers = session.finish()
        saved: list[str] = []
        try:
            session.save_record()
        except StorageError as exc:
            saved.append(RECORD_NOT_SAVED.format(shown_reason(request, str(exc))))
        result = run_check(
            answers,
            log=context.log,
            pack=site(request).pack,
            follow_up=session.follow_up,
            channel=CHANNEL,
        )
        if isinstance(result, StoppedCheck):  # pragma: no cover - the session's answers fit
            lines, stopped = render_early_warning(result.warning), True
            level = _level(result.warning)
        else:
            zone = patient_zone(context.log, context.link)
            lines, stopped = render_decision(result.decision, result.compared, zone), False
            level = _level(result.decision)
        visit.done = Done(lines, level, stopped, [*_saved(context, result), *saved])
        return _go(_where(context.token, session, visit))

    return await _serve(request, work, form=True)


def _show_done(context: Context, done: Done) -> Response:
    return _visit_page(
        context,
        "patient/stop.html" if done.stopped else "patient/result.html",
        blocks=screen_blocks(done.lines, _numbers(context.request)),
        level=done.level,
        saved=done.saved,
        key=None,
    )


async def result_page(request: Request) -> Response:
    def work(context: Context, form: Any) -> Response:
        visit = context.visit
        assert visit is not None
        if visit.done is None or visit.done.stopped:
            session = _replayed(request, context.log, context.link, visit)
            return _go(_where(context.token, session, visit))
        return _show_done(context, visit.done)

    return await _serve(request, work)


# -- the patient's own checks ------------------------------------------------------------------

SHOWN_CHECKS = 30
"""How many of the patient's latest checks their link lists."""


def _screen_of(entry: Entry) -> list[Line]:
    """A recorded check's screen, as the patient saw it (the result, or the early stop)."""
    from ..evaluation.decision import Decision
    from ..evaluation.warning import EarlyWarning

    if entry.decision.get("stopped_early"):
        return render_early_warning(EarlyWarning.from_dict(entry.decision))
    return render_decision(Decision.model_validate(entry.decision))


def _when(stamp: str, zone: ZoneInfo | None) -> str:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return moment.astimezone(zone).strftime("%a %d %b %Y, %H:%M")


async def checks_page(request: Request) -> Response:
    """The patient's latest checks, newest first, each with what it said first: their link
    shows their own results, nothing of anyone else's."""

    def work(context: Context, form: Any) -> Response:
        zone = patient_zone(context.log, context.link)
        checks = [
            {"id": e.id, "when": _when(e.reported_at, zone), "level": _level(e),
             "headline": _screen_of(e)[0].text}
            for e in context.log.timeline(context.link.patient, SHOWN_CHECKS)
        ]  # fmt: skip
        return _page(request, "patient/checks.html", base=context.base, checks=checks)

    return await _serve(request, work)


async def past_check_page(request: Request) -> Response:
    """One of the patient's recorded checks, as its screen said it; 404 for any other."""

    def work(context: Context, form: Any) -> Response:
        entry_id = request.path_params["entry_id"]
        try:
            entry = context.log.entry(entry_id)
        except NotFoundError:
            entry = None
        if entry is None or entry.patient_id != context.link.patient:
            return _page(request, "patient/problem.html", 404, words=NO_SUCH_CHECK, net=IF_STOPPED)
        return _page(
            request,
            "patient/past.html",
            base=context.base,
            when=_when(entry.reported_at, patient_zone(context.log, context.link)),
            entry_id=entry.id,
            blocks=screen_blocks(_screen_of(entry), _numbers(request)),
            level=_level(entry),
        )

    return await _serve(request, work)


NO_SUCH_CHECK = "There is no such check among yours."


async def again(request: Request) -> Response:
    """Another check with the same link, after a result or before the first answer: a follow-up
    of the latest session when the form asks for one and there is one to follow up."""

    def work(context: Context, form: Any) -> Response:
        visit = context.visit
        assert visit is not None
        if visit.done is not None or not visit.answered:
            visit.answers.clear()
            visit.for_record.clear()
            visit.done = None
            visit.said = None
            visit.follow_up = bool(form.get("follow_up")) and _followable(context) is not None
        return _go(context.base)

    return await _serve(request, work, form=True)
