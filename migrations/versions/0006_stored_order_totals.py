"""orders: subtotal and item_count stored, kept by the database; indexes on the total

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06

`orders.subtotal` (sum of quantity × unit_price of the order's lines) and `orders.item_count` (sum of
their quantities) are stored, and kept exact by the database in the same transaction as any change to
`order_items`, whoever makes it: three statement-level triggers (insert, update, delete) read the
statement's transition tables, add up one delta per order and apply it as `subtotal = subtotal + delta`.
Under READ COMMITTED two transactions adding lines to one order cannot lose an update: the second one's
UPDATE waits for the first's row lock, then re-reads the row as committed and adds its delta to it.
Rows are locked in order id order, so two statements touching the same orders do not deadlock each other.
A TRUNCATE of order_items (no row triggers see it) sets every order back to zero.

On a table in use, without locking it for longer than a moment:

1. The columns are added with a constant default: metadata only since PostgreSQL 11, no table rewrite
   (a moment's ACCESS EXCLUSIVE lock on orders). Then the triggers, before any value is computed, so
   that a line changed from now on is counted by its trigger.
2. The migration's transaction is committed there (`autocommit_block`), and the values are backfilled in
   batches of BATCH orders by id, each batch one short transaction: lock the batch's orders (writers of
   those orders wait a moment, readers never), then, in a statement whose snapshot is taken after the
   locks, recompute their values from the lines. A transaction that changed a line before the lock has
   committed by then (its trigger had updated the order row, so the lock waited for it) and is counted;
   one that changes a line afterwards applies its delta after the batch commits, on top of it.
   A million orders take about a minute (see README, "Stored totals").
3. CHECK (not negative) constraints are added NOT VALID (a moment's lock), then validated (a scan that
   lets reads and writes go on).
4. The indexes are built CONCURRENTLY (reads and writes go on), then orders is vacuumed and analysed:
   the planner needs statistics on the new index expression to choose it.

If the upgrade stops midway, run it again: each step checks whether it was done.
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 5_000  # orders per backfill transaction: each holds its rows' locks for a fraction of a second

# Order.total as models/sales.py computes it; the indexes must be built on exactly this expression.
TOTAL = "round(subtotal * (100 - discount_pct) / 100 + shipping_fee, 2)"
INCLUDE = "INCLUDE (subtotal, discount_pct, shipping_fee)"  # so that counting a total range reads no table row
INDEXES = {
    "ix_orders_total_id": f"({TOTAL}, id) {INCLUDE}",
    "ix_orders_status_total_id": f"(status, {TOTAL}, id) {INCLUDE}",
}
CHECKS = {"ck_orders_subtotal_not_negative": "subtotal >= 0", "ck_orders_item_count_not_negative": "item_count >= 0"}

# After `WITH changed (order_id, subtotal, item_count) AS (…)`: one delta per order, applied in order id order.
APPLY_DELTAS = """
    , delta AS (
        SELECT order_id, sum(subtotal) AS subtotal, sum(item_count) AS item_count
        FROM changed GROUP BY order_id HAVING sum(subtotal) <> 0 OR sum(item_count) <> 0
    ), locked AS MATERIALIZED (
        SELECT o.id FROM orders o JOIN delta ON delta.order_id = o.id ORDER BY o.id FOR NO KEY UPDATE OF o
    )
    UPDATE orders o
    SET subtotal = o.subtotal + delta.subtotal, item_count = o.item_count + delta.item_count
    FROM delta JOIN locked ON locked.id = delta.order_id
    WHERE o.id = delta.order_id
"""
LINES = {  # what each trigger counts: lines added (+) and lines removed (-)
    "insert": "SELECT order_id, quantity * unit_price, quantity FROM new_lines",
    "delete": "SELECT order_id, -(quantity * unit_price), -quantity FROM old_lines",
    "update": (
        "SELECT order_id, quantity * unit_price, quantity FROM new_lines UNION ALL "
        "SELECT order_id, -(quantity * unit_price), -quantity FROM old_lines"
    ),
}
TRANSITION_TABLES = {
    "insert": "NEW TABLE AS new_lines",
    "delete": "OLD TABLE AS old_lines",
    "update": "OLD TABLE AS old_lines NEW TABLE AS new_lines",
}


def _trigger_function(event: str) -> str:
    return f"""
