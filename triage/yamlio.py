"""Reading YAML and JSON documents without the surprises of YAML 1.1.

- Only ``true``/``false``/``yes``/``no`` (any case) are booleans; ``on``, ``off``, ``y`` and ``n``
  stay text, so a field that expects a yes/no answer rejects them with a clear message.
- Integers are decimal only (``010`` is 10, not octal 8), and dates stay text.
- A key given twice in one mapping is an error (PyYAML would silently keep the last one).
- Mappings and lists remember the line of each key and item, for located error messages.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from .errors import InputError, Problem

_BOOL_VALUES = {"true": True, "yes": True, "false": False, "no": False}
_BOOL_RE = re.compile(r"^(?:true|True|TRUE|yes|Yes|YES|false|False|FALSE|no|No|NO)$")
_INT_RE = re.compile(r"^[-+]?[0-9]+$")
_FLOAT_RE = re.compile(
    r"^[-+]?(?:[0-9]+\.[0-9]*|\.[0-9]+)(?:[eE][-+]?[0-9]+)?$|^[-+]?[0-9]+[eE][-+]?[0-9]+$"
)
_NULL_RE = re.compile(r"^(?:~|null|Null|NULL|)$")


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
    return int(str(loader.construct_scalar(node)))


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


def parse_yaml(text: str, source: str) -> Any:
    """Parse YAML text; ``source`` names it in error messages."""
    try:
        return yaml.load(text, Loader=_Loader)
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


def parse_json(text: str, source: str) -> Any:
    """Parse JSON text, refusing duplicate keys."""
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicate_pairs)
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


def parse_document(text: str, source: str) -> Any:
    """Parse a YAML or JSON document; JSON is recognised by its leading '{' or '['."""
    if text.lstrip().startswith(("{", "[")) or source.endswith(".json"):
        return parse_json(text, source)
    return parse_yaml(text, source)


def read_document(path: str | Path) -> Any:
    """Read and parse a YAML or JSON file."""
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
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
    except UnicodeDecodeError:
        raise InputError(
            [Problem("is not UTF-8 text", file=source, fix="save it as UTF-8 YAML or JSON")], source
        ) from None
    return parse_document(text, source)
