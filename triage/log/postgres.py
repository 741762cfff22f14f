"""The PostgreSQL backend of the triage log: one shared log for many app servers.

psycopg 3 with a connection pool; plain SQL with bound parameters; every table in the schema
``triage``. The schema moves forward by numbered migrations recorded in ``triage.migrations``,
applied by the database's owner under an advisory lock (one at a time, whoever comes first).

One chain, many writers: an append locks the one row of ``triage.chain_head`` (``SELECT ... FOR
UPDATE``), so writers on any host queue there; the ids and the chain position come from that
head, never from a sequence (a rolled-back sequence value would leave a gap). A trigger on every
record table refuses a row that does not continue the head (its ``seq`` one more, its
``prev_hash`` the head's hash) and moves the head on, in the same transaction: the database itself
keeps the chain gap-free. Records are stored as the canonical text that was hashed (``TEXT``
with the "C" collation, never ``jsonb``, which reorders keys).

Append-only: triggers refuse ``UPDATE``, ``DELETE`` and ``TRUNCATE`` on the record tables and
the checkpoints for everyone, and the role the app servers use, ``triage_writer``, is granted only
``SELECT`` and ``INSERT`` there (and the head row it locks). Only a superuser or the tables' owner
can get round that; signed checkpoints (``checkpoints.py``) are what catch them.

Beside the chain (migration 2, as SQLite's migration 4): the worklist and its tally, kept by
triggers on the entries and reviews in the transaction of each append (they run as the owner:
the app's role may only read them; ``verify`` checks them against the chain); and the clinicians'
accounts and API tokens, which are not records of the chain but are changed in place (a new
password, a revocation), so the app's role may insert and update them, never delete them. What
only lasts a while (migration 4, as SQLite's 7: clinicians' sessions, used CDS Hooks JWT ids,
idempotency keys) the app's role may also delete, when it ends or expires.
"""

from __future__ import annotations

import dataclasses
import heapq
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, suppress
from itertools import groupby
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

from ..errors import StorageError
from ..extras import needs
from . import sql as queries
from . import writer as writers
from .chain import GENESIS
from .records import (
    CSV_STORED,
    MAX_ID,
    TABLES,
    Filters,
    Kind,
    Review,
    Row,
    names,
    now_utc,
)
from .store import Head, Once, Recent

if TYPE_CHECKING:
    import psycopg
    from psycopg_pool import ConnectionPool

SCHEMA = "triage"
D = queries.POSTGRES
WRITER = "triage_writer"
"""The role the app servers' logins are members of: SELECT and INSERT, nothing more."""

FETCH_BATCH = 500
POOL_SIZE = 4
CONNECT_TIMEOUT_S = 10
MIGRATION_LOCK = 0x7472696167650001
"""The advisory lock key under which migrations run ('triage' and 1)."""

RECORD_TABLES = tuple(TABLES.values())
FIRST_RECORD_TABLES = ("entries", "reviews", "patients")
"""The chained tables migration 1 made (frozen: a shipped migration never changes)."""
FIRST_APPEND_ONLY = (*FIRST_RECORD_TABLES, "checkpoints")

_TEXT = 'TEXT COLLATE "C"'


def _append_only(table: str) -> str:
    return f"""
        CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE OR TRUNCATE
            ON triage.{table} FOR EACH STATEMENT EXECUTE FUNCTION triage.refuse_change();
    """


def _chained(table: str) -> str:
    return f"""
        CREATE TRIGGER {table}_chain BEFORE INSERT ON triage.{table}
            FOR EACH ROW EXECUTE FUNCTION triage.continue_chain();
    """


