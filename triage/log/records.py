"""What the triage log holds: the ONE definition of its columns, and the records it returns.

Every list of columns elsewhere (the hashed fields of each canonical form, the SELECT lists, the
summary fields, the export columns) is derived from ``ENTRY_COLUMNS``, ``REVIEW_COLUMNS`` and
``PATIENT_COLUMNS``.
Only the frozen migration SQL spells them out again; a test checks that the schema after all
migrations has exactly these columns.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Literal

from ..errors import Problem, UsageError
from ..outcomes import CONTACT_OUTCOMES, OVERRIDE_REASONS, severity

Kind = Literal["entry", "review", "patient", "contact"]
Verdict = Literal["accepted", "overridden"]
VERDICTS: tuple[Verdict, ...] = ("accepted", "overridden")

Row = dict[str, Any]
"""One stored record, by column name."""

MAX_ID = 2**63 - 1
"""The largest id a record can have (SQLite's and PostgreSQL's bigint)."""


@dataclass(frozen=True)
class Column:
    """One stored column.

    ``since_form`` is the first canonical form whose hash covers it (``None``: never hashed, the
    hash itself); a record of an earlier form holds ``earlier`` there (the migration's default),
    and ``verify`` checks that it does. ``summary`` puts it in ``EntrySummary``; ``csv`` in the
    CSV export.
    """

    name: str
    type: Literal["INTEGER", "TEXT"]
    nullable: bool = False
    since_form: int | None = 1
    earlier: str | int | None = None
    summary: bool = False
    csv: bool = False


def _c(name: str, kind: Literal["INTEGER", "TEXT"] = "TEXT", **options: Any) -> Column:
    return Column(name, kind, **options)


ENTRY_COLUMNS: tuple[Column, ...] = (
    _c("id", "INTEGER", summary=True, csv=True),
    _c("seq", "INTEGER"),
    _c("recorded_at", summary=True, csv=True),
    _c("reported_at", summary=True, csv=True),
    _c("patient_id", summary=True, csv=True),
    _c("session_id", summary=True, csv=True),
    _c("outcome", summary=True, csv=True),
    _c("urgency", nullable=True, summary=True, csv=True),
    _c("top_reason", summary=True, csv=True),
    _c("pack_name", csv=True),
    _c("pack_version", csv=True),
    _c("pack_sha256", csv=True),
    _c("engine_name", csv=True),
    _c("engine_version", csv=True),
    _c("program_version", csv=True),
    _c("report_json"),
    _c("decision_json"),
    _c("prev_hash"),
    _c("hash", since_form=None),
    _c("form", "INTEGER", since_form=2, earlier=1),
    _c("contract_version", since_form=2, earlier="1", csv=True),
    _c("channel", since_form=5, earlier=""),
)
"""The columns of an entry (one check), in the table's order. ``channel`` says where the answers
were given (``CHANNELS``; empty: not said, and in entries written before form 5)."""

CHANNELS: dict[str, str] = {
    "": "",
    "phone": "answered on a phone, through the patient's link",
}
"""Where a check's answers were given, with the words the clinician reads."""

REVIEW_COLUMNS: tuple[Column, ...] = (
    _c("id", "INTEGER"),
    _c("seq", "INTEGER"),
    _c("entry_id", "INTEGER"),
    _c("reviewed_at"),
    _c("reviewer"),
    _c("verdict"),
    _c("note"),
    _c("prev_hash"),
    _c("hash", since_form=None),
    _c("form", "INTEGER", since_form=2, earlier=1),
    _c("reason", since_form=3, earlier=""),
)
"""The columns of a review, in the table's order. ``reason`` is an override's coded reason
(``OVERRIDE_REASONS``; empty for an acceptance, and for overrides recorded before form 3)."""

PATIENT_COLUMNS: tuple[Column, ...] = (
    _c("id", "INTEGER", since_form=2),
    _c("seq", "INTEGER", since_form=2),
    _c("patient_id", since_form=2),
    _c("set_at", since_form=2),
    _c("set_by", since_form=2),
    _c("profile", nullable=True, since_form=2),
    _c("conditions_json", since_form=2),
    _c("note", since_form=2),
    _c("prev_hash", since_form=2),
    _c("hash", since_form=None),
    _c("form", "INTEGER", since_form=2),
    _c("age", "INTEGER", nullable=True, since_form=4, earlier=None),
)
"""The columns of a patient record (a patient's profile, age and conditions, as a clinician set
them), in the table's order. Patient records came with canonical form 2: each is written in form
2 or later, and the hash covers every column but itself. ``age`` came with form 4: a record
written before it holds none (NULL) there."""

CONTACT_COLUMNS: tuple[Column, ...] = (
    _c("id", "INTEGER", since_form=4),
    _c("seq", "INTEGER", since_form=4),
    _c("entry_id", "INTEGER", since_form=4),
    _c("contacted_at", since_form=4),
    _c("contacted_by", since_form=4),
    _c("outcome", since_form=4),
    _c("note", since_form=4),
    _c("prev_hash", since_form=4),
    _c("hash", since_form=None),
    _c("form", "INTEGER", since_form=4),
)
"""The columns of a contact (a clinician's attempt to reach the patient about a check, and what
came of it: ``CONTACT_OUTCOMES``), in the table's order. Contacts came in canonical form 4: the
hash covers every column but itself."""

COLUMNS: dict[Kind, tuple[Column, ...]] = {
    "entry": ENTRY_COLUMNS,
    "review": REVIEW_COLUMNS,
    "patient": PATIENT_COLUMNS,
    "contact": CONTACT_COLUMNS,
}
TABLES: dict[Kind, str] = {
    "entry": "entries",
    "review": "reviews",
    "patient": "patients",
    "contact": "contacts",
}
KIND_NAMES: dict[Kind, str] = {
    "entry": "entry",
    "review": "review",
    "patient": "patient record",
    "contact": "contact",
}
"""How messages name a record of each kind."""


CLINICIAN_COLUMNS: tuple[Column, ...] = (
    _c("id", "INTEGER", since_form=None),
    _c("name", since_form=None),
    _c("password_hash", since_form=None),
    _c("time_zone", since_form=None),
    _c("created_at", since_form=None),
    _c("disabled_at", nullable=True, since_form=None),
    _c("seen_entry", "INTEGER", nullable=True, since_form=None),
)
"""A clinician's account for ``triage serve``: the name reviews are recorded under, the password's
hash (argon2id, never the password), the time zone pages are shown in unless the browser says
another. Accounts are not records of the chain: they are changed (disabled, a new password)."""

TOKEN_COLUMNS: tuple[Column, ...] = (
    _c("id", "INTEGER", since_form=None),
    _c("app", since_form=None),
    _c("token_hash", since_form=None),
    _c("prefix", since_form=None),
    _c("created_at", since_form=None),
    _c("revoked_at", nullable=True, since_form=None),
)
"""An API bearer token: the application it was given to, the SHA-256 of the token (the token
itself is shown once and never stored), its first characters to tell tokens apart, and when it
was revoked."""

PATIENT_LINK_COLUMNS: tuple[Column, ...] = (
    _c("id", "INTEGER", since_form=None),
    _c("patient_id", since_form=None),
    _c("token_hash", since_form=None),
    _c("prefix", since_form=None),
    _c("created_at", since_form=None),
    _c("created_by", since_form=None),
    _c("expires_at", since_form=None),
    _c("revoked_at", nullable=True, since_form=None),
    _c("last_used_at", nullable=True, since_form=None),
)
"""A patient's link to answer checks in a phone's browser: the patient it is for, the SHA-256
of its token (the token is shown once, in the link, and never stored), its first characters to
tell links apart, who made it, when it expires and when it was revoked."""

CDS_CARD_COLUMNS: tuple[Column, ...] = (
    _c("id", "INTEGER", since_form=None),
    _c("card", since_form=None),
    _c("entry_id", "INTEGER", since_form=None),
    _c("clinician", since_form=None),
    _c("shown_at", since_form=None),
    _c("verdict", nullable=True, since_form=None),
    _c("review_id", "INTEGER", nullable=True, since_form=None),
)
"""A card the CDS Hooks service showed in an EHR: its uuid, the check it is about, the EHR user
it was shown to and when; then the feedback on it (the verdict, and the review that recorded
it). Kept, so that feedback is recorded after a restart and recorded once."""

WORKLIST_COLUMNS: tuple[Column, ...] = (
    _c("entry_id", "INTEGER", since_form=None),
    _c("severity", "INTEGER", since_form=None),
    _c("reported_at", since_form=None),
    _c("patient_id", since_form=None),
    _c("next_at", nullable=True, since_form=None),
)
"""The worklist: every entry that needs action (outcome above continue) and has no review yet,
with its severity (``outcomes.severity``) and when the patient's next check was answered (None:
none yet; what a follow-up looks for). Derived from the chain, kept in step with it in the same
transaction as each entry or review (and checked by ``verify``): an index of open work, so that
the worklist, its counts and its follow-ups never read the whole log."""

TALLY_COLUMNS: tuple[Column, ...] = (
    _c("severity", "INTEGER", since_form=None),
    _c("checks", "INTEGER", since_form=None),
)
"""How many checks of each severity the worklist holds, kept with it: its counts over the whole
log in one read, however many checks wait."""

WEB_SESSION_COLUMNS: tuple[Column, ...] = (
    _c("id", "INTEGER", since_form=None),
    _c("secret_hash", since_form=None),
    _c("clinician", since_form=None),
    _c("started_at", since_form=None),
    _c("seen_at", since_form=None),
)
"""A clinician's signed-in session of ``triage serve``: the SHA-256 of the secret its cookie
holds (never the secret), the account's name, when it started and when it was last used. Ended
by deleting it: at sign-out, and for every session of the account at a new password or when the
account is disabled."""

USED_JTI_COLUMNS: tuple[Column, ...] = (
    _c("jti_hash", since_form=None),
    _c("expires_at", since_form=None),
)
"""A CDS Hooks JWT already used (the SHA-256 of its ``jti``), kept until the JWT could no
longer be accepted anyway, then pruned: a JWT is good for one call, on every server of the log."""

IDEMPOTENCY_KEY_COLUMNS: tuple[Column, ...] = (
    _c("key_hash", since_form=None),
    _c("body_hash", since_form=None),
    _c("entry_id", "INTEGER", since_form=None),
    _c("created_at", since_form=None),
)
"""An ``Idempotency-Key`` a check was recorded under (its SHA-256), with the SHA-256 of the
answers it came with and the entry: the same key within a day answers with that entry again,
never a second one. Stored in the transaction that appends the entry."""

ALERT_SUBSCRIPTION_COLUMNS: tuple[Column, ...] = (
    _c("id", "INTEGER", since_form=None),
    _c("kind", since_form=None),
    _c("target", since_form=None),
    _c("secret", nullable=True, since_form=None),
    _c("min_severity", "INTEGER", since_form=None),
    _c("created_at", since_form=None),
    _c("removed_at", nullable=True, since_form=None),
)
"""A clinician's request for alerts (``triage alerts add``): an e-mail address or a webhook URL
(with the secret its HMAC signatures are made with: it is needed to sign, so it is kept, and
never shown again), and the least severity (``outcomes.severity``) that alerts. Removed by
setting ``removed_at``: the outbox keeps pointing at it."""

ALERT_OUTBOX_COLUMNS: tuple[Column, ...] = (
    _c("id", "INTEGER", since_form=None),
    _c("subscription_id", "INTEGER", since_form=None),
    _c("entry_id", "INTEGER", since_form=None),
    _c("created_at", since_form=None),
    _c("status", since_form=None),
    _c("attempts", "INTEGER", since_form=None),
    _c("due_at", since_form=None),
    _c("claimed_by", nullable=True, since_form=None),
    _c("last_error", nullable=True, since_form=None),
    _c("last_attempt_at", nullable=True, since_form=None),
    _c("delivered_at", nullable=True, since_form=None),
)
"""An alert to deliver (``log/alerts.py``): one per check and matching subscription, inserted
in the transaction that appends the check, so that a recorded check never lacks its alert. Not
part of the chain: its status (pending, delivered, failed, cancelled), attempts, when it is next
due, and the last error change as ``triage serve`` delivers it."""

TABLE_COLUMNS: dict[str, tuple[Column, ...]] = {
    "entries": ENTRY_COLUMNS,
    "reviews": REVIEW_COLUMNS,
    "patients": PATIENT_COLUMNS,
    "contacts": CONTACT_COLUMNS,
    "clinicians": CLINICIAN_COLUMNS,
    "api_tokens": TOKEN_COLUMNS,
    "patient_links": PATIENT_LINK_COLUMNS,
    "cds_cards": CDS_CARD_COLUMNS,
    "worklist": WORKLIST_COLUMNS,
    "worklist_tally": TALLY_COLUMNS,
    "web_sessions": WEB_SESSION_COLUMNS,
    "used_jtis": USED_JTI_COLUMNS,
    "idempotency_keys": IDEMPOTENCY_KEY_COLUMNS,
    "alert_subscriptions": ALERT_SUBSCRIPTION_COLUMNS,
    "alert_outbox": ALERT_OUTBOX_COLUMNS,
}
TRANSIENT = ("web_sessions", "used_jtis", "idempotency_keys")
"""The tables beside the chain whose rows are deleted when they end or expire (the accounts,
tokens and cards never are); a copy of the log leaves them behind."""
"""Every table of the log, by name: the chained ones and those beside the chain."""


def table_names(table: str) -> tuple[str, ...]:
    """Every column of ``table``, in the table's order."""
    return tuple(c.name for c in TABLE_COLUMNS[table])


def names(kind: Kind) -> tuple[str, ...]:
    """Every stored column of ``kind``, in the table's order."""
    return tuple(c.name for c in COLUMNS[kind])


SUMMARY_FIELDS = tuple(c.name for c in ENTRY_COLUMNS if c.summary)
REPLAY_COLUMNS = tuple(
    name
    for name in names("entry")
    if name not in ("seq", "recorded_at", "top_reason", "engine_version",
                    "program_version", "prev_hash", "hash", "form")
)  # fmt: skip
"""What a replay of the log reads of each entry (``Store.patients_entries``)."""
CSV_STORED = tuple(c.name for c in ENTRY_COLUMNS if c.csv)


# -- times as stored -----------------------------------------------------------------------------

MIN_STAMP = "0001-01-01T00:00:00.000000Z"
MAX_STAMP = "9999-12-31T23:59:59.999999Z"


def stamp(moment: datetime) -> str:
    """A moment as stored: UTC, ISO 8601, microseconds, 'Z'. Naive means UTC. A moment that
    cannot be moved to UTC (year 1 or 9999 with an offset) is clamped to the first or last."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    try:
        moment = moment.astimezone(timezone.utc)
    except OverflowError:
        return MIN_STAMP if moment.year == 1 else MAX_STAMP
    return moment.replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def now_utc() -> str:
    return stamp(datetime.now(timezone.utc))


def lower_bound(since: date | datetime) -> str:
    """The first stamp on or after ``since`` (a whole UTC day for a date)."""
    if not isinstance(since, datetime):
        since = datetime.combine(since, time(), timezone.utc)
    return stamp(since)


def upper_bound(until: date | datetime) -> str | None:
    """The stamp before which ``until`` ends (after its whole UTC day for a date); None when
    nothing can come after it."""
    if isinstance(until, datetime):
        return stamp(until)
    if until >= date.max:
        return None
    return stamp(datetime.combine(until + timedelta(days=1), time(), timezone.utc))


def days_before(moment: datetime, days: float) -> str:
    """The stamp ``days`` before ``moment``, clamped to the first one the log can hold."""
    try:
        return stamp(moment - timedelta(days=days))
    except (OverflowError, ValueError):
        return MIN_STAMP


# -- text from people ----------------------------------------------------------------------------


_LABELS = {
    "reviewer": "a reviewer's name",
    "set_by": "the name of who set it",
    "note": "a note",
    "patient": "a patient id",
}


def plain_text(field_name: str, value: str, *, controls: bool = False) -> str:
    """``value`` if it is valid text; a UsageError naming the field otherwise. Lone surrogates
    (bytes that were not UTF-8, as argv decodes them) are always refused; control characters
    (escape sequences, new lines) unless ``controls``."""
    for position, char in enumerate(value):
        code = ord(char)
        if 0xD800 <= code <= 0xDFFF:
            shown = f"byte 0x{code - 0xDC00:02x}" if code >= 0xDC80 else f"U+{code:04X}"
            raise UsageError(
                f"field '{field_name}' is not valid UTF-8 text ({shown} at position {position})",
                "type it again as UTF-8 text (check the encoding of the terminal or script)",
            )
        if not controls and unicodedata.category(char) == "Cc":
            label = _LABELS.get(field_name, "it")
            raise UsageError(
                f"field '{field_name}' contains a control character ({visible(char)} at position "
                f"{position}): {label} is one line of plain text",
                "type it again without escape sequences, tabs or line breaks",
            )
    return value


UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
"""Characters a terminal may act on instead of showing: C0 and C1 controls (escape sequences
start with them), line and paragraph separators, and bidirectional overrides."""


def visible(text: str) -> str:
    """``text`` with every character a terminal could act on shown as an escape (``\\x1b``)."""
    return UNSAFE.sub(_escaped, text)


def _escaped(found: re.Match[str]) -> str:
    code = ord(found.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


# -- records -----------------------------------------------------------------------------------


def review_problems(verdict: str, reason: str, note: str, reviewer: str) -> list[Problem]:
    """What a review lacks, the one rule every interface applies (``TriageLog.review``): a
    verdict; the reviewer's name; for an override, a coded reason and a note saying what was
    decided instead; no reason with an acceptance. Every problem, each naming its field. (Text
    that cannot be stored, control characters or bytes that are not UTF-8, is ``plain_text``'s
    UsageError, as for every text of the log.)"""
    problems = []
    if verdict not in VERDICTS:
        problems.append(Problem("choose accept or override", field="verdict"))
    if not reviewer.strip():
        problems.append(Problem("a review needs the reviewer's name", field="reviewer"))
    if verdict == "overridden":
        if reason not in OVERRIDE_REASONS:
            problems.append(
                Problem(
                    "an override needs a reason from the list",
                    field="reason",
                    fix="one of " + ", ".join(OVERRIDE_REASONS),
                )
            )
        if not note.strip():
            problems.append(
                Problem("an override needs a note saying what was decided instead", field="note")
            )
    elif reason:
        problems.append(
            Problem("a reason goes with an override, not an acceptance", field="reason")
        )
    return problems


@dataclass(frozen=True)
class Review:
    id: int
    entry_id: int
    reviewed_at: str
    reviewer: str
    verdict: Verdict
    note: str
    reason: str = ""
    """An override's coded reason (``OVERRIDE_REASONS``); empty for an acceptance."""

    @property
    def reason_words(self) -> str:
        return OVERRIDE_REASONS.get(self.reason, self.reason)


def contact_problems(outcome: str, note: str, by: str) -> list[Problem]:
    """What a contact lacks, the one rule every interface applies (``TriageLog.contact``): an
    outcome from the list, the clinician's name, and for "other" a note saying what happened."""
    problems = []
    if outcome not in CONTACT_OUTCOMES:
        problems.append(
            Problem(
                "choose what came of the contact",
                field="outcome",
                fix="one of " + ", ".join(CONTACT_OUTCOMES),
            )
        )
    if not by.strip():
        problems.append(Problem("a contact needs the clinician's name", field="by"))
    if outcome == "other" and not note.strip():
        problems.append(Problem("say in the note what came of the contact", field="note"))
    return problems


@dataclass(frozen=True)
class Contact:
    """A clinician's contact with the patient about a check (a call, a message) and what came
    of it; appended to the chain, never edited."""

    id: int
    entry_id: int
    contacted_at: str
    by: str
    outcome: str
    note: str

    @property
    def outcome_words(self) -> str:
        return CONTACT_OUTCOMES.get(self.outcome, self.outcome)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "entry_id": self.entry_id,
            "contacted_at": self.contacted_at,
            "by": self.by,
            "outcome": self.outcome,
            "note": self.note,
        }


