"""Security: the record of log-in attempts, and the rule that ends a staff member's sessions.

Log-in throttling counts rows of `login_attempts` in PostgreSQL, so the limit holds however many
app processes serve the admin (see admin_site/login_throttle.py).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Connection, DateTime, Index, String, event, false, func, inspect
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from models.base import Base
from models.staff import StaffUser


class LoginAttempt(Base):
    """One try at the login form: who it claimed to be, from where, and how it ended."""

    __tablename__ = "login_attempts"
    __table_args__ = (
        Index("ix_login_attempts_email_at", "email", "at"),
        Index("ix_login_attempts_ip_at", "ip", "at"),
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


@event.listens_for(StaffUser, "before_update")
def _end_sessions_on_password_change_or_deactivation(
    mapper: Mapper[StaffUser], connection: Connection, target: StaffUser
) -> None:
    """A new password or a deactivation ends every open session of that person on its next request.

    The bump is done in SQL (`session_epoch + 1`) so two changes at once both count. A rehash of the
    same password at login is written with a plain UPDATE (admin_site/auth.py) and ends nothing.
    """
    state = inspect(target)
    password_changed = state.attrs.password_hash.history.has_changes()
    deactivated = state.attrs.is_active.history.has_changes() and target.is_active is False
    if password_changed or deactivated:
        target.session_epoch = StaffUser.session_epoch + 1
