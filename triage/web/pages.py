"""The clinician's pages: sign-in, the worklist, a check, a patient. Each handler reads the
request, calls the log's functions, and renders a template; a page without a signed-in
clinician redirects to the sign-in page, a form without this session's CSRF token is refused.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlencode

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from ..checking.replay import entry_why_not
from ..errors import (
    ContactError,
    NotFoundError,
    Problem,
    ReviewError,
    TriageError,
    UsageError,
)
from ..log import (
    OVERRIDE_REASONS,
    Clinician,
    Entry,
    EntrySummary,
    Filters,
    PatientRecord,
    TriageLog,
)
from ..log.records import review_problems
from ..outcomes import CONTACT_OUTCOMES, OUTCOMES, URGENCIES
from ..pack.explain import WhyNot
from ..pack.rules import RulePack
from ..views.export import export_text
from ..views.log import stopped_early
from ..views.rules import NO_MORE_SEVERE, WHY_NOT_HEADING, why_not_groups
from . import present
from .errors import error_response
from .security import (
    CSRF_FIELD,
    client_address,
    csrf_ok,
    csrf_token,
    session_secret,
    signed_in,
    start_session,
)
from .site import site

PAGE_SIZE = 50
TIMELINE = 100


def routes() -> list[Route]:
    return [
        Route("/", worklist, name="worklist"),
        Route("/worklist/version", worklist_version, name="worklist_version"),
        Route("/login", login_form, methods=["GET"], name="login"),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"], name="logout"),
        Route("/checks/{entry_id:int}", check_page, name="check"),
        Route("/checks/{entry_id:int}/review", review, methods=["POST"], name="review"),
        Route("/checks/{entry_id:int}/contact", contact, methods=["POST"], name="contact"),
        Route("/patients/{patient_id}", patient_page, name="patient"),
        Route("/patients/{patient_id}/record", set_record, methods=["POST"], name="record"),
        Route("/patients/{patient_id}/link", make_link, methods=["POST"], name="patient_link"),
        Route("/patients/{patient_id}/export.csv", patient_csv, name="patient_csv"),
        Route("/patients/{patient_id}/export.fhir.json", patient_fhir, name="patient_fhir"),
    ]


def exception_handlers() -> dict[Any, Callable[..., Any]]:
    return {TriageError: error_response, HTTPException: error_response, Exception: error_response}


# -- rendering ----------------------------------------------------------------------------------


def render(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    clinician: Clinician | None = context.get("clinician")
    tz = present.zone(request.session.get("tz") if clinician else None)
    now = datetime.now(timezone.utc)
    page = site(request).templates.get_template(template)
    html = page.render(
        request=request,
        csrf_field=CSRF_FIELD,
        csrf=csrf_token(request),
        tz=tz,
        tz_name=str(tz.key),
        now=now,
        shown=present.shown,
        local=lambda stamp: present.local(stamp, tz),
        ago=lambda stamp: present.ago(stamp, now),
        levels=present.LEVEL_CHOICES,
        flash=request.session.pop("flash", None),
        **context,
    )
    return HTMLResponse(html, status_code=status)


def to_login(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)


def _who(request: Request) -> tuple[TriageLog, Clinician | None]:
    log = site(request).logs.get()
    return log, signed_in(request, log, site(request).sessions)


# -- sign-in ------------------------------------------------------------------------------------


def login_form(request: Request) -> Response:
    return render(request, "login.html", next=_safe_next(request.query_params.get("next")))


async def login(request: Request) -> Response:
    form = await request.form()
    if not csrf_ok(request, form):
        raise HTTPException(403, "This form has expired or did not come from this site.")
    name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
    target = _safe_next(str(form.get("next", "")))
    limiter, address = site(request).limiter, client_address(request)
    wait = limiter.wait(name, address)
    if wait > 0:
        minutes = int(wait // 60) + 1
        return render(
            request,
            "login.html",
            429,
            next=target,
            name=name,
            error=f"Too many failed sign-ins. Try again in {minutes} min.",
        )
    earlier = session_secret(request)

    def sign_in() -> tuple[Clinician, str] | None:
        log = site(request).logs.get()
        found = log.access.sign_in(name, password)
        if found is None:
            return None
        if earlier is not None:  # signing in again ends the session before
            log.sessions.end(earlier)
        return found, log.sessions.start(found.name, site(request).sessions)

    signed = await run_in_threadpool(sign_in)
    if signed is None:
        limiter.failed(name, address)
        return render(
            request, "login.html", 401, next=target, name=name, error="Wrong name or password."
        )
    limiter.succeeded(name)
    clinician, secret = signed
    zone = str(form.get("time_zone", ""))
    start_session(request, secret, clinician, zone if _known_zone(zone) else None)
    return RedirectResponse(target, status_code=303)


async def logout(request: Request) -> Response:
    _, clinician = await run_in_threadpool(_who, request)
    if clinician is None:
        return to_login(request)
    form = await request.form()
    if not csrf_ok(request, form):
        raise HTTPException(403, "This form has expired or did not come from this site.")
    secret = session_secret(request)
    if secret is not None:  # the session ends in the log: a copy of the cookie opens nothing
        await run_in_threadpool(lambda: site(request).logs.get().sessions.end(secret))
    request.session.clear()
    return RedirectResponse("/login", status_code=303)


def _safe_next(target: str | None) -> str:
    """Only a path on this site ('/checks/4'), never another site ('//evil', 'https://...')."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _known_zone(name: str) -> bool:
    return bool(name) and present.zone(name).key == name