MIGRATIONS: tuple[tuple[str, str], ...] = (
    (
        "the triage log: entries, reviews and patient records on one chain; checkpoints",
        f"""
        CREATE TABLE triage.entries (
            id               BIGINT PRIMARY KEY,
            seq              BIGINT NOT NULL UNIQUE,
            recorded_at      {_TEXT} NOT NULL,
            reported_at      {_TEXT} NOT NULL,
            patient_id       {_TEXT} NOT NULL,
            session_id       {_TEXT} NOT NULL,
            outcome          {_TEXT} NOT NULL,
            urgency          {_TEXT},
            top_reason       {_TEXT} NOT NULL,
            pack_name        {_TEXT} NOT NULL,
            pack_version     {_TEXT} NOT NULL,
            pack_sha256      {_TEXT} NOT NULL,
            engine_name      {_TEXT} NOT NULL,
            engine_version   {_TEXT} NOT NULL,
            program_version  {_TEXT} NOT NULL,
            report_json      {_TEXT} NOT NULL,
            decision_json    {_TEXT} NOT NULL,
            prev_hash        {_TEXT} NOT NULL,
            hash             {_TEXT} NOT NULL,
            form             INTEGER NOT NULL,
            contract_version {_TEXT} NOT NULL
        );
        CREATE INDEX entries_by_patient ON triage.entries (patient_id, id);
        CREATE INDEX entries_by_patient_time ON triage.entries (patient_id, reported_at);
        CREATE INDEX entries_by_outcome ON triage.entries (outcome, id);
        CREATE INDEX entries_by_urgency ON triage.entries (outcome, urgency, id);
        CREATE INDEX entries_by_session ON triage.entries (session_id, id);
        CREATE INDEX entries_by_time ON triage.entries (reported_at);
        CREATE TABLE triage.reviews (
            id          BIGINT PRIMARY KEY,
            seq         BIGINT NOT NULL UNIQUE,
            entry_id    BIGINT NOT NULL REFERENCES triage.entries (id),
            reviewed_at {_TEXT} NOT NULL,
            reviewer    {_TEXT} NOT NULL,
            verdict     {_TEXT} NOT NULL CHECK (verdict IN ('accepted', 'overridden')),
            note        {_TEXT} NOT NULL,
            prev_hash   {_TEXT} NOT NULL,
            hash        {_TEXT} NOT NULL,
            form        INTEGER NOT NULL
        );
        CREATE INDEX reviews_by_entry ON triage.reviews (entry_id, id);
        CREATE TABLE triage.patients (
            id              BIGINT PRIMARY KEY,
            seq             BIGINT NOT NULL UNIQUE,
            patient_id      {_TEXT} NOT NULL,
            set_at          {_TEXT} NOT NULL,
            set_by          {_TEXT} NOT NULL,
            profile         {_TEXT},
            conditions_json {_TEXT} NOT NULL,
            note            {_TEXT} NOT NULL,
            prev_hash       {_TEXT} NOT NULL,
            hash            {_TEXT} NOT NULL,
            form            INTEGER NOT NULL
        );
        CREATE INDEX patients_by_patient ON triage.patients (patient_id, id);
        CREATE TABLE triage.checkpoints (
            id         BIGINT PRIMARY KEY,
            size       BIGINT NOT NULL,
            head       {_TEXT} NOT NULL,
            signed_at  {_TEXT} NOT NULL,
            public_key {_TEXT} NOT NULL,
            signature  {_TEXT} NOT NULL
        );
        CREATE TABLE triage.chain_head (
            one  BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
            seq  BIGINT NOT NULL,
            hash {_TEXT} NOT NULL
        );
        INSERT INTO triage.chain_head (seq, hash) VALUES (0, '{GENESIS}');
        CREATE FUNCTION triage.continue_chain() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE triage.chain_head SET seq = NEW.seq, hash = NEW.hash
                WHERE seq = NEW.seq - 1 AND hash = NEW.prev_hash;
            IF NOT FOUND THEN
                RAISE EXCEPTION 'record % does not continue the chain of the triage log', NEW.seq
                    USING ERRCODE = 'integrity_constraint_violation';
            END IF;
            RETURN NEW;
        END $$;
        CREATE FUNCTION triage.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'the triage log is append-only: % of triage.% is refused',
                TG_OP, TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
        END $$;
        {"".join(_chained(t) for t in FIRST_RECORD_TABLES)}
        {"".join(_append_only(t) for t in FIRST_APPEND_ONLY)}
        GRANT USAGE ON SCHEMA triage TO {WRITER};
        GRANT SELECT, INSERT ON {", ".join(f"triage.{t}" for t in FIRST_APPEND_ONLY)} TO {WRITER};
        GRANT SELECT, UPDATE (seq, hash) ON triage.chain_head TO {WRITER};
        GRANT SELECT ON triage.migrations TO {WRITER};
        """,
    ),
    (
        "triage serve: override reasons, clinician accounts, API tokens, and the worklist",
        f"""
        ALTER TABLE triage.reviews ADD COLUMN reason {_TEXT} NOT NULL DEFAULT '';
        CREATE TABLE triage.clinicians (
            id            BIGINT PRIMARY KEY,
            name          {_TEXT} NOT NULL UNIQUE,
            password_hash {_TEXT} NOT NULL,
            time_zone     {_TEXT} NOT NULL,
            created_at    {_TEXT} NOT NULL,
            disabled_at   {_TEXT}
        );
        CREATE TABLE triage.api_tokens (
            id         BIGINT PRIMARY KEY,
            app        {_TEXT} NOT NULL,
            token_hash {_TEXT} NOT NULL UNIQUE,
            prefix     {_TEXT} NOT NULL,
            created_at {_TEXT} NOT NULL,
            revoked_at {_TEXT}
        );
        CREATE TABLE triage.worklist (
            entry_id    BIGINT PRIMARY KEY REFERENCES triage.entries (id),
            severity    INTEGER NOT NULL,
            reported_at {_TEXT} NOT NULL,
            patient_id  {_TEXT} NOT NULL,
            next_at     {_TEXT}
        );
        CREATE INDEX worklist_by_urgency ON triage.worklist (severity DESC, reported_at, entry_id);
        CREATE INDEX worklist_by_patient
            ON triage.worklist (patient_id, severity DESC, reported_at);
        CREATE INDEX worklist_waiting
            ON triage.worklist (severity, reported_at) WHERE next_at IS NULL;
        CREATE TABLE triage.worklist_tally (
            severity INTEGER PRIMARY KEY,
            checks   BIGINT NOT NULL
        );
        CREATE FUNCTION triage.severity(outcome TEXT, urgency TEXT) RETURNS INTEGER
            LANGUAGE sql IMMUTABLE AS $$
            SELECT CASE outcome || '/' || coalesce(urgency, '')
                WHEN 'continue/' THEN 0
                WHEN 'reduce_load/' THEN 1
                WHEN 'seek_medical_review/routine' THEN 2
                WHEN 'seek_medical_review/same_day' THEN 3
                WHEN 'seek_medical_review/urgent' THEN 4
                WHEN 'seek_medical_review/emergency' THEN 5
                ELSE 5
            END
        $$;
        INSERT INTO triage.worklist (entry_id, severity, reported_at, patient_id, next_at)
            SELECT e.id, triage.severity(e.outcome, e.urgency), e.reported_at, e.patient_id,
                   (SELECT min(n.reported_at) FROM triage.entries n
                    WHERE n.patient_id = e.patient_id AND n.reported_at > e.reported_at)
            FROM triage.entries e
            WHERE e.outcome <> 'continue'
              AND NOT EXISTS (SELECT 1 FROM triage.reviews r WHERE r.entry_id = e.id);
        INSERT INTO triage.worklist_tally (severity, checks)
            SELECT severity, count(*) FROM triage.worklist GROUP BY severity;
        CREATE FUNCTION triage.worklist_entry() RETURNS trigger LANGUAGE plpgsql
            SECURITY DEFINER SET search_path = triage, pg_temp AS $$
        DECLARE
            level INTEGER;
        BEGIN
            UPDATE triage.worklist SET next_at = NEW.reported_at
                WHERE patient_id = NEW.patient_id AND reported_at < NEW.reported_at
                  AND (next_at IS NULL OR next_at > NEW.reported_at);
            IF NEW.outcome <> 'continue' THEN
                level := triage.severity(NEW.outcome, NEW.urgency);
                INSERT INTO triage.worklist (entry_id, severity, reported_at, patient_id, next_at)
                    VALUES (NEW.id, level, NEW.reported_at, NEW.patient_id,
                            (SELECT min(n.reported_at) FROM triage.entries n
                             WHERE n.patient_id = NEW.patient_id
                               AND n.reported_at > NEW.reported_at));
                INSERT INTO triage.worklist_tally AS t (severity, checks) VALUES (level, 1)
                    ON CONFLICT (severity) DO UPDATE SET checks = t.checks + 1;
            END IF;
            RETURN NULL;
        END $$;
        CREATE FUNCTION triage.worklist_review() RETURNS trigger LANGUAGE plpgsql
            SECURITY DEFINER SET search_path = triage, pg_temp AS $$
        DECLARE
            level INTEGER;
        BEGIN
            DELETE FROM triage.worklist WHERE entry_id = NEW.entry_id RETURNING severity INTO level;
            IF FOUND THEN
                UPDATE triage.worklist_tally SET checks = checks - 1 WHERE severity = level;
            END IF;
            RETURN NULL;
        END $$;
        CREATE TRIGGER entries_worklist AFTER INSERT ON triage.entries
            FOR EACH ROW EXECUTE FUNCTION triage.worklist_entry();
        CREATE TRIGGER reviews_worklist AFTER INSERT ON triage.reviews
            FOR EACH ROW EXECUTE FUNCTION triage.worklist_review();
        GRANT SELECT, INSERT, UPDATE ON triage.clinicians, triage.api_tokens TO {WRITER};
        GRANT SELECT ON triage.worklist, triage.worklist_tally TO {WRITER};
        """,
    ),
    (
        "CDS Hooks: the cards shown in an EHR, for the feedback on them",
        f"""
        CREATE TABLE triage.cds_cards (
            id        BIGINT PRIMARY KEY,
            card      {_TEXT} NOT NULL UNIQUE,
            entry_id  BIGINT NOT NULL REFERENCES triage.entries (id),
            clinician {_TEXT} NOT NULL,
            shown_at  {_TEXT} NOT NULL,
            verdict   {_TEXT},
            review_id BIGINT REFERENCES triage.reviews (id)
        );
        GRANT SELECT, INSERT, UPDATE ON triage.cds_cards TO {WRITER};
        """,
    ),
    (
        "sessions that end, JWTs used once, checks recorded once per idempotency key",
        f"""
        CREATE TABLE triage.web_sessions (
            id          BIGINT PRIMARY KEY,
            secret_hash {_TEXT} NOT NULL UNIQUE,
            clinician   {_TEXT} NOT NULL REFERENCES triage.clinicians (name),
            started_at  {_TEXT} NOT NULL,
            seen_at     {_TEXT} NOT NULL
        );
        CREATE INDEX web_sessions_by_clinician ON triage.web_sessions (clinician);
        CREATE TABLE triage.used_jtis (
            jti_hash   {_TEXT} PRIMARY KEY,
            expires_at {_TEXT} NOT NULL
        );
        CREATE INDEX used_jtis_by_expiry ON triage.used_jtis (expires_at);
        CREATE TABLE triage.idempotency_keys (
            key_hash   {_TEXT} PRIMARY KEY,
            body_hash  {_TEXT} NOT NULL,
            entry_id   BIGINT NOT NULL REFERENCES triage.entries (id),
            created_at {_TEXT} NOT NULL
        );
        CREATE INDEX idempotency_keys_by_time ON triage.idempotency_keys (created_at);
        GRANT SELECT, INSERT, UPDATE, DELETE ON triage.web_sessions TO {WRITER};
        GRANT SELECT, INSERT, DELETE ON triage.used_jtis, triage.idempotency_keys TO {WRITER};
        """,
    ),
    (
        "the patient's age on the patient records (canonical form 4)",
        """
        ALTER TABLE triage.patients ADD COLUMN age INTEGER;
        """,
    ),
    (
        "alerts: clinicians' subscriptions, and an outbox filled with each check that needs one",
        f"""
        CREATE TABLE triage.alert_subscriptions (
            id           BIGINT PRIMARY KEY,
            kind         {_TEXT} NOT NULL CHECK (kind IN ('email', 'webhook')),
            target       {_TEXT} NOT NULL,
            secret       {_TEXT},
            min_severity INTEGER NOT NULL,
            created_at   {_TEXT} NOT NULL,
            removed_at   {_TEXT}
        );
        CREATE TABLE triage.alert_outbox (
            id              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
            subscription_id BIGINT NOT NULL REFERENCES triage.alert_subscriptions (id),
            entry_id        BIGINT NOT NULL REFERENCES triage.entries (id),
            created_at      {_TEXT} NOT NULL,
            status          {_TEXT} NOT NULL
                CHECK (status IN ('pending', 'delivered', 'failed', 'cancelled')),
            attempts        INTEGER NOT NULL,
            due_at          {_TEXT} NOT NULL,
            claimed_by      {_TEXT},
            last_error      {_TEXT},
            last_attempt_at {_TEXT},
            delivered_at    {_TEXT}
        );
        CREATE INDEX alert_outbox_due ON triage.alert_outbox (status, due_at);
        CREATE INDEX alert_outbox_by_entry ON triage.alert_outbox (entry_id);
        GRANT SELECT, INSERT, UPDATE ON triage.alert_subscriptions, triage.alert_outbox
            TO {WRITER};
        GRANT USAGE ON SEQUENCE triage.alert_outbox_id_seq TO {WRITER};
        """,
    ),
    (
        "contacts with patients on the chain, what each clinician last saw of the worklist, and "
        "patients' links to answer checks on a phone",
        f"""
        CREATE TABLE triage.contacts (
            id           BIGINT PRIMARY KEY,
            seq          BIGINT NOT NULL UNIQUE,
            entry_id     BIGINT NOT NULL REFERENCES triage.entries (id),
            contacted_at {_TEXT} NOT NULL,
            contacted_by {_TEXT} NOT NULL,
            outcome      {_TEXT} NOT NULL,
            note         {_TEXT} NOT NULL,
            prev_hash    {_TEXT} NOT NULL,
            hash         {_TEXT} NOT NULL,
            form         INTEGER NOT NULL
        );
        CREATE INDEX contacts_by_entry ON triage.contacts (entry_id, id);
        {_chained("contacts")}
        {_append_only("contacts")}
        GRANT SELECT, INSERT ON triage.contacts TO {WRITER};
        ALTER TABLE triage.clinicians ADD COLUMN seen_entry BIGINT;
        ALTER TABLE triage.entries ADD COLUMN channel {_TEXT} NOT NULL DEFAULT '';
        CREATE TABLE triage.patient_links (
            id           BIGINT PRIMARY KEY,
            patient_id   {_TEXT} NOT NULL,
            token_hash   {_TEXT} NOT NULL UNIQUE,
            prefix       {_TEXT} NOT NULL,
            created_at   {_TEXT} NOT NULL,
            created_by   {_TEXT} NOT NULL,
            expires_at   {_TEXT} NOT NULL,
            revoked_at   {_TEXT},
            last_used_at {_TEXT}
        );
        CREATE INDEX patient_links_by_patient ON triage.patient_links (patient_id, id);
        GRANT SELECT, INSERT, UPDATE ON triage.patient_links TO {WRITER};
        """,
    ),
)
"""Numbered from 1, in order. Never edit one that has shipped: add the next."""

