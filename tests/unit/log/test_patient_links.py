"""A patient's link from the clinic (issue 27, part 1): a random token stored only as its
SHA-256, expiring, revocable and never deleted, found by its token in one read; its QR code an
owner-only SVG file made by segno from the link's URL (test_patient_link_qr.py)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.support.backends import is_postgres, rows, tamper
from triage.errors import NotFoundError, UsageError
from triage.log import TriageLog
from triage.log.links import (
    DEFAULT_DAYS,
    PROBLEM_WORDS,
    PatientLink,
    link_url,
)
from triage.log.records import stamp, token_hash

BACKENDS = True  # every test runs on an SQLite file and a PostgreSQL database (conftest.py)

BASE = "https://triage.clinic.example"


@pytest.fixture
def log(private_log: Path) -> Iterator[TriageLog]:
    with TriageLog(private_log) as opened:
        opened.set_patient("pt-1", age=40, by="Dr Ada")
        opened.set_patient("pt-2", age=50, by="Dr Ada")
        yield opened


def link_rows(target: Path | str) -> list[dict[str, object]]:
    return rows(target, "SELECT * FROM patient_links ORDER BY id")


# -- making and finding a link -----------------------------------------------------------------


def test_a_link_is_made_for_a_known_patient_and_found_by_its_token(log: TriageLog) -> None:
    made, token = log.links.make("pt-1", by="Dr Ada")
    assert len(token) == 43 and not token.startswith("-")  # token_urlsafe(32)
    assert (made.patient, made.created_by, made.prefix) == ("pt-1", "Dr Ada", token[:8])
    assert made.revoked_at is None and made.last_used_at is None
    made_at = datetime.fromisoformat(made.created_at.replace("Z", "+00:00"))
    assert made.expires_at == stamp(made_at + timedelta(days=DEFAULT_DAYS))
    assert log.links.for_token(token) == made
    found = log.links.lookup(token)
    assert found.valid and found.link == made and found.problem is None and found.words is None
    assert log.links.links("pt-1") == [made] and log.links.links("pt-2") == []


def test_each_link_has_its_own_token(log: TriageLog) -> None:
    first, one = log.links.make("pt-1", by="Dr Ada", days=7)
    second, other = log.links.make("pt-1", by="Dr Bo")
    assert one != other and first.id != second.id
    assert log.links.for_token(one) == first and log.links.for_token(other) == second
    assert [link.id for link in log.links.links("pt-1")] == [first.id, second.id]


def test_the_token_is_never_stored_only_its_hash_and_prefix(
    log: TriageLog, private_log: Path | str
) -> None:
    _, token = log.links.make("pt-1", by="Dr Ada")
    [row] = link_rows(private_log)
    assert row["token_hash"] == token_hash(token) and row["prefix"] == token[:8]
    assert not any(token in str(value) for value in row.values())
    assert not any(token[8:20] in str(value) for value in row.values())  # nor a part past it
    if not is_postgres(private_log):  # the whole file, and its write-ahead log
        log.close()
        for path in Path(private_log).parent.glob(Path(private_log).name + "*"):
            assert token.encode() not in path.read_bytes(), path


def test_a_link_is_only_for_a_patient_the_log_knows(log: TriageLog) -> None:
    with pytest.raises(NotFoundError, match="no patient 'pt-9'") as error:
        log.links.make("pt-9", by="Dr Ada")
    assert "triage patient set" in (error.value.fix or "")
    assert log.links.links("pt-9") == []


@pytest.mark.parametrize("days", [0, -1, 366, 1.5, True])
def test_a_link_lasts_one_day_to_a_year(log: TriageLog, days: object) -> None:
    with pytest.raises(UsageError, match="1 to 365 days") as error:
        log.links.make("pt-1", by="Dr Ada", days=days)  # type: ignore[arg-type]
    assert "--days" in (error.value.fix or "")


@pytest.mark.parametrize("by", ["", "   ", "Dr\x1bAda"])
def test_a_link_says_who_made_it(log: TriageLog, by: str) -> None:
    with pytest.raises(UsageError):
        log.links.make("pt-1", by=by)


# -- valid, expired, revoked, unknown ------------------------------------------------------------


def test_a_link_expiring_exactly_now_is_expired(log: TriageLog) -> None:
    made_at = datetime(2030, 1, 1, 12, tzinfo=timezone.utc)
    made, token = log.links.make("pt-1", by="Dr Ada", days=3, now=made_at)
    assert made.expires_at == "2030-01-04T12:00:00.000000Z"
    just_before = stamp(made_at + timedelta(days=3, microseconds=-1))
    assert log.links.for_token(token, now=just_before) == made
    for now in (made.expires_at, "2031-01-01T00:00:00.000000Z"):
        found = log.links.lookup(token, now=now)
        assert (found.valid, found.problem, found.link) == (False, "expired", made)
        assert found.words == "This link has expired: ask your clinic for a new one."
        assert log.links.for_token(token, now=now) is None
        assert made.state(now) == "expired"


def test_a_link_made_in_the_past_is_expired_now(log: TriageLog) -> None:
    _, token = log.links.make("pt-1", by="Dr Ada", days=1, now=datetime(2020, 1, 1))
    assert log.links.lookup(token).problem == "expired" and log.links.for_token(token) is None
    assert log.links.links("pt-1")[0].to_dict()["state"] == "expired"


def test_a_revoked_link_no_longer_opens_and_is_kept(
    log: TriageLog, private_log: Path | str
) -> None:
    made, token = log.links.make("pt-1", by="Dr Ada")
    other, other_token = log.links.make("pt-1", by="Dr Ada")
    revoked, now = log.links.revoke(made.prefix)
    assert now and revoked.revoked_at is not None and revoked.id == made.id
    found = log.links.lookup(token)
    assert (found.problem, found.link) == ("revoked", revoked)
    assert found.words == PROBLEM_WORDS["revoked"]
    assert log.links.for_token(token) is None
    assert log.links.for_token(other_token) == other  # the patient's other link still opens
    again, now = log.links.revoke(made.prefix)
    assert not now and again.revoked_at == revoked.revoked_at  # revoked once, when it was
    assert [row["revoked_at"] for row in link_rows(private_log)] == [revoked.revoked_at, None]


@pytest.mark.parametrize(
    "token",
    ["", "short", "x" * 43, "a" * 500, "../../etc/passwd", "abc def" * 8, "é" * 43, "\udcff" * 40],
)
def test_any_other_text_is_an_unknown_link(log: TriageLog, token: str) -> None:
    log.links.make("pt-1", by="Dr Ada")
    found = log.links.lookup(token)
    assert (found.valid, found.problem, found.link) == (False, "unknown", None)
    assert found.words is not None and "pt-1" not in found.words
    assert log.links.for_token(token) is None


def test_a_token_differing_in_one_character_is_unknown(log: TriageLog) -> None:
    _, token = log.links.make("pt-1", by="Dr Ada")
    changed = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert log.links.lookup(changed).problem == "unknown"


def test_touch_records_when_the_link_was_last_used(log: TriageLog) -> None:
    made, token = log.links.make("pt-1", by="Dr Ada")
    used = log.links.touch(made)
    assert used.last_used_at is not None and used.last_used_at >= made.created_at
    assert log.links.for_token(token) == used
    assert log.links.links("pt-1") == [used]


# -- revoking by prefix --------------------------------------------------------------------------


def test_a_link_is_revoked_by_the_start_of_its_prefix_or_the_whole_link(log: TriageLog) -> None:
    first, _ = log.links.make("pt-1", by="Dr Ada")
    second, token = log.links.make("pt-2", by="Dr Ada")
    assert log.links.revoke(first.prefix[:5])[0].id == first.id
    assert log.links.revoke(f"  {link_url(BASE, token)}  ")[0].id == second.id
    assert all(link.revoked_at for p in ("pt-1", "pt-2") for link in log.links.links(p))


def test_revoking_a_prefix_no_link_has_says_so(log: TriageLog) -> None:
    log.links.make("pt-1", by="Dr Ada")
    with pytest.raises(NotFoundError, match="no patient link '!!!!!'") as error:
        log.links.revoke("!!!!!")
    assert "triage patient links ID" in (error.value.fix or "")
    with pytest.raises(NotFoundError, match="no patient link"):
        log.links.revoke(link_url(BASE, "A" * 43))  # a whole link the log never made
    with pytest.raises(UsageError, match="too short"):
        log.links.revoke("ab")


def test_a_prefix_several_links_start_with_names_them(
    log: TriageLog, private_log: Path | str
) -> None:
    first, _ = log.links.make("pt-1", by="Dr Ada")
    second, token = log.links.make("pt-2", by="Dr Ada")
    for link, prefix in ((first, "abcd1111"), (second, "abcd2222")):
        tamper(private_log, "UPDATE patient_links SET prefix = ? WHERE id = ?", prefix, link.id)
    with pytest.raises(UsageError, match="2 links start with 'abcd'") as error:
        log.links.revoke("abcd")
    assert "abcd1111 (pt-1), abcd2222 (pt-2)" in str(error.value)
    assert "give more of the prefix" in (error.value.fix or "")
    assert log.links.links("pt-1")[0].revoked_at is None  # nothing revoked
    assert log.links.revoke("abcd1111")[0].id == first.id
    # the same prefix twice (1 in 2**48): only the whole link tells them apart
    tamper(private_log, "UPDATE patient_links SET prefix = ? WHERE id = ?", "abcd1111", second.id)
    with pytest.raises(UsageError, match="2 links start with 'abcd1111'") as error:
        log.links.revoke("abcd1111")
    assert "give the whole link" in (error.value.fix or "")
    assert log.links.revoke(token)[0].id == second.id


def test_a_link_as_a_dict_says_its_state() -> None:
    link = PatientLink(1, "pt-1", "abcdefgh", "2030-01-01T00:00:00.000000Z", "Dr Ada",
                       "2030-02-01T00:00:00.000000Z")  # fmt: skip
    assert link.to_dict("2030-01-15T00:00:00.000000Z")["state"] == "active"
    assert link.to_dict("2030-02-01T00:00:00.000000Z")["state"] == "expired"
