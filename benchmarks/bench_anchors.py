"""Every figure of issue 15 against its anchor, measured in one run on this machine.

Each anchor is implemented here, in this script, and is checked before it is timed: it must
fire the same rules as triage (or write the identical file); if it does not, its ratio is void
and the row says so.

- raw durable-rules: the pack's single-report rules written against durable-rules' own Python
  API (``durable.lang``'s host, one session, ``assert_fact`` then ``retract_fact``, an action per
  rule that notes its name). The rule JSON is what ``durable.lang``'s ``when_all`` builds; it is
  made from the pack here by ``DurableAnchor`` with the workarounds anyone using durable-rules
  directly needs (a presence flag where ``$nex`` would hang, a set flattened into true/false
  fields, a difference computed into the fact where a reference reads uninitialised memory).
- plain Python: one ``if`` per single-report rule of the pack, written out by ``plain_source``
  from the pack's YAML at the start of the run: the source is exactly what one would write by
  hand (``python benchmarks/bench_anchors.py --show-plain`` prints it).
- the import floors: ``python -c "import durable.lang, pydantic, yaml, click"`` and
  ``python -c "import click"``.
- the plain export: one SQL query and ``csv.writer``, writing the file ``triage log export``
  writes (compared byte for byte).
- ``PRAGMA integrity_check`` for ``log verify``.

Timing: CPU time, of this process (in-process figures) or of the child process (whole
commands, up to their exit or their first prompt): on a shared machine, wall-clock times move
with everyone else's work, CPU times much less. In-process figures are the best of several
rounds, each a mean over every vignette, triage and its anchor interleaved round by round;
process figures are the best of N runs, interleaved.

Run: TRIAGE_SHARED=/work/shared python benchmarks/bench_anchors.py [--quick] [--show-plain]
"""

from __future__ import annotations

import contextlib
import csv
import itertools
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import triage  # noqa: E402 - after the path is set, so that tests.support.helpers imports
from tests.support.helpers import NOW, load_case, report, vignette_files  # noqa: E402
from triage.contract.reading import FIELDS, parse_report  # noqa: E402
from triage.engines import get_engine  # noqa: E402
from triage.logic import All, AnyOf, Condition, FieldRef, Not, Test  # noqa: E402
from triage.pack.history import Earlier, build_context  # noqa: E402

QUICK = "--quick" in sys.argv
ROUNDS = 3 if QUICK else 7
RUNS = 7 if QUICK else 21
LOG_ENTRIES = 5_000 if QUICK else 20_000


def best_of(rounds: int, *actions: Callable[[], float]) -> list[float]:
    """The least time of each action over ``rounds`` rounds, the actions interleaved."""
    best = [float("inf")] * len(actions)
    for _ in range(rounds):
        for index, action in enumerate(actions):
            best[index] = min(best[index], action())
    return best


def per_item(function: Callable[[Any], Any], items: list[Any], repeat: int = 20) -> float:
    """CPU seconds per call of ``function`` over ``items``, ``repeat`` times each."""
    started = time.process_time()
    for _ in range(repeat):
        for item in items:
            function(item)
    return (time.process_time() - started) / (repeat * len(items))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# -- the rules as written directly for durable-rules ---------------------------------------------

_NEGATED = {"eq": "ne", "ne": "eq", "ge": "lt", "lt": "ge", "le": "gt", "gt": "le"}
_OPERATOR = {"ne": "$neq", "ge": "$gte", "le": "$lte", "gt": "$gt", "lt": "$lt"}


def single_report_rules(pack: triage.RulePack) -> list[triage.Rule]:
    return [rule for rule in pack.rules if not rule.when.history]


