"""Every figure of issue 26 ("honest anchors") against its anchor, measured in one run here.

Each anchor is implemented in this script (the server's in benchmarks/bench_serve.py) and checked
before it is timed: it must fire the same rules as triage, make the same decision, write the same
row or reach the same head; if it does not, the row says VOID and gives no ratio or verdict.
Every row shows the product's figure, the anchor's, the ratio (product over anchor; anchor over
product for "evaluate vs plain Python"; 1 worker over 2 for evaluate_many), the goal, met or not
met, and the mean 1-minute load average sampled before and after each round of the row.

The anchors:

- server (bench_serve.server_anchors): a bare Starlette app on uvicorn doing ``triage.evaluate``
  and one INSERT + COMMIT (WAL, synchronous=FULL) per request, driven by the same client as
  ``triage serve``, product and anchor in turn, for 1, 4 and 16 clients; the server process's
  CPU per check (/proc) and the client's p99.
- ``triage.check`` in process: ``triage.evaluate`` + one INSERT + COMMIT of the decision into a
  plain table (WAL, synchronous=FULL).
- ``evaluate_many``: linear scaling, 2x with 2 workers (a wall-clock figure: a speed-up is one).
- plain Python, twice: one ``if`` per single-report rule of the pack, written out by
  ``plain_source`` from the pack's YAML (matching only), and ``decide``, which also builds the
  decision as a dict (outcome, urgency, reasons with their answers, advice, notes, safety net,
  pack, engine, report); ``--show-plain`` prints its source.
- the import floors: ``python -c "import durable.lang, pydantic, yaml, click"`` and
  ``python -c "import click"``; and a second row with pydantic's models loaded (``import
  pydantic`` alone loads none of them: the report contract, a pydantic model, needs them).
- append: a bare INSERT + COMMIT of the very row ``TriageLog.record`` wrote, into a log of the same
  schema (WAL, synchronous=FULL), one transaction each; and, in a second row, the whole
  transaction ``record`` makes (the entry, the worklist's row and tally, the alert outbox) in bare
  statements.
- ``verify --full``: a plain loop reading every record in chain order, canonical JSON of the
  columns its form covers, SHA-256, link to the previous hash (no PRAGMA integrity_check); and,
  in a second row, the same loop plus the storage checks ``verify --full`` also runs (``PRAGMA
  integrity_check`` and the worklist's one query), so that the walk's own cost shows.
- replay: ``triage.evaluate`` (reference engine) of each logged check with the earlier checks of
  its window, the inputs read beforehand.
- durable-rules: the pack's single-report rules compiled for durable-rules' C engine
  (``durable_rules_engine``) and driven directly: ``create_ruleset``; per report ``assert_fact``,
  ``start_action_for_state``/``complete_and_start_action`` until none is left, ``retract_fact``
  (the workarounds anyone using durable-rules directly needs: a presence flag where ``$nex``
  would hang, a set flattened into true/false fields, a difference computed into the fact).
- the plain export: one SQL query and ``csv.writer``, writing the file ``triage log export``
  writes (compared byte for byte).

Timing: CPU time of this process (in-process figures), of the child process (whole commands, up
to their exit or their first prompt) or of the server process: on a shared machine, wall-clock
times move with everyone else's work, CPU times much less. Figures are the best of several rounds,
product and anchor interleaved round by round. Only evaluate_many's speed-up and the server's
p99 are wall-clock times, and they move with the load shown.

Run: TRIAGE_SHARED=/work/shared python benchmarks/bench_anchors.py [--quick] [--show-plain]
(progress and each row as it is measured go to stderr; the table to stdout)
"""

from __future__ import annotations

import csv
import hashlib
import itertools
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import triage  # noqa: E402 - after the path is set, so that tests.support.helpers imports
from tests.support.helpers import NOW, load_case, report, vignette_files  # noqa: E402
from triage.contract.reading import FIELDS, parse_report  # noqa: E402
from triage.engines import get_engine  # noqa: E402
from triage.log import chain  # noqa: E402
from triage.log.records import TABLES  # noqa: E402
from triage.logic import All, AnyOf, Condition, FieldRef, Not, Test  # noqa: E402
from triage.outcomes import severity  # noqa: E402
from triage.pack.history import Earlier, build_context  # noqa: E402

QUICK = "--quick" in sys.argv
ONLY = next((a.split("=", 1)[1].split(",") for a in sys.argv if a.startswith("--only=")), None)
"""``--only=log,append``: just those sections (their names as printed)."""
ROUNDS = 3 if QUICK else 7
RUNS = 7 if QUICK else 21
LOG_ENTRIES = 5_000 if QUICK else 20_000


