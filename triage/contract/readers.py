"""Answers that come as a resource of an interchange standard (a FHIR ``QuestionnaireResponse``):
the hook through which the core reads them without importing the adapter that knows the standard.

An adapter at the edge (``triage/fhir``) registers a ``ResourceReader`` for its resource type
when it is imported; ``triage/__init__.py`` names, in ``ADAPTERS``, the adapter to import the
first time such a resource is met. Answers are told apart from a resource by one key,
``resourceType``, and read once (``read``).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..errors import Problem


@dataclass(frozen=True)
class ResourceReader:
    """How the core reads one type of resource: its answers and their problems, the patient
    it names, and the resource with a patient named."""

    name: str
    """The resource in a message that has no source: "the QuestionnaireResponse"."""
    read: Callable[[Mapping[str, Any], str | None], tuple[dict[str, Any], list[Problem]]]
    """The answers without a problem of their own, and every problem (each with its item)."""
    subject_of: Callable[[Mapping[str, Any]], Any]
    with_subject: Callable[[Mapping[str, Any], str], dict[str, Any]]


READERS: dict[str, ResourceReader] = {}
"""The registered readers, by ``resourceType``."""
ADAPTERS: dict[str, str] = {}
"""The module to import to register the reader of a ``resourceType`` (set by ``triage``)."""


def register(resource_type: str, reader: ResourceReader) -> None:
    READERS[resource_type] = reader


def reader_of(data: Any, source: str | None) -> ResourceReader | None:
    """The reader of the resource ``data`` is; None for answers; ``InputError`` for a resource
    that no reader reads."""
    kind = data.get("resourceType") if isinstance(data, Mapping) else None
    if not isinstance(kind, str):
        return None
    if kind not in READERS and kind in ADAPTERS:
        importlib.import_module(ADAPTERS[kind])
    if kind in READERS:
        return READERS[kind]
    from ..errors import InputError, Problem

    problem = Problem(
        f"is a FHIR {kind[:40]}, not a report",
        file=source,
        fix="give a report, or a QuestionnaireResponse to the questionnaire of "
        "'triage questions --fhir'",
    )
    raise InputError([problem], source)


def read(data: Any, source: str | None) -> tuple[Any, list[Problem]]:
    """What ``data`` answers, and the problems of reading it: answers as they are (no
    problems), a resource read by its reader (the answers without a problem of their own)."""
    reader = reader_of(data, source)
    if reader is None:
        return data, []
    return reader.read(data, source or reader.name)


def answers_in(data: Any, source: str | None) -> Any:
    """``read``, refusing a resource with any problem (``ReportError``)."""
    answers, problems = read(data, source)
    if problems:
        from ..errors import ReportError

        raise ReportError(problems, source)
    return answers