_SECRET_OPTIONS = {"password", "sslpassword", "passfile"}


def shown_url(url: str) -> str:
    """The URL as messages show it: no password, in the netloc or the options."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        user, host = netloc.rsplit("@", 1)
        netloc = f"{user.split(':', 1)[0]}@{host}"
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True)]
    kept = urlencode([(k, v) for k, v in query if k not in _SECRET_OPTIONS], safe="/")
    return urlunsplit((parts.scheme, netloc, parts.path, kept, ""))


def _secrets(url: str) -> list[str]:
    """The passwords a URL holds, to be scrubbed from any message."""
    parts = urlsplit(url)
    found = [unquote(parts.password)] if parts.password else []
    found += [v for k, v in parse_qsl(parts.query) if k in _SECRET_OPTIONS and v]
    return [s for s in found if s]


class PostgresStore:
    """The triage log in a PostgreSQL database (see ``store.Store``)."""

    backend = "PostgreSQL"

    def __init__(self, pool: ConnectionPool[Any], url: str, created: bool) -> None:
        self.pool = pool
        self.url = url
        self.location = shown_url(url)
        self.created = created
        self._local = threading.local()

    @classmethod
    def open(cls, url: str, *, create: bool) -> PostgresStore:
        """Connect to the log at ``url`` and bring its schema up to date; with ``create``, an
        empty database gets a new log (only its owner may start one)."""
        psycopg, pool_module = _drivers()
        location = shown_url(url)
        try:
            with psycopg.connect(url, connect_timeout=CONNECT_TIMEOUT_S) as conn:
                created = _migrate(conn, location, create=create)
        except psycopg.Error as exc:
            raise _storage_error(url, exc, "open") from None
        pool = pool_module.ConnectionPool(
            url,
            min_size=1,
            max_size=POOL_SIZE,
            kwargs={"connect_timeout": CONNECT_TIMEOUT_S},
            check=pool_module.ConnectionPool.check_connection,  # after a restart: not a dead one
            open=False,
            name="triage-log",
        )
        pool.open(wait=False)
        return cls(pool, url, created)

    def close(self) -> None:
        self.pool.close()

    # -- errors --------------------------------------------------------------------------------

    @contextmanager
    def _errors(self, action: str, passed: tuple[type[BaseException], ...] = ()) -> Iterator[None]:
        """Failures of the server or the database as StorageErrors (those of ``passed`` as
        they are, for the caller to say more)."""
        import psycopg

        try:
            yield
        except passed:
            raise
        except psycopg.Error as exc:
            raise _storage_error(self.url, exc, action) from None
        except _pool_errors() as exc:
            raise _storage_error(self.url, exc, action) from None

    @contextmanager
    def _connection(self, action: str) -> Iterator[psycopg.Connection[Any]]:
        """The connection of the append in progress on this thread, or one from the pool."""
        current = getattr(self._local, "conn", None)
        if current is not None:
            yield current
            return
        with self._errors(action), self.pool.connection() as conn:
            yield conn

    # -- append --------------------------------------------------------------------------------

    def append(
        self, kind: Kind, build: Callable[[Head], list[Row]], once: Once | None = None
    ) -> list[Row]:
        # this process's appends queue on its writer's lock, holding no connection of the pool,
        # before the head's row lock (where other processes' queue too)
        with self._writer().exclusive(), self._write() as conn:
            seq, last = self._lock_head(conn)  # keyed appends queue here too: one sees the other
            if once is not None and _key_taken(conn, once):
                return []
            next_id = _one(conn.execute(queries.next_id(D, TABLES[kind])))
            rows = build(Head(seq, last, next_id))
            self._insert(conn, kind, rows)
            if kind == "entry":  # the alerts the checks need, in their transaction
                for row in rows:
                    conn.execute(*queries.enqueue_alerts(D, row))
            if once is not None:
                conn.execute(*queries.insert_key(D, once, rows[0]["id"]))
            return rows

    def extend(self, records: Iterable[tuple[Kind, Row]]) -> int:
        count = 0
        with self._write() as conn:
            self._lock_head(conn)
            for kind, group in groupby(records, key=lambda item: item[0]):
                rows = [row for _, row in group]
                self._insert(conn, kind, rows)
                count += len(rows)
        return count

    def add_checkpoint(self, build: Callable[[int], Row]) -> Row:
        with self._write() as conn:
            row = build(_one(conn.execute(queries.next_id(D, "checkpoints"))))
            conn.execute(*queries.insert_checkpoint(D, row))
            return row

    def _writer(self) -> writers.Writer:
        """This process's one writer of the database (``writer.py``), for its lock."""
        found: tuple[int, writers.Writer] | None = getattr(self, "_found_writer", None)
        if found is None or found[0] != writers.generation:  # first use, or a child after a fork
            found = (writers.generation, writers.writer_for(f"postgresql\0{self.location}"))
            self._found_writer = found
        return found[1]

    @staticmethod
    def _lock_head(conn: psycopg.Connection[Any]) -> tuple[int, str]:
        """Lock the head of the chain until the transaction ends: writers queue here."""
        row = conn.execute("SELECT seq, hash FROM triage.chain_head FOR UPDATE").fetchone()
        if row is None:
            raise _not_a_log_error()
        return int(row[0]), str(row[1])

    @staticmethod
    def _insert(conn: psycopg.Connection[Any], kind: Kind, rows: list[Row]) -> None:
        insert, columns = queries.insert_records(D, kind)
        with conn.cursor() as cursor:
            cursor.executemany(insert, [[row[c] for c in columns] for row in rows])

    @contextmanager
    def _write(self) -> Iterator[psycopg.Connection[Any]]:
        """One write transaction; reads made meanwhile on this thread see it."""
        with self._errors("write"), self.pool.connection() as conn, conn.transaction():
            self._local.conn = conn
            try:
                yield conn
            finally:
                self._local.conn = None

    # -- read ----------------------------------------------------------------------------------

    def _all(self, sql: str, params: Sequence[Any] = ()) -> list[Row]:
        if _has_nul(params):  # PostgreSQL text cannot hold NUL: nothing stored has one
            return []
        from psycopg.rows import dict_row

        with self._connection("read") as conn, self._errors("read"):
            cursor = conn.cursor(row_factory=dict_row)
            return list(cursor.execute(sql, list(params)).fetchall())

    def _stream(
        self, sql: str, params: Sequence[Any] = (), passed: tuple[type[BaseException], ...] = ()
    ) -> Iterator[Row]:
        """The rows of one query, fetched in batches by a server-side cursor."""
        if _has_nul(params):
            return
        from psycopg.rows import dict_row

        with (
            self._errors("read", passed),
            self.pool.connection() as conn,
            conn.cursor(name="triage_stream", row_factory=dict_row) as cursor,
        ):
            cursor.itersize = FETCH_BATCH
            cursor.execute(sql, list(params))
            yield from cursor

    def summaries(self, filters: Filters, limit: int | None, offset: int = 0) -> list[Row]:
        return self._all(*queries.summaries(D, filters, limit, offset))

    def count(self, filters: Filters) -> int:
        return _count(self._all(*queries.count(D, filters)))

    def session_rows(self, patient: str, session_id: str) -> list[Row]:
        return self._all(*queries.session_rows(D, patient, session_id))

    def review_rows_of(self, entry_ids: list[int]) -> list[Row]:
        return self._all(*queries.review_rows_of(D, entry_ids)) if entry_ids else []

    def contact_rows_of(self, entry_ids: list[int]) -> list[Row]:
        return self._all(*queries.contact_rows_of(D, entry_ids)) if entry_ids else []

    def next_check_after(self, patient: str, after: str) -> str | None:
        found = self._all(*queries.next_check_after(D, patient, after))
        return found[0]["next_at"] if found else None

    # -- the worklist (kept by the triggers of migration 2, in each append's transaction) ------

    def worklist_rows(
        self,
        filters: Filters,
        limit: int,
        offset: int,
        recent: Recent | None = None,
        first: bool = False,
    ) -> list[Row]:
        return self._all(*queries.worklist_rows(D, filters, limit, offset, recent, first))

    def worklist_count(
        self, filters: Filters, recent: Recent | None = None, first: bool = False
    ) -> int:
        return _count(self._all(*queries.worklist_count(D, filters, recent, first)))

    def worklist_patients(
        self, filters: Filters, recent: Recent, limit: int, offset: int
    ) -> list[Row]:
        return self._all(*queries.worklist_patients(D, filters, recent, limit, offset))

    def worklist_others(
        self, filters: Filters, recent: Recent, patients: list[str], shown: int
    ) -> list[Row]:
        return self._all(*queries.worklist_others(D, filters, recent, patients, shown))

    def worklist_patient_count(self, filters: Filters) -> int:
        return _count(self._all(*queries.worklist_patient_count(D, filters)))

    def worklist_counts(self) -> dict[int, int]:
        found = self._all(*queries.worklist_counts(D))
        return {int(row["severity"]): int(row["checks"]) for row in found}

    def worklist_waiting(self, severity: int, answered_before: str) -> int:
        return _count(self._all(*queries.worklist_waiting(D, severity, answered_before)))

    # -- beside the chain: accounts and tokens (changed in place, never chained) ---------------

    def add_row(self, table: str, row: Row) -> int:
        import psycopg

        if table not in _LOCKS:
            raise ValueError(f"{table!r} is not a table beside the chain with ids")
        with self._write() as conn:
            # ids as SQLite gives them (the next after the largest), one writer at a time
            conn.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ACCESS_LOCK, _LOCKS[table]])
            row_id = row.get("id")
            if row_id is None:
                row_id = _one(conn.execute(queries.next_id(D, table)))
            insert = queries.insert_row(D, table, {**row, "id": row_id})
            try:
                with conn.transaction():
                    conn.execute(*insert)
            except psycopg.errors.UniqueViolation as exc:
                reason = (exc.diag.message_detail or str(exc)).strip()
                raise StorageError(
                    f"{table}: {reason}", self.location, "choose another name"
                ) from None
            return int(row_id)

    def add_once(self, table: str, row: Row) -> bool:
        insert = queries.insert_row(D, table, row, unless_there=True)
        with self._write() as conn:
            return conn.execute(*insert).rowcount > 0

    def delete_rows(self, table: str, column: str, value: Any, *, older: bool = False) -> int:
        delete = queries.delete_rows(D, table, column, value, older=older)
        if _has_nul([value]):
            return 0
        with self._write() as conn:
            return int(conn.execute(*delete).rowcount)

    def find_rows(self, table: str, column: str, value: Any) -> list[Row]:
        found = queries.find_rows(D, table, column, value)
        if column == "id" and not (isinstance(value, int) and 0 <= value <= MAX_ID):
            return []  # no such id: bigint cannot hold it
        return self._all(*found)

    def all_rows(self, table: str) -> list[Row]:
        return self._all(*queries.all_rows(D, table))

    def update_row(self, table: str, row_id: int, changes: Row) -> bool:
        update = queries.update_row(D, table, row_id, changes)
        if not 0 <= row_id <= MAX_ID:
            return False
        with self._write() as conn:
            return conn.execute(*update).rowcount > 0

    def alert_read(self, make: Callable[[queries.Dialect], queries.Query]) -> list[Row]:
        return self._all(*make(D))

    def alert_write(self, make: Callable[[queries.Dialect], list[queries.Query]]) -> list[Row]:
        from psycopg.rows import dict_row

        with self._write() as conn, conn.cursor(row_factory=dict_row) as cursor:
            for sql, params in make(D):
                cursor.execute(sql, params)
            return list(cursor.fetchall()) if cursor.description is not None else []

    def entry_rows(self, filters: Filters, limit: int | None) -> Iterator[Row]:
        return self._stream(*queries.entry_rows(D, filters, limit))

    def export_rows(self, filters: Filters, limit: int | None, *, whole: bool) -> Iterator[Row]:
        """As SQLite gives them (``Store.export_rows``), in one query: PostgreSQL's JSON
        functions read the stored JSON text (a cast to ``json`` checks it; nothing is parsed in
        Python). Damaged JSON stops the query: the entry that holds it is then looked for."""
        where, params = queries.where(D, filters)
        if whole:
            columns = [f"e.{c}" for c in names("entry") if c != "report_json"]
            extras, joins = _WHOLE_EXTRAS, ""
        else:
            columns, extras, joins = [f"e.{c}" for c in CSV_STORED], _CSV_EXTRAS, _CSV_JOINS
        sql = (
            f"SELECT {', '.join(columns)}, {extras} FROM triage.entries e{joins}{where} "
            "ORDER BY e.id"
        )
        return self._exported(*queries.limited(D, (sql, params), limit), where, params)

    def _exported(
        self, sql: str, params: list[Any], where: str, where_params: list[Any]
    ) -> Iterator[Row]:
        import psycopg

        try:
            yield from self._stream(sql, params, (psycopg.DataError,))
        except psycopg.DataError as exc:
            raise self._damaged(where, where_params, exc) from None

    def _damaged(self, where: str, params: list[Any], exc: BaseException) -> StorageError:
        """The first matching entry whose JSON cannot be read, named (or what the server said,
        if every one parses here)."""
        fix = "run 'triage log verify' to see whether it was edited; restore it from a backup"
        sql = f"SELECT e.id, e.report_json, e.decision_json FROM triage.entries e{where}"
        sql += " ORDER BY e.id"
        for row in self._stream(sql, params):
            for column in ("report_json", "decision_json"):
                try:
                    json.loads(row[column])
                except ValueError:
                    message = f"entry {row['id']} in {self.location} holds damaged JSON in {column}"
                    return StorageError(message, self.location, fix)
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return StorageError(
            f"the triage log {self.location} holds damaged JSON ({reason})", self.location, fix
        )

    def entry_row(self, entry_id: int) -> Row | None:
        return next(iter(self._all(*queries.entry_row(D, entry_id))), None)

    def review_rows(self, entry_id: int) -> list[Row]:
        return self._all(*queries.review_rows(D, entry_id))

    def newest_of_patient(self, patient: str, limit: int) -> list[Row]:
        return self._all(*queries.newest_of_patient(D, patient, limit))

    def patient_window(self, patient: str, since: str, before: str, limit: int) -> list[Row]:
        return self._all(*queries.patient_window(D, patient, since, before, limit))

    def first_of_session(self, patient: str, session_id: str) -> Row | None:
        return next(iter(self._all(*queries.first_of_session(D, patient, session_id))), None)

    def patient_counts(self, since: str) -> Iterator[Row]:
        return self._stream(*queries.patient_counts(D, since))

    def patients_entries(self, first: str, last: str, since: str) -> Iterator[Row]:
        return self._stream(*queries.patients_entries(D, first, last, since))

    def has_patient(self, patient: str) -> bool:
        return bool(self._all(*queries.has_patient(D, patient)))

    def patient_ids(self) -> list[str]:
        return [row["patient_id"] for row in self._all(*queries.patient_ids(D))]

    def patient_rows(self, patient: str) -> list[Row]:
        return self._all(*queries.patient_rows(D, patient))

    def latest_patient_row(self, patient: str) -> Row | None:
        return next(iter(self._all(*queries.patient_rows(D, patient, latest=True))), None)

    # -- verify --------------------------------------------------------------------------------

    def chain(self, after: int = 0) -> Iterator[tuple[Kind, Row]]:
        """Every record after record ``after``, in chain order, from one snapshot (so that
        appends made meanwhile never look like gaps)."""
        from psycopg.rows import dict_row

        with self._errors("read"), self.pool.connection() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursors = []
            for kind, table in TABLES.items():
                cursor = conn.cursor(name=f"triage_chain_{table}", row_factory=dict_row)
                cursor.itersize = FETCH_BATCH * 4
                cursor.execute(*queries.records_after(D, kind, after))
                cursors.append(_tagged(kind, cursor))
            yield from heapq.merge(*cursors, key=lambda item: item[1]["seq"])

    def head(self) -> tuple[int, str]:
        """The newest record's position and hash, read from the records themselves."""
        last = " UNION ALL ".join(
            f"(SELECT seq, hash FROM triage.{table} ORDER BY seq DESC LIMIT 1)"
            for table in RECORD_TABLES
        )
        rows = self._all(f"SELECT seq, hash FROM ({last}) AS heads ORDER BY seq DESC LIMIT 1")
        return (rows[0]["seq"], rows[0]["hash"]) if rows else (0, GENESIS)

    def hash_at(self, seq: int) -> str | None:
        """The hash of record ``seq``, or None if there is none."""
        rows = self._all(*queries.hash_at(D, seq))
        return rows[0]["hash"] if len(rows) == 1 else None

    def checkpoints(self) -> list[Row]:
        return self._all(*queries.checkpoints(D))

    def integrity(self, full: bool = True) -> str:
        """The head row agrees with the newest record (it moves with every append); with
        ``full``, the worklist and its tally also agree with the chain (which reads every
        unreviewed entry). All of it is read in one snapshot, so appends made meanwhile never
        look like a disagreement."""
        from psycopg.rows import dict_row

        with self._errors("read"), self.pool.connection() as conn:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor = conn.cursor(row_factory=dict_row)
            problem = _head_problem(cursor)
            if problem is None and full:
                problem = _worklist_problem(cursor)
        return problem or "ok"


