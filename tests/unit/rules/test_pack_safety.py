"""A pack that passes `triage rules check` must be safe to run (issue 8, section 2): every number
fits what the field and the engine can represent, a rule the engine cannot compile is refused
when the pack loads, and no nesting reaches a recursive parser unbounded."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import triage
from tests.support.helpers import ROOT, examples, reports
from triage.contract.reading import FIELDS
from triage.engines import get_engine
from triage.engines.durable import DurableEngine
from triage.pack.history import build_context

NUMERIC = [name for name, spec in FIELDS.items() if spec.numeric]
TESTS = ["at_least", "at_most", "above", "below", "equals", "not_equals"]


def write_pack(folder: Path, when: str, rule_id: str = "probe.rule") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pack.yaml").write_text("name: probe\nversion: 1.0.0\npolicy: p\nno_alert: n\n")
    (folder / "rules.yaml").write_text(
        f"rules:\n  - id: {rule_id}\n    title: t\n    outcome: reduce_load\n"
        f"    when: {when}\n    patient: p\n    clinician: c\n"
        "    source: {policy: T, reference: tests}\n"
    )
    return folder


def test_the_offset_reproducer_of_the_issue_is_refused(tmp_path: Path) -> None:
    """'plus: 1e22' passed `rules check` and made durable-rules answer continue where the
    reference backend answered emergency."""
    copy = tmp_path / "rules"
    shutil.copytree(triage.default_pack().path, copy)
    emergency = copy / "10-emergency.yaml"
    text = emergency.read_text()
    emergency.write_text(
        text.replace(
            "      chest_pain: ongoing\n",
            "      chest_pain: ongoing\n"
            "      pain_now: {at_most: {field: pain_during, plus: 10000000000000000000000}}\n",
            1,
        )
    )
    with pytest.raises(triage.PackError) as info:
        triage.load_pack(copy)
    [problem] = info.value.problems
    assert problem.rule_id == "emergency.chest-pain-ongoing" and problem.field == "pain_now"
    assert "is always true (pain_now minus pain_during is -10 to 10)" in problem.message


@pytest.mark.parametrize(
    ("test", "verdict"),
    [
        ("pain_now: {at_least: 0}", "always"),
        ("pain_now: {at_least: 1}", None),
        ("pain_now: {at_most: 10}", "always"),
        ("pain_now: {at_most: 9}", None),
        ("pain_now: {above: 10}", "never"),
        ("pain_now: {above: 9}", None),
        ("pain_now: {below: 0}", "never"),
        ("pain_now: {below: 1}", None),
        ("hours_since_session: {at_least: 0}", "always"),
        ("hours_since_session: {above: 335.5}", None),
        ("hours_since_session: {above: 336}", "never"),
        ("pain_now: {at_least: {field: pain_before, plus: -10}}", "always"),
        ("pain_now: {at_least: {field: pain_before, plus: -9}}", None),
        ("pain_now: {at_least: {field: pain_before, plus: 10}}", None),
        ("pain_now: {at_least: {field: pain_before, plus: 10.5}}", "never"),
        ("pain_now: {above: {field: pain_before, plus: 10}}", "never"),
        ("pain_now: {below: {field: pain_before, plus: -10}}", "never"),
        ("pain_now: {equals: {field: pain_before, plus: 11}}", "never"),
        ("pain_now: {not_equals: {field: pain_before, plus: 11}}", "always"),
        ("pain_now: {equals: {field: pain_before, plus: 10}}", None),
    ],
)
def test_a_test_that_is_always_or_never_true_is_refused_at_each_boundary(
    tmp_path: Path, test: str, verdict: str | None
) -> None:
    folder = write_pack(tmp_path / "p", "{" + test + "}")
    if verdict is None:
        triage.load_pack(folder)
        return
    with pytest.raises(triage.PackError, match=f"is {verdict} true"):
        triage.load_pack(folder)


def test_a_pack_is_compiled_by_the_engine_when_it_loads(tmp_path: Path) -> None:
    pack = triage.load_pack(write_pack(tmp_path / "p", "{unwell: true}"))
    assert pack.sha256 in DurableEngine.instance()._rulesets


def _deep_files(tmp_path: Path, levels: int) -> list[tuple[list[str], Path, int]]:
    """A pack condition, a YAML answers file (flow and block lists) and a JSON one, nested
    ``levels`` deep; each with the command that reads it, the file named and the line."""
    pack = write_pack(tmp_path / f"deep-{levels}", "{unwell: true}")
    rules = pack / "rules.yaml"
    rules.write_text(rules.read_text().replace("{unwell: true}", "[" * levels + "]" * levels))
    flow = tmp_path / f"flow-{levels}.yaml"
    flow.write_text("pain_now: " + "[" * levels + "]" * levels + "\n")
    block = tmp_path / f"block-{levels}.yaml"
    block.write_text("pain_now:\n  " + "- " * levels + "x\n")
    as_json = tmp_path / f"deep-{levels}.json"
    as_json.write_text('{"pain_now":\n' + "[" * levels + "]" * levels + "}")
    check = ["check", "--no-log", "--answers"]
    return [
        (["rules", "check", str(pack)], rules, 5),
        ([*check, str(flow)], flow, 1),
        ([*check, str(block)], block, 2),
        ([*check, str(as_json)], as_json, 2),
    ]


_MEASURED = (
    "import atexit, sys, time\n"
    "def peak():\n"
    "    status = open('/proc/self/status').read().split('VmHWM:')[1].split()[0]\n"
    "    print(f'{time.process_time()} {status}', file=open(sys.argv[1], 'w'))\n"
    "atexit.register(peak)\n"
    "from triage_cli.cli import main\n"
    "main(sys.argv[2:], prog_name='triage')\n"
)
"""The CLI, writing its CPU seconds and its peak memory (VmHWM, KiB) to a file as it leaves.
Not the child's rusage: ru_maxrss keeps the high-water mark of the forked test process."""


