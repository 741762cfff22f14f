"""A CDS Hooks 2.0 service under ``triage serve``: when a clinician opens a patient's record,
the EHR asks for cards, and gets one per unreviewed check of the patient that needs action.

- ``GET /cds-services``: discovery; one service, ``triage-patient-view``, on ``patient-view``,
  asking for the patient as ``prefetch`` (``Patient/{{context.patientId}}``).
- ``POST /cds-services/triage-patient-view``: the cards, most urgent first then newest:
  emergency and urgent are ``critical``, same day ``warning``, routine and reduce load
  ``info``; a check whose outcome is continue has no card. Each names the rule pack that made
  the decision as its ``source`` and links to the check's page.
- ``POST /cds-services/triage-patient-view/feedback``: a card accepted or overridden in the EHR
  is recorded as a review of its check (``TriageLog.review``), under the user the card was
  shown to; the same feedback sent again is recorded once. The cards shown are kept in the
  log (``TriageLog.cds_cards``), so feedback is recorded after a restart too.

The patient's triage id is the prefetched Patient's identifier of system
``triage.fhir.codes.PATIENT_ID_SYSTEM``, or else its ``id``. Every call must carry a JWT signed
by the configured EHR (``EhrTrust``), as the specification's "Trusting CDS Clients" says.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..errors import UsageError
from ..fhir import codes
from ..log import Filters
from ..log.cards import ShownCard
from ..log.records import EntrySummary, plain_text
from ..outcomes import OVERRIDE_REASONS, level
from ..yamlio import MAX_BYTES, decode, parse_json

SERVICE_ID = "triage-patient-view"
HOOK = "patient-view"
MAX_CARDS = 10
MAX_USER = 200
"""The longest EHR user id kept (the reviews recorded from feedback are under it)."""
SUMMARY_LIMIT = 139
"""The specification: a summary of fewer than 140 characters."""
TOKEN_LIFETIME = 300
"""At most five minutes between a JWT's ``iat`` and its ``exp``."""
LEEWAY = 30
"""Seconds of clock difference tolerated in ``exp`` and ``iat``."""
ALGORITHMS = ("ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512")
"""Asymmetric signatures only: the specification forbids ``none`` and shared-secret (HMAC)
algorithms; it recommends ES384 and RS384."""
OVERRIDE_SYSTEM = f"{codes.CANONICAL}/CodeSystem/override-reason"
INDICATORS = {
    "emergency": "critical",
    "urgent": "critical",
    "same_day": "warning",
    "routine": "info",
    "reduce_load": "info",
}
HEADINGS = {
    "emergency": "EMERGENCY",
    "urgent": "URGENT, emergency department now",
    "same_day": "Same-day review",
    "routine": "Routine review",
    "reduce_load": "Reduce load",
}


# -- who may call: the EHR's signed JWT ------------------------------------------------------


@dataclass(frozen=True)
class EhrTrust:
    """The one EHR this server answers: its ``iss``, its public keys (a JWK Set by ``kid``, or
    one PEM key), and the public base URL of this server for ``aud`` (None: the URL the request
    came to)."""

    issuer: str
    keys: dict[str, Any]
    base_url: str | None = None

    def key_for(self, kid: str) -> Any:
        if "" in self.keys:  # one PEM key: the kid names it, whatever it is
            return self.keys[""]
        return self.keys.get(kid)


def load_trust(key_file: str, issuer: str, base_url: str | None = None) -> EhrTrust:
    """The EHR's public key(s) from ``key_file``: a JWK Set (JSON with ``keys``), one JWK, or
    a PEM public key. UsageError, with the fix, when it cannot be read."""
    import jwt
    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    problem = UsageError(
        f"{key_file} holds no public key: give a JWK Set (JSON), a JWK or a PEM public key",
        "export the EHR's public key(s) to that file (never its private key)",
    )
    try:
        data = Path(key_file).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {key_file}: {exc.strerror}", problem.fix) from None
    keys: dict[str, Any] = {}
    try:
        if data.lstrip().startswith(b"-----BEGIN PUBLIC KEY"):
            keys[""] = load_pem_public_key(data)
        else:
            document = json.loads(data)
            listed = document.get("keys", [document])
            for jwk in listed:
                if "d" in jwk:
                    raise UsageError(f"{key_file} holds a private key", problem.fix)
                keys[str(jwk.get("kid", ""))] = jwt.PyJWK.from_dict(jwk)
    except UsageError:
        raise
    except (ValueError, KeyError, TypeError, jwt.PyJWTError):
        raise problem from None
    if not keys:
        raise problem
    return EhrTrust(issuer, keys, base_url.rstrip("/") if base_url else None)