# -- the worklist -------------------------------------------------------------------------------


LIVE_HEADER = "X-Triage-Live"
"""Sent by the page's script (static/worklist.js) when it fetches the worklist again to show
what changed: such a fetch is not a visit, so it leaves what the clinician has seen as it was."""
POLL_SECONDS = 15
"""How often the worklist page asks ``/worklist/version`` whether the log changed."""


def worklist(request: Request) -> Response:
    """The worklist, one row per patient. Checks recorded after the clinician's previous visit
    (the newest entry id then, kept with the account: the same on every device) are marked
    new. A filter that is wrong is said, with the form, and no list."""
    log, clinician = _who(request)
    if clinician is None:
        return to_login(request)
    tz = present.zone(request.session.get("tz"))
    params = request.query_params
    problems: list[str] = []
    filters = _filters(params, tz, problems)
    page = _number(params.get("page"), 1)
    version = log.worklist_version()  # before the list: a check recorded between stays new
    seen = log.access.seen_entry(clinician.name)
    found = log.worklist(
        filters,
        limit=1 if problems else PAGE_SIZE,  # with problems only the counts are shown
        offset=0 if problems else (page - 1) * PAGE_SIZE,
        follow_up_hours=site(request).pack.follow_up,
        by_patient=True,
        seen=seen,
    )
    if request.headers.get(LIVE_HEADER) != "1" and version.last_entry != seen:
        log.access.saw_entry(clinician.name, version.last_entry)
    return render(
        request,
        "worklist.html",
        400 if problems else 200,
        clinician=clinician,
        work=found,
        version=version,
        poll_seconds=POLL_SECONDS,
        page=page,
        params=params,
        problems=problems,
        outcomes=OUTCOMES,
        urgencies=URGENCIES,
        page_link=lambda n: "/?" + urlencode({**dict(params), "page": n}),
    )


def worklist_version(request: Request) -> Response:
    """What the worklist page polls: a tag that changes with every check and review recorded,
    and the number of unreviewed emergencies (for the page's title)."""
    log, clinician = _who(request)
    if clinician is None:
        return to_login(request)
    version = log.worklist_version()
    return JSONResponse({"version": version.tag, "emergencies": version.emergencies})


