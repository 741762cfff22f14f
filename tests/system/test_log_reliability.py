"""Nothing is lost: concurrent writers, and a writer killed in the middle of a batch (on both
backends: an SQLite file and a PostgreSQL database, conftest.py)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import triage
from tests.support.backends import Target, rows
from tests.support.helpers import ROOT, report
from tests.support.probes import first_check
from triage.log import Filters, TriageLog

pytestmark = pytest.mark.slow
BACKENDS = True  # the killed writer runs on both; the file's own tests are sqlite_only

WRITER = """
import sys, triage
from triage.log import TriageLog
from tests.support.helpers import report
path, name, count, batch = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
decision = triage.evaluate(report(patient_id=name, unwell=True))
with TriageLog(path) as log:
    print("ready", flush=True)
    for _ in range(count // batch):
        log.record_many([decision] * batch)
"""


def writer(path: Target, name: str, count: int, batch: int = 1) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path), name, str(count), str(batch)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )


@pytest.mark.sqlite_only
def test_four_processes_append_500_each_and_nothing_is_lost(tmp_path: Path) -> None:
    path = tmp_path / "log.db"
    TriageLog(path).close()
    procs = [writer(path, f"pt-{i}", 500) for i in range(4)]
    for proc in procs:
        proc.wait(timeout=300)
        assert proc.returncode == 0
    with TriageLog(path) as log:
        result = log.verify()
        assert result.ok, result.first_bad
        assert result.entries == 2000
        for i in range(4):
            assert len(log.entries(Filters(patient=f"pt-{i}"), limit=None)) == 500


@pytest.mark.sqlite_only
def test_processes_starting_the_same_new_log_at_once_all_get_it(tmp_path: Path) -> None:
    """The first check of several app processes at the same moment: one creates the file, the
    others find it (never 'File exists'), one migrates it, and every check is recorded."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["tests.support.probes.first_check"])
    for attempt in range(3):
        path = tmp_path / f"new-{attempt}.db"
        ready, go, results = context.Queue(), context.Event(), context.Queue()
        procs = [
            context.Process(
                target=first_check.start_and_record, args=(str(path), ready, go, results)
            )
            for _ in range(16)
        ]
        for proc in procs:
            proc.start()
        assert [ready.get(timeout=600) for _ in procs] == ["ready"] * 16  # all wait at the line
        go.set()
        found = [results.get(timeout=300) for _ in procs]
        for proc in procs:
            proc.join(timeout=60)
        assert found == ["ok"] * 16, found
        with TriageLog(path, create=False) as log:
            result = log.verify()
            assert result.ok and result.entries == 16
        assert oct(path.stat().st_mode & 0o777) == "0o600"


def count_entries(target: Target) -> int:
    return int(rows(target, "SELECT count(*) AS n FROM entries")[0]["n"])


def test_a_writer_killed_mid_batch_leaves_a_sound_log_without_partial_entries(
    private_log: Target,
) -> None:
    proc = writer(private_log, "pt-kill", 1_000_000, batch=50)
    assert proc.stdout.readline().strip() == "ready"
    deadline = time.monotonic() + 600  # generous: a busy machine is slow, not wrong
    while count_entries(private_log) < 300:
        assert time.monotonic() < deadline and proc.poll() is None, "the writer did not write"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    with TriageLog(private_log) as log:
        result = log.verify(full=True)
        assert result.ok, result.first_bad
        assert result.entries >= 300
        assert result.entries % 50 == 0, "a batch is one transaction: all of it or none"
        assert all(entry.decision["outcome"] == "reduce_load" for entry in log.export())
        log.record(triage.evaluate(report()))  # on PostgreSQL, the head row's lock went with it
        assert log.verify(full=True).ok  # and the log goes on
