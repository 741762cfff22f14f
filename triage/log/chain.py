"""The hash chain of the triage log: each record's SHA-256 covers its content and the hash of
the record before it, so an edit or deletion anywhere but the very end breaks the chain.

Every record names the version of its canonical form (its ``form`` column), and the form says
which columns the hash covers:

- form 1: the record's kind and every column of the first schema (``since_form == 1``), exactly
  as triage 0.1.0 hashed them, so that logs written then still verify;
- form 2: form 1, plus ``"form": 2`` and the columns added since (an entry's
  ``contract_version``); patient records, which came with it, are form 2 or later and have
  every column covered;
- form 3: form 2, with ``"form": 3``, and a review's ``reason`` (an override's coded reason);
- form 4: form 3, with ``"form": 4``, and a patient record's ``age``; contacts, which came
  later (a new kind, in a new table: an older triage refuses the log by its migration), are
  form 4 or later and have every column covered;
- form 5: form 4, with ``"form": 5``, and an entry's ``channel`` (where its answers were
  given).

A migration that adds a covered column adds a form; records keep the form they were written in,
and ``verify`` checks that an older record holds the migration's default in every column its form
does not cover (an old entry's ``contract_version`` can only be "1").
A new form always comes with a migration, so an older triage refuses the log (as written by a
newer version) instead of calling its new records edited.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from functools import cache
from typing import Any

from .records import COLUMNS, KIND_NAMES, Kind, Row, Verification

GENESIS = "0" * 64
"""The 'previous hash' of the first record."""

CURRENT_FORM = 5
"""The canonical form new records are written in."""

FORMS = range(1, CURRENT_FORM + 1)


@cache
def forms(kind: Kind) -> range:
    """The canonical forms a ``kind`` record may have: from the first that covered any of its
    columns (1 for entries and reviews, 2 for patient records) to the current one."""
    first = min(c.since_form for c in COLUMNS[kind] if c.since_form is not None)
    return range(first, CURRENT_FORM + 1)


@cache
def covered(kind: Kind, form: int) -> tuple[str, ...]:
    """The columns the hash of a ``kind`` record in canonical form ``form`` covers."""
    return tuple(c.name for c in COLUMNS[kind] if c.since_form is not None and c.since_form <= form)


@cache
def uncovered(kind: Kind, form: int) -> tuple[tuple[str, Any], ...]:
    """The columns added after ``form``, with the value its records hold there."""
    return tuple(
        (c.name, c.earlier)
        for c in COLUMNS[kind]
        if c.since_form is not None and c.since_form > form
    )


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_hash(kind: Kind, row: Row) -> str:
    """The hash of one stored record, over the columns its canonical form covers."""
    form = row["form"]
    if form not in forms(kind):
        raise ValueError(f"canonical form {form!r} is not one of {list(forms(kind))}")
    payload = canonical({"kind": kind, **{name: row[name] for name in covered(kind, form)}})
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def chain_problem(kind: Kind, row: Row, expected_seq: int, prev: str) -> str | None:
    """Why ``row`` does not continue the chain at ``expected_seq`` after ``prev``, or None."""
    name = f"{KIND_NAMES[kind]} {row['id']} (record {row['seq']})"
    if row["seq"] != expected_seq:
        return f"record {expected_seq} is missing before {name}: a record was deleted"
    if row["prev_hash"] != prev:
        return (
            f"{name} does not follow the record before it: "
            "a record was changed, replaced or deleted"
        )
    if row["form"] not in forms(kind):
        return f"{name} names canonical form {row['form']!r}, {_no_such_form(kind, row['form'])}"
    if record_hash(kind, row) != row["hash"]:
        return f"{name} does not match its hash: it was edited outside triage"
    for column, value in uncovered(kind, row["form"]):
        if row[column] != value:
            return (
                f"{name} was written before its {column} was recorded, yet holds "
                f"{row[column]!r} there, not {value!r}: it was edited outside triage"
            )
    return None


def _no_such_form(kind: Kind, form: Any) -> str:
    if form in FORMS:
        return f"older than {KIND_NAMES[kind]}s: it was edited outside triage"
    return "which this log's schema does not have: it was edited outside triage"


WRITTEN_AT: dict[Kind, str] = {
    "entry": "recorded_at",
    "review": "reviewed_at",
    "patient": "set_at",
    "contact": "contacted_at",
}
"""The column that says when a record of each kind was written."""


def verify(
    records: Iterable[tuple[Kind, Row]],
    integrity: str,
    *,
    after: tuple[int, str] = (0, GENESIS),
    floors: Sequence[tuple[int, str, str]] = (),
) -> Verification:
    """Walk the records after ``after`` (a position and its hash; the start of the chain by
    default) in chain order; report the first that breaks the chain, or that was written before
    a checkpoint it comes after (``floors``: size, earliest time, checkpoint time)."""
    start, prev = after
    expected_seq, counts = start + 1, dict.fromkeys(COLUMNS, 0)
    pending, floor = list(floors), None
    for kind, row in records:
        while pending and pending[0][0] < row["seq"]:
            floor = pending.pop(0)
        problem = chain_problem(kind, row, expected_seq, prev) or _backdated(kind, row, floor)
        if problem:
            return _verification(integrity, counts, prev, problem, start, expected_seq - 1)
        counts[kind] += 1
        expected_seq, prev = expected_seq + 1, row["hash"]
    return _verification(integrity, counts, prev, None, start, expected_seq - 1)


def _backdated(kind: Kind, row: Row, floor: tuple[int, str, str] | None) -> str | None:
    written = row[WRITTEN_AT[kind]]
    if floor is None or not isinstance(written, str) or written >= floor[1]:
        return None
    return (
        f"{KIND_NAMES[kind]} {row['id']} (record {row['seq']}) says it was written at {written}, "
        f"before the checkpoint of {floor[2]} that ends at record {floor[0]}: it was inserted "
        "later, back-dated"
    )


def _verification(
    integrity: str,
    counts: dict[Kind, int],
    head: str,
    first_bad: str | None,
    start: int,
    size: int,
) -> Verification:
    return Verification(
        integrity,
        counts["entry"],
        counts["review"],
        head,
        first_bad,
        patients=counts["patient"],
        contacts=counts["contact"],
        checked_after=start,
        size=size,
    )