def _head_problem(cursor: Any) -> str | None:
    newest = " UNION ALL ".join(
        f"(SELECT seq, hash FROM triage.{table} ORDER BY seq DESC LIMIT 1)"
        for table in RECORD_TABLES
    )
    rows = cursor.execute(
        "SELECT h.seq AS head_seq, h.hash AS head_hash, n.seq, n.hash, "
        "(SELECT count(*) FROM triage.chain_head) AS heads FROM triage.chain_head h "
        f"LEFT JOIN LATERAL (SELECT seq, hash FROM ({newest}) AS r ORDER BY seq DESC LIMIT 1)"
        " AS n ON true"
    ).fetchall()
    if len(rows) != 1:
        return f"the chain head row is missing or repeated ({len(rows)} rows)"
    row = rows[0]
    seq, last = (row["seq"], row["hash"]) if row["seq"] is not None else (0, GENESIS)
    if (row["head_seq"], row["head_hash"]) != (seq, last):
        other = "" if row["head_seq"] != seq else " with another hash"
        return (
            f"the chain head says record {row['head_seq']}, but the newest record is "
            f"record {seq}{other}: records were removed or replaced outside triage"
        )
    return None


def _worklist_problem(cursor: Any) -> str | None:
    """Whether the worklist holds exactly the unreviewed entries that need action, and its
    tally their number at each severity (the query both backends share)."""
    return queries.worklist_problem(cursor.execute(*queries.worklist_check(D)).fetchone())