def best_of(rounds: int, *actions: Callable[[], float]) -> list[float]:
    """The least time of each action over ``rounds`` rounds, the actions interleaved; the load
    average is sampled before and after each round (``load()``)."""
    best = [float("inf")] * len(actions)
    _LOADS[:] = [os.getloadavg()[0]]
    for _ in range(rounds):
        for index, action in enumerate(actions):
            best[index] = min(best[index], action())
        _LOADS.append(os.getloadavg()[0])
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
    """The pack's single-report rules in durable-rules' C engine (``durable_rules_engine``),
    driven directly: ``create_ruleset`` once; per report ``assert_fact``, then
    ``start_action_for_state`` and ``complete_and_start_action`` until no rule is left (the rule
    id is the key of each result), then ``retract_fact``. No Python host, no actions."""

    def __init__(self, pack: triage.RulePack) -> None:
        import durable_rules_engine as core  # type: ignore[import-not-found]

        self.core = core
        self.differences: set[tuple[str, str]] = set()
        definition = {
            rule.id: {"all": [{"m": self.condition(rule.condition)}]}
            for rule in single_report_rules(pack)
            if rule.condition is not None
        }
        text = json.dumps(definition, ensure_ascii=False)
        self.handle = core.create_ruleset(f"anchor_c_{pack.sha256[:12]}", text)
        self.ids = itertools.count()

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
        core, handle = self.core, self.handle
        text = json.dumps(self.fact(answers), ensure_ascii=False)
        code, state = core.assert_fact(handle, text)
        if code not in (0, 1):  # 0: rules matched; 1: none did
            raise RuntimeError(f"durable-rules refused the fact (code {code})")
        fired = set()
        result = core.start_action_for_state(handle, state)
        while result is not None:
            messages = result if isinstance(result, str) else result[1]
            fired.add(messages[2 : messages.index('"', 2)])  # '{"rule id":{...}}'
            result = core.complete_and_start_action(handle, state)
        core.retract_fact(handle, text)
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


def plain_decision_source(pack: triage.RulePack) -> str:
    """``fired`` and the pack's notes as plain ``if``s, and ``decide``: the decision as a plain
    dict (the tables it reads, one entry per rule or note, are made from the pack at start)."""
    lines = [plain_source(pack), "def noted(r):", "    found = []"]
    for note in pack.notes:
        lines += [f"    if {_python(note.condition)}:", f"        found.append({note.id!r})"]
    lines += ["    return found", ""]
    return "\n".join(lines) + _DECIDE


_DECIDE = """
def decide(r):
    found = fired(r)
    found.sort(key=ORDER.__getitem__)
    outcome, urgency = TOP[found[0]] if found else ("continue", None)
    advice = ()
    if outcome == "continue":
        advice = tuple(ADVICE[k] for k in found if ADVICE[k]) or (NO_ALERT,)
    reasons = [
        {**REASON[k], "matched": {f: r[f] for f in READS[k] if f in r}} for k in found
    ]
    notes = [
        {**NOTE[k], "matched": {f: r[f] for f in NOTE_READS[k] if f in r}} for k in noted(r)
    ]
    decision = {"outcome": outcome}
    if urgency is not None:
        decision["urgency"] = urgency
    decision.update(
        reasons=reasons,
        advice=advice,
        rule_pack=PACK,
        engine=ENGINE,
        history=HISTORY,
        report=dict(r),
        notes=notes,
        safety_net=SAFETY.get((outcome, urgency), ()),
        contacts=CONTACTS,
    )
    headline = next((HEADLINE[k] for k in found if HEADLINE[k]), None)
    if headline is not None and outcome == "continue":
        decision["headline"] = headline
    return decision
"""


