"""Replay the triage log under another rule pack: which logged decisions would change.

Each logged check is evaluated again with the new rules and the history it had: the patient's
checks answered in the window before it (as many days as the new rules look back) and recorded
before it, with the outcomes they were logged with, exactly what ``triage check`` would have
read from the log. Its new outcome is compared with the logged one: a transition (from one
tier to another) is a safety transition when the check would become less urgent.

The log is read once, streamed, each patient's checks together and in the order they were
answered, in ranges of patient ids that worker processes (every core by default) replay
independently; memory holds one patient's window of checks per worker, and the ids of the
checks that change.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
from array import array
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import date, datetime
from multiprocessing import get_context
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..engines import get_engine
from ..errors import EvaluationError, StorageError, TriageError, UsageError
from ..evaluation.warning import EVALUATOR
from ..outcomes import LEVELS, severity
from ..pack.history import Earlier, context_of
from ..pack.loading import load_pack
from ..pack.rules import RulePack

if TYPE_CHECKING:
    from ..log import Entry, TriageLog
    from ..pack.explain import WhyNot

Progress = Callable[[int, int], None]
"""Called with the checks replayed so far and the checks to replay."""

HISTORY_LIMIT = 500
"""At most this many earlier checks, the newest, as ``TriageLog.history`` reads them."""
IN_PROCESS = 5_000
"""Logs with fewer checks to replay than this are replayed without worker processes."""
PART_SIZE = 25_000
_RULE = re.compile(r'"rule":"([^"]+)"')
"""A reason's rule id in a stored decision (compact JSON, rule ids never hold quotes)."""

Key = tuple[int, int, tuple[str, ...], tuple[str, ...]]
"""A change: the level before and after, the rules that fire now and those that no longer do."""


def level_of(index: int) -> dict[str, str | None]:
    found = LEVELS[index]
    return {"outcome": found.outcome, "urgency": found.urgency}


@dataclass
class PartResult:
    """What one range of patients gave: counts per (before, after) level, the ids of the
    checks that change per change, and the checks skipped, by why."""

    replayed: int = 0
    matrix: Counter[tuple[int, int]] = field(default_factory=Counter)
    changes: dict[Key, array[int]] = field(default_factory=dict)
    other_rules: dict[Key, array[int]] = field(default_factory=dict)
    """Checks whose outcome stays, with other rules firing (levels -1: any)."""
    skipped: Counter[str] = field(default_factory=Counter)
    logged_under: Counter[tuple[str, str, str]] = field(default_factory=Counter)

    def add(self, other: PartResult) -> None:
        self.replayed += other.replayed
        self.matrix.update(other.matrix)
        self.skipped.update(other.skipped)
        self.logged_under.update(other.logged_under)
        for mine, theirs in ((self.changes, other.changes), (self.other_rules, other.other_rules)):
            for key, ids in theirs.items():
                mine.setdefault(key, array("q")).extend(ids)


