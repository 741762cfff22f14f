"""An EHR calling the CDS Hooks service: it signs a fresh ES384 JWT for each call with its own
key, whose public half the server reads from a JWKS file (``jwks_file``)."""

from __future__ import annotations

import json
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from triage.fhir.codes import PATIENT_ID_SYSTEM
from triage.web.cds import SERVICE_ID

ISSUER = "https://ehr.clinic.example"
KID = "ehr-key-1"


class Ehr:
    """A CDS client: its private key signs a fresh JWT for each call."""

    def __init__(self, url: str, key: Any, kid: str = KID, issuer: str = ISSUER) -> None:
        self.url, self.key, self.kid, self.issuer = url, key, kid, issuer

    def token(self, audience: str, **changes: Any) -> str:
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": audience,
            "exp": now + 60,
            "iat": now,
            "jti": str(uuid.uuid4()),
            "sub": "ehr-client",
        }
        claims.update(changes)
        claims = {k: v for k, v in claims.items() if v is not None}
        headers = {"kid": self.kid, "typ": "JWT"}
        return jwt.encode(claims, self.key, algorithm="ES384", headers=headers)

    def call(
        self, method: str, path: str, body: Any = None, token: str | None = None
    ) -> httpx.Response:
        url = f"{self.url}{path}"
        headers = {"Authorization": f"Bearer {token or self.token(url)}"}
        return httpx.request(method, url, json=body, headers=headers, timeout=30)

    def patient_view(self, patient: str, ehr_id: str = "ehr-42", **extra: Any) -> httpx.Response:
        body = {
            "hook": "patient-view",
            "hookInstance": str(uuid.uuid4()),
            "context": {"userId": "Practitioner/dr-osei", "patientId": ehr_id},
            "prefetch": {
                "patient": {
                    "resourceType": "Patient",
                    "id": ehr_id,
                    "identifier": [{"system": PATIENT_ID_SYSTEM, "value": patient}],
                }
            },
            **extra,
        }
        return self.call("POST", f"/cds-services/{SERVICE_ID}", body)


def jwks_file(key: ec.EllipticCurvePrivateKey, path: Path) -> Path:
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    path.write_text(json.dumps({"keys": [{**public, "kid": KID, "use": "sig", "alg": "ES384"}]}))
    return path
