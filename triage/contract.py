"""The report contract as data: one ``FieldSpec`` per report field, read from ``Report``.

Also turns pydantic's validation errors into located problems people can act on (reworded by
error type, never by matching pydantic's English), and builds the JSON Schema.
"""

from __future__ import annotations

import difflib
import json
import os
import typing
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal

from annotated_types import Ge, Le
from pydantic import ValidationError

from .errors import Problem, ReportError, StorageError
from .logic import All, Condition, Not, Test
from .report import ADDING, HIGHER, MOMENT_PATTERN, MOMENT_WORDS, REQUIREMENTS, Ask, Report
from .yamlio import decode, parse_document, read_document

Kind = Literal["text", "datetime", "number", "integer", "yes_no", "choice", "yes_no_unsure", "set"]


@dataclass(frozen=True)
class FieldSpec:
    """What a report field accepts, and how it is asked."""

    name: str
    kind: Kind
    required: bool
    ask: Ask
    choices: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None

    @property
    def label(self) -> str:
        """A few words naming the answer, for summaries."""
        return self.ask.short or self.name.replace("_", " ").capitalize()

    @property
    def ordered(self) -> bool:
        return bool(self.ask.worse)

    @property
    def numeric(self) -> bool:
        return self.kind in ("number", "integer")

    def expected(self) -> str:
        """The accepted answers, in words: 'a whole number from 0 to 10', 'one of a, b'."""
        if self.kind == "integer":
            return f"a whole number from {number_text(self.minimum)} to {number_text(self.maximum)}"
        if self.kind == "number":
            return f"a number from {number_text(self.minimum)} to {number_text(self.maximum)}"
        if self.kind == "yes_no":
            return "true or false"
        if self.kind == "yes_no_unsure":
            return "true, false or unsure"
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        if self.kind == "set":
            return "a list of different answers from " + ", ".join(self.choices) + " ([] for none)"
        if self.kind == "datetime":
            return MOMENT_WORDS
        return "1 to 64 letters, digits, '.', '_' or '-'"

    def accepts(self, value: Any) -> bool:
        """Whether ``value`` is a possible answer (used to check values in rules)."""
        if self.kind in ("number", "integer"):
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                return False
            if self.kind == "integer" and not isinstance(value, int):
                return False
            return self.minimum <= value <= self.maximum  # type: ignore[operator]
        if self.kind == "yes_no":
            return isinstance(value, bool)
        if self.kind in ("choice", "yes_no_unsure", "set"):
            return any(value is c or (type(value) is type(c) and value == c) for c in self.choices)
        return isinstance(value, str)


def number_text(value: float | None) -> str:
    """A number as people write it: 10, not 10.0."""
    return str(int(value)) if value is not None and float(value).is_integer() else str(value)


def _literal_values(annotation: Any) -> tuple[Any, ...]:
    values: list[Any] = []
    for arg in typing.get_args(annotation) or ():
        if typing.get_origin(arg) is Literal:
            values.extend(typing.get_args(arg))
        elif arg is not type(None):
            values.extend(_literal_values(arg))
    if typing.get_origin(annotation) is Literal:
        values.extend(typing.get_args(annotation))
    return tuple(dict.fromkeys(values))


def _kind(annotation: Any, choices: tuple[Any, ...]) -> Kind:
    if typing.get_origin(annotation) is tuple:
        return "set"
    args = set(typing.get_args(annotation)) - {type(None)} or {annotation}
    if choices and bool in args:
        return "yes_no_unsure"
    if choices:
        return "choice"
    if bool in args:
        return "yes_no"
    if int in args:
        return "integer"
    if float in args:
        return "number"
    if str in args:
        return "text"
    return "datetime"


def _spec(name: str) -> FieldSpec:
    info = Report.model_fields[name]
    ask = next(m for m in info.metadata if isinstance(m, Ask))
    choices = _literal_values(info.annotation)
    kind = _kind(info.annotation, choices)
    if kind == "yes_no_unsure":
        choices = (False, "unsure", True)
    minimum = next((float(m.ge) for m in info.metadata if isinstance(m, Ge)), None)  # type: ignore[arg-type]
    maximum = next((float(m.le) for m in info.metadata if isinstance(m, Le)), None)  # type: ignore[arg-type]
    return FieldSpec(name, kind, info.is_required(), ask, choices, minimum, maximum)


FIELDS: dict[str, FieldSpec] = {name: _spec(name) for name in Report.model_fields}
"""Every report field, in contract order."""


STABLE_FIELDS = frozenset(
    (
        "patient_id", "hours_since_session", "pain_during", "pain_now", "snap_or_tear",
        "swelling", "functional_loss", "chest_pain", "fainting", "palpitations", "breathless",
        "dizziness", "confusion", "dark_urine", "tense_swollen_limb", "swollen_warm_limb",
        "bladder_bowel_change", "heat_illness", "unwell",
    )
)  # fmt: skip
"""The answers every stored report has, with the same meaning, whatever contract version it was
written under (v1 and v2 both require them): the only ones a history rule may take for granted
in an earlier check."""


