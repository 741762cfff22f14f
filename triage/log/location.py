"""Where the triage log is, and which backend stores it.

``--db PATH`` or ``TRIAGE_DB`` names the log; without them it is ``triage.db`` in the user's
data folder, the one place whose folders triage creates by itself. A URL names a backend:
``sqlite:///abs/path`` is the same as the path; ``postgresql://`` (or ``postgres://``) is a log
in a PostgreSQL database; any other scheme is refused with a message that names it, never taken
for a file name.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import platformdirs

from ..errors import MissingLogError, StorageError

if TYPE_CHECKING:
    from .store import Store

_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+)://")
SERVERS = {"postgresql", "postgres"}


@dataclass(frozen=True)
class Place:
    """A log file, and whether its missing folders may be created (the default place only)."""

    path: Path
    make_folders: bool = False


@dataclass(frozen=True)
class Server:
    """A log in a PostgreSQL database, by its URL (which may hold a password: never shown)."""

    url: str


def default_log_path() -> Path:
    """``TRIAGE_DB`` if set, else ``triage.db`` in the user's data folder
    (``$XDG_DATA_HOME/triage`` on Linux, the platform's equivalent elsewhere)."""
    configured = os.environ.get("TRIAGE_DB")
    if configured:
        place = locate(configured)
        if isinstance(place, Place):
            return place.path
    return _data_folder_log()


def _data_folder_log() -> Path:
    return platformdirs.user_data_path("triage", appauthor=False) / "triage.db"


def locate(target: str | Path | None) -> Place | Server:
    """The place ``target`` names (None: TRIAGE_DB, else the data folder)."""
    if target is None:
        configured = os.environ.get("TRIAGE_DB")
        if not configured:
            return Place(_data_folder_log(), make_folders=True)
        target = configured
    if isinstance(target, str):
        found = _SCHEME.match(target)
        if found is not None and found.group(1).lower() in SERVERS:
            return Server(target)
        target = _from_url(target)
    return Place(Path(target).expanduser())


def _from_url(text: str) -> str:
    """A path as given, or the path of a ``sqlite:///`` URL; other URLs are refused."""
    found = _SCHEME.match(text)
    if found is None:
        return text
    scheme = found.group(1).lower()
    if scheme != "sqlite":
        raise StorageError(
            f"triage stores its log in SQLite files or PostgreSQL databases; {scheme}:// logs "
            "are not supported",
            None,
            "give the path of the log file (or a sqlite:///path URL), or a postgresql:// URL, "
            "with --db or TRIAGE_DB",
        )
    parts = urlsplit(text)
    if parts.netloc or parts.query or parts.fragment or not parts.path:
        raise StorageError(
            "a sqlite:// URL of the triage log is sqlite:/// followed by the file's absolute path, "
            "with no host or options",
            None,
            "for example sqlite:///home/clinic/triage.db, or give the path itself",
        )
    return unquote(parts.path)


def shown_location(target: str) -> str:
    """``target`` (a path or URL) as messages show it: a URL never with its password."""
    found = _SCHEME.match(target)
    if found is not None and found.group(1).lower() in SERVERS:
        from .postgres import shown_url

        return shown_url(target)
    return target


def missing_log(target: str | os.PathLike[str] | None) -> MissingLogError | None:
    """The error opening the log ``target`` names without creating it gives when its file is
    not there; None when there may be a log to open. Neither SQLite nor the log's modules are
    loaded to find out."""
    place = locate(os.fspath(target) if isinstance(target, os.PathLike) else target)
    if isinstance(place, Place) and not os.path.lexists(place.path):
        return MissingLogError.nothing_at(place.path)
    return None


def open_store(target: str | Path | None, *, create: bool) -> Store:
    """The backend for ``target``, opened."""
    place = locate(target)
    if isinstance(place, Server):
        from .postgres import PostgresStore  # psycopg loads only for a PostgreSQL log

        return PostgresStore.open(place.url, create=create)
    from .sqlite import SQLiteStore

    return SQLiteStore.open(place.path, create=create, make_folders=place.make_folders)
