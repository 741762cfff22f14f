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
import io
import os
import stat
import sys
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import IO, Any

from ..errors import StorageError
from ..log.records import CSV_STORED, UNSAFE, Entry, Row
from .log import json_escape, json_text

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
"""The CSV columns computed from an entry, after its stored columns (``CSV_STORED``). An entry
as ``TriageLog.export_rows`` gives it has them worked out by the storage (``_row_cells``; the
tests hold the two to the same file)."""

CSV_COLUMNS = (*CSV_STORED, *DERIVED)
CSV_COLUMNS_STORED_AS = (*CSV_STORED, *(n if n != "reviews" else "review_count" for n in DERIVED))
"""The CSV columns in a row of ``TriageLog.export_rows``."""

Exported = Entry | Row
"""An entry to export: an ``Entry`` (``TriageLog.export``), or a row of
``TriageLog.export_rows``, whose JSON is copied rather than parsed."""


def neutralised(value: Any) -> Any:
    """A CSV cell a spreadsheet shows as text: a formula start gets a leading single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return "" if value is None else value


def _neutralised_all(values: Iterable[Any]) -> list[Any]:
    """``neutralised`` of each value (written out: it runs for every cell of an export)."""
    starts = FORMULA_STARTS
    return [
        "'" + v if isinstance(v, str) and v.startswith(starts) else "" if v is None else v
        for v in values
    ]


def _csv_row(entry: Exported) -> list[Any]:
    if isinstance(entry, Entry):
        stored = [entry.stored[name] for name in CSV_STORED]
        return _neutralised_all([*stored, *(cell(entry) for cell in DERIVED.values())])
    return _neutralised_all(map(entry.__getitem__, CSV_COLUMNS_STORED_AS))


def _json_line(entry: Exported) -> str:
    if isinstance(entry, Entry):
        return json_text(entry.to_dict())
    head = {
        "id": entry["id"],
        "recorded_at": entry["recorded_at"],
        "reported_at": entry["reported_at"],
        "patient_id": entry["patient_id"],
        "session_id": entry["session_id"],
        "outcome": entry["outcome"],
        "urgency": entry["urgency"],
        "top_reason": entry["top_reason"],
        "rule_pack": {
            "name": entry["pack_name"],
            "version": entry["pack_version"],
            "sha256": entry["pack_sha256"],
        },
        "engine": {"name": entry["engine_name"], "version": entry["engine_version"]},
        "program_version": entry["program_version"],
        "contract_version": entry["contract_version"],
        "channel": entry["channel"],
    }
    decision, reviews = _copied(entry["decision_json"]), _copied(entry["reviews_json"])
    contacts = _copied(entry["contacts_json"])
    tail = json_text({"form": entry["form"], "hash": entry["hash"]})
    return (
        f'{json_text(head)[:-1]}, "decision": {decision}, "reviews": {reviews}, '
        f'"contacts": {contacts}, {tail[1:]}'
    )


_BLANKS = str.maketrans("\t\n\r", "   ")


def _copied(text: str) -> str:
    """Valid JSON text as stored, copied into a JSON line: the white space between its values
    kept on the line, every character a terminal could act on escaped (inside strings, where
    valid JSON holds them)."""
    return UNSAFE.sub(json_escape, text.translate(_BLANKS))


def _write(entries: Iterable[Exported], fmt: str, out: IO[str]) -> int:
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_NONNUMERIC)
        writer.writerow(CSV_COLUMNS)
        for entry in entries:
            writer.writerow(_csv_row(entry))
            count += 1
    else:
        for entry in entries:
            out.write(_json_line(entry) + "\n")
            count += 1
    return count


def export_text(entries: Iterable[Exported], fmt: str) -> str:
    """The export as text, in memory: for a download of a few entries (one patient's checks)."""
    out = io.StringIO()
    _write(entries, fmt, out)
    return out.getvalue()


def write_export(
    entries: Iterable[Exported], fmt: str, output: str | Path | None, *, force: bool = False
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
