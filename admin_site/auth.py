"""Login against `staff_users`, and who the current staff member is on every request.

The session cookie carries only the staff id; the role and the active flag are read from the
database on each request, so a change of role or a deactivation takes effect at once.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import anyio
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker
from sqladmin.authentication import AuthenticationBackend
from starlette.requests import Request

from admin_site.passwords import hash_password, needs_rehash, verify_password
from admin_site.settings import Settings
from models.staff import StaffUser

log = logging.getLogger(__name__)

SESSION_KEY = "staff_id"


def find_login(session: Session, email: str, password: str) -> StaffUser | None:
    """The active staff member with these credentials, or None (same work either way)."""
    staff = session.scalar(select(StaffUser).where(func.lower(StaffUser.email) == email.strip().lower()))
    valid = verify_password(staff.password_hash if staff else None, password)
    if staff is None or not valid or not staff.is_active:
        return None
    staff.last_login_at = datetime.now(timezone.utc)
    if needs_rehash(staff.password_hash):
        staff.password_hash = hash_password(password)
    session.commit()
    return staff


class StaffAuthentication(AuthenticationBackend):
    def __init__(self, settings: Settings, session_factory: sessionmaker[Session]) -> None:
        super().__init__(
            secret_key=settings.secret_key,
            session_cookie=settings.session_cookie,
            path="/admin",
            max_age=settings.session_max_age,
            same_site="lax",
            https_only=settings.https_only,
        )
        self.session_factory = session_factory

    async def login(self, request: Request) -> bool:
        form = await request.form()
        email, password = str(form.get("username", "")), str(form.get("password", ""))
        if not email or not password or len(email) > 254 or len(password) > 1024:
            return False

        def check() -> StaffUser | None:
            with self.session_factory() as session:
                return find_login(session, email, password)

        staff = await anyio.to_thread.run_sync(check)
        if staff is None:
            log.info("login failed for %r from %s", email[:254], request.client.host if request.client else "-")
            return False
        request.session.clear()
        request.session[SESSION_KEY] = staff.id
        log.info("login: staff %s", staff.id)
        return True

    async def logout(self, request: Request) -> bool:
        request.session.clear()
        return True

    async def authenticate(self, request: Request) -> bool:
        staff_id = request.session.get(SESSION_KEY)
        if not isinstance(staff_id, int):
            return False

        def load() -> StaffUser | None:
            with self.session_factory() as session:
                return session.get(StaffUser, staff_id)

        staff = await anyio.to_thread.run_sync(load)
        if staff is None or not staff.is_active:
            request.session.clear()
            return False
        request.state.staff_user = staff
        return True

    async def get_user_id(self, request: Request) -> int | None:
        staff = getattr(request.state, "staff_user", None)
        return staff.id if staff else None
