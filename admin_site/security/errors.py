"""The page an unexpected error shows: a plain sentence, never a trace, SQL text or parameter.

The exception itself goes to the server log (uvicorn logs it once the handler has answered).
It is rendered without templates or the database, either of which may be what failed, and carries
the security headers itself: outside /admin it is answered by Starlette's outermost middleware,
beyond SecurityHeaders.
"""

from __future__ import annotations

import html
import secrets

from starlette.requests import Request
from starlette.responses import HTMLResponse

from admin_site.security.headers import header_values
from admin_site.telemetry.request_log import request_id

SERVER_ERROR_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Something went wrong</title></head>
<body><main>
<h1>Something went wrong</h1>
<p>The request could not be completed; the error has been logged. Try again in a moment, and if it
keeps happening, tell the team that runs the admin what you were doing.</p>
<p><a href="/admin/">Back to the admin</a></p>
<p><small>Reference: {request_id}</small></p>
</main></body></html>
"""


async def server_error(request: Request, exc: Exception) -> HTMLResponse:
    """The page, with the request's id (its log line's) to quote; the connection is closed after it (the server
    drops a connection whose request raised: `Connection: close` says so, rather than a client finding out)."""
    headers = {**header_values(secrets.token_urlsafe(18)), "Connection": "close"}
    page = SERVER_ERROR_PAGE.format(request_id=html.escape(request_id(request)) or "-")
    return HTMLResponse(page, status_code=500, headers=headers)
