"""The PostgreSQL log against the SQLite log, on this machine, in one run (issue 16):

1. appends per second with 1, 4 and 16 writer processes appending at once, one durable
   transaction per check (SQLite: synchronous=FULL; PostgreSQL: fsync and synchronous_commit on);
2. ``verify`` on a log of 1,000,000 entries: full (every record re-hashed), and incremental (the
   records after a signed checkpoint: here 1,000 new ones).

The PostgreSQL server is a throwaway one (tests/support/pg_server.py) with durable settings, on a
Unix socket, removed at the end; the SQLite files are in a temporary folder.
Run: python benchmarks/bench_postgres.py [ENTRIES] [APPENDS_PER_WRITER]   (default 1,000,000, 200)

Measured on the 2-core development machine while other work ran (load average 3 to 5), one run:

    appends/s     1 writer   4 writers   16 writers
    SQLite           266        351         333
    PostgreSQL       254        103         151

    verify, 1,000,000 entries   full                 incremental (1,000 new after a checkpoint)
    SQLite                      156 s (156 us/entry)  61 ms
    PostgreSQL                   67 s  (67 us/entry) 129 ms

These figures predate the worklist of ``triage serve``, which every append of a check that needs
action now keeps in the same transaction (SQLite: in Python; PostgreSQL: its triggers). Rerun
after the merge at a small size (``bench_postgres.py 2000 200``) on a quieter moment of the same
machine, against the code before it: 1 writer SQLite 2,029 vs 2,423, PostgreSQL 993 vs 1,260
appends/s; 16 writers 976 vs 1,377 and 429 vs 466 (one run each, load average 1 to 7).

Every append takes the chain's one lock and commits durably before the next can start, on both
backends, so throughput is bounded by one commit at a time; on PostgreSQL each hand-off of the
head row's lock is a wake-up of another process and four round trips, which two cores shared by
16 writers and their server processes make slower than one writer alone.
"""

from __future__ import annotations

import multiprocessing
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.pg_server import APP, Server  # noqa: E402
from triage.log import TriageLog  # noqa: E402
from triage.log import checkpoints as signed  # noqa: E402

WRITERS = (1, 4, 16)


def _writer(target: str, appends: int, ready: Any, go: Any, done: Any) -> None:
    import triage
    from tests.support.helpers import report

    decision = triage.evaluate(report(unwell=True))
    with TriageLog(target) as log:
        ready.put(1)
        go.wait()
        for _ in range(appends):
            log.record(decision)
    done.put(time.perf_counter())


def appends_per_second(target: str, writers: int, appends: int) -> float:
    context = multiprocessing.get_context("spawn")
    ready, done, go = context.Queue(), context.Queue(), context.Event()
    procs = [  # daemons: a writer that fails to start must not leave the others waiting
        context.Process(target=_writer, args=(target, appends, ready, go, done), daemon=True)
        for _ in range(writers)
    ]
    for proc in procs:
        proc.start()
    for _ in procs:
        ready.get(timeout=120)
    started = time.perf_counter()
    go.set()
    finished = max(done.get(timeout=3600) for _ in procs)
    for proc in procs:
        proc.join()
        assert proc.exitcode == 0
    with TriageLog(target) as log:
        result = log.verify(full=True)
        assert result.ok and result.entries == writers * appends, result
    return writers * appends / (finished - started)


def timed(action: Any) -> tuple[float, Any]:
    started = time.perf_counter()
    value = action()
    return time.perf_counter() - started, value


def decisions() -> list[Any]:
    import triage
    from tests.support.helpers import load_case, vignette_files

    return [triage.evaluate(load_case(p)["report"]) for p in vignette_files()]


def fill(log: TriageLog, total: int) -> float:
    """``total`` entries: the vignettes' checks recorded once, then copied with other patients
    and times, each hashed on the chain (stored by ``extend``, 10,000 a transaction)."""
    from datetime import datetime, timedelta, timezone

    from triage.log.chain import record_hash
    from triage.log.records import stamp

    started = time.perf_counter()
    log.record_many(decisions())
    models = [row for _, row in log._store.chain()]
    seq, prev = log._store.head()
    start = datetime(2024, 11, 21, tzinfo=timezone.utc)
    while seq < total:
        batch = []
        for _ in range(min(10_000, total - seq)):
            seq += 1
            row = {**models[seq % len(models)], "id": seq, "seq": seq, "prev_hash": prev}
            row["patient_id"] = f"pt-{seq % 20_000:05d}"
            row["reported_at"] = stamp(start + timedelta(minutes=seq))
            row["hash"] = prev = record_hash("entry", row)
            batch.append(("entry", row))
        log._store.extend(batch)
    return total / (time.perf_counter() - started)


def verify_figures(target: str, entries: int, key: Path) -> dict[str, float]:
    with TriageLog(target) as log:
        print(f"  filling {entries:,} entries ...", flush=True)
        rate = fill(log, entries)
        print(f"  filled at {rate:,.0f} entries/s", flush=True)
        full, result = timed(lambda: log.verify(full=True))
        assert result.ok and result.entries == entries
        log.checkpoint(key)  # verifies in full once more (no checkpoint yet), then signs
        pool = decisions()
        log.record_many(pool[n % len(pool)] for n in range(1_000))
        incremental, result = timed(lambda: log.verify())
        assert result.ok and result.checked_after == entries and result.entries == 1_000
    return {"full": full, "incremental": incremental, "fill": rate}


def main() -> None:
    entries = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    appends = int(sys.argv[2]) if len(sys.argv) > 2 else 200
    folder = Path(tempfile.mkdtemp(prefix="triage-bench-pg-"))
    server = Server(durable=True)
    try:
        signed.new_key(folder / "bench.key")
        print(f"appends/s, {appends} checks per writer, one durable transaction each:")
        print(f"  {'writers':>7}  {'SQLite':>8}  {'PostgreSQL':>10}")
        for writers in WRITERS:
            sqlite_rate = appends_per_second(str(folder / f"w{writers}.db"), writers, appends)
            url = server.url(server.new_database(), APP)
            postgres_rate = appends_per_second(url, writers, appends)
            print(f"  {writers:>7}  {sqlite_rate:>8,.0f}  {postgres_rate:>10,.0f}", flush=True)
        print(f"verify on {entries:,} entries (seconds):")
        figures = {}
        for name, target in (
            ("SQLite", str(folder / "verify.db")),
            ("PostgreSQL", server.url(server.new_database(), APP)),
        ):
            print(f"{name}:", flush=True)
            figures[name] = verify_figures(target, entries, folder / "bench.key")
            f = figures[name]
            print(
                f"  full: {f['full']:.1f} s ({f['full'] / entries * 1e6:.0f} µs/entry); "
                f"incremental after 1,000 new entries: {f['incremental'] * 1e3:.0f} ms",
                flush=True,
            )
    finally:
        server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
