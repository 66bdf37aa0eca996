"""The answer when the database is unavailable or too slow: 503 with Retry-After, never a 500 or a hang.

A page gets the admin's layout with a sentence and a way to try again; a script (XHR, `Accept: application/json`)
gets JSON; a form that was being saved comes back with what was typed (views/form_pages.py, through the
route's `on_outage`). Each counts once in the metrics and is one line in the log (the request's own line,
with the reason); the process logs one more line when the database goes away and one when it is back
(`db/outage.py`).
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from admin_site.db.outage import OUTAGE, Unavailability
from admin_site.telemetry.request_log import note_failure, request_id

log = logging.getLogger(__name__)

MESSAGE = "The database is unavailable right now. Try again in a moment."
# A form shown again: what happened to what was typed.
FORM_MESSAGE = (
    "The database is unavailable right now, so nothing was saved. What you typed is still here: save again in a moment."
)
TEMPLATE = "shop/unavailable.html"

# When even the layout cannot be drawn: plain, self-contained, no template and no database.
PLAIN_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Database unavailable</title></head>
<body><main>
<h1>The database is unavailable</h1>
<p>Nothing could be read or saved. Try again in a moment.</p>
<p><a href="/admin/">Back to the admin</a></p>
<p><small>Reference: {request_id}</small></p>
</main></body></html>
"""


class Templates(Protocol):
    async def TemplateResponse(
        self, request: Request, name: str, context: dict | None = None, status_code: int = 200
    ) -> Response: ...


def wants_json(request: Request) -> bool:
    """A script's request (the look-ups, the delete button): it reads JSON, not a page."""
    accept = request.headers.get("accept", "")
    scripted = request.headers.get("x-requested-with", "").lower() == "xmlhttprequest"
    return scripted or ("application/json" in accept and "text/html" not in accept)


def noted(request: Request, found: Unavailability) -> None:
    """Count the failure, tell the process log if it is the first, and give the request's line its reason."""
    OUTAGE.failed(found)
    note_failure(request.scope, f"database unavailable: {found.reason}")


async def unavailable_page(
    templates: Templates,
    request: Request,
    found: Unavailability,
    retry_after: int,
    template: str = TEMPLATE,
    context: dict[str, Any] | None = None,
) -> Response:
    """The 503: JSON for scripts, else `template` inside the admin's layout (a form page shows the form again)."""
    noted(request, found)
    headers = {"Retry-After": str(retry_after)}
    if wants_json(request):
        body = {"error": "database_unavailable", "message": MESSAGE, "request_id": request_id(request)}
        return JSONResponse(body, status_code=503, headers=headers)
    page = {"message": MESSAGE, "retry_after": retry_after, "title": "Database unavailable", **(context or {})}
    try:
        response = await templates.TemplateResponse(request, template, page, status_code=503)
    except Exception as error:  # the layout itself needed something that failed: the plain page says enough
        log.warning("503 page drawn plain: %s: %s", type(error).__name__, error)
        response = HTMLResponse(PLAIN_PAGE.format(request_id=request_id(request)), status_code=503)
    response.headers.update(headers)
    return response
