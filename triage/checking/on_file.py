"""What the log holds about a patient before their questionnaire: whether they were checked
before, and the profile, age and conditions of their record (policy v3 section 5: the
questionnaire confirms them, or asks for them when there are none)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import MissingLogError, StorageError, UsageError

if TYPE_CHECKING:
    from ..log import TriageLog
    from .check import LogLocation

PATIENT_GIVEN = "the patient (questionnaire)"
"""Who set a record the patient gave in the questionnaire: the clinician sees it as such."""


@dataclass(frozen=True)
class OnFile:
    """A patient as the log knows them. ``readable`` is False when the log exists but could not
    be read: then nothing is known, and nothing may be assumed (not even "first check")."""

    readable: bool
    checked_before: bool = False
    record: dict[str, Any] | None = None
    """The answers the record gives a check (``PatientRecord.answers``); None: no record."""

    @property
    def first_check(self) -> bool:
        return self.readable and not self.checked_before and self.record is None


def on_file(patient: str, log: TriageLog | LogLocation = None) -> OnFile:
    """What ``log`` holds about ``patient``; a log that does not exist yet holds nothing."""
    from ..log import TriageLog

    try:
        opened = log if isinstance(log, TriageLog) else _open(log)
    except MissingLogError:
        return OnFile(readable=True)
    except StorageError:
        return OnFile(readable=False)
    try:
        record = opened.patient(patient)
        checked = opened.latest_session(patient) is not None
    except UsageError:  # not an id the log accepts: the answers' validation says why
        return OnFile(readable=True)
    except StorageError:
        return OnFile(readable=False)
    finally:
        if opened is not log:
            opened.close()
    return OnFile(True, checked, None if record is None else record.answers())


def save_given(patient: str, given: dict[str, Any], log: TriageLog | LogLocation = None) -> None:
    """Append the age and conditions the patient gave to their record, marked as given by the
    patient (``PATIENT_GIVEN``); what they did not give is kept. A log that does not exist yet
    is started (the check about to be recorded would start it). Raises ``StorageError``."""
    from ..log import TriageLog

    opened = log if isinstance(log, TriageLog) else _open(log, create=True)
    try:
        opened.set_patient(
            patient,
            by=PATIENT_GIVEN,
            note="given by the patient in the questionnaire",
            **{name: given[name] for name in ("age", "conditions") if name in given},
        )
    finally:
        if opened is not log:
            opened.close()


def _open(location: LogLocation, *, create: bool = False) -> TriageLog:
    from ..log import TriageLog

    return TriageLog(None if location is None else os.fspath(location), create=create)
