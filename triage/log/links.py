"""A patient's link from the clinic: a URL with a random token that lets its holder answer
checks for that one patient in a phone's browser (issue 27).

The token is 32 random bytes (``secrets.token_urlsafe``), shown once, in the link; the log
keeps only its SHA-256, as for API tokens (``access.py``), so a copy of the database gives no
usable link, and its first characters (``prefix``) to tell links apart. A link expires after a
number of days (90 unless told), can be revoked, and is never deleted: who made it, when, and
when it was last used stay readable. A link that expires at a moment is expired from that
moment on.

The QR code of a link is made with ``segno`` (the ``serve`` extra): an SVG file for the
terminal (owner-only, since it grants access to a patient's checks) or an inline SVG for the
patient page.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from ..errors import NotFoundError, UsageError
from .records import Row, now_utc, plain_text, stamp, token_hash
from .store import Store

if TYPE_CHECKING:
    from segno import QRCode

TABLE = "patient_links"
DEFAULT_DAYS = 90
MAX_DAYS = 365
TOKEN_BYTES = 32
PREFIX_LENGTH = 8
"""How many of the token's first characters are kept to tell links apart (48 of its 256 bits;
the rest is never stored)."""
MIN_PREFIX = 4
"""The fewest characters ``revoke`` takes: fewer would too often name several links."""
TOKEN = re.compile(r"[A-Za-z0-9_-]{32,128}")
"""What a token can look like (``token_urlsafe(32)`` gives 43 characters); anything else is
unknown without asking the log."""
PATH = "/p/"
"""Where a link's page is: ``{base}/p/{token}``."""
PUBLIC_URL_ENV = "TRIAGE_PUBLIC_URL"
LOCAL_URL = "http://127.0.0.1:8000"
"""The base of links when neither ``--base-url`` nor ``TRIAGE_PUBLIC_URL`` gives one: the
address ``triage serve`` listens on by default (fine for a try-out, not for a patient)."""

Problem = Literal["unknown", "expired", "revoked"]

PROBLEM_WORDS: dict[Problem, str] = {
    "unknown": "This link is not one the clinic made: check that it was copied whole, or ask "
    "your clinic for a new one.",
    "expired": "This link has expired: ask your clinic for a new one.",
    "revoked": "This link has been withdrawn by your clinic: ask them for a new one.",
}
"""What a patient's page can say for each problem (never which patient the link was for)."""


@dataclass(frozen=True)
class PatientLink:
    """One link, as the log keeps it (never the token)."""

    id: int
    patient: str
    prefix: str
    created_at: str
    created_by: str
    expires_at: str
    revoked_at: str | None = None
    last_used_at: str | None = None

    def state(self, now: str | None = None) -> Literal["active", "expired", "revoked"]:
        """'revoked', else 'expired' from the moment it expires (``now``: a stored stamp)."""
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if self.expires_at <= (now or now_utc()) else "active"

    def to_dict(self, now: str | None = None) -> dict[str, Any]:
        return {**vars(self), "state": self.state(now)}


@dataclass(frozen=True)
class LinkLookup:
    """What a token is: its link when valid (``problem`` None), else why not. An expired or
    revoked link is given too, for the log's own use; a page must not show its patient."""

    link: PatientLink | None
    problem: Problem | None = None

    @property
    def valid(self) -> bool:
        return self.problem is None

    @property
    def words(self) -> str | None:
        """The problem in a patient's words, or None for a valid link."""
        return None if self.problem is None else PROBLEM_WORDS[self.problem]