CREATE OR REPLACE FUNCTION order_totals_after_{event}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    WITH changed (order_id, subtotal, item_count) AS ({LINES[event]})
    {APPLY_DELTAS};
    RETURN NULL;
END;
$$
"""


TRUNCATE_FUNCTION = """
CREATE OR REPLACE FUNCTION order_totals_after_truncate() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE orders SET subtotal = 0, item_count = 0 WHERE subtotal <> 0 OR item_count <> 0;
    RETURN NULL;
END;
$$
"""

# One DO block: a loop of short transactions (COMMIT inside DO needs PostgreSQL 11 and autocommit).
BACKFILL = f"""
DO $$
DECLARE
    low bigint := (SELECT coalesce(min(id), 0) FROM orders);
    last bigint := (SELECT coalesce(max(id), 0) FROM orders);
BEGIN
    WHILE low <= last LOOP
        PERFORM 1 FROM orders WHERE id >= low AND id < low + {BATCH} ORDER BY id FOR NO KEY UPDATE;
        UPDATE orders o SET subtotal = computed.subtotal, item_count = computed.item_count
        FROM (
            SELECT b.id, coalesce(sum(i.quantity * i.unit_price), 0) AS subtotal,
                   coalesce(sum(i.quantity), 0) AS item_count
            FROM orders b LEFT JOIN order_items i ON i.order_id = b.id
            WHERE b.id >= low AND b.id < low + {BATCH}
            GROUP BY b.id
        ) computed
        WHERE o.id = computed.id AND o.id >= low AND o.id < low + {BATCH}
          AND (o.subtotal, o.item_count) IS DISTINCT FROM (computed.subtotal, computed.item_count);
        COMMIT;
        low := low + {BATCH};
    END LOOP;
END;
$$
"""


def upgrade() -> None:
    op.execute(
        "ALTER TABLE orders ADD COLUMN IF NOT EXISTS subtotal numeric(14, 2) DEFAULT 0 NOT NULL, "
        "ADD COLUMN IF NOT EXISTS item_count integer DEFAULT 0 NOT NULL"
    )
    for event in ("insert", "update", "delete"):
        op.execute(_trigger_function(event))
        op.execute(f"DROP TRIGGER IF EXISTS order_totals_after_{event} ON order_items")
        op.execute(
            f"CREATE TRIGGER order_totals_after_{event} AFTER {event.upper()} ON order_items "
            f"REFERENCING {TRANSITION_TABLES[event]} FOR EACH STATEMENT EXECUTE FUNCTION order_totals_after_{event}()"
        )
    op.execute(TRUNCATE_FUNCTION)
    op.execute("DROP TRIGGER IF EXISTS order_totals_after_truncate ON order_items")
    op.execute(
        "CREATE TRIGGER order_totals_after_truncate AFTER TRUNCATE ON order_items "
        "FOR EACH STATEMENT EXECUTE FUNCTION order_totals_after_truncate()"
    )
    with op.get_context().autocommit_block():  # commits the above: from here on, short transactions only
        op.execute(BACKFILL)
        for name, condition in CHECKS.items():
            op.execute(f"ALTER TABLE orders DROP CONSTRAINT IF EXISTS {name}")
            op.execute(f"ALTER TABLE orders ADD CONSTRAINT {name} CHECK ({condition}) NOT VALID")
            op.execute(f"ALTER TABLE orders VALIDATE CONSTRAINT {name}")
        for name, columns in INDEXES.items():
            op.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")  # left invalid by an upgrade that stopped
            op.execute(f"CREATE INDEX CONCURRENTLY {name} ON orders {columns}")
        op.execute("VACUUM (ANALYZE) orders")


def downgrade() -> None:
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    for event in ("insert", "update", "delete", "truncate"):
        op.execute(f"DROP TRIGGER IF EXISTS order_totals_after_{event} ON order_items")
        op.execute(f"DROP FUNCTION IF EXISTS order_totals_after_{event}()")
    op.execute("ALTER TABLE orders DROP COLUMN IF EXISTS subtotal, DROP COLUMN IF EXISTS item_count")
