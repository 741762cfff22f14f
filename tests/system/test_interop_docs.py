"""The FHIR and CDS Hooks sections of docs/embedding.md show real exchanges (their Python
example is run by tests/repo/test_docs.py): their JSON requests, sent to a real ``triage serve`` on
127.0.0.1, get the responses shown (card uuids, the rule pack's version and hash and the engine
compared by shape)."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
import yaml
from cryptography.hazmat.primitives.asymmetric import ec

import triage
from tests.support.helpers import ROOT
from tests.support.web_support import start, stop
from triage.fhir import answers_from_response, questionnaire_response
from triage.log import TriageLog

GUIDE = (ROOT / "docs" / "embedding.md").read_text()
PUBLIC = "https://triage.clinic.example"
ISSUER = "https://ehr.clinic.example"
SHOWN_SHA256 = "ce5b47c71df9c35d4e3bc5b49c31ba1f5ece5c20a4dba9898148f673a72a41d7"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


def shown(name: str) -> Any:
    """The JSON block after ``<!-- NAME -->`` in the guide."""
    block = GUIDE.split(f"<!-- {name} -->\n```json\n", 1)[1].split("```", 1)[0]
    return json.loads(block)


def test_the_example_response_is_the_example_report() -> None:
    report = yaml.safe_load((ROOT / "examples" / "snap.yaml").read_text())
    expected = questionnaire_response({**report, "reported_at": "2026-11-21T18:30:00+00:00"})
    assert json.loads((ROOT / "examples" / "snap-qr.json").read_text()) == expected


class Ehr:
    def __init__(self, url: str, key: Any) -> None:
        self.url, self.key = url, key

    def post(self, path: str, body: Any) -> httpx.Response:
        return httpx.post(f"{self.url}{path}", json=body, headers=self._auth(path), timeout=30)

    def get(self, path: str) -> httpx.Response:
        return httpx.get(f"{self.url}{path}", headers=self._auth(path), timeout=30)

    def _auth(self, path: str) -> dict[str, str]:
        now = int(time.time())
        claims = {"iss": ISSUER, "sub": "ehr-cds-client", "aud": f"{PUBLIC}{path}",
                  "exp": now + 60, "iat": now, "jti": str(uuid.uuid4())}  # fmt: skip
        token = jwt.encode(claims, self.key, "ES384", headers={"kid": "ehr-2026", "typ": "JWT"})
        return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, Ehr, Path]]:
    folder = tmp_path_factory.mktemp("docs")
    db = folder / "triage.db"
    with TriageLog(db) as log:
        _, token = log.access.add_token("clinic-portal")
    key = ec.generate_private_key(ec.SECP384R1())
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    keys = folder / "ehr.jwks.json"
    keys.write_text(json.dumps({"keys": [{**public, "kid": "ehr-2026", "alg": "ES384"}]}))
    process, url, output = start(
        db, "--cds-ehr-key", str(keys), "--cds-ehr-issuer", ISSUER, "--public-url", PUBLIC
    )
    try:
        yield url, token, Ehr(url, key), db
    finally:
        if process.poll() is None:
            stop(process, output)


def _as_shown(data: Any) -> str:
    """The real JSON with what varies between runs (card uuids, the bundled pack's version and
    hash, the engine) written as the guide writes it."""
    pack = triage.default_pack()
    engine = triage.evaluate(answers_from_response(_snap())).engine
    text = json.dumps(data, sort_keys=True)
    text = text.replace(pack.sha256, SHOWN_SHA256)
    text = text.replace(f"{engine.name} {engine.version}", "durable-rules 2.0.28")
    text = text.replace(f"post-session-safety {pack.version}", "post-session-safety 3.0.0")
    text = text.replace(f'"version": "{pack.version}"', '"version": "3.0.0"')
    return UUID.sub("<uuid>", text)


def _snap() -> dict[str, Any]:
    return json.loads((ROOT / "examples" / "snap-qr.json").read_text())


def test_the_guides_exchanges_are_real(served: tuple[str, str, Ehr, Path]) -> None:
    url, token, ehr, db = served
    response = httpx.post(
        f"{url}/api/v1/check?format=fhir",
        content=json.dumps(_snap()),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/fhir+json"},
        timeout=30,
    )
    assessment = response.json()
    assessment["contained"] = shown("fhir-example: risk-assessment")["contained"]
    assert _as_shown(assessment) == _as_shown(shown("fhir-example: risk-assessment"))

    discovery = ehr.get("/cds-services").json()
    assert discovery == shown("cds-example: discovery-response")

    service = "/cds-services/triage-patient-view"
    cards = ehr.post(service, shown("cds-example: patient-view-request"))
    assert _as_shown(cards.json()) == _as_shown(shown("cds-example: patient-view-response"))

    request = shown("cds-example: feedback-request")
    request["feedback"][0]["card"] = cards.json()["cards"][0]["uuid"]
    recorded = ehr.post(f"{service}/feedback", request)
    assert _as_shown(recorded.json()) == _as_shown(shown("cds-example: feedback-response"))
    with TriageLog(db, create=False) as log:
        (review,) = log.entry(1).reviews
    assert f"by `{review.reviewer}`".replace("`", "") in GUIDE.replace("`", "").replace("\n", " ")
    assert f'"{review.note}"' in GUIDE.replace("\n", " ")
