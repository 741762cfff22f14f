"""Speed of ``triage serve``, measured through a real server on 127.0.0.1.

1. Checks per second through ``POST /api/v1/check`` with 8 concurrent clients (a fresh log;
   every check evaluated and recorded with a durable commit).
2. The server time (its ``Server-Timing`` header) of the worklist page, the worklist API and a
   patient's page on a log of 1,000,000 entries (target: under 100 ms each). The log is filled
   as benchmarks/bench_log.py fills it (two years of checks of 20,000 patients), then every
   check above continue answered more than 14 days before the last one is reviewed, as a clinic
   that works its worklist would have it.

3. The same on a copy of that log where no check was ever reviewed (every check above continue
   waits on the worklist: about 800,000), the worst a worklist can get.

Run: python benchmarks/bench_serve.py [ENTRIES] [DB]   (default 1,000,000 entries; the filled
log is kept at DB, default /tmp/triage-bench-serve-ENTRIES.db, and reused when it exists; the
unreviewed copy is DB with -unreviewed.db). Requests are bounded in number and time; the server
is stopped at the end.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402

from benchmarks.bench_log import fill  # noqa: E402
from tests.support.helpers import report  # noqa: E402
from tests.support.web_support import LEVEL_REPORTS, csrf_of, start, stop  # noqa: E402
from triage.log import Filters, TriageLog  # noqa: E402
from triage.log.chain import CURRENT_FORM, record_hash  # noqa: E402
from triage.log.records import now_utc  # noqa: E402
from triage.log.store import Head  # noqa: E402

NAME, PASSWORD = "Dr Bench", "benchmark password"
CLIENTS, CHECK_SECONDS, MAX_CHECKS = 8, 20, 20_000
RUNS = 25
BATCH = 10_000


def review_old(log: TriageLog, days: float = 14) -> int:
    """Accept every check above continue answered ``days`` before the newest one."""
    store = log._store
    conn = store.conn  # type: ignore[attr-defined]
    newest = conn.execute("SELECT max(reported_at) FROM entries").fetchone()[0]
    cut = datetime.fromisoformat(newest.replace("Z", "+00:00")) - timedelta(days=days)
    ids = [
        row[0]
        for row in conn.execute(
            "SELECT entry_id FROM worklist WHERE reported_at < ? ORDER BY entry_id",
            (cut.isoformat().replace("+00:00", "Z"),),
        )
    ]
    for first in range(0, len(ids), BATCH):
        chunk = ids[first : first + BATCH]

        def build(head: Head, chunk: list[int] = chunk) -> list[dict[str, object]]:
            rows, prev = [], head.hash
            for offset, entry_id in enumerate(chunk):
                row: dict[str, object] = {
                    "id": head.next_id + offset,
                    "seq": head.seq + offset + 1,
                    "entry_id": entry_id,
                    "reviewed_at": now_utc(),
                    "reviewer": NAME,
                    "verdict": "accepted",
                    "note": "",
                    "prev_hash": prev,
                    "form": CURRENT_FORM,
                    "reason": "",
                }
                row["hash"] = prev = record_hash("review", row)
                rows.append(row)
            return rows

        store.append("review", build)
    return len(ids)


def big_log(total: int, path: Path) -> None:
    if path.exists():
        print(f"Reusing {path}.")
        return
    print(f"Filling {path} with {total:,} entries ...", flush=True)
    with TriageLog(path) as log:
        rate = fill(log, total)
        print(f"  {rate:,.0f} entries/s; reviewing the old ones ...", flush=True)
        print(f"  {review_old(log):,} reviews appended", flush=True)


def accounts(path: Path) -> str:
    with TriageLog(path) as log:
        if log.access.clinician(NAME) is None:
            log.access.add_clinician(NAME, PASSWORD)
        return log.access.add_token("bench")[1]


def server_ms(client: httpx.Client, path: str, runs: int = RUNS) -> tuple[float, float, float]:
    """Median and 95th percentile of the server's time, and the median wall time, in ms."""
    client.get(path)  # warm
    server, wall = [], []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)
        wall.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (path, response.status_code, response.text[:300])
        server.append(float(response.headers["server-timing"].split("dur=")[1]))
    server.sort()
    return statistics.median(server), server[int(len(server) * 0.95) - 1], statistics.median(wall)


