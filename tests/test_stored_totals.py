"""orders.subtotal and orders.item_count, kept by the database (revision 0006): exact through every kind of
change to order lines, made through the admin or by plain SQL, concurrent ones included; never negative;
never stale in a loaded Order; written by the seed; checked and repaired by `admin-site check-totals`."""

from __future__ import annotations

import threading
import time
from decimal import Decimal

import psycopg2.errors
import pytest
from alembic import command
from sqlalchemy import create_engine, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from admin_site.ops.cli import app as cli
from admin_site.ops.seed import seed_shop
from admin_site.ops.totals import find_differences
from models import Order, OrderItem, OrderStatus, Role
from tests import factories
from tests.helpers import alembic_config, item_form, totals_that_differ

D = Decimal


def stored(db, order_id: int) -> tuple[Decimal, int]:
    with db.connect() as conn:
        return tuple(conn.execute(select(Order.subtotal, Order.item_count).where(Order.id == order_id)).one())


@pytest.fixture
def two_orders(db):
    """Two orders of three products (10.00, 2.50, 0.35), each with no line yet."""
    products = [factories.product(db, price=D(price)) for price in ("10.00", "2.50", "0.35")]
    return factories.order(db), factories.order(db), products


def test_totals_follow_every_kind_of_line_change_made_in_sql(db, two_orders):
    first, second, (book, pen, clip) = two_orders
    with db.begin() as conn:  # several lines, of both orders, in one statement
        conn.execute(
            text(
                "INSERT INTO order_items (order_id, product_id, quantity, unit_price) VALUES "
                "(:a, :book, 2, 10.00), (:a, :pen, 1, 2.50), (:b, :clip, 3, 0.35)"
            ),
            {"a": first.id, "b": second.id, "book": book.id, "pen": pen.id, "clip": clip.id},
        )
    assert stored(db, first.id) == (D("22.50"), 3) and stored(db, second.id) == (D("1.05"), 3)
    steps = [
        ("UPDATE order_items SET quantity = 5 WHERE product_id = :book", (D("52.50"), 6), (D("1.05"), 3)),
        ("UPDATE order_items SET unit_price = 2.00 WHERE product_id = :pen", (D("52.00"), 6), (D("1.05"), 3)),
        ("UPDATE order_items SET order_id = :b WHERE product_id = :pen", (D("50.00"), 5), (D("3.05"), 4)),
        ("UPDATE order_items SET version = version + 1", (D("50.00"), 5), (D("3.05"), 4)),  # nothing to add
        ("UPDATE order_items SET quantity = quantity + 1", (D("60.00"), 6), (D("5.40"), 6)),
        ("DELETE FROM order_items WHERE order_id = :b AND unit_price = 2.00", (D("60.00"), 6), (D("1.40"), 4)),
        ("DELETE FROM order_items WHERE order_id = :a", (D("0.00"), 0), (D("1.40"), 4)),
    ]
    keys = {"a": first.id, "b": second.id, "book": book.id, "pen": pen.id, "clip": clip.id}
    for sql, first_totals, second_totals in steps:
        with db.begin() as conn:
            conn.execute(text(sql), {k: v for k, v in keys.items() if f":{k}" in sql})
        assert (stored(db, first.id), stored(db, second.id)) == (first_totals, second_totals), sql
    assert totals_that_differ(db) == []
    with db.begin() as conn:
        conn.execute(text("TRUNCATE order_items"))  # no row trigger sees it: a statement trigger does
    assert stored(db, second.id) == (D("0.00"), 0)


def test_a_rolled_back_change_leaves_the_totals_as_they_were(db, two_orders):
    first, _, (book, *_) = two_orders
    with db.connect() as conn:
        conn.execute(insert(OrderItem).values(order_id=first.id, product_id=book.id, quantity=4, unit_price=D("10")))
        assert conn.scalar(select(Order.subtotal).where(Order.id == first.id)) == D("40.00")  # same transaction
        conn.rollback()
    assert stored(db, first.id) == (D("0.00"), 0)


def test_deleting_an_order_deletes_its_lines_without_a_trace(db, two_orders):
    first, second, (book, pen, _) = two_orders
    factories_line(db, first, book, 1)
    factories_line(db, second, pen, 2)
    with db.begin() as conn:
        conn.execute(delete(Order).where(Order.id == first.id))  # ON DELETE CASCADE: the lines' trigger runs
    assert stored(db, second.id) == (D("5.00"), 2) and totals_that_differ(db) == []


def factories_line(db, order, product, quantity: int) -> None:
    with db.begin() as conn:
        conn.execute(
            insert(OrderItem).values(
                order_id=order.id, product_id=product.id, quantity=quantity, unit_price=product.price
            )
        )


