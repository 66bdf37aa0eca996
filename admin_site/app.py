"""The app factory: /healthz, /metrics, and the admin mounted at /admin.

    browser → RequestLog (request id, one log line, metrics) → SecurityHeaders (CSP + nonce, framing, no-store) → TrustedHost (ADMIN_ALLOWED_HOSTS)
    → RejectMalformedQuery → routes;
    /admin: session → anonymous body limit → CSRF → the route table (admin_site/routes.py), each route guarded.

An unexpected error is the plain 500 page (security/errors.py), inside /admin and outside it.
A database that is unavailable or too slow is a 503 page (site/unavailable.py); /healthz answers within
HEALTH_TIMEOUT on a connection of its own (db/health.py).
"""

from __future__ import annotations

from typing import TypeVar

from sqladmin import BaseView
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Mount, Route

from admin_site.auth.backend import StaffAuthentication
from admin_site.auth.permissions import RoleAuthorization
from admin_site.db.engine import (
    database_answers,
    make_engine,
    make_health_engine,
    make_session_factory,
    resolve_database_url,
)
from admin_site.db.health import answers_within
from admin_site.imports.pages import FORM_OVERHEAD, UPLOAD_PATH
from admin_site.resources import TEMPLATES
from admin_site.routes import route_table, static_mounts
from admin_site.security.errors import server_error
from admin_site.security.headers import SecurityHeaders
from admin_site.security.query_guard import RejectMalformedQuery
from admin_site.settings import Settings
from admin_site.site.admin import ShopAdmin
from admin_site.site.urls import CachedRouter
from admin_site.telemetry.metrics import metrics_endpoint, parse_networks
from admin_site.telemetry.request_log import RequestLog
from admin_site.views.registry import all_pages, all_views

V = TypeVar("V", bound=BaseView)


def own_class(view: type[V]) -> type[V]:
    """A subclass of `view` for one app to register.

    SQLAdmin stores the app's admin, session factory and templates on the view *class* it is given,
    so two apps in one process (tests, a second mount) would otherwise use whichever was made last.
    The subclass inherits every declared option; only those references become its own.
    """
    names = {"__module__": view.__module__, "__qualname__": view.__qualname__, "__doc__": view.__doc__}
    return type(view.__name__, (view,), names)


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> Starlette:
    settings = settings or Settings.from_env()
    settings.check()
    engine = engine or make_engine(resolve_database_url(settings), settings)
    session_factory = make_session_factory(engine)

    operations = settings.operations
    health_engine = make_health_engine(engine.url, settings)  # never the pages' pool: it may be what is stuck

    async def healthz(request: Request) -> JSONResponse:
        healthy = await answers_within(operations.health_timeout, database_answers, health_engine)
        return JSONResponse({"database": "ok" if healthy else "unavailable"}, status_code=200 if healthy else 503)

    async def root(request: Request) -> RedirectResponse:
        return RedirectResponse("/admin/")

    app = Starlette(
        middleware=[
            Middleware(RequestLog),  # outermost: every answer has its id and its log line
            Middleware(SecurityHeaders, https=settings.https_only),
            # Any other Host is a 400 before anything runs: no link, form action or script URL is built from it.
            Middleware(TrustedHostMiddleware, allowed_hosts=list(settings.hosts)),
            Middleware(RejectMalformedQuery),
        ],
        exception_handlers={Exception: server_error},
    )
    authentication = StaffAuthentication(settings, session_factory)
    admin = ShopAdmin(
        app,
        session_maker=session_factory,
        title="Shop back-office",
        templates_dir=str(TEMPLATES),
        authentication_backend=authentication,
        authorization_backend=RoleAuthorization(),
        formats=settings.formats(),
        reload_templates=settings.environment == "development",  # else no stat() per template per page
    )
    for view in [*all_views(), *all_pages()]:
        admin.add_view(own_class(view))
    admin.serve(
        route_table(admin, authentication, settings),
        static_mounts(),
        settings.trusted_origins,
        settings.operations,
        uploads=(UPLOAD_PATH, settings.import_max_bytes + FORM_OVERHEAD),  # an import's file (admin_site/imports/)
    )
    # The routes never change once built, so each URL is resolved by name once (CachedRouter).
    app.router = CachedRouter(
        [
            Route("/healthz", healthz),
            Route(
                "/metrics",
                metrics_endpoint(parse_networks(",".join(operations.metrics_allow)), operations.metrics_token),
            ),
            Route("/", root),
            Mount("/admin", admin.admin, name="admin"),
        ]
    )
    app.state.admin = admin
    app.state.engine = engine
    app.state.health_engine = health_engine
    app.state.settings = settings
    return app
