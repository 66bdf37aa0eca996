"""The app factory: Starlette app, /healthz, and SQLAdmin mounted at /admin."""

from __future__ import annotations

import anyio
from sqlalchemy import Engine
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse
from starlette.routing import Route

from admin_site import nothing_lost
from admin_site.auth.backend import StaffAuthentication
from admin_site.auth.permissions import RoleAuthorization
from admin_site.db.engine import database_answers, make_engine, make_session_factory, resolve_database_url
from admin_site.export import routes as export
from admin_site.lists import lookup, saved_views
from admin_site.security import install as security
from admin_site.security.csrf import csrf_token
from admin_site.security.query_guard import RejectMalformedQuery
from admin_site.settings import Settings
from admin_site.site import menu as menu_cache
from admin_site.resources import TEMPLATES
from admin_site.site.admin import ShopAdmin, install_denial_logging
from admin_site.site.urls import QueryLinks, memoise_url_paths, memoised_template_url_for
from admin_site.views.registry import all_pages, all_views


def own_class(view: type) -> type:
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

    async def healthz(request: Request) -> JSONResponse:
        healthy = await anyio.to_thread.run_sync(database_answers, engine)
        return JSONResponse({"database": "ok" if healthy else "unavailable"}, status_code=200 if healthy else 503)

    async def root(request: Request) -> RedirectResponse:
        return RedirectResponse("/admin/")

    app = Starlette(
        routes=[Route("/healthz", healthz), Route("/", root)],
        middleware=[Middleware(RejectMalformedQuery)],
    )
    admin = ShopAdmin(
        app,
        session_maker=session_factory,
        title="Shop back-office",
        templates_dir=str(TEMPLATES),
        authentication_backend=StaffAuthentication(settings, session_factory),
        authorization_backend=RoleAuthorization(),
    )
    for view in [*all_views(), *all_pages()]:
        admin.add_view(own_class(view))
    install_denial_logging(admin)
    admin.templates.env.globals["csrf_token"] = csrf_token
    admin.templates.env.globals["query_links"] = QueryLinks.of  # this page's URL with parameters changed
    admin.templates.env.auto_reload = settings.environment == "development"  # else no stat() per template per page
    menu_cache.install(admin)  # the side menu drawn once per role and page
    lookup.install(admin)  # filter look-ups on big related tables
    nothing_lost.install(admin)  # bulk-action confirmation pages, each record's history
    export.install(admin)  # streamed exports of exactly what the list shows
    saved_views.install(admin)
    security.install(app, admin, settings)  # CSRF, headers, sessions, safe errors: last, after all views
    memoise_url_paths(app.router)  # every route is in place now
    admin.templates.env.globals["url_for"] = memoised_template_url_for()
    app.state.admin = admin
    app.state.engine = engine
    app.state.settings = settings
    return app
