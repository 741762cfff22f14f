"""Writing log entries as JSON Lines or CSV, streamed, to a file or standard output.

A file is written under a temporary name and renamed when complete, owner-only: an interrupted
export never leaves a truncated file that looks complete.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import IO, Any

from .errors import StorageError
from .log import Entry

CSV_COLUMNS = (
    "id",
    "recorded_at",
    "reported_at",
    "patient_id",
    "session_id",
    "outcome",
    "urgency",
    "top_reason",
    "rules_fired",
    "pain_during",
    "pain_now",
    "pack_name",
    "pack_version",
    "pack_sha256",
    "engine",
    "program_version",
    "reviews",
    "last_verdict",
    "last_reviewer",
)


def _csv_row(entry: Entry) -> list[Any]:
    last = entry.reviews[-1] if entry.reviews else None
    return [
        entry.id,
        entry.recorded_at,
        entry.reported_at,
        entry.patient_id,
        entry.session_id,
        entry.outcome,
        entry.urgency or "",
        entry.top_reason,
        ";".join(r["rule"] for r in entry.decision["reasons"]),
        entry.report["pain_during"],
        entry.report["pain_now"],
        entry.pack["name"],
        entry.pack["version"],
        entry.pack["sha256"],
        f"{entry.engine['name']} {entry.engine['version']}",
        entry.program_version,
        len(entry.reviews),
        last.verdict if last else "",
        last.reviewer if last else "",
    ]


def _write(entries: Iterable[Entry], fmt: str, out: IO[str]) -> int:
    count = 0
    if fmt == "csv":
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for count, entry in enumerate(entries, 1):
            writer.writerow(_csv_row(entry))
    else:
        for count, entry in enumerate(entries, 1):
            out.write(json.dumps(entry.to_dict(), ensure_ascii=False) + "\n")
    return count


def write_export(entries: Iterable[Entry], fmt: str, output: str | None) -> int:
    """Write every entry; returns how many. ``output`` None means standard output."""
    if output is None:
        return _write(entries, fmt, sys.stdout)
    target = Path(output)
    partial = target.with_name(target.name + ".partial")
    try:
        descriptor = os.open(partial, os.O_CREAT | os.O_TRUNC | os.O_WRONLY, 0o600)
        with open(descriptor, "w", encoding="utf-8", newline="") as out:
            count = _write(entries, fmt, out)
        os.replace(partial, target)
        return count
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise StorageError(
            f"cannot write the export {output}: {exc.strerror}",
            output,
            "choose a writable path with --output",
        ) from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