@dataclass
class _Seen:
    """JWT ids already used, until their expiry: a JWT is good for one call (replay)."""

    until: OrderedDict[str, float] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def first_use(self, jti: str, expires: float) -> bool:
        now = time.time()
        with self.lock:
            while self.until and next(iter(self.until.values())) < now - LEEWAY:
                self.until.popitem(last=False)
            if jti in self.until:
                return False
            self.until[jti] = expires
            return True


def _refuse(message: str) -> HTTPException:
    return HTTPException(401, f"CDS Hooks authentication failed: {message}")


def authenticate(request: Request, audiences: list[str]) -> dict[str, Any]:
    """The verified claims of the request's JWT; 401 unless it is signed by the EHR's key with
    an allowed algorithm, is for one of ``audiences``, is within its lifetime, and was never
    used before."""
    import jwt

    cds = _state(request)
    if cds.trust is None:
        raise _refuse("no EHR is configured (triage serve --cds-ehr-key and --cds-ehr-issuer)")
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _refuse("a JWT signed by the EHR is needed: Authorization: Bearer <JWT>")
    try:
        header = jwt.get_unverified_header(token.strip())
    except jwt.PyJWTError:
        raise _refuse("the bearer token is not a JWT") from None
    if header.get("alg") not in ALGORITHMS:
        raise _refuse(f"alg {str(header.get('alg'))[:10]!r} is not accepted")
    if header.get("typ") != "JWT" or not isinstance(header.get("kid"), str):
        raise _refuse("the JWT header needs typ 'JWT' and a kid")
    key = cds.trust.key_for(header["kid"])
    if key is None:
        raise _refuse(f"no key {header['kid'][:40]!r} in the EHR's key set")
    try:
        claims: dict[str, Any] = jwt.decode(
            token.strip(),
            key,
            algorithms=list(ALGORITHMS),
            audience=audiences,
            issuer=cds.trust.issuer,
            leeway=LEEWAY,
            options={"require": ["iss", "aud", "exp", "iat", "jti"]},
        )
    except jwt.PyJWTError as exc:
        raise _refuse(str(exc)) from None
    if not isinstance(claims["iat"], (int, float)) or claims["iat"] > time.time() + LEEWAY:
        raise _refuse("iat is in the future")
    if claims["exp"] - claims["iat"] > TOKEN_LIFETIME:
        raise _refuse(f"the JWT lives more than {TOKEN_LIFETIME} seconds")
    if not isinstance(claims["jti"], str) or not cds.seen.first_use(claims["jti"], claims["exp"]):
        raise _refuse("this JWT (its jti) was used before")
    return claims


def base_url(request: Request) -> str:
    trust = _state(request).trust
    if trust is not None and trust.base_url:
        return trust.base_url
    return f"{request.url.scheme}://{request.url.netloc}"


# -- the service's state -------------------------------------------------------------------------


@dataclass
class CdsState:
    """The configured EHR and the JWT ids seen (the cards shown are kept in the log)."""

    trust: EhrTrust | None = None
    seen: _Seen = field(default_factory=_Seen)


def _state(request: Request) -> CdsState:
    found: CdsState = request.app.state.cds
    return found


def routes() -> list[Route]:
    return [
        Route("/cds-services", discovery),
        Route("/cds-services/{service_id}", call, methods=["POST"]),
        Route("/cds-services/{service_id}/feedback", feedback, methods=["POST"]),
    ]


def _service_url(request: Request) -> str:
    return f"{base_url(request)}/cds-services/{SERVICE_ID}"


def _known(request: Request) -> None:
    if request.path_params["service_id"] != SERVICE_ID:
        raise HTTPException(404, f"no CDS service {request.path_params['service_id'][:64]!r}")