class DurableAnchor:
    """The pack's single-report rules in durable-rules, through its own Python host."""

    def __init__(self, pack: triage.RulePack) -> None:
        from durable.lang import get_host

        self.differences: set[tuple[str, str]] = set()
        self.fired: set[str] = set()
        definition = {
            rule.id: {"all": [{"m": self.condition(rule.condition)}], "run": self._action(rule.id)}
            for rule in single_report_rules(pack)
            if rule.condition is not None
        }
        self.name = f"anchor_{pack.sha256[:12]}"
        self.host = get_host()
        self.host.set_rulesets({self.name: definition})
        self.ids = itertools.count()

    def _action(self, rule_id: str) -> Callable[[Any], None]:
        def action(c: Any) -> None:
            self.fired.add(rule_id)

        return action

    def condition(self, node: Condition, negate: bool = False) -> dict[str, Any]:
        if isinstance(node, Not):
            return self.condition(node.item, not negate)
        if isinstance(node, Test):
            return self.test(node, negate)
        join = "$and" if isinstance(node, All) != negate else "$or"
        parts = [self.condition(item, negate) for item in node.items]
        return parts[0] if len(parts) == 1 else {join: parts}

    def test(self, test: Test, negate: bool) -> dict[str, Any]:
        spec = FIELDS[test.field]
        if spec.kind == "set":  # flattened: one true/false field per answer
            values = {"has": (test.value,), "has_any": test.value}.get(test.op, spec.choices)
            wanted = negate if test.op == "present" and not test.value else not negate
            parts = [{f"{test.field}__{v}": wanted} for v in values]
            join = "$or" if wanted else "$and"
            return parts[0] if len(parts) == 1 else {join: parts}
        if test.op == "present":
            return {f"has__{test.field}": test.value != negate}
        if test.op == "in":
            op, join = ("ne", "$and") if negate else ("eq", "$or")
            parts = [self.compare(test.field, op, v) for v in test.value]
            found = parts[0] if len(parts) == 1 else {join: parts}
        else:
            found = self.compare(test.field, _NEGATED[test.op] if negate else test.op, test.value)
        fields = [test.field] + ([test.value.field] if isinstance(test.value, FieldRef) else [])
        flags = [{f"has__{f}": not negate} for f in fields if not FIELDS[f].required]
        if not flags:
            return found
        return {"$or" if negate else "$and": [*flags, found]}

    def compare(self, field: str, op: str, value: Any) -> dict[str, Any]:
        if isinstance(value, FieldRef):
            self.differences.add((field, value.field))
            field, value = f"{field}__minus__{value.field}", value.plus
        return {field: value} if op == "eq" else {_OPERATOR[op]: {field: value}}

    def fact(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        fact = {k: v for k, v in answers.items() if not isinstance(v, list)}
        for name, spec in FIELDS.items():
            if spec.kind == "set":
                held = answers.get(name, ())
                fact.update({f"{name}__{v}": v in held for v in spec.choices})
            elif not spec.required:
                fact[f"has__{name}"] = name in answers
        for field, other in self.differences:
            if field in answers and other in answers:
                fact[f"{field}__minus__{other}"] = round(answers[field] - answers[other], 4)
        fact["id"], fact["sid"] = next(self.ids), "0"
        return fact

    def evaluate(self, answers: Mapping[str, Any]) -> set[str]:
        from durable.engine import MessageNotHandledException

        self.fired = set()
        fact = self.fact(answers)
        with contextlib.suppress(MessageNotHandledException):
            self.host.assert_fact(self.name, fact)
        fired = self.fired
        with contextlib.suppress(MessageNotHandledException):
            self.host.retract_fact(self.name, fact)
        return fired


# -- the rules as a plain Python function -----------------------------------------------------


def _python(node: Condition) -> str:
    """A condition as a Python expression over ``r``, the normalised answers (absent answers
    are missing keys; a test on one is false)."""
    if isinstance(node, Not):
        return f"not ({_python(node.item)})"
    if isinstance(node, (All, AnyOf)):
        join = " and " if isinstance(node, All) else " or "
        return "(" + join.join(_python(item) for item in node.items) + ")"
    spec, name = FIELDS[node.field], repr(node.field)
    if node.op == "has":
        return f"{node.value!r} in r.get({name}, ())"
    if node.op == "has_any":
        return f"any(v in r.get({name}, ()) for v in {tuple(node.value)!r})"
    if node.op == "present" and spec.kind == "set":
        return f"bool(r.get({name}))" if node.value else f"not r.get({name})"
    if node.op == "present":
        return f"{name} {'in' if node.value else 'not in'} r"
    if node.op == "in" and spec.kind == "yes_no_unsure":
        return "(" + " or ".join(_same(name, "eq", v) for v in node.value) + ")"
    if node.op == "in":
        return f"r.get({name}) in {tuple(node.value)!r}"
    symbol = {"eq": "==", "ne": "!=", "ge": ">=", "le": "<=", "gt": ">", "lt": "<"}[node.op]
    if isinstance(node.value, FieldRef):
        other = repr(node.value.field)
        return (
            f"({name} in r and {other} in r and "
            f"round(r[{name}] - r[{other}], 4) {symbol} {node.value.plus!r})"
        )
    if isinstance(node.value, bool) or spec.kind == "yes_no_unsure":
        return _same(name, node.op, node.value)
    return f"({name} in r and r[{name}] {symbol} {node.value!r})"


def _same(name: str, op: str, value: Any) -> str:
    """Equality on a field holding true, false or a word: true is never "unsure"."""
    if isinstance(value, bool):
        return f"({name} in r and r[{name}] {'is' if op == 'eq' else 'is not'} {value!r})"
    return f"({name} in r and r[{name}] {'==' if op == 'eq' else '!='} {value!r})"


def plain_source(pack: triage.RulePack) -> str:
    lines = ["def fired(r):", "    found = []"]
    for rule in single_report_rules(pack):
        if rule.condition is not None:
            lines += [f"    if {_python(rule.condition)}:", f"        found.append({rule.id!r})"]
    return "\n".join([*lines, "    return found", ""])


def plain_function(pack: triage.RulePack) -> Callable[[Mapping[str, Any]], list[str]]:
    namespace: dict[str, Any] = {}
    exec(compile(plain_source(pack), "<plain anchor>", "exec"), namespace)
    return namespace["fired"]  # type: ignore[no-any-return]


# -- rows ----------------------------------------------------------------------------------------


class Row:
    def __init__(
        self, figure: str, ours: str, anchor: str, ratio: float | None, target: str, met: str
    ) -> None:
        self.cells = (figure, ours, anchor, "-" if ratio is None else f"{ratio:.2f}", target, met)


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} µs"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.1f} ms"


