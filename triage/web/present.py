"""What the pages show, worked out in Python so that templates only lay it out: times in the
clinician's time zone with "2 h ago", outcomes as words and a colour class (from
``outcomes.LEVELS``), a check's answers with their question labels and the rules they fired, a
patient's timeline, and the pain chart's geometry.

Nothing here escapes text: the templates do, every value (Jinja2 autoescaping).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..checking.on_file import PATIENT_GIVEN
from ..log import Contact, Entry, PatientRecord, Review, TrendPoint
from ..outcomes import LEVELS, level


def zone(name: str | None) -> ZoneInfo:
    """The time zone ``name`` names; UTC for one this system does not know."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def moment(stored: str) -> datetime:
    """A stored stamp ('2026-11-21T05:46:57.206202Z') as an aware datetime."""
    parsed = datetime.fromisoformat(stored.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)


def local(stored: str | None, tz: ZoneInfo) -> str:
    """'Sat 21 Nov 2026, 14:05' in the clinician's zone."""
    if not stored:
        return ""
    return moment(stored).astimezone(tz).strftime("%a %d %b %Y, %H:%M")


def ago(stored: str | None, now: datetime) -> str:
    """'just now', '25 min ago', '2 h ago', '3 days ago', 'in 5 h' (for a due time)."""
    if not stored:
        return ""
    seconds = (now - moment(stored)).total_seconds()
    future, seconds = seconds < 0, abs(seconds)
    if seconds < 60:
        return "just now"
    if seconds < 3600:
        amount = f"{int(seconds // 60)} min"
    elif seconds < 48 * 3600:
        amount = f"{int(seconds // 3600)} h"
    else:
        amount = f"{int(seconds // 86400)} days"
    return f"in {amount}" if future else f"{amount} ago"


@dataclass(frozen=True)
class Shown:
    """An outcome as the pages show it: words and the CSS class that colours it."""

    words: str
    css: str
    key: str
    flag: str = ""


def shown(outcome: str, urgency: str | None) -> Shown:
    try:
        lv = level(outcome, urgency)
    except KeyError:  # an outcome no triage writes (an edited log): shown as stored, loud
        return Shown(f"{outcome} {urgency or ''}".strip(), "level-unknown", "unknown", "!!")
    return Shown(lv.words, f"level-{lv.key}", lv.key, lv.flag)


LEVEL_CHOICES = [(lv.key, lv.words) for lv in reversed(LEVELS)]
"""Every level, most severe first, for counts and legends."""


# -- a check -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerRow:
    field: str
    label: str
    question: str
    value: str
    rules: tuple[str, ...]
    """The rules this answer made fire (highlighted)."""


def answer_rows(entry: Entry, tz: ZoneInfo) -> list[AnswerRow]:
    """The check's answers in the contract's order, with their question labels, each marked
    with the rules it made fire."""
    from ..contract.reading import FIELDS

    fired: dict[str, list[str]] = {}
    for reason in entry.decision.get("reasons", []):
        for name in reason.get("matched", {}):
            fired.setdefault(name, []).append(reason["rule"])
    rows = []
    for name, value in entry.report.items():
        spec = FIELDS.get(name)
        label = spec.label if spec else name
        question = spec.ask.question if spec else ""
        rows.append(
            AnswerRow(
                name, label, question, _shown_answer(name, value, tz), tuple(fired.get(name, []))
            )
        )
    return rows


def _shown_answer(name: str, value: Any, tz: ZoneInfo) -> str:
    if name == "reported_at" and isinstance(value, str):
        return local(value, tz)
    if name == "hours_since_session" and isinstance(value, (int, float)):
        return f"{value:g} hours before"
    return answer_text(name, value)


