"""Signed checkpoints: what an auditor keeps so that nobody, not even someone with full access to
the database, can rewrite the log or remove its newest records unseen.

A checkpoint is the chain's size (its newest record's ``seq``), that record's hash and the time,
signed with an Ed25519 key kept outside the database. The log stores each checkpoint (so that
``verify`` can start from the latest one), and the auditor keeps copies, with the public key,
where the database's administrators cannot reach them (a JSON Lines file: one checkpoint a line).

``verify`` checks every checkpoint it knows: its signature (against the auditor's public key when
given), that the log still has its record with its hash (else records were removed or rewritten),
that every checkpoint of the auditor's file is still in the log, and that no record after a
checkpoint was written before it (a back-dated insertion).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from ..errors import StorageError
from .records import Row, stamp

FORMAT = 1
CONTEXT = b"triage log checkpoint\n"
"""Signed before the statement, so that the key signs nothing else by mistake."""

CLOCK_TOLERANCE = timedelta(minutes=5)
"""How much earlier than a checkpoint a later record may say it was written: an app server's
clock may be behind the signer's, and an append under way when the head was read is stamped
before the signature. A record older than that, after a checkpoint, was inserted back-dated."""

_KEY_FIX = "create one with 'triage log keygen --key FILE' (docs/clinician.md: checkpoints)"


@dataclass(frozen=True)
class Checkpoint:
    """A signed statement: the log had ``size`` records, the newest with hash ``head``, at
    ``time``. ``key`` is the signer's public key (base64 of its 32 bytes)."""

    size: int
    head: str
    time: str
    key: str
    signature: str
    where: str = field(default="the log", compare=False)
    """Where it was read: 'the log' or a file and line (for messages)."""

    def statement(self) -> bytes:
        text = json.dumps(
            {"format": FORMAT, "head": self.head, "key": self.key, "size": self.size,
             "time": self.time},
            sort_keys=True,
            separators=(",", ":"),
        )  # fmt: skip
        return CONTEXT + text.encode()

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "size": self.size,
            "head": self.head,
            "time": self.time,
            "key": self.key,
            "signature": self.signature,
        }

    def line(self) -> str:
        return json.dumps(self.to_dict(), separators=(",", ":"))

    def row(self, checkpoint_id: int) -> Row:
        return {
            "id": checkpoint_id,
            "size": self.size,
            "head": self.head,
            "signed_at": self.time,
            "public_key": self.key,
            "signature": self.signature,
        }

    @property
    def key_id(self) -> str:
        return key_id(self.key)

    def name(self) -> str:
        return f"the checkpoint of {self.time} (record {self.size}) in {self.where}"

    def signature_holds(self) -> bool:
        """The signature is the embedded key's, over this statement."""
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

        try:
            public = Ed25519PublicKey.from_public_bytes(base64.b64decode(self.key, validate=True))
            public.verify(base64.b64decode(self.signature, validate=True), self.statement())
        except (InvalidSignature, ValueError, binascii.Error):
            return False
        return True


def key_id(key: str) -> str:
    """A short name of a public key: the first 16 hex digits of its SHA-256."""
    try:
        raw = base64.b64decode(key, validate=True)
    except (ValueError, binascii.Error):
        raw = key.encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def from_row(row: Row) -> Checkpoint:
    return Checkpoint(
        row["size"], row["head"], row["signed_at"], row["public_key"], row["signature"]
    )


# -- keys ----------------------------------------------------------------------------------------


