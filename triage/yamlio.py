"""Reading YAML and JSON documents without the surprises of YAML 1.1.

- Only ``true``/``false``/``yes``/``no`` (any case) are booleans; ``on``, ``off``, ``y`` and ``n``
  stay text, so a field that expects a yes/no answer rejects them with a clear message.
- Integers are decimal only (``010`` is 10, not octal 8), and dates stay text.
- A key given twice in one mapping is an error (PyYAML would silently keep the last one).
- Mappings and lists remember the line of each key and item, for located error messages.
- Input is bounded before it reaches a recursive parser: at most ``MAX_BYTES``, nested at most
  ``MAX_DEPTH`` deep, expanding (through YAML aliases) to at most ``MAX_NODES`` values; explicit
  tags (``!!bool off``) are refused. A few hundred bytes can otherwise take minutes and gigabytes,
  and deep nesting crashes the C parser.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, NoReturn

import yaml

from .errors import InputError, Problem

_BOOL_VALUES = {"true": True, "yes": True, "false": False, "no": False}
_BOOL_RE = re.compile(r"^(?:true|True|TRUE|yes|Yes|YES|false|False|FALSE|no|No|NO)$")
_INT_RE = re.compile(r"^[-+]?[0-9]+$")
_FLOAT_RE = re.compile(
    r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$|^[-+]?[0-9]+[eE][-+]?[0-9]+$"
)
_NULL_RE = re.compile(r"^(?:~|null|Null|NULL|)$")

MAX_BYTES = 2_000_000
MAX_DEPTH = 64
MAX_NODES = 100_000
_FLOW_DEPTH_SCAN = 4 * MAX_DEPTH
"""Brackets nested this deep are refused before the YAML parser runs. Above MAX_DEPTH, so that
the parser's events locate ordinary cases exactly (a bracket in a plain scalar is counted
here); far below libyaml's own limit (1,000 from PyYAML 6.0.4), which would answer first."""


class LocatedDict(dict):  # type: ignore[type-arg]
    """A mapping read from a file, with the line where it starts and where each key is."""

    line: int = 0
    key_lines: dict[str, int]


class LocatedList(list):  # type: ignore[type-arg]
    """A list read from a file, with the line where it starts and where each item is."""

    line: int = 0
    item_lines: list[int]


_SafeLoader = getattr(
    yaml, "CSafeLoader", yaml.SafeLoader
)  # libyaml: the rule pack loads 10x faster


class _Loader(_SafeLoader):  # type: ignore[misc,valid-type]
    """SafeLoader with a smaller set of implicit types (see the module docstring)."""

    yaml_implicit_resolvers: dict[str, list[tuple[str, re.Pattern[str]]]] = {}  # noqa: RUF012 - read from the class by PyYAML


for _tag, _regex, _first in [
    ("tag:yaml.org,2002:bool", _BOOL_RE, list("tTfFyYnN")),
    ("tag:yaml.org,2002:int", _INT_RE, list("-+0123456789")),
    ("tag:yaml.org,2002:float", _FLOAT_RE, list("-+0123456789.")),
    ("tag:yaml.org,2002:null", _NULL_RE, ["~", "n", "N", ""]),
]:
    _Loader.add_implicit_resolver(_tag, _regex, _first)


def _construct_bool(loader: _Loader, node: yaml.ScalarNode) -> bool:
    return _BOOL_VALUES[str(loader.construct_scalar(node)).lower()]


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> int:
    try:
        return int(str(loader.construct_scalar(node)))
    except ValueError:  # more digits than Python converts (4300)
        raise _Refused(
            "a whole number with more digits than any answer can have",
            node.start_mark.line + 1,
            "write a number that fits the field",
        ) from None


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> LocatedDict:
    result = LocatedDict()
    result.line = node.start_mark.line + 1
    result.key_lines = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=True)
        line = key_node.start_mark.line + 1
        if not isinstance(key, str):
            key = str(key).lower() if isinstance(key, bool) else str(key)
        if key in result:
            raise _DuplicateKey(key, line, result.key_lines[key])
        result[key] = loader.construct_object(value_node, deep=True)
        result.key_lines[key] = line
    return result


def _construct_sequence(loader: _Loader, node: yaml.SequenceNode) -> LocatedList:
    result = LocatedList(loader.construct_object(child, deep=True) for child in node.value)
    result.line = node.start_mark.line + 1
    result.item_lines = [child.start_mark.line + 1 for child in node.value]
    return result


