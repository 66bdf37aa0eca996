"""versions, audit guard

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Optimistic locking: every table people edit gets a `version` counter (existing rows start at 1;
SQLAlchemy's version_id_col bumps it on each UPDATE). The audit log becomes append-only at the
database level: a trigger refuses UPDATE and DELETE of its rows, whoever connects. TRUNCATE is a
statement-level operation that row triggers do not see; it stays possible for the schema owner
(the test suite empties tables with it).
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

VERSIONED_TABLES = ("categories", "products", "customers", "orders", "order_items", "staff_users")

GUARD_FUNCTION = """
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$
"""
GUARD_TRIGGER = """
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()
"""


def upgrade() -> None:
    for table in VERSIONED_TABLES:
        op.add_column(table, sa.Column("version", sa.Integer(), server_default="1", nullable=False))
    op.create_index(op.f("ix_audit_log_entity_entity_pk"), "audit_log", ["entity", "entity_pk", "at"], unique=False)
    op.execute(GUARD_FUNCTION)
    op.execute(GUARD_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
    op.execute("DROP FUNCTION audit_log_append_only()")
    op.drop_index(op.f("ix_audit_log_entity_entity_pk"), table_name="audit_log")
    for table in reversed(VERSIONED_TABLES):
        op.drop_column(table, "version")