def evaluate_rows(pack: triage.RulePack, reports: list[dict[str, Any]]) -> list[Row]:
    answers = [parse_report(r).answers() for r in reports]
    durable, plain = DurableAnchor(pack), plain_function(pack)
    same_durable = same_plain = True
    for raw, normalised in zip(reports, answers, strict=True):
        ours = {r.rule for r in triage.evaluate(raw, engine="durable-rules").reasons}
        same_durable &= durable.evaluate(normalised) == ours
        same_plain &= set(plain(normalised)) == ours
        ours_reference = {r.rule for r in triage.evaluate(raw, engine="reference").reasons}
        same_plain &= ours_reference == ours
    t_durable, t_raw = best_of(
        ROUNDS,
        lambda: per_item(lambda r: triage.evaluate(r, engine="durable-rules"), reports),
        lambda: per_item(durable.evaluate, answers),
    )
    t_reference, t_plain = best_of(
        ROUNDS,
        lambda: per_item(lambda r: triage.evaluate(r, engine="reference"), reports),
        lambda: per_item(plain, answers, repeat=200),
    )
    return [
        Row(
            "evaluate, durable-rules vs raw durable-rules",
            _us(t_durable),
            _us(t_raw),
            t_raw / t_durable if same_durable else None,
            ">= 0.8",
            _met(same_durable, t_raw / t_durable >= 0.8),
        ),
        Row(
            "evaluate, reference vs plain Python",
            _us(t_reference),
            _us(t_plain),
            t_plain / t_reference if same_plain else None,
            ">= 0.2",
            _met(same_plain, t_plain / t_reference >= 0.2),
        ),
    ]


