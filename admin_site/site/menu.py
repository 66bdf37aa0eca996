"""The side menu, drawn once per (role, page, site address) instead of on every page.

SQLAdmin's menu macro asks every view, through Jinja, whether it is visible, accessible and active
and builds its URL, on every page. What it draws depends only on the
role (when the authorization backend answers by role only, as RoleAuthorization does), the current
view and the site's address, so the drawn menu is kept under that key. templates/sqladmin/_macros.html
puts it where SQLAdmin's layout calls `display_menu`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from markupsafe import Markup
from starlette.requests import Request

if TYPE_CHECKING:
    from admin_site.site.admin import ShopAdmin

MAX_KEPT = 512  # roles × views × site addresses; emptied when full


class SideMenu:
    def __init__(self, admin: ShopAdmin) -> None:
        self._admin = admin
        self._drawn: dict[tuple[Any, ...], Markup] = {}

    def __call__(self, request: Request) -> Markup:
        if not getattr(self._admin.authorization_backend, "answers_by_role_only", False):
            return self._draw(request)  # visibility may depend on more than the role: nothing to keep
        staff = getattr(request.state, "staff_user", None)
        page = request.path_params.get("identity") or request.url.path  # what makes an entry "active"
        key = (getattr(staff, "role", None), page, str(request.base_url))
        drawn = self._drawn.get(key)
        if drawn is None:
            if len(self._drawn) >= MAX_KEPT:
                self._drawn.clear()
            drawn = self._drawn[key] = self._draw(request)
        return drawn

    def _draw(self, request: Request) -> Markup:
        template = self._admin.templates.sync_env.get_template("sqladmin_original/_macros.html")
        macros: Any = template.module  # the template's macros, as attributes made when it runs
        return Markup(macros.display_menu(self._admin._menu, request))
