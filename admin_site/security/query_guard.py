"""ASGI middleware shared by every route."""

from __future__ import annotations

from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

MAX_QUERY_STRING = 8192


class RejectMalformedQuery:
    """A query string with NUL bytes or of absurd length is a 400, before any view sees it.

    PostgreSQL cannot store NUL in text, so such input could only ever fail deeper down.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            query: bytes = scope.get("query_string", b"")
            if len(query) > MAX_QUERY_STRING or b"%00" in query or b"\x00" in query:
                await PlainTextResponse("Malformed query string.", status_code=400)(scope, receive, send)
                return
        await self.app(scope, receive, send)