def readable_answers(stored: Mapping[str, Any], contract_version: str) -> dict[str, Any]:
    """A report stored under an earlier contract version, read into this one for the history
    rules: an answer whose meaning changed, or that this contract does not have, is left out
    (absent), so that no rule can mistake it (clinical.md section 8)."""
    answers = dict(stored)
    if contract_version == "1":
        answers.pop("sudden_headache", None)  # v2 asks `headache`, with more answers
        if answers.get("pain_site") == "back":  # v2 says where with pain_region
            del answers["pain_site"]
        numbness = answers.pop("numbness", None)  # one choice in v1; "one_limb": arm or leg?
        if numbness in ("both_legs", "saddle"):
            answers["numbness"] = [numbness]
        elif numbness == "none":
            answers["numbness"] = []
    return {k: v for k, v in answers.items() if k in FIELDS}


def worse_chains(spec: FieldSpec) -> list[tuple[Any, ...]]:
    """Chains of answers from least to most worrying; scores become 0..10. A set field has no
    chain: adding any answer to it is worse (``ADDING``)."""
    if spec.ask.worse == HIGHER:
        return [tuple(range(int(spec.minimum or 0), int(spec.maximum or 0) + 1))]
    if spec.ask.worse == ADDING:
        return []
    return [tuple(chain) for chain in spec.ask.worse]


def suggest(name: str, candidates: typing.Iterable[str]) -> str | None:
    """The closest known name to a misspelt one, if any is close."""
    names = list(candidates)
    starting = [c for c in names if c.startswith(name)] if len(name) >= 4 else []
    if len(starting) == 1:  # 'diabetes' for 'diabetes_insulin'
        return starting[0]
    matches = difflib.get_close_matches(name, names, n=1, cutoff=0.75)
    return matches[0] if matches else None


SHOWN = 80
"""At most this many characters of a value are quoted in a message."""


def show(value: Any, limit: int = SHOWN) -> str:
    """A value as it would be written in a report file, cut to ``limit`` characters: a rejected
    100 MB answer is never echoed whole, and a deeply nested or aliased value is never walked
    further than the message needs."""
    parts: list[str] = []
    size = 0
    for token in _tokens(value, 0):
        parts.append(token)
        size += len(token)
        if size > limit:
            break
    text = "".join(parts)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _tokens(value: Any, depth: int) -> Iterator[str]:
    """The JSON text of ``value``, piece by piece (so that the caller can stop early)."""
    if depth > 8:
        yield "…"
    elif isinstance(value, dict):
        yield "{"
        for number, (key, item) in enumerate(value.items()):
            yield (", " if number else "") + json.dumps(str(key)[:SHOWN]) + ": "
            yield from _tokens(item, depth + 1)
        yield "}"
    elif isinstance(value, (list, tuple)):
        yield "["
        for number, item in enumerate(value):
            yield ", " if number else ""
            yield from _tokens(item, depth + 1)
        yield "]"
    elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 128:
        digits = len(str(value)) if value.bit_length() < 14_000 else "over 4,300"
        yield f"<a whole number of {digits} digits>"
    elif isinstance(value, (str, bytes)):
        yield json.dumps(value[: SHOWN + 1] if isinstance(value, str) else str(value[:SHOWN]))
    else:
        yield json.dumps(value, default=str)


# -- validation ------------------------------------------------------------------------------


def parse_report(data: Any, source: str | None = None) -> Report:
    """Validate a mapping against the contract; every problem is reported at once."""
    if isinstance(data, Report):
        return data
    if not isinstance(data, Mapping):
        raise ReportError(
            [
                Problem(
                    "a report must be a mapping of field: answer",
                    file=source,
                    fix="see 'triage schema' for the fields",
                )
            ],
            source,
        )
    try:
        return Report.model_validate(dict(data))
    except ValidationError as exc:
        lines = getattr(data, "key_lines", {})
        raise ReportError(problems_from(exc, source, lines), source) from None


def read_answers(path: str, stdin: bytes | str | None = None) -> tuple[Any, str]:
    """The answers in a YAML or JSON file (or ``stdin`` when ``path`` is '-'), not yet
    checked, and the name of their source. A case file (a vignette) holding the report under
    ``report:`` is accepted too."""
    if path == "-":
        text = decode(stdin, "<stdin>") if isinstance(stdin, bytes) else stdin or ""
        return _unwrap_case(parse_document(text, "<stdin>")), "<stdin>"
    return _unwrap_case(read_document(path)), path