def _met(valid: bool, met: bool) -> str:
    if not valid:
        return "VOID: the anchor fires other rules"
    return "met" if met else "NOT met"


def history_contexts(checks: int) -> tuple[Any, Any]:
    """A follow-up whose patient has ``checks`` earlier checks over three weeks (every history
    rule is evaluated), and the same follow-up with the history known but empty."""
    days = [21 * (checks - n) / checks for n in range(checks)]
    earlier = []
    for n, day in enumerate(days):
        answers = report(
            patient_id="pt-h",
            reported_at=(NOW - timedelta(days=day)).isoformat(),
            session_id=f"s{n // 2}",
            pain_during=3 + n % 4,
            pain_now=4,
            pain_site="muscle",
            pain_region="thigh",
            **({"pain_trend": "same", "hours_since_session": 30} if n % 2 else {}),
        )
        decision = triage.evaluate(answers, engine="reference")
        earlier.append(Earlier.of_report(decision.report, decision.outcome, decision.urgency))
    current = parse_report(
        report(
            patient_id="pt-h",
            reported_at=NOW.isoformat(),
            session_id=f"s{checks // 2 - 1}",
            hours_since_session=50,
            pain_during=6,
            pain_now=5,
            pain_site="muscle",
            pain_region="thigh",
            pain_trend="same",
        )
    )
    return build_context(current, earlier), build_context(current, [])


def history_row(pack: triage.RulePack, checks: int = 10) -> Row:
    full, empty = history_contexts(checks)
    durable, reference = get_engine("durable-rules"), get_engine("reference")
    same = durable.fired(pack, full) == reference.fired(pack, full)
    same &= durable.fired(pack, empty) == reference.fired(pack, empty)
    times = best_of(
        ROUNDS,
        lambda: per_item(lambda c: durable.fired(pack, c), [full], 300),
        lambda: per_item(lambda c: durable.fired(pack, c), [empty], 300),
        lambda: per_item(lambda c: reference.fired(pack, c), [full], 300),
        lambda: per_item(lambda c: reference.fired(pack, c), [empty], 300),
    )
    d_each = (times[0] - times[1]) / checks
    r_each = (times[2] - times[3]) / checks
    ratio = d_each / r_each if r_each > 0 else float("inf")
    return Row(
        f"durable-rules cost per earlier check ({checks} checks; engine time)",
        f"{_us(d_each)} each ({_us(times[0])} in all)",
        f"reference {_us(r_each)} each ({_us(times[2])} in all)",
        ratio if same else None,
        "<= 2x",
        _met(same, ratio <= 2),
    )


# -- whole processes -------------------------------------------------------------------------


