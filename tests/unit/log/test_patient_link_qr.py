"""A patient's link from the clinic (issue 27, part 1): where links start, and the link's QR
code, made by segno from the URL: an SVG file readable by its owner only, never written over
another file (unless forced, and then never through a symlink), or inline in a page."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest
import segno

from triage.errors import UsageError
from triage.log.links import (
    default_qr_file,
    link_url,
    public_base,
    qr_inline,
    qr_svg,
    write_qr,
)

BASE = "https://triage.clinic.example"


def test_the_base_of_links(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TRIAGE_PUBLIC_URL", raising=False)
    assert public_base() == "http://127.0.0.1:8000"
    monkeypatch.setenv("TRIAGE_PUBLIC_URL", "https://env.example/triage/")
    assert public_base() == "https://env.example/triage"
    assert public_base("https://given.example") == "https://given.example"  # --base-url first
    assert link_url("https://given.example/", "tok") == "https://given.example/p/tok"
    for bad in ("ftp://x.example", "triage.example", "https://x.example/?a=1", "https://"):
        with pytest.raises(UsageError, match="not a web address"):
            public_base(bad)


def test_the_svg_is_segnos_qr_code_of_the_url() -> None:
    url = link_url(BASE, "A1b2" * 10 + "xyz")
    svg = qr_svg(url)
    expected = segno.make_qr(url, error="m")
    assert expected.designator.endswith(("M", "Q", "H"))  # at least M, boosted when it fits
    assert svg.startswith("<?xml") and "<svg" in svg and url not in svg
    assert segno.make_qr(link_url(BASE, "other-token" * 4), error="m") != expected
    # the same matrix as segno makes from that URL, and only from it
    assert svg == qr_svg(url) and svg != qr_svg(url + "x")
    inline = qr_inline(url)
    assert inline.startswith("<svg") and "<?xml" not in inline and url not in inline
    assert "<script" not in inline and not re.search(r"\son\w+=", inline)


def test_the_qr_file_is_owner_only_and_holds_the_svg(tmp_path: Path) -> None:
    old = os.umask(0)  # the file is 0600 whatever the umask
    try:
        path = write_qr(link_url(BASE, "t" * 43), tmp_path / "link.svg")
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text("utf-8") == qr_svg(link_url(BASE, "t" * 43))


def test_an_existing_file_is_not_written_over_unless_forced(tmp_path: Path) -> None:
    path = tmp_path / "link.svg"
    path.write_text("the clinic's letterhead")
    path.chmod(0o644)
    with pytest.raises(UsageError, match="exists already") as error:
        write_qr(link_url(BASE, "t" * 43), path)
    assert "--force" in (error.value.fix or "")
    assert path.read_text() == "the clinic's letterhead"
    write_qr(link_url(BASE, "t" * 43), path, force=True)
    assert path.read_text("utf-8") == qr_svg(link_url(BASE, "t" * 43))
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["link.svg"]  # no temporary file left


def test_a_forced_write_replaces_a_symlink_never_follows_it(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere.txt"
    elsewhere.write_text("not yours")
    path = tmp_path / "link.svg"
    path.symlink_to(elsewhere)
    with pytest.raises(UsageError, match="exists already"):
        write_qr(link_url(BASE, "t" * 43), path)
    write_qr(link_url(BASE, "t" * 43), path, force=True)
    assert elsewhere.read_text() == "not yours" and not path.is_symlink()


def test_no_qr_file_in_a_missing_folder_or_over_a_folder(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no folder"):
        write_qr(link_url(BASE, "t" * 43), tmp_path / "missing" / "link.svg")
    with pytest.raises(UsageError, match="is a folder"):
        write_qr(link_url(BASE, "t" * 43), tmp_path, force=True)


def test_the_default_qr_file_is_named_after_the_patient() -> None:
    assert default_qr_file("pt-0042") == Path("triage-link-pt-0042.svg")
    assert default_qr_file("../é x") == Path("triage-link-..___x.svg")
