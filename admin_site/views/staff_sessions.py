"""A staff member's open sessions, for those granted `sessions` on staff users (admins): where and since when
the person is signed in, with buttons that end one session or all of them (linked from the person's page).

Ending one deletes its row (that browser is signed out on its next click); ending all moves the person's
session epoch on, as "Log out everywhere" does. Both are POSTs (CSRF token) and audited.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import anyio
from sqladmin.flash import Flash
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from admin_site.audit import log as audit
from admin_site.auth import server_sessions
from admin_site.settings import Settings
from models.staff import StaffUser

if TYPE_CHECKING:
    from admin_site.site.admin import ShopAdmin

log = logging.getLogger(__name__)

T = TypeVar("T")

TEMPLATE = "shop/staff_sessions.html"
END_ALL = "all"  # the `session` a form posts to end every session


def _staff_key(request: Request) -> int:
    raw = request.path_params["pk"]
    if not raw.isdigit() or len(raw) > 9:
        raise HTTPException(status_code=404)
    return int(raw)


class StaffSessionsPage:
    """The page's handlers (routes "staff_sessions" and "staff_sessions_end" in the route table)."""

    def __init__(self, admin: ShopAdmin, settings: Settings) -> None:
        self.admin = admin
        self.settings = settings  # the sessions' limits: only sessions that would still let a request in are listed

    async def show(self, request: Request) -> Response:
        staff_id = _staff_key(request)

        def read(session: Session) -> tuple[StaffUser | None, list[server_sessions.OpenSession]]:
            return session.get(StaffUser, staff_id), server_sessions.open_sessions(session, self.settings, staff_id)

        staff, sessions = await self._in_session(read)
        if staff is None:
            raise HTTPException(status_code=404)
        context = {
            "title": f"Sessions of {staff.email}",
            "staff": staff,
            "sessions": sessions,
            "this_session": request.state.staff_user.session_id,
            "staff_url": str(request.url_for("admin:details", identity=audit.STAFF_ENTITY, pk=staff_id)),
        }
        return await self.admin.templates.TemplateResponse(request, TEMPLATE, context)

    async def end(self, request: Request) -> Response:
        """POST `session` = a session's id, or "all"."""
        staff_id = _staff_key(request)
        chosen = str((await request.form()).get("session") or "")
        if chosen != END_ALL and (not chosen.isdigit() or len(chosen) > 9):
            raise HTTPException(status_code=400, detail="Choose a session to end")

        def end(session: Session) -> bool:
            if session.get(StaffUser, staff_id) is None:
                raise HTTPException(status_code=404)
            if chosen == END_ALL:
                server_sessions.end_all(session, staff_id)
                audit.record(session, request, audit.ALL_SESSIONS_ENDED, audit.STAFF_ENTITY, staff_id)
            elif server_sessions.end_one(session, staff_id, int(chosen)):
                changes = {"session": {"before": int(chosen), "after": None}}
                audit.record(session, request, audit.SESSION_ENDED, audit.STAFF_ENTITY, staff_id, changes)
            else:
                return False
            session.commit()
            return True

        if await self._in_session(end):
            log.info("staff %s ended session(s) %s of staff %s", request.state.staff_user.id, chosen, staff_id)
            Flash.success(request, "Every session ended." if chosen == END_ALL else "The session ended.")
        else:
            Flash.warning(request, "That session had already ended.")
        return RedirectResponse(request.url_for("admin:staff_sessions", pk=staff_id), status_code=303)

    async def _in_session(self, work: Callable[[Session], T]) -> T:
        def run() -> T:
            with self.admin.session_maker() as session:
                return work(session)

        return await anyio.to_thread.run_sync(run)
