"""trigram indexes, saved views

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Substring search (ILIKE '%term%') on these is served by trigram GIN indexes. Each expression is
# written exactly as the query writes it, or the planner will not use the index.
TRIGRAM_INDEXES = (
    ("ix_orders_number_trgm", "orders", "number"),
    ("ix_customers_email_trgm", "customers", "email"),
    ("ix_customers_full_name_trgm", "customers", "(first_name || ' ' || last_name)"),
    ("ix_products_sku_trgm", "products", "sku"),
    ("ix_products_name_trgm", "products", "name"),
)


def upgrade() -> None:
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, table, expression in TRIGRAM_INDEXES:
        op.create_index(
            name, table, [sa.text(expression)], postgresql_using="gin", postgresql_ops={expression: "gin_trgm_ops"}
        )
    # The lists' default orders, with the primary key as tie-break: the first page reads 50 index
    # entries, a deep page skips its offset with an index-only scan.
    op.drop_index("ix_orders_placed_at", table_name="orders")
    op.create_index("ix_orders_placed_at_id", "orders", ["placed_at", "id"])
    op.create_index("ix_customers_created_at_id", "customers", ["created_at", "id"])
    op.create_index("ix_products_created_at_id", "products", ["created_at", "id"])
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("staff_user_id", sa.Integer(), nullable=False),
        sa.Column("view_identity", sa.String(length=100), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["staff_user_id"],
            ["staff_users.id"],
            name=op.f("fk_saved_views_staff_user_id_staff_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
        sa.UniqueConstraint(
            "staff_user_id", "view_identity", "name", name=op.f("uq_saved_views_staff_user_id_view_identity_name")
        ),
    )


def downgrade() -> None:
    op.drop_table("saved_views")
    op.drop_index("ix_products_created_at_id", table_name="products")
    op.drop_index("ix_customers_created_at_id", table_name="customers")
    op.drop_index("ix_orders_placed_at_id", table_name="orders")
    op.create_index("ix_orders_placed_at", "orders", ["placed_at"])
    for name, table, _ in reversed(TRIGRAM_INDEXES):
        op.drop_index(name, table_name=table)
    # pg_trgm stays: other databases objects may use it, and it holds no data.