def _filters(params: Any, tz: Any, problems: list[str]) -> Filters:
    """The worklist's filters from the query; each problem is said, and that filter dropped."""
    given: dict[str, Any] = {}
    patient = (params.get("patient") or "").strip()
    if patient:
        given["patient"] = patient
    for name, allowed in (("outcome", OUTCOMES), ("urgency", URGENCIES)):
        value = params.get(name) or ""
        if value in allowed:
            given[name] = value
        elif value:
            problems.append(f"{name} {value!r} is not one of {', '.join(allowed)}")
    reviewed = params.get("reviewed") or "no"
    given["unreviewed"] = reviewed == "no"
    given["reviewed"] = reviewed == "yes"
    for name in ("since", "until"):
        value = params.get(name) or ""
        if not value:
            continue
        try:
            day = date.fromisoformat(value)
        except ValueError:
            problems.append(f"{name} {value!r} is not a date (YYYY-MM-DD)")
            continue
        if name == "until":
            day = day + timedelta(days=1) if day < date.max else day
        given[name] = datetime.combine(day, time(), tz)  # days in the clinician's time zone
    try:
        return Filters(**given).checked()
    except UsageError as exc:
        problems.append(str(exc))
        return Filters(unreviewed=True)


def _number(text: str | None, default: int) -> int:
    return int(text) if text and text.isdigit() and 0 < int(text) < 1_000_000 else default


# -- a check ------------------------------------------------------------------------------------


def check_page(request: Request) -> Response:
    log, clinician = _who(request)
    if clinician is None:
        return to_login(request)
    return _check(request, log, clinician, request.path_params["entry_id"])


def _why_not(log: TriageLog, entry: Entry, pack: RulePack) -> list[tuple[str, list[WhyNot]]] | str:
    """The more severe rules that did not fire, grouped; or why they are not shown."""
    found = entry_why_not(log, entry, pack)
    return found if isinstance(found, str) else why_not_groups(found)


def _check(
    request: Request,
    log: TriageLog,
    clinician: Clinician,
    entry_id: int,
    problems: list[Problem] | None = None,
    form: dict[str, str] | None = None,
    contact_problems: list[Problem] | None = None,
) -> Response:
    """The check page; with ``problems``, the review form (``form``) again with them; with
    ``contact_problems``, the contact form (``form``) again with them."""
    entry = log.entry(entry_id)
    same_session = log.session_checks(entry.patient_id, entry.session_id)
    shown = [_in_words(p) for p in problems or []]
    contact_shown = [_in_words(p) for p in contact_problems or []]
    return render(
        request,
        "check.html",
        400 if problems or contact_problems else 200,
        clinician=clinician,
        entry=entry,
        answers=present.answer_rows(entry, present.zone(request.session.get("tz"))),
        matched_text=present.matched_text,
        same_session=same_session,
        stopped=stopped_early(entry),
        why_not=_why_not(log, entry, site(request).pack),
        why_not_heading=WHY_NOT_HEADING,
        no_more_severe=NO_MORE_SEVERE,
        reasons=OVERRIDE_REASONS,
        problems=shown,
        field_problems={p.field: p for p in shown if p.field},
        form=form if problems else {},
        contact_outcomes=CONTACT_OUTCOMES,
        contact_problems=contact_shown,
        contact_field_problems={p.field: p for p in contact_shown if p.field},
        contact_form=form if contact_problems else {},
        next_check=_next_unreviewed(log, entry.id),
        earlier_open=_earlier_open(log, entry),
    )


def _in_words(problem: Problem) -> Problem:
    """A review problem as the form says it: the override reasons by the words of its list,
    not by their codes (which the CLI takes)."""
    if problem.field == "reason" and problem.fix:
        return replace(problem, fix="choose one: " + "; ".join(OVERRIDE_REASONS.values()))
    if problem.field == "outcome" and problem.fix:
        return replace(problem, fix="choose one: " + "; ".join(CONTACT_OUTCOMES.values()))
    return problem


