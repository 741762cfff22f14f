"""The fixtures of the clinician's web pages that several modules share: ``triage serve`` on
each backend (a module's own ``server`` fixture, where it has one, takes precedence), and a
client signed in to it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.web_support import Server, on_either_backend


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Server]:
    """``triage serve`` on an SQLite log, then on a PostgreSQL one, for the module's tests."""
    yield from on_either_backend(request, tmp_path_factory)


@pytest.fixture
def client(server: Server) -> Iterator[httpx.Client]:
    """A client signed in as the server's clinician."""
    with server.client() as signed:
        server.sign_in(signed)
        yield signed