@dataclass(frozen=True)
class Replay:
    """The logged decisions a pack would change (see the module's docstring)."""

    pack: RulePack
    log: str
    since: str | None
    engine: str
    result: PartResult
    seconds: float

    @property
    def changed(self) -> int:
        return sum(len(ids) for ids in self.result.changes.values())

    def transitions(self) -> list[tuple[int, int, int]]:
        """(before, after, checks) for every change of level: the safety ones (less urgent)
        first, the largest drop first; then the others, the largest rise first."""
        found = [(b, a, n) for (b, a), n in self.result.matrix.items() if a != b]
        return sorted(found, key=lambda t: (t[1] > t[0], -abs(t[0] - t[1]), t[0], -t[2]))

    def changes_of(self, before: int, after: int) -> list[tuple[Key, array[int]]]:
        """The changes of one transition, by the rules that fire now and no longer, the most
        common first."""
        found = [(k, ids) for k, ids in self.result.changes.items() if k[:2] == (before, after)]
        return sorted(found, key=lambda item: (-len(item[1]), item[0]))

    def to_dict(self) -> dict[str, Any]:
        """The replay for programs: the transition table with the entries of each change."""
        return self._data(lambda ids: sorted(ids))

    def json_chunks(self) -> Iterator[str]:
        """``to_dict`` as JSON text, in pieces: the entry ids are written a group at a time,
        never all held as Python numbers at once."""
        groups: list[array[int]] = []

        def later(ids: array[int]) -> str:
            groups.append(ids)
            return f"@@entries {len(groups) - 1}@@"

        text = json.dumps(self._data(later), ensure_ascii=False)
        pieces = re.split(r'"@@entries (\d+)@@"', text)
        yield pieces[0]
        for index, rest in zip(pieces[1::2], pieces[2::2], strict=True):
            ids = sorted(groups[int(index)])
            yield "["
            for start in range(0, len(ids), 10_000):
                yield ("," if start else "") + ",".join(map(str, ids[start : start + 10_000]))
            yield "]" + rest

    def _data(self, entries: Callable[[array[int]], Any]) -> dict[str, Any]:
        result = self.result
        return {
            "rule_pack": {
                "name": self.pack.name,
                "version": self.pack.version,
                "sha256": self.pack.sha256,
            },
            "log": self.log,
            "since": self.since,
            "engine": self.engine,
            "replayed": result.replayed,
            "changed": self.changed,
            "unchanged": sum(n for (b, a), n in result.matrix.items() if a == b),
            "skipped": dict(result.skipped),
            "logged_under": [
                {"name": n, "version": v, "sha256": s, "checks": count}
                for (n, v, s), count in sorted(result.logged_under.items())
            ],
            "transitions": [
                {
                    "from": level_of(before),
                    "to": level_of(after),
                    "safety": after < before,
                    "checks": count,
                    "changes": [
                        {
                            "fires_now": list(k[2]),
                            "no_longer_fires": list(k[3]),
                            "entries": entries(ids),
                        }
                        for k, ids in self.changes_of(before, after)
                    ],
                }
                for before, after, count in self.transitions()
            ],
            "same_outcome_other_rules": [
                {"fires_now": list(k[2]), "no_longer_fires": list(k[3]), "entries": entries(ids)}
                for k, ids in sorted(result.other_rules.items(), key=lambda i: -len(i[1]))
            ],
            "seconds": round(self.seconds, 1),
        }


# -- replaying one range of patients ---------------------------------------------------------


@dataclass(frozen=True)
class _Seen:
    """A check already read, as the history of the checks after it."""

    id: int
    stamp: str
    earlier: Earlier


