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

4. With ``--anchors``: only the server rows of issue 26 (also printed by bench_anchors.py). The
   anchor is a bare Starlette app served by uvicorn (``anchor_app``: one route, which evaluates
   the report with ``triage.evaluate`` and inserts one row into SQLite, WAL, synchronous=FULL,
   one commit, so one fsync, per request, in the thread pool as ``triage serve`` does its work).
   Both servers run at once, each its own process; the same client (``drive``: threads, one
   ``httpx.Client`` each, the same reports and headers) drives them in turn, product then anchor,
   for 1, 4 and 16 clients, round after round. Server CPU per check is the server process's
   user + system time (/proc) over the run divided by the checks it answered; p99 is the
   client's wall time of a request. Before timing, each server answers the same reports and the
   anchor is checked: same outcome, urgency and rules as triage, one row written per check.

Run: python benchmarks/bench_serve.py [ENTRIES] [DB]   (default 1,000,000 entries; the filled
log is kept at DB, default /tmp/triage-bench-serve-ENTRIES.db, and reused when it exists; the
unreviewed copy is DB with -unreviewed.db). Requests are bounded in number and time; the server
is stopped at the end.
     python benchmarks/bench_serve.py --anchors [--quick]   (the server anchors only)
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

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


# -- the server anchor (issue 26) ----------------------------------------------------------------

ANCHOR_TABLE = """CREATE TABLE IF NOT EXISTS checks (
    id INTEGER PRIMARY KEY,
    patient_id TEXT NOT NULL,
    reported_at TEXT NOT NULL,
    outcome TEXT NOT NULL,
    urgency TEXT,
    report_json TEXT NOT NULL,
    decision_json TEXT NOT NULL
)"""
ANCHOR_CLIENTS = (1, 4, 16)


def anchor_app(db: Path) -> Any:
    """The bare app: POST /api/v1/check evaluates the report (``triage.evaluate``, the default
    engine) and inserts one row, committed (WAL, synchronous=FULL: one fsync of the WAL per
    check); no authentication, history, patient record, idempotency, worklist or alerts."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    import triage

    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute(ANCHOR_TABLE)
    lock = threading.Lock()
    insert = (
        "INSERT INTO checks (patient_id, reported_at, outcome, urgency, report_json, "
        "decision_json) VALUES (?, ?, ?, ?, ?, ?)"
    )

    def checked(answers: dict[str, Any]) -> dict[str, Any]:
        decision = triage.evaluate(answers)
        data = decision.to_dict()
        report = data["report"]
        values = (
            report["patient_id"],
            report["reported_at"],
            decision.outcome,
            decision.urgency,
            json.dumps(report, separators=(",", ":"), ensure_ascii=False),
            json.dumps(data, separators=(",", ":"), ensure_ascii=False),
        )
        with lock:
            conn.execute("BEGIN IMMEDIATE")
            entry = conn.execute(insert, values).lastrowid
            conn.execute("COMMIT")
        return {**data, "logged": True, "log_entry": entry}

    async def check(request: Request) -> JSONResponse:
        answers = await request.json()
        return JSONResponse(await run_in_threadpool(checked, answers))

    return Starlette(routes=[Route("/api/v1/check", check, methods=["POST"])])


def serve_anchor(db: Path) -> None:
    """Serve ``anchor_app`` with uvicorn (its defaults) on a free port of 127.0.0.1 until
    Ctrl-C."""
    import socket

    import uvicorn

    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    config = uvicorn.Config(anchor_app(db), log_level="warning", access_log=False)
    print(f"anchor: listening on http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        uvicorn.Server(config).run(sockets=[sock])
    print("anchor: stopped.", flush=True)


def start_anchor(db: Path) -> tuple[subprocess.Popen[str], str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    process = subprocess.Popen(
        [sys.executable, __file__, "--anchor-server", str(db)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    assert process.stdout is not None
    seen = []
    for line in process.stdout:
        seen.append(line)
        found = re.search(r"listening on (http://\S+)", line)
        if found:
            return process, found.group(1)
    raise RuntimeError("the anchor server did not start:\n" + "".join(seen))


def stop_anchor(process: subprocess.Popen[str]) -> None:
    import signal

    process.send_signal(signal.SIGINT)
    try:
        process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process (all its threads) so far, from /proc."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def anchor_report(kind: int, patient: str) -> dict[str, Any]:
    kinds = list(LEVEL_REPORTS.values())
    return report(**{**kinds[kind % len(kinds)], "patient_id": patient})


def drive(
    url: str, token: str, pid: int, clients: int, each: int, tag: str
) -> tuple[float, list[float], int]:
    """``clients`` threads post ``each`` checks (new patients: no history, so that triage and
    the anchor make the same decision); returns the server's CPU seconds per check, the wall
    time of every request and the number of failures. Each client's connection is opened and
    used once before the server's CPU is read."""
    barrier = threading.Barrier(clients + 1)
    done = threading.Barrier(clients + 1)
    latencies: list[float] = []
    failed: list[str] = []
    headers = {"Authorization": f"Bearer {token}"}

    def client(number: int) -> None:
        with httpx.Client(base_url=url, timeout=120, headers=headers) as api:
            api.post("/api/v1/check", json=anchor_report(number, f"pt-{tag}-{number}-w"))
            barrier.wait()
            for n in range(each):
                answers = anchor_report(number + n, f"pt-{tag}-{number}-{n}")
                started = time.perf_counter()
                response = api.post("/api/v1/check", json=answers)
                latencies.append(time.perf_counter() - started)
                if response.status_code != 200 or not response.json().get("logged"):
                    failed.append(response.text[:200])
            done.wait()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    cpu = process_cpu(pid)
    done.wait()
    cpu = process_cpu(pid) - cpu
    for thread in threads:
        thread.join()
    return cpu / (clients * each), latencies, len(failed)