_REVIEW_OBJECT = ", ".join(f"'{f.name}', r.{f.name}" for f in dataclasses.fields(Review))
_WHOLE_EXTRAS = f"""
    (e.decision_json::json IS NOT NULL) AS json_ok,
    (SELECT coalesce(json_agg(json_build_object({_REVIEW_OBJECT}) ORDER BY r.id), '[]')::text
        FROM triage.reviews r WHERE r.entry_id = e.id) AS reviews_json,
    (SELECT coalesce(json_agg(json_build_object({queries.CONTACT_OBJECT}) ORDER BY c.id),
        '[]')::text FROM triage.contacts c WHERE c.entry_id = e.id) AS contacts_json"""
_CSV_EXTRAS = """
    (SELECT coalesce(string_agg(x.reason ->> 'rule', ';' ORDER BY x.n), '')
        FROM json_array_elements(e.decision_json::json -> 'reasons') WITH ORDINALITY
        AS x (reason, n)) AS rules_fired,
    e.report_json::json -> 'pain_during' AS pain_during,
    e.report_json::json -> 'pain_now' AS pain_now,
    (SELECT count(*) FROM triage.reviews r WHERE r.entry_id = e.id) AS review_count,
    last.verdict AS last_verdict,
    last.reviewer AS last_reviewer,
    last.reviewed_at AS last_reviewed_at,
    last.note AS last_note"""
