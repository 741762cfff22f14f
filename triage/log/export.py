"""Writing log entries as JSON Lines or CSV, streamed, to a file or standard output.

A file is written owner-only (0600) to a new temporary file created exclusively in the target's
folder (never through a symbolic link), and put in place only when complete: an interrupted
export never leaves a truncated file that looks complete. An existing file is replaced only when
asked (``force``), and only if it is a regular file: never a link, a folder or a device.

CSV cells are neutralised for spreadsheets (OWASP, "CSV injection"): a text cell that starts
with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets a leading single quote, and every
text cell is quoted.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from ..errors import StorageError
from .records import CSV_STORED, Entry
from .views import json_text

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet may read as the start of a formula (OWASP)."""


def _last_review(attribute: str) -> Callable[[Entry], Any]:
    return lambda e: getattr(e.reviews[-1], attribute) if e.reviews else ""


DERIVED: dict[str, Callable[[Entry], Any]] = {
    "rules_fired": lambda e: ";".join(r["rule"] for r in e.decision["reasons"]),
    "pain_during": lambda e: e.report.get("pain_during"),  # absent: a check stopped early
    "pain_now": lambda e: e.report.get("pain_now"),
    "reviews": lambda e: len(e.reviews),
    "last_verdict": _last_review("verdict"),
    "last_reviewer": _last_review("reviewer"),
    "last_reviewed_at": _last_review("reviewed_at"),
    "last_note": _last_review("note"),
}
"""The CSV columns computed from an entry, after its stored columns (``CSV_STORED``)."""

CSV_COLUMNS = (*CSV_STORED, *DERIVED)


def neutralised(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: a formula start gets a leading single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def _csv_row(entry: Entry) -> list[Any]:
    stored = [entry.stored[name] for name in CSV_STORED]
    return [neutralised(v) for v in [*stored, *(cell(entry) for cell in DERIVED.values())]]


def _write(entries: Iterable[Entry], fmt: str, out: IO[str]) -> int:
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(CSV_COLUMNS)
        for entry in entries:
            writer.writerow(_csv_row(entry))
            count += 1
    else:
        for entry in entries:
            out.write(json_text(entry.to_dict()) + "\n")
            count += 1
    return count


def write_export(
    entries: Iterable[Entry], fmt: str, output: str | Path | None, *, force: bool = False
) -> int:
    """Write every entry; returns how many. ``output`` None means standard output. An existing
    ``output`` is refused unless ``force``, and replaced only if it is a regular file."""
    if output is None:
        return _write(entries, fmt, sys.stdout)
    target = Path(output)
    _check_target(target, force)
    descriptor, temporary = _temporary(target)
    try:
        with open(descriptor, "w", encoding="utf-8", newline="") as out:
            count = _write(entries, fmt, out)
            out.flush()
            os.fsync(out.fileno())
        _put_in_place(Path(temporary), target, force)
        return count
    except OSError as exc:
        raise _cannot_write(target, exc) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary)


def _temporary(target: Path) -> tuple[int, str]:
    """A new file next to ``target``, created exclusively (O_EXCL: never through a link), 0600."""
    folder = target.parent
    try:
        return tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=folder)
    except OSError as exc:
        raise _cannot_write(target, exc) from None


def _check_target(target: Path, force: bool) -> None:
    """Refuse a target that is not a regular file, and an existing one unless ``force``."""
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        if not target.parent.is_dir():
            raise StorageError(
                f"cannot write the export {target}: the folder {target.parent} does not exist",
                str(target),
                "create the folder first, or choose another file with --output",
            ) from None
        return
    except OSError as exc:
        raise _cannot_write(target, exc) from None
    if not stat.S_ISREG(mode):
        raise StorageError(
            f"{target} is {_what(mode)}, not a regular file: an export never replaces it",
            str(target),
            "choose another file with --output",
        )
    if not force:
        raise StorageError(
            f"{target} already exists",
            str(target),
            "give --force to replace it, or choose another file with --output",
        )


def _what(mode: int) -> str:
    for test, name in (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a named pipe"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "a special file"


def _put_in_place(temporary: Path, target: Path, force: bool) -> None:
    """Rename the complete export into place: without ``force`` only where nothing is (a hard
    link fails if anything appeared there meanwhile); with it, over a regular file only."""
    if not force:
        try:
            os.link(temporary, target)
            return
        except FileExistsError:
            _check_target(target, force)  # says what is there now
            raise
        except OSError as exc:
            if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
                raise
            # a file system without hard links: check again just before renaming
    _check_target(target, force)
    os.replace(temporary, target)


def _cannot_write(target: Path, exc: OSError) -> StorageError:
    return StorageError(
        f"cannot write the export {target}: {exc.strerror or exc}",
        str(target),
        "choose a writable path with --output",
    )
