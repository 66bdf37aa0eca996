"""Security: the record of log-in attempts, the signed-in sessions, and the rule that ends them.

Log-in throttling counts rows of `login_attempts` in PostgreSQL, so the limit holds however many
app processes serve the admin (see admin_site/auth/throttle.py). Each signed-in browser is a row of
`staff_sessions` that its cookie names, so a log-out ends it on the server for every process
(admin_site/auth/server_sessions.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Connection, DateTime, ForeignKey, Index, Integer, String, event, false, func, inspect
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from models.base import Base
from models.staff import StaffUser


class LoginAttempt(Base):
    """One try at the login form: who it claimed to be, from where, and how it ended."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_at", "email", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
        # "Has this person logged in from this address before?" (throttle.py): a few rows per person.
        Index("ix_login_attempts_known_addresses", "email", "ip", postgresql_where="succeeded"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    email: Mapped[str] = mapped_column(String(254))  # as typed, trimmed and lower-cased; may name nobody
    ip: Mapped[str | None] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean, server_default=false(), default=False)
    # Refused unheard because of too many failures: not counted as a failure itself.
    throttled: Mapped[bool] = mapped_column(Boolean, server_default=false(), default=False)

    def __str__(self) -> str:
        outcome = "succeeded" if self.succeeded else "throttled" if self.throttled else "failed"
        return f"{self.email} {outcome}"


class StaffSession(Base):
    """One signed-in browser. Its cookie carries a random token; only the token's SHA-256 is kept here,
    so a copy of this table opens no session. Deleting the row ends that session (log out, or an admin
    ending it); rows of an older `epoch` than their staff member's are ended all at once."""

    __tablename__ = "staff_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    epoch: Mapped[int] = mapped_column(Integer)  # the staff member's session_epoch when it started
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    def __str__(self) -> str:
        return f"session #{self.id} of staff {self.staff_user_id}"


@event.listens_for(StaffUser, "before_update")
def _end_sessions_on_password_change_or_deactivation(
    mapper: Mapper[StaffUser], connection: Connection, target: StaffUser
) -> None:
    """A new password or a deactivation ends every open session of that person on its next request.

    The bump is done in SQL (`session_epoch + 1`) so two changes at once both count. A rehash of the
    same password at login is written with a plain UPDATE (admin_site/auth/backend.py) and ends nothing.
    """
    state = inspect(target)
    password_changed = state.attrs.password_hash.history.has_changes()
    deactivated = state.attrs.is_active.history.has_changes() and target.is_active is False
    if password_changed or deactivated:
        target.session_epoch = StaffUser.session_epoch + 1