class _Replayer:
    """Replays ranges of patients of one log with one pack (in a worker process, or here)."""

    def __init__(self, pack: RulePack, engine: str | None, db: str) -> None:
        from ..contract.report import CONTRACT_VERSION
        from ..log import TriageLog

        self.pack = pack
        self.engine = get_engine(engine)
        self.log = TriageLog(db, create=False)
        self.days = pack.history_days
        self.levels = {r.id: severity(r.outcome, r.urgency) for r in pack.rules}
        self.order = {r.id: n for n, r in enumerate(pack.rules)}
        self.contract = CONTRACT_VERSION

    def run(self, first: str, last: str, since: str, lookback: str) -> PartResult:
        result = PartResult()
        patient = None
        window: deque[_Seen] = deque()
        for row in self.log.patients_checks(first, last, lookback):
            if row["patient_id"] != patient:
                patient = row["patient_id"]
                window.clear()
            stamp = row["reported_at"]
            if self.days:
                low = _days_before(stamp, self.days)
                while window and window[0].stamp < low:
                    window.popleft()
            answers = self._answers(row)
            if stamp >= since:
                self._one(row, answers, window, result)
            if self.days:
                earlier = Earlier(answers, row["outcome"], row["urgency"])
                window.append(_Seen(row["id"], stamp, earlier))
        return result

    def _answers(self, row: dict[str, Any]) -> dict[str, Any]:
        from ..contract.reading import readable_answers

        try:
            stored = json.loads(row["report_json"])
        except ValueError:
            raise StorageError(
                f"entry {row['id']} in {self.log.location} holds damaged JSON in report_json",
                self.log.location,
                "run 'triage log verify' to see whether it was edited",
            ) from None
        if row["contract_version"] == self.contract:
            return {**stored, "session_id": row["session_id"]}
        answers = readable_answers(stored, row["contract_version"])
        answers["session_id"] = row["session_id"]
        return answers

    def _one(
        self, row: dict[str, Any], answers: dict[str, Any], window: deque[_Seen], result: PartResult
    ) -> None:
        if row["contract_version"] != self.contract:
            result.skipped[f"answered under report contract v{row['contract_version']}"] += 1
            return
        if row["engine_name"] == EVALUATOR["name"]:  # a check the questionnaire stopped early
            result.skipped["stopped early at a red flag: not every question was answered"] += 1
            return
        try:
            before = severity(row["outcome"], row["urgency"])
        except KeyError:
            result.skipped["an outcome no version of triage writes"] += 1
            return
        history = None
        if self.days:
            stamp, entry = row["reported_at"], row["id"]
            history = [s.earlier for s in window if s.stamp < stamp and s.id < entry]
            history = history[-HISTORY_LIMIT:]
        try:
            fired = self.engine.fired(self.pack, context_of(answers, history))
        except TriageError:
            raise
        except Exception as exc:  # an engine fault is never "no rule fired"
            raise EvaluationError(
                f"the {self.engine.name} engine failed on entry {row['id']}: {exc}"
            ) from exc
        after = max((self.levels[r] for r in fired), default=0)
        result.replayed += 1
        result.matrix[(before, after)] += 1
        result.logged_under[(row["pack_name"], row["pack_version"], row["pack_sha256"])] += 1
        logged = _RULE.findall(row["decision_json"])
        now = tuple(sorted((r for r in fired if r not in logged), key=self.order.__getitem__))
        gone = tuple(r for r in logged if r not in fired)
        if before != after:
            result.changes.setdefault((before, after, now, gone), array("q")).append(row["id"])
        elif now or gone:
            result.other_rules.setdefault((-1, -1, now, gone), array("q")).append(row["id"])


def _days_before(stamp: str, days: float) -> str:
    from ..log.records import days_before

    return days_before(datetime.fromisoformat(stamp.replace("Z", "+00:00")), days)


# -- worker processes --------------------------------------------------------------------------

_worker: _Replayer | str | None = None
"""The worker process's replayer, or why it could not start."""


def _start_worker(path: str, sha256: str, engine: str | None, db: str) -> None:
    global _worker
    try:
        pack = load_pack(path)
        if pack.sha256 != sha256:
            raise UsageError(f"the rule pack {path} changed while the log was replayed")
        _worker = _Replayer(pack, engine, db)
    except TriageError as exc:  # said by the first range it is given, not as a broken pool
        _worker = f"a replay worker could not start: {exc}"


def _run_part(first: str, last: str, since: str, lookback: str) -> PartResult:
    if not isinstance(_worker, _Replayer):
        raise UsageError(str(_worker), "run the replay again")
    return _worker.run(first, last, since, lookback)


# -- the replay --------------------------------------------------------------------------------


