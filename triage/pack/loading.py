"""Rule packs: a folder with ``pack.yaml`` (name, version, policy) and rule files.

Loading validates everything before anything can be evaluated; every problem in every file is
reported in one ``PackError``, and a pack with any problem is refused whole.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, cast

from ..contract.reading import show, suggest
from ..errors import InputError, PackError, Problem
from ..outcomes import KEYS, OUTCOMES, URGENCIES
from ..yamlio import LocatedDict, LocatedList, read_document
from .cache import cached
from .conditions import ConditionParser
from .rules import Contacts, Note, Rule, RulePack

PACK_FILE = "pack.yaml"
_PACK_KEYS = ("name", "version", "policy", "no_alert")
_FOLLOW_UP = "follow_up"
_CONTACTS = "contacts"
_CONTINUE_ONLY = {
    "advice": "it is shown when the outcome is continue",
    "headline": "the first line of a continue result that holds the load",
}
_MAX_FOLLOW_UP_HOURS = 336
_ROWS = "rows"
"""Optional in pack.yaml: every row of the policy, so that a row no rule cites is found
(``triage rules test``) and a rule citing a row the policy does not have is refused."""
_RULE_KEYS = {
    "id",
    "title",
    "outcome",
    "urgency",
    "when",
    "patient",
    "clinician",
    "advice",
    "worse_if",
    "headline",
    "source",
}
_NOTE_KEYS = {"id", "title", "when", "patient", "clinician", "source"}
_SOURCE_KEYS = {"policy", "reference"}
_RULE_ID = re.compile(r"^[a-z0-9]+(?:[.-][a-z0-9]+)*$")
_VERSION = re.compile(r"^\d+\.\d+\.\d+$")


def load_pack(path: str | Path) -> RulePack:
    """Load and validate the pack in folder ``path``; raises ``PackError`` listing every problem."""
    folder = Path(path)
    if not folder.is_dir():
        raise PackError(
            [
                Problem(
                    "is not a folder",
                    file=str(folder),
                    fix="give the folder that holds pack.yaml and the rule files",
                )
            ]
        )
    return cached(folder, lambda: _load(folder))


def _load(folder: Path) -> RulePack:
    loader = _PackLoader(folder)
    meta = loader.metadata()
    rules, notes = loader.rules()
    if loader.problems:
        loader.problems.sort(key=lambda p: (p.file or "", p.line or 0))
        raise PackError(loader.problems, str(folder))
    pack = _build(meta, rules, notes, folder, loader.rows)
    _refuse_what_the_engine_cannot_compile(pack)
    return pack


def _refuse_what_the_engine_cannot_compile(pack: RulePack) -> None:
    """A pack that validates must also run: compile it with durable-rules now, so that a rule
    the engine cannot compile is refused here, named, rather than failing every check later."""
    from ..engines import compile_problems

    problems = []
    for rule_id, message in compile_problems(pack):
        rule = pack.rule(rule_id) if rule_id is not None else None
        problems.append(
            Problem(
                f"durable-rules cannot compile this rule ({message}): its condition is too "
                "complex for the engine",
                file=rule.file if rule else pack.path,
                line=rule.line if rule else None,
                rule_id=rule_id,
                fix="flatten nested all/any, or split the rule into simpler rules",
            )
        )
    if problems:
        raise PackError(problems, pack.path)


def _build(
    meta: dict[str, Any],
    rules: list[Rule],
    notes: list[Note],
    folder: Path,
    rows: tuple[str, ...] = (),
) -> RulePack:
    follow_up = meta.pop(_FOLLOW_UP, {})
    contacts = meta.pop(_CONTACTS, None)
    canonical: dict[str, Any] = {**meta, "rules": [r.to_data() for r in rules]}
    if contacts:  # a pack that keeps the default words keeps its hash
        canonical[_CONTACTS] = contacts
    if notes:  # a pack without notes keeps the hash it had before notes existed
        canonical["notes"] = [n.to_data() for n in notes]
    if follow_up:  # the same for follow-up windows
        canonical[_FOLLOW_UP] = follow_up
    digest = hashlib.sha256(
        json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()
    return RulePack(
        meta["name"],
        meta["version"],
        meta["policy"],
        meta["no_alert"],
        tuple(rules),
        digest,
        str(folder),
        tuple(notes),
        follow_up,
        Contacts(**(contacts or {})),
        rows,
    )


class _PackLoader:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.problems: list[Problem] = []
        self.seen_ids: dict[str, str] = {}
        self.rows: tuple[str, ...] = ()

    def _read(self, path: Path) -> Any:
        try:
            return read_document(path)
        except InputError as exc:
            self.problems.extend(exc.problems)
            return None

    def metadata(self) -> dict[str, Any]:
        path = self.folder / PACK_FILE
        file = str(path)
        if not path.exists():
            self._add(
                "is missing", file=file, fix="add pack.yaml with name, version, policy and no_alert"
            )
            return {}
        data = self._read(path)
        if data is None:
            return {}
        if not isinstance(data, LocatedDict):
            self._add("must be a mapping of name, version, policy and no_alert", file=file, line=1)
            return {}
        self._unknown_keys(data, {*_PACK_KEYS, _FOLLOW_UP, _CONTACTS, _ROWS}, file, None)
        meta: dict[str, Any] = {key: self._text(data, key, file, None) for key in _PACK_KEYS}
        if _FOLLOW_UP in data:
            meta[_FOLLOW_UP] = self._follow_up(data, file)
        if _CONTACTS in data:
            meta[_CONTACTS] = self._contacts(data, file)
        if _ROWS in data:
            self.rows = self._rows(data[_ROWS], file, data.key_lines[_ROWS])
        version = meta.get("version")
        if version and not _VERSION.match(version):
            self._add(
                f"version {show(version)} is not MAJOR.MINOR.PATCH",
                file=file,
                line=data.key_lines.get("version"),
                fix="for example 1.0.0",
            )
        return {k: v for k, v in meta.items() if v is not None}

    def _contacts(self, data: LocatedDict, file: str) -> dict[str, str]:
        """``contacts``: the clinic's words for the emergency number's examples and for the
        urgent-care service (each optional: the defaults of ``Contacts`` stand in)."""
        given = data[_CONTACTS]
        if not isinstance(given, LocatedDict):
            self._add(
                "contacts must be a mapping",
                file=file,
                line=data.key_lines[_CONTACTS],
                fix="for example contacts: {urgent_care: NHS 111, emergency_examples: '999'}",
            )
            return {}
        keys = set(Contacts().to_data())
        self._unknown_keys(given, keys, file, None)
        texts = {key: self._text(given, key, file, None) for key in sorted(keys) if key in given}
        return {key: text for key, text in texts.items() if text is not None}

    def _follow_up(self, data: LocatedDict, file: str) -> dict[str, float]:
        """``follow_up``: hours (more than 0, at most 336) by level: reduce_load, routine,
        same_day, urgent or emergency."""
        given, line = data[_FOLLOW_UP], data.key_lines[_FOLLOW_UP]
        levels = [key for key in KEYS if key != "continue"]
        if not isinstance(given, dict):
            self._add(
                "follow_up must be a mapping of levels to hours",
                file=file,
                line=line,
                fix="for example follow_up: {same_day: 24, routine: 72}",
            )
            return {}
        windows: dict[str, float] = {}
        for key, hours in given.items():
            if key not in levels:
                self._bad_choice("follow_up level", key, tuple(levels), file, line, None)
            elif (
                isinstance(hours, bool)
                or not isinstance(hours, (int, float))
                or not (0 < hours <= _MAX_FOLLOW_UP_HOURS)
            ):
                self._add(
                    f"follow_up {key}: {show(hours)} is not a number of hours from more than 0 "
                    f"to {_MAX_FOLLOW_UP_HOURS}",
                    file=file,
                    line=line,
                )
            else:
                windows[key] = hours
        return windows

    def _rows(self, value: Any, file: str, line: int) -> tuple[str, ...]:
        if not isinstance(value, list) or not value:
            self._add(
                "'rows' must be a list of the policy's rows",
                file=file,
                line=line,
                fix="for example 'rows: [E1, E2, S1]'",
            )
            return ()
        lines = getattr(value, "item_lines", [line] * len(value))
        rows: list[str] = []
        for row, at in zip(value, lines, strict=True):
            if not isinstance(row, str) or not row.strip() or row != row.strip():
                self._add(
                    f"row {show(row)} must be a name such as E1",
                    file=file,
                    line=at,
                    fix="put quotes around a row that looks like a number",
                )
            elif row in rows:
                self._add(f"row {row} is listed twice", file=file, line=at, fix="list it once")
            else:
                rows.append(row)
        return tuple(rows)

    def rules(self) -> tuple[list[Rule], list[Note]]:
        files = sorted(p for p in self.folder.glob("*.yaml") if p.name != PACK_FILE)
        if not files:
            self._add(
                "holds no rule files",
                file=str(self.folder),
                fix="add one or more *.yaml files with a 'rules:' list",
            )
        rules: list[Rule] = []
        notes: list[Note] = []
        for path in files:
            file_rules, file_notes = self._file_rules(path)
            rules += file_rules
            notes += file_notes
        return rules, notes

    def _file_rules(self, path: Path) -> tuple[list[Rule], list[Note]]:
        file = str(path)
        data = self._read(path)
        if data is None:
            return [], []
        lists = ("rules", "notes")
        if not isinstance(data, LocatedDict) or not any(
            isinstance(data.get(key), LocatedList) for key in lists
        ):
            self._add("must hold a 'rules:' list (or a 'notes:' list)", file=file, line=1)
            return [], []
        self._unknown_keys(data, set(lists), file, None)
        rules = [r for r in self._each(data, "rules", file, self._rule) if isinstance(r, Rule)]
        notes = [n for n in self._each(data, "notes", file, self._note) if isinstance(n, Note)]
        return rules, notes

    def _each(
        self, data: LocatedDict, key: str, file: str, parse: Callable[[Any, int, str], Any]
    ) -> list[Any]:
        entries = data.get(key)
        if entries is None:
            return []
        if not isinstance(entries, LocatedList):
            self._add(f"'{key}' must be a list", file=file, line=data.key_lines[key])
            return []
        return [parse(e, line, file) for e, line in zip(entries, entries.item_lines, strict=True)]

    def _note(self, data: Any, line: int, file: str) -> Note | None:
        if not isinstance(data, LocatedDict):
            self._add("each note must be a mapping", file=file, line=line)
            return None
        before = len(self.problems)
        note_id = self._rule_id(data, file, line)
        self._unknown_keys(data, _NOTE_KEYS, file, note_id)
        texts = {k: self._text(data, k, file, note_id) for k in ("title", "patient", "clinician")}
        source = self._source(data, file, note_id, line, cites_row=False)
        parser = ConditionParser(file, note_id)
        condition = None
        if "when" not in data:
            self._missing("when", file, note_id, line, "the condition under which it is shown")
        else:
            condition = parser.parse(data["when"], data.key_lines["when"])
            self.problems.extend(parser.problems)
        if len(self.problems) > before or condition is None or note_id is None:
            return None
        title, patient, clinician = (cast(str, texts[k]) for k in ("title", "patient", "clinician"))
        return Note(note_id, title, condition, patient, clinician, *source, file, line)

    def _rule(self, data: Any, line: int, file: str) -> Rule | None:
        if not isinstance(data, LocatedDict):
            self._add("each rule must be a mapping", file=file, line=line)
            return None
        before = len(self.problems)
        rule_id = self._rule_id(data, file, line)
        self._unknown_keys(data, _RULE_KEYS, file, rule_id)
        outcome, urgency = self._outcome(data, file, rule_id)
        texts = {k: self._text(data, k, file, rule_id) for k in ("title", "patient", "clinician")}
        advice = self._advice(data, outcome, file, rule_id)
        worse_if = self._text(data, "worse_if", file, rule_id) if "worse_if" in data else None
        headline = self._headline(data, outcome, file, rule_id)
        source = self._source(data, file, rule_id, line)
        parser = ConditionParser(file, rule_id)
        when = None
        if "when" not in data:
            self._missing("when", file, rule_id, line, "the condition under which the rule fires")
        else:
            when = parser.parse_when(data["when"], data.key_lines["when"])
            self.problems.extend(parser.problems)
        if len(self.problems) > before or when is None or rule_id is None or outcome is None:
            return None
        title, patient, clinician = (cast(str, texts[k]) for k in ("title", "patient", "clinician"))
        return Rule(rule_id, title, outcome, urgency, when, patient, clinician, advice,
                    source[0], source[1], file, line, worse_if, headline)  # fmt: skip

    def _rule_id(self, data: Any, file: str, line: int) -> str | None:
        rule_id = data.get("id")
        if rule_id is None:
            self._missing("id", file, None, line, "a unique name such as 'emergency.chest-pain'")
            return None
        at = data.key_lines["id"]
        if not isinstance(rule_id, str) or not _RULE_ID.match(rule_id):
            self._add(
                f"id {show(rule_id)} must be lower-case words joined by '.' or '-'",
                file=file,
                line=at,
                fix="for example 'emergency.chest-pain'",
            )
            return None
        if rule_id in self.seen_ids:  # reported, and the rule refused; its id still names it
            self._add(
                f"id is used twice (first at {self.seen_ids[rule_id]})",
                file=file,
                line=at,
                rule_id=rule_id,
                fix="give each rule its own id",
            )
        else:
            self.seen_ids[rule_id] = f"{file}:{at}"
        return rule_id

    def _outcome(self, data: Any, file: str, rule_id: str | None) -> tuple[str | None, str | None]:
        outcome, urgency = data.get("outcome"), data.get("urgency")
        if outcome is None:
            self._missing("outcome", file, rule_id, data.line, "one of " + ", ".join(OUTCOMES))
            return None, None
        if outcome not in OUTCOMES:
            self._bad_choice("outcome", outcome, OUTCOMES, file, data.key_lines["outcome"], rule_id)
            return None, None
        if outcome == "seek_medical_review" and urgency is None:
            self._missing(
                "urgency",
                file,
                rule_id,
                data.key_lines["outcome"],
                "one of " + ", ".join(URGENCIES) + " (required for seek_medical_review)",
            )
        elif outcome != "seek_medical_review" and urgency is not None:
            self._add(
                "urgency is only for seek_medical_review",
                file=file,
                line=data.key_lines["urgency"],
                rule_id=rule_id,
                fix="remove 'urgency'",
            )
        elif urgency is not None and urgency not in URGENCIES:
            self._bad_choice(
                "urgency", urgency, URGENCIES, file, data.key_lines["urgency"], rule_id
            )
        return outcome, urgency

    def _advice(self, data: Any, outcome: str | None, file: str, rule_id: str | None) -> str | None:
        """A continue rule's advice, which it must have (shown when the outcome is continue)."""
        if outcome == "continue":
            return self._text(data, "advice", file, rule_id)
        self._continue_only(data, "advice", file, rule_id, "put what to do in 'patient'")
        return None

    def _headline(
        self, data: Any, outcome: str | None, file: str, rule_id: str | None
    ) -> str | None:
        """A continue rule's first line when it holds the load (optional)."""
        if "headline" not in data:
            return None
        if outcome == "continue":
            return self._text(data, "headline", file, rule_id)
        fix = "remove 'headline': the outcome says what to do first"
        self._continue_only(data, "headline", file, rule_id, fix)
        return None

    def _continue_only(self, data: Any, key: str, file: str, rule_id: str | None, fix: str) -> None:
        if key in data:
            self._add(
                f"{key} is only for continue rules ({_CONTINUE_ONLY[key]})",
                file=file,
                line=data.key_lines[key],
                rule_id=rule_id,
                fix=fix,
            )

    def _source(
        self, data: Any, file: str, rule_id: str | None, line: int, *, cites_row: bool = True
    ) -> tuple[str, str]:
        """A rule's source cites a row of the policy (one pack.yaml lists, if it does); a
        note's may cite a section."""
        source = data.get("source")
        if source is None:
            self._missing("source", file, rule_id, line, "policy (the policy row) and reference")
            return "", ""
        if not isinstance(source, dict):
            self._add(
                "source must be a mapping with policy and reference",
                file=file,
                line=data.key_lines["source"],
                rule_id=rule_id,
            )
            return "", ""
        self._unknown_keys(source, _SOURCE_KEYS, file, rule_id)
        policy = self._text(source, "policy", file, rule_id)
        reference = self._text(source, "reference", file, rule_id)
        if cites_row and policy and self.rows and policy not in self.rows:
            near = suggest(policy, self.rows)
            self._add(
                f"source policy {show(policy)} is not a row of the policy "
                f"(pack.yaml lists its rows)" + (f" (did you mean '{near}'?)" if near else ""),
                file=file,
                line=getattr(source, "key_lines", {}).get("policy"),
                rule_id=rule_id,
                fix="cite a row listed under 'rows' in pack.yaml, or add the row there",
            )
        return policy or "", reference or ""

    def _text(self, data: Any, key: str, file: str, rule_id: str | None) -> str | None:
        value = data.get(key)
        if value is None:
            self._missing(key, file, rule_id, data.line, "a non-empty text")
            return None
        if not isinstance(value, str) or not value.strip():
            self._add(
                f"{key} must be a non-empty text, got {show(value)}",
                file=file,
                line=data.key_lines[key],
                rule_id=rule_id,
                fix="put quotes around it if it looks like a number or yes/no",
            )
            return None
        return " ".join(value.split())

    def _add(self, message: str, **where: Any) -> None:
        self.problems.append(Problem(message, **where))

    def _missing(self, key: str, file: str, rule_id: str | None, line: int, what: str) -> None:
        self._add(
            f"'{key}' is missing",
            file=file,
            line=line,
            rule_id=rule_id,
            fix=f"add '{key}:' with {what}",
        )

    def _bad_choice(
        self,
        key: str,
        value: Any,
        choices: tuple[str, ...],
        file: str,
        line: int,
        rule_id: str | None,
    ) -> None:
        near = suggest(str(value), choices)
        fix = f"did you mean '{near}'?" if near else None
        self._add(
            f"{key} {show(value)} is not one of " + ", ".join(choices),
            file=file,
            line=line,
            rule_id=rule_id,
            fix=fix,
        )

    def _unknown_keys(self, data: Any, allowed: set[str], file: str, rule_id: str | None) -> None:
        for key in data:
            if key not in allowed:
                near = suggest(str(key), allowed)
                self._add(
                    f"unknown key '{key}'" + (f" (did you mean '{near}'?)" if near else ""),
                    file=file,
                    line=data.key_lines.get(key),
                    rule_id=rule_id,
                    fix="allowed keys: "
                    + ", ".join(
                        sorted(allowed),
                    ),
                )


# -- the bundled pack ---------------------------------------------------------------------------

_default: RulePack | None = None
_default_lock = threading.Lock()


def _fresh_lock_after_fork() -> None:  # a lock held by another thread at a fork stays held
    global _default_lock
    _default_lock = threading.Lock()


os.register_at_fork(after_in_child=_fresh_lock_after_fork)


def default_rules_dir() -> Path:
    """The bundled rules: ``triage/rules`` in an installed wheel, ``rules/`` in a checkout."""
    package = Path(__file__).resolve().parents[1]  # triage/
    for candidate in (package / "rules", package.parent / "rules"):
        if (candidate / PACK_FILE).exists():
            return candidate
    raise PackError(
        [
            Problem(
                "the bundled rule pack is missing from this installation",
                file=str(package / "rules"),
                fix="reinstall triage",
            )
        ]
    )


def default_pack() -> RulePack:
    """The bundled pack, loaded and validated once per process."""
    global _default
    with _default_lock:
        if _default is None:
            _default = load_pack(default_rules_dir())
        return _default