_Loader.add_constructor("tag:yaml.org,2002:bool", _construct_bool)
_Loader.add_constructor("tag:yaml.org,2002:int", _construct_int)
_Loader.add_constructor("tag:yaml.org,2002:map", _construct_mapping)
_Loader.add_constructor("tag:yaml.org,2002:seq", _construct_sequence)


class _DuplicateKey(Exception):
    def __init__(self, key: str, line: int, first_line: int) -> None:
        super().__init__(key)
        self.key, self.line, self.first_line = key, line, first_line


class _Refused(Exception):
    """A document this reader will not read: too large, too deep, a tag, a huge number."""

    def __init__(self, message: str, line: int | None, fix: str) -> None:
        super().__init__(message)
        self.message, self.line, self.fix = message, line, fix


def _refuse_depth(line: int | None) -> NoReturn:
    raise _Refused(
        f"lists and mappings are nested more than {MAX_DEPTH} deep",
        line,
        "a report is flat, and a rule needs only a few levels of all/any/not",
    )


def _check_yaml_shape(text: str) -> None:
    """Walk the parser's events (never recursive) and refuse what the composer should not see:
    nesting deeper than MAX_DEPTH, more than MAX_NODES values once aliases are expanded (an
    "alias bomb"), and explicit tags."""
    deep = _too_deep_line(text, _FLOW_DEPTH_SCAN)
    if deep is not None:
        _refuse_depth(deep)
    starts: list[tuple[int, str | None]] = []  # expanded count at each open collection's start
    anchors: dict[str | None, int] = {}
    expanded = 0
    aliases = False
    for event in yaml.parse(text, Loader=_SafeLoader):
        line = event.start_mark.line + 1 if event.start_mark else None
        if isinstance(event, (yaml.ScalarEvent, yaml.CollectionStartEvent)) and event.tag:
            tag = event.tag.replace("tag:yaml.org,2002:", "!!")
            raise _Refused(
                f"the YAML tag '{tag}' is not accepted",
                line,
                "write the value plainly, without a tag such as !!bool or !!int",
            )
        if isinstance(event, yaml.AliasEvent):
            expanded += anchors.get(event.anchor, 1)
            aliases = True
        elif isinstance(event, yaml.ScalarEvent):
            expanded += 1
            if event.anchor:
                anchors[event.anchor] = 1
        elif isinstance(event, yaml.CollectionStartEvent):
            expanded += 1
            starts.append((expanded, event.anchor))
            if len(starts) > MAX_DEPTH:
                _refuse_depth(line)
        elif isinstance(event, yaml.CollectionEndEvent):
            start, anchor = starts.pop()
            if anchor:
                anchors[anchor] = expanded - start + 1
        if expanded > MAX_NODES and aliases:
            raise _Refused(
                f"holds more than {MAX_NODES:,} values once its aliases (*name) are expanded",
                line,
                "write the values out, without aliases that repeat aliases",
            )
        if expanded > MAX_NODES:
            raise _Refused(
                f"holds more than {MAX_NODES:,} keys and values; a report has about fifty",
                line,
                "check that this is the right file",
            )


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text; ``source`` names it in error messages."""
    try:
        _check_yaml_shape(text)
        return yaml.load(text, Loader=_Loader)
    except _Refused as refused:
        raise InputError(
            [Problem(refused.message, file=source, line=refused.line, fix=refused.fix)], source
        ) from None
    except _DuplicateKey as dup:
        raise InputError(
            [
                Problem(
                    f"key '{dup.key}' is given twice (first on line {dup.first_line})",
                    file=source,
                    line=dup.line,
                    fix="keep only one of them",
                )
            ],
            source,
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        reason = getattr(exc, "problem", None) or str(exc)
        raise InputError(
            [
                Problem(
                    f"not valid YAML: {reason}",
                    file=source,
                    line=line,
                    fix="check the indentation and the ':' after each key",
                )
            ],
            source,
        ) from None


def _reject_duplicate_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key, 0, 0)
        result[key] = value
    return result


_BRACKETS_RE = re.compile(r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\n]|'')*'|#[^\n]*|[\[\]{}\n]""")
"""What the nesting pre-scan looks at: quoted strings and comments (skipped whole), brackets and
line ends."""


