"""A FHIR R4 ``QuestionnaireResponse`` to our questionnaire, read as a report; and a report
written as one.

Reading checks, before the report's own validation: the questionnaire it answers (canonical
URL and version), its status, that each item is one of the questionnaire's, in its place, with
answers of the item's type and codes among its options, and that every answered item is
enabled (a question behind a gate answered no, or asked only under a condition that does not
hold, must not be answered). A gate answered no stands for its group's answers (as in the
terminal). Then the answers go through the report contract's validation, and every problem of
both steps is reported at once (``ReportError``), each with the item's ``linkId``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ..contract.readers import ResourceReader
from ..contract.reading import FIELDS, parse_report, suggest
from ..contract.report import Report
from ..errors import Problem, ReportError
from ..evaluation.questionnaire import FLOW, GATES, ITEMS, Gate, Step
from ..logic import holds
from . import codes
from .questionnaire import group_id, questionnaire

DONE = ("completed", "amended")
VALUE_KEYS = {
    "boolean": "valueBoolean",
    "integer": "valueInteger",
    "decimal": "valueDecimal",
    "string": "valueString",
    "choice": "valueCoding",
}
_MISSING = object()


def is_response(data: Any) -> bool:
    return isinstance(data, Mapping) and data.get("resourceType") == "QuestionnaireResponse"


@functools.cache
def layout() -> dict[str, tuple[dict[str, Any], str | None]]:
    """Every item of the questionnaire by ``linkId``: the item and the ``linkId`` of the item
    it is inside (None at the top)."""
    found: dict[str, tuple[dict[str, Any], str | None]] = {}

    def walk(items: list[dict[str, Any]], parent: str | None) -> None:
        for item in items:
            found[item["linkId"]] = (item, parent)
            walk(item.get("item", []), item["linkId"])

    walk(questionnaire()["item"], None)
    return found


def _gates_above(link_id: str) -> list[str]:
    """The gates whose yes enables the item, outermost first."""
    gates: list[str] = []
    parent = layout()[link_id][1]
    while parent is not None:
        if parent.endswith("-group"):
            gates.insert(0, parent.removesuffix("-group"))
        parent = layout()[parent][1]
    return gates


class _Reading:
    """The state of reading one response: the answers and gates found, and the problems."""

    def __init__(self, source: str | None) -> None:
        self.source = source
        self.problems: list[Problem] = []
        self.given: dict[str, Any] = {}
        self.gates: dict[str, bool] = {}
        self.refused: set[str] = set()  # items with a problem of their own

    def problem(self, message: str, item: str | None = None, fix: str | None = None) -> None:
        self.problems.append(Problem(message, file=self.source, item=item, fix=fix))
        if item is not None:
            self.refused.add(item)


def subject_of(resource: Mapping[str, Any]) -> Any:
    """The patient id the response's ``subject`` names (by our patient id system), or None."""
    subject = resource.get("subject")
    identifier = subject.get("identifier") if isinstance(subject, Mapping) else None
    if not isinstance(identifier, Mapping) or identifier.get("system") != codes.PATIENT_ID_SYSTEM:
        return None
    return identifier.get("value")


def with_subject(resource: Mapping[str, Any], patient: str) -> dict[str, Any]:
    """The response with ``patient`` as its ``subject``."""
    identifier = {"system": codes.PATIENT_ID_SYSTEM, "value": patient}
    return {**resource, "subject": {"identifier": identifier}}


def answers_from_response(resource: Mapping[str, Any], source: str | None = None) -> dict[str, Any]:
    """The report answers a ``QuestionnaireResponse`` gives (not yet evaluated, but already
    valid under the contract); raises ``ReportError`` listing every problem, each with its
    item's ``linkId``."""
    answers, problems = read_response(resource, source)
    if problems:
        raise ReportError(problems, source)
    return answers


def read_response(
    resource: Mapping[str, Any], source: str | None = None
) -> tuple[dict[str, Any], list[Problem]]:
    """The answers a ``QuestionnaireResponse`` gives that have no problem of their own, and
    every problem (a half-filled form: the answers given, and each required item missing)."""
    reading = _Reading(source)
    _check_resource(resource, reading)
    items = resource.get("item", [])
    if not isinstance(items, list):
        reading.problem("'item' must be a list of the answered items")
        items = []
    seen: set[str] = set()
    _read_items(items, None, reading, seen)
    answers = _with_implied(reading)
    _check_enabled(reading, answers)
    _check_gates_answered(reading)
    _subject_and_time(resource, reading, answers)
    answers = {k: v for k, v in answers.items() if k not in reading.refused}
    try:
        parse_report(answers, source)
    except ReportError as error:
        reading.problems += _as_item_problems(error.problems, reading)
    return answers, _ordered(reading.problems)


