"""Who may read the log through ``triage serve``: clinicians' accounts and API tokens.

A clinician signs in with a name and a password; the password is kept only as an argon2id hash
(RFC 9106, the first choice of OWASP's password storage guidance), verified in constant time,
and re-hashed when the parameters get stronger. An application uses a bearer token: 32 random
bytes shown once when it is made; the log keeps only its SHA-256 (a random token of that
length needs no slow hash), so a copy of the database gives no usable token. A token is
revoked by its id, an account disabled by its name; neither is ever deleted, so that the names
in reviews keep meaning someone.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..errors import NotFoundError, UsageError
from ..extras import needs
from .records import Row, now_utc, plain_text, token_hash
from .store import Store

if TYPE_CHECKING:
    from argon2 import PasswordHasher

NAME = re.compile(r"[^\W_][\w .'-]{0,63}")
"""A clinician's name: 1 to 64 letters, digits, spaces and . _ ' -, starting with a letter or
digit (it is what reviews are recorded under)."""
APP = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
MIN_PASSWORD, MAX_PASSWORD = 10, 1024
TOKEN_PREFIX = "trg_"


@dataclass(frozen=True)
class Clinician:
    id: int
    name: str
    time_zone: str
    created_at: str
    disabled_at: str | None = None

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    def to_dict(self) -> dict[str, Any]:
        return vars(self).copy()


@dataclass(frozen=True)
class ApiToken:
    id: int
    app: str
    prefix: str
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_dict(self) -> dict[str, Any]:
        return vars(self).copy()


@cache
def _hasher() -> PasswordHasher:
    needs("serve")  # argon2 comes with the web server: accounts are for 'triage serve'
    from argon2 import PasswordHasher

    return PasswordHasher()  # argon2id, the library's current RFC 9106 low-memory profile


@cache
def _dummy_hash() -> str:
    """A hash to verify against when the name is unknown, so that timing does not tell."""
    return _hasher().hash(secrets.token_hex(16))


def checked_name(name: str) -> str:
    name = plain_text("name", name).strip()
    if not NAME.fullmatch(name):
        raise UsageError(
            f"{name!r} is not a clinician's name: 1 to 64 letters, digits, spaces and . _ ' -, "
            "starting with a letter or digit",
            "for example: triage user add 'A. Osei'",
        )
    return name


def checked_password(password: str) -> str:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise UsageError(
            f"a password has {MIN_PASSWORD} to {MAX_PASSWORD} characters",
            "choose a longer one: a few unrelated words make a good password",
        )
    return password


def checked_time_zone(name: str) -> str:
    """An IANA time zone name ('Europe/London'), or a UsageError."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UsageError(
            f"{name!r} is not a time zone this system knows",
            "give an IANA name such as Europe/London, America/New_York or UTC",
        ) from None
    return name


