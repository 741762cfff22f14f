"""A rule pack compiled once into Python functions: which rules fire, which notes apply.

The conditions are compiled by ``logic.compile_selection`` (every single-report rule of the pack
in one function) and ``history.compile_when`` (each history rule), with exactly the meaning of
``logic.holds`` and ``history.rule_holds``, which stay the definition. The reference backend
fires rules with it, and a decision finds its notes with it.
"""

from __future__ import annotations

import functools
import os
import threading
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING

from ..logic import Answers, Matcher, compile_matched, compile_selection
from ..outcomes import severity
from .history import Context, ContextTest, compile_when

if TYPE_CHECKING:
    from .rules import Note, Rule, RulePack


@dataclass(frozen=True)
class CompiledRule:
    """What a decision needs of a rule that fired, worked out once (its answers' matcher when
    the rule first fires)."""

    rule: Rule
    position: int
    severity: int
    source: str

    @cached_property
    def matched(self) -> Matcher | None:
        condition = self.rule.condition
        return None if condition is None else compile_matched(condition)

    @cached_property
    def reason(self) -> dict[str, object]:
        """What a decision's reason says of this rule, whatever the answers."""
        return reason_fields(self.rule, self.source)


def reason_fields(rule: Rule, source: str) -> dict[str, object]:
    """What a reason (``decision.Reason``) says of ``rule``, whatever the answers: the one
    place a rule becomes a reason, for a decision and for an early warning."""
    return {
        "rule": rule.id,
        "title": rule.title,
        "outcome": rule.outcome,
        "urgency": rule.urgency,
        "patient": rule.patient,
        "clinician": rule.clinician,
        "source": source,
    }


@dataclass(frozen=True)
class CompiledNote:
    note: Note
    source: str

    @cached_property
    def matched(self) -> Matcher:
        return compile_matched(self.note.condition)


class CompiledPack:
    """The conditions of one pack, each part compiled when it is first needed (a check with
    durable-rules never needs the reference backend's function of every rule)."""

    def __init__(self, pack: RulePack) -> None:
        self._pack = pack
        self.rules = {
            rule.id: CompiledRule(
                rule,
                position,
                severity(rule.outcome, rule.urgency),
                pack.source(rule),
            )
            for position, rule in enumerate(pack.rules)
        }
        """Each rule by id."""
        self.note_table = {note.id: CompiledNote(note, pack.source(note)) for note in pack.notes}

    @cached_property
    def _single(self) -> Callable[[Answers], list[str]]:
        rules = self._pack.rules
        return compile_selection(
            [(r.id, r.condition) for r in rules if not r.history and r.condition is not None]
        )

    @cached_property
    def _always(self) -> tuple[str, ...]:
        return tuple(r.id for r in self._pack.rules if not r.history and r.condition is None)

    @cached_property
    def _history(self) -> tuple[tuple[str, ContextTest], ...]:
        return tuple((r.id, compile_when(r.when)) for r in self._pack.rules if r.history)

    @cached_property
    def _notes(self) -> Callable[[Answers], list[str]]:
        return compile_selection([(n.id, n.condition) for n in self._pack.notes])

    def notes(self, answers: Answers) -> list[CompiledNote]:
        """The pack's notes whose condition holds for ``answers``, in pack order."""
        return [self.note_table[key] for key in self._notes(answers)]

    def ranked(self, fired: set[str]) -> list[CompiledRule]:
        """The rules that fired, most severe first, in pack order within a tier."""
        found = [self.rules[key] for key in fired if key in self.rules]
        found.sort(key=lambda r: (-r.severity, r.position))
        return found

    def fired(self, context: Context) -> set[str]:
        """The ids of the rules that fire for ``context``."""
        fired = set(self._single(context.answers))
        fired.update(self._always)
        if context.earlier is not None:  # a history rule never fires without the history
            fired.update(rule_id for rule_id, holds in self._history if holds(context))
        return fired


_cache: dict[int, tuple[weakref.ref[RulePack], CompiledPack]] = {}
_lock = threading.Lock()


def _fresh_lock_after_fork() -> None:  # a lock held by another thread at a fork stays held
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_fresh_lock_after_fork)


def compiled(pack: RulePack) -> CompiledPack:
    """``pack`` compiled, once per pack object (kept while the pack is)."""
    found = _cache.get(id(pack))
    if found is not None and found[0]() is pack:
        return found[1]
    with _lock:
        found = _cache.get(id(pack))
        if found is not None and found[0]() is pack:
            return found[1]
        result = CompiledPack(pack)
        key = id(pack)
        forget = functools.partial(_cache.pop, key, None)  # the dict itself: safe at exit
        _cache[key] = (weakref.ref(pack, lambda _: forget()), result)
        return result
