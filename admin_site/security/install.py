"""Wires the admin's security measures into the app, in one place (called once by create_app).

    browser → SecurityHeaders (CSP + nonce, framing, no-store) → … → /admin:
        ServerErrorMiddleware (plain 500 page) → SessionMiddleware → CSRFMiddleware → routes

Sessions (lifetime, rotation, revocation) live in session_policy and auth; login throttling in
login_throttle; safe `next` targets in safe_redirect; CSV formula neutralising in spreadsheet_safety.
"""

from __future__ import annotations

from sqladmin import Admin
from starlette.applications import Starlette
from starlette.middleware import Middleware

from admin_site.security.csrf import CSRFMiddleware
from admin_site.security.errors import server_error
from admin_site.security.headers import SecurityHeaders, csp_nonce
from admin_site.security.redirects import safe_next
from admin_site.settings import Settings
from admin_site.site import routes as secure_routes


def install(app: Starlette, admin: Admin, settings: Settings) -> None:
    """Call after every view is added (action routes are switched to POST here), before serving."""
    app.add_middleware(SecurityHeaders, https=settings.https_only)  # outermost: every response
    # Inside the session middleware (the admin app's first), so the token can be read from the session.
    admin.admin.user_middleware.append(Middleware(CSRFMiddleware, trusted_origins=settings.trusted_origins))
    app.add_exception_handler(Exception, server_error)
    admin.admin.exception_handlers[Exception] = server_error
    secure_routes.install(admin, settings.secret_key)
    admin.authentication_backend.templates = admin.templates
    admin.templates.env.globals["csp_nonce"] = csp_nonce
    admin.templates.env.globals["safe_next"] = safe_next