def pages(path: Path) -> None:
    token = accounts(path)
    with TriageLog(path, create=False) as log:
        work = log.worklist()
        patient = work.items[0].entry.patient_id if work.items else "pt-00042"
        print(
            f"Log: {log.count():,} entries; worklist: {work.needs_action:,} unreviewed checks "
            f"that need action; patient {patient}: {log.count(Filters(patient=patient)):,} checks"
        )
    process, url, output = start(path)
    try:
        with httpx.Client(base_url=url, timeout=60) as client:
            page = client.get("/login")
            client.post("/login", data={"csrf_token": csrf_of(page.text), "name": NAME,
                                        "password": PASSWORD})  # fmt: skip
            for label, target in (
                ("worklist page", "/"),
                ("worklist page 5", "/?page=5"),
                ("worklist, same day only", "/?outcome=seek_medical_review&urgency=same_day"),
                ("patient page", f"/patients/{patient}"),
            ):
                show(label, *server_ms(client, target))
        with httpx.Client(base_url=url, timeout=60,
                          headers={"Authorization": f"Bearer {token}"}) as api:  # fmt: skip
            show("GET /api/v1/entries", *server_ms(api, "/api/v1/entries"))
            show("GET /api/v1/entries/1", *server_ms(api, "/api/v1/entries/1"))
    finally:
        stop(process, output)


def show(label: str, median: float, p95: float, wall: float) -> None:
    verdict = "ok" if p95 < 100 else "OVER 100 ms"
    print(f"  {label:28} server {median:7.1f} ms median, {p95:7.1f} ms p95 "
          f"(wall {wall:7.1f} ms)  {verdict}")  # fmt: skip


def checks_per_second(folder: Path) -> None:
    db = folder / "checks.db"
    token = accounts(db)
    kinds = list(LEVEL_REPORTS.values())
    process, url, output = start(db)
    done: list[int] = []
    failed: list[str] = []
    deadline = time.monotonic() + CHECK_SECONDS

    def client(number: int) -> None:
        with httpx.Client(base_url=f"{url}/api/v1", timeout=60,
                          headers={"Authorization": f"Bearer {token}"}) as api:  # fmt: skip
            n = 0
            while time.monotonic() < deadline and len(done) < MAX_CHECKS:
                answers = report(**{**kinds[n % len(kinds)], "patient_id": f"pt-{number}-{n % 50}"})
                response = api.post("/check", json=answers)
                if response.status_code == 200 and response.json()["logged"]:
                    done.append(1)
                else:
                    failed.append(response.text[:200])
                n += 1

    try:
        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        took = time.perf_counter() - started
    finally:
        stop(process, output)
    with TriageLog(db, create=False) as log:
        ok = log.verify().ok
        stored = log.count()
    print(f"POST /api/v1/check, {CLIENTS} clients, {took:.1f} s: {len(done):,} checks, "
          f"{len(done) / took:,.0f} checks/s; {len(failed)} failed; {stored:,} stored; "
          f"verify {'ok' if ok else 'FAILED'}")  # fmt: skip


def unreviewed_copy(path: Path) -> Path:
    """A copy of the log without its reviews, its worklist rebuilt as migration 4 builds it."""
    import shutil
    import sqlite3

    from triage.log.sqlite import MIGRATIONS

    copy = path.with_name(path.stem + "-unreviewed.db")
    if copy.exists():
        return copy
    shutil.copyfile(path, copy)
    migration = MIGRATIONS[3][1]
    rebuild = migration[migration.index("INSERT INTO worklist") :]
    conn = sqlite3.connect(copy)
    with conn:
        conn.execute("DELETE FROM reviews")  # the chain no longer verifies: a benchmark only
        conn.execute("DELETE FROM worklist")
        conn.execute("DELETE FROM worklist_tally")
        for statement in filter(str.strip, rebuild.split(";")):
            if "CREATE TABLE" not in statement:
                conn.execute(statement)
    conn.close()
    return copy


def main() -> None:
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    path = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(f"/tmp/triage-bench-serve-{total}.db")
    with tempfile.TemporaryDirectory() as folder:
        checks_per_second(Path(folder))
    big_log(total, path)
    pages(path)
    pages(unreviewed_copy(path))


if __name__ == "__main__":
    main()