reader = ResourceReader("the QuestionnaireResponse", read_response, subject_of, with_subject)
"""How the core reads a response (registered in ``triage/fhir/__init__.py``)."""


def _check_resource(resource: Mapping[str, Any], reading: _Reading) -> None:
    canonical = resource.get("questionnaire")
    expected = f"{codes.QUESTIONNAIRE_URL}|{codes.VERSION}"
    if not isinstance(canonical, str):
        reading.problem(
            "'questionnaire' is missing: a response must name the questionnaire it answers",
            fix=f'write "questionnaire": "{expected}"',
        )
    else:
        url, _, version = canonical.partition("|")
        if url != codes.QUESTIONNAIRE_URL:
            reading.problem(
                f"'questionnaire' is {canonical[:100]!r}, not triage's questionnaire",
                fix=f"answer the questionnaire of 'triage questions --fhir': {expected}",
            )
        elif version != codes.VERSION:
            said = f"version {version!r}" if version else "no version"
            reading.problem(
                f"'questionnaire' names {said}; this triage reads version {codes.VERSION} "
                f"(report contract v{codes.VERSION})",
                fix=f'write "questionnaire": "{expected}", with the answers of that version',
            )
    status = resource.get("status")
    if status not in DONE:
        reading.problem(
            f"'status' is {str(status)[:40]!r}: only a finished response is checked",
            fix="send it once it is completed (status 'completed' or 'amended')",
        )


def _read_items(items: list[Any], parent: str | None, reading: _Reading, seen: set[str]) -> None:
    for entry in items:
        link_id = entry.get("linkId") if isinstance(entry, Mapping) else None
        if not isinstance(link_id, str):
            reading.problem("an item without a 'linkId'", fix="give each item its linkId")
            continue
        if link_id not in layout():
            near = suggest(link_id, layout()) if len(link_id) <= 80 else None
            hint = f" (did you mean '{near}'?)" if near else ""
            reading.problem(
                f"is not an item of the questionnaire{hint}",
                link_id[:80],
                "remove it or correct its linkId ('triage questions --fhir' lists the items)",
            )
            continue
        if link_id in seen:
            reading.problem("is answered twice", link_id, "give each item once")
            continue
        seen.add(link_id)
        item, expected = layout()[link_id]
        if item["type"] == "display":
            reading.problem("is a text to show: it takes no answer", link_id, "remove it")
        elif parent != expected:
            where = f"inside item '{expected}'" if expected else "at the top level"
            reading.problem(f"is in the wrong place: it belongs {where}", link_id)
        elif item["type"] == "group":
            if "answer" in entry:
                reading.problem("is a group: it takes no answer", link_id, "remove 'answer'")
            inner = entry.get("item", [])
            _read_items(inner if isinstance(inner, list) else [], link_id, reading, seen)
        else:
            _read_question(entry, item, reading)


def _read_question(entry: Mapping[str, Any], item: dict[str, Any], reading: _Reading) -> None:
    link_id = item["linkId"]
    if entry.get("item"):
        reading.problem("takes no nested items", link_id, "remove its 'item'")
        return
    answers = entry.get("answer", [])
    if not isinstance(answers, list):
        reading.problem("'answer' must be a list of answers", link_id)
        return
    if not answers:
        return  # not answered: the report's validation says whether it had to be
    if len(answers) > 1 and not item.get("repeats"):
        reading.problem(
            f"has {len(answers)} answers; it takes one", link_id, "keep only the right answer"
        )
        return
    values = [_value(answer, item, reading) for answer in answers]
    if link_id in reading.refused:
        return
    if item.get("repeats"):
        chosen = [v for value in values for v in value]
        if len(values) > 1 and [] in values:
            reading.problem(
                f"'{codes.NONE_CODE}' is an answer of its own: it cannot come with others",
                link_id,
                f"give '{codes.NONE_CODE}' alone, or only the other answers",
            )
            return
        value: Any = chosen
    else:
        value = values[0]
    if link_id in GATES:
        reading.gates[link_id] = value
    else:
        reading.given[link_id] = value


