"""The demo-data seeder: exact counts, valid rows, appending, determinism, and clear refusals."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from admin_site.ops.seed import NOTES, SeedCounts, copy_text, seed_shop
from tests.helpers import truncate_all

SIZES = {"customers": 60, "products": 40, "orders": 300}


def scalar(engine: Engine, sql: str):
    with engine.connect() as conn:
        return conn.execute(text(sql)).scalar_one()


def table_counts(engine: Engine) -> dict[str, int]:
    tables = ("categories", "products", "customers", "orders", "order_items")
    return {t: scalar(engine, f"SELECT count(*) FROM {t}") for t in tables}


def data_fingerprint(engine: Engine) -> dict[str, str]:
    """md5 of every seeded table's rows in id order: equal fingerprints mean identical data."""
    tables = ("categories", "products", "customers", "orders", "order_items")
    return {t: scalar(engine, f"SELECT md5(string_agg(t::text, '|' ORDER BY id)) FROM {t} t") for t in tables}


def test_produces_exactly_the_asked_counts(db: Engine) -> None:
    counts = seed_shop(db, **SIZES)

    rows = table_counts(db)
    assert counts == SeedCounts(
        categories=rows["categories"], products=40, customers=60, orders=300, order_items=rows["order_items"]
    )
    assert rows["products"] == 40 and rows["customers"] == 60 and rows["orders"] == 300
    assert rows["categories"] == 24
    per_order = "SELECT count(i.id) AS n FROM orders o LEFT JOIN order_items i ON i.order_id = o.id GROUP BY o.id"
    assert scalar(db, f"SELECT min(n) FROM ({per_order}) s") == 1
    assert scalar(db, f"SELECT max(n) FROM ({per_order}) s") == 5
    assert 2.5 <= scalar(db, f"SELECT avg(n) FROM ({per_order}) s") <= 3.5


def test_rows_follow_the_business_rules(db: Engine) -> None:
    seed_shop(db, customers=500, products=200, orders=400)

    assert (
        scalar(
            db,
            "SELECT count(*) FROM orders WHERE status IN ('pending', 'paid', 'cancelled') AND shipped_at IS NOT NULL",
        )
        == 0
    )
    assert (
        scalar(
            db,
            "SELECT count(*) FROM orders WHERE status IN ('shipped', 'delivered', 'refunded') "
            "AND (shipped_at IS NULL OR shipped_at < placed_at)",
        )
        == 0
    )
    # Old orders have moved on; the few still pending, paid or shipped are recent, or a backlog under 90 days old.
    assert scalar(db, "SELECT count(DISTINCT status) FROM orders") >= 4
    assert scalar(db, "SELECT count(*) FROM orders WHERE status = 'delivered'") > 200
    assert (
        scalar(
            db,
            "SELECT count(*) FROM orders WHERE status IN ('pending', 'paid', 'shipped') "
            "AND placed_at < (SELECT max(placed_at) FROM orders) - interval '91 days'",
        )
        == 0
    )
    assert scalar(db, "SELECT count(*) FROM orders WHERE number <> 'SO-' || lpad(id::text, 7, '0')") == 0
    assert scalar(db, "SELECT array_agg(DISTINCT discount_pct ORDER BY discount_pct)::text FROM orders") == (
        "{0.00,5.00,10.00,15.00}"
    )
    assert (
        scalar(
            db,
            "SELECT count(*) FROM order_items i JOIN products p ON p.id = i.product_id WHERE i.unit_price <> p.price",
        )
        == 0
    )
    assert scalar(db, "SELECT count(*) FROM products WHERE cost >= price OR updated_at < created_at") == 0
    assert scalar(db, "SELECT count(*) FROM products WHERE sku <> 'SKU-' || lpad(id::text, 6, '0')") == 0
    assert scalar(db, "SELECT count(*) FROM products WHERE stock_quantity <= reorder_level") > 0
    assert 0 < scalar(db, "SELECT count(*) FROM products WHERE description IS NULL") < 200
    assert (
        scalar(
            db, "SELECT count(*) FROM products p JOIN categories c ON c.id = p.category_id WHERE c.parent_id IS NULL"
        )
        == 0
    )  # products sit in leaf categories
    assert 0 < scalar(db, "SELECT count(*) FROM customers WHERE is_blocked") < 50
    assert 0 < scalar(db, "SELECT count(*) FROM customers WHERE phone IS NULL") < 500
    assert (
        scalar(db, "SELECT count(*) FROM customers WHERE email !~ ('^[a-z]+\\.[a-z]+' || id || '@example\\.com$')") == 0
    )
    assert scalar(db, "SELECT count(*) FROM customers WHERE last_name = 'Smith'") > 0
    # Customers and products exist before the orders that point at them.
    assert (
        scalar(
            db,
            "SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id WHERE c.created_at > o.placed_at",
        )
        == 0
    )