def answer_text(name: str, value: Any) -> str:
    """An answer in the words the patient chose it by."""
    from ..contract.reading import FIELDS

    spec = FIELDS.get(name)
    labels = dict(spec.ask.labels) if spec else {}
    if isinstance(value, list):
        return ", ".join(answer_text(name, item) for item in value) or "None"
    if isinstance(value, bool):
        return str(labels.get(value, "Yes" if value else "No"))
    return str(labels.get(value, value))


def matched_text(matched: dict[str, Any]) -> list[str]:
    """'pain_now = 7' for each answer that made a rule fire; earlier checks summarised."""
    lines = []
    for name, value in matched.items():
        if name in ("earlier", "sessions"):
            lines.append(f"{len(value)} {'earlier check' if name == 'earlier' else 'session'}(s)")
        else:
            lines.append(f"{name} = {answer_text(name, value)}")
    return lines


# -- a patient -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    """One line of a patient's timeline: a check, a review of one, a contact about one, or a
    record change."""

    at: str
    kind: str
    entry: Entry | None = None
    review: Review | None = None
    record: PatientRecord | None = None
    contact: Contact | None = None


def record_by(record: PatientRecord) -> str:
    """Who gave a record, in words: "given by the patient", or "set by Dr X"."""
    return "given by the patient" if record.set_by == PATIENT_GIVEN else f"set by {record.set_by}"


@dataclass(frozen=True)
class ReviewStatus:
    """A check's review status on the timeline: its words and a CSS class."""

    words: str
    css: str


def review_status(entry: Entry) -> ReviewStatus:
    """Accepted or overridden by whom (the latest review), or not reviewed."""
    if not entry.reviews:
        return ReviewStatus("not reviewed", "review-none")
    last = entry.reviews[-1]
    return ReviewStatus(f"{last.verdict} by {last.reviewer}", f"review-{last.verdict}")


def record_choices() -> tuple[list[tuple[str, str]], list[tuple[str, str]], int, int]:
    """The record form's choices, from the report contract: (profile, label) and
    (condition, label), and the lowest and highest age."""
    from ..contract.field_table import FIELDS

    profile, conditions, age = FIELDS["profile"], FIELDS["conditions"], FIELDS["age"]
    return (
        [(c, profile.ask.labels.get(c, c)) for c in profile.choices],
        [(c, conditions.ask.labels.get(c, c)) for c in conditions.choices],
        int(age.minimum or 0),
        int(age.maximum or 0),
    )


def record_form(record: PatientRecord | None) -> dict[str, Any]:
    """The record form's values for the current record (empty for none)."""
    if record is None:
        return {"profile": "", "age": "", "conditions": [], "note": ""}
    age = "" if record.age is None else str(record.age)
    return {"profile": record.profile or "", "age": age, "conditions": list(record.conditions),
            "note": ""}  # fmt: skip


def timeline(entries: list[Entry], records: list[PatientRecord]) -> list[Event]:
    """Checks, reviews, contacts and patient-record changes, newest first."""
    events = [Event(e.reported_at, "check", entry=e) for e in entries]
    events += [
        Event(r.reviewed_at, "review", entry=e, review=r) for e in entries for r in e.reviews
    ]
    events += [
        Event(c.contacted_at, "contact", entry=e, contact=c) for e in entries for c in e.contacts
    ]
    events += [Event(r.set_at, "record", record=r) for r in records]
    return sorted(events, key=lambda event: event.at, reverse=True)


def assessment_bundle(entries: Iterable[Entry]) -> dict[str, Any]:
    """The entries' decisions (or warnings, for checks stopped early) as FHIR R4
    ``RiskAssessment``s in a ``Bundle`` of type collection, oldest first, each entry with its
    ``fullUrl``."""
    from ..evaluation.decision import Decision
    from ..evaluation.warning import EarlyWarning
    from ..fhir import risk_assessment

    found = []
    for entry in entries:
        decision: Decision | EarlyWarning = (
            EarlyWarning.from_dict(entry.decision)
            if entry.decision.get("stopped_early")
            else Decision.model_validate(entry.decision)
        )
        found.append({"fullUrl": _urn(entry), "resource": risk_assessment(decision, entry.id)})
    return {"resourceType": "Bundle", "type": "collection", "entry": found}


