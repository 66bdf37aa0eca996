"""The page an unexpected error shows: a plain sentence, never a trace, SQL text or parameter.

The exception itself goes to the server log (uvicorn logs it once the handler has answered).
It is rendered without templates or the database, either of which may be what failed, and carries
the security headers itself: outside /admin it is answered by Starlette's outermost middleware,
beyond SecurityHeaders.
"""

from __future__ import annotations

import secrets

from starlette.requests import Request
from starlette.responses import HTMLResponse

from admin_site.security.headers import header_values

SERVER_ERROR_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Something went wrong</title></head>
<body><main>
<h1>Something went wrong</h1>
<p>The request could not be completed; the error has been logged. Try again in a moment, and if it
keeps happening, tell the team that runs the admin what you were doing.</p>
<p><a href="/admin/">Back to the admin</a></p>
</main></body></html>
"""


async def server_error(request: Request, exc: Exception) -> HTMLResponse:
    return HTMLResponse(SERVER_ERROR_PAGE, status_code=500, headers=header_values(secrets.token_urlsafe(18)))