def _environment(folder: Path) -> dict[str, str]:
    env = {**os.environ, "TRIAGE_DB": str(folder / "log.db"), "NO_COLOR": "1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # as installed: byte code is cached
    return env


def _run(command: list[str], env: dict[str, str]) -> float:
    """The CPU seconds of one run of ``command``."""
    started = _children_cpu()
    subprocess.run(command, check=True, capture_output=True, env=env)
    return _children_cpu() - started


def _first_prompt(command: list[str], env: dict[str, str]) -> float:
    """The CPU seconds the interactive check takes to print its first prompt ('> ' on stderr):
    it is stopped there, waiting for an answer."""
    started = _children_cpu()
    process = subprocess.Popen(
        command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    )
    assert process.stderr is not None
    seen = b""
    try:
        while b"\n> " not in seen and not seen.startswith(b"> "):
            chunk = os.read(process.stderr.fileno(), 4096)
            if not chunk:
                raise RuntimeError(f"no prompt: {seen.decode(errors='replace')}")
            seen += chunk
    finally:
        process.kill()
        process.wait()
    return _children_cpu() - started


_ENTRY_POINT = "import sys\nfrom triage_cli.cli import main\nsys.exit(main())"
"""The console script's code (on PYTHONPATH, this runs another copy of triage)."""


def process_rows() -> list[Row]:
    python = sys.executable
    triage_command = [python, "-c", _ENTRY_POINT]  # what the 'triage' script runs
    case = str(vignette_files()[9])
    floor = [python, "-c", "import durable.lang, pydantic, yaml, click"]
    click_floor = [python, "-c", "import click"]
    check = [*triage_command, "check", "--answers", case, "--json", "--no-log"]
    interactive = [*triage_command, "check", "--interactive"]
    with tempfile.TemporaryDirectory() as folder:
        env = _environment(Path(folder))
        for command in (floor, click_floor, check):  # warm up, and write the byte code
            _run(command, env)
        _first_prompt(interactive, env)
        t_check, t_floor, t_prompt, t_click = best_of(
            RUNS,
            lambda: _run(check, env),
            lambda: _run(floor, env),
            lambda: _first_prompt(interactive, env),
            lambda: _run(click_floor, env),
        )
    return [
        Row(
            "triage check --answers F --json --no-log vs import floor",
            _ms(t_check),
            _ms(t_floor),
            t_check / t_floor,
            "<= 1.3x",
            "met" if t_check / t_floor <= 1.3 else "NOT met",
        ),
        Row(
            "first interactive prompt vs python -c 'import click'",
            _ms(t_prompt),
            _ms(t_click),
            t_prompt / t_click,
            "<= 1.5x",
            "met" if t_prompt / t_click <= 1.5 else "NOT met",
        ),
    ]


# -- the triage log ----------------------------------------------------------------------------


def fill_log(path: Path, total: int, reports: list[dict[str, Any]]) -> None:
    from datetime import datetime, timezone

    pool = [triage.evaluate(r) for r in reports]
    start = datetime(2025, 1, 1, tzinfo=timezone.utc)
    with triage.TriageLog(path) as log:
        for first in range(0, total, 5_000):
            batch = []
            for n in range(first, min(first + 5_000, total)):
                base = pool[n % len(pool)]
                answered = {
                    "patient_id": f"pt-{n % 500:04d}",
                    "reported_at": start + timedelta(minutes=n),
                }
                batch.append(
                    base.model_copy(update={"report": base.report.model_copy(update=answered)})
                )
            log.record_many(batch)
        for entry_id in range(1, total + 1, 7):  # a review on one entry in seven
            log.review(entry_id, by="Dr Anchor", verdict="accepted", note="=looks fine")


def plain_export(path: Path, output: Path) -> int:
    """The CSV a clinician would get from a plain script: one query, csv.writer, and text
    cells starting like a formula quoted (as ``triage log export`` does: the files must be
    identical)."""
    from triage.views.export import CSV_COLUMNS

    def neutralised(value: Any) -> Any:
        if isinstance(value, str) and value.startswith(("=", "+", "-", "@", "\t", "\r")):
            return "'" + value
        return "" if value is None else value

    columns = ", ".join(_DERIVED_SQL.get(c, f"e.{c}") for c in CSV_COLUMNS)
    conn = sqlite3.connect(path)
    count = 0
    with open(output, "w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(CSV_COLUMNS)
        for row in conn.execute(f"SELECT {columns} FROM entries e ORDER BY e.id"):
            writer.writerow([neutralised(value) for value in row])
            count += 1
    conn.close()
    return count


_LAST_REVIEW = "(SELECT {} FROM reviews r WHERE r.entry_id = e.id ORDER BY r.id DESC LIMIT 1)"
_DERIVED_SQL = {
    "rules_fired": "(SELECT coalesce(group_concat(json_extract(value, '$.rule'), ';'), '') "
    "FROM json_each(e.decision_json, '$.reasons'))",
    "pain_during": "json_extract(e.report_json, '$.pain_during')",
    "pain_now": "json_extract(e.report_json, '$.pain_now')",
    "reviews": "(SELECT count(*) FROM reviews r WHERE r.entry_id = e.id)",
    **{
        f"last_{name}": _LAST_REVIEW.format(name)
        for name in ("verdict", "reviewer", "reviewed_at", "note")
    },
}
"""The export's computed columns, in SQL."""


def triage_export(path: Path, output: Path) -> int:
    from triage.views.export import write_export

    output.unlink(missing_ok=True)
    with triage.TriageLog(path, create=False) as log:
        if hasattr(log, "export_rows"):  # what 'triage log export' reads
            return write_export(log.export_rows(whole=False), "csv", output)
        return write_export(log.export(), "csv", output)


def log_rows(reports: list[dict[str, Any]]) -> list[Row]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log.db"
        fill_log(path, LOG_ENTRIES, reports)
        ours, plain = Path(folder) / "ours.csv", Path(folder) / "plain.csv"
        triage_export(path, ours)
        plain_export(path, plain)
        same = ours.read_bytes() == plain.read_bytes()

        def verify() -> float:
            started = time.process_time()
            with triage.TriageLog(path, create=False) as log:
                assert log.verify().ok
            return time.process_time() - started

        def integrity() -> float:
            started = time.process_time()
            conn = sqlite3.connect(path)
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            conn.close()
            return time.process_time() - started

        def timed(export: Callable[[Path, Path], int], output: Path) -> Callable[[], float]:
            def run() -> float:
                started = time.process_time()
                export(path, output)
                return time.process_time() - started

            return run

        t_ours, t_plain = best_of(ROUNDS, timed(triage_export, ours), timed(plain_export, plain))
        t_verify, t_integrity = best_of(max(2, ROUNDS // 2), verify, integrity)
    entries = LOG_ENTRIES + len(range(1, LOG_ENTRIES + 1, 7))
    return [
        Row(
            f"log verify ({entries:,} records), whole log",
            f"{_ms(t_verify)} ({t_verify / entries * 1e6:.1f} µs/record)",
            f"integrity_check {_ms(t_integrity)}",
            t_verify / t_integrity,
            "re-verify O(new)",
            "not in this branch (the checkpoints come with the PostgreSQL issue)",
        ),
        Row(
            f"CSV export ({LOG_ENTRIES:,} entries) vs plain sqlite3 + csv",
            _ms(t_ours),
            _ms(t_plain),
            t_ours / t_plain if same else None,
            "<= 1.2x",
            ("met" if t_ours / t_plain <= 1.2 else "NOT met") if same else "VOID: files differ",
        ),
    ]


def print_table(rows: list[Row]) -> None:
    header = ("figure", "triage", "anchor", "ratio", "target", "")
    widths = [max(len(r[i]) for r in [header, *(row.cells for row in rows)]) for i in range(6)]
    for cells in [header, *(row.cells for row in rows)]:
        print("  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)))


def main() -> None:
    pack = triage.default_pack()
    if "--show-plain" in sys.argv:
        print(plain_source(pack))
        return
    reports = [load_case(p)["report"] for p in vignette_files()]
    print(
        f"{len(reports)} vignettes, pack {pack.name} {pack.version} "
        f"({len(pack.rules)} rules, {len(single_report_rules(pack))} single-report); "
        f"best of {ROUNDS} rounds in process, of {RUNS} runs for processes",
        flush=True,
    )
    rows = evaluate_rows(pack, reports)
    rows.append(history_row(pack))
    rows += process_rows()
    rows += log_rows(reports)
    print_table(rows)


if __name__ == "__main__":
    main()
