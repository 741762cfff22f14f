"""The CDS Hooks 2.0 service of ``triage serve``, against a real server on 127.0.0.1: an EHR
with its own key pair signs each call's JWT; discovery, the patient-view cards (checked against
the specification's field rules) and feedback recorded as reviews; every JWT that is not the
EHR's, for this endpoint, fresh and unused, gets 401."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from tests.support.ehr import ISSUER, KID, Ehr, jwks_file
from tests.support.web_support import seed, start, stop
from triage.errors import UsageError
from triage.log import TriageLog
from triage.web.cds import OVERRIDE_SYSTEM, SERVICE_ID, load_trust

INDICATORS = ("info", "warning", "critical")
CARD_FIELDS = {
    "uuid",
    "summary",
    "detail",
    "indicator",
    "source",
    "suggestions",
    "selectionBehavior",
    "overrideReasons",
    "links",
    "extension",
}


def cds_problems(response: dict[str, Any]) -> list[str]:
    """How a CDS Service response breaks the field rules of CDS Hooks 2.0 ("CDS Service
    Response", "Card Attributes", "Source", "Link", "Reasons for rejecting a card")."""
    problems = []
    if not isinstance(response.get("cards"), list):
        return ["cards: required, an array"]
    for number, card in enumerate(response["cards"]):
        at = f"cards[{number}]"
        problems += [f"{at}.{k}: not a card attribute" for k in card if k not in CARD_FIELDS]
        summary = card.get("summary")
        if not isinstance(summary, str) or not summary or len(summary) >= 140:
            problems.append(f"{at}.summary: required, fewer than 140 characters")
        if card.get("indicator") not in INDICATORS:
            problems.append(f"{at}.indicator: one of info, warning, critical")
        source = card.get("source")
        if not isinstance(source, dict) or not isinstance(source.get("label"), str):
            problems.append(f"{at}.source.label: required")
        if "uuid" in card:
            try:
                uuid.UUID(card["uuid"])
            except (ValueError, TypeError, AttributeError):
                problems.append(f"{at}.uuid: not a UUID")
        if "suggestions" in card and card.get("selectionBehavior") not in ("at-most-one", "any"):
            problems.append(f"{at}.selectionBehavior: required with suggestions")
        for link in card.get("links", []):
            if not all(isinstance(link.get(k), str) for k in ("label", "url")):
                problems.append(f"{at}.links: label and url are required")
            if link.get("type") not in ("absolute", "smart"):
                problems.append(f"{at}.links.type: absolute or smart")
        for reason in card.get("overrideReasons", []):
            if not isinstance(reason.get("display"), str):
                problems.append(f"{at}.overrideReasons: each needs a display")
    return problems


def test_the_rules_checker_finds_what_breaks_the_specification() -> None:
    good = {"summary": "ok", "indicator": "info", "source": {"label": "x"}}
    assert cds_problems({"cards": [good]}) == []
    bad = {
        "summary": "x" * 140,
        "indicator": "hard-stop",
        "source": {},
        "uuid": "7",
        "suggestions": [],
        "links": [{"label": "a", "url": "b", "type": "web"}],
        "overrideReasons": [{"code": "x"}],
        "colour": "red",
    }
    assert len(cds_problems({"cards": [bad]})) == 8
    assert cds_problems({}) == ["cards: required, an array"]


# -- the EHR ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def ehr(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Ehr, Path, dict[str, int]]]:
    folder = tmp_path_factory.mktemp("cds")
    db = folder / "triage.db"
    ids = seed(db)
    key = ec.generate_private_key(ec.SECP384R1())
    keys = jwks_file(key, folder / "ehr.jwks.json")
    process, url, output = start(db, "--cds-ehr-key", str(keys), "--cds-ehr-issuer", ISSUER)
    try:
        yield Ehr(url, key), db, ids
    finally:
        if process.poll() is None:
            stop(process, output)


# -- discovery and authentication ------------------------------------------------------------


def test_discovery(ehr: tuple[Ehr, Path, dict[str, int]]) -> None:
    client, _, _ = ehr
    response = client.call("GET", "/cds-services")
    assert response.status_code == 200, response.text
    (service,) = response.json()["services"]
    assert service["hook"] == "patient-view" and service["id"] == SERVICE_ID
    assert isinstance(service["description"], str) and service["title"]
    assert service["prefetch"] == {"patient": "Patient/{{context.patientId}}"}


def _other_key_token(client: Ehr, audience: str) -> str:
    return Ehr(client.url, ec.generate_private_key(ec.SECP384R1())).token(audience)


def _rsa_as_hmac(client: Ehr, audience: str) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": audience, "exp": now + 60, "iat": now, "jti": "x"}
    return jwt.encode(
        claims,
        "a shared secret of thirty-two bytes or more",
        algorithm="HS256",
        headers={"kid": KID},
    )


def _unsigned(client: Ehr, audience: str) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": audience, "exp": now + 60, "iat": now, "jti": "y"}
    return jwt.encode(claims, None, algorithm="none", headers={"kid": KID})


BAD_TOKENS = {
    "another-key": _other_key_token,
    "hmac": _rsa_as_hmac,
    "alg-none": _unsigned,
    "unknown-kid": lambda c, aud: Ehr(c.url, c.key, kid="other").token(aud),
    "wrong-issuer": lambda c, aud: c.token(aud, iss="https://evil.example"),
    "wrong-audience": lambda c, aud: c.token(f"{c.url}/cds-services/other"),
    "expired": lambda c, aud: c.token(aud, exp=int(time.time()) - 120, iat=int(time.time()) - 180),
    "issued-in-the-future": lambda c, aud: c.token(
        aud, iat=int(time.time()) + 600, exp=int(time.time()) + 660
    ),
    "lives-too-long": lambda c, aud: c.token(aud, exp=int(time.time()) + 3600),
    "no-jti": lambda c, aud: c.token(aud, jti=None),
    "no-exp": lambda c, aud: c.token(aud, exp=None),
    "not-a-jwt": lambda c, aud: "trg_not-a-jwt",
}


@pytest.mark.parametrize("kind", sorted(BAD_TOKENS))
def test_a_call_without_the_ehrs_valid_jwt_is_refused(
    ehr: tuple[Ehr, Path, dict[str, int]], kind: str
) -> None:
    client, _, _ = ehr
    token = BAD_TOKENS[kind](client, f"{client.url}/cds-services")
    response = client.call("GET", "/cds-services", token=token)
    assert response.status_code == 401, (kind, response.text)
    assert response.headers["www-authenticate"] == "Bearer"
    assert "CDS Hooks authentication failed" in response.json()["message"]


def test_no_token_and_a_replayed_token_are_refused(ehr: tuple[Ehr, Path, dict[str, int]]) -> None:
    client, _, _ = ehr
    url = f"{client.url}/cds-services"
    assert httpx.get(url, timeout=30).status_code == 401
    token = client.token(url)
    assert client.call("GET", "/cds-services", token=token).status_code == 200
    again = client.call("GET", "/cds-services", token=token)
    assert again.status_code == 401 and "used before" in again.json()["message"]


# -- cards -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("patient", "key", "indicator"),
    [
        ("pt-chest", "emergency", "critical"),
        ("pt-shoulder", "urgent", "critical"),
        ("pt-snap", "same_day", "warning"),
        ("pt-groin", "routine", "info"),
        ("pt-sore", "reduce_load", "info"),
    ],
)
def test_one_card_per_unreviewed_check_by_urgency(
    ehr: tuple[Ehr, Path, dict[str, int]], patient: str, key: str, indicator: str
) -> None:
    client, db, ids = ehr
    response = client.patient_view(patient)
    assert response.status_code == 200, response.text
    body = response.json()
    assert cds_problems(body) == []
    (card,) = body["cards"]
    assert card["indicator"] == indicator
    assert card["source"]["label"].startswith("triage rule pack post-session-safety ")
    with TriageLog(db, create=False) as log:
        entry = log.entry(ids[key])
    assert card["links"] == [
        {
            "label": "Open the check in triage",
            "type": "absolute",
            "url": f"{client.url}/checks/{entry.id}",
        }
    ]
    assert entry.top_reason[:40] in card["summary"]
    page = httpx.get(card["links"][0]["url"], timeout=30)
    assert page.status_code == 303 and "/login" in page.headers["location"]


