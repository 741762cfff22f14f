"""A cache of loaded rule packs, so that a command does not parse and validate the same pack
again: about 14 ms of the 200 a ``triage check`` takes to start (issue 26).

A pack is cached only once it has loaded without a problem; a pack with problems is read and
refused every time. The cache's key is the SHA-256 of everything the loaded pack depends on:

- the pack folder as given (a pack records its path) and every ``*.yaml`` file in it, by name and
  content: any change to a rule gives another key;
- the code that loads and checks it: each ``.py`` file of triage by name, size and modification
  time, the compiled rule engine's file likewise, and the Python version.

A cached pack is a pickle, in the user's cache folder (``$XDG_CACHE_HOME/triage/packs`` on Linux).
It is read only from a folder and file that belong to the user and that no one else may write,
and only when its content still has the SHA-256 written beside it: anything else (a file
changed, cut short, written by another user) is refused, and the pack is loaded from its files.
Nothing is cached where there is no such folder (set ``TRIAGE_PACK_CACHE=off`` to never cache).
A pickle runs code when it is read: whoever can write the user's own files can run code as the
user anyway, so the cache is as safe as the user's account.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import pickle
import stat
import sys
import tempfile
from collections.abc import Callable
from functools import cache
from pathlib import Path

from .rules import RulePack

_MAGIC = b"triage pack cache 1\n"
KEPT = 16
"""The most packs kept: the least recently written go first (each change to the code or the
rules is a new key)."""
_DIGEST = 64  # hex characters of a SHA-256


def cached(folder: Path, load: Callable[[], RulePack]) -> RulePack:
    """What ``load()`` gives for the pack in ``folder``: from the cache when it holds it
    under the pack's present key, else loaded (and then cached, if nothing changed meanwhile)."""
    place = _place()
    key = _key(folder) if place is not None else None
    if place is None or key is None:
        return load()
    path = place / f"{key}.pickle"
    found = _read(path)
    if found is not None:
        return found
    loaded = load()
    if _key(folder) == key:  # its files did not change while they were read
        _write(place, path, loaded)
    return loaded


def _place() -> Path | None:
    """The cache folder, made owner-only if it is new; None if it cannot be used safely."""
    if os.environ.get("TRIAGE_PACK_CACHE", "").lower() == "off" or not hasattr(os, "getuid"):
        return None
    import platformdirs

    place = platformdirs.user_cache_path("triage", appauthor=False) / "packs"
    try:
        place.mkdir(mode=0o700, parents=True, exist_ok=True)
        folders = [os.lstat(place), os.lstat(place.parent)]  # nor can its folder be swapped
    except OSError:
        return None
    if not all(stat.S_ISDIR(info.st_mode) and _private(info) for info in folders):
        return None
    return place


def _private(info: os.stat_result) -> bool:
    """Owned by this user, and no one else may write to it."""
    return info.st_uid == os.getuid() and not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def _key(folder: Path) -> str | None:
    """The pack's key (module docstring); None when its files cannot be read."""
    digest = hashlib.sha256()
    digest.update(f"{folder}\0{_code_fingerprint()}\0".encode())
    try:
        for path in sorted(folder.glob("*.yaml")):
            digest.update(f"{path.name}\0".encode())
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    except OSError:
        return None
    return digest.hexdigest()


@cache
def _code_fingerprint() -> str:
    package = Path(__file__).resolve().parents[1]
    files = sorted(package.rglob("*.py"))
    engine = importlib.util.find_spec("durable_rules_engine")
    if engine is not None and engine.origin:
        files.append(Path(engine.origin))
    parts = [sys.version]
    for path in files:
        try:
            info = path.stat()
        except OSError:
            continue
        parts.append(f"{path}:{info.st_size}:{info.st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def _read(path: Path) -> RulePack | None:
    """The cached pack at ``path``; None when there is none, or it is refused."""
    try:
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(descriptor, "rb") as stream:
        info = os.fstat(stream.fileno())
        if not stat.S_ISREG(info.st_mode) or not _private(info):
            return None
        content = stream.read()
    head = len(_MAGIC) + _DIGEST + 1
    if not content.startswith(_MAGIC) or len(content) < head:
        return None
    written, payload = content[len(_MAGIC) : head - 1], content[head:]
    if hashlib.sha256(payload).hexdigest().encode() != written:
        return None
    try:
        found = pickle.loads(payload)
    except Exception:  # written by another version of a class: load the pack again
        return None
    return found if isinstance(found, RulePack) else None


def _write(place: Path, path: Path, pack: RulePack) -> None:
    """Cache ``pack`` at ``path``: written whole, then renamed, so that no reader sees half of
    it. A cache that cannot be written is no error: the pack is loaded next time too."""
    payload = pickle.dumps(pack, protocol=pickle.HIGHEST_PROTOCOL)
    content = _MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload
    try:
        descriptor, temporary = tempfile.mkstemp(dir=place, suffix=".part")  # mode 0600
    except OSError:
        return
    try:
        with os.fdopen(descriptor, "wb") as stream:
            stream.write(content)
        os.replace(temporary, path)
    except OSError:
        Path(temporary).unlink(missing_ok=True)
        return
    _prune(place)


def _prune(place: Path) -> None:
    try:
        kept = sorted(place.glob("*.pickle"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
        for stale in kept[KEPT:]:
            stale.unlink(missing_ok=True)
    except OSError:  # another process pruned it first
        pass
