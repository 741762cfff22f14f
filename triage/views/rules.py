"""The clinician's views of the rule tooling, as styled lines: a pack's cases and coverage
(``triage rules test``), a replay over the log (``triage rules diff``) and the rules that did not
fire (``--explain``). The front end decides on colour.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from ..wording import counted
from .render import Line

if TYPE_CHECKING:
    from ..checking.replay import Replay
    from ..evaluation.cases import PackTests
    from ..pack.explain import WhyNot

MAX_NAME = 60


def shown_path(path: str) -> str:
    """A path as typed from here: relative when it is under the current folder."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def case_table(tests: PackTests) -> list[Line]:
    """Each case passed or failed, with what was expected, what came out and what fired."""
    pack, results = tests.pack, tests.run.results
    cases = counted(len(results), "case")
    if tests.own_cases:  # wherever the pack is installed
        cases = cases.replace(" ", " of the pack's own ", 1)
    else:
        cases += f" in {', '.join(map(shown_path, tests.locations))}"
    run_with = f"run with {pack.name} {pack.version} (sha256 {pack.sha256[:12]})"
    lines = [Line("heading", f"{cases}, {run_with}:")]
    width = min(max((len(r.name) for r in results), default=0), MAX_NAME)
    for result in results:
        if result.passed:
            lines.append(Line("text", f"pass  {result.name:<{width}}  {result.got}"))
            continue
        lines.append(Line("urgent", f"FAIL  {result.name:<{width}}  expected {result.expected}"))
        lines += [Line("text", "      " + text) for text in _failure(result)]
    failed = len(tests.run.failed)
    summary = f"{counted(len(results), 'case')}: {len(results) - failed} passed, {failed} failed."
    return [*lines, Line("text", ""), Line("urgent" if failed else "ok", summary), Line("text", "")]


def _failure(result: object) -> list[str]:
    from ..evaluation.cases import CaseResult

    assert isinstance(result, CaseResult)
    found = [f"problem: {p}" for p in result.problems]
    if result.got is not None:
        found.append(f"got:      {result.got}")
        found.append(f"fired:    {', '.join(result.fired) or 'no rule'}")
    if result.missing:
        found.append(f"must fire, did not: {', '.join(result.missing)}")
    if result.unexpected:
        found.append(f"must not fire, did: {', '.join(result.unexpected)}")
    found.append(f"in {result.file}")
    return found


def coverage_lines(tests: PackTests, strict: bool) -> list[Line]:
    """What the rules cover: each check ok, or a warning (an error with ``strict``)."""
    pack = tests.pack
    findings = {f.kind: f for f in tests.findings()}
    checks = [
        ("unfired", f"every rule fires in some case ({counted(len(pack.rules), 'rule')})"),
        ("uncited_rows", f"every policy row is cited by a rule ({counted(len(pack.rows), 'row')})"),
        ("never_fire", "every rule can fire: no condition contradicts itself under the contract"),
        (
            "overruled",
            "every rule can change a decision: none is always overruled by a more severe rule",
        ),
    ]
    lines = [Line("heading", "Coverage:")]
    mark = "error" if strict else "warning"
    for kind, good in checks:
        if kind == "uncited_rows" and "rows_not_listed" in findings:
            kind = "rows_not_listed"
        finding = findings.get(kind)
        if finding is None:
            lines.append(Line("ok", f"ok       {good}", indent=2))
        else:
            listed = f": {', '.join(finding.items)}" if finding.items else ""
            words = finding.words if kind != "overruled" else finding.words.split(" (")[0]
            lines.append(
                Line("urgent" if strict else "caution", f"{mark:<8} {words}{listed}", indent=2)
            )
            if kind == "overruled":
                for item in tests.coverage.overruled:
                    lines.append(
                        Line("text", f"{item.rule} always fires with {', '.join(item.by)}", 11)
                    )
    if "undecided" in findings:
        finding = findings["undecided"]
        lines.append(
            Line("caution", f"{mark:<8} {finding.words}: {', '.join(finding.items)}", indent=2)
        )
    if findings and not strict:
        lines.append(Line("note", "(--strict makes these errors)", indent=2))
    return lines


# -- why not -----------------------------------------------------------------------------------


WHY_NOT_HEADING = (
    "For clinicians: the more severe rules that did not fire, and the fewest answers that kept "
    "each from firing (never advice for the patient):"
)
NO_MORE_SEVERE = "none: no rule is more severe than this outcome"


def why_not_groups(reasons: Iterable[WhyNot]) -> list[tuple[str, list[WhyNot]]]:
    """The rules that did not fire, grouped by how many answers away they were, closest first
    (as given); the rules kept off by the earlier checks under their own heading."""
    groups: list[tuple[str, list[WhyNot]]] = []
    distance: int | bool | None = False
    for reason in reasons:
        if reason.answers_away != distance:
            distance = reason.answers_away
            heading = (
                "the earlier checks, not the answers"
                if distance is None
                else f"{distance} answer{'s' if distance != 1 else ''} away"
            )
            groups.append((heading, []))
        groups[-1][1].append(reason)
    return groups


