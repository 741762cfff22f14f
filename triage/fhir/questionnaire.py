"""The questionnaire as a FHIR R4 ``Questionnaire``, derived from the structure the terminal
walks (``triage.evaluation.questionnaire.FLOW``) and the contract's fields: no second list of
questions.

- each question's ``linkId`` is its report field; its text, help (a ``display`` child with the
  ``help`` item control) and answers come from the contract;
- a gate is a ``boolean`` question followed by a ``group`` (``linkId`` ``<gate>-group``) that
  ``enableWhen`` enables when the gate is answered yes; FHIR disables a group's items with it;
- a question asked only under a condition gets ``enableWhen`` (with ``enableBehavior`` when
  there are several tests); a condition ``enableWhen`` cannot express (all and any mixed, not,
  comparisons with another answer) becomes an SDC ``enableWhenExpression`` in FHIRPath.
  None of contract v2's conditions needs one: each is one test, or all or any of tests.
"""

from __future__ import annotations

from typing import Any

from ..contract.field_table import FIELDS
from ..evaluation.questionnaire import FLOW, Gate, Item, Step
from ..logic import All, AnyOf, Condition, FieldRef, Not, Test
from . import codes

TYPES = {
    "text": "string",
    "datetime": "dateTime",
    "number": "decimal",
    "integer": "integer",
    "yes_no": "boolean",
    "choice": "choice",
    "yes_no_unsure": "choice",
    "set": "choice",
}
"""The R4 item type of each kind of field."""

OPERATORS = {"eq": "=", "ne": "!=", "ge": ">=", "gt": ">", "le": "<=", "lt": "<", "has": "="}
"""Tests ``enableWhen`` can express; ``has`` on a repeating item: one of its answers is it."""


def questionnaire() -> dict[str, Any]:
    """The FHIR R4 ``Questionnaire`` of the report contract (``triage questions --fhir``)."""
    return {
        "resourceType": "Questionnaire",
        "id": codes.QUESTIONNAIRE_ID,
        "url": codes.QUESTIONNAIRE_URL,
        "version": codes.VERSION,
        "name": "PostSessionCheck",
        "title": "Post-session check",
        "status": "active",
        "subjectType": ["Patient"],
        "publisher": "triage",
        "description": (
            "A safety check after a resistance-training session, as `triage check` asks it "
            f"(report contract v{codes.VERSION}). Each question's linkId is its report field; "
            "a yes/no gate question stands for a group, whose questions are asked only when it "
            "is answered yes (no stands for the answers listed in the gate's help)."
        ),
        "item": _items(FLOW),
    }


