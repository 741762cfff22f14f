"""Generated patients' checks, for replay tests and benchmarks: valid reports (every required
answer, optional ones sometimes, the contract's conditional answers respected), most of them
unremarkable so that every tier appears, in sessions with follow-ups, over weeks."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

from triage.contract.reading import FIELDS, FieldSpec
from triage.contract.report import REQUIREMENTS
from triage.logic import holds

START = datetime(2026, 1, 5, 8, 0, tzinfo=timezone.utc)
HOURS = [0, 0.5, 1, 6, 12, 20, 24, 30, 48, 50, 72, 100, 168]
SCORES = [0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 5, 6, 7, 8]


def _value(spec: FieldSpec, rng: random.Random) -> Any:
    if spec.name == "hours_since_session":
        return rng.choice(HOURS)
    if spec.kind == "integer":
        low, high = int(spec.minimum or 0), int(spec.maximum or 10)
        if high - low > 10:
            return rng.randint(low, min(high, low + 12))
        return rng.choice(SCORES)  # mostly low scores
    if spec.kind == "yes_no":
        return rng.random() < (0.015 if spec.ordered else 0.5)
    if spec.kind == "set":
        return [c for c in spec.choices if rng.random() < 0.01]
    if spec.kind in ("choice", "yes_no_unsure"):
        if spec.ordered and rng.random() < 0.975:
            return spec.choices[0]
        return rng.choice(spec.choices)
    return "x"


def random_report(rng: random.Random, **fixed: Any) -> dict[str, Any]:
    """A valid report (no patient, session or time: the caller gives them)."""
    data: dict[str, Any] = {}
    for name, spec in FIELDS.items():
        if name in ("patient_id", "session_id", "reported_at", "profile", "age", "conditions"):
            continue
        if spec.required or rng.random() < 0.3:
            data[name] = _value(spec, rng)
    data.update(fixed)
    for requirement in REQUIREMENTS:
        applies = holds(requirement.when, data)
        given = data.get(requirement.field) not in (None, [])
        if requirement.required and applies and not given:
            spec = FIELDS[requirement.field]
            data[requirement.field] = rng.choice(spec.choices)
        if requirement.only and given and not applies:
            del data[requirement.field]
    return data


def patient_checks(rng: random.Random, patient: str, days: int = 42) -> Iterator[dict[str, Any]]:
    """One patient's checks over ``days``: a session every 2 to 5 days, checked just after it,
    and sometimes followed up about the same session 1 to 3 days later."""
    moment = START + timedelta(hours=rng.randint(0, 96))
    number = 0
    while moment < START + timedelta(days=days):
        number += 1
        session = f"s-{patient}-{number}"
        yield {
            **random_report(rng, hours_since_session=0.5),
            "patient_id": patient,
            "session_id": session,
            "reported_at": moment.isoformat(),
        }
        if rng.random() < 0.4:
            later = rng.choice([24, 48, 72])
            yield {
                **random_report(rng, hours_since_session=later + 0.5),
                "patient_id": patient,
                "session_id": session,
                "reported_at": (moment + timedelta(hours=later)).isoformat(),
            }
        moment += timedelta(days=rng.randint(3, 7), minutes=rng.randint(0, 600))


def checks(patients: int, seed: int = 14, days: int = 42) -> list[dict[str, Any]]:
    """Every patient's checks, in the order they were answered."""
    rng = random.Random(seed)
    found = [c for n in range(patients) for c in patient_checks(rng, f"pt-{n:04d}", days)]
    return sorted(found, key=lambda c: c["reported_at"])