def why_not_lines(reasons: Iterable[WhyNot]) -> list[Line]:
    """The more severe rules that did not fire, the closest first: for clinicians only."""
    from ..outcomes import level

    lines = [Line("heading", WHY_NOT_HEADING)]
    groups = why_not_groups(reasons)
    if not groups:
        return [*lines, Line("text", NO_MORE_SEVERE, 2)]
    for heading, group in groups:
        lines.append(Line("text", f"{heading}:", 2))
        for reason in group:
            words = level(reason.outcome, reason.urgency).words
            lines.append(Line("text", f"{words:<14} {reason.rule}: {reason.words()}", 4))
    return lines


# -- replay ------------------------------------------------------------------------------------


def replay_header(replay: Replay) -> list[Line]:
    """What was replayed, with which rules, from which log (short lines, never wrapped: the
    log's path stays whole)."""
    result, pack = replay.result, replay.pack
    since = f" answered since {replay.since[:10]}" if replay.since else ""
    logged = "; ".join(
        f"{name} {version} ({sha[:12]}): {count:,}"
        for (name, version, sha), count in sorted(result.logged_under.items())
    )
    return [
        Line(
            "heading",
            f"Replayed {counted(result.replayed, 'check')}{since} with {pack.name} {pack.version} "
            f"(sha256 {pack.sha256[:12]}),",
        ),
        Line("heading", f"each with the history it had ({replay.engine} engine)."),
        Line("note", f"Log: {shown_path(replay.log)}"),
        Line("note", f"Logged under: {logged or 'nothing'}."),
    ]


def replay_lines(replay: Replay, limit: int) -> list[Line]:
    """The transition table, the safety transitions (less urgent) first and marked, then each
    transition's checks by the rules that fire now and no longer; ``limit`` entry ids per
    group (0: all)."""
    from ..outcomes import LEVELS

    result = replay.result
    unchanged = sum(n for (b, a), n in result.matrix.items() if a == b)
    lines: list[Line] = []
    for why, count in sorted(result.skipped.items()):
        lines.append(Line("note", f"Not replayed: {counted(count, 'check')} {why}."))
    changed = replay.changed
    lines.append(
        Line(
            "urgent" if changed else "ok",
            f"{counted(changed, 'decision')} would change; {unchanged:,} would not.",
        )
    )
    transitions = replay.transitions()
    if transitions:
        lines += [Line("text", ""), Line("heading", "Transitions (logged -> now: checks):")]
        for before, after, count in transitions:
            safety = after < before
            text = (
                f"{'!! ' if safety else '   '}{LEVELS[before].words:<15} -> "
                f"{LEVELS[after].words:<15} {count:>9,}"
                + ("   SAFETY: less urgent" if safety else "")
            )
            lines.append(Line("urgent" if safety else "text", text, indent=2))
        for before, after, count in transitions:
            lines += _transition_lines(replay, before, after, count, limit)
    if result.other_rules:
        total = sum(len(ids) for ids in result.other_rules.values())
        lines += [
            Line("text", ""),
            Line("heading", f"Same outcome, other rules: {counted(total, 'check')}"),
        ]
        for key, ids in sorted(result.other_rules.items(), key=lambda item: -len(item[1])):
            lines += _group_lines(key[2], key[3], ids, limit)
    return lines


def _transition_lines(
    replay: Replay, before: int, after: int, count: int, limit: int
) -> list[Line]:
    from ..outcomes import LEVELS

    safety = after < before
    title = (
        f"{'!! ' if safety else ''}{LEVELS[before].words} -> {LEVELS[after].words}"
        f"{' (less urgent)' if safety else ''}: {count:,} check{'s' if count != 1 else ''}"
    )
    lines = [Line("text", ""), Line("urgent" if safety else "heading", title)]
    for key, ids in replay.changes_of(before, after):
        lines += _group_lines(key[2], key[3], ids, limit)
    return lines


def _group_lines(
    now: tuple[str, ...], gone: tuple[str, ...], ids: Iterable[int], limit: int
) -> list[Line]:
    listed = sorted(ids)
    rules = []
    if now:
        rules.append(f"fires now: {', '.join(now)}")
    if gone:
        rules.append(f"no longer fires: {', '.join(gone)}")
    shown = listed if limit == 0 else listed[:limit]
    more = len(listed) - len(shown)
    entries = ", ".join(str(i) for i in shown)
    if more:
        entries += f" and {more:,} more (--limit 0 lists them all)"
    noun = "entry" if len(listed) == 1 else "entries"
    return [
        Line("text", "; ".join(rules) or "the same rules", indent=2),
        Line("text", f"{len(listed):,} {noun}: {entries}", indent=4),
    ]
