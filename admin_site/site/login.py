"""Log in, log out, log out everywhere.

Log out is a POST (a GET shows a page with the button), so a link or an image on another site
cannot end a session. "Log out everywhere" bumps the person's session epoch: every session ends.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import anyio
from sqlalchemy import update
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from models.staff import StaffUser

if TYPE_CHECKING:
    from admin_site.auth.backend import StaffAuthentication
    from admin_site.site.admin import ShopAdmin

log = logging.getLogger(__name__)

LOGIN_TEMPLATE = "sqladmin/login.html"


class SessionPages:
    def __init__(self, admin: ShopAdmin, backend: StaffAuthentication) -> None:
        self.admin = admin
        self.backend = backend

    async def login(self, request: Request) -> Response:
        templates = self.admin.templates
        if request.method == "GET":
            return await templates.TemplateResponse(request, LOGIN_TEMPLATE)
        outcome = await self.backend.sign_in(request)
        if outcome.signed_in:
            return RedirectResponse(outcome.next_url or request.url_for("admin:index"), status_code=302)
        if outcome.throttled:
            response = await templates.TemplateResponse(
                request, LOGIN_TEMPLATE, {"throttled": outcome.throttled}, status_code=429
            )
            response.headers["Retry-After"] = str(outcome.retry_after)
            return response
        context = {"error": "Invalid credentials."}
        return await templates.TemplateResponse(request, LOGIN_TEMPLATE, context, status_code=400)

    async def logout(self, request: Request) -> Response:
        if request.method == "GET":  # showing the page changes nothing: its buttons post
            context = {"title": "Log out", "staff": request.state.staff_user}
            return await self.admin.templates.TemplateResponse(request, "shop/logout.html", context)
        await self.backend.logout(request)
        return RedirectResponse(request.url_for("admin:login"), status_code=302)

    async def logout_everywhere(self, request: Request) -> Response:
        staff_id = request.state.staff_user.id
        table = StaffUser.__table__

        def bump() -> None:
            with self.admin.session_maker() as session:
                epoch = table.c.session_epoch
                session.execute(update(table).where(table.c.id == staff_id).values(session_epoch=epoch + 1))
                session.commit()

        await anyio.to_thread.run_sync(bump)
        log.info("staff %s logged out everywhere", staff_id)
        request.session.clear()
        return RedirectResponse(request.url_for("admin:login"), status_code=302)
