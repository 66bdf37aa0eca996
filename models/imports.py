"""Imports: a spreadsheet's rows kept between its preview and its confirmation (admin_site/imports/).

A preview is a batch (who, which view, which file, when it expires, what the preview counted) and its
staged rows (each row's values as the file gave them, what it matched and the version it read, or why it is
refused). The confirmation applies the staged rows by set-based SQL, so the file is read once; a batch
applied is marked so, which is what makes a second confirmation a no-op.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, ForeignKey, Integer, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, CreatedAtMixin


class ImportBatch(CreatedAtMixin, Base):
    """One uploaded file's preview, named in URLs by a random token (only its SHA-256 is kept)."""

    __tablename__ = "import_batches"
    __admin_view__ = False  # reached from a list's Import button, never browsed as a table

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    staff_user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    entity: Mapped[str] = mapped_column(String(100))  # the view's identity
    file_name: Mapped[str] = mapped_column(String(255))
    key_column: Mapped[str] = mapped_column(String(100))  # what rows are matched by: "sku", "id"
    columns: Mapped[list[str]] = mapped_column(JSONB)  # the fields the file sets, in its order
    counts: Mapped[dict[str, Any]] = mapped_column(JSONB)  # created, updated, unchanged, refused, rows
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    applied_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ImportRow(Base):
    """One staged row. `data` holds the file's values as text by column key (a relation's label is
    resolved to its key in SQL); `outcome` is create, update, unchanged or refused."""

    __tablename__ = "import_rows"
    __admin_view__ = False
    # Written and read in bulk by one preview, emptied when it is applied or expires: not worth the WAL.
    __table_args__ = ({"prefixes": ["UNLOGGED"]},)

    batch_id: Mapped[int] = mapped_column(ForeignKey("import_batches.id", ondelete="CASCADE"), primary_key=True)
    row_number: Mapped[int] = mapped_column(Integer, primary_key=True)  # as a spreadsheet numbers it (header: 1)
    key: Mapped[str | None] = mapped_column(String(300))  # the matching value as the file gave it
    target_pk: Mapped[int | None] = mapped_column(BigInteger)  # the record it matched
    seen_version: Mapped[int | None] = mapped_column(Integer)  # that record's version when previewed
    outcome: Mapped[str] = mapped_column(String(10))
    data: Mapped[dict[str, Any]] = mapped_column(JSONB)
    problems: Mapped[list[dict[str, str]] | None] = mapped_column(JSONB)  # [{"column": …, "reason": …}]