_CSV_JOINS = """
    LEFT JOIN LATERAL (SELECT r.verdict, r.reviewer, r.reviewed_at, r.note FROM triage.reviews r
        WHERE r.entry_id = e.id ORDER BY r.id DESC LIMIT 1) AS last ON true"""
"""What ``export_rows`` adds to the entries, as the SQLite backend does with its JSON functions:
the reviews as a JSON array (JSON Lines), or the rules fired, the pains (JSON values: psycopg
reads them as numbers, or None) and the last review (CSV)."""

_LOCKS = {
    "clinicians": 1,
    "api_tokens": 2,
    "cds_cards": 3,
    "web_sessions": 4,
    "patient_links": 5,
}
"""The tables beside the chain with ids, which ``add_row`` adds to, with the second key of the
advisory lock under which rows are added to each."""
ACCESS_LOCK = 0x74726961
"""The first key of those advisory locks ('tria')."""


def _key_taken(conn: psycopg.Connection[Any], once: Once) -> bool:
    """Whether ``once``'s idempotency key is stored (expired keys are deleted first)."""
    conn.execute(*queries.expire_keys(D, once))
    return conn.execute(*queries.key_taken(D, once)).fetchone() is not None


def _count(rows: list[Row]) -> int:
    return int(rows[0]["n"]) if rows else 0


