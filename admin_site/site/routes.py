"""How an admin route is declared, and the one guard every route goes through.

Each route of the admin says what it needs (`AdminRoute.needs`); `guarded` turns the declaration
into a Starlette route whose endpoint first checks the log-in, then the permission, and only then
calls the handler, with the view the path names:

    AdminRoute("/{identity}/edit/{pk:path}", forms.edit, "edit", Action.EDIT, ("GET", "POST"))

- `PUBLIC`: no log-in (the log-in page);
- `SIGNED_IN`: any active staff member (log out);
- `OnPage(identity, action)`: a page that is not about one model (the home page, the permissions page);
- an action ("list", "create", …), or several of which any one will do: on the view named by the
  path's `{identity}`, honouring the view's `can_*` switches;
- `BULK_ACTION`: the bulk action named by the path's `{slug}` on that view.

A refusal is a 403 (`HTTPException`): the admin's error handler draws the page and records the
denial, once, for every route (`ShopAdmin.http_error`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from sqladmin import ModelView
from sqladmin.authentication import AuthenticationBackend
from sqladmin.authorization import Action, AuthorizationBackend, custom_action
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from admin_site.db.outage import is_unavailable

PUBLIC = "public"
SIGNED_IN = "signed in"
BULK_ACTION = "bulk action"

# The `can_*` switch of a view that turns each built-in action off (SQLAdmin's, read the same way).
SWITCHES = {
    Action.DETAILS.value: "can_view_details",
    Action.CREATE.value: "can_create",
    Action.EDIT.value: "can_edit",
    Action.DELETE.value: "can_delete",
    Action.EXPORT.value: "can_export",
    Action.IMPORT.value: "can_import",
}

Handler = Callable[..., Awaitable[Response]]


class Guarding(Protocol):
    """What the guard asks of the admin (ShopAdmin): who is signed in, what they may do, which view."""

    authentication_backend: AuthenticationBackend | None
    authorization_backend: AuthorizationBackend

    def model_view(self, identity: str) -> ModelView: ...


@dataclass(frozen=True)
class OnPage:
    """A permission on a page that is not a model's view: `identity` as written in the role matrix."""

    identity: str
    action: str = Action.LIST


Needs = str | tuple[str, ...] | OnPage


@dataclass(frozen=True)
class AdminRoute:
    path: str
    handler: Handler  # (request) for fixed paths, (request, view) for paths with {identity}
    name: str
    needs: Needs
    methods: tuple[str, ...] = ("GET",)
    # A POST that finds the database unavailable (at the log-in check or later) is answered by this handler,
    # (request, view, error), instead of the plain 503 page: a form shown again with what was typed.
    on_outage: Callable[..., Awaitable[Response]] | None = None

    @property
    def per_view(self) -> bool:
        return "{identity}" in self.path


def view_allows(view: ModelView, request: Request, action: str) -> bool:
    """The view is on for this action (its `can_*` switch) and the role may do it."""
    switch = SWITCHES.get(action.value if isinstance(action, Action) else action)
    if switch is not None and not getattr(view, switch):
        return False
    return view.is_accessible(request) and view.has_permission(request, action)


def _allowed(admin: Guarding, request: Request, needs: Needs, view: ModelView | None) -> bool:
    if isinstance(needs, OnPage):
        backend = admin.authorization_backend
        return backend.has_permission(request, needs.identity, needs.action)
    if needs == SIGNED_IN:
        return True
    assert view is not None, "an action needs the view named by the path's {identity}"
    if needs == BULK_ACTION:
        slug = request.path_params["slug"]
        return view.is_accessible(request) and view.has_permission(request, custom_action(slug))
    alternatives = (needs,) if isinstance(needs, str) else needs
    return any(view_allows(view, request, action) for action in alternatives)


def guarded(admin: Guarding, spec: AdminRoute) -> Route:
    """The Starlette route for `spec`: log-in, then permission, then the handler."""

    async def endpoint(request: Request) -> Response:
        if spec.on_outage is None or request.method != "POST":
            return await checked(request)
        try:
            return await checked(request)
        except Exception as error:
            if not is_unavailable(error):
                raise
            view = admin.model_view(request.path_params["identity"]) if spec.per_view else None
            return await spec.on_outage(request, view, error)

    async def checked(request: Request) -> Response:
        authentication = admin.authentication_backend
        assert authentication is not None, "the admin's routes need its log-in (ShopAdmin.serve)"
        if spec.needs != PUBLIC and not await authentication.authenticate(request):
            return RedirectResponse(request.url_for("admin:login"), status_code=302)
        view = admin.model_view(request.path_params["identity"]) if spec.per_view else None
        if spec.needs != PUBLIC and not _allowed(admin, request, spec.needs, view):
            raise HTTPException(status_code=403)
        return await (spec.handler(request, view) if spec.per_view else spec.handler(request))

    endpoint.__name__ = endpoint.__qualname__ = spec.name  # what a traceback or a profile shows
    return Route(spec.path, endpoint, methods=list(spec.methods), name=spec.name)