def save_answers_file(path: str, report: Report) -> None:
    """Write a report as YAML that ``--answers`` reads back. Clinical data: the file is written
    owner-only under a temporary name and renamed into place, so an existing file is replaced
    (never written through a symlink, never keeping a looser mode); anything at ``path`` that is
    not a regular file (a folder, a FIFO, a device) is refused."""
    import yaml

    text = f"# triage report: replay with 'triage check --answers {path}'\n"
    text += yaml.safe_dump(report.answers(), sort_keys=False, allow_unicode=True)
    write_private(path, text, "--save-answers")


def write_private(path: str, text: str, option: str) -> None:
    """Write ``text`` to ``path`` owner-only and atomically (see ``save_answers_file``)."""
    import stat
    import tempfile

    target = os.path.abspath(path)
    try:
        existing = os.lstat(target)
    except FileNotFoundError:
        existing = None
    except OSError as exc:
        raise _write_error(path, exc.strerror, option) from None
    if existing and not (stat.S_ISREG(existing.st_mode) or stat.S_ISLNK(existing.st_mode)):
        raise _write_error(path, "it is not a regular file", option)
    try:
        descriptor, temporary = tempfile.mkstemp(
            prefix=".triage-", dir=os.path.dirname(target) or "."
        )
    except OSError as exc:
        raise _write_error(path, exc.strerror, option) from None
    try:
        with open(descriptor, "w", encoding="utf-8") as out:  # mkstemp: 0600, O_EXCL
            out.write(text)
        os.replace(temporary, target)
    except OSError as exc:
        os.unlink(temporary)
        raise _write_error(path, exc.strerror, option) from None


def _write_error(path: str, reason: str | None, option: str) -> StorageError:
    return StorageError(
        f"cannot write {path}: {reason}", path, f"choose a writable file path for {option}"
    )


def read_report(path: str, stdin: bytes | str | None = None) -> Report:
    """Read and check a report from a file, or from ``stdin`` when ``path`` is '-'."""
    data, source = read_answers(path, stdin)
    return parse_report(data, source)


def _unwrap_case(data: Any) -> Any:
    if (
        isinstance(data, Mapping)
        and isinstance(data.get("report"), Mapping)
        and not any(key in FIELDS for key in data)
    ):
        return data["report"]
    return data


def problems_from(
    exc: ValidationError, source: str | None = None, lines: Mapping[str, int] | None = None
) -> list[Problem]:
    """One problem per field, in contract order, unknown fields last; at most MAX_PROBLEMS,
    the rest counted in a last problem (100,000 unknown keys must not take minutes)."""
    first_error: dict[str, Any] = {}
    for error in exc.errors(include_url=False):
        name = str(error["loc"][0]) if error["loc"] else ""
        first_error.setdefault(name, error)
    order = {name: index for index, name in enumerate(FIELDS)}
    ranked = sorted(first_error, key=lambda n: (order.get(n, len(order)), n))
    problems = [_reword(first_error[name], name, source) for name in ranked[:MAX_PROBLEMS]]
    if len(ranked) > MAX_PROBLEMS:
        problems.append(
            Problem(
                f"and {len(ranked) - MAX_PROBLEMS:,} more problems like these",
                file=source,
                fix="a report has at most one answer per field listed by 'triage schema'",
            )
        )
    lines = lines or {}
    return [replace(p, line=lines.get(p.field or "")) for p in problems]


MAX_PROBLEMS = 50


def _reword(error: Mapping[str, Any], name: str, source: str | None) -> Problem:
    code = error["type"]
    spec = FIELDS.get(name)
    if code == "extra_forbidden" or spec is None:
        if name in REPLACED:
            return Problem(
                "is not a report field since contract v2", field=name, file=source,
                fix=REPLACED[name],
            )  # fmt: skip
        near = suggest(name, FIELDS)
        return Problem(
            "is not a report field" + (f" (did you mean '{near}'?)" if near else ""),
            field=name,
            file=source,
            fix="remove it or correct its name ('triage schema' lists the fields)",
        )
    if code == "missing":
        return Problem(
            "is required", field=name, file=source, fix=f"add '{name}:' with {spec.expected()}"
        )
    if code == "required_when":
        return Problem(
            error["msg"], field=name, file=source, fix=f"add '{name}:' with {spec.expected()}"
        )
    if code == "only_when":
        return Problem(error["msg"], field=name, file=source, fix=f"remove '{name}'")
    if spec.kind == "set":
        return _reword_set(error, spec, source)
    return Problem(
        f"got {show(error['input'])}, expected {spec.expected()}",
        field=name,
        file=source,
        fix=hint(spec, error["input"]),
    )