def p99(latencies: list[float]) -> float:
    ordered = sorted(latencies)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def same_decisions(ours: str, anchor: str, token: str, anchor_db: Path) -> str | None:
    """Why the anchor does not do what triage does (None: it does), on one report per level."""
    headers = {"Authorization": f"Bearer {token}"}
    with sqlite3.connect(anchor_db) as conn:
        before = conn.execute("SELECT count(*) FROM checks").fetchone()[0]
    with httpx.Client(timeout=120, headers=headers) as client:
        for kind in range(len(LEVEL_REPORTS)):
            answers = anchor_report(kind, f"pt-same-{kind}")
            a = client.post(f"{ours}/api/v1/check", json=answers).json()
            b = client.post(f"{anchor}/api/v1/check", json=answers).json()
            for key in ("outcome", "urgency", "logged"):
                if a.get(key) != b.get(key):
                    return f"{key}: {a.get(key)!r} vs {b.get(key)!r}"
            if [r["rule"] for r in a["reasons"]] != [r["rule"] for r in b["reasons"]]:
                return "other rules"
    with sqlite3.connect(anchor_db) as conn:
        after = conn.execute("SELECT count(*) FROM checks").fetchone()[0]
    return None if after - before == len(LEVEL_REPORTS) else "rows not written"


def server_anchors(rounds: int, quick: bool) -> list[dict[str, Any]]:
    """The server figures against the anchor: for 1, 4 and 16 clients, the best of ``rounds``
    of the server's CPU per check and of the p99 latency, triage and anchor interleaved, and the
    mean load average they ran under."""
    each = {1: 200, 4: 60, 16: 25} if quick else {1: 500, 4: 150, 16: 50}
    results = {n: {"ours": [], "anchor": [], "ours_p99": [], "anchor_p99": [], "load": []}
               for n in ANCHOR_CLIENTS}  # fmt: skip
    failures = 0
    with tempfile.TemporaryDirectory() as folder:
        db, anchor_db = Path(folder) / "triage.db", Path(folder) / "anchor.db"
        token = accounts(db)
        process, url, output = start(db)
        anchor, anchor_url = start_anchor(anchor_db)
        try:
            problem = same_decisions(url, anchor_url, token, anchor_db)
            for number in range(rounds):
                for clients in ANCHOR_CLIENTS:
                    row = results[clients]
                    row["load"].append(os.getloadavg()[0])
                    tag = f"r{number}c{clients}"
                    cpu, lat, bad = drive(url, token, process.pid, clients, each[clients], tag)
                    row["ours"].append(cpu)
                    row["ours_p99"].append(p99(lat))
                    cpu, lat, bad2 = drive(
                        anchor_url, token, anchor.pid, clients, each[clients], tag
                    )
                    row["anchor"].append(cpu)
                    row["anchor_p99"].append(p99(lat))
                    row["load"].append(os.getloadavg()[0])
                    failures += bad + bad2
        finally:
            stop_anchor(anchor)
            stop(process, output)
    if failures:
        problem = problem or f"{failures} requests failed"
    return [
        {
            "clients": clients,
            "checks": each[clients] * clients,
            "ours": min(row["ours"]),
            "anchor": min(row["anchor"]),
            "ours_p99": min(row["ours_p99"]),
            "anchor_p99": min(row["anchor_p99"]),
            "load": statistics.mean(row["load"]),
            "problem": problem,
        }
        for clients, row in results.items()
    ]


def print_anchors(quick: bool) -> None:
    for row in server_anchors(2 if quick else 5, quick):
        print(
            f"{row['clients']:2} clients: server CPU per check {row['ours'] * 1e3:.2f} ms vs "
            f"anchor {row['anchor'] * 1e3:.2f} ms ({row['ours'] / row['anchor']:.2f}x); p99 "
            f"{row['ours_p99'] * 1e3:.1f} ms vs {row['anchor_p99'] * 1e3:.1f} ms "
            f"({row['ours_p99'] / row['anchor_p99']:.2f}x); load {row['load']:.2f}"
            + (f"; VOID: {row['problem']}" if row["problem"] else "")
        )


def main() -> None:
    if "--anchor-server" in sys.argv:
        serve_anchor(Path(sys.argv[sys.argv.index("--anchor-server") + 1]))
        return
    if "--anchors" in sys.argv:
        print_anchors("--quick" in sys.argv)
        return
    total = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    path = Path(sys.argv[2]) if len(sys.argv) > 2 else Path(f"/tmp/triage-bench-serve-{total}.db")
    with tempfile.TemporaryDirectory() as folder:
        checks_per_second(Path(folder))
    big_log(total, path)
    pages(path)
    pages(unreviewed_copy(path))


if __name__ == "__main__":
    main()