def new_key(path: Path) -> str:
    """Write a new signing key to ``path`` (owner-only, never replacing a file) and its public
    key to ``path.pub``; returns the public key (base64)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public = _raw_public(private)
    public_path = Path(f"{path}.pub")
    for target, data, mode in ((path, pem, 0o600), (public_path, public_pem(public), 0o644)):
        try:
            descriptor = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
        except FileExistsError:
            raise StorageError(
                f"{target} exists: a key is never replaced",
                str(target),
                "choose another file name (the old key's checkpoints stay valid with its .pub)",
            ) from None
        except OSError as exc:
            raise StorageError(f"cannot write {target}: {exc.strerror}", str(target)) from None
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
    return public


def public_pem(key: str) -> bytes:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    public = Ed25519PublicKey.from_public_bytes(base64.b64decode(key))
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _raw_public(private: Any) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = private.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    return base64.b64encode(raw).decode()


def _read_bytes(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise StorageError(f"there is no {what} at {path}", str(path), _KEY_FIX) from None
    except OSError as exc:
        raise StorageError(
            f"cannot read the {what} {path}: {exc.strerror}", str(path), _KEY_FIX
        ) from None


def load_signing_key(path: Path) -> Any:
    """The Ed25519 private key in ``path`` (PEM)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    data = _read_bytes(path, "signing key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise StorageError(
            f"{path} is not an unencrypted PEM private key ({exc})", str(path), _KEY_FIX
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise StorageError(f"{path} is not an Ed25519 key", str(path), _KEY_FIX)
    return key


def load_public_key(path: Path) -> str:
    """The public key in ``path`` (PEM, as written by keygen), as base64 of its 32 bytes."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    data = _read_bytes(path, "public key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise StorageError(
            f"{path} is not a PEM public key ({exc})",
            str(path),
            "give the .pub file written next to the signing key",
        ) from None
    if not isinstance(key, Ed25519PublicKey):
        raise StorageError(f"{path} is not an Ed25519 public key", str(path), _KEY_FIX)
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def sign(private: Any, size: int, head: str, time: datetime) -> Checkpoint:
    unsigned = Checkpoint(size, head, stamp(time), _raw_public(private), "")
    signature = base64.b64encode(private.sign(unsigned.statement())).decode()
    return Checkpoint(size, head, unsigned.time, unsigned.key, signature)


# -- the auditor's file ------------------------------------------------------------------------


def read_file(path: Path) -> list[Checkpoint]:
    """The checkpoints in a JSON Lines file (blank lines skipped)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise StorageError(
            f"there is no checkpoint file at {path}",
            str(path),
            "give the file that 'triage log checkpoint --checkpoints FILE' appends to",
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StorageError(f"cannot read the checkpoint file {path}: {exc}", str(path)) from None
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip():
            found.append(_parse(line, f"{path}:{number}"))
    return found


def _parse(line: str, where: str) -> Checkpoint:
    try:
        data = json.loads(line)
        if data.get("format") != FORMAT:
            raise ValueError(f"format {data.get('format')!r}, not {FORMAT}")
        checkpoint = Checkpoint(
            data["size"], data["head"], data["time"], data["key"], data["signature"], where
        )
        if not isinstance(checkpoint.size, int) or not all(
            isinstance(v, str) for v in (checkpoint.head, checkpoint.time, checkpoint.key)
        ):
            raise ValueError("a field has the wrong type")
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise StorageError(
            f"{where} is not a checkpoint: {exc}",
            where.rsplit(":", 1)[0],
            "each line of a checkpoint file is one line printed by 'triage log checkpoint --json'",
        ) from None
    return checkpoint


def append_to_file(path: Path, checkpoint: Checkpoint) -> None:
    try:
        with open(path, "a", encoding="utf-8") as file:
            file.write(checkpoint.line() + "\n")
            file.flush()
            os.fsync(file.fileno())
    except OSError as exc:
        raise StorageError(
            f"cannot append the checkpoint to {path}: {exc.strerror}", str(path)
        ) from None


# -- checking ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Audit:
    """What the checkpoints say about a log: the latest one it agrees with (verify may start
    there), the times before which later records cannot have been written, and every problem."""

    latest: Checkpoint | None
    floors: tuple[tuple[int, str, str], ...]
    """(size, earliest time, checkpoint time) of each good checkpoint, by size."""
    problems: tuple[str, ...]
    count: int
    """How many distinct checkpoints (a copy in the auditor's file counts once)."""
    keys: tuple[str, ...]


def audit(
    stored: list[Checkpoint],
    kept: Iterable[Checkpoint],
    hash_at: Callable[[int], str | None],
    public_key: str | None,
) -> Audit:
    """Check every checkpoint of the log (``stored``) and of the auditor's file (``kept``)."""
    problems: list[str] = []
    good: list[Checkpoint] = []
    kept = list(kept)
    in_log = {(c.size, c.head, c.signature) for c in stored}
    for checkpoint in [*stored, *kept]:
        problem = _problem(checkpoint, hash_at, public_key)
        key = (checkpoint.size, checkpoint.head, checkpoint.signature)
        if problem is None and checkpoint.where != "the log" and key not in in_log:
            problem = (
                f"{checkpoint.name()} is not in the log any more: its checkpoints were "
                "deleted or replaced"
            )
        if problem:
            problems.append(problem)
        else:
            good.append(checkpoint)
    latest = max(good, key=lambda c: c.size, default=None)
    floors = tuple(sorted((c.size, _earliest(c.time), c.time) for c in good if c.size > 0))
    keys = tuple(sorted({c.key_id for c in [*stored, *kept]}))
    distinct = {(c.size, c.head, c.signature) for c in [*stored, *kept]}
    return Audit(latest, floors, tuple(problems), len(distinct), keys)


def _problem(
    checkpoint: Checkpoint, hash_at: Callable[[int], str | None], public_key: str | None
) -> str | None:
    if not checkpoint.signature_holds():
        return f"{checkpoint.name()} does not match its signature: it was edited or forged"
    if public_key is not None and checkpoint.key != public_key:
        return (
            f"{checkpoint.name()} is signed by key {checkpoint.key_id}, not by the public key "
            f"given ({key_id(public_key)}): it was forged"
        )
    if checkpoint.size == 0:
        return None
    found = hash_at(checkpoint.size)
    if found is None:
        return (
            f"the log has no record {checkpoint.size}, which {checkpoint.name()} signed as its "
            "newest: records were removed"
        )
    if found != checkpoint.head:
        return (
            f"record {checkpoint.size} no longer has the hash {checkpoint.name()} signed: "
            "the records up to it were rewritten"
        )
    return None


def _earliest(time: str) -> str:
    try:
        moment = datetime.fromisoformat(time.replace("Z", "+00:00"))
        return stamp(moment - CLOCK_TOLERANCE)
    except (ValueError, OverflowError):
        return time
