"""Preferences: what a staff member keeps for themselves, such as saved list views."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAtMixin


class SavedView(CreatedAtMixin, Base):
    """A list's search, filters and sort (its query string), saved under a name by one staff member.

    Only the query string is kept: it is parsed and validated again, like any URL, when it is used.
    """

    __tablename__ = "saved_views"
    __admin_label__ = "name"
    __admin_view__ = False  # kept by each person from their lists, not a table staff browse
    __table_args__ = (UniqueConstraint("staff_user_id", "view_identity", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"))
    view_identity: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(100))
    query: Mapped[str] = mapped_column(Text)
