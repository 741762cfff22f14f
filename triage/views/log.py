"""The clinician's views of the triage log, as styled lines: the list, one entry, a patient's
trend, a patient's record, and the verification result. The front end decides on colour.

Text in the log came from people and may carry escape sequences: every view shows control
characters escaped (``\\x1b``), so nothing in the log can act on the terminal; ``json_text``
does the same for the JSON views.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Callable
from dataclasses import replace
from functools import wraps
from typing import Any, ParamSpec

from ..log.patients import changed
from ..log.records import (
    NOT_CHECKED,
    UNSAFE,
    Entry,
    EntrySummary,
    PatientRecord,
    TrendPoint,
    Verification,
    visible,
)
from ..outcomes import level
from ..wording import counted
from .render import Line, Style

P = ParamSpec("P")


def _shown(view: Callable[P, list[Line]]) -> Callable[P, list[Line]]:
    """A view whose every line has its control characters escaped."""

    @wraps(view)
    def safe(*args: P.args, **kwargs: P.kwargs) -> list[Line]:
        return [
            Line(line.style, visible(line.text), indent=line.indent)
            for line in view(*args, **kwargs)
        ]

    return safe


def json_text(value: Any, indent: int | None = None) -> str:
    """JSON in which every character a terminal could act on is escaped (``\\u001b``); the C1
    controls and separators that ``ensure_ascii=False`` leaves raw included."""
    text = json.dumps(value, indent=indent, ensure_ascii=False)
    return UNSAFE.sub(json_escape, text)


def json_escape(found: re.Match[str]) -> str:
    char = found.group()  # inside strings json.dumps escaped every C0 control: a new line is layout
    return char if char == "\n" else f"\\u{ord(char):04x}"


def outcome_words(outcome: str, urgency: str | None) -> str:
    """In words; an outcome no version of triage writes (an edited log) is shown as stored."""
    try:
        return level(outcome, urgency).words
    except KeyError:
        return f"{outcome} {urgency or ''}".strip()


def _style(outcome: str, urgency: str | None) -> Style:
    try:
        style = level(outcome, urgency).style
    except KeyError:
        return "text"
    return "text" if style == "ok" else style  # type: ignore[return-value]


def when(stamp: str) -> str:
    """'2026-11-21T05:46:57.206202Z' -> '2026-11-21 05:46'."""
    return stamp[:16].replace("T", " ")


def _flag(entry: EntrySummary) -> tuple[str, Style]:
    """Unreviewed urgent entries stand out: '!!' emergency or urgent, '!' same day."""
    try:
        flag = level(entry.outcome, entry.urgency).flag
    except KeyError:
        flag = ""
    if entry.last_verdict is not None or not flag:
        return "", "text"
    return flag, _style(entry.outcome, entry.urgency)


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@_shown
def entry_table(
    entries: list[EntrySummary],
    limit: int | None,
    width: int = 120,
    whole_log: dict[str, int] | None = None,
) -> list[Line]:
    """The list: newest first (or the worklist's order); unreviewed emergencies and same-day
    entries flagged. The top reason is cut to fit ``width`` columns. ``whole_log`` (the
    worklist's counts) adds a line counting what needs action in the whole log."""
    if not entries:
        return [Line("note", "No entries match.")]
    entries = [_visible_summary(e) for e in entries]
    patient_width = max(7, *(len(e.patient_id) for e in entries))
    columns = (
        f"{'':2} {'id':>6}  {'answered (UTC)':16}  {'patient':{patient_width}}  {'outcome':14}  "
        f"{'reviewed':10}"
    )
    reason_width = width - len(columns) - 2
    beside = reason_width >= MIN_REASON_BESIDE  # else each reason on the lines below its row
    lines = [Line("heading", f"{columns}  top reason" if beside else columns.rstrip())]
    for e in entries:
        flag, style = _flag(e)
        reviewed = e.last_verdict or "no"
        row = (
            f"{flag:2} {e.id:>6}  {when(e.reported_at):16}  {e.patient_id:{patient_width}}  "
            f"{outcome_words(e.outcome, e.urgency):14}  {reviewed:10}"
        )
        if beside:
            lines.append(Line(style, f"{row}  {_cut(e.top_reason or '-', reason_width)}"))
        else:
            lines.append(Line(style, row.rstrip()))
            lines += [Line("note", line) for line in _reason_below(e.top_reason, width)]
    urgent = sum(1 for e in entries if _flag(e)[0])
    footer = counted(len(entries), "entry", "entries") + (
        f", {urgent} urgent and unreviewed (!! emergency or urgent, ! same day)" if urgent else ""
    )
    if limit is not None and len(entries) == limit:
        shown = "first" if whole_log is not None else "newest"
        footer += f"; the {shown} {limit} are shown, use --limit for more"
    lines.append(Line("note", footer + "."))
    if whole_log is not None:
        counts = ", ".join(f"{n} {level(*_pair(k)).words}" for k, n in whole_log.items() if n)
        lines.append(Line("note", f"Whole log, unreviewed and needing action: {counts or 'none'}."))
    return lines


MIN_REASON_BESIDE = 32
"""The narrowest top reason shown beside its row; in a narrower terminal (80 columns) it goes
on the lines below, whole, rather than cut to a few words."""
REASON_INDENT = " " * 10


def _reason_below(reason: str, width: int) -> list[str]:
    """A top reason under its row: indented, wrapped to ``width``, at most two lines (none for
    a check with no reason)."""
    lines = textwrap.wrap(reason, max(20, width - len(REASON_INDENT)))
    if len(lines) > 2:
        lines = [lines[0], _cut(" ".join(lines[1:]), max(20, width - len(REASON_INDENT)))]
    return [REASON_INDENT + line for line in lines]


def _pair(key: str) -> tuple[str, str | None]:
    return ("reduce_load", None) if key == "reduce_load" else ("seek_medical_review", key)


def _visible_summary(entry: EntrySummary) -> EntrySummary:
    """The entry with its texts escaped before they are measured and cut."""
    return replace(
        entry, patient_id=visible(entry.patient_id), top_reason=visible(entry.top_reason)
    )


@_shown
def entry_detail(entry: Entry) -> list[Line]:
    """One entry in full: outcome, every reason with its source, the answers, rules, reviews."""
    flag, style = _flag(entry)
    return [
        Line(
            "heading",
            f"Entry {entry.id}: {entry.patient_id}, {when(entry.reported_at)} UTC, "
            f"session {entry.session_id}" + (f", {entry.channel_words}" if entry.channel else ""),
        ),
        Line(
            style if flag else "heading",
            f"Outcome: {outcome_words(entry.outcome, entry.urgency)}"
            + ("  (not reviewed yet)" if flag else ""),
        ),
        *_stopped_lines(entry),
        Line("text", ""),
        Line("heading", "Reasons:"),
        *_reason_lines(entry),
        Line("text", ""),
        Line("heading", f"Answers (report contract v{entry.contract_version}):"),
        *(
            Line("text", f"{name}: {_value(value)}", indent=2)
            for name, value in entry.report.items()
        ),
        Line("text", ""),
        Line("note", f"Rules: {entry.pack['name']} {entry.pack['version']}"),
        Line("note", f"  sha256 {entry.pack['sha256']}"),
        Line(
            "note",
            f"Engine: {entry.engine['name']} {entry.engine['version']}; "
            f"triage {entry.program_version}",
        ),
        Line("text", ""),
        Line("heading", "Reviews:"),
        *_review_lines(entry),
        *([Line("text", ""), Line("heading", "Contacts:"), *_contact_lines(entry)]
          if entry.contacts else []),
    ]  # fmt: skip


def stopped_early(entry: Entry) -> tuple[str, list[str]] | None:
    """For a check stopped early: what happened, in words, and the questions not asked."""
    if not entry.decision.get("stopped_early"):
        return None
    why = "the questionnaire stopped at the first red flag"
    if entry.decision.get("interrupted"):
        why = "the patient stopped the questionnaire after answers that need a clinician"
    elif entry.decision.get("problems"):
        why = "the answers sent were incomplete, but those given already need a clinician"
    unanswered = list(entry.decision.get("unanswered", []))
    not_asked = (
        f"{counted(len(unanswered), 'question')} {'was' if len(unanswered) == 1 else 'were'}"
    )
    return f"Stopped early: {why}; {not_asked} not asked.", unanswered


def _stopped_lines(entry: Entry) -> list[Line]:
    stopped = stopped_early(entry)
    if stopped is None:
        return []
    headline, unanswered = stopped
    lines = [
        Line("urgent", headline),
        Line("text", "Not asked: " + (", ".join(unanswered) or "-"), indent=2),
    ]
    problems = entry.decision.get("problems", [])
    if problems:
        said = [f"{p.get('field') or p.get('item') or '-'} {p.get('message')}" for p in problems]
        lines.append(Line("text", "Missing or refused: " + "; ".join(said), indent=2))
    return lines


def _reason_lines(entry: Entry) -> list[Line]:
    lines = []
    for reason in entry.decision.get("reasons", []):
        level = outcome_words(reason["outcome"], reason.get("urgency"))
        lines += [
            Line("text", f"- [{level}] {reason['title']} ({reason['rule']})", indent=2),
            Line("text", f"{reason['clinician']}", indent=4),
            Line("text", f"answers: {_answers(reason['matched'])}", indent=4),
            *_history_lines(reason["matched"]),
            Line("note", f"source: {reason['source']}", indent=4),
        ]
    return lines or [Line("text", "- no rule fired", indent=2)]


def _review_lines(entry: Entry) -> list[Line]:
    return [
        Line(
            "text",
            f"- {when(r.reviewed_at)} {r.verdict} by {r.reviewer}"
            + (f": {r.note}" if r.note else ""),
            indent=2,
        )
        for r in entry.reviews
    ] or [Line("text", "- none yet", indent=2)]


def _contact_lines(entry: Entry) -> list[Line]:
    return [
        Line(
            "text",
            f"- {when(c.contacted_at)} {c.outcome_words}, by {c.by}"
            + (f": {c.note}" if c.note else ""),
            indent=2,
        )
        for c in entry.contacts
    ]


def _value(value: Any) -> str:
    """An answer as people read it: true/false, a set's answers joined ('none' when empty)."""
    if isinstance(value, list):
        return ", ".join(_value(item) for item in value) or "none"
    return str(value).lower() if isinstance(value, bool) else str(value)


def _answers(matched: dict[str, Any]) -> str:
    shown = {k: v for k, v in matched.items() if k not in ("earlier", "sessions")}
    return ", ".join(f"{k}={_value(v)}" for k, v in shown.items()) or "-"


def _history_lines(matched: dict[str, Any]) -> list[Line]:
    """The earlier checks or sessions a history rule matched, one line each."""
    lines = []
    for title, key in (("earlier check", "earlier"), ("session", "sessions")):
        for item in matched.get(key, []):
            details = {k: v for k, v in item.items() if k not in ("reported_at", "session_id")}
            when_, session = when(item.get("reported_at", "")), item.get("session_id", "-")
            lines.append(
                Line("text", f"{title} {when_} (session {session}): {_answers(details)}", indent=4)
            )
    return lines


@_shown
def trend_chart(patient: str, points: list[TrendPoint]) -> list[Line]:
    """Pain during and pain now as bars, one row per check with its date and outcome."""
    if not points:
        return [Line("note", f"No entries for patient {patient}.")]
    first, last = when(points[0].reported_at)[:10], when(points[-1].reported_at)[:10]
    lines = [
        Line(
            "heading",
            f"Patient {patient}: {counted(len(points), 'check')}, {first} to {last} (UTC)",
        ),
        Line("heading", f"{'date':16}  {'pain during':15}  {'pain now':15}  outcome"),
    ]
    for p in points:
        style = _style(p.outcome, p.urgency)
        lines.append(
            Line(
                style,
                f"{when(p.reported_at):16}  {_bar(p.pain_during)}  {_bar(p.pain_now)}  "
                f"{outcome_words(p.outcome, p.urgency)}",
            )
        )
    lines.append(Line("note", "Bars: pain out of 10 (█ = 1 point)."))
    return lines


def _bar(score: int | None) -> str:
    """A score as a bar; a check stopped early before it was asked shows a blank one."""
    if score is None:
        return f"{' ' * 10}  -  "
    return f"{'█' * score}{'·' * (10 - score)} {score:>2}  "


@_shown
def patient_view(patient: str, records: list[PatientRecord]) -> list[Line]:
    """The patient's current profile, age and conditions, and every change: who, when, what."""
    if not records:
        return [
            Line("note", f"No patient record for {patient}: their checks use only their answers."),
            Line(
                "note",
                f"Set one with 'triage patient set {patient} --profile ... --age ... "
                "--condition ...'; otherwise the questionnaire asks the patient their age and "
                "conditions at their next check.",
            ),
        ]
    current = records[-1]
    lines = [
        Line("heading", f"Patient {patient}"),
        *_current(current),
        Line("note", f"Set {when(current.set_at)} UTC by {current.set_by}", indent=2),
        Line("text", ""),
        Line("heading", "Changes, oldest first:"),
    ]
    for before, after in zip([None, *records], records, strict=False):
        note = f" ({after.note})" if after.note else ""
        text = f"- {when(after.set_at)} by {after.set_by}: {_change(before, after)}{note}"
        lines.append(Line("text", text, indent=2))
    return lines


def patient_data(patient: str, records: list[PatientRecord]) -> dict[str, Any]:
    """The same as JSON: the current record (or null) and every record with what it changed."""
    return {
        "patient_id": patient,
        "current": records[-1].to_dict() if records else None,
        "history": [
            {**after.to_dict(), "changed": list(changed(before, after))}
            for before, after in zip([None, *records], records, strict=False)
        ],
    }


@_shown
def patient_saved(record: PatientRecord) -> list[Line]:
    """What ``patient set`` recorded."""
    return [
        Line("ok", f"Patient record {record.id} set for {record.patient_id} by {record.set_by}."),
        *_current(record),
        Line(
            "text",
            f"Every check of {record.patient_id} from now on gets them, "
            "unless its answers give their own.",
        ),
    ]


@_shown
def no_checks_yet(patient: str, similar: list[str]) -> list[Line]:
    """A record set for a patient the log has no checks of: perhaps a mistyped id."""
    close = f" (did you mean {' or '.join(similar)}?)" if similar else ""
    return [Line("note", f"The log has no checks of {patient} yet{close}.")]


def _current(record: PatientRecord) -> list[Line]:
    return [
        Line("text", f"Profile:    {record.profile or 'none'}", indent=2),
        Line("text", f"Age:        {'none' if record.age is None else record.age}", indent=2),
        Line("text", f"Conditions: {', '.join(record.conditions) or 'none'}", indent=2),
    ]


def _change(before: PatientRecord | None, after: PatientRecord) -> str:
    """'profile older_adult; age 72; conditions + blood_thinners - previous_clot', or 'no
    change'."""
    parts = []
    for name in changed(before, after):
        if name == "profile":
            parts.append(f"profile {after.profile or 'cleared'}")
        elif name == "age":
            parts.append(f"age {'cleared' if after.age is None else after.age}")
        elif before is None or not after.conditions:
            parts.append(f"conditions {', '.join(after.conditions) or 'cleared'}")
        else:
            added = [f"+ {c}" for c in after.conditions if c not in before.conditions]
            removed = [f"- {c}" for c in before.conditions if c not in after.conditions]
            parts.append("conditions " + " ".join(added + removed))
    if before is None and not parts:  # a first record that holds nothing set
        return "no profile, no age, no conditions"
    return "; ".join(parts) or "no change"


def record_counts(result: Verification, *, patients: bool = False) -> str:
    """'3 entries, 1 review and 2 patient records': the records of each kind, patient records
    and contacts only when there are some (patient records always with ``patients``)."""
    parts = [counted(result.entries, "entry", "entries"), counted(result.reviews, "review")]
    if result.patients or patients:
        parts.append(counted(result.patients, "patient record"))
    if result.contacts:
        parts.append(counted(result.contacts, "contact"))
    return ", ".join(parts[:-1]) + " and " + parts[-1]


@_shown
def verification(result: Verification, path: str) -> list[Line]:
    counts = record_counts(result)
    since = ""
    if result.checked_after:
        since = f" after record {result.checked_after}, which a signed checkpoint vouches for"
    if result.ok:
        storage = f"{result.backend} integrity: {result.integrity}"
        lines = [
            Line("ok", f"ok: {path}: {counts}{since}; the hash chain is intact; {storage}"),
            *_checkpoint_lines(result),
        ]
        if result.checked_after:
            lines.append(Line("note", "Run with --full to check every record from the first."))
        return lines
    lines = [Line("emergency", f"FAILED: {path}")]
    if result.integrity not in ("ok", NOT_CHECKED):
        lines.append(Line("urgent", f"{result.backend} integrity check: {result.integrity}"))
    for problem in result.checkpoint_problems:
        lines.append(Line("urgent", f"Checkpoint: {problem}"))
    if result.first_bad:
        lines.append(Line("urgent", f"First bad record: {result.first_bad}"))
        lines.append(Line("text", f"The {counts}{since} before it verify."))
    return lines


def _checkpoint_lines(result: Verification) -> list[Line]:
    head = Line("note", f"Chain head: {result.head} (record {result.size})")
    if not result.checkpoints:
        return [
            head,
            Line(
                "note",
                "No signed checkpoint yet: 'triage log checkpoint --key FILE' signs this head, "
                "so that a later removal or rewrite of records is detected",
            ),
        ]
    latest = result.checkpoint or {}
    keys = ", ".join(result.keys)
    against = (
        f"checked against your public key {result.public_key}"
        if result.public_key
        else "checked against the keys stored with them: give --public-key to check they are yours"
    )
    return [
        head,
        Line(
            "note",
            f"Checkpoints: {result.checkpoints} {'agrees' if result.checkpoints == 1 else 'agree'}"
            f" with the log, the latest of "
            f"{latest.get('time')} at record {latest.get('size')}; signed by key {keys}, "
            f"{against}",
        ),
    ]
