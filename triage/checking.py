"""A whole check as the CLI runs it: the patient's history from the triage log, the decision,
and the record of it. The result is always returned; a log failure comes with it, never instead
of it, so the patient sees their result whatever happens to the log."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .decision import Decision
from .errors import Problem, ReportError, StorageError
from .evaluation import evaluate
from .history import with_session
from .log import EntrySummary, SessionRef, TriageLog
from .pack import RulePack
from .report import Report

FOLLOW_UP_LIMIT_HOURS = 336


@dataclass(frozen=True)
class CheckResult:
    decision: Decision
    entry: EntrySummary | None = None
    log_error: StorageError | None = None


def check_and_log(
    report: Report,
    *,
    pack: RulePack,
    engine: str | None = None,
    db: str | Path | None = None,
    record: bool = True,
) -> CheckResult:
    """Evaluate ``report`` with the patient's recent checks from the log, then record it
    (unless ``record`` is false). A new post-session report gets a session id first."""
    report = with_session(report)
    log: TriageLog | None = None
    error: StorageError | None = None
    try:
        log = TriageLog(db, create=record)
    except StorageError as exc:
        error = exc
    try:
        history = None
        if log is not None and pack.history_days:
            try:
                history = log.history(
                    report.patient_id, before=report.reported_at, days=pack.history_days
                )
            except StorageError as exc:
                error = exc
        decision = evaluate(report, pack=pack, engine=engine, history=history)
        entry = None
        if record and log is not None and error is None:
            try:
                entry = log.record(decision)
            except StorageError as exc:
                error = exc
    finally:
        if log is not None:
            log.close()
    return CheckResult(decision, entry, error if record else None)


def find_session(patient: str, db: str | Path | None) -> SessionRef:
    """The patient's latest session in the log, for a follow-up."""
    with TriageLog(db, create=False) as log:
        session = log.latest_session(patient)
        path = log.path
    if session is None:
        raise StorageError(
            f"there is no earlier check for patient {patient} in {path}",
            str(path),
            "a follow-up is about a session checked before: run 'triage check' after a session first",
        )
    return session


def link_follow_up(
    answers: Mapping[str, Any],
    session: SessionRef,
    now: datetime | None = None,
    source: str | None = None,
) -> dict[str, Any]:
    """Fill ``session_id`` and ``hours_since_session`` of a follow-up from its session in the log.
    Answers that contradict the log are refused, not overwritten."""
    data = dict(answers)
    moment = data.get("reported_at") or now or datetime.now(timezone.utc)
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.replace("Z", "+00:00"))
    hours = round((moment - session.ended_at).total_seconds() / 3600, 1)
    given = data.get("hours_since_session")
    conflicts = [
        (
            data.get("session_id") not in (None, session.session_id),
            "session_id",
            f"the follow-up is about session {session.session_id} (the patient's latest), not {data.get('session_id')}",
            "leave session_id out with --follow-up",
        ),
        (
            isinstance(given, (int, float))
            and not isinstance(given, bool)
            and abs(given - hours) > 1,
            "hours_since_session",
            f"the log says the session ended {hours:g} hours before this report, not {given}",
            "leave hours_since_session out with --follow-up",
        ),
        (
            hours > FOLLOW_UP_LIMIT_HOURS,
            "hours_since_session",
            f"the latest session ended {hours / 24:.0f} days ago, more than 14",
            "run a new check after your next session",
        ),
    ]
    problems = [
        Problem(message, field=field, file=source, fix=fix)
        for bad, field, message, fix in conflicts
        if bad
    ]
    if problems:
        raise ReportError(problems, source)
    return {**data, "session_id": session.session_id, "hours_since_session": max(hours, 0.0)}