def _value(answer: Any, item: dict[str, Any], reading: _Reading) -> Any:
    """The contract's value of one answer; a problem (and None) when it does not fit."""
    link_id, kind = item["linkId"], item["type"]
    expected = VALUE_KEYS[kind]
    keys = [key for key in answer if key.startswith("value")] if isinstance(answer, Mapping) else []
    if len(keys) != 1:
        reading.problem(
            "each answer must hold exactly one value[x]", link_id, f"answer with {expected}"
        )
        return None
    key = keys[0]
    value = answer[key]
    if key != expected:
        article = "an" if kind[0] in "aeiou" else "a"
        reading.problem(f"is answered with {key}; {article} {kind} item takes {expected}", link_id)
        return None
    if kind == "choice":
        return _coded(value, item, reading)
    fits = {
        "boolean": isinstance(value, bool),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "decimal": isinstance(value, (int, float)) and not isinstance(value, bool),
        "string": isinstance(value, str),
    }[kind]
    if not fits:
        reading.problem(f"{key} is {str(value)[:40]!r}, which does not fit its type", link_id)
        return None
    return value


def _coded(coding: Any, item: dict[str, Any], reading: _Reading) -> Any:
    link_id = item["linkId"]
    options = {o["valueCoding"]["code"]: o for o in item["answerOption"]}
    listed = ", ".join(options)
    if not isinstance(coding, Mapping) or not isinstance(coding.get("code"), str):
        reading.problem("valueCoding must hold a 'code'", link_id, f"one of {listed}")
        return None
    system = codes.answers_system(link_id)
    if coding.get("system") != system:
        reading.problem(
            f"valueCoding's system is {str(coding.get('system'))[:80]!r}, not the item's",
            link_id,
            f'write "system": "{system}"',
        )
        return None
    version = coding.get("version")
    if version is not None and version != codes.VERSION:
        reading.problem(
            f"valueCoding's version is {str(version)[:20]!r}, not {codes.VERSION}", link_id
        )
        return None
    code = coding["code"]
    if code not in options:
        near = suggest(code, options) if len(code) <= 80 else None
        reading.problem(
            f"code {code[:40]!r} is not one of the item's options",
            link_id,
            f"did you mean '{near}'?" if near else f"one of {listed}",
        )
        return None
    value = next(v for v, c, _ in codes.answer_codes(FIELDS[link_id]) if c == code)
    return [value] if item.get("repeats") and value != [] else value


def _with_implied(reading: _Reading) -> dict[str, Any]:
    """The answers given, and those a gate answered no stands for."""
    implied: dict[str, Any] = {}
    for gate in GATES.values():
        if reading.gates.get(gate.key) is False:
            implied.update(gate.if_no)
    return {**implied, **reading.given}


def _check_enabled(reading: _Reading, answers: dict[str, Any]) -> None:
    """Answers to items that are not enabled: one problem for a group whose gate is not a
    yes (its answers are all refused), one for each question whose condition does not hold."""
    for link_id in [*reading.gates, *reading.given]:
        closed = next((g for g in _gates_above(link_id) if reading.gates.get(g) is not True), None)
        if closed is not None:
            group = f"{closed}-group"
            if group not in reading.refused:
                said = "is answered no" if reading.gates.get(closed) is False else "is not answered"
                reading.problem(
                    f"holds answers, but it is not enabled: item '{closed}' {said}, and only a "
                    "yes enables it",
                    group,
                    f"remove the group's answers, or answer '{closed}' yes",
                )
            reading.refused.add(link_id)
            continue
        item = ITEMS[link_id][1] if link_id in ITEMS else None
        if item is not None and item.when is not None and not holds(item.when, answers):
            reading.problem(
                f"is answered, but it is not enabled: it is asked only {item.when_text}",
                link_id,
                "remove this answer, or correct the answers it depends on",
            )


def _check_gates_answered(reading: _Reading) -> None:
    for key in GATES:
        above = _gates_above(key)
        opened = all(reading.gates.get(g) is True for g in above)
        if key not in reading.gates and opened and key not in reading.refused:
            reading.problem("is required", key, "answer it with true or false")


def _subject_and_time(
    resource: Mapping[str, Any], reading: _Reading, answers: dict[str, Any]
) -> None:
    """``authored`` is the report's ``reported_at``; a ``subject`` identified by our patient
    id system must be the patient the answers name."""
    if "authored" in resource:
        answers["reported_at"] = resource["authored"]
    patient = subject_of(resource)
    if patient is None:
        return
    if "patient_id" not in answers and isinstance(patient, str):
        answers["patient_id"] = patient
    elif answers.get("patient_id") != patient:
        reading.problem(
            f"is {str(answers.get('patient_id'))[:64]!r}, but 'subject' is patient "
            f"{str(patient)[:64]!r}",
            "patient_id",
            "answer for the patient the response is about",
        )


