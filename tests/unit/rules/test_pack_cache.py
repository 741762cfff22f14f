"""The cache of loaded rule packs (triage/pack/cache.py, issue 26): a pack comes from the cache
only when nothing it depends on changed, and only from a file that is the user's own and whole."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

import triage
from triage.errors import PackError
from triage.pack import cache, loading
from triage.pack.loading import default_rules_dir, load_pack


@pytest.fixture
def packs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache of this test's own; the folder where its packs are."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("TRIAGE_PACK_CACHE", raising=False)
    return tmp_path / "cache" / "triage" / "packs"


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    """A copy of the bundled pack."""
    folder = tmp_path / "rules"
    shutil.copytree(default_rules_dir(), folder)
    return folder


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Each pack folder read from its files (not from the cache), in order."""
    seen: list[Path] = []
    load = loading._load

    def reading(folder: Path) -> triage.RulePack:
        seen.append(folder)
        return load(folder)

    monkeypatch.setattr(loading, "_load", reading)
    return seen


def cached_files(packs: Path) -> list[Path]:
    return sorted(packs.glob("*.pickle"))


def test_a_pack_read_once_comes_from_the_cache_after(
    packs: Path, rules: Path, reads: list[Path]
) -> None:
    first = load_pack(rules)
    second = load_pack(rules)
    assert reads == [rules]
    assert second == first and second is not first
    assert second.sha256 == first.sha256 and second.path == str(rules)
    [written] = cached_files(packs)
    assert written.stat().st_mode & 0o777 == 0o600
    assert packs.stat().st_mode & 0o777 == 0o700


def test_a_changed_rule_is_read_again(packs: Path, rules: Path, reads: list[Path]) -> None:
    before = load_pack(rules)
    rule_file = next(p for p in sorted(rules.glob("*.yaml")) if p.name != loading.PACK_FILE)
    text = rule_file.read_text(encoding="utf-8")
    first_title = next(line for line in text.splitlines() if "title:" in line)
    rule_file.write_text(text.replace(first_title, first_title + " (edited)", 1), "utf-8")
    after = load_pack(rules)
    assert reads == [rules, rules]
    assert after.sha256 != before.sha256
    assert any(r.title.endswith("(edited)") for r in after.rules)
    assert len(cached_files(packs)) == 2


def test_a_new_rule_file_is_read_again(packs: Path, rules: Path, reads: list[Path]) -> None:
    load_pack(rules)
    (rules / "zz-more.yaml").write_text("notes: []\n", encoding="utf-8")
    load_pack(rules)
    assert reads == [rules, rules]


def test_the_same_files_in_another_folder_are_another_pack(
    packs: Path, rules: Path, tmp_path: Path, reads: list[Path]
) -> None:
    other = tmp_path / "other"
    shutil.copytree(rules, other)
    assert load_pack(rules).path == str(rules)
    assert load_pack(other).path == str(other)
    assert reads == [rules, other]


def test_a_cached_file_changed_or_cut_short_is_refused_and_written_again(
    packs: Path, rules: Path, reads: list[Path]
) -> None:
    first = load_pack(rules)
    [written] = cached_files(packs)
    content = bytearray(written.read_bytes())
    content[-10] ^= 0x01
    written.write_bytes(bytes(content))
    assert load_pack(rules) == first
    written.write_bytes(written.read_bytes()[:1000])
    assert load_pack(rules) == first
    assert reads == [rules, rules, rules]
    assert load_pack(rules) == first  # whole again
    assert len(reads) == 3


def test_a_cached_file_others_may_write_is_refused(
    packs: Path, rules: Path, reads: list[Path]
) -> None:
    load_pack(rules)
    [written] = cached_files(packs)
    written.chmod(0o622)
    load_pack(rules)
    assert reads == [rules, rules]


def test_a_cache_folder_others_may_write_is_not_used(
    packs: Path, rules: Path, reads: list[Path]
) -> None:
    packs.mkdir(parents=True)
    packs.chmod(0o777)
    load_pack(rules)
    load_pack(rules)
    assert reads == [rules, rules]
    assert cached_files(packs) == []


def test_a_cache_whose_folder_others_may_write_is_not_used(
    packs: Path, rules: Path, reads: list[Path]
) -> None:
    packs.mkdir(parents=True, mode=0o700)
    packs.parent.chmod(0o777)
    load_pack(rules)
    load_pack(rules)
    assert reads == [rules, rules]
    assert cached_files(packs) == []


def test_a_link_in_place_of_a_cached_file_is_refused(
    packs: Path, rules: Path, tmp_path: Path, reads: list[Path]
) -> None:
    load_pack(rules)
    [written] = cached_files(packs)
    elsewhere = tmp_path / "elsewhere.pickle"
    written.rename(elsewhere)
    written.symlink_to(elsewhere)
    load_pack(rules)
    assert reads == [rules, rules]


def test_off_caches_nothing(
    packs: Path, rules: Path, reads: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TRIAGE_PACK_CACHE", "off")
    load_pack(rules)
    load_pack(rules)
    assert reads == [rules, rules]
    assert not packs.exists()


def test_a_pack_with_problems_is_refused_every_time(packs: Path, rules: Path) -> None:
    (rules / "broken.yaml").write_text("rules:\n  - id: Not An Id\n", encoding="utf-8")
    for _ in range(2):
        with pytest.raises(PackError) as refused:
            load_pack(rules)
        assert any("broken.yaml" in (p.file or "") for p in refused.value.problems)
    assert cached_files(packs) == []


def test_only_the_latest_packs_are_kept(
    packs: Path, rules: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "KEPT", 3)
    pack_file = rules / loading.PACK_FILE
    text = pack_file.read_text(encoding="utf-8")
    for n in range(5):
        pack_file.write_text(text + f"# edit {n}\n", encoding="utf-8")
        load_pack(rules)
    assert len(cached_files(packs)) == 3


def test_other_code_reads_the_pack_again(
    packs: Path, rules: Path, reads: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    load_pack(rules)
    monkeypatch.setattr(cache, "_code_fingerprint", lambda: "another version of triage")
    load_pack(rules)
    assert reads == [rules, rules]


def test_the_code_fingerprint_follows_every_module_of_triage() -> None:
    package = Path(triage.__file__).parent
    fingerprint = cache._code_fingerprint.__wrapped__
    module = package / "pack" / "cache.py"
    before = fingerprint()
    info = module.stat()
    try:
        os.utime(module, ns=(info.st_atime_ns, info.st_mtime_ns + 1_000_000))
        assert fingerprint() != before
    finally:
        os.utime(module, ns=(info.st_atime_ns, info.st_mtime_ns))
    assert fingerprint() == before
