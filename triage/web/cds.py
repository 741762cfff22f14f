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
  shown to: each different feedback on a card (another reason, comment or time) is recorded,
  the same feedback sent again only once. Unknown keys and an ``outcomeTimestamp`` without
  its zone are refused (400). The cards shown are kept in the log (``TriageLog.cds_cards``),
  so feedback is recorded after a restart too.

The patient's triage id is the prefetched Patient's identifier of system
``triage.fhir.codes.PATIENT_ID_SYSTEM``, or else its ``id``. Every call must carry a JWT signed
by the configured EHR (``EhrTrust``), as the specification's "Trusting CDS Clients" says.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..contract.fields import MOMENT_WORDS
from ..contract.reading import show
from ..errors import InputError, Problem, UsageError
from ..fhir import codes
from ..log import Filters
from ..log.cards import ShownCard
from ..log.records import EntrySummary, plain_text
from ..outcomes import OVERRIDE_REASONS, level
from ..yamlio import decode, parse_json
from .errors import unknown_keys

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


def algorithms_for(key: Any) -> list[str]:
    """The ``ALGORITHMS`` that ``key`` can verify: a JWK its own one, a PEM key those of its
    kind (an RSA key RS* and PS*, an elliptic-curve key ES*). A token signed with another is
    refused before it meets the key (PyJWT raises TypeError for a key of the wrong kind)."""
    import jwt
    from cryptography.hazmat.primitives.asymmetric import ec, rsa

    if isinstance(key, jwt.PyJWK):
        return [key.algorithm_name] if key.algorithm_name in ALGORITHMS else []
    if isinstance(key, rsa.RSAPublicKey):
        return [name for name in ALGORITHMS if name[:2] in ("RS", "PS")]
    if isinstance(key, ec.EllipticCurvePublicKey):
        return [name for name in ALGORITHMS if name.startswith("ES")]
    return []


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
            if not algorithms_for(keys[""]):
                raise UsageError(
                    f"{key_file} holds a public key of a kind CDS Hooks does not sign with",
                    "give the EHR's RSA or elliptic-curve (P-256, P-384, P-521) public key",
                )
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
    if header["alg"] not in algorithms_for(key):
        raise _refuse(f"alg {header['alg']} does not fit the EHR's key {header['kid'][:40]!r}")
    try:
        claims: dict[str, Any] = jwt.decode(
            token.strip(),
            key,
            algorithms=[header["alg"]],
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
    if not isinstance(claims["jti"], str) or not _first_use(request, claims["jti"], claims["exp"]):
        raise _refuse("this JWT (its jti) was used before")
    return claims


def _first_use(request: Request, jti: str, expires: float) -> bool:
    """Whether the JWT ``jti`` was never used before, by any server of the log: it is kept in
    the log until the JWT could no longer be accepted (``exp`` and the leeway). Called in a
    worker thread (each has its own connection to the log)."""
    from .site import site

    return site(request).logs.get().used_tokens.first_use(jti, expires + LEEWAY)


def base_url(request: Request) -> str:
    trust = _state(request).trust
    if trust is not None and trust.base_url:
        return trust.base_url
    return f"{request.url.scheme}://{request.url.netloc}"


# -- the service's state -------------------------------------------------------------------------


@dataclass
class CdsState:
    """The configured EHR (the JWT ids used and the cards shown are kept in the log)."""

    trust: EhrTrust | None = None


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
    await run_in_threadpool(authenticate, request, [_service_url(request)])
    body = await _body(request)
    user, patient = _context(body)
    base = base_url(request)

    def cards() -> list[dict[str, Any]]:
        from .site import site

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
    audiences = [f"{_service_url(request)}/feedback", _service_url(request)]
    claims = await run_in_threadpool(authenticate, request, audiences)
    planned = _plan(await _body(request))
    by = f"via CDS Hooks ({claims['iss']})"

    def record() -> list[dict[str, Any]]:
        from .site import site

        log = site(request).logs.get()
        for item in planned:  # every card known, or nothing is recorded
            _shown_card(log.cds_cards.find(item.card), item)
        done: list[dict[str, Any]] = []
        for item in planned:
            card = _shown_card(log.cds_cards.find(item.card), item)
            reviewer = f"{card.clinician} {by}"[:200]
            given = (reviewer, item.verdict, item.reason, item.note)
            same = [
                r.id
                for r in log.entry(card.entry_id).reviews
                if (r.reviewer, r.verdict, r.reason, r.note) == given
            ]
            if same:  # this very feedback was recorded already: once
                done.append({"card": card.card, "entry_id": card.entry_id,
                             "review": same[0], "repeated": True})  # fmt: skip
                continue
            review = log.review(
                card.entry_id,
                by=reviewer,
                verdict=item.verdict,  # type: ignore[arg-type]
                note=item.note,
                reason=item.reason,
            )
            log.cds_cards.answered(card, item.verdict, review.id)
            done.append({"card": card.card, "entry_id": card.entry_id, "review": review.id})
        return done

    return JSONResponse({"recorded": await run_in_threadpool(record)})


FEEDBACK_KEYS = ("card", "outcome", "acceptedSuggestions", "overrideReason", "outcomeTimestamp")
"""The keys of a feedback item (CDS Hooks 2.0, "Feedback"); any other is refused."""
OVERRIDE_KEYS = ("reason", "userComment")
CODING_KEYS = ("system", "code", "display")


@dataclass(frozen=True)
class _Feedback:
    """One feedback item, checked before anything is recorded: the review it becomes."""

    where: str
    card: str
    verdict: str
    reason: str
    note: str


def _plan(body: dict[str, Any]) -> list[_Feedback]:
    """Every feedback item of ``body``, or an InputError (400) naming each problem: an unknown
    key (with the key meant), a missing card or outcome, an outcomeTimestamp without its zone."""
    problems = unknown_keys(body, ("feedback",), "a key of CDS Hooks feedback")
    items = body.get("feedback")
    if not isinstance(items, list) or not items:
        problems.append(Problem("must be a non-empty array of feedback items", field="feedback"))
        items = []
    planned = []
    for number, item in enumerate(items):
        found = _planned(item, f"feedback[{number}]", problems)
        if found is not None:
            planned.append(found)
    if problems:
        raise InputError(problems, "the feedback")
    return planned


def _planned(item: Any, where: str, problems: list[Problem]) -> _Feedback | None:
    from ..contract.report import parse_moment

    if not isinstance(item, dict):
        problems.append(Problem("is not a feedback item (a JSON object)", field=where))
        return None
    count = len(problems)
    problems += unknown_keys(item, FEEDBACK_KEYS, "a key of CDS Hooks feedback", where)
    if not isinstance(item.get("card"), str):
        problems.append(Problem("is required", field=f"{where}.card", fix="the card's uuid"))
    if item.get("outcome") not in ("accepted", "overridden"):
        problems.append(Problem("is accepted or overridden", field=f"{where}.outcome"))
    at = item.get("outcomeTimestamp")
    try:
        parse_moment(at)
    except ValueError:
        problems.append(
            Problem(
                f"is {show(at, 40)}, not a date-time with its zone",
                field=f"{where}.outcomeTimestamp",
                fix=f"give {MOMENT_WORDS} (Z for UTC)",
            )
        )
    override = _object(item, "overrideReason", where, OVERRIDE_KEYS, problems)
    coding = _object(override, "reason", f"{where}.overrideReason", CODING_KEYS, problems)
    comment = override.get("userComment")
    comment = " ".join(comment.split())[:2000] if isinstance(comment, str) else ""
    reason = coding.get("code") if coding.get("system") == OVERRIDE_SYSTEM else None
    if item.get("outcome") == "accepted":
        note = f"Accepted in the EHR at {at}."
    else:
        note = f"Overridden in the EHR at {at}"
        if isinstance(coding.get("display"), str) and reason is None:
            note += f" ({' '.join(coding['display'].split())[:200]})"
        note += f": {comment}" if comment else "."
    try:
        plain_text("note", note)
    except UsageError as refused:
        problems.append(Problem(str(refused), field=f"{where}.overrideReason", fix=refused.fix))
    if len(problems) > count:
        return None
    if item["outcome"] == "accepted":
        return _Feedback(where, item["card"], "accepted", "", note)
    reason = reason if reason in OVERRIDE_REASONS else "other"
    return _Feedback(where, item["card"], "overridden", str(reason), note)


def _object(
    given: dict[str, Any], key: str, where: str, keys: tuple[str, ...], problems: list[Problem]
) -> dict[str, Any]:
    """``given[key]``, a JSON object of ``keys`` (empty when it is not given)."""
    found = given.get(key, {})
    if not isinstance(found, dict):
        problems.append(Problem("is not a JSON object", field=f"{where}.{key}"))
        return {}
    problems += unknown_keys(found, keys, "a key of CDS Hooks feedback", f"{where}.{key}")
    return found


def _shown_card(shown: ShownCard | None, item: _Feedback) -> ShownCard:
    if shown is None:
        raise HTTPException(
            404, f"{item.where}: card {item.card[:40]!r} was not shown by this server"
        )
    return shown