async def _body(request: Request) -> dict[str, Any]:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES:
        raise HTTPException(413, f"the request body is larger than {MAX_BYTES} bytes")
    data = parse_json(decode(await request.body(), "request body"), "request body")
    if not isinstance(data, dict):
        raise HTTPException(400, "the body must be a JSON object")
    return data


# -- discovery and the hook ----------------------------------------------------------------------


def discovery(request: Request) -> Response:
    authenticate(request, [f"{base_url(request)}/cds-services"])
    service = {
        "hook": HOOK,
        "title": "Post-session safety checks",
        "description": "Cards for the patient's checks after resistance training that no "
        "clinician has reviewed yet and that need action (reduce load, or medical review at "
        "its urgency), most urgent first.",
        "id": SERVICE_ID,
        "prefetch": {"patient": "Patient/{{context.patientId}}"},
        "usageRequirements": "The patient's triage id is the Patient identifier of system "
        f"{codes.PATIENT_ID_SYSTEM}, or else the Patient's id.",
    }
    return JSONResponse({"services": [service]})


async def call(request: Request) -> Response:
    _known(request)
    authenticate(request, [_service_url(request)])
    body = await _body(request)
    user, patient = _context(body)
    base = base_url(request)

    def cards() -> list[dict[str, Any]]:
        from .app import site

        log = site(request).logs.get()
        page = log.worklist(Filters(patient=patient, unreviewed=True), limit=MAX_CARDS)
        entries = sorted(
            (item.entry for item in page.items),
            key=lambda e: (e.severity, e.reported_at),
            reverse=True,
        )
        found = []
        for entry in entries:
            card = _card(entry, log.entry(entry.id).pack, base)
            log.cds_cards.remember(card["uuid"], entry.id, user)
            found.append(card)
        return found

    return JSONResponse({"cards": await run_in_threadpool(cards)})


def _context(body: dict[str, Any]) -> tuple[str, str]:
    """The user and the triage patient id of a ``patient-view`` call (400 or 412 when they
    cannot be had)."""
    if body.get("hook") != HOOK:
        raise HTTPException(400, f"hook is {str(body.get('hook'))[:40]!r}; this service is {HOOK}")
    if not isinstance(body.get("hookInstance"), str):
        raise HTTPException(400, "hookInstance is required")
    context = body.get("context")
    if not isinstance(context, dict):
        raise HTTPException(400, "context is required: userId and patientId")
    user, patient_id = context.get("userId"), context.get("patientId")
    if not isinstance(user, str) or not isinstance(patient_id, str) or not user or not patient_id:
        raise HTTPException(400, "context needs userId and patientId (strings)")
    if len(user) > MAX_USER or not _plain(user):
        raise HTTPException(400, f"context.userId: plain text of at most {MAX_USER} characters")
    prefetch = body.get("prefetch")
    patient = prefetch.get("patient") if isinstance(prefetch, dict) else None
    if not isinstance(patient, dict) or patient.get("resourceType") != "Patient":
        raise HTTPException(
            412,
            "prefetch 'patient' (the Patient resource) is needed: this service reads "
            "the patient's triage id from it",
        )
    if patient.get("id") not in (None, patient_id):
        raise HTTPException(400, "prefetch 'patient' is not the patient of context.patientId")
    listed = patient.get("identifier")
    identifiers: list[Any] = listed if isinstance(listed, list) else []
    ours = [
        i.get("value")
        for i in identifiers
        if isinstance(i, dict) and i.get("system") == codes.PATIENT_ID_SYSTEM
    ]
    found = ours[0] if ours and isinstance(ours[0], str) else patient_id
    return user, found


def _plain(text: str) -> bool:
    try:
        plain_text("userId", text)
    except UsageError:
        return False
    return True