def _tagged(kind: Kind, rows: Iterable[Row]) -> Iterator[tuple[Kind, Row]]:
    return ((kind, row) for row in rows)


def _one(cursor: Any) -> int:
    return int(cursor.fetchone()[0])


def _has_nul(params: Iterable[Any]) -> bool:
    return any(isinstance(p, str) and "\x00" in p for p in params)


# -- errors ----------------------------------------------------------------------------------------

_URL_FIX = "check the server and the URL given with --db or TRIAGE_DB"


def _drivers() -> tuple[Any, Any]:
    """psycopg and its pool; a UsageError naming the extra to install when they are missing."""
    needs("postgres")
    import psycopg
    import psycopg_pool

    return psycopg, psycopg_pool


def _pool_errors() -> tuple[type[BaseException], ...]:
    from psycopg_pool import PoolTimeout, TooManyRequests

    return (PoolTimeout, TooManyRequests)


def _not_a_log_error() -> StorageError:
    return StorageError("the triage log's chain head row is missing", None, "restore the database")


def _storage_error(url: str, exc: BaseException, action: str) -> StorageError:
    """A StorageError for a failure of the server or the database, with no password in it."""
    import psycopg
    from psycopg import errors

    location = shown_url(url)
    reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    for secret in _secrets(url):
        reason = reason.replace(secret, "***")
    if isinstance(exc, errors.InsufficientPrivilege):
        return StorageError(
            f"cannot {action} the triage log {location}: {reason}",
            location,
            f"the log is append-only; app servers log in as a member of {WRITER} "
            "(docs/clinician.md: moving to PostgreSQL)",
        )
    if isinstance(exc, psycopg.OperationalError) or not isinstance(exc, psycopg.Error):
        return StorageError(f"cannot reach the triage log {location}: {reason}", location, _URL_FIX)
    return StorageError(f"the triage log {location} cannot be used: {reason}", location, _URL_FIX)


