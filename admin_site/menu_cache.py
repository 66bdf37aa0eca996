"""The side menu, drawn once per (role, page, site address) instead of on every page.

SQLAdmin's menu macro asks every view, through Jinja, whether it is visible, accessible and active
and builds its URL: a third of a form page's template time. What it draws depends only on the
role (every view decides visibility and access from the permission matrix, by role), the current
view and the site's address, so the drawn menu is kept under that key. templates/sqladmin/_macros.html
puts it where SQLAdmin's layout calls `display_menu`.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup
from starlette.requests import Request

MAX_KEPT = 512  # roles × views × site addresses; emptied when full


class SideMenu:
    def __init__(self, admin: Any) -> None:
        self._admin = admin
        self._drawn: dict[tuple[Any, ...], Markup] = {}

    def __call__(self, request: Request) -> Markup:
        staff = getattr(request.state, "staff_user", None)
        page = request.path_params.get("identity") or request.url.path  # what makes an entry "active"
        key = (getattr(staff, "role", None), page, str(request.base_url))
        drawn = self._drawn.get(key)
        if drawn is None:
            if len(self._drawn) >= MAX_KEPT:
                self._drawn.clear()
            macros = self._admin.templates.sync_env.get_template("sqladmin_original/_macros.html").module
            drawn = self._drawn[key] = Markup(macros.display_menu(self._admin._menu, request))
        return drawn


def install(admin: Any) -> None:
    admin.templates.env.globals["side_menu"] = SideMenu(admin)
