"""The clinician's views of the rule tooling, as styled lines: a pack's cases and coverage
(``triage rules test``), a replay over the log (``triage rules diff``) and the rules that did not
fire (``--explain``). The front end decides on colour.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import TYPE_CHECKING

from .render import Line

if TYPE_CHECKING:
    from .cases import PackTests
    from .explain import WhyNot

MAX_NAME = 60


def shown_path(path: str) -> str:
    """A path as typed from here: relative when it is under the current folder."""
    relative = os.path.relpath(path)
    return path if relative.startswith("..") else relative


def case_table(tests: PackTests) -> list[Line]:
    """Each case passed or failed, with what was expected, what came out and what fired."""
    pack, results = tests.pack, tests.run.results
    lines = [
        Line(
            "heading",
            f"{len(results)} cases in {', '.join(map(shown_path, tests.locations))}, run with "
            f"{pack.name} "
            f"{pack.version} (sha256 {pack.sha256[:12]}):",
        )
    ]
    width = min(max((len(r.name) for r in results), default=0), MAX_NAME)
    for result in results:
        if result.passed:
            lines.append(Line("text", f"pass  {result.name:<{width}}  {result.got}"))
            continue
        lines.append(Line("urgent", f"FAIL  {result.name:<{width}}  expected {result.expected}"))
        lines += [Line("text", "      " + text) for text in _failure(result)]
    failed = len(tests.run.failed)
    summary = f"{len(results)} cases: {len(results) - failed} passed, {failed} failed."
    return [*lines, Line("text", ""), Line("urgent" if failed else "ok", summary), Line("text", "")]


def _failure(result: object) -> list[str]:
    from .cases import CaseResult

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
        ("unfired", f"every rule fires in some case ({len(pack.rules)} rules)"),
        (
            "uncited_rows",
            f"every policy row is cited by a rule ({len(pack.rows)} rows)",
        ),
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


def why_not_lines(reasons: Iterable[WhyNot]) -> list[Line]:
    """The more severe rules that did not fire, the closest first: for clinicians only."""
    from .outcomes import level

    found = list(reasons)
    lines = [
        Line(
            "heading",
            "For clinicians: the more severe rules that did not fire, and the fewest answers "
            "that kept each from firing (never advice for the patient):",
        )
    ]
    if not found:
        return [*lines, Line("text", "none: no rule is more severe than this outcome", 2)]
    distance = None
    for reason in found:
        if reason.answers_away != distance:
            distance = reason.answers_away
            heading = (
                "the earlier checks, not the answers"
                if distance is None
                else f"{distance} answer{'s' if distance != 1 else ''} away"
            )
            lines.append(Line("text", f"{heading}:", 2))
        words = level(reason.outcome, reason.urgency).words
        lines.append(Line("text", f"{words:<14} {reason.rule}: {reason.words()}", 4))
    return lines
