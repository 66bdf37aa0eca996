"""The dashboard's summary tables (revision 0008) stay exact through plain SQL on orders, lines and customers:
after every statement they equal what the orders, lines and customers say, recomputed here independently."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from admin_site.ops.cli import app as cli
from admin_site.ops.seed import seed_shop
from tests import factories

D = Decimal
REVENUE = ("paid", "shipped", "delivered")


def expected(conn, zone: str) -> tuple[dict, dict, dict, dict]:
    """The three summaries as they should be, from the source rows (Python sums, not the triggers' SQL)."""
    sales: Counter = Counter()
    counts: Counter = Counter()
    rows = conn.execute(
        text(
            "SELECT (o.placed_at AT TIME ZONE :z)::date, o.status, c.country, o.subtotal, o.discount_pct, "
            "o.shipping_fee FROM orders o JOIN customers c ON c.id = o.customer_id"
        ),
        {"z": zone},
    )
    for day, status, country, subtotal, discount, fee in rows:
        total = (subtotal * (100 - discount) / 100 + fee).quantize(D("0.01"), rounding="ROUND_HALF_UP")
        sales[(day, status, country)] += total
        counts[(day, status, country)] += 1
    product_days: Counter = Counter()
    product_units: Counter = Counter()
    lines = conn.execute(
        text(
            "SELECT (o.placed_at AT TIME ZONE :z)::date, o.status, i.product_id, i.quantity, i.unit_price "
            "FROM order_items i JOIN orders o ON o.id = i.order_id"
        ),
        {"z": zone},
    )
    for day, status, product_id, quantity, price in lines:
        if status in REVENUE:
            product_days[(day, product_id)] += quantity * price
            product_units[(day, product_id)] += quantity
    months: Counter = Counter()
    for (day, product_id), amount in product_days.items():
        months[(day.replace(day=1), product_id, "revenue")] += amount
        months[(day.replace(day=1), product_id, "units")] += product_units[(day, product_id)]
    sales_months: Counter = Counter()
    for (day, status, country), n in counts.items():
        sales_months[(day.replace(day=1), status, country, "orders")] += n
        sales_months[(day.replace(day=1), status, country, "revenue")] += sales[(day, status, country)]
    return (
        {k: (counts[k], sales[k]) for k in counts},
        {
            k[:3]: (sales_months[(*k[:3], "orders")], sales_months[(*k[:3], "revenue")])
            for k in sales_months
            if k[3] == "orders"
        },
        {k: (product_units[k], product_days[k]) for k in product_units},
        {k[:2]: (months[(*k[:2], "units")], months[(*k[:2], "revenue")]) for k in months if k[2] == "revenue"},
    )


def stored(conn) -> tuple[dict, dict, dict, dict]:
    """The summaries as the triggers keep them, without the rows that came down to nothing."""
    sales = {
        (day, status, country): (n, amount)
        for day, status, country, n, amount in conn.execute(text("SELECT * FROM dashboard_sales_days"))
        if n or amount
    }
    sales_months = {
        (month, status, country): (n, amount)
        for month, status, country, n, amount in conn.execute(text("SELECT * FROM dashboard_sales_months"))
        if n or amount
    }
    days = {
        (day, p): (q, r)
        for day, p, q, r in conn.execute(text("SELECT day, product_id, quantity, revenue FROM dashboard_product_days"))
        if q or r
    }
    months = {
        (m, p): (q, r)
        for m, p, q, r in conn.execute(
            text("SELECT month, product_id, quantity, revenue FROM dashboard_product_months")
        )
        if q or r
    }
    return sales, sales_months, days, months


def assert_exact(db, zone: str = "UTC") -> None:
    with db.connect() as conn:
        assert stored(conn) == expected(conn, zone)


@pytest.fixture
def shop(db):
    """Two customers (GB, FR), three products, no order yet."""
    gb, fr = factories.customer(db, country="GB"), factories.customer(db, country="FR")
    products = [factories.product(db, price=D(p)) for p in ("10.00", "2.50", "0.35")]
    return gb, fr, products


def run(db, sql: str, **params) -> None:
    with db.begin() as conn:
        conn.execute(text(sql), params)


def test_summary_follows_orders_lines_and_customers_changed_in_plain_sql(db, shop):
    gb, fr, (book, pen, clip) = shop
    run(
        db,
        "INSERT INTO orders (id, number, customer_id, status, placed_at, discount_pct, shipping_fee) VALUES "
        "(1, 'SO-1', :gb, 'paid', '2026-03-01 23:30+00', 10, 4.95), "
        "(2, 'SO-2', :fr, 'pending', '2026-03-02 00:15+00', 0, 0), "
        "(3, 'SO-3', :gb, 'refunded', '2026-03-31 22:00+00', 0, 2.00)",
        gb=gb.id,
        fr=fr.id,
    )
    assert_exact(db)
    run(
        db,
        "INSERT INTO order_items (order_id, product_id, quantity, unit_price) VALUES "
        "(1, :book, 2, 10.00), (1, :pen, 3, 2.50), (2, :clip, 7, 0.35), (3, :book, 1, 10.00)",
        book=book.id,
        pen=pen.id,
        clip=clip.id,
    )
    assert_exact(db)
    steps = [
        "UPDATE order_items SET quantity = quantity + 1 WHERE order_id = 1",  # a line's quantity
        "UPDATE order_items SET unit_price = 9.00 WHERE order_id = 1 AND quantity = 3",  # its price
        "UPDATE order_items SET order_id = 2 WHERE order_id = 1 AND unit_price = 9.00",  # a line moved
        "UPDATE orders SET status = 'shipped', shipped_at = placed_at WHERE id = 2",  # into revenue
        "UPDATE orders SET status = 'refunded' WHERE id = 1",  # out of revenue
        "UPDATE orders SET status = 'paid' WHERE id = 1",  # back in
        "UPDATE orders SET placed_at = '2026-02-27 10:00+00' WHERE id = 1",  # another day and month
        "UPDATE orders SET discount_pct = 15, shipping_fee = 0 WHERE id = 1",  # its total
        "UPDATE orders SET customer_id = customer_id WHERE id = 3",  # nothing that counts: no change
        "UPDATE customers SET country = 'DE' WHERE country = 'GB'",  # the customer moved countries
        "DELETE FROM order_items WHERE order_id = 2 AND quantity = 7",  # a line gone
        "UPDATE orders SET customer_id = (SELECT min(id) FROM customers) WHERE id = 2",  # another customer
        "DELETE FROM orders WHERE id = 1",  # an order gone, its lines by cascade
    ]
    for sql in steps:
        run(db, sql)
        assert_exact(db), sql
    run(db, "TRUNCATE order_items")
    assert_exact(db)
    run(db, "TRUNCATE orders CASCADE")
    with db.connect() as conn:
        assert stored(conn) == ({}, {}, {}, {})


def test_summary_in_a_zone_east_of_utc_puts_late_evening_orders_on_the_next_day(db, shop):
    gb, _fr, (book, *_) = shop
    try:
        run(db, "SELECT dashboard_rebuild('Asia/Kolkata')")  # UTC+05:30: not a whole hour
        run(
            db,
            "INSERT INTO orders (id, number, customer_id, status, placed_at) VALUES "
            "(1, 'SO-1', :gb, 'paid', '2026-03-01 18:29:59+00'), (2, 'SO-2', :gb, 'paid', '2026-03-01 18:30+00')",
            gb=gb.id,
        )
        run(db, "INSERT INTO order_items (order_id, product_id, quantity, unit_price) VALUES (2, :b, 1, 5)", b=book.id)
        assert_exact(db, "Asia/Kolkata")
        with db.connect() as conn:
            days = dict(conn.execute(text("SELECT day::text, orders FROM dashboard_sales_days ORDER BY day")).all())
        assert days == {"2026-03-01": 1, "2026-03-02": 1}
    finally:
        run(db, "SELECT dashboard_rebuild('UTC')")


def test_rebuild_recounts_what_the_triggers_keep_and_refuses_an_unknown_zone(db, database_url):
    seed_shop(db, customers=30, products=15, orders=300, random_seed=7)
    assert_exact(db)
    with db.connect() as conn:
        before = stored(conn)
    result = CliRunner().invoke(
        cli, ["rebuild-dashboard"], env={"DATABASE_URL": database_url, "ADMIN_TIME_ZONE": "UTC"}
    )
    assert result.exit_code == 0, result.output
    with db.connect() as conn:
        assert stored(conn) == before
    with pytest.raises(Exception, match="time zone"):
        run(db, "SELECT dashboard_rebuild('Mars/Olympus')")
    with db.connect() as conn:
        assert stored(conn) == before


def test_the_seed_spreads_orders_over_the_two_years_up_to_until(db, database_url):
    result = CliRunner().invoke(
        cli,
        ["seed", "--customers", "200", "--products", "30", "--orders", "3000", "--until", "2026-01-31"],
        env={"DATABASE_URL": database_url},
    )
    assert result.exit_code == 0, result.output
    with db.connect() as conn:
        first, last = conn.execute(text("SELECT min(placed_at)::date, max(placed_at) FROM orders")).one()
        per_period = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE placed_at >= '2026-01-31'), count(*) FILTER (WHERE placed_at >= "
                "'2026-01-25'), count(*) FILTER (WHERE placed_at >= '2025-11-03'), count(*) FILTER (WHERE placed_at >= "
                "'2025-02-01'), count(*) FILTER (WHERE created_at >= '2025-11-03') FROM orders, LATERAL (SELECT "
                "created_at FROM customers WHERE id = orders.customer_id) c"
            )
        ).one()
        late = conn.execute(
            text(
                "SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.created_at > o.placed_at"
            )
        ).scalar_one()
    assert str(first) >= "2024-01-31" and last < datetime(2026, 2, 1, tzinfo=UTC)
    assert all(n > 0 for n in per_period), per_period  # today, 7, 90 days, 12 months, and customers new in 90 days
    assert late == 0  # a customer who joined during the two years orders after joining
    assert_exact(db)  # the seed recounted the summary once, its insert triggers off


def test_two_transactions_counting_into_the_same_row_lose_nothing(db, shop):
    """The second waits for the first's row lock on (day, status, country), then adds to what it committed."""
    gb, _fr, _products = shop
    insert = (
        "INSERT INTO orders (id, number, customer_id, status, placed_at, shipping_fee) "
        "VALUES (:id, :number, :customer, 'paid', '2026-03-01 10:00+00', 5)"
    )
    first, second = db.connect(), db.connect()
    try:
        first.begin()
        first.execute(text(insert), {"id": 1, "number": "SO-1", "customer": gb.id})
        waiting = threading.Thread(
            target=lambda: (
                second.begin(),
                second.execute(text(insert), {"id": 2, "number": "SO-2", "customer": gb.id}),
                second.commit(),
            )
        )
        waiting.start()
        time.sleep(0.5)
        assert waiting.is_alive()  # waiting for the first transaction's summary row
        first.commit()
        waiting.join(10)
        assert not waiting.is_alive()
    finally:
        first.close()
        second.close()
    with db.connect() as conn:
        assert conn.execute(text("SELECT orders, revenue FROM dashboard_sales_days")).all() == [(2, D("10.00"))]
    assert_exact(db)