def test_every_status_occurs_and_the_backlog_is_recent(db: Engine) -> None:
    seed_shop(db, customers=200, products=50, orders=5000)

    assert scalar(db, "SELECT count(DISTINCT status) FROM orders") == 6
    backlog = "SELECT {} FROM orders WHERE status = 'paid'"
    assert 0 < scalar(db, backlog.format("count(*)")) < 100  # about 20 recent, a few stuck, out of 5,000
    oldest = scalar(db, backlog.format("extract(day FROM (SELECT max(placed_at) FROM orders) - min(placed_at))::int"))
    assert 14 < oldest <= 90


def test_values_survive_copy_escaping(db: Engine) -> None:
    assert copy_text("a\tb\\c\nd\re") == "a\\tb\\\\c\\nd\\re"
    seed_shop(db, customers=50, products=20, orders=300)

    with db.connect() as conn:
        notes = set(conn.execute(text("SELECT DISTINCT notes FROM orders WHERE notes IS NOT NULL")).scalars())
        last_names = set(conn.execute(text("SELECT DISTINCT last_name FROM customers")).scalars())
    assert notes <= set(NOTES) and any("\n" in note for note in notes)
    assert last_names & {"O'Brien", "Müller", "Novák", "Fernández"}


def test_a_second_run_appends(db: Engine) -> None:
    first = seed_shop(db, **SIZES)
    second = seed_shop(db, **SIZES, random_seed=7)

    rows = table_counts(db)
    assert second.categories == 0 and rows["categories"] == 24  # the tree is reused, not duplicated
    assert rows["customers"] == 120 and rows["products"] == 80 and rows["orders"] == 600
    assert rows["order_items"] == first.order_items + second.order_items
    assert scalar(db, "SELECT count(DISTINCT number) FROM orders") == 600
    assert scalar(db, "SELECT count(DISTINCT email) FROM customers") == 120
    assert scalar(db, "SELECT max(number) FROM orders") == "SO-0000600"
    # The id sequences moved past the copied ids: an ordinary INSERT gets the next id.
    with db.begin() as conn:
        new_id = conn.execute(
            text(
                "INSERT INTO customers (email, first_name, last_name, country) "
                "VALUES ('new@example.com', 'New', 'Customer', 'GB') RETURNING id"
            )
        ).scalar_one()
    assert new_id == 121


def test_orders_alone_use_existing_customers_and_products(db: Engine) -> None:
    seed_shop(db, customers=10, products=5, orders=0)
    counts = seed_shop(db, customers=0, products=0, orders=50)

    assert counts == SeedCounts(0, 0, 0, 50, counts.order_items)
    assert scalar(db, "SELECT max(customer_id) FROM orders") <= 10
    assert scalar(db, "SELECT max(product_id) FROM order_items") <= 5


def test_existing_categories_are_reused(db: Engine) -> None:
    with db.begin() as conn:
        conn.execute(text("INSERT INTO categories (name, slug) VALUES ('Misc', 'misc')"))

    counts = seed_shop(db, customers=5, products=10, orders=0)
    assert counts.categories == 0 and counts.products == 10
    assert scalar(db, "SELECT count(*) FROM categories") == 1
    assert scalar(db, "SELECT count(DISTINCT category_id) FROM products") == 1


def test_fewer_products_than_lines_per_order(db: Engine) -> None:
    seed_shop(db, customers=5, products=2, orders=100)
    assert scalar(db, "SELECT max(n) FROM (SELECT count(*) AS n FROM order_items GROUP BY order_id) s") == 2


def test_numbers_typed_by_hand_are_not_reused(db: Engine) -> None:
    seed_shop(db, customers=5, products=5, orders=3)
    with db.begin() as conn:
        conn.execute(text("INSERT INTO orders (number, customer_id) VALUES ('SO-0000010', 1)"))

    seed_shop(db, customers=0, products=0, orders=3)
    assert scalar(db, "SELECT count(DISTINCT number) FROM orders") == 7
    assert scalar(db, "SELECT max(number) FROM orders") == "SO-0000013"


def test_same_seed_same_data(db: Engine) -> None:
    seed_shop(db, **SIZES)
    first = data_fingerprint(db)
    truncate_all(db)
    seed_shop(db, **SIZES)
    assert data_fingerprint(db) == first

    truncate_all(db)
    seed_shop(db, **SIZES, random_seed=43)
    other = data_fingerprint(db)
    assert other["orders"] != first["orders"] and other["order_items"] != first["order_items"]


def test_orders_without_customers_are_refused_and_nothing_is_written(db: Engine) -> None:
    with pytest.raises(ValueError, match="no customers"):
        seed_shop(db, customers=0, products=10, orders=5)
    with pytest.raises(ValueError, match="no products"):
        seed_shop(db, customers=10, products=0, orders=5)
    with pytest.raises(ValueError, match="0 or more"):
        seed_shop(db, customers=-1, products=0, orders=0)
    assert set(table_counts(db).values()) == {0}


def test_progress_bar_counts_orders(db: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    seed_shop(db, customers=5, products=5, orders=20, progress=True)
    assert "20/20" in capsys.readouterr().err
