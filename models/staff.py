"""Staff: the people who log in to the admin."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, DateTime, Integer, String, true
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAtMixin, VersionedMixin, string_enum


class Role(str, enum.Enum):
    """A staff member's role, from least to most privileged."""

    viewer = "viewer"
    support = "support"
    manager = "manager"
    admin = "admin"

    __str__ = str.__str__


class StaffUser(CreatedAtMixin, VersionedMixin, Base):
    __tablename__ = "staff_users"
    __admin_label__ = "email"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(
        string_enum(Role, "staff_role"),
        server_default=Role.viewer.value,
        default=Role.viewer,
    )
    is_active: Mapped[bool] = mapped_column(Boolean, server_default=true(), default=True)
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Also stored in each of their session rows (staff_sessions): bumping it ends every session of this person
    # (a password change or a deactivation does, see models/security.py; so does "log out everywhere").
    session_epoch: Mapped[int] = mapped_column(Integer, server_default="0", default=0, info={"internal": True})
