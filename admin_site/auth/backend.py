"""Login against `staff_users`, and who the current staff member is on every request.

The session cookie carries only the staff id (and its limits, see session_policy); the role, the
active flag and the session epoch are read from the database on each request, so a change of role,
a deactivation or "log out everywhere" takes effect at once.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime

import anyio
from sqladmin.authentication import AuthenticationBackend
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request

from admin_site.audit import log as audit
from admin_site.auth import sessions as session_policy
from admin_site.auth import throttle as login_throttle
from admin_site.auth.passwords import hash_password, needs_rehash, verify_password
from admin_site.security.redirects import safe_next
from admin_site.settings import Settings
from models.staff import Role, StaffUser

log = logging.getLogger(__name__)

SESSION_KEY = session_policy.STAFF_ID


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Who is making this request (`request.state.staff_user`): read afresh on each request.

    A plain record rather than a `StaffUser`: the per-request check reads these columns with one
    statement on a bare connection (no ORM session), and pages never see the password hash.
    """

    id: int
    email: str
    full_name: str
    role: Role
    is_active: bool
    session_epoch: int


@dataclass(frozen=True)
class SignInOutcome:
    """What a log-in attempt came to: signed in (go to `next_url`), throttled (say so), or refused."""

    signed_in: bool = False
    next_url: str | None = None
    retry_after: int = 0
    throttled: str | None = None


_staff = StaffUser.__table__.c
SIGNED_IN = select(*(_staff[name] for name in SignedIn.__slots__)).where(_staff.id == bindparam("staff_id"))


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
        """Throttled (login_throttle), then checked; a success starts a new session (no fixation).

        Not SQLAdmin's `login`, whose answer is a response or a bool: a SignInOutcome is always true."""
        form = await request.form()
        email, password = str(form.get("username", "")), str(form.get("password", ""))
        if not email or not password or len(email) > 254 or len(password) > 1024:
            return SignInOutcome()
        ip = request.client.host if request.client else None

        def check() -> tuple[StaffUser | None, int]:
            with self.session_factory() as session:
                reservation = login_throttle.reserve(session, self.settings, email, ip)
                if reservation.refused:
                    return None, reservation.retry_after
                staff = find_login(session, email, password)
                if staff is not None:
                    assert reservation.attempt_id is not None  # not refused: the attempt has its row
                    login_throttle.record_success(session, reservation.attempt_id)
                # success or failure, in the audit log (a typed password is never kept as an "e-mail")
                audit.record_login(session, request, login_throttle.account_key(email), staff)
                session.commit()
                return staff, 0

        staff, retry_after = await anyio.to_thread.run_sync(check)
        if retry_after:
            log.warning("login throttled for %r from %s", login_throttle.account_key(email), ip or "-")
            message = (
                "Too many failed log-in attempts for this account or from this address. "
                f"Try again in {login_throttle.describe_wait(retry_after)}."
            )
            return SignInOutcome(retry_after=retry_after, throttled=message)
        if staff is None:
            log.info("login failed for %r from %s", login_throttle.account_key(email), ip or "-")
            return SignInOutcome()
        target = safe_next(form.get("next")) or session_policy.pending_next(request)
        session_policy.start(request, staff.id, staff.session_epoch)
        log.info("login: staff %s", staff.id)
        return SignInOutcome(signed_in=True, next_url=target)

    async def logout(self, request: Request) -> bool:
        request.session.clear()
        return True

    async def authenticate(self, request: Request) -> bool:
        staff_id = request.session.get(SESSION_KEY)
        if not isinstance(staff_id, int):
            session_policy.remember_next(request)
            return False
        problem = session_policy.expiry_problem(request.session, self.settings)
        if problem:
            log.info("session of staff %s ended: %s", staff_id, problem)
            request.session.clear()
            session_policy.remember_next(request)
            return False

        def load() -> SignedIn | None:
            with self.engine.connect() as connection:
                row = connection.execute(SIGNED_IN, {"staff_id": staff_id}).first()
            return SignedIn(*row) if row else None

        staff = await anyio.to_thread.run_sync(load)
        if staff is None or not staff.is_active or staff.session_epoch != request.session.get(session_policy.EPOCH):
            request.session.clear()
            session_policy.remember_next(request)
            return False
        session_policy.touch(request.session)
        request.state.staff_user = staff
        return True

    async def get_user_id(self, request: Request) -> int | None:
        staff = getattr(request.state, "staff_user", None)
        return staff.id if staff else None