@dataclass(frozen=True)
class PatientRecord:
    """A patient's profile, age and conditions as a clinician set them: the whole record at
    that moment (a change appends a new record; the latest is the current one)."""

    id: int
    patient_id: str
    profile: str | None
    conditions: tuple[str, ...]
    set_at: str
    set_by: str
    note: str
    age: int | None = None
    """Whole years (report contract v3); None when not set, and in records written before it."""

    def answers(self) -> dict[str, Any]:
        """The report answers it gives a check of the patient (an unset profile or age gives
        none)."""
        given: dict[str, Any] = {"profile": self.profile, "age": self.age}
        return {
            **{name: value for name, value in given.items() if value is not None},
            "conditions": list(self.conditions),
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "patient_id": self.patient_id,
            "profile": self.profile,
            "age": self.age,
            "conditions": list(self.conditions),
            "set_at": self.set_at,
            "set_by": self.set_by,
            "note": self.note,
        }


@dataclass(frozen=True)
class EntrySummary:
    """One row of ``triage log list``: the ``SUMMARY_FIELDS`` and the last review's verdict."""

    id: int
    recorded_at: str
    reported_at: str
    patient_id: str
    session_id: str
    outcome: str
    urgency: str | None
    top_reason: str
    last_verdict: Verdict | None = None

    @property
    def severity(self) -> int:
        return severity(self.outcome, self.urgency)

    @classmethod
    def from_row(cls, row: Row, last_verdict: Verdict | None = None) -> EntrySummary:
        return cls(**{name: row[name] for name in SUMMARY_FIELDS}, last_verdict=last_verdict)


