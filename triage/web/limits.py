"""Bounded work per request and per connection, so that slow, idle or huge requests cannot hold
the server's memory or its connections.

- ``BodyLimit`` (ASGI middleware, every route): a request body is counted as it arrives and
  refused with 413 as soon as it passes ``MAX_BYTES`` (before a byte of it is read when its
  Content-Length says so); the whole body must arrive within the body timeout (else 408). An
  answer sent before the whole body came closes the connection, so that the client stops
  sending. A client that leaves mid-body is one log line.
- ``timed_protocol``: uvicorn's HTTP/1.1 protocol, closing a connection whose request line and
  headers have not all arrived within the header timeout (slowloris, idle connections).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ..errors import InputError, Problem
from ..yamlio import MAX_BYTES

log = logging.getLogger("triage.web")

HEADER_TIMEOUT = 10
BODY_TIMEOUT = 60
KEEP_ALIVE_TIMEOUT = 5
MAX_CONNECTIONS = 100


class BodyTooLarge(InputError):
    """A request body over ``MAX_BYTES``: answered 413."""

    def __init__(self) -> None:
        problem = Problem(
            f"is more than {MAX_BYTES:,} bytes, the most a request body may be",
            file="request body",
            fix="send one report, review or hook call per request",
        )
        super().__init__([problem], "request body")


class BodyLimit:
    """ASGI middleware: at most ``MAX_BYTES`` of request body, all of it within ``timeout``
    seconds of the request's headers."""

    def __init__(self, app: ASGIApp, timeout: float = BODY_TIMEOUT) -> None:
        self.app = app
        self.timeout = timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length", b"")
        has_body = declared not in (b"", b"0") or b"transfer-encoding" in headers
        deadline = time.monotonic() + self.timeout
        received, complete = 0, False

        async def bounded_receive() -> Message:
            nonlocal received, complete
            if complete:
                return await receive()  # the body is in: waiting for a disconnect is fine
            if declared.isdigit() and int(declared) > MAX_BYTES:
                raise BodyTooLarge()
            try:
                message = await asyncio.wait_for(receive(), deadline - time.monotonic())
            except TimeoutError:
                raise HTTPException(
                    408, f"the request body did not all arrive within {self.timeout:g} s"
                ) from None
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                complete = not message.get("more_body", False)
                if received > MAX_BYTES:
                    raise BodyTooLarge()
            return message

        async def closing_send(message: Message) -> None:
            if message["type"] == "http.response.start" and has_body and not complete:
                # answered before the whole body came (refused, or not needed): the connection
                # closes after this answer, so that the client stops sending
                message = {
                    **message,
                    "headers": [*message.get("headers", []), (b"connection", b"close")],
                }
            await send(message)

        try:
            await self.app(scope, bounded_receive, closing_send)
        except ClientDisconnect:
            log.warning(
                "%s %s: the client left before sending the whole request body",
                scope["method"],
                scope.get("raw_path", b"").decode("ascii", "replace"),  # as sent: one line
            )


def timed_protocol(header_timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol, closing a connection whose request line and headers have not all
    arrived within ``header_timeout`` seconds: of its opening, or of the first byte of a request
    after another (idle time between requests is uvicorn's keep-alive timeout)."""
    import h11
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class TimedH11Protocol(H11Protocol):
        _timer: asyncio.TimerHandle | None = None

        def _stop_waiting(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _too_slow(self) -> None:
            self._timer = None
            if not self.transport.is_closing():
                self.transport.close()

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            self._timer = self.loop.call_later(header_timeout, self._too_slow)

        def data_received(self, data: bytes) -> None:
            cycle = self.cycle
            super().data_received(data)
            if self.cycle is not cycle:  # a whole head came: the request is under way
                self._stop_waiting()
            elif self._timer is None and self.conn.their_state is h11.IDLE:  # a head begins
                self._timer = self.loop.call_later(header_timeout, self._too_slow)

        def connection_lost(self, exc: Exception | None) -> None:
            self._stop_waiting()
            super().connection_lost(exc)

    return TimedH11Protocol
