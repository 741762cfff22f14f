"""Every test gets its own triage log: nothing is ever written to the user's real one."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.web_support import server  # noqa: F401 (a real 'triage serve', for the web tests)


@pytest.fixture(autouse=True)
def private_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "triage-log.db"
    monkeypatch.setenv("TRIAGE_DB", str(path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    return path
