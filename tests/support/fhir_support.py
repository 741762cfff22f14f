"""Validation of FHIR R4 resources against artefacts no one here wrote: HL7's R4 JSON Schema
(vendored in tests/support/fhir, with its source and licence) and a maintained FHIR library.

The library is ``fhir.resources`` 8 (pydantic v2): its models are of R4B (4.3), the release
nearest R4 that it ships with pydantic v2 (its R4 models needed pydantic v1); Questionnaire,
QuestionnaireResponse, RiskAssessment and CodeSystem did not change from R4 to R4B. It checks
the structure and the data types, but not the required codes (a Questionnaire with status
"bogus" passes it): the schema checks those, and is the authority for R4.
"""

from __future__ import annotations

import functools
import hashlib
import json
from typing import Any

import jsonschema

from tests.support.helpers import ROOT

SCHEMA_FILE = ROOT / "tests" / "support" / "fhir" / "fhir.schema.json"
SCHEMA_SHA256 = "15b9548af6412c44faaa411456e0652542de286fd1c58ef882b09bdc8947909d"


@functools.cache
def _schema() -> dict[str, Any]:
    text = SCHEMA_FILE.read_bytes()
    assert hashlib.sha256(text).hexdigest() == SCHEMA_SHA256, (
        "tests/support/fhir/fhir.schema.json changed"
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


@functools.cache
def _validator(resource_type: str) -> jsonschema.Draft6Validator:
    """A validator for one resource type: the whole schema's definitions, entered at the type
    (the schema's top-level oneOf over every resource type gives no useful messages)."""
    schema = _schema()
    assert resource_type in schema["definitions"], resource_type
    return jsonschema.Draft6Validator(
        {"$ref": f"#/definitions/{resource_type}", "definitions": schema["definitions"]}
    )


def schema_errors(resource: dict[str, Any]) -> list[str]:
    """Every way ``resource`` breaks HL7's R4 JSON Schema, with where (empty: valid)."""
    validator = _validator(resource["resourceType"])
    return [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message[:300]}"
        for error in validator.iter_errors(resource)
    ]


def library_model(resource: dict[str, Any]) -> Any:
    """The resource parsed by fhir.resources (raises pydantic's ValidationError if invalid)."""
    from fhir.resources.R4B import get_fhir_model_class

    return get_fhir_model_class(resource["resourceType"]).model_validate(resource)


def assert_valid(resource: dict[str, Any]) -> None:
    """Valid for both: the library parses it, and the schema finds nothing."""
    library_model(resource)
    assert schema_errors(resource) == []
