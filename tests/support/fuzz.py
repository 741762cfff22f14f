"""Malformed input, as users and attackers write it: the strategies of the fuzz tests
(tests/unit/rules/test_fuzz.py, bounded so that the suite stays fast) and of the long run
(benchmarks/fuzz_long.py). Every input must give a decision or a clean error: never a
traceback, a crash of a C parser or engine, a hang or a memory blow-up."""

from __future__ import annotations

import json
import random
import re
import shutil
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

from tests.support.helpers import BASE
from triage.contract.reading import FIELDS

# -- reports ---------------------------------------------------------------------------------

ODD_SCALARS = [
    "10" * 2500,  # a 5,000-digit integer
    "1e400",
    "-0",
    "0x10",
    "0o17",
    ".inf",
    ".nan",
    "!!bool off",
    "!!int 0x10",
    "!!timestamp junk",
    "!!python/object:os.system echo",
    "!!binary aGVsbG8=",
    "on",
    "off",
    "y",
    "~",
    "''",
    '"\\u0000\\u001b]0;pwned\\u0007"',
    '"\\ud800"',
    "2026-11-21",
    "2026-11-21T09:30:00",
    "0001-01-01T00:00:00Z",
    "9999-12-31T23:59:59Z",
    "[[[[[[[[[[]]]]]]]]]]",
    "{a: {b: {c: {d: 1}}}}",
    "*undefined",
    "&anchor 3",
    "- item",
    "? complex key",
    "|\n  block",
]


def deep(levels: int) -> str:
    """A value nested ``levels`` deep (the same text in YAML's flow style and in JSON)."""
    return "[" * levels + "]" * levels


def alias_bomb(levels: int) -> str:
    lines = ['a0: &a0 ["x", "x", "x", "x", "x", "x", "x", "x", "x", "x"]']
    for n in range(1, levels):
        lines.append(f"a{n}: &a{n} [" + ", ".join([f"*a{n - 1}"] * 10) + "]")
    return "\n".join(lines) + f"\npain_now: *a{levels - 1}\n"


def report_yaml(data: dict[str, Any]) -> str:
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


@st.composite
def report_texts(draw: st.DrawFn) -> tuple[str, bytes]:
    """(a file name, its bytes): a valid report bent out of shape in one to three ways."""
    data = dict(BASE)
    as_json = draw(st.booleans())
    text = json.dumps(data) if as_json else report_yaml(data)
    for _ in range(draw(st.integers(1, 3))):
        text = draw(_mutation(text, as_json))
    raw = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:
        raw = b"\xef\xbb\xbf" + raw  # a byte-order mark
    if draw(st.integers(0, 9)) == 0:
        raw = raw[: draw(st.integers(0, len(raw)))] + b"\xff\xfe" + raw[len(raw) // 2 :]
    return ("report.json" if as_json else "report.yaml"), raw


def _mutation(text: str, as_json: bool) -> st.SearchStrategy[str]:
    field = st.sampled_from(sorted(FIELDS))
    if as_json:
        return st.one_of(
            st.builds(_json_value, st.just(text), field, st.sampled_from(_JSON_ODD)),
            st.builds(_json_deep, st.just(text), field, st.integers(2, 20_000)),
            st.builds(lambda t, f: t[:-1] + f', "{f}": 1}}', st.just(text), field),  # duplicate
            st.builds(_truncate, st.just(text), st.floats(0, 1)),
        )
    return st.one_of(
        st.builds(_yaml_value, st.just(text), field, st.sampled_from(ODD_SCALARS)),
        st.builds(_yaml_value, st.just(text), field, st.text(max_size=30)),
        st.builds(_yaml_deep, st.just(text), field, st.integers(2, 60_000)),
        st.builds(lambda t, n: t + alias_bomb(n), st.just(text), st.integers(2, 9)),
        st.builds(lambda t, f: t + f"{f}: 1\n", st.just(text), field),  # duplicate key
        st.builds(
            lambda t, n: t + "".join(f"k{i}: 1\n" for i in range(n)),
            st.just(text),
            st.integers(1, 3000),
        ),
        st.builds(_truncate, st.just(text), st.floats(0, 1)),
    )


_JSON_ODD = ['"3"', "3.5", "3.0", "1e400", "-1", "true", "null", "[]", "{}", '"\\u0000"',
             "NaN", "Infinity", "9" * 5000, '["saddle", "saddle"]', '"saddle"']  # fmt: skip


def _replace_line(text: str, field: str, value: str) -> str:
    pattern = re.compile(rf"^{field}:.*$", re.M)
    line = f"{field}: {value}"
    return pattern.sub(lambda _: line, text, count=1) if pattern.search(text) else text + line


def _yaml_value(text: str, field: str, value: str) -> str:
    return _replace_line(text, field, value.replace("\n", "\n  ") if "\n" in value else value)


def _yaml_deep(text: str, field: str, levels: int) -> str:
    return _replace_line(text, field, deep(levels))


def _json_value(text: str, field: str, value: str) -> str:
    data = text.rstrip("}")
    return f'{data}, "{field}": {value}}}'


def _json_deep(text: str, field: str, levels: int) -> str:
    return _json_value(text, field, deep(levels))


def _truncate(text: str, fraction: float) -> str:
    return text[: int(len(text) * fraction)]


# -- rule packs ------------------------------------------------------------------------------

PACK_ODD = [
    "1e-05", "1e400", "10000000000000000000000", "-10000000000000000000000", "0.00001", "true",
    "null", "[]", "{}", "'6'", "émergency", "\u202e", "!!float 3", "&a 1", "*a",
    "{field: pain_before, plus: 1e22}", "{current: pain_now}", "{at_least: {at_least: 1}}",
]  # fmt: skip


def mutate_pack(source: Path, target: Path, seed: int) -> str:
    """A copy of the pack in ``source`` with one random edit; returns what was done."""
    rng = random.Random(seed)
    shutil.copytree(source, target)
    files = sorted(p for p in target.glob("*.yaml") if p.name != "pack.yaml")
    path = rng.choice([*files, target / "pack.yaml"])
    lines = path.read_text().splitlines()
    keyed = [n for n, line in enumerate(lines) if re.match(r"^\s*-?\s*[a-z_]+:", line)]
    number = rng.choice(keyed) if keyed else 0
    line = lines[number]
    kind = rng.choice(["delete", "rename", "value", "deepen", "duplicate", "unicode"])
    if kind == "delete":
        del lines[number]
    elif kind == "rename":
        lines[number] = re.sub(r"([a-z_]+):", lambda m: m.group(1)[::-1] + ":", line, count=1)
    elif kind == "value":
        lines[number] = re.sub(r":.*$", ": " + rng.choice(PACK_ODD), line, count=1)
    elif kind == "deepen":
        levels = rng.choice([9, 30, 250, 5000, 45_000])
        indent = len(line) - len(line.lstrip(" -"))
        lines[number] = (
            line.split(":")[0] + ": " + "{not: " * levels + "{unwell: true}" + "}" * levels
        )
        lines[number] = " " * indent + lines[number].lstrip()
    elif kind == "duplicate":
        lines.insert(number, line)
    else:
        lines[number] = line.replace("id: ", "id: ünïcødé-", 1).replace("emergency", "émergency")
    path.write_text("\n".join(lines) + "\n")
    return f"{path.name}:{number + 1} {kind}"
