"""Sessions kept in PostgreSQL: the signed cookie names a row, so ending the row ends that session for
every process and host at once (a copy of the cookie taken before a log-out opens nothing).

The cookie carries a random token (besides the limits of `sessions.py`); the row keeps the token's
SHA-256, whose session it is, the person's session epoch when it started, when it was last seen and
from where. The check on every request (`SIGNED_IN`) reads the staff row and the session row in one
statement, which also moves `last_seen_at` on, at most once a minute. Ending every session of a
person ("Log out everywhere", a password change, a deactivation) bumps their epoch: rows of an older
epoch no longer match, and are deleted here as they are met.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BindParameter, Interval, String, bindparam, delete, func, insert, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from admin_site.settings import Settings
from models.security import StaffSession
from models.staff import Role, StaffUser

TOUCH_EVERY = timedelta(seconds=60)  # last_seen_at is rewritten at most this often (as the cookie's)
MAX_USER_AGENT = 300

_sessions = StaffSession.__table__.c
_staff = StaffUser.__table__.c


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SignedIn:
    """Who is making this request (`request.state.staff_user`), read afresh on each request.

    A plain record rather than a `StaffUser`: the check reads these columns with one statement on a
    bare connection (no ORM session), and pages never see the password hash.
    """

    id: int
    email: str
    full_name: str
    role: Role
    session_id: int  # the staff_sessions row this request's cookie names


_MAX_AGE = bindparam("max_age", type_=Interval())
_IDLE = bindparam("idle", type_=Interval())
# Not named `token_hash`: an UPDATE (the CTE below) would also SET every column its parameters are named after.
_COOKIE: BindParameter[str] = bindparam("cookie_token_hash", type_=String(64))
# Named and passed at each execution: a literal inside the CTE's UPDATE is not carried by SQLAlchemy's
# statement cache (its value goes missing on execution).
_TOUCH_EVERY = bindparam("touch_every", type_=Interval())


def _live() -> tuple[ColumnElement[bool], ...]:
    """The conditions under which a session row is still a session (its person's epoch, its limits)."""
    return (
        _sessions.epoch == _staff.session_epoch,
        _sessions.created_at > func.now() - _MAX_AGE,
        _sessions.last_seen_at > func.now() - _IDLE,
    )


# The one statement of the per-request check: the staff row joined to the session row the cookie names,
# with a data-modifying CTE that moves last_seen_at on when it is a minute old (PostgreSQL runs it even
# though the SELECT does not refer to it). Run it in a transaction that commits.
_touched = (
    update(StaffSession.__table__)
    .where(_sessions.token_hash == _COOKIE, _sessions.last_seen_at < func.now() - _TOUCH_EVERY)
    .values(last_seen_at=func.now())
    .cte("touched")
)
SIGNED_IN = (
    select(_staff.id, _staff.email, _staff.full_name, _staff.role, _sessions.id)
    .select_from(StaffSession.__table__.join(StaffUser.__table__, _sessions.staff_user_id == _staff.id))
    .where(
        _sessions.token_hash == _COOKIE,
        _sessions.staff_user_id == bindparam("staff_id"),
        _staff.is_active.is_(True),
        *_live(),
    )
    .add_cte(_touched)
)


def limits(settings: Settings) -> dict[str, timedelta]:
    """The bound parameters of `_live`: the settings' absolute and idle limits."""
    return {
        "max_age": timedelta(seconds=settings.session_max_age),
        "idle": timedelta(seconds=settings.session_idle_timeout),
    }


def check_parameters(token: str, staff_id: int, settings: Settings) -> dict[str, Any]:
    return {
        "cookie_token_hash": token_hash(token),
        "staff_id": staff_id,
        "touch_every": TOUCH_EVERY,
        **limits(settings),
    }


def start(session: Session, settings: Settings, staff_id: int, ip: str | None, user_agent: str | None) -> str:
    """A new session row for `staff_id` (at their current epoch); returns the token its cookie carries.

    Rows that can no longer be used (any person's, past their limits; this person's, of an older epoch)
    are deleted on the way, so the table holds about one row per open browser. Commit is the caller's.
    """
    bounds = limits(settings)
    expired = or_(
        _sessions.created_at <= func.now() - bounds["max_age"], _sessions.last_seen_at <= func.now() - bounds["idle"]
    )
    session.execute(delete(StaffSession).where(expired))
    epoch = select(_staff.session_epoch).where(_staff.id == staff_id).scalar_subquery()
    session.execute(delete(StaffSession).where(StaffSession.staff_user_id == staff_id, StaffSession.epoch != epoch))
    token = new_token()
    session.execute(
        insert(StaffSession).values(
            token_hash=token_hash(token),
            staff_user_id=staff_id,
            epoch=epoch,
            ip=ip,
            user_agent=(user_agent or "")[:MAX_USER_AGENT] or None,
        )
    )
    return token


def end(session: Session, token: str) -> None:
    """Log out: the row this token names goes (and with it every copy of the cookie)."""
    session.execute(delete(StaffSession).where(StaffSession.token_hash == token_hash(token)))


def end_one(session: Session, staff_id: int, session_id: int) -> bool:
    """An admin ends one session of a staff member; False when there is no such session (any more)."""
    result = session.execute(
        delete(StaffSession).where(StaffSession.id == session_id, StaffSession.staff_user_id == staff_id)
    )
    assert isinstance(result, CursorResult)  # a DELETE's result counts its rows
    return result.rowcount > 0


def end_all(session: Session, staff_id: int) -> None:
    """Every session of the person ends: their epoch moves on (as a password change does), their rows go.

    A plain UPDATE: no new row version, so an admin editing this person meets no conflict."""
    session.execute(
        update(StaffUser.__table__).where(_staff.id == staff_id).values(session_epoch=_staff.session_epoch + 1)
    )
    session.execute(delete(StaffSession).where(StaffSession.staff_user_id == staff_id))


@dataclass(frozen=True)
class OpenSession:
    """One open session as the staff member's sessions page shows it."""

    id: int
    created_at: datetime
    last_seen_at: datetime
    ip: str | None
    user_agent: str | None


def open_sessions(session: Session, settings: Settings, staff_id: int) -> list[OpenSession]:
    """The person's sessions that would still let a request in, most recently used first."""
    stmt = (
        select(_sessions.id, _sessions.created_at, _sessions.last_seen_at, _sessions.ip, _sessions.user_agent)
        .select_from(StaffSession.__table__.join(StaffUser.__table__, _sessions.staff_user_id == _staff.id))
        .where(_sessions.staff_user_id == staff_id, *_live())
        .order_by(_sessions.last_seen_at.desc(), _sessions.id.desc())
    )
    return [OpenSession(*row) for row in session.execute(stmt, limits(settings))]
