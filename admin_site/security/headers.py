"""Security headers on every response (ASGI middleware, outermost, so error pages get them too).

The Content-Security-Policy allows scripts only from this site's files, or inline ones carrying this
request's nonce (`csp_nonce(request)` in templates: `<script nonce="{{ csp_nonce(request) }}">`).
SQLAdmin's templates have no inline event handlers; its one inline script (flash toasts) is replaced
by a file (templates/sqladmin/flash.html, static/flash.js). Styles may be inline (Tabler, Select2
and the templates use style attributes); scripts may not.
"""

from __future__ import annotations

import secrets

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

NONCE_KEY = "csp_nonce"
# Static files may be cached; every other answer (pages, exports, look-ups) is personal: no-store.
CACHEABLE_PREFIXES = ("/admin/statics/", "/admin/shop-static/")


def content_security_policy(nonce: str) -> str:
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def header_values(nonce: str, *, cacheable: bool = False, https: bool = False) -> dict[str, str]:
    headers = {
        "Content-Security-Policy": content_security_policy(nonce),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "same-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if not cacheable:
        headers["Cache-Control"] = "no-store"
    if https:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return headers


def csp_nonce(request: Request) -> str:
    """This request's script nonce (a Jinja global)."""
    return str(request.scope.get("state", {}).get(NONCE_KEY, ""))


class SecurityHeaders:
    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(18)
        scope.setdefault("state", {})[NONCE_KEY] = nonce
        cacheable = scope["path"].startswith(CACHEABLE_PREFIXES)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in header_values(nonce, cacheable=cacheable, https=self.https).items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