def _urn(entry: Entry) -> str:
    """A bundle entry's ``fullUrl``: a UUID URN made from the entry's hash, the same in every
    export of the check and never that of another check or another log's."""
    import uuid

    return uuid.uuid5(uuid.NAMESPACE_URL, f"triage-log-entry:{entry.hash}").urn


@dataclass(frozen=True)
class Series:
    name: str
    css: str
    points: tuple[tuple[float, float, str], ...]
    """(x, y, tooltip) in the chart's coordinates."""

    @property
    def path(self) -> str:
        return " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in self.points)


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    left: int
    top: int
    bottom: int
    series: tuple[Series, ...]
    ticks: tuple[tuple[float, str], ...]
    """Pain levels on the y axis: (y, label)."""
    dates: tuple[tuple[float, str], ...]
    """Dates on the x axis: (x, label)."""
    values: tuple[tuple[str, str, str, str, str], ...] = ()
    """The charted values as text, for the table under the chart (readable without a mouse),
    newest first: (stamp, when, pain during, pain now, usual pain), '—' for none."""
    unasked: tuple[tuple[float, str, int], ...] = ()
    """Checks that stopped before the pain was asked (a check stopped early at a red flag):
    (x, tooltip, entry id), marked on the chart rather than plotted as a pain of 0."""


def pain_chart(
    points: list[TrendPoint], tz: ZoneInfo, width: int = 720, height: int = 240
) -> Chart:
    """Pain during, pain now and usual pain (0-10) over time, placed by when they were given."""
    left, right, top, bottom = 36, 12, 12, 28
    inner_w, inner_h = width - left - right, height - top - bottom
    times = [moment(p.reported_at).timestamp() for p in points]
    first, last = (min(times), max(times)) if times else (0.0, 0.0)
    span = last - first

    def x(t: float) -> float:
        return left + (inner_w / 2 if span == 0 else (t - first) / span * inner_w)

    def y(score: float) -> float:
        return top + inner_h - score / 10 * inner_h

    def series(name: str, css: str, values: list[int | None]) -> Series:
        placed = tuple(
            (x(t), y(v), f"{name}: {v}/10, {local(p.reported_at, tz)}")
            for t, v, p in zip(times, values, points, strict=True)
            if v is not None
        )
        return Series(name, css, placed)

    labels: list[tuple[float, str]] = []
    if points:
        labels.append((x(first), moment(points[0].reported_at).astimezone(tz).strftime("%d %b")))
        if span:
            labels.append(
                (x(last), moment(points[-1].reported_at).astimezone(tz).strftime("%d %b"))
            )
    return Chart(
        width,
        height,
        left,
        top,
        bottom,
        (
            series("Pain during", "pain-during", [p.pain_during for p in points]),
            series("Pain now", "pain-now", [p.pain_now for p in points]),
            series("Usual pain", "pain-usual", [p.pain_before for p in points]),
        ),
        tuple((y(score), str(score)) for score in (0, 2, 4, 6, 8, 10)),
        tuple(labels),
        _values(points, tz),
        tuple(
            (
                x(t),
                f"Check {p.entry_id} stopped before the pain was asked, {local(p.reported_at, tz)}",
                p.entry_id,
            )
            for t, p in zip(times, points, strict=True)
            if p.pain_during is None and p.pain_now is None
        ),
    )


def _values(points: list[TrendPoint], tz: ZoneInfo) -> tuple[tuple[str, str, str, str, str], ...]:
    return tuple(
        (
            p.reported_at,
            local(p.reported_at, tz),
            _score(p.pain_during),
            _score(p.pain_now),
            _score(p.pain_before),
        )
        for p in reversed(points)
    )


def _score(value: int | None) -> str:
    return "—" if value is None else f"{value}/10"
