"""Every staff member's own page: change one's password (linked from the top bar of every page)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import anyio
from sqladmin import BaseView
from sqladmin.flash import Flash
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from admin_site.auth import sessions as session_policy
from admin_site.auth import throttle as login_throttle
from admin_site.auth.own_password import change_own_password, refused_attempt

if TYPE_CHECKING:
    from admin_site.auth.backend import StaffAuthentication
    from admin_site.site.admin import ShopAdmin

log = logging.getLogger(__name__)

TEMPLATE = "shop/account_password.html"


class AccountPage(BaseView):
    """Who may open it is declared in the permission matrix (identity "account"), like every view."""

    name = "Change password"
    icon = "fa-solid fa-key"
    identity = "account"

    def is_visible(self, request: Request) -> bool:
        return False  # reached from the top bar, not the menu of tables


class PasswordChange:
    """The page's handler (route "view-account" in the route table)."""

    def __init__(self, admin: ShopAdmin, backend: StaffAuthentication) -> None:
        self.admin = admin
        self.backend = backend  # its settings: the login throttle's limits, shared with the log-in page

    async def change_password(self, request: Request) -> Response:
        """GET /account/password shows the form; POST changes the password (the login throttle applies)."""
        staff = request.state.staff_user
        if request.method == "GET":
            return await self.admin.templates.TemplateResponse(
                request, TEMPLATE, {"staff": staff, "title": AccountPage.name}
            )
        form = await request.form()
        current, new, repeated = (
            str(form.get(name, "")) for name in ("current_password", "new_password", "repeat_password")
        )
        session_factory, settings = self.admin.session_maker, self.backend.settings
        ip = request.client.host if request.client else None
        # Each try is a log-in attempt: refused, or answered after a delay, as on the log-in page.
        reservation = await login_throttle.reserve_and_wait(session_factory, settings, staff.email, ip)
        if reservation.refused:
            outcome = refused_attempt(reservation)
        else:
            assert reservation.attempt_id is not None  # not refused: the attempt has its row
            where = (ip, request.headers.get("user-agent"))
            outcome = await anyio.to_thread.run_sync(
                change_own_password, session_factory, settings, staff.id, reservation.attempt_id, where,
                current, new, repeated,
            )  # fmt: skip
        if outcome.problem:
            log.info("password change refused for staff %s", staff.id)
            context = {"staff": staff, "title": AccountPage.name, "error": outcome.problem}
            return await self.admin.templates.TemplateResponse(request, TEMPLATE, context, status_code=400)
        log.info("password changed by staff %s", staff.id)
        # The change ended every session of this person; this browser goes on in the new one.
        assert outcome.session_token is not None  # a change that went through starts a session
        session_policy.start(request, staff.id, outcome.session_token)
        Flash.success(request, "Your password has been changed.")
        return RedirectResponse(request.url_for("admin:view-account"), status_code=302)