class Access:
    """The accounts and tokens kept in one triage log."""

    def __init__(self, store: Store, location: str) -> None:
        self._store = store
        self._path = location

    # -- clinicians ----------------------------------------------------------------------------

    def add_clinician(self, name: str, password: str, *, time_zone: str = "UTC") -> Clinician:
        name = checked_name(name)
        row: Row = {
            "name": name,
            "password_hash": _hasher().hash(checked_password(password)),
            "time_zone": checked_time_zone(time_zone),
            "created_at": now_utc(),
        }
        if self.clinician(name) is not None:
            raise UsageError(
                f"there is already a clinician named {name}",
                "choose another name, or 'triage user password NAME' to change the password",
            )
        row["id"] = self._store.add_row("clinicians", row)
        return _clinician(row)

    def clinician(self, name: str) -> Clinician | None:
        row = self._row(name)
        return None if row is None else _clinician(row)

    def clinicians(self) -> list[Clinician]:
        return [_clinician(row) for row in self._store.all_rows("clinicians")]

    def sign_in(self, name: str, password: str) -> Clinician | None:
        """The active clinician with this name and password, or None (whichever is wrong)."""
        from argon2.exceptions import InvalidHashError, VerificationError

        row = self._row(name) if NAME.fullmatch(name) else None
        try:
            _hasher().verify(row["password_hash"] if row else _dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            return None
        if row is None or row["disabled_at"] is not None:
            return None
        if _hasher().check_needs_rehash(row["password_hash"]):
            rehashed = {"password_hash": _hasher().hash(password)}
            self._store.update_row("clinicians", row["id"], rehashed)
        return _clinician(row)

    def set_password(self, name: str, password: str) -> Clinician:
        """A new password; every session of the account ends (after the change, so that no
        sign-in with the old password can slip in between)."""
        row = self._existing(name)
        self._store.update_row(
            "clinicians", row["id"], {"password_hash": _hasher().hash(checked_password(password))}
        )
        self._end_sessions(row["name"])
        return _clinician(row)

    def set_time_zone(self, name: str, time_zone: str) -> Clinician:
        row = self._existing(name)
        self._store.update_row("clinicians", row["id"], {"time_zone": checked_time_zone(time_zone)})
        return _clinician({**row, "time_zone": time_zone})

    def known_clinician(self, name: str) -> str:
        """``name``, if a terminal may record a review or contact under it: once the log has
        clinician accounts, only an active account's name (a review under a mistyped or made-up
        name could not be traced to anyone); any name while it has none."""
        accounts = self.clinicians()
        if not name.strip() or not accounts:
            return name  # no name is the review's or contact's own rule to refuse
        if any(c.active and c.name == name.strip() for c in accounts):
            return name.strip()
        active = sorted(c.name for c in accounts if c.active)
        raise UsageError(
            f"there is no active clinician account named {name!r} in {self._path}",
            (f"give one of: {', '.join(active)}; " if active else "")
            + "or add the account with 'triage user add NAME'",
        )

    def seen_entry(self, name: str) -> int | None:
        """The newest entry id the clinician's worklist showed when they last looked (None:
        never looked): what is recorded after it is new to them, on any device."""
        row = self._row(name)
        return None if row is None else row.get("seen_entry")

    def saw_entry(self, name: str, entry_id: int) -> None:
        """The clinician looked at the worklist when ``entry_id`` was the newest entry."""
        self._store.update_row("clinicians", self._existing(name)["id"], {"seen_entry": entry_id})

    def disable_clinician(self, name: str) -> Clinician:
        """The account can no longer sign in; every session of it ends at once."""
        row = self._existing(name)
        if row["disabled_at"] is None:
            row = {**row, "disabled_at": now_utc()}
            self._store.update_row("clinicians", row["id"], {"disabled_at": row["disabled_at"]})
        self._end_sessions(row["name"])
        return _clinician(row)

    def _end_sessions(self, name: str) -> None:
        from .sessions import Sessions

        Sessions(self._store).end_all(name)

    def _row(self, name: str) -> Row | None:
        rows = self._store.find_rows("clinicians", "name", name)
        return rows[0] if rows else None

    def _existing(self, name: str) -> Row:
        row = self._row(name)
        if row is None:
            raise NotFoundError(
                f"there is no clinician named {name!r} in {self._path}",
                self._path,
                "'triage user list' shows the accounts",
            )
        return row

    # -- API tokens ----------------------------------------------------------------------------

    def add_token(self, app: str) -> tuple[ApiToken, str]:
        """A new token for ``app``: the record, and the token itself (shown once, not kept)."""
        app = plain_text("app", app).strip()
        if not APP.fullmatch(app):
            raise UsageError(
                f"{app!r} is not an application name: 1 to 64 letters, digits, '.', '_' or '-'",
                "for example: triage token add clinic-portal",
            )
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        row: Row = {
            "app": app,
            "token_hash": token_hash(secret),
            "prefix": secret[:10],
            "created_at": now_utc(),
        }
        row["id"] = self._store.add_row("api_tokens", row)
        return _token(row), secret

    def token_for(self, secret: str) -> ApiToken | None:
        """The active token ``secret`` is, or None (unknown or revoked)."""
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            return None
        rows = self._store.find_rows("api_tokens", "token_hash", token_hash(secret))
        if not rows or rows[0]["revoked_at"] is not None:
            return None
        return _token(rows[0])

    def tokens(self) -> list[ApiToken]:
        return [_token(row) for row in self._store.all_rows("api_tokens")]

    def revoke_token(self, token_id: int) -> ApiToken:
        rows = self._store.find_rows("api_tokens", "id", token_id)
        if not rows:
            raise NotFoundError(
                f"there is no API token {token_id} in {self._path}",
                self._path,
                "'triage token list' shows the tokens and their ids",
            )
        row = rows[0]
        if row["revoked_at"] is None:
            row = {**row, "revoked_at": now_utc()}
            self._store.update_row("api_tokens", token_id, {"revoked_at": row["revoked_at"]})
        return _token(row)


def _clinician(row: Row) -> Clinician:
    return Clinician(
        row["id"], row["name"], row["time_zone"], row["created_at"], row.get("disabled_at")
    )


def _token(row: Row) -> ApiToken:
    return ApiToken(row["id"], row["app"], row["prefix"], row["created_at"], row.get("revoked_at"))