def test_a_continue_check_has_no_card(ehr: tuple[Ehr, Path, dict[str, int]]) -> None:
    client, _, _ = ehr
    response = client.patient_view("pt-fine")
    assert response.json() == {"cards": []}


def test_the_triage_id_is_the_patients_id_without_our_identifier(
    ehr: tuple[Ehr, Path, dict[str, int]],
) -> None:
    client, _, _ = ehr
    body = {
        "hook": "patient-view",
        "hookInstance": str(uuid.uuid4()),
        "context": {"userId": "Practitioner/1", "patientId": "pt-chest"},
        "prefetch": {"patient": {"resourceType": "Patient", "id": "pt-chest"}},
    }
    response = client.call("POST", f"/cds-services/{SERVICE_ID}", body)
    assert [c["indicator"] for c in response.json()["cards"]] == ["critical"]


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"prefetch": {}}, 412),
        ({"hook": "order-sign"}, 400),
        ({"context": {"userId": "x"}}, 400),
        ({"context": {"userId": "dr\x1b[31mred", "patientId": "ehr-42"}}, 400),
        ({"context": {"userId": "d" * 201, "patientId": "ehr-42"}}, 400),
    ],
    ids=["no-prefetch", "other-hook", "no-patient", "user-with-escape", "user-too-long"],
)
def test_calls_that_cannot_be_answered(
    ehr: tuple[Ehr, Path, dict[str, int]], change: dict[str, Any], status: int
) -> None:
    client, _, _ = ehr
    response = client.patient_view("pt-chest", **change)
    assert response.status_code == status, response.text
    assert response.json()["message"]