def _next_unreviewed(log: TriageLog, after: int) -> int | None:
    """The first unreviewed check of the worklist (in its order) other than ``after``."""
    found = log.worklist(limit=2)
    return next((item.entry.id for item in found.items if item.entry.id != after), None)


BULK_LIMIT = 50
"""At most this many of a patient's earlier open checks are offered to accept with a later one."""


def _earlier_open(log: TriageLog, entry: Entry) -> list[EntrySummary]:
    """The patient's unreviewed checks that need action and were answered before ``entry``
    (which supersedes them), oldest first."""
    found = log.worklist(Filters(patient=entry.patient_id, unreviewed=True), limit=BULK_LIMIT)
    earlier = [
        item.entry
        for item in found.items
        if (item.entry.reported_at, item.entry.id) < (entry.reported_at, entry.id)
    ]
    return sorted(earlier, key=lambda e: (e.reported_at, e.id))


ALSO_ONLY_ACCEPT = Problem(
    "only an acceptance can be recorded for the earlier checks too",
    field="also",
    fix="override this check alone, then review the earlier ones one by one",
)


async def _posted(request: Request) -> tuple[Clinician, Any] | Response:
    """A form posted by a signed-in clinician from this site: who, and the form; else the way
    to the sign-in page (HTTP 403 for a form from elsewhere or expired)."""
    _, clinician = await run_in_threadpool(_who, request)  # each thread its own connection
    if clinician is None:
        return to_login(request)
    form = await request.form()
    if not csrf_ok(request, form):
        raise HTTPException(403, "This form has expired or did not come from this site.")
    return clinician, form


async def review(request: Request) -> Response:
    """Record a review of a check (and, when asked, the same acceptance of the patient's
    earlier open checks the page offered, in one transaction); then go to the next unreviewed
    check of the worklist, or to the worklist when none is left. A review that breaks the rule
    shows the page again, each problem by its field."""
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    clinician, form = posted
    entry_id = request.path_params["entry_id"]
    given = {key: str(form.get(key, "")) for key in ("verdict", "reason", "note", "also")}
    offered = {int(v) for v in form.getlist("also_ids") if isinstance(v, str) and v.isdigit()}

    def record() -> tuple[list[int], int | None]:
        log = site(request).logs.get()  # each thread its own connection
        ids = [entry_id]
        if given["also"]:
            if given["verdict"] != "accepted":
                rule = review_problems(given["verdict"], given["reason"], given["note"], "-")
                raise ReviewError([*rule, ALSO_ONLY_ACCEPT], f"entry {entry_id}")
            still_open = _earlier_open(log, log.entry(entry_id))  # reviewed since: left out
            ids += [e.id for e in still_open if e.id in offered]
        log.review_many(
            ids,
            by=clinician.name,
            verdict=given["verdict"],  # type: ignore[arg-type]
            note=given["note"].strip(),
            reason=given["reason"],
        )
        return ids, _next_unreviewed(log, entry_id)

    try:
        ids, next_check = await run_in_threadpool(record)
    except ReviewError as error:  # the form again, with every problem by its field
        problems = error.problems
        return await run_in_threadpool(
            lambda: _check(request, site(request).logs.get(), clinician, entry_id, problems, given)
        )
    verdict = "accepted" if given["verdict"] == "accepted" else "overridden"
    also = f" and {_counted(len(ids) - 1, 'earlier check')} of the patient" if ids[1:] else ""
    where = (
        f" Next unreviewed check: {next_check}."
        if next_check
        else " No unreviewed check is left: the worklist."
    )
    request.session["flash"] = (
        f"Review recorded: check {entry_id}{also} {verdict} by {clinician.name}.{where}"
    )
    return RedirectResponse(f"/checks/{next_check}" if next_check else "/", status_code=303)


