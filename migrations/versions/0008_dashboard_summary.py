"""dashboard: daily sales summary kept by triggers

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06

The dashboard answers "orders, revenue, refunds, top products, revenue by country in this period" from
summary tables instead of a million orders (models/dashboard.py):

- `dashboard_sales_days (day, status, country)`: orders placed that day in that status by customers of that
  country, how many and the sum of their totals. A period's figures, its chart per day, week or month, its
  statuses and its countries are one scan of at most ~90 rows a day; `dashboard_sales_months` holds the same by
  month, for a year's whole months (and "to ship now", all paid orders ever, from ~400 rows).
- `dashboard_product_days (day, product_id)` and `dashboard_product_months (month, product_id)`: units and
  line totals of each product's lines on orders paid, shipped or delivered. A period's top products read
  whole months from the second and only the days at its edges from the first.

A day is a calendar day in one time zone, recorded in `dashboard_zone` (ADMIN_TIME_ZONE when this revision
ran): a period of whole days in the admin's zone is then a range of rows, exact at both ends, with DST and
half-hour offsets. UTC hours would have been zone-independent, but not exact for +05:30 or +05:45 and 24×
more rows. Changing ADMIN_TIME_ZONE later needs `admin-site rebuild-dashboard` (SQL `dashboard_rebuild(zone)`),
which the dashboard says until it is done.

Kept exact in the same transaction as the rows they sum, by statement-level triggers reading transition
tables (one aggregated upsert per statement, keys in order so two writers cannot deadlock on them):

- orders insert / update / delete: the order's day, status, country and total move between rows (a change of
  lines changes its subtotal, whose update by revision 0006's trigger lands here too); a change of its status
  (into or out of paid/shipped/delivered) or of its day moves its lines between product rows;
- a row-level BEFORE DELETE on orders takes a deleted order's lines off the product rows while they still
  exist (the lines' own delete trigger, cascaded, no longer finds their order);
- order_items insert / update / delete: product rows of lines on revenue orders;
- customers update of country: their orders move between countries;
- TRUNCATE empties the summary.

The price: a write of an order also updates one summary row per (day, status, country) it touches, so two
transactions placing orders for the same country on the same day take turns on that row until they commit.

The backfill runs under SHARE locks on orders, order_items and customers (readers go on, writers wait until
it commits): counted and summed once, with no trigger delta in between. ~20 s at a million orders here.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from admin_site.settings import Settings

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

REVENUE = "('paid', 'shipped', 'delivered')"  # models.dashboard.REVENUE_STATUSES
TOTAL = "round({o}.subtotal * (100 - {o}.discount_pct) / 100 + {o}.shipping_fee, 2)"  # Order.total
SALES = "sales (day, status, country, orders, revenue)"  # the CTE APPLY_SALES reads
LINES = "lines (day, product_id, quantity, revenue)"  # the CTE APPLY_LINES reads
ZONE = "z text := coalesce((SELECT zone FROM dashboard_zone LIMIT 1), 'UTC');"  # no row (emptied): UTC

# After `WITH sales (day, status, country, orders, revenue) AS (…)`: summed per key, applied in key order.
APPLY_SALES = """
, sales_delta AS (
    SELECT day, status, country, sum(orders) AS orders, sum(revenue) AS revenue FROM sales
    GROUP BY day, status, country HAVING sum(orders) <> 0 OR sum(revenue) <> 0
), days AS (
    INSERT INTO dashboard_sales_days AS s (day, status, country, orders, revenue)
    SELECT day, status, country, orders, revenue FROM sales_delta ORDER BY day, status, country
    ON CONFLICT (day, status, country) DO UPDATE
    SET orders = s.orders + excluded.orders, revenue = s.revenue + excluded.revenue
    RETURNING 1
)
INSERT INTO dashboard_sales_months AS m (month, status, country, orders, revenue)
SELECT date_trunc('month', day)::date, status, country, sum(orders), sum(revenue) FROM sales_delta
GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
ON CONFLICT (month, status, country) DO UPDATE SET orders = m.orders + excluded.orders, revenue = m.revenue + excluded.revenue
"""
# After `WITH lines (day, product_id, quantity, revenue) AS (…)`: the day rows, then the month rows.
APPLY_LINES = """
, delta AS (
    SELECT day, product_id, sum(quantity) AS quantity, sum(revenue) AS revenue FROM lines
    GROUP BY day, product_id HAVING sum(quantity) <> 0 OR sum(revenue) <> 0
), days AS (
    INSERT INTO dashboard_product_days AS p (day, product_id, quantity, revenue)
    SELECT day, product_id, quantity, revenue FROM delta ORDER BY day, product_id
    ON CONFLICT (day, product_id) DO UPDATE
    SET quantity = p.quantity + excluded.quantity, revenue = p.revenue + excluded.revenue
    RETURNING 1
)
INSERT INTO dashboard_product_months AS m (month, product_id, quantity, revenue)
SELECT date_trunc('month', day)::date, product_id, sum(quantity), sum(revenue) FROM delta
GROUP BY 1, 2 ORDER BY 1, 2
ON CONFLICT (month, product_id) DO UPDATE SET quantity = m.quantity + excluded.quantity, revenue = m.revenue + excluded.revenue
"""


def _orders_sales(table: str, sign: str) -> str:
    """One row per order of a transition table: its day, status, country (the customer's now), ±1, ±total."""
    return (
        f"SELECT (o.placed_at AT TIME ZONE z)::date, o.status, c.country, {sign}1, {sign}{TOTAL.format(o='o')} "
        f"FROM {table} o JOIN customers c ON c.id = o.customer_id"
    )


def _lines_of(table: str, sign: str) -> str:
    """Lines of a transition table that sit on a revenue order (as the order is now), signed."""
    return (
        f"SELECT (o.placed_at AT TIME ZONE z)::date, l.product_id, {sign}l.quantity, {sign}(l.quantity * l.unit_price) "
        f"FROM {table} l JOIN orders o ON o.id = l.order_id WHERE o.status IN {REVENUE}"
    )


ORDERS_UPDATE_LINES = f"""
WITH moved AS (
    SELECT o.id,
           CASE WHEN o.status IN {REVENUE} THEN (o.placed_at AT TIME ZONE z)::date END AS old_day,
           CASE WHEN n.status IN {REVENUE} THEN (n.placed_at AT TIME ZONE z)::date END AS new_day
    FROM old_orders o JOIN new_orders n ON n.id = o.id
), changed AS (SELECT * FROM moved WHERE old_day IS DISTINCT FROM new_day),
{LINES} AS (
    SELECT m.old_day, i.product_id, -i.quantity, -(i.quantity * i.unit_price)
    FROM changed m JOIN order_items i ON i.order_id = m.id WHERE m.old_day IS NOT NULL
    UNION ALL
    SELECT m.new_day, i.product_id, i.quantity, i.quantity * i.unit_price
    FROM changed m JOIN order_items i ON i.order_id = m.id WHERE m.new_day IS NOT NULL
)
{APPLY_LINES}
"""

CUSTOMERS_UPDATE = f"""
WITH moved AS (
    SELECT n.id, o.country AS old_country, n.country AS new_country
    FROM old_customers o JOIN new_customers n ON n.id = o.id WHERE o.country IS DISTINCT FROM n.country
), {SALES} AS (
    SELECT (r.placed_at AT TIME ZONE z)::date, r.status, m.old_country, -1, -{TOTAL.format(o="r")}
    FROM moved m JOIN orders r ON r.customer_id = m.id
    UNION ALL
    SELECT (r.placed_at AT TIME ZONE z)::date, r.status, m.new_country, 1, {TOTAL.format(o="r")}
    FROM moved m JOIN orders r ON r.customer_id = m.id
)
{APPLY_SALES}
"""

BODIES = {  # trigger function → (table, event, transition tables, body)
    "dashboard_orders_after_insert": (
        "orders",
        "INSERT",
        "NEW TABLE AS new_orders",
        f"WITH {SALES} AS ({_orders_sales('new_orders', '')}) {APPLY_SALES};",
    ),
    "dashboard_orders_after_update": (
        "orders",
        "UPDATE",
        "OLD TABLE AS old_orders NEW TABLE AS new_orders",
        f"WITH {SALES} AS ({_orders_sales('new_orders', '')} UNION ALL {_orders_sales('old_orders', '-')}) "
        f"{APPLY_SALES}; {ORDERS_UPDATE_LINES};",
    ),
    "dashboard_orders_after_delete": (
        "orders",
        "DELETE",
        "OLD TABLE AS old_orders",
        f"WITH {SALES} AS ({_orders_sales('old_orders', '-')}) {APPLY_SALES};",
    ),
    "dashboard_lines_after_insert": (
        "order_items",
        "INSERT",
        "NEW TABLE AS new_lines",
        f"WITH {LINES} AS ({_lines_of('new_lines', '')}) {APPLY_LINES};",
    ),
    "dashboard_lines_after_update": (
        "order_items",
        "UPDATE",
        "OLD TABLE AS old_lines NEW TABLE AS new_lines",
        f"WITH {LINES} AS ({_lines_of('new_lines', '')} UNION ALL {_lines_of('old_lines', '-')}) {APPLY_LINES};",
    ),
    "dashboard_lines_after_delete": (
        "order_items",
        "DELETE",
        "OLD TABLE AS old_lines",
        f"WITH {LINES} AS ({_lines_of('old_lines', '-')}) {APPLY_LINES};",
    ),
    "dashboard_customers_after_update": (
        "customers",
        "UPDATE",
        "OLD TABLE AS old_customers NEW TABLE AS new_customers",
        f"{CUSTOMERS_UPDATE};",
    ),
}

# A deleted order's lines, taken off while they exist (ON DELETE CASCADE removes them after this).
BEFORE_DELETE = f"""
CREATE OR REPLACE FUNCTION dashboard_order_before_delete() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE {ZONE}
BEGIN
    IF OLD.status IN {REVENUE} THEN
        WITH {LINES} AS (
            SELECT (OLD.placed_at AT TIME ZONE z)::date, i.product_id, -i.quantity, -(i.quantity * i.unit_price)
            FROM order_items i WHERE i.order_id = OLD.id
        )
        {APPLY_LINES};
    END IF;
    RETURN OLD;
END;
$$
"""

TRUNCATES = {  # table → what its TRUNCATE empties
    "orders": "DELETE FROM dashboard_sales_days; DELETE FROM dashboard_sales_months;",
    "order_items": "DELETE FROM dashboard_product_days; DELETE FROM dashboard_product_months;",
}

# Everything recounted for a zone, under locks that let readers go on and make writers wait: no trigger
# delta can fall between the count and the commit. Used by this revision and `admin-site rebuild-dashboard`.
REBUILD = f"""
CREATE OR REPLACE FUNCTION dashboard_rebuild(new_zone text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE z text := new_zone;
BEGIN
    PERFORM now() AT TIME ZONE z;  -- an unknown zone stops here, before anything is emptied
    LOCK TABLE customers, orders, order_items IN SHARE MODE;
    DELETE FROM dashboard_zone;
    INSERT INTO dashboard_zone (zone) VALUES (z);
    TRUNCATE dashboard_sales_days, dashboard_sales_months, dashboard_product_days, dashboard_product_months;
    INSERT INTO dashboard_sales_days (day, status, country, orders, revenue)
    SELECT (o.placed_at AT TIME ZONE z)::date, o.status, c.country, count(*), sum({TOTAL.format(o="o")})
    FROM orders o JOIN customers c ON c.id = o.customer_id
    GROUP BY 1, 2, 3;
    INSERT INTO dashboard_sales_months (month, status, country, orders, revenue)
    SELECT date_trunc('month', day)::date, status, country, sum(orders), sum(revenue)
    FROM dashboard_sales_days GROUP BY 1, 2, 3;
    INSERT INTO dashboard_product_days (day, product_id, quantity, revenue)
    SELECT (o.placed_at AT TIME ZONE z)::date, i.product_id, sum(i.quantity), sum(i.quantity * i.unit_price)
    FROM order_items i JOIN orders o ON o.id = i.order_id
    WHERE o.status IN {REVENUE}
    GROUP BY 1, 2;
    INSERT INTO dashboard_product_months (month, product_id, quantity, revenue)
    SELECT date_trunc('month', day)::date, product_id, sum(quantity), sum(revenue)
    FROM dashboard_product_days GROUP BY 1, 2;
    ANALYZE dashboard_sales_days, dashboard_sales_months, dashboard_product_days, dashboard_product_months;
END;
$$
"""


def _function(name: str, body: str) -> str:
    return (
        f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"DECLARE {ZONE}\nBEGIN\n{body}\nRETURN NULL;\nEND;\n$$"
    )


def _summary_tables() -> None:
    key = {"nullable": False}
    for table, period in (("dashboard_sales_days", "day"), ("dashboard_sales_months", "month")):
        op.create_table(
            table,
            sa.Column(period, sa.Date(), **key),
            sa.Column("status", sa.String(length=20), **key),
            sa.Column("country", sa.CHAR(length=2), **key),
            sa.Column("orders", sa.Integer(), **key),
            sa.Column("revenue", sa.Numeric(16, 2), **key),
            sa.PrimaryKeyConstraint(period, "status", "country", name=f"pk_{table}"),
        )
    for table, period in (("dashboard_product_days", "day"), ("dashboard_product_months", "month")):
        op.create_table(
            table,
            sa.Column(period, sa.Date(), **key),
            sa.Column("product_id", sa.Integer(), **key),
            sa.Column("quantity", sa.BigInteger(), **key),
            sa.Column("revenue", sa.Numeric(16, 2), **key),
            sa.PrimaryKeyConstraint(period, "product_id", name=f"pk_{table}"),
        )
    op.create_table(
        "dashboard_zone",
        sa.Column("zone", sa.Text(), **key),
        sa.PrimaryKeyConstraint("zone", name="pk_dashboard_zone"),
    )


def upgrade() -> None:
    _summary_tables()
    op.execute(REBUILD)
    op.execute(sa.text("SELECT dashboard_rebuild(:zone)").bindparams(zone=Settings.from_env().time_zone))
    for name, (table, event, transitions, body) in BODIES.items():
        op.execute(_function(name, body))
        op.execute(
            f"CREATE TRIGGER {name} AFTER {event} ON {table} REFERENCING {transitions} "
            f"FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
    op.execute(BEFORE_DELETE)
    op.execute(
        "CREATE TRIGGER dashboard_order_before_delete BEFORE DELETE ON orders "
        "FOR EACH ROW EXECUTE FUNCTION dashboard_order_before_delete()"
    )
    for table, empties in TRUNCATES.items():
        name = f"dashboard_{table}_after_truncate"
        op.execute(_function(name, empties))
        op.execute(f"CREATE TRIGGER {name} AFTER TRUNCATE ON {table} FOR EACH STATEMENT EXECUTE FUNCTION {name}()")


def downgrade() -> None:
    triggers = {name: table for name, (table, *_) in BODIES.items()}
    triggers |= {"dashboard_order_before_delete": "orders"}
    triggers |= {f"dashboard_{table}_after_truncate": table for table in TRUNCATES}
    for name, table in triggers.items():
        op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
        op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.execute("DROP FUNCTION IF EXISTS dashboard_rebuild(text)")
    for table in (
        "dashboard_zone",
        "dashboard_product_months",
        "dashboard_product_days",
        "dashboard_sales_months",
        "dashboard_sales_days",
    ):
        op.drop_table(table)