def test_an_unknown_service_is_404(ehr: tuple[Ehr, Path, dict[str, int]]) -> None:
    client, _, _ = ehr
    assert client.call("POST", "/cds-services/nothing", {}).status_code == 404


# -- feedback ------------------------------------------------------------------------------------


def _feedback(client: Ehr, *items: dict[str, Any]) -> httpx.Response:
    stamped = [{"outcomeTimestamp": "2026-11-22T10:05:31Z", **item} for item in items]
    return client.call("POST", f"/cds-services/{SERVICE_ID}/feedback", {"feedback": stamped})


def test_an_overridden_card_is_an_override_review(ehr: tuple[Ehr, Path, dict[str, int]]) -> None:
    client, db, ids = ehr
    (card,) = client.patient_view("pt-groin").json()["cards"]
    reason = next(r for r in card["overrideReasons"] if r["code"] == "known_cause")
    assert reason["system"] == OVERRIDE_SYSTEM
    response = _feedback(
        client,
        {
            "card": card["uuid"],
            "outcome": "overridden",
            "overrideReason": {"reason": reason, "userComment": "Known inguinal hernia."},
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["recorded"][0]["entry_id"] == ids["routine"]
    with TriageLog(db, create=False) as log:
        (review,) = log.entry(ids["routine"]).reviews
    assert (review.verdict, review.reason) == ("overridden", "known_cause")
    assert review.note == "Overridden in the EHR at 2026-11-22T10:05:31Z: Known inguinal hernia."
    assert review.reviewer == f"Practitioner/dr-osei via CDS Hooks ({ISSUER})"
    assert client.patient_view("pt-groin").json() == {"cards": []}  # reviewed: no card


def test_an_accepted_card_is_an_acceptance(ehr: tuple[Ehr, Path, dict[str, int]]) -> None:
    client, db, ids = ehr
    (card,) = client.patient_view("pt-sore").json()["cards"]
    response = _feedback(
        client, {"card": card["uuid"], "outcome": "accepted", "acceptedSuggestions": []}
    )
    assert response.status_code == 200, response.text
    again = _feedback(client, {"card": card["uuid"], "outcome": "accepted"})
    assert again.json()["recorded"][0]["repeated"] is True
    with TriageLog(db, create=False) as log:
        (review,) = log.entry(ids["reduce_load"]).reviews  # sent twice, recorded once
    assert review.verdict == "accepted"


def test_an_override_without_our_reason_is_other(ehr: tuple[Ehr, Path, dict[str, int]]) -> None:
    client, db, ids = ehr
    (card,) = client.patient_view("pt-shoulder").json()["cards"]
    their = {"system": "https://ehr.example/reasons", "code": "x1", "display": "Seen in clinic"}
    response = _feedback(
        client, {"card": card["uuid"], "outcome": "overridden", "overrideReason": {"reason": their}}
    )
    assert response.status_code == 200
    with TriageLog(db, create=False) as log:
        (review,) = log.entry(ids["urgent"]).reviews
    assert review.reason == "other"
    assert review.note == "Overridden in the EHR at 2026-11-22T10:05:31Z (Seen in clinic)."


def test_feedback_on_an_unknown_card_or_malformed_records_nothing(
    ehr: tuple[Ehr, Path, dict[str, int]],
) -> None:
    client, db, ids = ehr
    (card,) = client.patient_view("pt-snap").json()["cards"]
    known = {"card": card["uuid"], "outcome": "accepted"}
    unknown = _feedback(client, known, {"card": str(uuid.uuid4()), "outcome": "accepted"})
    assert unknown.status_code == 404
    assert _feedback(client, {"card": card["uuid"], "outcome": "ignored"}).status_code == 400
    with TriageLog(db, create=False) as log:
        assert log.entry(ids["same_day"]).reviews == ()


def test_a_different_override_of_the_same_card_is_recorded_too(
    ehr: tuple[Ehr, Path, dict[str, int]],
) -> None:
    """Each distinct feedback is a review; only an exact repeat is "repeated" (and kept once)."""
    client, db, ids = ehr
    (card,) = client.patient_view("pt-chest").json()["cards"]
    reason = {"system": OVERRIDE_SYSTEM, "code": "known_cause"}
    first = {"card": card["uuid"], "outcome": "overridden",
             "overrideReason": {"reason": reason, "userComment": "Reflux, known."}}  # fmt: skip
    other_comment = {**first, "overrideReason": {"reason": reason, "userComment": "Seen: GORD."}}
    other_reason = {**first, "overrideReason": {"reason": {**reason, "code": "less_urgent"}}}
    answers = [_feedback(client, item).json()["recorded"][0]
               for item in (first, other_comment, first, other_reason)]  # fmt: skip
    assert ["repeated" in a for a in answers] == [False, False, True, False]
    assert answers[2]["review"] == answers[0]["review"]
    with TriageLog(db, create=False) as log:
        reviews = log.entry(ids["emergency"]).reviews
    at = "Overridden in the EHR at 2026-11-22T10:05:31Z"
    assert [(r.id, r.reason, r.note) for r in reviews] == [
        (answers[0]["review"], "known_cause", f"{at}: Reflux, known."),
        (answers[1]["review"], "known_cause", f"{at}: Seen: GORD."),
        (answers[3]["review"], "less_urgent", f"{at}."),
    ]


@pytest.mark.parametrize(
    ("item", "field", "words"),
    [
        ({"overriddeReason": {"userComment": "x"}}, "feedback[0].overriddeReason",
         "did you mean 'overrideReason'?"),
        ({"overrideReason": {"userComent": "x"}}, "feedback[0].overrideReason.userComent",
         "did you mean 'userComment'?"),
        ({"overrideReason": {"reason": {"sytem": OVERRIDE_SYSTEM}}},
         "feedback[0].overrideReason.reason.sytem", "did you mean 'system'?"),
        ({"outcomeTimestamp": "2026-11-22T10:05:31"}, "feedback[0].outcomeTimestamp",
         "not a date-time with its zone"),
        ({"outcomeTimestamp": None}, "feedback[0].outcomeTimestamp", "not a date-time"),
        ({"overrideReason": {"userComment": "red \x1b[31m"}},
         "feedback[0].overrideReason", "control character"),
    ],
    ids=["item-key", "override-key", "coding-key", "no-zone", "no-timestamp", "escape"],
)  # fmt: skip
def test_feedback_with_an_unknown_key_or_no_zone_is_refused_and_located(
    ehr: tuple[Ehr, Path, dict[str, int]], item: dict[str, Any], field: str, words: str
) -> None:
    client, db, ids = ehr
    (card,) = client.patient_view("pt-snap").json()["cards"]
    response = _feedback(client, {"card": card["uuid"], "outcome": "overridden", **item})
    assert response.status_code == 400, response.text
    (problem,) = response.json()["problems"]
    assert problem["field"] == field and words in problem["message"], problem
    assert problem["fix"]
    if "Timestamp" in field:
        assert "Z for UTC" in problem["fix"]
    with TriageLog(db, create=False) as log:
        assert log.entry(ids["same_day"]).reviews == ()


def test_feedback_with_an_unknown_key_in_the_body_is_refused(
    ehr: tuple[Ehr, Path, dict[str, int]],
) -> None:
    client, _, _ = ehr
    path = f"/cds-services/{SERVICE_ID}/feedback"
    response = client.call("POST", path, {"feedbak": [], "feedback": []})
    assert response.status_code == 400
    fields = {p["field"]: p["message"] for p in response.json()["problems"]}
    assert fields["feedbak"] == "is not a key of CDS Hooks feedback (did you mean 'feedback'?)"
    assert "feedback" in fields


@pytest.mark.slow  # starts the server twice
def test_feedback_is_recorded_after_a_restart_and_once(tmp_path: Path) -> None:
    """The cards shown are kept in the log: the EHR's feedback on a card shown before the
    server restarted is recorded, once, however often it is sent."""
    db = tmp_path / "triage.db"
    ids = seed(db)
    key = ec.generate_private_key(ec.SECP384R1())
    options = ("--cds-ehr-key", str(jwks_file(key, tmp_path / "ehr.jwks.json")),
               "--cds-ehr-issuer", ISSUER)  # fmt: skip
    process, url, output = start(db, *options)
    try:
        (card,) = Ehr(url, key).patient_view("pt-snap").json()["cards"]
    finally:
        stop(process, output)
    process, url, output = start(db, *options)
    try:
        client = Ehr(url, key)
        item = {"card": card["uuid"], "outcome": "accepted"}
        response = _feedback(client, item, item)  # the same card twice in one call
        assert response.status_code == 200, response.text
        first, second = response.json()["recorded"]
        assert first["entry_id"] == ids["same_day"] and "repeated" not in first
        assert second == {**first, "repeated": True}
        assert _feedback(client, item).json()["recorded"] == [second]
    finally:
        stop(process, output)
    with TriageLog(db, create=False) as log:
        (review,) = log.entry(ids["same_day"]).reviews
        shown = log.cds_cards.find(card["uuid"])
    assert review.reviewer == f"Practitioner/dr-osei via CDS Hooks ({ISSUER})"
    assert shown is not None and (shown.entry_id, shown.clinician) == (
        ids["same_day"],
        "Practitioner/dr-osei",
    )
    assert (shown.verdict, shown.review_id) == ("accepted", review.id)


def _pem(key: rsa.RSAPrivateKey, path: Path) -> Path:
    path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return path


def _signed(signer: Any, alg: str, audience: str) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": audience, "exp": now + 60, "iat": now, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, signer, algorithm=alg, headers={"kid": KID, "typ": "JWT"})


def test_with_an_rsa_key_a_token_of_another_kind_is_401_not_a_failure(tmp_path: Path) -> None:
    """PyJWT raises TypeError for an RSA key asked to verify ES384: every such token is still
    an authentication failure (401), never a server error with its traceback."""
    db = tmp_path / "triage.db"
    seed(db)
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    options = ("--cds-ehr-key", str(_pem(key, tmp_path / "ehr.pem")), "--cds-ehr-issuer", ISSUER)
    others = {
        "ES384": ec.generate_private_key(ec.SECP384R1()),
        "ES256": ec.generate_private_key(ec.SECP256R1()),
        "HS256": "a shared secret of thirty-two bytes or more",
        "none": None,
    }
    process, url, output = start(db, *options)
    try:
        client, audience = Ehr(url, key), f"{url}/cds-services"
        refused = {
            alg: client.call("GET", "/cds-services", token=_signed(signer, alg, audience))
            for alg, signer in others.items()
        }
        accepted = [
            client.call("GET", "/cds-services", token=_signed(key, alg, audience)).status_code
            for alg in ("RS384", "PS256")
        ]
    finally:
        text = stop(process, output)
    assert accepted == [200, 200]
    for alg, response in refused.items():
        assert response.status_code == 401, (alg, response.text)
        assert response.json()["message"].startswith("CDS Hooks authentication failed"), alg
    assert "does not fit the EHR's key" in refused["ES384"].json()["message"]
    assert "Traceback" not in text and "TypeError" not in text, text


# -- configuration -------------------------------------------------------------------------------


def test_keys_load_from_a_pem_a_jwk_or_a_jwk_set_and_never_a_private_key(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = tmp_path / "ehr.pem"
    pem.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    assert load_trust(str(pem), ISSUER).key_for("any-kid") is not None
    private = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key))
    (tmp_path / "private.json").write_text(json.dumps(private))
    with pytest.raises(UsageError, match="private key"):
        load_trust(str(tmp_path / "private.json"), ISSUER)
    (tmp_path / "junk.json").write_text("{}")
    with pytest.raises(UsageError, match="holds no public key"):
        load_trust(str(tmp_path / "junk.json"), ISSUER)
    with pytest.raises(UsageError, match="cannot read"):
        load_trust(str(tmp_path / "missing.pem"), ISSUER)
    (tmp_path / "ed25519.pem").write_bytes(
        ed25519.Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(UsageError, match="a kind CDS Hooks does not sign with"):
        load_trust(str(tmp_path / "ed25519.pem"), ISSUER)


def test_without_a_configured_ehr_every_call_is_refused(tmp_path: Path) -> None:
    db = tmp_path / "triage.db"
    seed(db)
    process, url, output = start(db)
    try:
        ehr = Ehr(url, ec.generate_private_key(ec.SECP384R1()))
        response = ehr.call("GET", "/cds-services")
    finally:
        stop(process, output)
    assert response.status_code == 401
    assert "no EHR is configured" in response.json()["message"]
