"""Log in, log out, log out everywhere.

Log out is a POST (a GET shows a page with the button), so a link or an image on another site
cannot end a session; it deletes this session's row on the server (server_sessions), so a copy of
the cookie opens nothing. "Log out everywhere" ends every session of the person. Both are audited.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import anyio
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from admin_site.audit import log as audit
from admin_site.auth import server_sessions

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
        staff_id = request.state.staff_user.id
        await self.backend.logout(request)  # this session's row goes
        await anyio.to_thread.run_sync(
            lambda: audit.record_event(
                self.admin.session_maker, request, audit.LOGOUT, audit.STAFF_ENTITY, staff_id, staff_user_id=staff_id
            )
        )
        return RedirectResponse(request.url_for("admin:login"), status_code=302)

    async def logout_everywhere(self, request: Request) -> Response:
        staff_id = request.state.staff_user.id

        def end_all() -> None:
            with self.admin.session_maker() as session:
                server_sessions.end_all(session, staff_id)
                audit.record(session, request, audit.LOGOUT_EVERYWHERE, audit.STAFF_ENTITY, staff_id)
                session.commit()

        await anyio.to_thread.run_sync(end_all)
        log.info("staff %s logged out everywhere", staff_id)
        request.session.clear()
        return RedirectResponse(request.url_for("admin:login"), status_code=302)
