"""``TriageLog``: every check recorded, reviews and patient records appended, nothing edited or
deleted.

The facade builds and checks records (the hash chain, canonical forms, what people may type);
the storage backend (``store.Store``) only stores and finds rows.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .._version import __version__
from ..errors import ContactError, NotFoundError, ReviewError, StorageError, UsageError
from ..pack.history import Earlier, new_session_id
from . import chain, worklist
from .access import Access
from .alerts import Alerts
from .cards import ShownCards
from .contacts import contact_from, contact_row
from .location import Server, locate, open_store
from .once import UsedTokens
from .patients import KEEP, Keep, checked_change, record_from
from .records import (
    CHANNELS,
    MAX_ID,
    MIN_STAMP,
    Contact,
    Entry,
    EntrySummary,
    Filters,
    PatientRecord,
    Review,
    Row,
    SessionRef,
    TrendPoint,
    Verdict,
    Verification,
    contact_problems,
    days_before,
    now_utc,
    plain_text,
    review_problems,
    stamp,
    visible,
)
from .sessions import Sessions
from .store import Head, Once, Store
from .worklist import Version, Worklist

if TYPE_CHECKING:
    from ..evaluation.decision import Decision
    from ..evaluation.warning import EarlyWarning
    from .checkpoints import Checkpoint
    from .links import PatientLinks


class TriageLog:
    """The append-only, hash-chained log of checks, reviews and patient records.

    ``path`` is a file's path, a ``sqlite:///`` or ``postgresql://`` URL, and defaults to
    ``TRIAGE_DB`` or the user's data folder. With ``create=False`` a missing log is an error
    instead of being started (for reading commands); ``created`` says whether opening it started a
    new, empty log. Only the default place gets its folders created. ``location`` names the log
    in messages (a URL without its password); ``path`` is the file of an SQLite log (None for a
    PostgreSQL log).
    """

    def __init__(self, path: str | Path | None = None, *, create: bool = True) -> None:
        self._store: Store = open_store(path, create=create)
        self.location = self._store.location
        self.backend = self._store.backend
        self.path: Path | None = Path(self.location) if self.backend == "SQLite" else None
        self.created = self._store.created
        place = locate(path) if self.path is None else None
        self.target = place.url if isinstance(place, Server) else self.location
        """What opens this log again (``TriageLog(log.target)``): the file's path, or the
        whole URL, which may hold a password (never show it: ``location`` is for people)."""

    @property
    def shared(self) -> bool:
        """Whether one open log may serve many threads at once (PostgreSQL's has a pool of
        connections); an SQLite log is opened once per thread."""
        return self.backend != "SQLite"

    def close(self) -> None:
        self._store.close()

    def __enter__(self) -> TriageLog:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- append --------------------------------------------------------------------------------

    def record(self, decision: Decision, *, channel: str = "") -> EntrySummary:
        """Append one check; returns what was stored. ``channel`` says where its answers were
        given (``CHANNELS``)."""
        return self.record_many([decision], channel=channel)[0]

    def record_many(
        self, decisions: Iterable[Decision], *, channel: str = ""
    ) -> list[EntrySummary]:
        """Append several checks in one transaction: all are stored, or none."""
        rows = self._store.append("entry", _entries(list(decisions), _channel(channel)))
        return [EntrySummary.from_row(row) for row in rows]

    def record_stopped_early(self, warning: EarlyWarning, *, channel: str = "") -> EntrySummary:
        """Append a check the questionnaire stopped at a red flag (or the patient stopped after
        answers that need a clinician): its report holds the answers given, its decision
        ``"stopped_early": true`` with the rows met; no schema change, every view reads it.
        The summary's top reason says it stopped early, so the list shows it."""
        rows = self._store.append("entry", _stopped(warning, _channel(channel)))
        return EntrySummary.from_row(rows[0])

    def record_once(
        self, done: Decision | EarlyWarning, key: Once, *, channel: str = ""
    ) -> EntrySummary | None:
        """Append one check (a decision, or a check stopped early) under an idempotency key
        (``once.key_for``); None when a check was recorded under that key already, and has not
        expired: then nothing is appended, and ``keyed_entry`` finds that check. Requests
        with the same key queue in the append's transaction, so only one is ever recorded."""
        from ..evaluation.decision import Decision

        where = _channel(channel)
        build = _entries([done], where) if isinstance(done, Decision) else _stopped(done, where)
        rows = self._store.append("entry", build, key)
        return EntrySummary.from_row(rows[0]) if rows else None

    def keyed_entry(self, key: Once) -> tuple[str, Entry] | None:
        """The check recorded under the idempotency key ``key`` (and not expired), with the
        hash of the answers it was recorded for; or None."""
        rows = self._store.find_rows("idempotency_keys", "key_hash", key.key_hash)
        if not rows or rows[0]["created_at"] < key.expired_before:
            return None
        return rows[0]["body_hash"], self.entry(rows[0]["entry_id"])

    def review(
        self, entry_id: int, *, by: str, verdict: Verdict, note: str = "", reason: str = ""
    ) -> Review:
        """Append a clinician's review of an entry; reviews are never edited. An override
        needs a coded ``reason`` (``OVERRIDE_REASONS``) and a note; an acceptance takes no
        reason. ReviewError lists every problem (``review_problems``, the one rule the CLI,
        the web and the API apply); UsageError for text that cannot be stored."""
        return self.review_many([entry_id], by=by, verdict=verdict, note=note, reason=reason)[0]

    def review_many(
        self,
        entry_ids: Iterable[int],
        *,
        by: str,
        verdict: Verdict,
        note: str = "",
        reason: str = "",
    ) -> list[Review]:
        """Append the same review (one verdict, note and reason) of several entries in one
        transaction: all are stored, or none; in the order given, an id given twice reviewed
        once. The rule is ``review``'s (``review_problems``); NotFoundError for an id that is
        no entry, before anything is appended."""
        ids = list(dict.fromkeys(entry_ids))
        if not ids:
            raise UsageError("no entry to review", "give the id of at least one entry")
        plain_text("reviewer", by)
        plain_text("note", note)
        problems = review_problems(verdict, reason, note, by)
        if problems:
            where = ", ".join(str(i) for i in ids)
            raise ReviewError(problems, f"entr{'y' if len(ids) == 1 else 'ies'} {where}")
        reviewer = by.strip()
        for entry_id in ids:
            self._existing(entry_id)

        def build(head: Head) -> list[Row]:
            rows, prev, at = [], head.hash, now_utc()
            for offset, entry_id in enumerate(ids):
                row: Row = {
                    "id": head.next_id + offset,
                    "seq": head.seq + offset + 1,
                    "entry_id": entry_id,
                    "reviewed_at": at,
                    "reviewer": reviewer,
                    "verdict": verdict,
                    "note": note,
                    "prev_hash": prev,
                    "form": chain.CURRENT_FORM,
                    "reason": reason,
                }
                row["hash"] = prev = chain.record_hash("review", row)
                rows.append(row)
            return rows

        return [_review(row) for row in self._store.append("review", build)]

    def contact(self, entry_id: int, *, by: str, outcome: str, note: str = "") -> Contact:
        """Append a clinician's contact with the patient about an entry (a call, a message)
        and what came of it (``CONTACT_OUTCOMES``); contacts are never edited. ContactError
        lists every problem (``contact_problems``, the one rule the CLI and the web apply);
        NotFoundError for an id that is no entry; UsageError for text that cannot be stored."""
        plain_text("by", by)
        plain_text("note", note)
        problems = contact_problems(outcome, note, by)
        if problems:
            raise ContactError(problems, f"entry {entry_id}")
        self._existing(entry_id)
        rows = self._store.append("contact", contact_row(entry_id, by.strip(), outcome, note))
        return contact_from(rows[0])

    def set_patient(
        self,
        patient_id: str,
        *,
        profile: str | Keep | None = KEEP,
        conditions: Iterable[str] | Keep = KEEP,
        by: str,
        note: str = "",
        age: int | Keep | None = KEEP,
    ) -> PatientRecord:
        """Append a record of the patient's profile, age (whole years) and conditions (report
        contract values), which every later check of the patient gets filled in. What is not
        given is kept from the current record; ``profile=None``, ``age=None`` or
        ``conditions=[]`` clears it. Raises UsageError for a value the contract does not accept,
        and for control characters in ``by``/``note``.
        """
        change = checked_change(
            patient_id, profile=profile, conditions=conditions, by=by, note=note, age=age
        )

        def build(head: Head) -> list[Row]:  # the current record is read in the same transaction
            return [change.row(head, self._store.latest_patient_row(change.patient_id))]

        return record_from(self._store.append("patient", build)[0], self.location)

    # -- read ----------------------------------------------------------------------------------

    def entries(self, filters: Filters | None = None, limit: int | None = 50) -> list[EntrySummary]:
        """Entries matching ``filters`` (default: all), newest first."""
        rows = self._store.summaries(_checked(filters), _bounded(limit))
        return [EntrySummary.from_row(row, row["last_verdict"]) for row in rows]

    def entry(self, entry_id: int) -> Entry:
        """One entry in full, with its reviews."""
        return self._full(self._existing(entry_id))

    def count(self, filters: Filters | None = None) -> int:
        """How many entries match ``filters`` (default: all)."""
        return self._store.count(_checked(filters))

    def worklist(
        self,
        filters: Filters | None = None,
        *,
        limit: int = 50,
        offset: int = 0,
        follow_up_hours: Mapping[str, float] | None = None,
        now: datetime | None = None,
        by_patient: bool = False,
        seen: int | None = None,
    ) -> Worklist:
        """A page of the worklist: with ``Filters(unreviewed=True)`` (the default), the
        unreviewed checks that need action: first the emergency and urgent ones of the 24 hours
        before ``now``, most urgent then newest first; then the rest, most urgent first, then
        oldest. With other filters, the matching entries newest first. Counts are over the whole
        log; ``follow_up_hours`` (a pack's ``follow_up``) gives each check its follow-up;
        ``by_patient`` gives one item per patient, their other open checks under it; entries
        with an id above ``seen`` are marked new."""
        return worklist.build(
            self._store,
            _checked(filters or Filters(unreviewed=True)),
            limit=limit,
            offset=offset,
            follow_up_hours=follow_up_hours or {},
            now=now or datetime.now(timezone.utc),
            by_patient=by_patient,
            seen=seen,
        )

    def worklist_version(self) -> Version:
        """What changes when the worklist may have: cheap to ask every few seconds."""
        return worklist.version(self._store)

    def session_checks(self, patient: str, session_id: str) -> list[EntrySummary]:
        """The patient's checks of one session, oldest first."""
        rows = self._store.session_rows(_patient(patient), session_id)
        return [EntrySummary.from_row(row, row["last_verdict"]) for row in rows]

    def timeline(self, patient: str, limit: int = 100) -> list[Entry]:
        """The patient's last ``limit`` checks in full, with their reviews, newest first."""
        rows = self._store.newest_of_patient(_patient(patient), _bound(limit))
        reviews: dict[int, list[Review]] = {row["id"]: [] for row in rows}
        for review_row in self._store.review_rows_of(list(reviews)):
            reviews[review_row["entry_id"]].append(_review(review_row))
        contacts: dict[int, list[Contact]] = {row["id"]: [] for row in rows}
        for contact_row_ in self._store.contact_rows_of(list(contacts)):
            contacts[contact_row_["entry_id"]].append(contact_from(contact_row_))
        return [
            self._full(row, tuple(reviews[row["id"]]), tuple(contacts[row["id"]])) for row in rows
        ]

    @property
    def access(self) -> Access:
        """Clinicians' accounts and API tokens (``triage serve``)."""
        return Access(self._store, self.location)

    @property
    def links(self) -> PatientLinks:
        """Patients' links to answer checks in a phone's browser (made by the clinic)."""
        from .links import PatientLinks

        return PatientLinks(self._store, str(self.location))

    @property
    def alerts(self) -> Alerts:
        """The clinicians' alert subscriptions and the outbox of alerts to deliver: each check
        recorded at a subscription's level or above gets its alert in its own transaction."""
        return Alerts(self._store)

    @property
    def cds_cards(self) -> ShownCards:
        """The cards the CDS Hooks service showed, for the EHR's feedback on them."""
        return ShownCards(self._store)

    @property
    def sessions(self) -> Sessions:
        """Clinicians' signed-in sessions (``triage serve``)."""
        return Sessions(self._store)

    @property
    def used_tokens(self) -> UsedTokens:
        """The CDS Hooks JWTs already used, until they expire."""
        return UsedTokens(self._store)

    def export(self, filters: Filters | None = None, limit: int | None = None) -> Iterator[Entry]:
        """Every matching entry in full, oldest first, one at a time (never all in memory)."""
        rows = self._store.entry_rows(_checked(filters), _bounded(limit))
        return (self._full(row) for row in rows)

    def export_rows(
        self, filters: Filters | None = None, limit: int | None = None, *, whole: bool = True
    ) -> Iterator[Row]:
        """Every matching entry as stored, oldest first, streamed, in one query, with what the
        exports take from its JSON and reviews (``Store.export_rows``): what
        ``export.write_export`` writes fastest, copying the stored JSON rather than parsing it.
        ``whole=False`` gives what a CSV export needs, without the decision and reviews."""
        for row in self._store.export_rows(_checked(filters), _bounded(limit), whole=whole):
            if whole and not row["json_ok"]:
                self._json(row, "decision_json")  # says which entry is damaged
            yield row

    def trend(self, patient: str, limit: int = 30) -> list[TrendPoint]:
        """The patient's last ``limit`` checks, oldest first: pain during and now, and outcome."""
        rows = self._store.newest_of_patient(_patient(patient), _bound(limit))
        points = []
        for row in reversed(rows):
            report = self._json(row, "report_json")
            points.append(
                TrendPoint(
                    row["reported_at"],
                    report.get("pain_during"),  # a check stopped early may not have them
                    report.get("pain_now"),
                    row["outcome"],
                    row["urgency"],
                    report.get("pain_before"),
                    row["id"],
                )
            )
        return points

    def history(
        self, patient: str, *, before: datetime, days: float, limit: int = 500
    ) -> list[Earlier]:
        """The patient's checks reported in the ``days`` before ``before``, oldest first, at most
        ``limit`` (the newest): what the history rules need, never the whole log. A window that
        reaches past the years the log can hold is cut at them."""
        since, end = days_before(before, days), stamp(before)
        rows = self._store.patient_window(_patient(patient), since, end, _bound(limit))
        return [self._earlier(row) for row in reversed(rows)]

    def checks_since(self, since: str) -> int:
        """How many entries were answered at or after the stamp ``since``."""
        return sum(row["entries"] for row in self._store.patient_counts(since))

    def patient_ranges(
        self, since: str, parts: int, total: int | None = None
    ) -> list[tuple[str, str, int]]:
        """The patients with entries answered at or after the stamp ``since``, cut into at most
        ``parts`` ranges of patient ids (first, last, entries) holding about as many such
        entries each: the units of work of a replay (a patient's checks stay together, for
        their history). ``total`` is ``checks_since(since)``, if known. Streams the patients,
        never holding them all."""
        total = self.checks_since(since) if total is None else total
        share = max(1, -(-total // max(1, parts)))
        ranges: list[tuple[str, str, int]] = []
        first, count, last = None, 0, ""
        for row in self._store.patient_counts(since):
            first = row["patient_id"] if first is None else first
            last, count = row["patient_id"], count + row["entries"]
            if count >= share:
                ranges.append((first, last, count))
                first, count = None, 0
        if first is not None:
            ranges.append((first, last, count))
        return ranges

    def patients_checks(self, first: str, last: str, since: str) -> Iterator[Row]:
        """The stored checks answered at or after the stamp ``since`` of the patients from
        ``first`` to ``last``, each patient's in the order they were answered (then recorded),
        streamed (see ``Store.patients_entries``)."""
        return self._store.patients_entries(first, last, since)

    def latest_session(self, patient: str) -> SessionRef | None:
        """The session of the patient's newest check, and when it ended (from its first report)."""
        newest = self._store.newest_of_patient(_patient(patient), 1)
        if not newest:
            return None
        first = self._store.first_of_session(patient, newest[0]["session_id"]) or newest[0]
        hours = self._json(first, "report_json")["hours_since_session"]
        answered = _answered(first["reported_at"])
        return SessionRef(first["session_id"], _ended(answered, hours), first["id"], answered)

    def patient(self, patient: str) -> PatientRecord | None:
        """The patient's current record (profile, age and conditions), or None if none was
        set."""
        row = self._store.latest_patient_row(_patient(patient))
        return None if row is None else record_from(row, self.location)

    def patient_history(self, patient: str) -> list[PatientRecord]:
        """Every record of the patient, oldest first: who changed what, and when."""
        return [
            record_from(row, self.location) for row in self._store.patient_rows(_patient(patient))
        ]

    def similar_patients(self, patient: str) -> list[str]:
        """The patient ids in the log close to ``patient``, the same letters in another case
        first (for suggestions)."""
        known = [p for p in self._store.patient_ids() if p != patient]
        folded = [p for p in known if p.casefold() == patient.casefold()]
        return folded or difflib.get_close_matches(patient, known, n=3, cutoff=0.6)

    def require_patient(self, patient: str) -> None:
        """Nothing if ``patient`` has entries or records in the log; otherwise a StorageError
        that says so and suggests the close ids (the same letters in another case first)."""
        if self._store.has_patient(_patient(patient)):
            return
        close = self.similar_patients(patient)
        hint = f"did you mean {' or '.join(visible(p) for p in close)}? " if close else ""
        raise NotFoundError(
            f"there is no patient {visible(patient[:100])} in the triage log {self.location}",
            str(self.location),
            f"{hint}patient ids are case-sensitive; 'triage log list' shows who is in the log",
        )

    # -- verify --------------------------------------------------------------------------------

    def verify(
        self,
        *,
        full: bool = False,
        public_key: str | None = None,
        checkpoints: Iterable[Checkpoint] = (),
    ) -> Verification:
        """Check the signed checkpoints and the hash chain; report the first bad record and
        every checkpoint the log no longer agrees with.

        The chain is walked from the latest checkpoint the log agrees with (so a re-verify after
        N new records costs O(N)), or from the start with ``full`` (which also runs the
        storage's whole integrity check), when there is no checkpoint, or when one disagrees.
        ``public_key`` (base64, ``load_public_key``) is the auditor's: checkpoints signed by
        any other key are forged. ``checkpoints`` are the auditor's copies, which must all
        still be in the log.
        """
        from . import checkpoints as signed

        stored = [signed.from_row(row) for row in self._store.checkpoints()]
        audit = signed.audit(stored, checkpoints, self._store.hash_at, public_key)
        start = None if full or audit.problems else audit.latest
        after = (start.size, start.head) if start else (0, chain.GENESIS)
        result = chain.verify(
            self._store.chain(after[0]),
            self._store.integrity(full=start is None),
            after=after,
            floors=audit.floors,
        )
        latest = audit.latest
        return replace(
            result,
            checkpoint=None
            if latest is None
            else {"size": latest.size, "head": latest.head, "time": latest.time,
                  "key": latest.key_id},
            checkpoints=audit.count,
            checkpoint_problems=audit.problems,
            keys=audit.keys,
            public_key=None if public_key is None else signed.key_id(public_key),
            backend=self.backend,
        )  # fmt: skip

    def checkpoint(
        self, key_file: str | Path, *, append_to: str | Path | None = None
    ) -> Checkpoint:
        """Sign the head of the log with the Ed25519 key in ``key_file`` and store the checkpoint
        in the log (and append it to the auditor's file ``append_to``), once the records since
        the latest checkpoint verify: a checkpoint never vouches for a broken chain."""
        from . import checkpoints as signed

        private = signed.load_signing_key(Path(key_file))
        result = self._verified(full=False, refused="signed")
        # what was verified, not the head now: records appended meanwhile wait for the next one
        checkpoint = signed.sign(private, result.size, result.head, datetime.now(timezone.utc))
        self._store.add_checkpoint(checkpoint.row)
        if append_to is not None:
            signed.append_to_file(Path(append_to), checkpoint)
        return checkpoint

    def copy_to(self, target: TriageLog) -> Verification:
        """Copy every record (entries, reviews, patient records), checkpoint, clinician's
        account, API token and card shown by the CDS Hooks service into ``target``, an empty
        log, once this log verifies in full; returns the copy's full verification, whose head
        is this log's."""
        source = self._verified(full=True, refused="copied")
        if target._store.head()[0] != 0 or any(target._store.all_rows(t) for t in BESIDE):
            raise StorageError(
                f"the triage log {target.location} is not empty: a log is copied into a new one",
                target.location,
                "give the URL or path of a new, empty log with --to",
            )
        target._store.extend(self._store.chain())
        for row in self._store.checkpoints():
            target._store.add_checkpoint(partial(_renumbered, row))
        for table in BESIDE:  # with their ids ('triage token revoke ID', the cards' reviews)
            for row in self._store.all_rows(table):
                target._store.add_row(table, row)
        copied = target.verify(full=True)
        if copied.head != source.head:  # pragma: no cover - extend checks every record
            raise StorageError(
                f"the copy in {target.location} ends at {copied.head}, not {source.head}",
                target.location,
            )
        return copied

    # -- helpers -------------------------------------------------------------------------------

    def _verified(self, *, full: bool, refused: str) -> Verification:
        """This log's verification; a StorageError saying what is ``refused`` unless it is ok."""
        result = self.verify(full=full)
        if not result.ok:
            raise StorageError(
                f"the triage log {self.location} does not verify, so it is not {refused}: "
                + (result.first_bad or "; ".join(result.checkpoint_problems) or result.integrity),
                self.location,
                "run 'triage log verify --full' on it; restore it from a backup",
            )
        return result

    def _existing(self, entry_id: int) -> Row:
        row = self._store.entry_row(entry_id) if 1 <= entry_id <= MAX_ID else None
        if row is None:
            raise NotFoundError(
                f"there is no entry {entry_id} in {self.location}",
                str(self.location),
                "'triage log list' shows the entry ids",
            )
        return row

    def _earlier(self, row: Row) -> Earlier:
        from ..contract.reading import readable_answers  # the report models load only with history

        stored = self._json(row, "report_json")
        answers = readable_answers(stored, row["contract_version"])
        answers["session_id"] = row["session_id"]  # the log's session id
        return Earlier(answers, row["outcome"], row["urgency"])

    def _json(self, row: Row, column: str) -> Any:
        try:
            return json.loads(row[column])
        except (TypeError, ValueError):
            raise StorageError(
                f"entry {row['id']} in {self.location} holds damaged JSON in {column}",
                str(self.location),
                "run 'triage log verify' to see whether it was edited; restore it from a backup",
            ) from None

    def _full(
        self,
        row: Row,
        reviews: tuple[Review, ...] | None = None,
        contacts: tuple[Contact, ...] | None = None,
    ) -> Entry:
        if reviews is None:
            reviews = tuple(_review(r) for r in self._store.review_rows(row["id"]))
        if contacts is None:
            contacts = tuple(contact_from(r) for r in self._store.contact_rows_of([row["id"]]))
        summary = EntrySummary.from_row(row, reviews[-1].verdict if reviews else None)
        return Entry(
            **vars(summary),
            report=self._json(row, "report_json"),
            decision=self._json(row, "decision_json"),
            pack={
                "name": row["pack_name"],
                "version": row["pack_version"],
                "sha256": row["pack_sha256"],
            },
            engine={"name": row["engine_name"], "version": row["engine_version"]},
            program_version=row["program_version"],
            contract_version=row["contract_version"],
            reviews=reviews,
            contacts=contacts,
            channel=row["channel"],
            hash=row["hash"],
            form=row["form"],
            stored=row,
        )


BESIDE = ("clinicians", "api_tokens", "patient_links", "cds_cards")
"""The tables beside the chain that a copy carries over."""


def _renumbered(row: Row, new_id: int) -> Row:
    return {**row, "id": new_id}


def _bound(limit: int) -> int:
    """A limit the storage can take: at most the largest id (more means all)."""
    return max(0, min(limit, MAX_ID))


def _bounded(limit: int | None) -> int | None:
    return None if limit is None else _bound(limit)


def _checked(filters: Filters | None) -> Filters:
    return (filters or Filters()).checked()


def _patient(patient: str) -> str:
    return plain_text("patient", patient, controls=True)


def _answered(reported_at: str) -> datetime:
    """A stored ``reported_at`` as a moment (UTC)."""
    return datetime.fromisoformat(reported_at.replace("Z", "+00:00"))


def _ended(answered: datetime, hours: float) -> datetime:
    try:
        return answered - timedelta(hours=hours)
    except OverflowError:
        return datetime.fromisoformat(MIN_STAMP.replace("Z", "+00:00"))


def _review(row: Row) -> Review:
    return Review(
        row["id"],
        row["entry_id"],
        row["reviewed_at"],
        row["reviewer"],
        row["verdict"],
        row["note"],
        row.get("reason") or "",
    )


def _compact(value: Any) -> str:
    """JSON as stored: in the contract's order, for people reading it; the hash covers the text."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _channel(channel: str) -> str:
    if channel not in CHANNELS:
        raise ValueError(f"{channel!r} is not a channel: one of {list(CHANNELS)}")
    return channel


def _entries(decisions: list[Decision], channel: str) -> Callable[[Head], list[Row]]:
    """What appends ``decisions``: their entries, chained from the head."""

    def build(head: Head) -> list[Row]:
        rows, prev = [], head.hash
        for offset, decision in enumerate(decisions):
            row = _entry_row(decision, head.next_id + offset, head.seq + offset + 1, prev)
            row["channel"] = channel
            row["hash"] = prev = chain.record_hash("entry", row)
            rows.append(row)
        return rows

    return build


def _stopped(warning: EarlyWarning, channel: str) -> Callable[[Head], list[Row]]:
    """What appends the check stopped early by ``warning`` (UsageError when it does not say
    who the patient is and when the session ended)."""
    answers = dict(warning.answers)
    if not isinstance(answers.get("patient_id"), str) or not isinstance(
        answers.get("hours_since_session"), (int, float)
    ):
        raise UsageError(
            "a check stopped early is recorded only once the patient and the end of the "
            "session are known",
            "ask the patient id and when the session ended first",
        )
    _patient(answers["patient_id"])
    answers.setdefault("reported_at", now_utc())
    data = {**warning.to_dict(), "report": answers}

    def build(head: Head) -> list[Row]:
        row = _stopped_row(warning, data, head.next_id, head.seq + 1, head.hash)
        row["channel"] = channel
        row["hash"] = chain.record_hash("entry", row)
        return [row]

    return build


def _entry_row(decision: Decision, entry_id: int, seq: int, prev: str) -> Row:
    from ..contract.report import answers_of

    data = decision.to_dict()
    alerts = [r for r in decision.reasons if r.outcome != "continue"]
    row = _row(entry_id, seq, prev, decision, answers_of(data["report"]), data)
    row["reported_at"] = stamp(decision.report.reported_at)
    row["top_reason"] = alerts[0].title if alerts else ""
    return row


STOPPED_EARLY = "Stopped early: "
"""How the top reason of a check stopped early begins (in ``triage log list``)."""


def _stopped_row(
    warning: EarlyWarning, data: dict[str, Any], entry_id: int, seq: int, prev: str
) -> Row:
    answers = data["report"]
    row = _row(entry_id, seq, prev, warning, answers, data)
    moment = datetime.fromisoformat(str(answers["reported_at"]).replace("Z", "+00:00"))
    row["reported_at"] = stamp(moment)
    row["top_reason"] = STOPPED_EARLY + warning.reasons[0].title
    return row


def _row(
    entry_id: int,
    seq: int,
    prev: str,
    decided: Decision | EarlyWarning,
    answers: dict[str, Any],
    decision_json: dict[str, Any],
) -> Row:
    """The stored row of a check (a decision, or a check stopped early), but for when it was
    answered and its top reason, which each kind says in its own way."""
    from ..contract.report import CONTRACT_VERSION

    engine = decided.engine if isinstance(decided.engine, dict) else decided.engine.model_dump()
    return {
        "id": entry_id,
        "seq": seq,
        "recorded_at": now_utc(),
        "reported_at": None,
        "patient_id": answers["patient_id"],
        "session_id": answers.get("session_id") or new_session_id(),
        "outcome": decided.outcome,
        "urgency": decided.urgency,
        "top_reason": None,
        "pack_name": decided.rule_pack.name,
        "pack_version": decided.rule_pack.version,
        "pack_sha256": decided.rule_pack.sha256,
        "engine_name": engine["name"],
        "engine_version": engine["version"],
        "program_version": __version__,
        "report_json": _compact(answers),
        "decision_json": _compact(decision_json),
        "prev_hash": prev,
        "form": chain.CURRENT_FORM,
        "contract_version": CONTRACT_VERSION,
    }