def replay(
    db: str | os.PathLike[str] | None,
    pack: RulePack,
    *,
    since: date | datetime | None = None,
    engine: str | None = "reference",
    workers: int | None = None,
    progress: Progress | None = None,
) -> Replay:
    """Replay the checks of the log at ``db`` answered since ``since`` (default: all) under
    ``pack``. ``workers`` processes (default: one per core) replay ranges of patients; without
    ``workers``, a log of fewer than ``IN_PROCESS`` checks is replayed in this process.
    ``progress`` is called as ranges finish."""
    from ..log import TriageLog
    from ..log.records import MIN_STAMP, days_before, lower_bound

    start = time.perf_counter()
    with TriageLog(None if db is None else os.fspath(db), create=False) as log:
        location, target = log.location, log.target  # the target may hold a password
        first = lower_bound(since) if since is not None else MIN_STAMP
        moment = datetime.fromisoformat(first.replace("Z", "+00:00"))
        lookback = days_before(moment, pack.history_days) if since is not None else MIN_STAMP
        cores = max(1, workers or os.cpu_count() or 1)
        total = log.checks_since(first)
        alone = cores == 1 or (workers is None and total < IN_PROCESS)
        parts = 1 if alone else max(cores * 4, -(-total // PART_SIZE))
        ranges = log.patient_ranges(first, parts, total)
    result = PartResult()
    done = 0
    for part in _results(ranges, total, cores, pack, engine, target, first, lookback):
        result.add(part)
        done += part.replayed + sum(part.skipped.values())
        if progress is not None:
            progress(done, total)
    shown = None if since is None else first
    name = get_engine(engine).name
    return Replay(pack, location, shown, name, result, time.perf_counter() - start)


def _results(
    ranges: list[tuple[str, str, int]],
    total: int,
    cores: int,
    pack: RulePack,
    engine: str | None,
    db: str,
    since: str,
    lookback: str,
) -> Iterator[PartResult]:
    if len(ranges) <= 1:
        replayer = _Replayer(pack, engine, db)
        try:
            for first, last, _ in ranges:
                yield replayer.run(first, last, since, lookback)
        finally:
            replayer.log.close()
        return
    with ProcessPoolExecutor(
        max_workers=min(cores, len(ranges)),
        mp_context=get_context("spawn"),
        initializer=_start_worker,
        initargs=(str(Path(pack.path)), pack.sha256, engine, db),
    ) as pool:
        waiting = iter(ranges)
        running: set[Future[PartResult]] = set()
        while True:  # a few ranges per worker in flight: results are merged, then dropped
            for first, last, _ in itertools.islice(waiting, 2 * cores - len(running)):
                running.add(pool.submit(_run_part, first, last, since, lookback))
            if not running:
                return
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                yield future.result()


def entry_why_not(log: TriageLog, entry: Entry, pack: RulePack) -> tuple[WhyNot, ...] | str:
    """``why_not`` for a check in the log, with the history it had; or, when it cannot be
    given, why: the entry was decided by other rules than ``pack``, under an earlier report
    contract, or stopped early (its answers are not a whole report)."""
    from ..contract.reading import parse_report
    from ..contract.report import CONTRACT_VERSION
    from ..pack.explain import why_not
    from ..pack.history import build_context

    if entry.pack.get("sha256") != pack.sha256:
        return (
            f"this check was decided by {entry.pack.get('name')} {entry.pack.get('version')} "
            f"(sha256 {str(entry.pack.get('sha256'))[:12]}), not by {pack.name} {pack.version} "
            f"(sha256 {pack.sha256[:12]}): give the rules it was decided by with --rules"
        )
    if entry.contract_version != CONTRACT_VERSION:
        return f"this check was answered under report contract v{entry.contract_version}"
    if entry.decision.get("stopped_early"):
        return "the check stopped early, at a red flag, before every question was answered"
    report = parse_report(entry.report, f"entry {entry.id}")
    known = bool(entry.decision.get("history", {}).get("available"))
    history = None
    if known and pack.history_days:
        history = log.history(report.patient_id, before=report.reported_at, days=pack.history_days)
    context = build_context(report, history if known else None)
    fired = [reason["rule"] for reason in entry.decision.get("reasons", [])]
    return why_not(pack, context, fired, entry.outcome, entry.urgency)
