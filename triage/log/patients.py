"""Patient records: a patient's profile, age and conditions as a clinician sets them, checked
against the report contract, turned into stored rows and read back.

Each change appends the whole record as it now stands; the latest is the current one. A change
may give only some of the profile, the age and the conditions: the others are kept (``KEEP``, the
default) from the current record. Each is cleared explicitly: ``profile=None``, ``age=None``,
``conditions=[]``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any

from ..contract.field_table import FIELDS  # the contract's fields, without building its models
from ..contract.fields import number_text
from ..errors import StorageError, UsageError
from . import chain
from .records import PatientRecord, Row, now_utc, plain_text
from .store import Head


class Keep(Enum):
    """Not given: keep what the patient's current record holds (nothing, for a new patient)."""

    KEEP = "keep"


KEEP = Keep.KEEP

LISTS = (list, tuple, set, frozenset)
"""What a list of conditions may be given as (a bare string is one condition, not a list)."""


@dataclass(frozen=True)
class PatientChange:
    """A checked change to a patient's record: the values given, ``KEEP`` for the others."""

    patient_id: str
    profile: str | Keep | None
    conditions: tuple[str, ...] | Keep
    by: str
    note: str
    age: int | Keep | None = KEEP

    def row(self, head: Head, current: Row | None) -> Row:
        """The new record, at the head of the chain, keeping from ``current`` what is not given."""
        kept = current or {"profile": None, "conditions_json": "[]", "age": None}
        profile = kept["profile"] if self.profile is KEEP else self.profile
        age = kept["age"] if self.age is KEEP else self.age
        conditions = kept["conditions_json"]
        if not isinstance(self.conditions, Keep):
            conditions = json.dumps(list(self.conditions), separators=(",", ":"))
        row: Row = {
            "id": head.next_id,
            "seq": head.seq + 1,
            "patient_id": self.patient_id,
            "set_at": now_utc(),
            "set_by": self.by,
            "profile": profile,
            "conditions_json": conditions,
            "note": self.note,
            "prev_hash": head.hash,
            "form": chain.CURRENT_FORM,
            "age": age,
        }
        row["hash"] = chain.record_hash("patient", row)
        return row


def checked_change(
    patient_id: str,
    *,
    profile: Any,
    conditions: Any,
    by: str,
    note: str,
    age: Any = KEEP,
) -> PatientChange:
    """The change, once every value fits the contract and every text is plain (UsageError)."""
    if profile is KEEP and conditions is KEEP and age is KEEP:
        raise UsageError(
            "a patient record is set with a profile, an age, conditions or some of them, and "
            "none was given",
            "give the profile, the age or the conditions (None or an empty list clears them)",
        )
    who = plain_text("set_by", by).strip()
    if not who:
        raise UsageError("a patient record needs the name of who set it", "give --by NAME")
    return PatientChange(
        checked_patient_id(patient_id),
        profile if profile is KEEP else checked_profile(profile),
        conditions if conditions is KEEP else checked_conditions(conditions),
        who,
        plain_text("note", note),
        age if age is KEEP else checked_age(age),
    )


def checked_patient_id(patient_id: Any) -> str:
    """A patient id as the report contract accepts it."""
    from ..contract.reading import show
    from ..contract.report import Report

    info = Report.model_fields["patient_id"]
    pattern = next(m.pattern for m in info.metadata if getattr(m, "pattern", None))
    if isinstance(patient_id, str) and re.fullmatch(pattern, patient_id):
        return patient_id
    raise UsageError(
        f"field 'patient_id': got {show(patient_id)}, expected {FIELDS['patient_id'].expected()}",
        "give the patient id the checks use",
    )


def checked_profile(profile: Any) -> str | None:
    """A profile the contract accepts, or None (no profile)."""
    spec = FIELDS["profile"]
    if profile is None or spec.accepts(profile):
        return profile  # type: ignore[no-any-return]
    from ..contract.reading import show

    raise UsageError(
        f"field 'profile': got {show(profile)}, expected {spec.expected()}",
        _near("profile", profile) or "give one of the profiles listed, or None for none",
    )


