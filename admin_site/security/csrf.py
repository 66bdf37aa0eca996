"""CSRF enforcement for every state-changing request to the admin (ASGI middleware).

Runs inside the session middleware. A POST, PUT, PATCH or DELETE goes through only when
  - its Origin (or, without one, its Referer) is this site — same scheme, host and port — or a
    trusted origin, and
  - it carries the session's token (`csrf_token`: made on first use, kept in the session): an `X-CSRF-Token` header (scripts), or a
    `csrf_token` form field. To read the field, the body is buffered and then replayed to the app,
    which reads it as if nobody had.
Anything else gets 403 and never reaches a view, so nothing changes; `on_refusal` (the audit log's,
rate-limited per address: audit/csrf_refusals.py) hears of each refusal.
"""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger(__name__)

SESSION_KEY = "csrf"
FORM_FIELD = "csrf_token"
HEADER = "x-csrf-token"


def csrf_token(request: Request) -> str:
    token = request.session.get(SESSION_KEY)
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session[SESSION_KEY] = token
    return token


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
MAX_FORM_BYTES = 16 * 1024 * 1024

REFUSED_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Request refused</title></head>
<body><main>
<h1>This request was refused</h1>
<p>It did not carry this page's security token, or it came from another site. This happens when a
form was left open for a long time or you logged in again in another tab.</p>
<p><a href="/admin/">Go back to the admin</a>, reload the page and try again.</p>
</main></body></html>
"""


DEFAULT_PORTS = {"http": ":80", "https": ":443"}


def _origin(scheme: str, netloc: str) -> str:
    """`scheme://host[:port]`, lower-cased, without the scheme's default port (browsers leave it out)."""
    scheme, netloc = scheme.lower(), netloc.lower()
    return f"{scheme}://{netloc.removesuffix(DEFAULT_PORTS.get(scheme, ''))}"


def _origin_of(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.scheme or not parts.netloc:
        return None
    return _origin(parts.scheme, parts.netloc)


OnRefusal = Callable[[Scope, str], Awaitable[None]]


class CSRFMiddleware:
    def __init__(
        self,
        app: ASGIApp,
        trusted_origins: tuple[str, ...] = (),
        on_refusal: OnRefusal | None = None,
        uploads: tuple[re.Pattern[str], int] | None = None,
    ) -> None:
        """`uploads`: paths (a pattern searched in the path) whose form may be larger, and their limit (an
        import's file, admin_site/imports/); every other form keeps MAX_FORM_BYTES."""
        self.app = app
        self.uploads = uploads
        self.trusted_origins = {_origin_of(origin) or origin.lower() for origin in trusted_origins}
        self.on_refusal = on_refusal

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        problem = self._cross_site(headers, scope.get("scheme", "http"))
        sent = headers.get(HEADER)
        if problem is None and sent is None and headers.get("content-type", "").startswith(FORM_TYPES):
            body = await _read_body(receive, self._form_limit(scope.get("path", "")))
            if body is None:
                await HTMLResponse("Request body too large.", status_code=413)(scope, receive, send)
                return
            sent = await _form_field(scope, body, FORM_FIELD)
            receive = _replay(body, receive)
        if problem is None and not _matches(scope.get("session", {}).get(SESSION_KEY), sent):
            problem = "missing token" if not sent else "wrong token"
        if problem is not None:
            log.warning("CSRF refusal: %s %s (%s)", scope["method"], scope.get("path"), problem)
            if self.on_refusal is not None:
                await self.on_refusal(scope, problem)
            await HTMLResponse(REFUSED_PAGE, status_code=403)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _form_limit(self, path: str) -> int:
        if self.uploads is not None and self.uploads[0].search(path):
            return max(self.uploads[1], MAX_FORM_BYTES)
        return MAX_FORM_BYTES

    def _cross_site(self, headers: Headers, scheme: str) -> str | None:
        """Why the request looks cross-site, or None. Without Origin and Referer, only the token decides.

        The site is this request's scheme (https behind a proxy only when uvicorn believes its
        X-Forwarded-Proto: FORWARDED_ALLOW_IPS) and Host: an http page cannot post to the https site."""
        site = _origin(scheme, headers.get("host") or "")
        origin = headers.get("origin")
        if origin is not None:
            claimed = _origin_of(origin)  # "null" (sandboxed frames, some redirects) gives None
            what = "Origin"
        elif headers.get("referer"):
            claimed = _origin_of(headers["referer"])
            what = "Referer"
        else:
            return None
        if claimed is None:
            return f"opaque {what}"
        if claimed == site or claimed in self.trusted_origins:
            return None
        return f"cross-site {what} {claimed}"


def _matches(expected: object, sent: str | None) -> bool:
    if not isinstance(expected, str) or not expected or not sent:
        return False
    return hmac.compare_digest(expected.encode(), sent.encode("utf-8", "replace"))


async def _read_body(receive: Receive, limit: int) -> bytes | None:
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _form_field(scope: Scope, body: bytes, name: str) -> str | None:
    """The field's value, parsed by Starlette exactly as the view will parse it."""
    delivered = False

    async def once() -> Message:
        nonlocal delivered
        if delivered:
            return {"type": "http.disconnect"}
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    request = Request(scope, once)
    try:
        form = await request.form()
    except Exception:
        return None
    try:
        value = form.get(name)
        return value if isinstance(value, str) else None
    finally:
        await form.close()


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the buffered body to the app once, then waits on the real one."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
