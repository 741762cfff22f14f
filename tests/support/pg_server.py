"""A throwaway PostgreSQL server for the tests and benchmarks: Debian's ``postgresql`` package
(tests/system-packages.sh installs it), started as a non-root user on a Unix socket in a private
temporary folder, with no TCP port, and removed with its folder afterwards.

Roles, as in a deployment (docs/clinician.md): ``postgres``, the superuser; ``triage_owner``,
which owns each log's database and applies its migrations; ``triage_app``, the app servers'
login, a member of ``triage_writer`` (SELECT and INSERT only).
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import itertools
import os
import pwd
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

SUPERUSER, OWNER, APP = "postgres", "triage_owner", "triage_app"
TEMPLATE = "triage_template"
RUN_AS = "postgres"
"""The system user the server runs as when the tests run as root (created if missing)."""


def binaries() -> Path:
    """The folder of PostgreSQL's server programs (initdb, pg_ctl)."""
    found = sorted(
        glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4])
    )
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("initdb")
    if on_path:
        return Path(on_path).parent
    raise RuntimeError(
        "the PostgreSQL server is not installed: run 'sh tests/system-packages.sh' "
        "(or apt-get install postgresql)"
    )


class Server:
    """One PostgreSQL server in a temporary folder; ``stop()`` ends it and removes the folder."""

    def __init__(self, *, durable: bool = False) -> None:
        self.bin = binaries()
        self.user = _server_user()
        self.folder = Path(tempfile.mkdtemp(prefix="triage-pg-"))
        self.data, self.socket = self.folder / "data", self.folder / "sock"
        self.socket.mkdir()
        if self.user is not None:
            uid = pwd.getpwnam(self.user).pw_uid
            for path in (self.folder, self.socket):
                os.chown(path, uid, -1)
        self._names = itertools.count(1)
        self._started = False
        atexit.register(self.stop)
        self._run("initdb", "-D", str(self.data), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8",
                  "--locale=C", "-N")  # fmt: skip
        settings = [
            f"-c unix_socket_directories={self.socket}",
            "-c listen_addresses=''",
            "-c max_connections=200",
        ]
        if not durable:  # the tests' data is thrown away: no fsync
            settings += ["-c fsync=off", "-c synchronous_commit=off", "-c full_page_writes=off"]
        self._options = " ".join(settings)
        self._pg_ctl("start")
        self._started = True
        self._roles()

    def _pg_ctl(self, *action: str) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-l", str(self.folder / "server.log"), "-w",
                  "-o", self._options, *action)  # fmt: skip

    def restart(self) -> None:
        """Stop the server at once (its connections are cut) and start it again."""
        self._pg_ctl("-m", "immediate", "restart")

    def _run(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        subprocess.run(command, check=True, capture_output=True, cwd=self.folder)

    def url(self, database: str = "postgres", user: str = SUPERUSER) -> str:
        return f"postgresql://{user}@/{database}?host={self.socket}"

    def connect(self, database: str = "postgres", user: str = SUPERUSER, **options: Any) -> Any:
        import psycopg

        return psycopg.connect(self.url(database, user), autocommit=True, **options)

    def _roles(self) -> None:
        with self.connect() as conn:
            conn.execute(f"CREATE ROLE {OWNER} LOGIN")
            conn.execute("CREATE ROLE triage_writer NOLOGIN")
            conn.execute(f"CREATE ROLE {APP} LOGIN IN ROLE triage_writer")

    def new_database(self, *, migrated: bool = True) -> str:
        """A new database owned by triage_owner: a migrated, empty log unless ``migrated`` is
        False. Returns its name."""
        if migrated:
            self._template()
        name = f"triage_test_{next(self._names)}"
        template = f" TEMPLATE {TEMPLATE}" if migrated else ""
        with self.connect() as conn:
            conn.execute(f"CREATE DATABASE {name} OWNER {OWNER}{template} STRATEGY FILE_COPY")
        return name

    def _template(self) -> None:
        with self.connect() as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [TEMPLATE]).fetchone():
                return
            conn.execute(f"CREATE DATABASE {TEMPLATE} OWNER {OWNER}")
        from triage.log import TriageLog

        TriageLog(self.url(TEMPLATE, OWNER)).close()

    def drop(self, name: str) -> None:
        with self.connect() as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        if self._started:
            self._started = False
            with contextlib.suppress(subprocess.CalledProcessError):
                self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.folder, ignore_errors=True)


def _server_user() -> str | None:
    """Who runs the server: PostgreSQL refuses root, so as root a system user (made if need be);
    otherwise the user running the tests (None)."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam(RUN_AS)
    except KeyError:
        subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", RUN_AS],
            check=True,
            capture_output=True,
        )
    return RUN_AS