@dataclass(frozen=True)
class Entry(EntrySummary):
    """One check in full: the answers, the decision, the rules and engine, and the reviews.
    ``stored`` holds every stored column, by name."""

    report: dict[str, Any] = field(default_factory=dict)
    decision: dict[str, Any] = field(default_factory=dict)
    pack: dict[str, str] = field(default_factory=dict)
    engine: dict[str, str] = field(default_factory=dict)
    program_version: str = ""
    contract_version: str = ""
    reviews: tuple[Review, ...] = ()
    hash: str = ""
    contacts: tuple[Contact, ...] = ()
    """Clinicians' contacts with the patient about this check, oldest first."""
    channel: str = ""
    """Where the answers were given (``CHANNELS``)."""

    @property
    def channel_words(self) -> str:
        return CHANNELS.get(self.channel, self.channel)

    form: int = 1
    stored: Row = field(default_factory=dict, repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "recorded_at": self.recorded_at,
            "reported_at": self.reported_at,
            "patient_id": self.patient_id,
            "session_id": self.session_id,
            "outcome": self.outcome,
            "urgency": self.urgency,
            "top_reason": self.top_reason,
            "rule_pack": self.pack,
            "engine": self.engine,
            "program_version": self.program_version,
            "contract_version": self.contract_version,
            "channel": self.channel,
            "decision": self.decision,
            "reviews": [vars(r) for r in self.reviews],
            "contacts": [c.to_dict() for c in self.contacts],
            "form": self.form,
            "hash": self.hash,
        }


@dataclass(frozen=True)
class TrendPoint:
    reported_at: str
    pain_during: int | None  # None: a check stopped early before the pain was asked
    pain_now: int | None
    outcome: str
    urgency: str | None
    pain_before: int | None = None
    """The patient's usual pain, when the check gave it."""
    entry_id: int = 0


@dataclass(frozen=True)
class SessionRef:
    """A logged session, for a follow-up: its id, when it ended, and the entry that reported it
    (its first check)."""

    session_id: str
    ended_at: datetime
    entry_id: int
    first_checked_at: datetime | None = None
    """When its first check was answered (that check's ``reported_at``): the session ended no
    later than this (``checking.check.is_same_session``). None when not known."""


NOT_CHECKED = "not checked"
"""A storage integrity check skipped by an incremental verify (it reads the whole storage)."""


@dataclass(frozen=True)
class Verification:
    """The result of ``verify``: the storage's integrity check and the hash chain."""

    integrity: str
    entries: int
    reviews: int
    head: str
    first_bad: str | None = None
    patients: int = 0
    """Patient records."""
    contacts: int = 0
    """Contacts (a clinician's attempts to reach a patient)."""
    checked_after: int = 0
    """The records up to this one were not walked: a checkpoint vouches for them (0: all were)."""
    size: int = 0
    """The records walked end at this one (the newest, unless one was bad)."""
    checkpoint: dict[str, Any] | None = None
    """The latest checkpoint the log agrees with: size, head, time, key (its id)."""
    checkpoints: int = 0
    """How many checkpoints were checked (the log's and the auditor's file's)."""
    checkpoint_problems: tuple[str, ...] = ()
    """Every checkpoint the log no longer agrees with, or that is forged."""
    keys: tuple[str, ...] = ()
    """The ids of the keys that signed the checkpoints."""
    public_key: str | None = None
    """The id of the public key they were checked against (None: the keys they name)."""
    backend: str = "SQLite"

    @property
    def ok(self) -> bool:
        return (
            self.integrity in ("ok", NOT_CHECKED)
            and self.first_bad is None
            and not self.checkpoint_problems
        )


@dataclass(frozen=True)
class Filters:
    """Which entries to list or export. Dates are the days the answers were given (UTC), both
    ends included; a date and time ``until`` is the moment before which they end."""

    patient: str | None = None
    outcome: str | None = None
    urgency: str | None = None
    since: date | datetime | None = None
    until: date | datetime | None = None
    unreviewed: bool = False
    reviewed: bool = False
    """Only entries a clinician has reviewed (``unreviewed``: only those nobody has)."""

    def equal(self) -> dict[str, str]:
        """The columns that must equal a value."""
        given = {"patient_id": self.patient, "outcome": self.outcome, "urgency": self.urgency}
        return {column: value for column, value in given.items() if value is not None}

    def checked(self) -> Filters:
        """Itself, once every text is known to be storable (UsageError otherwise)."""
        for name, value in (
            ("patient", self.patient),
            ("outcome", self.outcome),
            ("urgency", self.urgency),
        ):
            if value is not None:
                plain_text(name, value, controls=True)
        if self.reviewed and self.unreviewed:
            raise UsageError(
                "entries cannot be both reviewed and unreviewed",
                "ask for the reviewed ones, the unreviewed ones, or all",
            )
        return self


def token_hash(token: str) -> str:
    """How a secret is kept: its SHA-256 (tokens, session secrets, idempotency keys, jtis)."""
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()
