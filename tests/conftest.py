"""Every test gets its own triage log: nothing is ever written to the user's real one.

A test module that sets ``BACKENDS = True`` runs each of its tests against both backends: an
SQLite file and a PostgreSQL database on a throwaway server (tests/support/pg_server.py), started
once for the session and removed at its end. ``private_log`` is then the file's path or the
database's URL (as the application's role, triage_app); ``tests.support.backends`` reads and tampers
with either. A test marked ``sqlite_only`` is about the file itself and runs once.

The tests that need a system program or a long run carry a marker saying which (registered in
pyproject.toml): ``valgrind``, ``browser`` (Chromium), ``postgres`` (given here to every test
that runs on the PostgreSQL server), ``pty`` (a real terminal), ``slow`` (stalls, many processes
or threads); each of them is also marked ``system``. Plain ``pytest`` runs everything;
``pytest -m "not system"`` is the quick run while working.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.pg_server import APP, Server
from tests.support.web_support import server  # noqa: F401 (a real 'triage serve', for the web tests)

BOTH = ["sqlite", "postgresql"]


SYSTEM = ("valgrind", "browser", "postgres", "pty", "slow")


def _on_postgres(item: pytest.Item) -> bool:
    callspec = getattr(item, "callspec", None)
    params = callspec.params if callspec else {}
    on_server = "postgresql" in (params.get("backend"), params.get("server"))
    return on_server or "postgres" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _on_postgres(item):
            item.add_marker(pytest.mark.postgres)
        if any(item.get_closest_marker(name) for name in SYSTEM):
            item.add_marker(pytest.mark.system)


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