def checked_age(age: Any) -> int | None:
    """An age the contract accepts (whole years; 72.0 is 72, as in a report), or None (no age).
    A bool, a fraction or text ("72") is refused, as the report refuses it."""
    spec = FIELDS["age"]
    if isinstance(age, float) and age.is_integer() and abs(age) < 2**53:
        age = int(age)
    if age is None or spec.accepts(age):
        return age  # type: ignore[no-any-return]
    from ..contract.reading import show

    lowest, highest = number_text(spec.minimum), number_text(spec.maximum)
    text = isinstance(age, str)
    raise UsageError(
        f"field 'age': got {show(age)}, expected {spec.expected()}",
        f"give the age as a number, not text: {age.strip()}"
        if text and age.strip().isdigit()
        else f"give the age in whole years, from {lowest} to {highest}, or None for none",
    )


def checked_conditions(conditions: Any) -> tuple[str, ...]:
    """Distinct conditions the contract accepts, in the contract's order."""
    spec = FIELDS["conditions"]
    if not isinstance(conditions, LISTS):
        from ..contract.reading import show

        one = conditions in spec.choices
        raise UsageError(
            f"field 'conditions': got {show(conditions)}, expected {spec.expected()}",
            f"write a list: [{conditions}]" if one else "write a list, or [] for none",
        )
    given = list(conditions)
    unknown = [value for value in given if not spec.accepts(value)]
    if unknown:
        raise _unknown_conditions(unknown)
    repeated = [c for c in spec.choices if given.count(c) > 1]
    if repeated:
        raise UsageError(
            f"field 'conditions': lists {', '.join(repeated)} more than once",
            "list each condition once",
        )
    return tuple(c for c in spec.choices if c in given)


def _unknown_conditions(unknown: list[Any]) -> UsageError:
    from ..contract.reading import show

    spec = FIELDS["conditions"]
    shown = " and ".join(show(value) for value in unknown)
    verb = "is not one of" if len(unknown) == 1 else "are not among"
    hints = [(value, _near("conditions", value)) for value in unknown]
    fixes = [h if len(unknown) == 1 else f"for {show(v)}, {h}" for v, h in hints if h]
    return UsageError(
        f"field 'conditions': holds {shown}, which {verb} {', '.join(spec.choices)}",
        "; ".join(fixes) or "give only the conditions listed",
    )


def _near(field: str, value: Any) -> str | None:
    """The contract's did-you-mean for a misspelt value, or the one answer that contains it
    ('older' for older_adult)."""
    from ..contract.reading import hint

    spec = FIELDS[field]
    near = hint(spec, value)
    if near or not isinstance(value, str) or len(value) < 3:
        return near
    holding = [c for c in spec.choices if value.casefold() in c]
    return f"did you mean '{holding[0]}'?" if len(holding) == 1 else None


def record_from(row: Row, path: str) -> PatientRecord:
    """The stored row as a record; a row that no longer fits the contract is a StorageError."""
    try:
        conditions = json.loads(row["conditions_json"])
        return PatientRecord(
            row["id"],
            row["patient_id"],
            checked_profile(row["profile"]),
            checked_conditions(conditions),
            row["set_at"],
            row["set_by"],
            row["note"],
            checked_age(row["age"]),
        )
    except (TypeError, ValueError, UsageError) as exc:
        reason = exc if isinstance(exc, UsageError) else "damaged JSON in conditions_json"
        raise StorageError(
            f"patient record {row['id']} in {path} cannot be read: {reason}",
            path,
            "run 'triage log verify' to see whether it was edited; restore it from a backup",
        ) from None


def changed(before: PatientRecord | None, after: PatientRecord) -> tuple[str, ...]:
    """The fields ``after`` sets differently from ``before`` (from nothing, for the first), in the
    order the record shows them: profile, age, conditions."""
    profile, age, conditions = (
        (before.profile, before.age, before.conditions) if before else (None, None, ())
    )
    differs = {
        "profile": profile != after.profile,
        "age": age != after.age,
        "conditions": conditions != after.conditions,
    }
    return tuple(name for name, different in differs.items() if different)