def plain_decider(
    pack: triage.RulePack, reports: list[dict[str, Any]]
) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    """``decide`` with its tables. The safety net's sentences, which depend on the outcome (and
    the rules shown), are a table made from triage's decisions of the vignettes: a plain
    implementation would hold them as a table too."""
    from triage.logic import fields_of
    from triage.outcomes import severity

    reference = [triage.evaluate(r, engine="reference").to_dict() for r in reports]
    namespace: dict[str, Any] = {
        "ORDER": {r.id: (-severity(r.outcome, r.urgency), n) for n, r in enumerate(pack.rules)},
        "TOP": {r.id: (r.outcome, r.urgency) for r in pack.rules},
        "ADVICE": {r.id: r.advice for r in pack.rules},
        "HEADLINE": {r.id: r.headline for r in pack.rules},
        "NO_ALERT": pack.no_alert,
        "REASON": {
            r.id: {
                k: v
                for k, v in {
                    "rule": r.id,
                    "title": r.title,
                    "outcome": r.outcome,
                    "urgency": r.urgency,
                    "patient": r.patient,
                    "clinician": r.clinician,
                    "source": pack.source(r),
                }.items()
                if v is not None
            }
            for r in pack.rules
        },
        "READS": {
            r.id: tuple(dict.fromkeys(fields_of(r.condition))) if r.condition else ()
            for r in pack.rules
        },
        "NOTE": {
            n.id: {
                "note": n.id,
                "title": n.title,
                "patient": n.patient,
                "clinician": n.clinician,
                "source": pack.source(n),
            }
            for n in pack.notes
        },
        "NOTE_READS": {n.id: tuple(dict.fromkeys(fields_of(n.condition))) for n in pack.notes},
        "PACK": reference[0]["rule_pack"],
        "ENGINE": reference[0]["engine"],
        "HISTORY": reference[0]["history"],
        "CONTACTS": reference[0]["contacts"],
        "SAFETY": {(d["outcome"], d.get("urgency")): tuple(d["safety_net"]) for d in reference},
    }
    exec(compile(plain_decision_source(pack), "<plain decision>", "exec"), namespace)
    return namespace["decide"]  # type: ignore[no-any-return]


def _decision_key(decision: Mapping[str, Any]) -> tuple[Any, ...]:
    """What the plain decision must agree with triage's on."""
    return (
        decision["outcome"],
        decision.get("urgency"),
        [r["rule"] for r in decision["reasons"]],
        tuple(decision["advice"]),
        [n["note"] for n in decision.get("notes", ())],
        decision.get("headline"),
    )


# -- rows ----------------------------------------------------------------------------------------

_LOADS: list[float] = []
"""The 1-minute load average before the last ``best_of`` and after each of its rounds."""


def load() -> float:
    return statistics.mean(_LOADS) if _LOADS else os.getloadavg()[0]


class Row:
    """One figure against its anchor: ``ratio`` is the product's figure over the anchor's (or
    the anchor's over the product's for a goal of at least), checked against ``goal`` ("<= 1.3x",
    ">= 0.33"); ``void`` says why the anchor does not do the same work (no verdict then)."""

    def __init__(
        self,
        figure: str,
        ours: str,
        anchor: str,
        ratio: float | None,
        goal: str,
        load: float,
        void: str | None = None,
        verdict: str | None = None,
    ) -> None:
        bound = float(goal.split()[1].rstrip("x"))
        if verdict is None:
            if void is not None or ratio is None:
                verdict = f"VOID: {void}"
            else:
                met = ratio <= bound if goal.startswith("<=") else ratio >= bound
                verdict = "met" if met else "not met"
        shown = "-" if ratio is None or void is not None else f"{ratio:.2f}"
        self.cells = (figure, ours, anchor, shown, goal, verdict, f"{load:.2f}")


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:,.1f} µs"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:,.2f} ms"


def durable_rows(pack: triage.RulePack, reports: list[dict[str, Any]]) -> list[Row]:
    """triage.evaluate with durable-rules (and the engine alone) vs the C engine driven
    directly with the same facts."""
    answers = [parse_report(r).answers() for r in reports]
    contexts = [build_context(parse_report(r), None) for r in reports]
    anchor, engine = DurableAnchor(pack), get_engine("durable-rules")
    same = True
    for raw, normalised, context in zip(reports, answers, contexts, strict=True):
        ours = {r.rule for r in triage.evaluate(raw, engine="durable-rules").reasons}
        same &= anchor.evaluate(normalised) == ours == engine.fired(pack, context)
    t_full, t_engine, t_anchor = best_of(
        ROUNDS,
        lambda: per_item(lambda r: triage.evaluate(r, engine="durable-rules"), reports),
        lambda: per_item(lambda c: engine.fired(pack, c), contexts),
        lambda: per_item(anchor.evaluate, answers),
    )
    void = None if same else "the anchor fires other rules"
    return [
        Row(
            "evaluate (durable-rules, full API) vs C engine driven directly",
            _us(t_full),
            _us(t_anchor),
            t_full / t_anchor,
            "<= 1.3x",
            load(),
            void,
        ),
        Row(
            "  the durable-rules engine alone (.fired) vs the same anchor",
            _us(t_engine),
            _us(t_anchor),
            t_engine / t_anchor,
            "<= 1.3x",
            load(),
            void,
        ),
    ]