def test_two_transactions_adding_lines_to_one_order_lose_nothing(db, two_orders):
    """Both commit; the second waits on the order's row lock, then adds its delta to what the first wrote."""
    order, _, (book, pen, _) = two_orders
    first, second = db.connect(), db.connect()
    try:
        first.execute(insert(OrderItem).values(order_id=order.id, product_id=book.id, quantity=1, unit_price=D("10")))
        finished = threading.Event()

        def add_in_second() -> None:
            second.execute(
                insert(OrderItem).values(order_id=order.id, product_id=pen.id, quantity=2, unit_price=D("2.50"))
            )
            second.commit()
            finished.set()

        worker = threading.Thread(target=add_in_second)
        worker.start()
        time.sleep(0.3)
        assert not finished.is_set()  # the second waits for the first's lock on the order row
        first.commit()
        worker.join(10)
        assert finished.is_set()
    finally:
        first.close()
        second.close()
    assert stored(db, order.id) == (D("15.00"), 3)


@pytest.mark.parametrize("column, value", [("subtotal", "-0.01"), ("item_count", "-1")])
def test_a_check_refuses_a_negative_stored_value(db, two_orders, column, value):
    order, *_ = two_orders
    with pytest.raises(IntegrityError) as refused, db.begin() as conn:
        conn.execute(text(f"UPDATE orders SET {column} = {value} WHERE id = :id"), {"id": order.id})
    assert isinstance(refused.value.orig, psycopg2.errors.CheckViolation)
    assert refused.value.orig.diag.constraint_name == f"ck_orders_{column}_not_negative"


def test_totals_follow_line_changes_made_through_the_admin(client, login_as, db, two_orders):
    order, other, (book, *_) = two_orders
    login_as(Role.manager)
    created = client.post(
        "/admin/order-item/create",
        data={"order": order.id, "product": book.id, "quantity": "3", "unit_price": "10.00"},
    )
    assert created.status_code == 302, created.text[:500]
    assert stored(db, order.id) == (D("30.00"), 3)
    with Session(db) as session:
        line = session.scalars(select(OrderItem).where(OrderItem.order_id == order.id)).one()
    edited = client.post(f"/admin/order-item/edit/{line.id}", data=item_form(line, quantity="1", unit_price="9.50"))
    assert edited.status_code == 302, edited.text[:500]
    assert stored(db, order.id) == (D("9.50"), 1)
    moved = client.post(
        f"/admin/order-item/edit/{line.id}",
        data=item_form(line, order=other.id, quantity="1", unit_price="9.50", version="2"),
    )
    assert moved.status_code == 302, moved.text[:500]
    assert stored(db, order.id) == (D("0.00"), 0) and stored(db, other.id) == (D("9.50"), 1)
    assert client.delete(f"/admin/order-item/delete?pks={line.id}").status_code == 200
    assert stored(db, other.id) == (D("0.00"), 0)
    form = client.get(f"/admin/order/edit/{order.id}").text
    assert 'name="subtotal"' not in form and 'name="item_count"' not in form  # the database's, never a form's


def test_a_loaded_order_never_shows_totals_from_before_its_lines_changed(db, two_orders):
    order_row, other_row, (book, pen, _) = two_orders
    with Session(db) as session:
        order, other = session.get(Order, order_row.id), session.get(Order, other_row.id)
        assert (order.subtotal, order.total) == (D("0.00"), D("0.00"))
        order.items.append(OrderItem(product_id=book.id, quantity=2, unit_price=D("10.00")))
        session.flush()
        assert (order.subtotal, order.item_count, order.total) == (D("20.00"), 2, D("20.00"))
        line = order.items[0]
        line.quantity = 3
        session.flush()
        assert (order.subtotal, order.item_count) == (D("30.00"), 3)
        line.order = other
        session.flush()
        assert (order.subtotal, other.subtotal) == (D("0.00"), D("30.00"))
        session.execute(update(OrderItem).where(OrderItem.order_id == other.id).values(unit_price=D("1.00")))
        assert (other.subtotal, other.item_count) == (D("3.00"), 3)  # a bulk UPDATE on lines
        session.delete(line)
        session.flush()
        assert (other.subtotal, other.item_count) == (D("0.00"), 0)
        new = Order(number="SO-NEW", customer_id=order.customer_id, status=OrderStatus.paid, shipping_fee=D("4.95"))
        new.items.append(OrderItem(product_id=pen.id, quantity=2, unit_price=D("2.50")))
        session.add(new)
        session.flush()  # the order, then its lines: its totals are read after both
        assert (new.subtotal, new.item_count, new.total) == (D("5.00"), 2, D("9.95"))
        session.commit()
    assert totals_that_differ(db) == []