# -- migrations ------------------------------------------------------------------------------------


def _migrate(conn: psycopg.Connection[Any], location: str, *, create: bool) -> bool:
    """Bring the schema up to date; whether this started a new log."""
    version = _version(conn, location)
    conn.commit()
    if version > len(MIGRATIONS):
        raise StorageError(
            f"the triage log {location} was written by a newer version of triage (schema "
            f"{version}; this program knows up to {len(MIGRATIONS)})",
            location,
            "upgrade triage to read it",
        )
    if version == len(MIGRATIONS):
        return False
    if version == 0 and not create:
        raise StorageError(
            f"there is no triage log in the database {location} yet",
            location,
            "it is started by the database's owner: 'triage log init --db URL' (or the first "
            "'triage check' made as the owner)",
        )
    import psycopg

    try:
        return _apply(conn, location)
    except psycopg.errors.InsufficientPrivilege as exc:
        change = "started" if version == 0 else "upgraded"
        reason = str(exc).strip().splitlines()[0]
        raise StorageError(
            f"the triage log {location} needs its schema {change} (to version "
            f"{len(MIGRATIONS)}), which only the database's owner may do ({reason})",
            location,
            "run 'triage log init --db URL' once with the URL of the database's owner",
        ) from None


def _apply(conn: psycopg.Connection[Any], location: str) -> bool:
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", [MIGRATION_LOCK])
        version = _version(conn, location)  # another process may have won
        if version == len(MIGRATIONS):
            return False
        _writer_role(conn, location)
        conn.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        conn.execute(
            "CREATE TABLE IF NOT EXISTS triage.migrations (version INTEGER PRIMARY KEY, "
            'name TEXT COLLATE "C" NOT NULL, applied_at TEXT COLLATE "C" NOT NULL)'
        )
        for number, (name, sql) in enumerate(MIGRATIONS[version:], start=version + 1):
            conn.execute(sql.encode())
            conn.execute(
                "INSERT INTO triage.migrations VALUES (%s, %s, %s)", [number, name, now_utc()]
            )
        return version == 0


def _version(conn: psycopg.Connection[Any], location: str) -> int:
    row = conn.execute(
        "SELECT to_regnamespace(%s) IS NOT NULL, to_regclass('triage.migrations') IS NOT NULL",
        [SCHEMA],
    ).fetchone()
    schema, table = bool(row and row[0]), bool(row and row[1])
    if not table:
        if schema and _has_tables(conn):
            raise StorageError(
                f"the database {location} has a schema 'triage' of another program, "
                "not a triage log",
                location,
                "give the URL of a triage log's database, or an empty one, with --db or TRIAGE_DB",
            )
        return 0
    found = conn.execute("SELECT coalesce(max(version), 0) FROM triage.migrations").fetchone()
    return int(found[0]) if found else 0


def _has_tables(conn: psycopg.Connection[Any]) -> bool:
    row = conn.execute(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s",
        [SCHEMA],
    ).fetchone()
    return bool(row and row[0])


def _writer_role(conn: psycopg.Connection[Any], location: str) -> None:
    """The app servers' role exists (made here if the owner may create roles)."""
    import psycopg

    found = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [WRITER]).fetchone()
    if found:
        return
    try:
        with conn.transaction():
            conn.execute(f"CREATE ROLE {WRITER} NOLOGIN")
    except psycopg.errors.InsufficientPrivilege:
        raise StorageError(
            f"cannot start the triage log {location}: the role {WRITER}, which the app servers "
            "log in as members of, does not exist, and this user may not create it",
            location,
            f"ask the database's administrator: CREATE ROLE {WRITER} NOLOGIN",
        ) from None


def close_quietly(conn: Any) -> None:
    with suppress(Exception):
        conn.close()
