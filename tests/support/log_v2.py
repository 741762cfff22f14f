"""Test data for the log tests: a v2 report and a small v2 rule pack written into a test's
folder.

The pack fires on what patient records fill in (``profile``, ``conditions``) and reads earlier
checks with history rules, so a test can see which answers a check and its history were given.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import triage
from tests.support.helpers import BASE, ROOT


def v2_report(**changes: Any) -> dict[str, Any]:
    """tests.support.helpers.BASE (patient pt-v2) with some answers changed; None removes an
    answer."""
    data = {**BASE, "patient_id": "pt-v2", **changes}
    return {k: v for k, v in data.items() if v is not None}


RULES = """\
rules:
  - id: probe.blood-thinners
    title: On blood thinners
    outcome: seek_medical_review
    urgency: routine
    when:
      conditions: {includes: blood_thinners}
    patient: p
    clinician: c
    source: {policy: T, reference: tests}
  - id: probe.older-adult
    title: Older adult
    outcome: reduce_load
    when:
      profile: older_adult
    patient: p
    clinician: c
    source: {policy: T, reference: tests}
  - id: probe.earlier-reductions
    title: Three earlier reductions or reviews
    outcome: seek_medical_review
    urgency: routine
    when:
      earlier:
        at_least: 3
        within_days: 14
        where:
          outcome: {one_of: [reduce_load, seek_medical_review]}
    patient: p
    clinician: c
    source: {policy: T, reference: tests}
  - id: probe.earlier-numb-both-legs
    title: Numb in both legs before
    outcome: reduce_load
    when:
      earlier:
        within_days: 14
        where:
          numbness: {includes: both_legs}
    patient: p
    clinician: c
    source: {policy: T, reference: tests}
  - id: probe.earlier-numb-one-limb
    title: Numb in one arm or leg before
    outcome: reduce_load
    when:
      earlier:
        within_days: 14
        where:
          numbness: {includes_any_of: [one_arm, one_leg]}
    patient: p
    clinician: c
    source: {policy: T, reference: tests}
  - id: probe.earlier-headache
    title: A headache before
    outcome: reduce_load
    when:
      earlier:
        within_days: 14
        where:
          headache: {one_of: [new, thunderclap]}
    patient: p
    clinician: c
    source: {policy: T, reference: tests}
"""


def v2_pack(folder: Path) -> triage.RulePack:
    """The probe pack, written into ``folder`` and loaded."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pack.yaml").write_text("name: probe-v2\nversion: 2.0.0\npolicy: p\nno_alert: n\n")
    (folder / "rules.yaml").write_text(RULES)
    return triage.load_pack(folder)


def fired(decision: triage.Decision) -> set[str]:
    return {reason.rule for reason in decision.reasons}


GOLDEN_LOGS = ROOT / "tests" / "support" / "golden" / "log"
RELEASE_LOG = GOLDEN_LOGS / "release-schema-2.sql"
"""A log written by the release (schema 2, contract v1) with its own code: 4 entries and a
review by triage 0.1.0 (form 1), then entries 5-7 of pt-v1 (form 2, contract v1; entry 6 holds
numbness one_limb, sudden_headache true and pain_site back; entry 7 numbness both_legs) and an
override of entry 6."""
SCHEMA_1_LOG = GOLDEN_LOGS / "schema-1.sql"
"""A log written by triage 0.1.0 (schema 1, form 1): 4 entries, a review of entry 2."""
SCHEMA_7_LOG = GOLDEN_LOGS / "schema-7.sql"
"""A log written before the patient's age came (schema 7, contract v2, form 3) with its own code:
the release's log migrated, then patient records of pt-rec (profile older_adult and blood_thinners,
then the profile cleared: records 1 and 2) and of pt-other (record 3), a check of pt-rec (entry 8)
and an override of it. No record holds an age."""


def load_log(sql: Path, path: Path) -> Path:
    """A log file made from one of the SQL dumps above, not yet opened by this triage."""
    with sqlite3.connect(path) as conn:
        conn.executescript(sql.read_text())
    return path