def _run_measured(args: list[str], tmp_path: Path) -> tuple[int, str, float, int]:
    """The CLI in a child process: its status, stderr, CPU seconds and peak memory (KiB)."""
    figures = tmp_path / "measured.txt"
    done = subprocess.run(
        [sys.executable, "-c", _MEASURED, str(figures), *args],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    cpu, peak = figures.read_text().split()
    return done.returncode, done.stderr, float(cpu), int(peak)


@pytest.mark.slow  # eight processes, each measured
@pytest.mark.parametrize("levels", [100, 40_000])
def test_deep_nesting_is_refused_with_the_file_and_line_in_bounded_time_and_memory(
    tmp_path: Path, levels: int
) -> None:
    """40,000 levels crashed the process in the C YAML parser. Deep nesting is refused before
    any parser recurses, with our own message (whatever limit the YAML library has), in a
    subprocess so that a regression fails this test rather than the suite."""
    for args, named, line in _deep_files(tmp_path, levels):
        status, stderr, cpu, peak_kib = _run_measured(args, tmp_path)
        assert status == 1, stderr[-500:]
        assert "Traceback" not in stderr, stderr[-2000:]
        assert f"{named}:{line}: " in stderr and "nested more than 64 deep" in stderr, stderr
        assert cpu < 30, (args, cpu)  # a normal check takes well under 1 s of CPU
        assert peak_kib < 200_000, (args, peak_kib)  # a normal check peaks near 45 MB


@st.composite
def numeric_tests(draw: st.DrawFn) -> str:
    """One comparison the loader accepts or refuses: a threshold or an offset, any size."""
    name = draw(st.sampled_from(NUMERIC))
    spec = FIELDS[name]
    test = draw(st.sampled_from(TESTS))
    big = st.integers(-(10**25), 10**25)
    if draw(st.booleans()):
        other = draw(st.sampled_from([n for n in NUMERIC if n != name]))
        plus = draw(st.one_of(st.integers(-12, 12), big, st.sampled_from([0.5, -0.25, 9.75])))
        return f"{{{name}: {{{test}: {{field: {other}, plus: {plus}}}}}}}"
    low, high = int(spec.minimum or 0), int(spec.maximum or 0)
    value = draw(st.one_of(st.integers(low - 2, high + 2), big, st.sampled_from([0.5, 23.5])))
    return f"{{{name}: {{{test}: {value}}}}}"


@examples(120)
@given(when=numeric_tests(), data=st.lists(reports(), min_size=5, max_size=5))
def test_every_numeric_test_that_loads_gives_the_same_answer_on_both_engines(
    tmp_path_factory: pytest.TempPathFactory, when: str, data: list[dict[str, Any]]
) -> None:
    folder = write_pack(tmp_path_factory.mktemp("pack"), when)
    try:
        pack = triage.load_pack(folder)
    except triage.PackError:
        return  # refused with a message: never evaluated
    for item in data:
        context = build_context(triage.parse_report(item), None)
        fired = get_engine("durable-rules").fired(pack, context)
        assert fired == get_engine("reference").fired(pack, context), when
