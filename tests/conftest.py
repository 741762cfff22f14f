"""Every test gets its own triage log: nothing is ever written to the user's real one.

A test module that sets ``BACKENDS = True`` runs each of its tests against both backends: an
SQLite file and a PostgreSQL database on a throwaway server (tests/pg_server.py), started once
for the session and removed at its end. ``private_log`` is then the file's path or the
database's URL (as the application's role, triage_app); ``tests.backends`` reads and tampers
with either. A test marked ``sqlite_only`` is about the file itself and runs once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.pg_server import APP, Server
from tests.web_support import server  # noqa: F401 (a real 'triage serve', for the web tests)

BOTH = ["sqlite", "postgresql"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: a test of the SQLite file itself")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if not getattr(metafunc.module, "BACKENDS", False):
        return
    if metafunc.definition.get_closest_marker("sqlite_only"):
        return
    if "backend" in metafunc.fixturenames:
        metafunc.parametrize("backend", BOTH, indirect=True)


@pytest.fixture
def backend(request: pytest.FixtureRequest) -> str:
    """The backend of this test's log: 'sqlite' unless the module runs on both."""
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def postgres() -> Iterator[Server]:
    """The throwaway PostgreSQL server, started on first use, stopped and removed at the end."""
    started = Server()
    try:
        yield started
    finally:
        started.stop()


@pytest.fixture(autouse=True)
def private_log(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest, backend: str
) -> Iterator[Path | str]:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    if backend == "postgresql":
        pg: Server = request.getfixturevalue("postgres")
        name = pg.new_database()
        url = pg.url(name, APP)
        monkeypatch.setenv("TRIAGE_DB", url)
        yield url
        pg.drop(name)
        return
    path = tmp_path / "triage-log.db"
    monkeypatch.setenv("TRIAGE_DB", str(path))
    yield path
