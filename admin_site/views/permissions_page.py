"""The permission matrix as admins see it, drawn from `permissions.MATRIX` (never restated)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqladmin import BaseView, ModelView
from starlette.requests import Request
from starlette.responses import Response

from admin_site.auth.permissions import MATRIX, describe_grant
from models.staff import Role

if TYPE_CHECKING:
    from admin_site.site.admin import ShopAdmin


@dataclass(frozen=True)
class MatrixRow:
    label: str
    identity: str
    cells: list[str]  # one per role, in `Role` order


def matrix_rows(views: Sequence[BaseView | ModelView]) -> list[MatrixRow]:
    """The dashboard, every registered view in menu order, then any matrix entry without a view."""
    labelled = [("Dashboard", "dashboard")]
    for view in views:
        label = view.name_plural if isinstance(view, ModelView) else view.name
        labelled.append((label, view.identity))
    known = {identity for _, identity in labelled}
    labelled += [(f"{identity} (no such view)", identity) for identity in MATRIX if identity not in known]
    return [
        MatrixRow(label, identity, [describe_grant(role, identity) for role in Role]) for label, identity in labelled
    ]


class PermissionsPage(BaseView):
    """Who may open it is declared in the matrix itself (identity "permissions")."""

    name = "Permissions"
    icon = "fa-solid fa-user-shield"
    category = "Staff"
    identity = "permissions"


class MatrixPage:
    """The page's handler (route "view-permissions" in the route table)."""

    def __init__(self, admin: ShopAdmin) -> None:
        self.admin = admin

    async def show(self, request: Request) -> Response:
        context = {"title": PermissionsPage.name, "roles": list(Role), "rows": matrix_rows(self.admin.views)}
        return await self.admin.templates.TemplateResponse(request, "shop/permissions.html", context)
