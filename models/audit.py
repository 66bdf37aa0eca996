"""Audit: the append-only record of what staff did."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import DateTime, ForeignKey, Index, String, func
from sqlalchemy.dialects.postgresql import INET, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base
from models.staff import StaffUser


class AuditLog(Base):
    __tablename__ = "audit_log"
    # A record's history page reads its rows newest first. UPDATE and DELETE are refused by a
    # trigger (migration 0003): the table is append-only whoever connects.
    __table_args__ = (Index("ix_audit_log_entity_entity_pk", "entity", "entity_pk", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now(), index=True)
    staff_user_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"), index=True)
    action: Mapped[str] = mapped_column(String(50))
    entity: Mapped[str | None] = mapped_column(String(100))
    entity_pk: Mapped[str | None] = mapped_column(String(100))
    changes: Mapped[dict[str, Any] | None] = mapped_column(JSONB)
    ip: Mapped[str | None] = mapped_column(INET)

    staff_user: Mapped[StaffUser | None] = relationship()

    def __str__(self) -> str:
        return f"{self.action} {self.entity or ''} {self.entity_pk or ''}".strip()