def _too_deep_line(text: str, limit: int) -> int | None:
    """The line where ``[`` and ``{`` first nest deeper than ``limit``, or None. Never recursive
    and independent of the parser, which may look far ahead (libyaml reads a whole flow
    collection's brackets before it emits its first event)."""
    if text.count("[") + text.count("{") <= limit:  # too few to nest deeper: no scan
        return None
    depth, line = 0, 1
    for match in _BRACKETS_RE.finditer(text):
        char = match.group()
        if char == "\n":
            line += 1
        elif char in "[{":
            depth += 1
            if depth > limit:
                return line
        elif char in "]}":
            depth = max(0, depth - 1)
    return None


def parse_json(text: str, source: str) -> Any:
    """Parse JSON text, refusing duplicate keys, deep nesting and numbers too long to convert."""
    try:
        deep = _too_deep_line(text, MAX_DEPTH)
        if deep is not None:
            raise _Refused(
                f"arrays and objects are nested more than {MAX_DEPTH} deep",
                deep,
                "a report is one flat object",
            )
        return json.loads(text, object_pairs_hook=_reject_duplicate_pairs)
    except _Refused as refused:
        raise InputError(
            [Problem(refused.message, file=source, line=refused.line, fix=refused.fix)], source
        ) from None
    except _DuplicateKey as dup:
        raise InputError(
            [Problem(f"key '{dup.key}' is given twice", file=source, fix="keep only one of them")],
            source,
        ) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            [
                Problem(
                    f"not valid JSON: {exc.msg} (column {exc.colno})",
                    file=source,
                    line=exc.lineno,
                    fix="check for a missing comma or quote",
                )
            ],
            source,
        ) from None
    except ValueError:  # a number with more digits than Python converts (4300)
        raise InputError(
            [
                Problem(
                    "holds a number with more digits than any answer can have",
                    file=source,
                    fix="write a number that fits the field",
                )
            ],
            source,
        ) from None


def parse_document(text: str, source: str) -> Any:
    """Parse a YAML or JSON document; JSON is recognised by its leading '{' or '['. A leading
    byte-order mark is dropped."""
    text = text.removeprefix("\ufeff")
    if len(text) > MAX_BYTES:
        raise InputError([_too_large(source, len(text.encode("utf-8", "replace")))], source)
    if text.lstrip().startswith(("{", "[")) or source.endswith(".json"):
        return parse_json(text, source)
    return parse_yaml(text, source)


def _too_large(source: str, size: int | None = None) -> Problem:
    """``size`` when known (a file); otherwise only that it is over the limit (standard input)."""
    what = f"is {size:,} bytes" if size is not None else f"is more than {MAX_BYTES:,} bytes"
    return Problem(
        f"{what}; a report or rule file is at most {MAX_BYTES:,}",
        file=source,
        fix="check that this is the right file",
    )


def decode(data: bytes, source: str) -> str:
    """UTF-8 text (a byte-order mark dropped), or InputError naming the source and the byte."""
    if len(data) > MAX_BYTES:
        raise InputError([_too_large(source)], source)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise InputError(
            [
                Problem(
                    f"is not UTF-8 text (byte {exc.start + 1} is 0x{data[exc.start]:02x})",
                    file=source,
                    line=line,
                    fix="save it as UTF-8 YAML or JSON",
                )
            ],
            source,
        ) from None


def read_document(path: str | Path) -> Any:
    """Read and parse a YAML or JSON file, at most MAX_BYTES."""
    source = str(path)
    try:
        with open(path, "rb") as stream:
            size = os.fstat(stream.fileno()).st_size
            if size > MAX_BYTES:
                raise InputError([_too_large(source, size)], source)
            data = stream.read(MAX_BYTES + 1)
    except FileNotFoundError:
        raise InputError(
            [Problem("file not found", file=source, fix="check the path")], source
        ) from None
    except IsADirectoryError:
        raise InputError([Problem("is a directory, not a file", file=source)], source) from None
    except PermissionError:
        raise InputError(
            [Problem("permission denied", file=source, fix="check the file's permissions")], source
        ) from None
    except OSError as exc:
        raise InputError(
            [Problem(f"cannot be read: {exc.strerror}", file=source)], source
        ) from None
    return parse_document(decode(data, source), source)
