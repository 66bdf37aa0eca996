"""`ShopAdmin`: SQLAdmin's views, menu and templates, served by this admin's own route table.

SQLAdmin's `Admin` builds a fixed list of routes and endpoints; here the admin is SQLAdmin's
`BaseAdmin` (views, menu, templates, session factory) and `serve` builds the mounted app once,
from the route table the app factory declares (`admin_site/routes.py`): every route through one
guard (`site/routes.py`), inside the session, anonymous body limit and CSRF middleware, with one error
handler that draws 403 and 404 pages and records every denial, and one that answers a database that is
unavailable or too slow with a 503 page (`database_error`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Any

import psycopg2
from sqladmin import BaseView, ModelView
from sqladmin._menu import CategoryMenu, ViewMenu
from sqladmin.application import BaseAdmin
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from admin_site.audit import csrf_refusals
from admin_site.audit import log as audit
from admin_site.auth.sessions import STAFF_ID
from admin_site.db.outage import DatabaseUnavailable, unavailability
from admin_site.formatting import Formats
from admin_site.operations import Operations
from admin_site.security.body_limit import AnonymousBodyLimit
from admin_site.security.csrf import CSRFMiddleware, csrf_token
from admin_site.security.errors import server_error
from admin_site.security.headers import csp_nonce
from admin_site.security.redirects import safe_next
from admin_site.site.menu import SideMenu
from admin_site.site.routes import AdminRoute, guarded
from admin_site.site.templating import ShopTemplates
from admin_site.site.unavailable import unavailable_page
from admin_site.site.urls import QueryLinks, memoised_template_url_for
from admin_site.telemetry.request_log import request_id

log = logging.getLogger(__name__)


# What a database that went away or froze raises, wherever in a request it shows (ShopAdmin.database_error).
DATABASE_ERRORS = (sa_exc.DBAPIError, sa_exc.TimeoutError, psycopg2.Error, DatabaseUnavailable)


def _names_staff(session: Any) -> bool:
    """The signed session cookie names a staff member (it cannot be forged; the guard checks the rest)."""
    return isinstance(session.get(STAFF_ID), int)


class RoleCategoryMenu(CategoryMenu):
    """A menu group shows only when at least one of its entries does (no empty headings)."""

    def is_accessible(self, request: Request) -> bool:
        return any(child.is_visible(request) and child.is_accessible(request) for child in self.children)


class ShopAdmin(BaseAdmin):
    session_maker: sessionmaker[Session]  # its pages read and write in synchronous sessions only
    templates: ShopTemplates

    def __init__(
        self, *args: Any, formats: Formats | None = None, reload_templates: bool = False, **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self.formats = formats or Formats()
        self._model_views: dict[str, ModelView] = {}
        env = self.templates.env
        env.auto_reload = reload_templates  # else no stat() per template per page
        env.globals.update(
            csrf_token=csrf_token,
            csp_nonce=csp_nonce,
            safe_next=safe_next,
            query_links=QueryLinks.of,  # this page's URL with parameters changed
            url_for=memoised_template_url_for(),
            side_menu=SideMenu(self),  # drawn once per role and page
            formats=self.formats,  # money, times, badges
            request_id=request_id,  # error pages show it: a report can be found in the log
        )
        self.operations = Operations()  # the app factory's, set by `serve`

    def init_templating_engine(self) -> ShopTemplates:
        return ShopTemplates(super().init_templating_engine(), translated=self.i18n_config is not None)

    def add_model_view(self, view: type[ModelView]) -> None:
        view.formats = self.formats  # type: ignore[attr-defined]  # ShopView's, read by its pages and rows
        super().add_model_view(view)
        instance = self.views[-1]
        assert isinstance(instance, ModelView)
        self._model_views[instance.identity] = instance

    def model_view(self, identity: str) -> ModelView:
        """The view a URL names, or 404."""
        view = self._model_views.get(identity)
        if view is None:
            raise HTTPException(status_code=404)
        return view

    def view_of_model(self, model: type) -> ModelView | None:
        return next((v for v in self._model_views.values() if v.model is model), None)

    def _build_menu(self, view: ModelView | BaseView) -> None:
        if not view.category:
            return super()._build_menu(view)
        menu = RoleCategoryMenu(name=view.category, icon=view.category_icon)
        menu.add_child(ViewMenu(view=view, name=view.name, icon=view.icon))
        self._menu.add(menu)
        return None

    def serve(
        self,
        table: Sequence[AdminRoute],
        mounts: Sequence[BaseRoute],
        trusted_origins: tuple[str, ...],
        operations: Operations | None = None,
        uploads: tuple[re.Pattern[str], int] | None = None,
    ) -> None:
        """Build the app mounted at /admin: `table` guarded, `mounts` (static files) as they are; `uploads`: the
        paths whose posted form (buffered by the CSRF check) may be larger, and how large (an import's file)."""
        assert self.authentication_backend is not None
        self.operations = operations or self.operations
        self.admin = Starlette(
            routes=[*(guarded(self, spec) for spec in table), *mounts],
            middleware=[
                *self.authentication_backend.middlewares,  # the signed session cookie
                Middleware(  # a stranger's body is refused before it is read
                    AnonymousBodyLimit, limit=self.operations.anonymous_body_limit, signed_in=_names_staff
                ),
                Middleware(  # reads the session's token; each refusal goes to the audit log (rate-limited)
                    CSRFMiddleware,
                    trusted_origins=trusted_origins,
                    on_refusal=csrf_refusals.recorder(self.session_maker, STAFF_ID),
                    uploads=uploads,
                ),
            ],
            exception_handlers={
                HTTPException: self.http_error,
                **dict.fromkeys(DATABASE_ERRORS, self.database_error),
                Exception: server_error,
            },
        )

    async def database_error(self, request: Request, exc: Exception) -> Response:
        """A database that is unavailable or too slow: the 503 page (site/unavailable.py); any other
        database error is a bug, and goes on to the 500 page."""
        found = unavailability(exc)
        if found is None:
            raise exc
        return await unavailable_page(self.templates, request, found, self.operations.retry_after)

    async def http_error(self, request: Request, exc: Exception) -> Response:
        """403, 404, 400 … inside the admin's layout; a 403 is logged and recorded in the audit log."""
        assert isinstance(exc, HTTPException)
        if exc.status_code == 403:
            staff = getattr(request.state, "staff_user", None)
            log.warning(
                "denied %s %s for staff %s (%s)",
                request.method,
                request.url.path,
                getattr(staff, "id", None),
                getattr(staff, "role", None),
            )
            await audit.record_denied(self.session_maker, request)
        context = {"status_code": exc.status_code, "message": exc.detail}
        response = await self.templates.TemplateResponse(
            request, "sqladmin/error.html", context, status_code=exc.status_code
        )
        response.headers.update(exc.headers or {})
        return response