async def contact(request: Request) -> Response:
    """Record a contact with the patient about a check, under the signed-in clinician's name;
    then the check page again. A contact that breaks the rule shows the page again, each
    problem by its field."""
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    clinician, form = posted
    entry_id = request.path_params["entry_id"]
    given = {key: str(form.get(key, "")) for key in ("outcome", "note")}

    def record() -> Response | None:
        log = site(request).logs.get()  # each thread its own connection
        try:
            log.contact(entry_id, by=clinician.name, outcome=given["outcome"],
                        note=given["note"].strip())  # fmt: skip
        except ContactError as error:
            return _check(request, log, clinician, entry_id, None, given, error.problems)
        return None

    failed = await run_in_threadpool(record)
    if failed is not None:
        return failed
    words = CONTACT_OUTCOMES[given["outcome"]].lower()
    request.session["flash"] = f"Contact recorded: check {entry_id}, {words}, by {clinician.name}."
    return RedirectResponse(f"/checks/{entry_id}#contacts", status_code=303)


def _counted(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


# -- a patient ----------------------------------------------------------------------------------


def patient_page(request: Request) -> Response:
    log, clinician = _who(request)
    if clinician is None:
        return to_login(request)
    return _patient(request, log, clinician, _known(log, request.path_params["patient_id"]))


def _known(log: TriageLog, patient: str) -> str:
    """``patient``, if the log has checks or records of them (NotFoundError otherwise)."""
    try:
        log.require_patient(patient)
    except UsageError:  # not an id a report may hold
        raise NotFoundError(f"there is no patient {patient[:64]!r} in the triage log") from None
    return patient


def _patient(
    request: Request,
    log: TriageLog,
    clinician: Clinician,
    patient: str,
    problems: dict[str, str] | None = None,
    form: dict[str, Any] | None = None,
) -> Response:
    tz = present.zone(request.session.get("tz"))
    entries = log.timeline(patient, TIMELINE)
    records = log.patient_history(patient)
    points = log.trend(patient, TIMELINE)
    record = records[-1] if records else None
    profiles, conditions, youngest, oldest = present.record_choices()
    return render(
        request,
        "patient.html",
        400 if problems else 200,
        clinician=clinician,
        patient=patient,
        record=record,
        record_by=present.record_by,
        review_status=present.review_status,
        events=present.timeline(entries, records),
        chart=present.pain_chart(points, tz),
        total=log.count(Filters(patient=patient)),
        shown_checks=len(entries),
        profiles=profiles,
        conditions=conditions,
        ages=(youngest, oldest),
        problems=problems or {},
        form=form or present.record_form(record),
    )


def _unchanged(record: PatientRecord | None, values: dict[str, Any]) -> bool:
    """Whether saving ``values`` would record what the record already says (for no record:
    nothing set)."""
    now = (None, None, ()) if record is None else (record.profile, record.age, record.conditions)
    return now == (values["profile"], values["age"], tuple(values["conditions"]))


def _record_problems(given: dict[str, Any]) -> tuple[dict[str, str], dict[str, Any]]:
    """Each field's problem, in words, and the values to save (for no problems)."""
    from ..log.patients import checked_age, checked_conditions, checked_profile
    from ..log.records import plain_text

    _, _, youngest, oldest = present.record_choices()
    problems: dict[str, str] = {}
    values: dict[str, Any] = {}
    try:
        values["profile"] = checked_profile(given["profile"] or None)
    except UsageError:
        problems["profile"] = "Choose one of the profiles listed, or none."
    age = given["age"]
    try:
        values["age"] = checked_age(int(age) if age.isascii() and age.isdigit() else age or None)
    except UsageError:
        problems["age"] = (
            f"The age is in whole years, from {youngest} to {oldest}; leave it empty for none."
        )
    try:
        values["conditions"] = checked_conditions(given["conditions"])
    except UsageError:
        problems["conditions"] = "Choose only the conditions listed, each once."
    try:
        values["note"] = plain_text("note", given["note"]).strip()
    except UsageError:
        problems["note"] = "The note is one line of plain text, without tabs or line breaks."
    if len(given["note"]) > 2000:
        problems["note"] = "The note is at most 2000 characters."
    return problems, values


async def set_record(request: Request) -> Response:
    """The record form: the patient's profile, age and conditions, set by the clinician."""
    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    clinician, form = posted
    patient = request.path_params["patient_id"]
    given: dict[str, Any] = {key: str(form.get(key, "")).strip() for key in ("profile", "age")}
    given["note"] = str(form.get("note", ""))
    given["conditions"] = [str(value) for value in form.getlist("conditions")]
    problems, values = _record_problems(given)

    def save() -> Response | None:  # in one thread, with its own connection
        log = site(request).logs.get()
        _known(log, patient)
        if not problems:
            if not values["note"] and _unchanged(log.patient(patient), values):
                return None  # nothing to record: the record stays as it is, under who set it
            try:
                log.set_patient(patient, by=clinician.name, **values)
                request.session["flash"] = f"Patient record saved, set by {clinician.name}."
                return None
            except UsageError as error:  # what the form does not check, said as the log says it
                problems["form"] = f"{error}" + (f" ({error.fix})" if error.fix else "")
        return _patient(request, log, clinician, patient, problems, given)

    request.session["flash"] = "Nothing changed: the record is as it was, and nothing was saved."
    shown = await run_in_threadpool(save)
    if shown is not None:
        request.session.pop("flash", None)
        return shown
    return RedirectResponse(f"/patients/{quote(patient, safe='')}#record", status_code=303)


async def make_link(request: Request) -> Response:
    """The "make a link" button: a new link for the patient, made by the signed-in clinician,
    shown once on the page with its QR code (the log keeps only its hash)."""
    import os

    from markupsafe import Markup

    from ..log import links
    from .cds import base_url

    posted = await _posted(request)
    if isinstance(posted, Response):
        return posted
    clinician, _ = posted
    patient = request.path_params["patient_id"]
    from_env = os.environ.get(links.PUBLIC_URL_ENV, "").strip()
    base = links.public_base(from_env) if from_env else base_url(request)

    def make() -> Response:  # in one thread, with its own connection
        log = site(request).logs.get()
        _known(log, patient)
        links.need_qr()
        made, token = log.links.make(patient, by=clinician.name)
        url = links.link_url(base, token)
        # the SVG is segno's: path data and a fixed title, nothing of the patient or the URL
        request.state.patient_link = {
            "link": made,
            "url": url,
            "qr": Markup(links.qr_inline(url)),
        }
        return _patient(request, log, clinician, patient)

    return await run_in_threadpool(make)  # never cached: every page is no-store (security.py)


def _download(text: str, media_type: str, patient: str, suffix: str) -> Response:
    name = re.sub(r"[^A-Za-z0-9._-]", "_", patient)[:64]
    return Response(
        text,
        media_type=media_type,
        headers={
            "Content-Disposition": f'attachment; filename="triage-{name}{suffix}"',
            "Cache-Control": "no-store",
        },
    )


def patient_csv(request: Request) -> Response:
    """The patient's checks as ``triage log export --format csv`` writes them, oldest first."""
    log, clinician = _who(request)
    if clinician is None:
        return to_login(request)
    patient = _known(log, request.path_params["patient_id"])
    rows = log.export_rows(Filters(patient=patient), whole=False)
    return _download(export_text(rows, "csv"), "text/csv; charset=utf-8", patient, ".csv")


def patient_fhir(request: Request) -> Response:
    """The patient's checks as FHIR R4 RiskAssessments in a collection Bundle, oldest first."""
    log, clinician = _who(request)
    if clinician is None:
        return to_login(request)
    patient = _known(log, request.path_params["patient_id"])
    bundle = present.assessment_bundle(log.export(Filters(patient=patient)))
    text = json.dumps(bundle, ensure_ascii=False, indent=1)
    return _download(text, "application/fhir+json", patient, ".fhir.json")