class PatientLinks:
    """The patients' links kept in one triage log (``TriageLog.links``)."""

    def __init__(self, store: Store, location: str) -> None:
        self._store = store
        self._path = location

    def make(
        self, patient: str, *, by: str, days: int = DEFAULT_DAYS, now: datetime | None = None
    ) -> tuple[PatientLink, str]:
        """A new link for ``patient`` (who must be in the log), made by ``by``, expiring
        ``days`` days from now: the record, and the token (shown once, never kept)."""
        patient = plain_text("patient", patient, controls=True)
        by = plain_text("created_by", by).strip()
        if not by:
            raise UsageError("a patient's link needs the name of who made it", "give --by NAME")
        if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= MAX_DAYS:
            raise UsageError(
                f"a link lasts 1 to {MAX_DAYS} days, not {days!r}",
                f"give --days with a whole number of days (default {DEFAULT_DAYS})",
            )
        if not self._store.has_patient(patient):
            raise NotFoundError(
                f"there is no patient {patient[:100]!r} in the triage log {self._path}",
                self._path,
                "a link is made for a patient with checks or a record: "
                "'triage patient set ID' records one",
            )
        moment = now or datetime.now(timezone.utc)
        token = secrets.token_urlsafe(TOKEN_BYTES)
        while token.startswith("-"):  # its prefix would read as an option on a command line
            token = secrets.token_urlsafe(TOKEN_BYTES)
        row: Row = {
            "patient_id": patient,
            "token_hash": token_hash(token),
            "prefix": token[:PREFIX_LENGTH],
            "created_at": stamp(moment),
            "created_by": by,
            "expires_at": stamp(moment + timedelta(days=days)),
        }
        row["id"] = self._store.add_row(TABLE, row)
        return _link(row), token

    def lookup(self, token: str, *, now: str | None = None) -> LinkLookup:
        """What ``token`` is: valid, or unknown, expired or revoked. One indexed read (none for
        text that cannot be a token); ``now``, a stored stamp, is for tests."""
        if not TOKEN.fullmatch(token):
            return LinkLookup(None, "unknown")
        rows = self._store.find_rows(TABLE, "token_hash", token_hash(token))
        if not rows:
            return LinkLookup(None, "unknown")
        link = _link(rows[0])
        state = link.state(now)
        return LinkLookup(link, None if state == "active" else state)

    def for_token(self, token: str, *, now: str | None = None) -> PatientLink | None:
        """The valid link ``token`` is, or None (``lookup`` says why not)."""
        found = self.lookup(token, now=now)
        return found.link if found.valid else None

    def touch(self, link: PatientLink) -> PatientLink:
        """The link was just used: its ``last_used_at`` is now."""
        used = now_utc()
        self._store.update_row(TABLE, link.id, {"last_used_at": used})
        return PatientLink(**{**vars(link), "last_used_at": used})

    def links(self, patient: str) -> list[PatientLink]:
        """The patient's links, oldest first, revoked and expired ones included."""
        patient = plain_text("patient", patient, controls=True)
        return [_link(row) for row in self._store.find_rows(TABLE, "patient_id", patient)]

    def revoke(self, prefix: str) -> tuple[PatientLink, bool]:
        """Revoke the one link ``prefix`` names: the start of its prefix as listed (at least
        four characters), or the whole link or token. Returns it, and whether it was active
        until now (False: it was revoked already). Never deleted."""
        row = self._one(prefix)
        if row["revoked_at"] is not None:
            return _link(row), False
        row = {**row, "revoked_at": now_utc()}
        self._store.update_row(TABLE, row["id"], {"revoked_at": row["revoked_at"]})
        return _link(row), True

    def _one(self, given: str) -> Row:
        text = plain_text("prefix", given).strip()
        token = text.rsplit(PATH, 1)[1].split("?")[0].strip("/") if PATH in text else text
        shown = text[:40] + ("..." if len(text) > 40 else "")
        if TOKEN.fullmatch(token):
            rows = self._store.find_rows(TABLE, "token_hash", token_hash(token))
            if rows:
                return rows[0]
        elif MIN_PREFIX <= len(token) <= PREFIX_LENGTH:
            rows = [r for r in self._store.all_rows(TABLE) if r["prefix"].startswith(token)]
            if len(rows) == 1:
                return rows[0]
            if rows:
                listed = ", ".join(f"{r['prefix']} ({r['patient_id']})" for r in rows[:10])
                same = len({r["prefix"] for r in rows}) == 1
                raise UsageError(
                    f"{len(rows)} links start with {shown!r}: {listed}",
                    "give the whole link to revoke it"
                    if same
                    else "give more of the prefix, as 'triage patient links ID' lists it",
                )
        elif len(token) < MIN_PREFIX:
            raise UsageError(
                f"{shown!r} is too short to name a link: give at least {MIN_PREFIX} characters "
                "of its prefix",
                "'triage patient links ID' lists a patient's links with their prefixes",
            )
        raise NotFoundError(
            f"there is no patient link {shown!r} in {self._path}",
            self._path,
            "'triage patient links ID' lists a patient's links with their prefixes",
        )


def _link(row: Row) -> PatientLink:
    return PatientLink(
        id=row["id"],
        patient=row["patient_id"],
        prefix=row["prefix"],
        created_at=row["created_at"],
        created_by=row["created_by"],
        expires_at=row["expires_at"],
        revoked_at=row.get("revoked_at"),
        last_used_at=row.get("last_used_at"),
    )


