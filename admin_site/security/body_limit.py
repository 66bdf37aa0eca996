"""A small limit on what a request without a signed-in session may send, enforced before its body is read
(ASGI middleware, inside the session middleware, outside CSRF).

Anyone can post to the log-in page, and the CSRF check reads a form to find its token; without this a
stranger's 15 MB POST would be buffered before being refused, and forty at once cost hundreds of megabytes.
A request whose `Content-Length` is over the limit is answered 413 at once, its body never read, and the
connection closed; a body sent without a length (chunked) is counted as it arrives and cut at the limit.
A signed-in session (its signed cookie names a staff member) keeps the CSRF middleware's larger limit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

BODYLESS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


class BodyTooLarge(Exception):
    """A chunked body went over the limit while being read."""


def _too_large() -> PlainTextResponse:
    return PlainTextResponse("Request body too large.\n", status_code=413, headers={"Connection": "close"})


class AnonymousBodyLimit:
    def __init__(self, app: ASGIApp, limit: int, signed_in: Callable[[Mapping[str, Any]], bool]) -> None:
        self.app = app
        self.limit = limit
        self.signed_in = signed_in

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in BODYLESS or self.signed_in(scope.get("session") or {}):
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            log.warning("%s %s: body of %s bytes refused without a session", scope["method"], scope["path"], length)
            await _too_large()(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            received += len(message.get("body", b""))
            if received > self.limit:
                raise BodyTooLarge
            return message

        started = False

        async def watched_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched_send)
        except BodyTooLarge:
            if started:
                raise
            log.warning(
                "%s %s: chunked body over %s bytes refused without a session",
                scope["method"],
                scope["path"],
                self.limit,
            )
            await _too_large()(scope, receive, send)
