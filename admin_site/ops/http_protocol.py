"""uvicorn's HTTP protocol (httptools) with one limit it lacks: how long a request's headers may take.

uvicorn closes a keep-alive connection left idle, but a client that opens a connection and sends its
headers a byte at a time (or never finishes them) holds the connection, and its buffers, for ever: with
enough of them, nobody else is served. Here a request's headers must be complete within `header_timeout`
seconds of the connection opening, or of the request's first byte on a kept-alive connection; else the
connection is closed. (Behind a reverse proxy, its own limits — nginx's client_header_timeout — do the same
sooner; this holds without one.)
"""

from __future__ import annotations

import asyncio
import logging

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger(__name__)


class HeaderTimeoutProtocol(HttpToolsProtocol):
    header_timeout: float = 10.0  # the app factory sets it from HTTP_HEADER_TIMEOUT, in each worker
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]  # uvicorn's signature
        super().connection_made(transport)
        self._arm_header_timer()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._header_timer is None:  # the next request on a kept-alive connection
            self._arm_header_timer()

    def on_headers_complete(self) -> None:
        self._disarm_header_timer()
        super().on_headers_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_header_timer()
        super().connection_lost(exc)

    def _arm_header_timer(self) -> None:
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _disarm_header_timer(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            client = f"{self.client[0]}:{self.client[1]}" if self.client else "-"
            log.info(
                "closed the connection of %s: no complete request headers within %g s", client, self.header_timeout
            )
            self.transport.close()