def _reword_set(error: Mapping[str, Any], spec: FieldSpec, source: str | None) -> Problem:
    """A set field: a list of distinct answers. Name the bad item, or say to write a list."""
    code, value = error["type"], error["input"]
    fix: str | None
    if code == "set_repeated":
        message, fix = error["msg"], "list each answer once"
    elif len(error["loc"]) > 1:  # one item of the list
        message = f"holds {show(value)}, which is not one of " + ", ".join(spec.choices)
        fix = hint(spec, value)
    else:
        message = f"got {show(value)}, expected {spec.expected()}"
        fix = f"write a list, for example [{spec.choices[0]}], or [] for none"
        near = suggest(value, [str(c) for c in spec.choices]) if isinstance(value, str) else None
        if near:
            fix = f"write a list: [{near}]"
    return Problem(message, field=spec.name, file=source, fix=fix)


REPLACED = {
    "sudden_headache": (
        "write 'headache:' instead, with none, usual, new or thunderclap (thunderclap is the "
        "sudden, severe, worst-ever headache)"
    ),
}
"""Fields of contract v1 that v2 replaced, with what to write instead."""


def _belongs_elsewhere(spec: FieldSpec, value: str) -> str | None:
    """'knee' given as pain_site is an answer of pain_region: say so."""
    family = spec.name.split("_")[0]
    for other in FIELDS.values():
        if other is not spec and other.name.startswith(family) and value in other.choices:
            return f"'{value}' is an answer of {other.name}: write '{other.name}: {value}'"
    return None


def hint(spec: FieldSpec, value: Any) -> str | None:
    """How to fix a value that does not fit a field, when a likely fix is known."""
    if spec.kind in ("yes_no", "yes_no_unsure") and isinstance(value, str):
        if value.lower() in ("true", "false", "yes", "no"):
            return "write true or false without quotes"
        return "write true or false ('on', 'off', 'y' and 'n' are not read as yes or no)"
    if spec.kind == "choice" and isinstance(value, bool):
        return "a bare yes/no is read as true/false; write one of the choices"
    if spec.kind in ("choice", "set") and isinstance(value, str):
        near = suggest(value, [str(c) for c in spec.choices])
        return f"did you mean '{near}'?" if near else _belongs_elsewhere(spec, value)
    if (
        spec.numeric
        and isinstance(value, str)
        and value.strip().lstrip("-").replace(".", "", 1).isdigit()
    ):
        return "write the number without quotes"
    return None


# -- JSON Schema ------------------------------------------------------------------------------

_SCHEMA_TESTS: dict[str, Callable[[Any], dict[str, Any]]] = {
    "eq": lambda v: {"const": v},
    "ne": lambda v: {"not": {"const": v}},
    "in": lambda v: {"enum": list(v)},
    "ge": lambda v: {"minimum": v},
    "gt": lambda v: {"exclusiveMinimum": v},
    "le": lambda v: {"maximum": v},
    "lt": lambda v: {"exclusiveMaximum": v},
}


def condition_schema(condition: Condition) -> dict[str, Any]:
    """A condition as a JSON Schema that a report satisfies exactly when the condition holds
    (a test on an absent answer is false)."""
    if isinstance(condition, Test):
        if condition.op == "present":
            has = {"required": [condition.field]}
            return has if condition.value else {"not": has}
        return {
            "properties": {condition.field: _SCHEMA_TESTS[condition.op](condition.value)},
            "required": [condition.field],
        }
    if isinstance(condition, Not):
        return {"not": condition_schema(condition.item)}
    key = "allOf" if isinstance(condition, All) else "anyOf"
    return {key: [condition_schema(item) for item in condition.items]}


def _requirement_schemas() -> list[dict[str, Any]]:
    schemas = []
    for requirement in REQUIREMENTS:
        when = condition_schema(requirement.when)
        name = requirement.field
        if requirement.required:
            schemas.append({"if": when, "then": {"required": [name]}})
        if requirement.only:
            absent: dict[str, Any] = {"not": {"required": [name]}}
            if FIELDS[name].kind == "set":  # an empty list is no answer
                absent = {"properties": {name: {"maxItems": 0}}}
            schemas.append({"if": {"not": when}, "then": absent})
    return schemas


def json_schema() -> dict[str, Any]:
    """The report's JSON Schema, with each field's question, help, labels and order."""
    schema = Report.model_json_schema()
    for name, prop in schema["properties"].items():
        spec = FIELDS[name]
        prop["description"] = spec.ask.question
        if spec.ask.help:
            prop["x-help"] = spec.ask.help
        if spec.ask.labels:
            prop["x-labels"] = {show(k).strip('"'): v for k, v in spec.ask.labels.items()}
        if spec.kind == "set":
            prop["uniqueItems"] = True
            prop["x-worse-order"] = "adding an answer is worse"
        elif spec.ordered:
            prop["x-worse-order"] = [[show(v).strip('"') for v in c] for c in worse_chains(spec)]
    schema["properties"]["reported_at"]["pattern"] = MOMENT_PATTERN
    schema["allOf"] = _requirement_schemas()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema
