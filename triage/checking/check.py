"""``triage.check``: a whole check, as ``triage check`` runs it.

Fill in the profile, age and conditions of the patient's record, link a follow-up to its session,
read the patient's recent checks from the triage log for the history rules, evaluate, and record
the check. A log that cannot be written (or does not exist) comes back with the decision
(``CheckResult.log_error``), never instead of it, so the patient sees their result whatever
happens to the log. But what a decision depends on, the patient's record and earlier checks,
must be read: when a log that exists cannot be read, no decision is made (``UnavailableError``,
which fails closed with the red-flag advice). ``evaluate`` stays the pure function underneath.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

from ..contract.reading import FIELDS, parse_report, show
from ..contract.report import Report, parse_moment
from ..errors import (
    IdempotencyKeyError,
    MissingLogError,
    Problem,
    ReportError,
    StorageError,
    UnavailableError,
    UsageError,
)
from ..evaluation.evaluator import evaluate
from ..pack.history import Earlier, with_session
from ..pack.loading import default_pack
from ..pack.rules import RulePack

if TYPE_CHECKING:
    from ..evaluation.decision import Decision
    from ..evaluation.warning import EarlyWarning
    from ..log import EntrySummary, PatientRecord, SessionRef, TriageLog
    from ..log.store import Once
    from .compare import Comparison

FOLLOW_UP_LIMIT_HOURS = 336
KEYED = "the check recorded under the idempotency key"
LogLocation = str | os.PathLike[str] | None


@dataclass(frozen=True)
class CheckResult:
    """What one check did: the decision, whether and where it was recorded, and what it saw."""

    decision: Decision
    entry: EntrySummary | None = None
    """The log entry, when the check was recorded."""
    not_logged: str | None = None
    """Why the check is not in the log (None when it is)."""
    log_error: StorageError | None = None
    """A log that could not be read or written although recording was asked for."""
    history: tuple[Earlier, ...] | None = None
    """The earlier checks the history rules saw; None when they could not be read."""
    session: SessionRef | None = None
    """For a follow-up: the session it is about."""
    patient_record: PatientRecord | None = None
    """The patient's record in the log, whose profile, age and conditions the answers were given
    where they did not give their own."""
    started_log: str | None = None
    """The path of the triage log this check started (a new, empty log), to be announced."""
    replayed: bool = False
    """Whether this is the check first recorded under the idempotency key given, read back from
    the log (``decision`` and ``entry`` as recorded then; nothing else is known)."""
    compared: Comparison | None = None
    """For a follow-up: what changed since the earlier check of the same session (None when
    not a follow-up, or the session has no earlier check with an answer to compare)."""

    @property
    def logged(self) -> bool:
        return self.entry is not None

    def to_dict(self) -> dict[str, Any]:
        """The decision's JSON, what changed since the earlier check of the session (a
        follow-up's ``compared_with``, only when there is one), and whether it was logged (the
        entry id, or why not)."""
        data = self.decision.to_dict()
        if self.compared is not None:
            data = {**data, "compared_with": self.compared.to_dict()}
        if self.entry is not None:
            return {**data, "logged": True, "log_entry": self.entry.id}
        return {**data, "logged": False, "not_logged": self.not_logged}


def check(
    answers: Mapping[str, Any] | Report,
    *,
    log: TriageLog | LogLocation = None,
    pack: RulePack | None = None,
    engine: str | None = None,
    follow_up: bool = False,
    record: bool = True,
    source: str | None = None,
    explain: bool = False,
    idempotency_key: str | None = None,
    channel: str = "",
) -> CheckResult | StoppedCheck:
    """Check a session as ``triage check`` does, with the patient's history from the log.

    ``log`` is an open ``TriageLog`` or its location (None: ``TRIAGE_DB`` or the default file in
    the user's data folder); a location is opened (and, when ``record``, created) for this call
    only. ``follow_up`` links the answers to the patient's latest session in the log, filling
    ``session_id`` and ``hours_since_session`` (answers that contradict the log are refused).
    ``record=False`` reads the history but records nothing. A new post-session check gets a
    session id. The profile, age and conditions of the patient's record in the log are filled in
    where the answers do not give them (``with_patient_record``). ``source`` names the answers
    in error messages. ``explain`` adds the decision's ``why_not`` (for clinicians; the log
    records the decision without it: ``triage log show`` works it out again).

    Answers that do not fit the contract but already meet an emergency or urgent row, whatever
    the missing or refused answers would be (a half-filled form), give a ``StoppedCheck``: the
    early warning the questionnaire would give, recorded as stopped early, with the problems.

    ``idempotency_key`` (the HTTP API's ``Idempotency-Key``; a random UUID per check) makes a
    retry safe: within 24 hours, the same key with the same answers gives the check first
    recorded under it (``replayed``), never a second entry, even when both come at once.
    ``channel`` says where the answers were given (``log.records.CHANNELS``: "phone" for the
    patient's link), recorded with the check.

    Raises ``ReportError`` for other answers that do not fit the contract, ``EvaluationError`` when
    the rules cannot be evaluated and ``UnavailableError`` when the patient's record or earlier
    checks cannot be read (never treat either as "continue"), ``IdempotencyKeyError`` for an
    idempotency key first sent with other answers, and, for a follow-up only,
    ``StorageError``/``UsageError`` when the log or the session cannot be found.
    """
    key = _key(idempotency_key, answers, record=record)
    given, problems = _given(answers, source)
    rules = pack if pack is not None else default_pack()
    opened, log_error = _open(log, create=record and not follow_up)
    if log_error is not None and not isinstance(log_error, MissingLogError):
        raise _unavailable("the triage log, which holds the patient's record,", log_error)
    try:
        earlier = _replayed(opened, key, source)
        if earlier is not None:
            return earlier
        patient_record = _patient_record(opened, given)
        given = with_patient_record(given, patient_record)
        session = None
        if follow_up and not problems:
            if opened is None:
                raise log_error or StorageError("a follow-up needs the triage log")
            session = find_session(_patient(given, source), opened)
            given = link_follow_up(given, session, source=source)
        try:
            if problems:
                raise ReportError(problems, source or "the QuestionnaireResponse")
            report = with_session(parse_report(given, source))
        except ReportError as refused:
            return _stopped_or_refused(
                refused, given, opened, rules, record=record, key=key, channel=channel
            )
        history = _history(opened, report, rules)
        compared = None if session is None else _compared(opened, report, rules, history)
        decision = evaluate(report, pack=rules, engine=engine, history=history, explain=explain)
        logged = decision.model_copy(update={"why_not": None})
        entry, write_error = _record(opened, logged, key, channel) if record else (None, None)
    except _KeyTaken:  # another request with the key was recorded first: its check is the answer
        earlier = _replayed(opened, key, source)
        if earlier is None:  # pragma: no cover - it expired in the moment between: retry
            raise _unavailable(KEYED, StorageError("it has just expired")) from None
        return earlier
    finally:
        if opened is not None and opened is not log:
            opened.close()
    error = log_error or write_error
    started = opened is not None and opened is not log and opened.created
    return CheckResult(
        decision,
        entry,
        None if entry else _why_not(record, error),
        error if record else None,
        None if history is None else tuple(history),
        session,
        patient_record,
        opened.location if started and opened is not None else None,
        compared=compared,
    )


def _compared(
    log: TriageLog | None, report: Report, pack: RulePack, history: list[Earlier] | None
) -> Comparison | None:
    """A follow-up compared with the earlier check of its session: from the history read for
    the rules when its window holds the whole session (it began at most
    ``FOLLOW_UP_LIMIT_HOURS`` ago), else read for it. Only shown: a log that cannot be read
    for it gives none."""
    from .compare import compared_with

    if history is None or pack.history_days * 24 < FOLLOW_UP_LIMIT_HOURS:
        if log is None:
            return None
        try:
            days = FOLLOW_UP_LIMIT_HOURS / 24
            history = log.history(report.patient_id, before=report.reported_at, days=days)
        except StorageError:
            return None
    return compared_with(history, report)


@dataclass(frozen=True)
class StoppedCheck:
    """A check stopped early (``warning.py``): by the questionnaire at a red flag, or given
    as answers that do not fit the contract but already meet an emergency or urgent row (the
    warning's ``problems`` then list what was missing or refused); and whether it was
    recorded: ``entry`` in the log, or why not."""

    warning: EarlyWarning
    entry: EntrySummary | None = None
    not_logged: str | None = None
    log_error: StorageError | None = None
    started_log: str | None = None
    replayed: bool = False
    """As ``CheckResult.replayed``."""

    @property
    def logged(self) -> bool:
        return self.entry is not None

    def to_dict(self) -> dict[str, Any]:
        data = self.warning.to_dict()
        if self.entry is not None:
            return {**data, "logged": True, "log_entry": self.entry.id}
        return {**data, "logged": False, "not_logged": self.not_logged}


def stop_early(
    warning: EarlyWarning,
    *,
    log: TriageLog | LogLocation = None,
    record: bool = True,
    now: datetime | None = None,
    channel: str = "",
) -> StoppedCheck:
    """Record a check stopped early in the log, so that the clinician sees it: the answers
    given (with ``reported_at``, now, when they have none) and the rows met. Like ``check``,
    a log that cannot be written comes back in the result, never instead of it; answers that
    do not say who the patient is and when the session ended are not recorded. ``channel`` as
    for ``check``."""
    return _stop_early(warning, log, record, now, None, channel)


def _stop_early(
    warning: EarlyWarning,
    log: TriageLog | LogLocation,
    record: bool,
    now: datetime | None,
    key: Once | None,
    channel: str = "",
) -> StoppedCheck:
    """``stop_early``, under the idempotency key ``key`` (``_KeyTaken`` when another request
    recorded a check under it first)."""
    from dataclasses import replace

    answers = dict(warning.answers)
    answers.setdefault("reported_at", (now or datetime.now(timezone.utc)).isoformat())
    warning = replace(warning, answers=answers)
    if not record:
        return StoppedCheck(warning, not_logged=_why_not(False, None))
    missing = _not_said(answers)
    if missing:
        return StoppedCheck(warning, not_logged=f"the answers do not say {missing}")
    opened, error = _open(log, create=True)
    entry = None
    if opened is not None:
        try:
            entry, error = _record(opened, warning, key, channel)
        finally:
            if opened is not log:
                opened.close()
    started = opened is not None and opened is not log and opened.created
    return StoppedCheck(
        warning,
        entry,
        None if entry else _why_not(True, error),
        error,
        opened.location if started and opened is not None else None,
    )


def _not_said(answers: Mapping[str, Any]) -> str:
    """What a check stopped early lacks to be recorded, in words ('' when nothing)."""
    hours = answers.get("hours_since_session")
    missing = [
        words
        for words, said in (
            ("who the patient is", isinstance(answers.get("patient_id"), str)),
            (
                "when the session ended",
                isinstance(hours, (int, float)) and not isinstance(hours, bool),
            ),
        )
        if not said
    ]
    return " and ".join(missing)


def _given(
    answers: Mapping[str, Any] | Report, source: str | None
) -> tuple[Mapping[str, Any] | Report, list[Problem]]:
    """The answers, and what is wrong with a ``QuestionnaireResponse`` they come as (then only
    the answers without a problem of their own); any other FHIR resource is refused."""
    from ..contract.readers import read

    return read(answers, source)


def _stopped_or_refused(
    error: ReportError,
    given: Mapping[str, Any] | Report,
    log: TriageLog | None,
    pack: RulePack,
    *,
    record: bool,
    key: Once | None,
    channel: str,
) -> StoppedCheck:
    """Answers that do not fit the contract: the early warning when those without a problem
    already meet an emergency or urgent row, whatever the others would be; else ``error``."""
    from dataclasses import replace

    from ..evaluation.warning import early_warning

    if not isinstance(given, Mapping):
        raise error
    refused = {p.field or p.item for p in error.problems}
    known = {k: v for k, v in given.items() if k in FIELDS and k not in refused}
    unknown = [name for name in FIELDS if name not in known]
    warning = early_warning(known, unknown, pack)
    if warning is None:
        raise error
    warning = replace(warning, problems=tuple(error.problems))
    return _stop_early(warning, log, record, None, key, channel)


def with_patient(
    answers: Mapping[str, Any], patient: str, source: str | None = None
) -> dict[str, Any]:
    """The answers for ``patient``: their ``patient_id`` filled in when they have none; answers
    that name another patient are refused, naming both (never silently re-assigned). A
    ``QuestionnaireResponse`` gets ``patient`` as its ``subject`` when it names none."""
    from ..contract.readers import reader_of

    reader = reader_of(answers, source)
    given = answers.get("patient_id") if reader is None else reader.subject_of(answers)
    if given is None:
        if reader is None:
            return {**answers, "patient_id": patient}
        return reader.with_subject(answers, patient)
    if given != patient:
        raise ReportError(
            [
                Problem(
                    f"is {show(given)} in the answers, but the check is for patient "
                    f"{show(patient)}",
                    field="patient_id",
                    file=source,
                    fix="check that these are the right answers; correct the patient id in "
                    "them, or leave it out",
                )
            ],
            source,
        )
    return dict(answers)


def record_answers(patient: str, log: TriageLog | LogLocation = None) -> dict[str, Any] | None:
    """The profile, age and conditions that ``check`` fills in from the patient's record ({} when
    the log has no record of the patient); None when there is no log or it cannot be read, so
    that a caller treats them as not known (an early warning then does not count on them)."""
    opened, _ = _open(log, create=False)
    if opened is None:  # no log yet, or one that cannot be read: not known
        return None
    try:
        record = _patient_record(opened, {"patient_id": patient})
    except UnavailableError:
        return None
    finally:
        if opened is not log:
            opened.close()
    return {} if record is None else record.answers()


def follow_up_preset(
    patient: str, log: TriageLog | LogLocation = None, now: datetime | None = None
) -> tuple[SessionRef, dict[str, Any]]:
    """A follow-up's answers known before any question: the patient, their latest session and
    the hours since it ended, and what cannot have changed about that session
    (``questionnaire.SESSION_FACTS``), from its first check."""
    from ..contract.reading import readable_answers
    from ..evaluation.questionnaire import SESSION_FACTS

    opened, error = _open(log, create=False)
    if opened is None:
        raise error or StorageError("the triage log cannot be opened")
    try:
        session = find_session(patient, opened)
        first = opened.entry(session.entry_id)
    finally:
        if opened is not log:
            opened.close()
    stored = readable_answers(first.report, first.contract_version)
    facts = {name: stored[name] for name in SESSION_FACTS if name in stored}
    linked = link_follow_up({"patient_id": patient}, session, now)
    return session, {**linked, **facts}


def _open(
    log: TriageLog | LogLocation, *, create: bool
) -> tuple[TriageLog | None, StorageError | None]:
    if log is not None and not isinstance(log, (str, os.PathLike)):
        return log, None  # a TriageLog, open already
    from ..log.location import missing_log

    try:
        missing = None if create else missing_log(log)
        if missing is not None:  # no log there: nothing of it to load
            return None, missing
        from ..log import TriageLog

        return TriageLog(None if log is None else os.fspath(log), create=create), None
    except StorageError as exc:
        return None, exc


def with_patient_record(
    answers: Mapping[str, Any] | Report, record: PatientRecord | None
) -> Mapping[str, Any] | Report:
    """The answers with the profile, age and conditions of the patient's record filled in, each
    only where the answers do not give it: an answer given explicitly wins, an empty list of
    conditions or a null profile or age included. A ``Report`` gives what was set when it was
    made."""
    if record is None or not isinstance(answers, (Mapping, Report)):
        return answers
    given = answers.model_fields_set if isinstance(answers, Report) else set(answers)
    filled = {name: value for name, value in record.answers().items() if name not in given}
    if not filled:
        return answers
    data = answers.answers() if isinstance(answers, Report) else dict(answers)
    return {**data, **filled}


def _patient_record(
    log: TriageLog | None, answers: Mapping[str, Any] | Report
) -> PatientRecord | None:
    """The record of the patient the answers name, when the log has one. Answers without a
    usable patient id get none (their validation says why). A record that cannot be read
    raises ``UnavailableError``: a decision without it could be less urgent than it should be
    (blood thinners make a fast swelling urgent)."""
    patient = answers.patient_id if isinstance(answers, Report) else None
    if isinstance(answers, Mapping):
        patient = answers.get("patient_id")
    if log is None or not isinstance(patient, str):
        return None
    try:
        return log.patient(patient)
    except UsageError:  # not an id a report may hold: parse_report refuses the answers
        return None
    except StorageError as exc:
        raise _unavailable("the patient's record", exc) from None


def _history(log: TriageLog | None, report: Report, pack: RulePack) -> list[Earlier] | None:
    """The patient's earlier checks the history rules read; ``UnavailableError`` when they
    cannot be read (never a decision that only looks as if there were none)."""
    if log is None or not pack.history_days:
        return None
    try:
        return log.history(report.patient_id, before=report.reported_at, days=pack.history_days)
    except StorageError as exc:
        raise _unavailable("the patient's earlier checks", exc) from None


def _unavailable(what: str, cause: StorageError) -> UnavailableError:
    return UnavailableError(
        f"{what} could not be read from the triage log: {cause}",
        cause.path,
        "try again in a moment; if it keeps failing, tell your clinician: the log needs looking at",
    )


def _record(
    log: TriageLog | None, done: Decision | EarlyWarning, key: Once | None, channel: str
) -> tuple[EntrySummary | None, StorageError | None]:
    """Record the check (under ``key``): its entry, or why the log could not take it."""
    from ..evaluation.decision import Decision

    if log is None:
        return None, None
    try:
        if key is not None:
            entry = log.record_once(done, key, channel=channel)
            if entry is None:
                raise _KeyTaken
            return entry, None
        if isinstance(done, Decision):
            return log.record(done, channel=channel), None
        return log.record_stopped_early(done, channel=channel), None
    except StorageError as exc:
        return None, exc


class _KeyTaken(Exception):
    """Another request recorded a check under the same idempotency key first."""


def _key(
    idempotency_key: str | None, answers: Mapping[str, Any] | Report, *, record: bool
) -> Once | None:
    """The idempotency key of a check of ``answers``, checked (UsageError); None without one."""
    if idempotency_key is None:
        return None
    if not record:
        raise UsageError(
            "an idempotency key is kept with the check's entry in the log, and this check is "
            "not recorded",
            "record the check, or give no idempotency key",
        )
    from ..log.once import key_for

    return key_for(idempotency_key, answers.answers() if isinstance(answers, Report) else answers)


def _replayed(
    log: TriageLog | None, key: Once | None, source: str | None
) -> CheckResult | StoppedCheck | None:
    """The check recorded under ``key`` within its 24 hours, as it was answered then; None
    when there is none. IdempotencyKeyError when it was recorded for other answers."""
    if log is None or key is None:
        return None
    from ..log.once import KEY_HEADER, KEY_HOURS

    try:
        found = log.keyed_entry(key)
    except StorageError as exc:
        raise _unavailable(KEYED, exc) from None
    if found is None:
        return None
    answered, entry = found
    if answered != key.body_hash:
        problem = Problem(
            f"was sent within the last {KEY_HOURS} hours with other answers, and their check "
            "is recorded under it",
            field=KEY_HEADER,
            fix="a retry sends exactly the answers it first sent; new answers need a new key "
            "(a new random UUID)",
        )
        raise IdempotencyKeyError([problem], source or "the answers")
    from ..evaluation.decision import Decision
    from ..evaluation.warning import EarlyWarning
    from ..log import EntrySummary

    summary = EntrySummary.from_row(entry.stored)
    if entry.decision.get("stopped_early"):
        return StoppedCheck(EarlyWarning.from_dict(entry.decision), summary, replayed=True)
    return CheckResult(Decision.model_validate(entry.decision), summary, replayed=True)


def _why_not(record: bool, error: StorageError | None) -> str:
    if not record:
        return "recording was not asked for (--no-log)"
    return f"the triage log could not be used: {error}" if error else "no triage log"


def _patient(answers: Mapping[str, Any] | Report, source: str | None) -> str:
    patient = answers.patient_id if isinstance(answers, Report) else answers.get("patient_id")
    if not isinstance(patient, str):
        parse_report(answers, source)  # reports every problem, patient_id's among them
        raise ReportError([Problem("is required", field="patient_id", file=source)], source)
    return patient


def find_session(patient: str, log: TriageLog | LogLocation = None) -> SessionRef:
    """The patient's latest session in the log, for a follow-up."""
    opened, error = _open(log, create=False)
    if opened is None:
        raise error or StorageError("the triage log cannot be opened")
    try:
        session = opened.latest_session(patient)
        path = opened.location
    finally:
        if opened is not log:
            opened.close()
    if session is None:
        raise UsageError(
            f"there is no earlier check for patient {patient} in {path}",
            "a follow-up is about a session checked before: "
            "run 'triage check' after a session first",
        )
    return session


def is_same_session(session: SessionRef, ended_at: datetime, now: datetime | None = None) -> bool:
    """Whether a session that ended at ``ended_at`` can be ``session``: it ended no later than
    the session's first check was answered (its ``first_checked_at``; ``ended_at`` as the log has
    it when that is not known), and at most 14 days (``FOLLOW_UP_LIMIT_HOURS``) before ``now``
    (the current time by default). A time that corrects a rough one of the first check ("about
    a day ago") is the same session; a session that ended after that check is a new one."""
    ended_at = _utc(ended_at)
    now = _utc(now or datetime.now(timezone.utc))
    oldest = now - timedelta(hours=FOLLOW_UP_LIMIT_HOURS)
    return oldest <= ended_at <= _first_checked(session)


def _first_checked(session: SessionRef) -> datetime:
    return _utc(session.first_checked_at or session.ended_at)


def _utc(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=timezone.utc)


def link_follow_up(
    answers: Mapping[str, Any] | Report,
    session: SessionRef,
    now: datetime | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """Fill ``session_id`` and ``hours_since_session`` of a follow-up from its session in the log.
    Answers that contradict the log, or that are not what the contract expects, are refused, not
    overwritten. A ``hours_since_session`` within an hour of the log's is taken as the log's; one
    further off that corrects when the session ended (it ended before the session's first check:
    ``is_same_session``) is kept, and recorded; one that puts the end after that check is
    refused: that is another session."""
    data = answers.answers() if isinstance(answers, Report) else dict(answers)
    moment = _moment(data.get("reported_at"), now, source)
    hours = round((moment - session.ended_at).total_seconds() / 3600, 1)
    corrected = _correction(data.get("hours_since_session"), hours, session, moment)
    problems = [
        Problem(message, field=field, file=source, fix=fix)
        for bad, field, message, fix in _conflicts(data, session, hours, moment, corrected)
        if bad
    ]
    if problems:
        raise ReportError(problems, source)
    linked = max(hours, 0.0) if corrected is None else corrected
    return {**data, "session_id": session.session_id, "hours_since_session": linked}


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _correction(given: Any, hours: float, session: SessionRef, moment: datetime) -> float | None:
    """The hours given, when they are more than an hour off the log's and put the session's end
    before its first check: a corrected time. None otherwise."""
    if not _number(given) or abs(given - hours) <= 1:
        return None
    try:
        ended = moment - timedelta(hours=given)
    except OverflowError:
        return None
    return given if ended <= _first_checked(session) else None


def _moment(value: Any, now: datetime | None, source: str | None) -> datetime:
    if value is None:
        return now or datetime.now(timezone.utc)
    try:
        return parse_moment(value)
    except ValueError as exc:
        raise ReportError([Problem(str(exc), field="reported_at", file=source)], source) from None


def _conflicts(
    data: dict[str, Any],
    session: SessionRef,
    hours: float,
    moment: datetime,
    corrected: float | None,
) -> list[tuple[bool, str, str, str]]:
    given = data.get("hours_since_session")
    number = _number(given)
    off_by = abs(given - hours) if isinstance(given, (int, float)) and number else 0.0
    first = round((moment - _first_checked(session)).total_seconds() / 3600, 1)
    since = hours if corrected is None else corrected
    return [
        (
            data.get("session_id") not in (None, session.session_id),
            "session_id",
            f"the follow-up is about session {session.session_id} (the patient's latest), "
            f"not {data.get('session_id')}",
            "leave session_id out with --follow-up",
        ),
        (
            given is not None and not number,
            "hours_since_session",
            "is worked out from the log for a follow-up, and this one is not a number",
            "leave hours_since_session out with --follow-up",
        ),
        (
            off_by > 1 and corrected is None,
            "hours_since_session",
            f"the log says the session ended {hours:g} hours before this report, not {given}: "
            f"its first check was {first:g} hours before this report, and a session that ended "
            "after it is not that session",
            "leave hours_since_session out with --follow-up; for a session after that check, "
            "run 'triage check' without --follow-up",
        ),
        (
            since > FOLLOW_UP_LIMIT_HOURS,
            "hours_since_session",
            f"the latest session ended {since / 24:.0f} days ago, more than 14",
            "run a new check after your next session",
        ),
    ]
