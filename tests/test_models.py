"""The models against the migrated database: every CHECK, UNIQUE and FK rule, the hybrids, and column types.

The database is the one that enforces the rules, so each rule is tested by what PostgreSQL accepts and
refuses, and each refusal by the name of the constraint (the name the admin maps back to a form field).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

import psycopg2.errors
import pytest
from sqlalchemy import (
    CheckConstraint,
    DateTime,
    Engine,
    Numeric,
    String,
    UniqueConstraint,
    delete,
    func,
    inspect,
    literal,
    select,
    text,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, selectinload

import models
from models import AuditLog, Category, Customer, Order, OrderItem, OrderStatus, Product, Role, StaffUser

D = Decimal
_seq = itertools.count(1)


# -- factories: each adds one valid row (and the parents it needs) and returns it, unflushed ------------


def make_category(session: Session, **values: Any) -> Category:
    n = next(_seq)
    category = Category(**{"name": f"Category {n}", "slug": f"category-{n}", **values})
    session.add(category)
    return category


def make_product(session: Session, **values: Any) -> Product:
    n = next(_seq)
    if "category" not in values and "category_id" not in values:
        values["category"] = make_category(session)
    product = Product(
        **{
            "sku": f"SKU-{n:06d}",
            "name": f"Product {n}",
            "price": D("19.99"),
            "cost": D("7.50"),
            "stock_quantity": 10,
            "reorder_level": 3,
            **values,
        }
    )
    session.add(product)
    return product


def make_customer(session: Session, **values: Any) -> Customer:
    n = next(_seq)
    customer = Customer(
        **{
            "email": f"customer{n}@example.com",
            "first_name": "Ada",
            "last_name": f"Lovelace{n}",
            "country": "GB",
            **values,
        }
    )
    session.add(customer)
    return customer


def make_order(session: Session, **values: Any) -> Order:
    n = next(_seq)
    if "customer" not in values and "customer_id" not in values:
        values["customer"] = make_customer(session)
    order = Order(**{"number": f"SO-{n:07d}", "status": OrderStatus.pending, **values})
    session.add(order)
    return order


def make_order_item(session: Session, **values: Any) -> OrderItem:
    if "order" not in values and "order_id" not in values:
        values["order"] = make_order(session)
    if "product" not in values and "product_id" not in values:
        values["product"] = make_product(session)
    item = OrderItem(**{"quantity": 1, "unit_price": D("19.99"), **values})
    session.add(item)
    return item


def make_staff_user(session: Session, **values: Any) -> StaffUser:
    n = next(_seq)
    staff = StaffUser(
        **{
            "email": f"staff{n}@shop.example",
            "full_name": f"Staff {n}",
            "password_hash": "x",
            "role": Role.viewer,
            **values,
        }
    )
    session.add(staff)
    return staff


Factory = Callable[..., Any]


def constraint_name(error: IntegrityError) -> str | None:
    return error.orig.diag.constraint_name  # type: ignore[union-attr]


# -- CHECK constraints ------------------------------------------------------------------------------


class CheckCase(NamedTuple):
    factory: Factory
    bad: list[dict[str, Any]]  # each violates this constraint and nothing else
    edge: dict[str, Any] = {}  # the boundary that must still be accepted


PLACED = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

# The enum CHECKs are reached by a SQL literal: the ORM's Enum type would refuse the bad string itself
# before PostgreSQL sees it, and it is PostgreSQL's refusal that is under test.
CHECK_CASES: dict[str, CheckCase] = {
    "ck_products_price_positive": CheckCase(
        make_product, [{"price": D("0")}, {"price": D("-0.01")}], {"price": D("0.01")}
    ),
    "ck_products_cost_not_negative": CheckCase(make_product, [{"cost": D("-0.01")}], {"cost": D("0")}),
    "ck_products_stock_quantity_not_negative": CheckCase(make_product, [{"stock_quantity": -1}], {"stock_quantity": 0}),
    "ck_products_reorder_level_not_negative": CheckCase(make_product, [{"reorder_level": -1}], {"reorder_level": 0}),
    "ck_orders_shipped_after_placed": CheckCase(
        make_order,
        [{"placed_at": PLACED, "shipped_at": PLACED - timedelta(microseconds=1)}],
        {"placed_at": PLACED, "shipped_at": PLACED, "status": OrderStatus.shipped},
    ),
    "ck_orders_discount_pct_range": CheckCase(
        make_order, [{"discount_pct": D("-0.01")}, {"discount_pct": D("100.01")}], {"discount_pct": D("100")}
    ),
    "ck_orders_shipping_fee_not_negative": CheckCase(
        make_order, [{"shipping_fee": D("-0.01")}], {"shipping_fee": D("0")}
    ),
    # Stored by the database (revision 0006); a hand-written negative value is refused all the same.
    "ck_orders_subtotal_not_negative": CheckCase(make_order, [{"subtotal": D("-0.01")}], {"subtotal": D("0")}),
    "ck_orders_item_count_not_negative": CheckCase(make_order, [{"item_count": -1}], {"item_count": 0}),
    "ck_orders_order_status": CheckCase(
        make_order,
        [{"status": literal("bogus", String)}, {"status": literal("Paid", String)}],
        {"status": OrderStatus.refunded},
    ),
    "ck_order_items_quantity_positive": CheckCase(
        make_order_item, [{"quantity": 0}, {"quantity": -1}], {"quantity": 1}
    ),
    "ck_order_items_unit_price_not_negative": CheckCase(
        make_order_item, [{"unit_price": D("-0.01")}], {"unit_price": D("0")}
    ),
    "ck_staff_users_staff_role": CheckCase(
        make_staff_user,
        [{"role": literal("superuser", String)}, {"role": literal("", String)}],
        {"role": Role.admin},
    ),
}


def metadata_check_constraints() -> dict[str, CheckConstraint]:
    return {
        constraint.name: constraint
        for table in models.Base.metadata.tables.values()
        for constraint in table.constraints
        if isinstance(constraint, CheckConstraint)
    }


def test_every_check_constraint_has_a_case() -> None:
    in_metadata = set(metadata_check_constraints())
    assert "ck_orders_order_status" in in_metadata and "ck_staff_users_staff_role" in in_metadata
    assert set(CHECK_CASES) == in_metadata, (
        f"missing cases: {sorted(in_metadata - set(CHECK_CASES))}; "
        f"stale cases: {sorted(set(CHECK_CASES) - in_metadata)}"
    )


@pytest.mark.parametrize(
    ("name", "bad"),
    [pytest.param(name, bad, id=f"{name}-{i}") for name, case in CHECK_CASES.items() for i, bad in enumerate(case.bad)],
)
def test_check_constraint_accepts_valid_and_rejects_violation(db: Engine, name: str, bad: dict[str, Any]) -> None:
    case = CHECK_CASES[name]
    with Session(db) as session:
        case.factory(session)
        case.factory(session, **case.edge)
        session.commit()  # valid rows, boundary included: accepted

        case.factory(session, **bad)
        with pytest.raises(IntegrityError) as raised:
            session.commit()
        assert isinstance(raised.value.orig, psycopg2.errors.CheckViolation), raised.value.orig
        assert constraint_name(raised.value) == name
        session.rollback()

    table = next(c.table for n, c in metadata_check_constraints().items() if n == name)
    with db.connect() as conn:
        assert conn.scalar(select(func.count()).select_from(table)) >= 2  # the valid rows stayed


# -- UNIQUE constraints -----------------------------------------------------------------------------


def _duplicate_category_name(session: Session) -> None:
    make_category(session, name="Books", slug="books")
    session.commit()
    make_category(session, name="Books", slug="books-2")


def _duplicate_category_slug(session: Session) -> None:
    make_category(session, name="Books", slug="books")
    session.commit()
    make_category(session, name="Books 2", slug="books")


def _duplicate_product_sku(session: Session) -> None:
    make_product(session, sku="SKU-000001")
    session.commit()
    make_product(session, sku="SKU-000001")


def _duplicate_customer_email(session: Session) -> None:
    make_customer(session, email="ada@example.com")
    session.commit()
    make_customer(session, email="ada@example.com")


def _duplicate_order_number(session: Session) -> None:
    make_order(session, number="SO-0000042")
    session.commit()
    make_order(session, number="SO-0000042")


def _duplicate_order_item(session: Session) -> None:
    item = make_order_item(session)
    session.commit()
    make_order_item(session, order_id=item.order_id, product_id=item.product_id, quantity=2)


def _duplicate_staff_email(session: Session) -> None:
    make_staff_user(session, email="boss@shop.example")
    session.commit()
    make_staff_user(session, email="boss@shop.example")


def _duplicate_saved_view(session: Session) -> None:
    staff = make_staff_user(session)
    session.flush()
    view = {"staff_user_id": staff.id, "view_identity": "order", "name": "Refunds", "query": "status=refunded"}
    session.add(models.SavedView(**view))
    session.commit()
    session.add(models.SavedView(**{**view, "query": "status=paid"}))


def _duplicate_session_token(session: Session) -> None:
    staff = make_staff_user(session)
    session.flush()
    row = {"staff_user_id": staff.id, "epoch": 0, "token_hash": "a" * 64}
    session.add(models.StaffSession(**row))
    session.commit()
    session.add(models.StaffSession(**row))


def _duplicate_import_token(session: Session) -> None:
    staff = make_staff_user(session)
    session.flush()
    row = {"staff_user_id": staff.id, "token_hash": "b" * 64, "entity": "product", "file_name": "a.csv",
           "key_column": "sku", "columns": ["sku"], "counts": {}, "expires_at": datetime.now(UTC)}  # fmt: skip
    session.add(models.ImportBatch(**row))
    session.commit()
    session.add(models.ImportBatch(**row))


UNIQUE_CASES: dict[str, Callable[[Session], None]] = {
    "uq_categories_name": _duplicate_category_name,
    "uq_categories_slug": _duplicate_category_slug,
    "uq_products_sku": _duplicate_product_sku,
    "uq_customers_email": _duplicate_customer_email,
    "uq_orders_number": _duplicate_order_number,
    "uq_order_items_order_id_product_id": _duplicate_order_item,
    "uq_staff_users_email": _duplicate_staff_email,
    "uq_saved_views_staff_user_id_view_identity_name": _duplicate_saved_view,
    "uq_staff_sessions_token_hash": _duplicate_session_token,
    "uq_import_batches_token_hash": _duplicate_import_token,
}


def test_every_unique_constraint_has_a_case() -> None:
    in_metadata = {
        constraint.name
        for table in models.Base.metadata.tables.values()
        for constraint in table.constraints
        if isinstance(constraint, UniqueConstraint)
    }
    assert set(UNIQUE_CASES) == in_metadata


@pytest.mark.parametrize("name", list(UNIQUE_CASES))
def test_unique_constraint_rejects_duplicate(db: Engine, name: str) -> None:
    with Session(db) as session:
        UNIQUE_CASES[name](session)
        with pytest.raises(IntegrityError) as raised:
            session.commit()
        assert isinstance(raised.value.orig, psycopg2.errors.UniqueViolation), raised.value.orig
        assert constraint_name(raised.value) == name


def test_order_item_pair_is_unique_only_as_a_pair(db: Engine) -> None:
    with Session(db) as session:
        order, other_order = make_order(session), make_order(session)
        product, other_product = make_product(session), make_product(session)
        make_order_item(session, order=order, product=product)
        make_order_item(session, order=order, product=other_product)
        make_order_item(session, order=other_order, product=product)
        session.commit()
        assert session.scalar(select(func.count(OrderItem.id))) == 3


# -- foreign keys -----------------------------------------------------------------------------------


def test_deleting_an_order_cascades_to_its_items_in_the_database(db: Engine) -> None:
    with Session(db) as session:
        order, kept = make_order(session), make_order(session)
        make_order_item(session, order=order)
        make_order_item(session, order=order)
        make_order_item(session, order=kept)
        session.commit()
        order_id, kept_id = order.id, kept.id

    with Session(db) as session:  # a bulk DELETE: the ORM does not touch the items, PostgreSQL must
        session.execute(delete(Order).where(Order.id == order_id))
        session.commit()
        assert session.scalar(select(func.count()).where(OrderItem.order_id == order_id)) == 0
        assert session.scalar(select(func.count()).where(OrderItem.order_id == kept_id)) == 1
        assert session.scalar(select(func.count(Product.id))) == 3  # products are not cascaded


def test_deleting_an_order_through_the_orm_removes_its_items(db: Engine) -> None:
    with Session(db) as session:
        order = make_order(session)
        make_order_item(session, order=order)
        session.commit()
        session.delete(order)
        session.commit()
        assert session.scalar(select(func.count(OrderItem.id))) == 0


def test_deleting_a_customer_with_orders_is_refused(db: Engine) -> None:
    with Session(db) as session:
        order = make_order(session)
        session.commit()
        customer_id = order.customer_id

        with pytest.raises(IntegrityError) as raised:
            session.execute(delete(Customer).where(Customer.id == customer_id))
        assert isinstance(raised.value.orig, psycopg2.errors.ForeignKeyViolation), raised.value.orig
        assert constraint_name(raised.value) == "fk_orders_customer_id_customers"
        session.rollback()

    with Session(db) as session:  # the ORM path (what the admin's delete does) is refused as well
        session.delete(session.get(Customer, customer_id))
        with pytest.raises(IntegrityError) as raised:
            session.commit()
        assert isinstance(raised.value.orig, psycopg2.errors.ForeignKeyViolation), raised.value.orig
        assert constraint_name(raised.value) == "fk_orders_customer_id_customers"
        session.rollback()
        assert session.get(Customer, customer_id) is not None
        assert session.scalar(select(func.count(Order.id))) == 1


def test_deleting_a_customer_without_orders_works(db: Engine) -> None:
    with Session(db) as session:
        customer = make_customer(session)
        session.commit()
        session.delete(customer)
        session.commit()
        assert session.scalar(select(func.count(Customer.id))) == 0


def test_deleting_a_sold_product_is_refused(db: Engine) -> None:
    with Session(db) as session:
        item = make_order_item(session)
        session.commit()
        with pytest.raises(IntegrityError) as raised:
            session.execute(delete(Product).where(Product.id == item.product_id))
        assert isinstance(raised.value.orig, psycopg2.errors.ForeignKeyViolation), raised.value.orig
        assert constraint_name(raised.value) == "fk_order_items_product_id_products"


# -- hybrids: the Python side equals the SQL side ---------------------------------------------------


@pytest.mark.parametrize(
    ("price", "cost", "margin"),
    [(D("19.99"), D("7.37"), D("12.62")), (D("0.01"), D("0"), D("0.01")), (D("5.00"), D("7.25"), D("-2.25"))],
)
def test_product_margin(db: Engine, price: Decimal, cost: Decimal, margin: Decimal) -> None:
    with Session(db) as session:
        product = make_product(session, price=price, cost=cost)
        session.commit()
        product_id = product.id

    with Session(db) as session:
        product = session.get(Product, product_id)
        in_sql = session.scalar(select(Product.margin).where(Product.id == product_id))
        assert product.margin == in_sql == margin
        assert isinstance(product.margin, Decimal) and isinstance(in_sql, Decimal)


def test_product_is_low_stock(db: Engine) -> None:
    levels = {"below": (2, 3, True), "at": (3, 3, True), "above": (4, 3, False), "zero": (0, 0, True)}
    with Session(db) as session:
        for name, (stock, reorder, _) in levels.items():
            make_product(session, name=name, stock_quantity=stock, reorder_level=reorder)
        session.commit()

    with Session(db) as session:
        for product in session.scalars(select(Product)):
            in_sql = session.scalar(select(Product.is_low_stock).where(Product.id == product.id))
            assert product.is_low_stock is in_sql is levels[product.name][2], product.name
        low = session.scalars(select(Product.name).where(Product.is_low_stock).order_by(Product.name)).all()
        assert low == ["at", "below", "zero"]
        assert session.scalars(select(Product.name).where(~Product.is_low_stock)).all() == ["above"]


def test_customer_full_name(db: Engine) -> None:
    with Session(db) as session:
        make_customer(session, first_name="Grace", last_name="Hopper")
        make_customer(session, first_name="Ada", last_name="Lovelace")
        make_customer(session, first_name="Ada", last_name="Byron")
        session.commit()

    with Session(db) as session:
        for customer in session.scalars(select(Customer)):
            in_sql = session.scalar(select(Customer.full_name).where(Customer.id == customer.id))
            assert customer.full_name == in_sql == f"{customer.first_name} {customer.last_name}"
        assert session.scalars(select(Customer.full_name).order_by(Customer.full_name)).all() == [
            "Ada Byron",
            "Ada Lovelace",
            "Grace Hopper",
        ]
        found = session.scalars(select(Customer.last_name).where(Customer.full_name.ilike("%a lovel%"))).all()
        assert found == ["Lovelace"]
        assert session.scalar(select(func.count()).where(Customer.full_name == "Grace Hopper")) == 1


class OrderCase(NamedTuple):
    items: list[tuple[int, str]]  # (quantity, unit price)
    discount_pct: str
    shipping_fee: str
    subtotal: str
    total: str
    item_count: int


# Totals worked out by hand. Half-cent results round half away from zero (as PostgreSQL's round() does),
# and several of them are ones where banker's rounding would differ (…4|5 → …5, not …4).
ORDER_CASES = {
    "half-cent-up-with-shipping": OrderCase([(2, "0.14")], "12.5", "5.00", "0.28", "5.25", 2),  # 5.245
    "half-cent-up-no-shipping": OrderCase([(3, "12.34"), (1, "86.46")], "12.50", "0", "123.48", "108.05", 4),  # 108.045
    "half-cent-plus-shipping": OrderCase([(3, "12.34"), (1, "86.46")], "12.50", "4.99", "123.48", "113.04", 4),
    "below-half-cent": OrderCase([(1, "10.01")], "12.5", "0", "10.01", "8.76", 1),  # 8.75875
    "odd-discount": OrderCase([(4, "2.50")], "33.33", "0.99", "10.00", "7.66", 4),  # 6.667 + 0.99
    "small-half-cent": OrderCase([(1, "0.12")], "12.5", "0", "0.12", "0.11", 1),  # 0.105
    "no-discount": OrderCase([(3, "19.99"), (2, "0.01")], "0", "4.95", "59.99", "64.94", 5),
    "full-discount": OrderCase([(7, "99.99")], "100", "6.50", "699.93", "6.50", 7),
    "free-item": OrderCase([(1, "0"), (2, "1.05")], "12.5", "0", "2.10", "1.84", 3),  # 1.8375
    "no-items": OrderCase([], "12.5", "7.50", "0", "7.50", 0),
}


def add_order(session: Session, case: OrderCase, **values: Any) -> Order:
    order = make_order(session, discount_pct=D(case.discount_pct), shipping_fee=D(case.shipping_fee), **values)
    for quantity, unit_price in case.items:
        make_order_item(session, order=order, quantity=quantity, unit_price=D(unit_price))
    return order


@pytest.mark.parametrize("case_name", list(ORDER_CASES))
def test_order_hybrids_python_equals_sql(db: Engine, case_name: str) -> None:
    case = ORDER_CASES[case_name]
    with Session(db) as session:
        order = add_order(session, case)
        add_order(session, ORDER_CASES["no-discount"])  # a neighbour whose items must not leak in
        session.commit()
        order_id = order.id

    with Session(db) as session:
        subtotal, total, item_count = session.execute(
            select(Order.subtotal, Order.total, Order.item_count).where(Order.id == order_id)
        ).one()
        loaded = session.scalars(select(Order).options(selectinload(Order.items)).where(Order.id == order_id)).one()

        assert (loaded.subtotal, subtotal) == (D(case.subtotal), D(case.subtotal))
        assert (loaded.total, total) == (D(case.total), D(case.total))
        assert (loaded.item_count, item_count) == (case.item_count, case.item_count)
        assert isinstance(subtotal, Decimal) and isinstance(total, Decimal) and isinstance(loaded.total, Decimal)
        assert isinstance(item_count, int) and isinstance(loaded.item_count, int)
        assert total.as_tuple().exponent == -2 and loaded.total.as_tuple().exponent == -2


def test_order_item_line_total(db: Engine) -> None:
    with Session(db) as session:
        order = make_order(session)
        for quantity, unit_price in [(1, "0.01"), (3, "33.33"), (12, "19.99"), (5, "0")]:
            make_order_item(session, order=order, quantity=quantity, unit_price=D(unit_price))
        session.commit()

    with Session(db) as session:
        for item in session.scalars(select(OrderItem)):
            in_sql = session.scalar(select(OrderItem.line_total).where(OrderItem.id == item.id))
            assert item.line_total == in_sql == item.quantity * item.unit_price
            assert isinstance(in_sql, Decimal) and isinstance(item.line_total, Decimal)
        assert session.scalars(select(OrderItem.line_total).order_by(OrderItem.line_total.desc())).all() == [
            D("239.88"),
            D("99.99"),
            D("0.01"),
            D("0.00"),
        ]


def test_orders_sort_and_filter_by_hybrids_in_sql(db: Engine) -> None:
    chosen = ["half-cent-plus-shipping", "no-items", "full-discount", "odd-discount", "half-cent-up-with-shipping"]
    with Session(db) as session:
        for name in chosen:
            add_order(session, ORDER_CASES[name], notes=name)
        session.commit()

    expected = sorted(chosen, key=lambda name: D(ORDER_CASES[name].total), reverse=True)
    with Session(db) as session:
        by_total = session.scalars(select(Order).order_by(Order.total.desc())).all()
        assert [order.notes for order in by_total] == expected
        assert expected == [
            "half-cent-plus-shipping",
            "odd-discount",
            "no-items",
            "full-discount",
            "half-cent-up-with-shipping",
        ]

        by_subtotal = session.scalars(select(Order.notes).order_by(Order.subtotal, Order.id)).all()
        assert by_subtotal == sorted(chosen, key=lambda name: D(ORDER_CASES[name].subtotal))

        assert session.scalars(select(Order.notes).where(Order.item_count == 0)).all() == ["no-items"]
        big = session.scalars(select(Order.notes).where(Order.total > D("7.50")).order_by(Order.notes)).all()
        assert big == ["half-cent-plus-shipping", "odd-discount"]
        # the rounded total is what is compared: 5.245 rounds to 5.25
        assert session.scalars(select(Order.notes).where(Order.total == D("5.25"))).all() == [
            "half-cent-up-with-shipping"
        ]
        by_count = session.scalars(select(Order.notes).order_by(Order.item_count.desc(), Order.id)).all()
        assert by_count == sorted(chosen, key=lambda name: -ORDER_CASES[name].item_count)


def test_order_with_no_items(db: Engine) -> None:
    with Session(db) as session:
        order = make_order(session, discount_pct=D("12.5"), shipping_fee=D("3.99"))
        session.commit()
        order_id = order.id

    with Session(db) as session:
        loaded = session.scalars(select(Order).options(selectinload(Order.items)).where(Order.id == order_id)).one()
        row = session.execute(select(Order.subtotal, Order.total, Order.item_count).where(Order.id == order_id)).one()
        assert loaded.items == []
        assert loaded.subtotal == row.subtotal == 0
        assert loaded.total == row.total == D("3.99")
        assert loaded.item_count == row.item_count == 0


# -- column types: money is Decimal, timestamps are timezone-aware ----------------------------------


def test_money_columns_come_back_as_decimal(db: Engine) -> None:
    with Session(db) as session:
        item = make_order_item(
            session,
            product=make_product(session, price=D("12.30"), cost=D("4")),
            order=make_order(session, discount_pct=D("7.5"), shipping_fee=D("4.9")),
            unit_price=D("12.30"),
        )
        session.commit()
        item_id = item.id

    with Session(db) as session:
        item = session.get(OrderItem, item_id)
        values = {
            "products.price": item.product.price,
            "products.cost": item.product.cost,
            "orders.discount_pct": item.order.discount_pct,
            "orders.shipping_fee": item.order.shipping_fee,
            "order_items.unit_price": item.unit_price,
        }
        for column, value in values.items():
            assert type(value) is Decimal, column
        assert values == {
            "products.price": D("12.30"),
            "products.cost": D("4.00"),
            "orders.discount_pct": D("7.50"),
            "orders.shipping_fee": D("4.90"),
            "order_items.unit_price": D("12.30"),
        }
        assert str(item.order.shipping_fee) == "4.90"  # the scale comes back too


def test_money_and_time_columns_have_the_right_types_in_the_database(db: Engine) -> None:
    numeric, timestamps = [], []
    for table in models.Base.metadata.tables.values():
        for column in table.columns:
            if isinstance(column.type, Numeric):
                assert column.type.asdecimal, column
                numeric.append((table.name, column.name))
            if isinstance(column.type, DateTime):
                assert column.type.timezone, column
                timestamps.append((table.name, column.name))
    assert ("orders", "shipping_fee") in numeric and ("orders", "placed_at") in timestamps

    with db.connect() as conn:
        types = {
            (row.table_name, row.column_name): row.data_type
            for row in conn.execute(
                text(
                    "SELECT table_name, column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = current_schema()"
                )
            )
        }
    assert {types[c] for c in numeric} == {"numeric"}
    assert {types[c] for c in timestamps} == {"timestamp with time zone"}


def test_timestamps_are_timezone_aware(db: Engine) -> None:
    with Session(db) as session:
        order = make_order(session, shipped_at=datetime.now(UTC) + timedelta(hours=1))
        make_order_item(session, order=order)
        staff = make_staff_user(session, last_login_at=datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
        session.flush()
        session.add(AuditLog(action="test", staff_user_id=staff.id, changes={"a": 1}))
        session.commit()

    with Session(db) as session:
        order = session.scalars(select(Order)).one()
        product = session.scalars(select(Product)).one()
        customer = session.scalars(select(Customer)).one()
        staff = session.scalars(select(StaffUser)).one()
        audit = session.scalars(select(AuditLog)).one()
        values = {
            "orders.placed_at": order.placed_at,
            "orders.shipped_at": order.shipped_at,
            "products.created_at": product.created_at,
            "products.updated_at": product.updated_at,
            "customers.created_at": customer.created_at,
            "staff_users.created_at": staff.created_at,
            "staff_users.last_login_at": staff.last_login_at,
            "audit_log.at": audit.at,
        }
        for column, value in values.items():
            assert isinstance(value, datetime), column
            assert value.tzinfo is not None and value.utcoffset() is not None, column
        assert staff.last_login_at == datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
        assert abs(order.placed_at - datetime.now(UTC)) < timedelta(minutes=5)  # server default is now()


def test_updated_at_moves_on_update(db: Engine) -> None:
    with Session(db) as session:
        product = make_product(session)
        session.commit()
        created = product.updated_at
        session.execute(text("SELECT pg_sleep(0.01)"))
        session.commit()  # a new transaction: now() moves on
        product.name = "Renamed"
        session.commit()
        assert product.updated_at > created
        assert inspect(product).persistent
