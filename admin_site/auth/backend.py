"""Login against `staff_users`, and who the current staff member is on every request.

The session cookie names a session row in PostgreSQL (server_sessions) and carries its own limits
(sessions); the role, the active flag and the session itself are read from the database on each
request, in one statement, so a change of role, a deactivation, a log-out or "log out everywhere"
takes effect at once, in every process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio
from sqladmin.authentication import AuthenticationBackend
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request

from admin_site.audit import log as audit
from admin_site.auth import server_sessions
from admin_site.auth import sessions as session_policy
from admin_site.auth import throttle as login_throttle
from admin_site.auth.passwords import hash_password, hashing_limiter, needs_rehash, verify_password
from admin_site.auth.server_sessions import SignedIn
from admin_site.security.redirects import safe_next
from admin_site.settings import Settings
from models.staff import StaffUser

log = logging.getLogger(__name__)

SESSION_KEY = session_policy.STAFF_ID


@dataclass(frozen=True)
class SignInOutcome:
    """What a log-in attempt came to: signed in (go to `next_url`), throttled (say so), or refused."""

    signed_in: bool = False
    next_url: str | None = None
    retry_after: int = 0
    throttled: str | None = None


def find_login(session: Session, email: str, password: str) -> StaffUser | None:
    """The active staff member with these credentials, or None (same work either way)."""
    staff = session.scalar(select(StaffUser).where(func.lower(StaffUser.email) == email.strip().lower()))
    valid = verify_password(staff.password_hash if staff else None, password)
    if staff is None or not valid or not staff.is_active:
        return None
    values: dict = {"last_login_at": datetime.now(UTC)}
    if needs_rehash(staff.password_hash):
        values["password_hash"] = hash_password(password)  # same password, current parameters
    # Bookkeeping, not an edit: a plain UPDATE, so it neither bumps the row's version (no conflict for
    # an admin editing this person) nor counts as a password change (which would end their sessions).
    table = StaffUser.__table__
    session.execute(update(table).where(table.c.id == staff.id).values(**values))
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
        self.engine = session_factory.kw["bind"]  # the per-request check needs no ORM session
        self.settings = settings

    async def sign_in(self, request: Request) -> SignInOutcome:
        """Throttled (login_throttle: refused, or answered after a delay), then checked; a success starts a
        new server-side session and a new cookie (no fixation).

        Not SQLAdmin's `login`, whose answer is a response or a bool: a SignInOutcome is always true."""
        form = await request.form()
        email, password = str(form.get("username", "")), str(form.get("password", ""))
        if not email or not password or len(email) > 254 or len(password) > 1024:
            return SignInOutcome()
        ip = request.client.host if request.client else None
        reservation = await login_throttle.reserve_and_wait(self.session_factory, self.settings, email, ip)
        if reservation.refused:
            log.warning("login throttled for %r from %s", login_throttle.account_key(email), ip or "-")
            return SignInOutcome(retry_after=reservation.retry_after, throttled=reservation.refusal)
        assert reservation.attempt_id is not None  # not refused: the attempt has its row
        attempt_id, user_agent = reservation.attempt_id, request.headers.get("user-agent")

        def check() -> tuple[StaffUser | None, str | None]:
            with self.session_factory() as session:
                staff = find_login(session, email, password)
                token = None
                if staff is not None:
                    login_throttle.record_success(session, attempt_id)
                    token = server_sessions.start(session, self.settings, staff.id, ip, user_agent)
                # success or failure, in the audit log (a typed password is never kept as an "e-mail")
                audit.record_login(session, request, login_throttle.account_key(email), staff)
                session.commit()
                return staff, token

        staff, token = await anyio.to_thread.run_sync(check, limiter=hashing_limiter())  # a storm queues
        if staff is None or token is None:
            log.info("login failed for %r from %s", login_throttle.account_key(email), ip or "-")
            return SignInOutcome()
        target = safe_next(form.get("next")) or session_policy.pending_next(request)
        session_policy.start(request, staff.id, token)
        log.info("login: staff %s", staff.id)
        return SignInOutcome(signed_in=True, next_url=target)

    async def logout(self, request: Request) -> bool:
        """This session ends on the server (a copy of the cookie opens nothing), and its cookie is emptied."""
        token = request.session.get(session_policy.TOKEN)
        if isinstance(token, str):

            def end() -> None:
                with self.session_factory() as session:
                    server_sessions.end(session, token)
                    session.commit()

            await anyio.to_thread.run_sync(end)
        request.session.clear()
        return True

    async def authenticate(self, request: Request) -> bool:
        """The cookie's own limits, then its session row and staff row, read in one statement."""
        staff_id, token = request.session.get(SESSION_KEY), request.session.get(session_policy.TOKEN)
        if not isinstance(staff_id, int) or not isinstance(token, str):
            session_policy.remember_next(request)
            return False
        problem = session_policy.expiry_problem(request.session, self.settings)
        if problem:
            log.info("session of staff %s ended: %s", staff_id, problem)
            request.session.clear()
            session_policy.remember_next(request)
            return False
        parameters = server_sessions.check_parameters(token, staff_id, self.settings)

        def load() -> SignedIn | None:
            with self.engine.begin() as connection:  # commits the statement's last_seen_at move
                row = connection.execute(server_sessions.SIGNED_IN, parameters).first()
            return SignedIn(*row) if row else None

        staff = await anyio.to_thread.run_sync(load)
        if staff is None:  # logged out, ended by an admin or "everywhere", deactivated, or past its limits
            request.session.clear()
            session_policy.remember_next(request)
            return False
        session_policy.touch(request.session)
        request.state.staff_user = staff
        return True

    async def get_user_id(self, request: Request) -> int | None:
        staff = getattr(request.state, "staff_user", None)
        return staff.id if staff else None
