"""Running the application: one uvicorn process on one socket, bound before it starts so that a
port in use is a clear error and the real address (port 0: any free one) can be announced.
Ctrl-C (SIGINT) or SIGTERM stop it cleanly: requests in flight finish, the log is closed."""

from __future__ import annotations

import socket
from collections.abc import Callable, Sequence
from pathlib import Path

from ..errors import UsageError
from ..log.location import shown_location
from ..log.sessions import SessionLimits
from ..pack.rules import RulePack
from .cds import EhrTrust
from .limits import (
    BODY_TIMEOUT,
    HEADER_TIMEOUT,
    KEEP_ALIVE_TIMEOUT,
    MAX_CONNECTIONS,
    timed_protocol,
)


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host``:``port``; UsageError when it cannot be had."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise UsageError(
            f"cannot listen on {host}: {exc.strerror}", "give --host 127.0.0.1"
        ) from None
    family, kind, proto, _, address = infos[0]
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise UsageError(
            f"cannot listen on {host}:{port}: {exc.strerror}",
            "another program may use that port: give another with --port",
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def serve(
    log_path: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    pack: RulePack | None = None,
    cors_origins: Sequence[str] = (),
    https_only: bool = False,
    cds_trust: EhrTrust | None = None,
    trusted_proxies: Sequence[str] = (),
    header_timeout: int = HEADER_TIMEOUT,
    body_timeout: int = BODY_TIMEOUT,
    keep_alive_timeout: int = KEEP_ALIVE_TIMEOUT,
    max_connections: int = MAX_CONNECTIONS,
    sessions: SessionLimits | None = None,
    announce: Callable[[str], None] = print,
) -> None:
    """Serve the pages and the API of the log at ``log_path`` until Ctrl-C.

    The client's address and scheme are taken from ``X-Forwarded-For`` and
    ``X-Forwarded-Proto`` only on connections from ``trusted_proxies`` (addresses or
    networks). A connection has ``header_timeout`` seconds to send a request's line and
    headers, ``body_timeout`` for its body, and is closed after ``keep_alive_timeout`` idle;
    a request beyond ``max_connections`` open connections is answered 503."""
    import uvicorn

    from .app import create_app

    app = create_app(
        log_path,
        pack=pack,
        cors_origins=cors_origins,
        https_only=https_only,
        cds_trust=cds_trust,
        body_timeout=body_timeout,
        sessions=sessions,
    )
    sock = bind(host, port)
    config = uvicorn.Config(
        app,
        http=timed_protocol(header_timeout),
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
        proxy_headers=bool(trusted_proxies),
        forwarded_allow_ips=list(trusted_proxies),
        timeout_keep_alive=keep_alive_timeout,
        limit_concurrency=max_connections + 1,  # uvicorn counts the new connection too
    )
    server = uvicorn.Server(config)
    shown = shown_location(str(log_path))  # a PostgreSQL URL without its password
    announce(f"triage serve: listening on {url_of(sock)} (log: {shown}); Ctrl-C stops.")
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shut down cleanly, then passes Ctrl-C on: it is done
        pass
    finally:
        sock.close()
    announce("triage serve: stopped.")
