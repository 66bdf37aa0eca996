"""The pages that read: a view's list, a record's details (the home page is admin_site/dashboard/).

Handlers of the route table (`admin_site/routes.py`): the guard has already checked the log-in and
the permission, and passes the view the URL names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlencode

from sqladmin import ModelView
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from admin_site.lists.rows import render_cells
from admin_site.security.signed_errors import ERROR, ERROR_SIGNATURE, signature_ok
from admin_site.site.routes import view_allows
from admin_site.site.urls import QueryLinks
from admin_site.views import details

if TYPE_CHECKING:
    from admin_site.site.admin import ShopAdmin
    from admin_site.views.base import ShopView


class ReadingPages:
    def __init__(self, admin: ShopAdmin, secret_key: str) -> None:
        self.admin = admin
        self.secret_key = secret_key  # checks the signature of a list's `error` message

    async def list(self, request: Request, view: ShopView) -> Response:
        """Everything the list shows is read in one session (ShopView.list_screen)."""
        request = self._without_unsigned_error(request)
        context: dict[str, Any] = {
            **await view.list_context(request),
            **await view.list_screen(request),
            "model_view": view,
            "can_list": True,
            "can_import": False,
        }
        pagination = context["pagination"]
        pagination.add_pagination_urls(QueryLinks.of(request))  # its only use of the URL: include_query_params
        if view.validate_page_number(request.query_params.get("page"), 1) != pagination.page:
            return RedirectResponse(request.url.include_query_params(page=pagination.page), status_code=302)
        if request.query_params.get(ERROR):
            context["error"] = request.query_params[ERROR]
        return await self.admin.templates.TemplateResponse(request, view.list_template, context)

    def _without_unsigned_error(self, request: Request) -> Request:
        """The request as if its `error` were absent, unless this admin signed it (no text from a crafted link)."""
        params = request.query_params
        if ERROR not in params or signature_ok(self.secret_key, params[ERROR], params.get(ERROR_SIGNATURE)):
            return request
        kept = [(k, v) for k, v in params.multi_items() if k not in (ERROR, ERROR_SIGNATURE)]
        return Request(dict(request.scope, query_string=urlencode(kept).encode()), request.receive)

    async def details(self, request: Request, view: ShopView) -> Response:
        row = await view.get_object_for_details(request)  # the row-level check runs on it
        if row is None:
            raise HTTPException(status_code=404)
        panels = details.panels_of(self.admin, view, request)
        await details.read_panels(view, panels, view._key_from_url(request.path_params["pk"]))
        for panel in panels:
            panel.cells = render_cells(cast(ModelView, panel.view), request, panel.rows, panel.columns)
        context = {
            **await view.details_context(request),
            "model_view": view,
            "model": row,
            "title": f"{view.name} {row}",
            "fields": details.fields(view, request, row),
            "panels": panels,
            "actions": details.applicable_actions(view, request, row),
            "can_edit": view_allows(view, request, "edit") and await view.check_can_edit(request, row),
            "can_delete": view_allows(view, request, "delete") and await view.check_can_delete(request, row),
        }
        return await self.admin.templates.TemplateResponse(request, view.details_template, context)

    async def no_files(self, request: Request, view: ShopView) -> Response:
        """No model here stores files: SQLAdmin's file download and preview URLs only answer 404."""
        raise HTTPException(status_code=404)