def _card(entry: EntrySummary, pack: dict[str, str], base: str) -> dict[str, Any]:
    key = level(entry.outcome, entry.urgency).key
    summary = f"{HEADINGS[key]}: {entry.top_reason}"
    if len(summary) > SUMMARY_LIMIT:
        summary = summary[: SUMMARY_LIMIT - 1].rstrip() + "…"
    url = f"{base}/checks/{entry.id}"
    return {
        "uuid": str(uuid.uuid4()),
        "summary": summary,
        "indicator": INDICATORS[key],
        "detail": f"Post-session check {entry.id} of patient `{entry.patient_id}`, answered "
        f"{entry.reported_at}, not reviewed yet. "
        f"[Open the check in triage]({url}) for the answers and every reason.",
        "source": {
            "label": f"triage rule pack {pack.get('name', '?')} {pack.get('version', '?')}",
            "topic": {
                "system": codes.URGENCY_SYSTEM if entry.urgency else codes.OUTCOME_SYSTEM,
                "code": key,
            },
        },
        "overrideReasons": [
            {"system": OVERRIDE_SYSTEM, "code": code, "display": words}
            for code, words in OVERRIDE_REASONS.items()
        ],
        "links": [{"label": "Open the check in triage", "url": url, "type": "absolute"}],
    }


# -- feedback: a review of the check -------------------------------------------------------------


async def feedback(request: Request) -> Response:
    _known(request)
    claims = authenticate(request, [f"{_service_url(request)}/feedback", _service_url(request)])
    body = await _body(request)
    items = body.get("feedback")
    if not isinstance(items, list) or not items:
        raise HTTPException(400, "feedback must be a non-empty array")
    planned = [_planned(item, number) for number, item in enumerate(items)]

    def record() -> list[dict[str, Any]]:
        from .app import site

        log = site(request).logs.get()
        for where, card_id, *_ in planned:  # every card known, or nothing is recorded
            _shown_card(log.cds_cards.find(card_id), card_id, where)
        done: list[dict[str, Any]] = []
        for where, card_id, verdict, reason, note in planned:
            card = _shown_card(log.cds_cards.find(card_id), card_id, where)
            if card.verdict == verdict and card.review_id is not None:  # sent again: once
                done.append({"card": card.card, "entry_id": card.entry_id,
                             "review": card.review_id, "repeated": True})  # fmt: skip
                continue
            review = log.review(
                card.entry_id,
                by=f"{card.clinician} via CDS Hooks ({claims['iss']})"[:200],
                verdict=verdict,  # type: ignore[arg-type]
                note=note,
                reason=reason,
            )
            log.cds_cards.answered(card, verdict, review.id)
            done.append({"card": card.card, "entry_id": card.entry_id, "review": review.id})
        return done

    return JSONResponse({"recorded": await run_in_threadpool(record)})


def _shown_card(shown: ShownCard | None, card: str, where: str) -> ShownCard:
    if shown is None:
        raise HTTPException(404, f"{where}: card {card[:40]!r} was not shown by this server")
    return shown


def _planned(item: Any, number: int) -> tuple[str, str, str, str, str]:
    """One feedback item, checked before anything is recorded: (where it is, the card, the
    verdict, the reason, the note)."""
    where = f"feedback[{number}]"
    if not isinstance(item, dict) or not isinstance(item.get("card"), str):
        raise HTTPException(400, f"{where}: card (the card's uuid) is required")
    if item.get("outcome") not in ("accepted", "overridden"):
        raise HTTPException(400, f"{where}: outcome is accepted or overridden")
    if not isinstance(item.get("outcomeTimestamp"), str):
        raise HTTPException(400, f"{where}: outcomeTimestamp is required")
    at = item["outcomeTimestamp"][:40]
    if item["outcome"] == "accepted":
        return where, item["card"], "accepted", "", f"Accepted in the EHR at {at}."
    given = item.get("overrideReason")
    override: dict[str, Any] = given if isinstance(given, dict) else {}
    reason_given = override.get("reason")
    coding: dict[str, Any] = reason_given if isinstance(reason_given, dict) else {}
    reason = coding.get("code") if coding.get("system") == OVERRIDE_SYSTEM else None
    comment = override.get("userComment")
    note = f"Overridden in the EHR at {at}"
    if isinstance(coding.get("display"), str) and reason is None:
        note += f" ({coding['display'][:200]})"
    note += f": {comment[:2000]}" if isinstance(comment, str) and comment.strip() else "."
    return (
        where,
        item["card"],
        "overridden",
        reason if reason in OVERRIDE_REASONS else "other",
        note,
    )