def _as_item_problems(problems: list[Problem], reading: _Reading) -> list[Problem]:
    """The report's problems, each about its item (or ``authored``); none about an item that
    has a problem already, or that sits behind a gate with one."""
    found = []
    for problem in problems:
        name = problem.field
        if name == "reported_at":
            found.append(
                replace(
                    problem,
                    field=None,
                    message=f"'authored' {problem.message}",
                    fix="a date-time with seconds and an offset, such as 2026-11-21T09:30:00+00:00",
                )
            )
            continue
        if name in reading.refused or (
            name in layout()
            and any(g in reading.refused or g not in reading.gates for g in _gates_above(name))
        ):
            continue
        fix = problem.fix
        if fix and (fix.startswith(("add '", "remove '"))):
            spec = FIELDS.get(name or "")
            fix = f"answer it: {spec.expected()}" if fix.startswith("add '") and spec else None
        found.append(replace(problem, field=None, item=name, fix=fix, line=None))
    return found


def _ordered(problems: list[Problem]) -> list[Problem]:
    """Problems of the resource first, then by the items' order in the questionnaire."""
    order = {link_id: number for number, link_id in enumerate(layout())}
    return sorted(problems, key=lambda p: -1 if p.item is None else order.get(p.item, len(order)))


# -- a report as a response ----------------------------------------------------------------------


def questionnaire_response(report: Report | Mapping[str, Any]) -> dict[str, Any]:
    """A report written as a ``QuestionnaireResponse`` to our questionnaire: each gate is
    answered yes unless its group's answers are exactly what no stands for; ``reported_at`` is
    ``authored``. The fields the questionnaire does not ask (the session id, the profile, age
    and conditions of the patient's record) are not in it."""
    answers = parse_report(report).answers()
    return {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{codes.QUESTIONNAIRE_URL}|{codes.VERSION}",
        "status": "completed",
        "subject": {
            "identifier": {"system": codes.PATIENT_ID_SYSTEM, "value": answers["patient_id"]}
        },
        "authored": answers["reported_at"],
        "item": _response_items(FLOW, answers),
    }


def partial_response(answers: Mapping[str, Any]) -> dict[str, Any]:
    """Some of a report's answers (a check stopped early) as an ``in-progress`` response: only
    the questions answered, and the gates of the groups some of whose answers are known."""
    found: dict[str, Any] = {
        "resourceType": "QuestionnaireResponse",
        "questionnaire": f"{codes.QUESTIONNAIRE_URL}|{codes.VERSION}",
        "status": "in-progress",
    }
    if isinstance(answers.get("patient_id"), str):
        found["subject"] = {
            "identifier": {"system": codes.PATIENT_ID_SYSTEM, "value": answers["patient_id"]}
        }
    if "reported_at" in answers:
        found["authored"] = answers["reported_at"]
    found["item"] = _response_items(FLOW, dict(answers), partial=True)
    return found


def _response_items(
    steps: tuple[Step, ...], answers: dict[str, Any], partial: bool = False
) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for step in steps:
        if isinstance(step, Gate):
            if not partial or any(name in answers for name in step.fields()):
                found += _response_gate(step, answers, partial)
        elif step.field in answers and step.applies(answers):
            item = layout()[step.field][0]
            found.append(
                {
                    "linkId": step.field,
                    "text": item["text"],
                    "answer": _answers(step.field, item, answers[step.field]),
                }
            )
    return found


def _response_gate(gate: Gate, answers: dict[str, Any], partial: bool) -> list[dict[str, Any]]:
    opened = any(
        answers.get(name, _MISSING) != gate.if_no.get(name, _MISSING)
        for name in gate.fields()
        if not partial or name in answers
    )
    question = {"linkId": gate.key, "text": gate.question, "answer": [{"valueBoolean": opened}]}
    inner = _response_items(gate.items, answers, partial) if opened else []
    if not inner:
        return [question]
    return [question, {"linkId": group_id(gate), "text": gate.title, "item": inner}]


def _answers(field: str, item: dict[str, Any], value: Any) -> list[dict[str, Any]]:
    kind = item["type"]
    if kind != "choice":
        return [{VALUE_KEYS[kind]: value}]
    if item.get("repeats"):
        chosen = value or [[]]
        return [{"valueCoding": codes.coding(field, v)} for v in chosen]
    return [{"valueCoding": codes.coding(field, value)}]