# -- the link's URL and its QR code ------------------------------------------------------------


def public_base(given: str | None = None, environ: dict[str, str] | None = None) -> str:
    """Where links start: ``given`` (--base-url), else ``TRIAGE_PUBLIC_URL``, else the default
    address of ``triage serve``. A UsageError unless it is an http(s) URL without a query."""
    env = os.environ if environ is None else environ
    base = (given or env.get(PUBLIC_URL_ENV, "") or LOCAL_URL).strip().rstrip("/")
    parts = urlsplit(base)
    if (
        parts.scheme not in ("http", "https")
        or not parts.netloc
        or parts.query
        or parts.fragment
        or any(c.isspace() or c in "<>\"'" for c in base)
    ):
        where = "--base-url" if given else PUBLIC_URL_ENV
        raise UsageError(
            f"{base!r} ({where}) is not a web address links can start with",
            "give the address patients open, such as https://triage.clinic.example",
        )
    return base


def link_url(base: str, token: str) -> str:
    """The link a patient opens: ``{base}/p/{token}``."""
    return f"{base.rstrip('/')}{PATH}{token}"


def need_qr() -> None:
    """Nothing if QR codes can be made (segno comes with the 'serve' extra); a UsageError
    naming the extra to install otherwise (asked before a link is made, so that a missing
    package leaves no link behind)."""
    from ..extras import needs

    needs("serve")


def qr_code(url: str) -> QRCode:
    """The QR code of ``url`` (error correction M, or better when it fits the same size)."""
    need_qr()
    import segno

    return segno.make_qr(url, error="m")


QR_TITLE = "QR code of the patient's link"


def qr_svg(url: str) -> str:
    """A whole SVG document of the link's QR code, for a file to print or send."""
    import io

    out = io.BytesIO()
    qr_code(url).save(out, kind="svg", scale=8, title=QR_TITLE, light="#fff", encoding="utf-8")
    return out.getvalue().decode("utf-8")


def qr_inline(url: str) -> str:
    """The link's QR code as SVG to put in an HTML page (only path data and a fixed title:
    nothing of the URL or of the patient appears in it as text)."""
    return qr_code(url).svg_inline(
        scale=5, title=QR_TITLE, light="#fff", svgclass="qr", lineclass=None
    )


def default_qr_file(patient: str) -> Path:
    """``triage-link-ID.svg`` in the current folder (characters other than letters, digits,
    '.', '_' and '-' of the id as '_')."""
    return Path(f"triage-link-{re.sub(r'[^A-Za-z0-9._-]', '_', patient)[:64]}.svg")


def check_qr_target(path: Path, *, force: bool = False) -> None:
    """A UsageError if the QR code cannot be written there: an existing file (without
    ``force``), or no such folder. Checked before a link is made, so that a refusal leaves
    none behind."""
    if path.exists() and not force:
        raise UsageError(
            f"{path} exists already: a QR code is not written over another file",
            "give another file with --qr FILE.svg, or --force to replace it",
        )
    if path.is_dir():
        raise UsageError(f"{path} is a folder", "give a file name with --qr FILE.svg")
    if not path.parent.is_dir():
        raise UsageError(
            f"there is no folder {path.parent} to write {path.name} in",
            "give --qr with a file in an existing folder",
        )


def write_qr(url: str, path: Path, *, force: bool = False) -> Path:
    """Write the QR code of ``url`` to ``path`` as SVG, readable and writable by its owner only
    (0600: it grants access to a patient's checks). An existing file is refused unless
    ``force``; then it is replaced whole (a new file moved over it: a link at ``path`` is
    replaced, never followed)."""
    check_qr_target(path, force=force)
    data = qr_svg(url).encode("utf-8")
    target = path
    if force:
        target = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(target, flags, 0o600)
    except FileExistsError:
        raise UsageError(
            f"{path} exists already: a QR code is not written over another file",
            "give another file with --qr FILE.svg, or --force to replace it",
        ) from None
    except OSError as exc:
        raise UsageError(
            f"cannot write the QR code to {path}: {exc.strerror}", "give another --qr FILE.svg"
        ) from None
    try:
        with os.fdopen(fd, "wb") as out:
            os.fchmod(out.fileno(), 0o600)  # whatever the umask
            out.write(data)
        if force:
            os.replace(target, path)
    except OSError as exc:
        target.unlink(missing_ok=True)
        raise UsageError(
            f"cannot write the QR code to {path}: {exc.strerror}", "give another --qr FILE.svg"
        ) from None
    return path
