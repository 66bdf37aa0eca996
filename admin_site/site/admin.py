"""`ShopAdmin`: SQLAdmin's Admin with the holes in its access checks filled, and the dashboard.

SQLAdmin already asks the authorization backend on every route, but in places it looks a row up
before asking, lets the relationship look-up search a model the role may not see, answers a
delete of unknown rows with 200, and serves file routes nobody here needs. Those are closed
here, once, for every view.
"""

from __future__ import annotations

import inspect
import logging

from sqladmin import Admin, ModelView
from sqladmin._menu import CategoryMenu, ViewMenu
from sqladmin.authentication import login_required
from sqladmin.authorization import Action
from sqladmin.models import BaseView
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from admin_site.audit import history
from admin_site.audit import log as audit
from admin_site.auth.permissions import VIEW, is_allowed
from admin_site.forms import bulk_actions as actions
from admin_site.site.templating import ShopTemplates
from admin_site.site.urls import QueryLinks

log = logging.getLogger(__name__)


# SQLAdmin's look-up endpoint without its login wrapper (ours has already run).
_sqladmin_ajax_lookup = inspect.unwrap(Admin.ajax_lookup)


class RoleCategoryMenu(CategoryMenu):
    """A menu group shows only when at least one of its entries does (no empty headings)."""

    def is_accessible(self, request: Request) -> bool:
        return any(child.is_visible(request) and child.is_accessible(request) for child in self.children)


class ShopAdmin(Admin):
    def init_templating_engine(self) -> ShopTemplates:
        return ShopTemplates(super().init_templating_engine(), translated=self.i18n_config is not None)

    def _require(self, request: Request, action: str) -> ModelView:
        """403 unless the role may do `action` on this view: asked before any row is looked up."""
        view = self._find_model_view(request.path_params["identity"])
        if not view.has_permission(request, action):
            raise HTTPException(status_code=403)
        return view

    async def _list(self, request: Request) -> bool:
        """A role that may not list a view gets 403, not an empty page."""
        if not await super()._list(request):
            raise HTTPException(status_code=403)
        return True

    @login_required
    async def list(self, request: Request) -> Response:
        """SQLAdmin's list page, with everything it shows read in one session (ShopView.list_screen)."""
        await self._list(request)
        view = self._find_model_view(request.path_params["identity"])
        context = {**await view.list_screen(request), "model_view": view, "can_list": True, "can_import": False}
        pagination = context["pagination"]
        pagination.add_pagination_urls(QueryLinks.of(request))  # its only use of the URL: include_query_params
        if view.validate_page_number(request.query_params.get("page"), 1) != pagination.page:
            return RedirectResponse(request.url.include_query_params(page=pagination.page), status_code=302)
        if request.query_params.get("error"):
            context["error"] = request.query_params["error"]
        return await self.templates.TemplateResponse(request, view.list_template, context)

    # SQLAdmin loads the row in `_details`/`_edit` for its row-level check and the page loads it again.
    # Here the check runs on the one row the page loads (ShopView.get_object_for_details / _for_edit).

    async def _details(self, request: Request) -> None:
        view = self._require(request, Action.DETAILS)
        if not view.can_view_details or not view.is_accessible(request):
            raise HTTPException(status_code=403)

    async def _edit(self, request: Request) -> None:
        view = self._require(request, Action.EDIT)
        if not view.can_edit or not view.is_accessible(request):
            raise HTTPException(status_code=403)

    async def _delete(self, request: Request) -> None:
        """Every selected row must exist (else 404) before any of them is deleted."""
        view = self._require(request, Action.DELETE)
        pks = [pk for pk in request.query_params.get("pks", "").split(",") if pk]
        if not view.can_delete:
            raise HTTPException(status_code=403)
        if not pks:
            raise HTTPException(status_code=400)
        for pk in pks:
            if await view.get_object_for_delete(pk) is None:
                raise HTTPException(status_code=404)
        await super()._delete(request)

    @login_required
    async def delete(self, request: Request) -> Response:
        """The selected rows go in one transaction, each at the version the page showed, or none goes."""
        await self._delete(request)
        return await actions.delete_selected(self, request)

    @login_required
    async def ajax_lookup(self, request: Request) -> Response:
        """The look-up searches another model: the role must be allowed to see that model too."""
        view = self._find_model_view(request.path_params["identity"])
        loader = view._form_ajax_refs.get(request.query_params.get("name") or "")
        if loader is not None:
            target = next((v for v in self.views if isinstance(v, ModelView) and v.model is loader.model), None)
            if target is None or not target.has_permission(request, Action.LIST):
                raise HTTPException(status_code=403)
        return await _sqladmin_ajax_lookup(self, request)

    @login_required
    async def file_download(self, request: Request) -> Response:
        """No model here stores files: the route only answers 403 or 404."""
        self._require(request, Action.DETAILS)
        raise HTTPException(status_code=404)

    @login_required
    async def file_preview(self, request: Request) -> Response:
        self._require(request, Action.DETAILS)
        raise HTTPException(status_code=404)

    def _build_menu(self, view: ModelView | BaseView) -> None:
        if not view.category:
            return super()._build_menu(view)
        menu = RoleCategoryMenu(name=view.category, icon=view.category_icon)
        menu.add_child(ViewMenu(view=view, name=view.name, icon=view.icon))
        self._menu.add(menu)

    @login_required
    async def index(self, request: Request) -> Response:
        staff = request.state.staff_user
        if not is_allowed(staff.role, "dashboard", VIEW):
            raise HTTPException(status_code=403)
        recent = await history.recent_actions(self, staff.id)  # "your recent actions" (the audit log)
        return await self.templates.TemplateResponse(
            request, "sqladmin/index.html", {"staff": staff, "recent_actions": recent}
        )


def install_denial_logging(admin: ShopAdmin) -> None:
    """Every 403 from the admin is recorded once, here, whatever route refused it."""
    render_error = admin.admin.exception_handlers[HTTPException]

    async def handler(request: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException) and exc.status_code == 403:
            staff = getattr(request.state, "staff_user", None)
            log.warning(
                "denied %s %s for staff %s (%s)",
                request.method,
                request.url.path,
                getattr(staff, "id", None),
                getattr(staff, "role", None),
            )
            await audit.record_denied(admin.session_maker, request)
        return await render_error(request, exc)

    admin.admin.exception_handlers[HTTPException] = handler