def test_the_seed_writes_the_totals_and_leaves_the_trigger_on(db):
    seed_shop(db, customers=30, products=20, orders=400)
    assert totals_that_differ(db) == []
    with db.connect() as conn:
        enabled = conn.scalar(text("SELECT tgenabled FROM pg_trigger WHERE tgname = 'order_totals_after_insert'"))
    assert enabled == "O"  # on again for everyone else: the seed switched it off only in its own transaction
    seed_shop(db, customers=0, products=0, orders=50, random_seed=3)  # appended to existing data
    assert totals_that_differ(db) == [] and find_differences(db)[1] == []


def test_check_totals_reports_then_repairs_differences(database_url, db, two_orders):
    order, other, (book, *_) = two_orders
    factories_line(db, order, book, 2)
    runner = CliRunner()
    check = runner.invoke(cli, ["check-totals"], env={"DATABASE_URL": database_url})
    assert check.exit_code == 0 and "every stored total matches" in check.output, check.output
    with db.begin() as conn:  # what only a bypass can do: a value written by hand, the trigger switched off
        conn.execute(text("UPDATE orders SET subtotal = 99 WHERE id = :id"), {"id": order.id})
        conn.execute(text("ALTER TABLE order_items DISABLE TRIGGER order_totals_after_insert"))
        conn.execute(insert(OrderItem).values(order_id=other.id, product_id=book.id, quantity=1, unit_price=D("10")))
        conn.execute(text("ALTER TABLE order_items ENABLE TRIGGER order_totals_after_insert"))
    check = runner.invoke(cli, ["check-totals"], env={"DATABASE_URL": database_url})
    assert check.exit_code == 1, check.output
    assert (
        "2 differ" in check.output and f"{order.number} (#{order.id}): stored subtotal 99.00, 2 items" in check.output
    )
    fixed = runner.invoke(cli, ["check-totals", "--fix"], env={"DATABASE_URL": database_url})
    assert fixed.exit_code == 0 and "Repaired 2 orders" in fixed.output, fixed.output
    assert totals_that_differ(db) == [] and stored(db, other.id) == (D("10.00"), 1)


@pytest.mark.slow  # a database of its own, migrated up and down with rows in it
def test_revision_0006_backfills_and_downgrades_with_data(fresh_database_url):
    url = fresh_database_url("stored_totals")
    engine = create_engine(url)
    config = alembic_config(url)
    try:
        command.upgrade(config, "0005")
        seed_shop(engine, customers=40, products=30, orders=700)  # before 0006: no totals to write
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO orders (number, customer_id, status) VALUES ('SO-EMPTY', 1, 'paid')"))
            lines = conn.scalar(text("SELECT count(*) FROM order_items"))
        command.upgrade(config, "0006")
        assert totals_that_differ(engine) == []
        with engine.connect() as conn:
            assert conn.scalar(text("SELECT subtotal FROM orders WHERE number = 'SO-EMPTY'")) == 0
            checks = conn.execute(text("SELECT conname, convalidated FROM pg_constraint WHERE conname IN ('ck_orders_subtotal_not_negative', 'ck_orders_item_count_not_negative')")).all()  # fmt: skip
            indexes = conn.execute(text("SELECT c.relname, i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname LIKE 'ix_orders_%total%'")).all()  # fmt: skip
        assert sorted(checks) == [
            ("ck_orders_item_count_not_negative", True),
            ("ck_orders_subtotal_not_negative", True),
        ]
        assert sorted(indexes) == [("ix_orders_status_total_id", True), ("ix_orders_total_id", True)]
        with engine.begin() as conn:
            conn.execute(text("UPDATE order_items SET quantity = quantity + 1 WHERE order_id < 10"))
        assert totals_that_differ(engine) == []

        command.downgrade(config, "0005")
        with engine.connect() as conn:
            columns = set(conn.scalars(text("SELECT column_name FROM information_schema.columns WHERE table_name = 'orders'")))  # fmt: skip
            triggers = conn.scalar(text("SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'order_totals%'"))
            functions = conn.scalar(text("SELECT count(*) FROM pg_proc WHERE proname LIKE 'order_totals%'"))
            assert conn.scalar(text("SELECT count(*) FROM order_items")) == lines
        assert not {"subtotal", "item_count"} & columns and triggers == functions == 0
        command.upgrade(config, "0006")  # and back up again, the rows all there
        assert totals_that_differ(engine) == []
    finally:
        engine.dispose()