def _items(steps: tuple[Step, ...]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for step in steps:
        found += _gate(step) if isinstance(step, Gate) else [_question(step)]
    return found


def group_id(gate: Gate) -> str:
    return f"{gate.key}-group"


def _gate(gate: Gate) -> list[dict[str, Any]]:
    """The gate's yes/no question, then its group, enabled by a yes."""
    question = {
        "linkId": gate.key,
        "text": gate.question,
        "type": "boolean",
        "required": True,
        "item": [_help(gate.key, gate.help)],
    }
    group = {
        "linkId": group_id(gate),
        "text": gate.title,
        "type": "group",
        "enableWhen": [{"question": gate.key, "operator": "=", "answerBoolean": True}],
        "item": _items(gate.items),
    }
    return [question, group]


def _help(link_id: str, text: str) -> dict[str, Any]:
    return {
        "linkId": f"{link_id}.help",
        "text": text,
        "type": "display",
        "extension": [
            {
                "url": codes.ITEM_CONTROL,
                "valueCodeableConcept": {
                    "coding": [
                        {
                            "system": codes.ITEM_CONTROL_SYSTEM,
                            "code": "help",
                            "display": "Help-Button",
                        }
                    ]
                },
            }
        ],
    }


def _question(item: Item) -> dict[str, Any]:
    spec = item.spec
    found: dict[str, Any] = {"linkId": spec.name, "text": spec.ask.question}
    if spec.name in codes.PAIN_SCORES:
        found["code"] = [codes.PAIN_SCORE]
    found["type"] = TYPES[spec.kind]
    if not item.optional:
        found["required"] = True
    if spec.kind == "set":
        found["repeats"] = True
    extensions = _limits(item)
    if spec.kind in codes.CODED_KINDS:
        found["answerOption"] = [
            _option(spec.name, value) for value, _, _ in codes.answer_codes(spec)
        ]
    if item.when is not None:
        enabling = enable_when(item.when)
        extensions += enabling.pop("extension", [])
        found.update(enabling)
    if extensions:
        found["extension"] = extensions
    if spec.ask.help:
        found["item"] = [_help(spec.name, spec.ask.help)]
    return found


def _option(field: str, value: Any) -> dict[str, Any]:
    option: dict[str, Any] = {"valueCoding": codes.coding(field, value)}
    if value == []:
        option["extension"] = [{"url": codes.OPTION_EXCLUSIVE, "valueBoolean": True}]
    return option


def _limits(item: Item) -> list[dict[str, Any]]:
    spec = item.spec
    if not spec.numeric or spec.minimum is None or spec.maximum is None:
        return []
    key = "valueInteger" if spec.kind == "integer" else "valueDecimal"
    kind = int if spec.kind == "integer" else float
    found: list[dict[str, Any]] = [
        {"url": codes.MIN_VALUE, key: kind(spec.minimum)},
        {"url": codes.MAX_VALUE, key: kind(spec.maximum)},
    ]
    if spec.name == "hours_since_session":
        hours = {"system": codes.UCUM, "code": "h", "display": "hours"}
        found.append({"url": codes.UNIT, "valueCoding": hours})
    return found


# -- when a question is asked ----------------------------------------------------------------


def enable_when(condition: Condition) -> dict[str, Any]:
    """``enableWhen`` (and ``enableBehavior``) for a condition that is one test, or all or any
    of tests ``enableWhen`` can express; otherwise the SDC ``enableWhenExpression`` extension."""
    tests = _tests(condition)
    if tests is not None:
        enabling: dict[str, Any] = {"enableWhen": [_enable(test) for test in tests]}
        if len(tests) > 1:
            enabling["enableBehavior"] = "all" if isinstance(condition, All) else "any"
        return enabling
    expression = {"language": "text/fhirpath", "expression": fhirpath(condition)}
    return {"extension": [{"url": codes.ENABLE_WHEN_EXPRESSION, "valueExpression": expression}]}


def _tests(condition: Condition) -> list[Test] | None:
    """The tests of a condition ``enableWhen`` can express, or None."""
    if isinstance(condition, Test):
        return [condition] if _plain(condition) else None
    if isinstance(condition, (All, AnyOf)) and all(
        isinstance(item, Test) and _plain(item) for item in condition.items
    ):
        return list(condition.items)  # type: ignore[arg-type]
    return None


def _plain(test: Test) -> bool:
    return test.op in OPERATORS and not isinstance(test.value, FieldRef)


def _enable(test: Test) -> dict[str, Any]:
    return {"question": test.field, "operator": OPERATORS[test.op], **_answer(test)}


def _answer(test: Test) -> dict[str, Any]:
    spec = FIELDS[test.field]
    if spec.kind in codes.CODED_KINDS:
        return {
            "answerCoding": {
                k: v for k, v in codes.coding(test.field, test.value).items() if k != "display"
            }
        }
    if spec.kind == "yes_no":
        return {"answerBoolean": test.value}
    if spec.kind == "integer":
        return {"answerInteger": int(test.value)}
    return {"answerDecimal": float(test.value)}


def fhirpath(condition: Condition) -> str:
    """The condition as a FHIRPath expression over the response (SDC's
    ``enableWhenExpression``), true exactly when the condition holds: a test on an item with
    no answer is false, as in the rule language."""
    if isinstance(condition, Not):
        return f"({fhirpath(condition.item)}).not()"
    if isinstance(condition, (All, AnyOf)):
        joint = " and " if isinstance(condition, All) else " or "
        return "(" + joint.join(fhirpath(item) for item in condition.items) + ")"
    if isinstance(condition.value, FieldRef):
        raise ValueError(
            f"{condition.field}: a comparison with another answer has no FHIRPath form"
        )
    answers = f"%resource.repeat(item).where(linkId = '{condition.field}').answer.value"
    if FIELDS[condition.field].kind in codes.CODED_KINDS:
        answers += ".code"
    if condition.op == "present":
        return f"{answers}.exists()" if condition.value else f"{answers}.exists().not()"
    if condition.op in ("in", "has_any"):
        listed = " | ".join(_literal(condition.field, v) for v in condition.value)
        return f"{answers}.where($this in ({listed})).exists()"
    symbol = OPERATORS[condition.op]
    return f"{answers}.where($this {symbol} {_literal(condition.field, condition.value)}).exists()"


def _literal(field: str, value: Any) -> str:
    if FIELDS[field].kind in codes.CODED_KINDS:
        return "'" + codes.code_of(value) + "'"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