def plain_rows(pack: triage.RulePack, reports: list[dict[str, Any]]) -> list[Row]:
    """triage.evaluate with the reference engine (the full API: validation, matching, the
    decision) vs plain Python, matching only and building the whole decision."""
    answers = [parse_report(r).answers() for r in reports]
    plain, decide = plain_function(pack), plain_decider(pack, reports)
    same_match = same_decision = True
    for raw, normalised in zip(reports, answers, strict=True):
        ours = triage.evaluate(raw, engine="reference")
        same_match &= set(plain(normalised)) == {r.rule for r in ours.reasons}
        same_decision &= _decision_key(decide(normalised)) == _decision_key(ours.to_dict())
    t_reference, t_match, t_decide = best_of(
        ROUNDS,
        lambda: per_item(lambda r: triage.evaluate(r, engine="reference"), reports),
        lambda: per_item(plain, answers, repeat=200),
        lambda: per_item(decide, answers, repeat=100),
    )
    return [
        Row(
            "evaluate (reference, full API) vs plain Python: matching only",
            _us(t_reference),
            _us(t_match),
            t_match / t_reference,
            ">= 0.33",
            load(),
            None if same_match else "the anchor fires other rules",
        ),
        Row(
            "evaluate (reference, full API) vs plain Python: full decision",
            _us(t_reference),
            _us(t_decide),
            t_decide / t_reference,
            ">= 0.33",
            load(),
            None if same_decision else "the plain decision differs",
        ),
    ]


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
        f"durable-rules cost per earlier check ({checks} checks; engine time) vs reference",
        f"{_us(d_each)} each ({_us(times[0])} in all)",
        f"{_us(r_each)} each ({_us(times[2])} in all)",
        ratio,
        "<= 2x",
        load(),
        None if same else "the engines fire other rules",
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
    models_floor = [
        python,
        "-c",
        "import durable.lang, yaml, click; from pydantic import BaseModel",
    ]
    click_floor = [python, "-c", "import click"]
    check = [*triage_command, "check", "--answers", case, "--json", "--no-log"]
    interactive = [*triage_command, "check", "--interactive"]
    with tempfile.TemporaryDirectory() as folder:
        env = _environment(Path(folder))
        for command in (floor, models_floor, click_floor, check):  # warm up, write byte code
            _run(command, env)
        _first_prompt(interactive, env)
        t_check, t_floor, t_models, t_prompt, t_click = best_of(
            RUNS,
            lambda: _run(check, env),
            lambda: _run(floor, env),
            lambda: _run(models_floor, env),
            lambda: _first_prompt(interactive, env),
            lambda: _run(click_floor, env),
        )
    return [
        Row(
            "triage check --answers F --json --no-log (process CPU) vs import floor",
            _ms(t_check),
            _ms(t_floor),
            t_check / t_floor,
            "<= 1.5x",
            load(),
        ),
        Row(
            "  vs the same imports with pydantic's models loaded (from pydantic import BaseModel)",
            _ms(t_check),
            _ms(t_models),
            t_check / t_models,
            "<= 1.5x",
            load(),
        ),
        Row(
            "  first interactive prompt vs python -c 'import click'",
            _ms(t_prompt),
            _ms(t_click),
            t_prompt / t_click,
            "<= 1.5x",
            load(),
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


def plain_verify(path: Path) -> tuple[bool, int, str]:
    """The anchor of ``verify --full``: read every record in chain order, canonical JSON of the
    columns its form covers, SHA-256, compared with the stored hash and the next record's link.
    Returns whether the chain holds, its length and its head."""
    covered = {
        (kind, form): chain.covered(kind, form) for kind in TABLES for form in chain.forms(kind)
    }
    conn = sqlite3.connect(path)
    records = []
    for kind, table in TABLES.items():
        cursor = conn.execute(f"SELECT * FROM {table}")
        names = [column[0] for column in cursor.description]
        records += [(kind, dict(zip(names, values, strict=True))) for values in cursor]
    conn.close()
    records.sort(key=lambda item: item[1]["seq"])
    prev, seq = chain.GENESIS, 0
    for kind, row in records:
        seq += 1
        if row["seq"] != seq or row["prev_hash"] != prev:
            return False, seq, prev
        payload = {"kind": kind, **{name: row[name] for name in covered[kind, row["form"]]}}
        text = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        if hashlib.sha256(text.encode("utf-8")).hexdigest() != row["hash"]:
            return False, seq, prev
        prev = row["hash"]
    return True, seq, prev


def plain_storage_check(path: Path) -> bool:
    """What ``verify --full`` checks of the storage besides the chain, in plain sqlite3: SQLite's
    whole integrity check, and one query over the worklist (``sql.worklist_check``)."""
    from triage.log import sql
    from triage.log.sqlite import D

    conn = sqlite3.connect(path)
    try:
        intact = conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        conn.execute(*sql.worklist_check(D)).fetchall()
    finally:
        conn.close()
    return intact


def replay_inputs(path: Path, pack: triage.RulePack) -> list[tuple[dict[str, Any], list[Any], int]]:
    """Each logged check as ``evaluate`` takes it in a replay: its answers, the patient's earlier
    checks in the pack's window with their logged outcomes, and its logged severity."""
    from triage.log.records import days_before
    from triage.outcomes import severity

    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT id, patient_id, reported_at, session_id, report_json, outcome, urgency "
        "FROM entries ORDER BY patient_id, reported_at, id"
    ).fetchall()
    conn.close()
    inputs, window, patient = [], [], None
    for entry, patient_id, stamp, session_id, report_json, outcome, urgency in rows:
        if patient_id != patient:
            patient, window = patient_id, []
        answers = {**json.loads(report_json), "session_id": session_id}
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        low = days_before(moment, pack.history_days)
        history = [e for s, i, e in window if low <= s < stamp and i < entry]
        inputs.append((answers, history, severity(outcome, urgency)))
        window.append((stamp, entry, Earlier(answers, outcome, urgency)))
    return inputs


def log_rows(pack: triage.RulePack, reports: list[dict[str, Any]]) -> list[Row]:
    from collections import Counter

    from triage.checking.replay import replay
    from triage.outcomes import severity

    rows = []
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log.db"
        fill_log(path, LOG_ENTRIES, reports)
        ours, plain = Path(folder) / "ours.csv", Path(folder) / "plain.csv"
        triage_export(path, ours)
        plain_export(path, plain)
        same_export = ours.read_bytes() == plain.read_bytes()

        with triage.TriageLog(path, create=False) as log:
            result = log.verify(full=True)
        records = result.entries + result.reviews + result.patients + result.contacts
        same_verify = result.ok and plain_verify(path) == (True, records, result.head)

        def verify() -> float:
            started = time.process_time()
            with triage.TriageLog(path, create=False) as log:
                assert log.verify(full=True).ok
            return time.process_time() - started

        def plain_verified() -> float:
            started = time.process_time()
            assert plain_verify(path)[0]
            return time.process_time() - started

        def plain_verified_and_checked() -> float:
            started = time.process_time()
            assert plain_verify(path)[0] and plain_storage_check(path)
            return time.process_time() - started

        def timed(export: Callable[[Path, Path], int], output: Path) -> Callable[[], float]:
            def run() -> float:
                started = time.process_time()
                export(path, output)
                return time.process_time() - started

            return run

        few = max(2, ROUNDS - 1)
        t_verify, t_plain_verify, t_checked = best_of(
            few, verify, plain_verified, plain_verified_and_checked
        )
        for anchor, words in ((t_plain_verify, ""), (t_checked, ", anchor + storage checks")):
            rows.append(
                Row(
                    f"log verify --full per record ({records:,} records{words})",
                    f"{_us(t_verify / records)} ({_ms(t_verify)})",
                    f"{_us(anchor / records)} ({_ms(anchor)})",
                    t_verify / anchor,
                    "<= 1.2x",
                    load(),
                    None if same_verify else "the plain loop does not reach the same head",
                )
            )
        t_ours, t_plain = best_of(few, timed(triage_export, ours), timed(plain_export, plain))
        rows.append(
            Row(
                f"CSV export ({LOG_ENTRIES:,} entries) vs plain sqlite3 + csv",
                _ms(t_ours),
                _ms(t_plain),
                t_ours / t_plain,
                "<= 1.2x",
                load(),
                None if same_export else "the files differ",
            )
        )

        inputs = replay_inputs(path, pack)
        replayed = replay(path, pack, engine="reference", workers=1)
        matrix = Counter()
        for answers, history, before in inputs:
            decision = triage.evaluate(answers, engine="reference", history=history)
            matrix[(before, severity(decision.outcome, decision.urgency))] += 1
        same_replay = replayed.result.replayed == len(inputs) and matrix == Counter(
            replayed.result.matrix
        )

        def replay_run() -> float:
            started = time.process_time()
            replay(path, pack, engine="reference", workers=1)
            return time.process_time() - started

        def evaluate_run() -> float:
            started = time.process_time()
            for answers, history, _ in inputs:
                triage.evaluate(answers, engine="reference", history=history)
            return time.process_time() - started

        t_replay, t_evaluate = best_of(few, replay_run, evaluate_run)
        each = len(inputs)
        rows.append(
            Row(
                f"replay per check ({each:,} checks, reference, 1 worker) vs evaluate per check",
                _us(t_replay / each),
                _us(t_evaluate / each),
                t_replay / t_evaluate,
                "<= 1.1x",
                load(),
                None if same_replay else "evaluate gives other outcomes than the replay",
            )
        )
    return rows


# -- in-process checks, appends and evaluate_many ------------------------------------------------


def _durable_connection(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = FULL")
    return conn


_PLAIN_TABLE = """CREATE TABLE checks (
    id INTEGER PRIMARY KEY, patient_id TEXT NOT NULL, reported_at TEXT NOT NULL,
    outcome TEXT NOT NULL, urgency TEXT, report_json TEXT NOT NULL, decision_json TEXT NOT NULL
)"""


def check_row(reports: list[dict[str, Any]]) -> Row:
    """``triage.check`` with an open log (each check a new patient: no history nor record, so
    that the decisions are evaluate's) vs ``evaluate`` + one INSERT + COMMIT of the decision
    into a plain table (WAL, synchronous=FULL, as the log)."""
    patients = itertools.count()
    with tempfile.TemporaryDirectory() as folder:
        conn = _durable_connection(Path(folder) / "plain.db")
        conn.execute(_PLAIN_TABLE)
        insert = "INSERT INTO checks VALUES (NULL, ?, ?, ?, ?, ?, ?)"

        def plain_check(raw: dict[str, Any]) -> Any:
            decision = triage.evaluate(raw)
            data = decision.to_dict()
            answers = data["report"]
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                insert,
                (
                    answers["patient_id"],
                    answers["reported_at"],
                    decision.outcome,
                    decision.urgency,
                    json.dumps(answers, separators=(",", ":"), ensure_ascii=False),
                    json.dumps(data, separators=(",", ":"), ensure_ascii=False),
                ),
            )
            conn.execute("COMMIT")
            return decision

        with triage.TriageLog(Path(folder) / "log.db") as log:

            def ours(raw: dict[str, Any]) -> Any:
                result = triage.check({**raw, "patient_id": f"pt-c{next(patients)}"}, log=log)
                assert result.logged
                return result.decision

            same = True
            for raw in reports:
                a, b = ours(raw), plain_check(raw)
                same &= (a.outcome, a.urgency, [r.rule for r in a.reasons]) == (
                    b.outcome,
                    b.urgency,
                    [r.rule for r in b.reasons],
                )
            same &= conn.execute("SELECT count(*) FROM checks").fetchone()[0] == len(reports)
            repeat = 2 if QUICK else 5
            t_ours, t_plain = best_of(
                ROUNDS,
                lambda: per_item(ours, reports, repeat),
                lambda: per_item(plain_check, reports, repeat),
            )
        conn.close()
    return Row(
        "triage.check in process (no HTTP) vs evaluate + INSERT + COMMIT",
        _ms(t_ours),
        _ms(t_plain),
        t_ours / t_plain,
        "<= 1.5x",
        load(),
        None if same else "the anchor decides otherwise",
    )


_WORKLIST_NEXT = (
    "UPDATE worklist SET next_at = ? WHERE patient_id = ? "
    "AND reported_at < ? AND (next_at IS NULL OR next_at > ?)"
)
_WORKLIST_OPEN = (
    "INSERT INTO worklist (entry_id, severity, reported_at, patient_id, next_at) VALUES "
    "(?, ?, ?, ?, (SELECT min(reported_at) FROM entries WHERE patient_id = ? AND reported_at > ?))"
)
_TALLY = (
    "INSERT INTO worklist_tally (severity, checks) VALUES (?, 1) "
    "ON CONFLICT (severity) DO UPDATE SET checks = checks + 1"
)
_OUTBOX = (
    "INSERT INTO alert_outbox (subscription_id, entry_id, created_at, status, attempts, due_at) "
    "SELECT id, ?, ?, 'pending', 0, ? FROM alert_subscriptions "
    "WHERE removed_at IS NULL AND min_severity <= ? ORDER BY id"
)
_APPEND_TABLES = {
    "entries": "id",
    "worklist": "entry_id",
    "worklist_tally": "severity",
    "alert_outbox": "id",
}


def _insert_only(conn: sqlite3.Connection, insert: str, row: dict[str, Any]) -> None:
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(insert, list(row.values()))
    conn.execute("COMMIT")


def _whole_transaction(conn: sqlite3.Connection, insert: str, row: dict[str, Any]) -> None:
    """The entry, the worklist's row and tally, and the alert outbox, as ``record`` keeps them,
    in one transaction of bare statements."""
    at, patient, entry = row["reported_at"], row["patient_id"], row["id"]
    level = severity(row["outcome"], row["urgency"])  # the worklist's order
    conn.execute("BEGIN IMMEDIATE")
    conn.execute(insert, list(row.values()))
    conn.execute(_WORKLIST_NEXT, (at, patient, at, at))
    if level:
        conn.execute(_WORKLIST_OPEN, (entry, level, at, patient, patient, at))
        conn.execute(_TALLY, (level,))
    conn.execute(_OUTBOX, (entry, row["recorded_at"], row["recorded_at"], level))
    conn.execute("COMMIT")


def append_rows(reports: list[dict[str, Any]]) -> list[Row]:
    """``TriageLog.record`` (with one alert subscription, at the default level) vs two anchors
    given the very rows it wrote, into logs of the same schema (WAL, synchronous=FULL), one
    transaction per row, interleaved in batches: a bare INSERT + COMMIT of the entry, and the
    whole transaction ``record`` makes (the entry, the worklist and its tally, the alert
    outbox) in bare statements."""
    batch = 60 if QUICK else 200
    pool = [triage.evaluate(r) for r in reports]
    decisions = [
        d.model_copy(update={"report": d.report.model_copy(update={"patient_id": f"pt-a{n % 97}"})})
        for n, d in enumerate(itertools.islice(itertools.cycle(pool), batch))
    ]
    anchors = {"bare": _insert_only, "whole": _whole_transaction}
    with tempfile.TemporaryDirectory() as folder:
        paths = {name: Path(folder) / f"{name}.db" for name in ("ours", *anchors)}
        for path in paths.values():  # the same schema and subscription, no checks yet
            with triage.TriageLog(path) as log:
                log.alerts.subscribe("email", "clinic@example.org")
        conns = {name: _durable_connection(paths[name]) for name in anchors}
        names = [c[1] for c in conns["bare"].execute("PRAGMA table_info(entries)")]
        columns = ", ".join(names)
        insert = f"INSERT INTO entries ({columns}) VALUES ({', '.join('?' * len(names))})"
        best = dict.fromkeys(("ours", *anchors), float("inf"))
        loads = [os.getloadavg()[0]]
        with triage.TriageLog(paths["ours"]) as log:
            reader = sqlite3.connect(paths["ours"])
            reader.row_factory = sqlite3.Row
            done = 0
            for _ in range(ROUNDS + 1):
                started = time.process_time()
                for decision in decisions:
                    log.record(decision)
                best["ours"] = min(best["ours"], (time.process_time() - started) / batch)
                query = f"SELECT {columns} FROM entries WHERE id > ? ORDER BY id"
                rows = [dict(row) for row in reader.execute(query, (done,))]
                done += len(rows)
                for name, anchor in anchors.items():
                    started = time.process_time()
                    for row in rows:
                        anchor(conns[name], insert, row)
                    best[name] = min(best[name], (time.process_time() - started) / batch)
                loads.append(os.getloadavg()[0])

            def contents(conn: sqlite3.Connection, tables: list[str]) -> list[Any]:
                return [
                    conn.execute(f"SELECT * FROM {t} ORDER BY {_APPEND_TABLES[t]}").fetchall()
                    for t in tables
                ]

            reader.row_factory = None
            same = {
                "bare": contents(reader, ["entries"]) == contents(conns["bare"], ["entries"]),
                "whole": contents(reader, list(_APPEND_TABLES))
                == contents(conns["whole"], list(_APPEND_TABLES)),
            }
            reader.close()
        for conn in conns.values():
            conn.close()
    labels = {
        "bare": "append: TriageLog.record vs bare INSERT + COMMIT of the same row",
        "whole": "  vs the same transaction in bare SQL (entry, worklist, tally, alert outbox)",
    }
    return [
        Row(
            label,
            _ms(best["ours"]),
            _ms(best[name]),
            best["ours"] / best[name],
            "<= 1.3x",
            statistics.mean(loads),
            None if same[name] else "what it stored differs",
        )
        for name, label in labels.items()
    ]


def many_row(reports: list[dict[str, Any]]) -> Row:
    """``evaluate_many`` with 2 worker processes vs 1 (in this process): wall-clock speed-up,
    the only figure here not in CPU time (a speed-up is wall time); with other work on the 2
    cores, it cannot reach 2. The CPU time of both runs (with the workers') is shown."""
    from triage.evaluation.evaluator import PARALLEL_FROM

    count = max(2 * PARALLEL_FROM, 4_000 if QUICK else 20_000)
    items = list(itertools.islice(itertools.cycle(reports), count))
    one = triage.evaluate_many(items, workers=1)
    two = triage.evaluate_many(items, workers=2)
    same = [(d.outcome, d.urgency) for d in one] == [(d.outcome, d.urgency) for d in two]
    cpu = {1: float("inf"), 2: float("inf")}

    def run(workers: int) -> Callable[[], float]:
        def timed() -> float:
            cpu_before = time.process_time() + _children_cpu()
            started = time.perf_counter()
            triage.evaluate_many(items, workers=workers)
            took = time.perf_counter() - started
            cpu[workers] = min(cpu[workers], time.process_time() + _children_cpu() - cpu_before)
            return took

        return timed

    t_one, t_two = best_of(ROUNDS, run(1), run(2))
    return Row(
        f"evaluate_many ({count:,} reports), 2 workers vs 1: wall speed-up",
        f"2 workers {t_two:.2f} s (CPU {cpu[2]:.2f} s)",
        f"1 worker {t_one:.2f} s (CPU {cpu[1]:.2f} s); linear 2x",
        t_one / t_two,
        ">= 1.7x",
        load(),
        None if same else "the workers decide otherwise",
    )


# -- the server (benchmarks/bench_serve.py) ------------------------------------------------------


def server_rows() -> list[Row]:
    from benchmarks.bench_serve import server_anchors

    rows = []
    measured = server_anchors(2 if QUICK else 5, QUICK)
    for row in measured:
        rows.append(
            Row(
                f"server CPU per check, {row['clients']} client(s) ({row['checks']} checks)",
                _ms(row["ours"]),
                _ms(row["anchor"]),
                row["ours"] / row["anchor"],
                "<= 1.3x",
                row["load"],
                row["problem"],
            )
        )
    last = measured[-1]
    rows.append(
        Row(
            f"server p99 at {last['clients']} clients (client wall time)",
            _ms(last["ours_p99"]),
            _ms(last["anchor_p99"]),
            last["ours_p99"] / last["anchor_p99"],
            "<= 1.5x",
            last["load"],
            last["problem"],
        )
    )
    return rows


def print_table(rows: list[Row]) -> None:
    header = ("figure", "product", "anchor", "ratio", "goal", "verdict", "load 1m")
    widths = [max(len(r[i]) for r in [header, *(row.cells for row in rows)]) for i in range(7)]
    for cells in [header, *(row.cells for row in rows)]:
        print("  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)))


def main() -> None:
    pack = triage.default_pack()
    if "--show-plain" in sys.argv:
        print(plain_decision_source(pack))
        return
    reports = [load_case(p)["report"] for p in vignette_files()]
    print(
        f"{len(reports)} vignettes, pack {pack.name} {pack.version} "
        f"({len(pack.rules)} rules, {len(single_report_rules(pack))} single-report); "
        f"best of {ROUNDS} rounds in process, of {RUNS} runs for processes; "
        f"{os.cpu_count()} cores, load {os.getloadavg()[0]:.2f} at the start",
        flush=True,
    )
    sections: list[tuple[str, Callable[[], list[Row]]]] = [
        ("server", server_rows),
        ("triage.check", lambda: [check_row(reports)]),
        ("evaluate_many", lambda: [many_row(reports)]),
        ("plain Python", lambda: plain_rows(pack, reports)),
        ("processes", process_rows),
        ("append", lambda: append_rows(reports)),
        ("log", lambda: log_rows(pack, reports)),
        ("durable-rules", lambda: durable_rows(pack, reports)),
        ("history", lambda: [history_row(pack)]),
    ]
    rows: list[Row] = []
    for name, measure in sections:
        if ONLY is not None and name not in ONLY:
            continue
        started = time.perf_counter()
        found = measure()
        rows += found
        print(f"  {name}: {time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)
        for row in found:
            print("  | " + " | ".join(row.cells), file=sys.stderr, flush=True)
    print_table(rows)


if __name__ == "__main__":
    main()
