"""Constraint-aware forms: the rules come from the models' metadata, and every CHECK constraint is
refused through the HTTP form with its message next to the field, the input kept and the row unchanged,
both when the form's own validators refuse and when only the database does."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import CheckConstraint, select
from sqlalchemy.orm import Session

import models
from admin_site.audit.log import snapshot
from admin_site.forms import check_rules
from admin_site.forms import validators as form_rules
from models import AuditLog, Customer, Order, OrderItem, OrderStatus, Product, Role
from tests import factories
from tests.helpers import field_block, item_form, order_form, product_form, run_in_own_loop, view_of

# -- reading CHECK constraints -----------------------------------------------------------------------

COLUMNS = {"price", "cost", "x", "y", "status"}


@pytest.mark.parametrize(
    "sql, expected",
    [
        ("price > 0", (check_rules.Bound("price", ">", Decimal(0)),)),
        ("(cost >= 0)", (check_rules.Bound("cost", ">=", Decimal(0)),)),
        ("0 < x", (check_rules.Bound("x", ">", Decimal(0)),)),
        (
            "x BETWEEN 1 AND 5.5",
            (check_rules.Bound("x", ">=", Decimal(1)), check_rules.Bound("x", "<=", Decimal("5.5"))),
        ),
        ("x >= 0 AND x <= 100", (check_rules.Bound("x", ">=", Decimal(0)), check_rules.Bound("x", "<=", Decimal(100)))),
        ("y >= x", (check_rules.ColumnOrder("y", ">=", "x"),)),
        ("t.status IN ('a', 'b''c')", (check_rules.OneOf("status", ("a", "b'c")),)),
        ("lower(x) = x", None),
        ("x > 0 OR y > 0", None),
        ("nope > 0", None),
    ],
)
def test_check_text_is_read_in_its_simple_forms(sql, expected):
    assert check_rules.parse(sql, COLUMNS) == expected


def test_every_check_constraint_of_the_models_is_understood():
    for table in models.Base.metadata.tables.values():
        for constraint in table.constraints:
            if isinstance(constraint, CheckConstraint):
                read = check_rules.read(table, constraint)
                assert read.rules and read.columns, constraint.name
                assert "breaks one of the rules" not in read.message


def test_messages_say_the_rule_in_words():
    orders, products = models.Base.metadata.tables["orders"], models.Base.metadata.tables["products"]
    assert (
        check_rules.find("ck_orders_discount_pct_range", [orders])[1].message == "Discount % must be between 0 and 100."
    )
    assert check_rules.find("ck_orders_shipped_after_placed", [orders])[1].columns == ("shipped_at", "placed_at")
    assert check_rules.find("ck_products_price_positive", [products])[1].message == "Price must be greater than 0."


def test_validators_come_from_the_columns():
    def kinds(column):
        return {type(v).__name__ for v in form_rules.column_validators(column)}

    products = models.Base.metadata.tables["products"]
    assert {"InputRequired", "NoNulCharacter", "Length"} <= kinds(products.c.sku)
    assert {"InputRequired", "DecimalFits", "WithinBounds"} <= kinds(products.c.price)
    assert {"IntegerFits", "WithinBounds"} <= kinds(products.c.stock_quantity)
    assert "InputRequired" not in kinds(products.c.description)
    assert "InOrderWith" in kinds(models.Base.metadata.tables["orders"].c.shipped_at)


# -- through the HTTP form ---------------------------------------------------------------------------


def row_values(db, model, pk) -> dict:
    with Session(db) as session:
        return snapshot(session.get(model, pk))


def audit_count(db) -> int:
    with Session(db) as session:
        return len(session.scalars(select(AuditLog.id).where(AuditLog.action.in_(["create", "update"]))).all())


@pytest.fixture
def rows(db):
    product = factories.product(db, price=Decimal("10.00"), cost=Decimal("4.00"))
    order = factories.order(db, items=[(product, 2)], status=OrderStatus.paid)
    with Session(db) as session:
        item = session.scalars(select(OrderItem).where(OrderItem.order_id == order.id)).one()
        session.expunge(item)
    return {"product": product, "order": order, "item": item}


# (view, which row, form builder, field, posted value, message, other fields the constraint names)
CHECK_CASES = [
    ("product", "product", product_form, "price", "0", "Price must be greater than 0.", ()),
    ("product", "product", product_form, "cost", "-0.01", "Cost cannot be negative.", ()),
    ("product", "product", product_form, "stock_quantity", "-1", "Stock quantity cannot be negative.", ()),
    ("product", "product", product_form, "reorder_level", "-5", "Reorder level cannot be negative.", ()),
    ("order", "order", order_form, "discount_pct", "100.5", "Discount % must be between 0 and 100.", ()),
    ("order", "order", order_form, "discount_pct", "-1", "Discount % must be between 0 and 100.", ()),
    ("order", "order", order_form, "shipping_fee", "-3", "Shipping fee cannot be negative.", ()),
    ("order", "order", order_form, "shipped_at", "2020-01-01 00:00:00", "Shipped at cannot be before placed at.",
     ("placed_at",)),
    ("order-item", "item", item_form, "quantity", "0", "Quantity must be greater than 0.", ()),
    ("order-item", "item", item_form, "unit_price", "-1", "Unit price cannot be negative.", ()),
]  # fmt: skip
CASE_IDS = [f"{c[0]}.{c[3]}={c[4]}" for c in CHECK_CASES]
MODELS = {"product": Product, "order": Order, "item": OrderItem}


def without_form_validators(monkeypatch, client) -> None:
    """Forms built from here on derive no validators (views keep built form classes: start afresh)."""
    monkeypatch.setattr(form_rules, "column_validators", lambda column: [])
    for view in client.app.state.admin.views:
        if hasattr(view, "_form_classes"):
            monkeypatch.setattr(view, "_form_classes", {})


def test_the_cases_cover_every_numeric_check_constraint():
    covered = {(MODELS[c[1]].__tablename__, c[3]) for c in CHECK_CASES}
    for table in models.Base.metadata.tables.values():
        for check in check_rules.table_checks(table):
            for rule in check.rules:
                if table.columns[rule.column].info.get("kept_by_database"):  # no form edits it (orders' totals)
                    continue
                if not isinstance(rule, check_rules.OneOf):  # enums: a select, see below
                    assert (table.name, rule.column) in covered, check.name


@pytest.mark.parametrize("refused_by", ["form", "database"])
@pytest.mark.parametrize("identity, which, build, field, value, message, also", CHECK_CASES, ids=CASE_IDS)
def test_check_constraint_refused_next_to_the_field(client, login_as, db, rows, monkeypatch, refused_by,
                                                     identity, which, build, field, value, message, also):  # fmt: skip
    if refused_by == "database":  # the form knows nothing: only PostgreSQL's CHECK refuses
        without_form_validators(monkeypatch, client)
    login_as(Role.admin)
    row, model = rows[which], MODELS[which]
    before, audited = row_values(db, model, row.id), audit_count(db)
    form = build(row, **{field: value}, notes="kept input") if identity == "order" else build(row, **{field: value})
    response = client.post(f"/admin/{identity}/edit/{row.id}", data=form)
    assert response.status_code == 400
    block = field_block(response.text, field)
    assert message in block and "is-invalid" in block
    assert f'value="{value}"' in block  # what the user typed is still there
    if refused_by == "database":
        for other in also:  # a constraint over several columns marks each of them
            assert message in field_block(response.text, other)
        assert not re.search(r"\bck_\w+", response.text) and "UPDATE" not in response.text
    if identity == "order":
        assert "kept input" in response.text
    assert row_values(db, model, row.id) == before
    assert audit_count(db) == audited


def test_enum_checks_are_selects_that_refuse_other_values(client, login_as, db, rows):
    admin = login_as(Role.admin)
    order = rows["order"]
    response = client.post(f"/admin/order/edit/{order.id}", data=order_form(order, status="lost"))
    assert response.status_code == 400 and "Not a valid choice" in field_block(response.text, "status")
    response = client.post(
        f"/admin/staff-user/edit/{admin.id}",
        data={"email": admin.email, "full_name": "A", "role": "god", "is_active": "y"},
    )
    assert response.status_code == 400 and "Not a valid choice" in field_block(response.text, "role")


def test_create_refused_by_a_check_creates_nothing(client, login_as, db, rows, monkeypatch):
    without_form_validators(monkeypatch, client)
    login_as(Role.admin)
    product = rows["product"]
    form = product_form(product, sku="NEW-1", name="Kite", price="-5")
    response = client.post("/admin/product/create", data=form)
    assert response.status_code == 400 and "Price must be greater than 0." in field_block(response.text, "price")
    assert 'value="Kite"' in field_block(response.text, "name")
    with Session(db) as session:
        assert session.scalar(select(Product).where(Product.sku == "NEW-1")) is None


@pytest.mark.parametrize("field, value, message", [
    ("sku", "X" * 33, "Use at most 32 characters."),
    ("name", "", "required"),
    ("price", "12.345", "Use at most 2 decimal places."),
    ("price", "NaN", "Enter a number."),
    ("price", "123456789", "at most 8 digits before the decimal point"),
    ("stock_quantity", "3000000000", "Enter a number between"),
    ("name", "bad\x00name", "NUL"),
])  # fmt: skip
def test_column_types_and_nullability_become_rules(client, login_as, db, rows, field, value, message):
    login_as(Role.admin)
    product = rows["product"]
    before = row_values(db, Product, product.id)
    response = client.post(f"/admin/product/edit/{product.id}", data=product_form(product, **{field: value}))
    assert response.status_code == 400 and message in field_block(response.text, field)
    assert row_values(db, Product, product.id) == before


def test_unique_values_taken_are_refused_next_to_the_field(client, login_as, db, rows):
    login_as(Role.admin)
    taken = factories.product(db, sku="TAKEN-1")
    product = rows["product"]
    response = client.post(f"/admin/product/edit/{product.id}", data=product_form(product, sku="TAKEN-1"))
    assert response.status_code == 400
    assert "already used by another record" in field_block(response.text, "sku")
    assert row_values(db, Product, product.id)["sku"] == product.sku and taken.sku == "TAKEN-1"
    other = factories.customer(db, email="taken@example.com")
    response = client.post("/admin/customer/create", data={"email": other.email, "first_name": "A", "last_name": "B",
                                                           "country": "GB"})  # fmt: skip
    assert response.status_code == 400 and "already used" in field_block(response.text, "email")


def test_a_combination_taken_marks_each_of_its_fields(client, login_as, db, rows):
    login_as(Role.admin)
    item = rows["item"]
    response = client.post("/admin/order-item/create", data=item_form(item, quantity="1"))
    assert response.status_code == 400
    for field in ("order", "product"):
        assert "this combination is already used" in field_block(response.text, field)


def test_a_related_record_that_is_gone_is_refused_next_to_its_field(client, login_as, db, rows):
    login_as(Role.admin)
    order = rows["order"]
    before = row_values(db, Order, order.id)
    response = client.post(f"/admin/order/edit/{order.id}", data=order_form(order, customer="999999"))
    assert response.status_code == 400
    assert "Customer: the chosen record no longer exists." in field_block(response.text, "customer")
    assert row_values(db, Order, order.id) == before
    response = client.post(f"/admin/order/edit/{order.id}", data=order_form(order, customer="not-a-key"))
    assert response.status_code == 400 and "Choose a record from the list." in field_block(response.text, "customer")


def test_declared_form_args_do_not_grow_per_request(app):
    """SQLAdmin appends to the validators list it is given; the converter works on copies."""
    from wtforms import validators

    view = view_of(app, "customer")
    declared = [validators.Length(min=1)]
    view.form_args = {"first_name": {"validators": declared}}
    try:
        for _ in range(3):
            view._form_classes.clear()  # built afresh each time, as SQLAdmin would on every request
            run_in_own_loop(view.scaffold_form())
        assert declared == view.form_args["first_name"]["validators"] and len(declared) == 1
    finally:
        view.form_args = {}
        view._form_classes.clear()


def test_customer_rows_unchanged_helper_sees_every_column(db):
    customer = factories.customer(db)
    assert set(row_values(db, Customer, customer.id)) >= {"email", "version", "is_blocked"}


# -- e-mail columns -------------------------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["not an address", "ann@", "ann@example", "ann@@example.com", "ann@exam ple.com"])
def test_an_email_column_takes_only_an_email_address(client, login_as, db, bad):
    from tests.helpers import customer_form
    from tests.helpers import snapshot as database

    customer = factories.customer(db, email="ann@example.com")
    login_as(Role.support)
    before = database(db)
    response = client.post(f"/admin/customer/edit/{customer.id}", data=customer_form(customer, email=bad))
    assert response.status_code == 400
    block = field_block(response.text, "email")
    assert "is-invalid" in block and "invalid-feedback" in block and "@" in re.sub(r'value="[^"]*"', "", block)
    assert database(db) == before
    assert client.post("/admin/customer/edit/" + str(customer.id),
                       data=customer_form(customer, email="ann.lee+shop@example.co.uk")).status_code == 302  # fmt: skip


def test_staff_e_mail_addresses_are_checked_too(client, login_as, make_staff, db):
    from tests.helpers import staff_form

    login_as(Role.admin)
    them = make_staff(Role.viewer)
    response = client.post(f"/admin/staff-user/edit/{them.id}", data=staff_form(them, email="them at shop"))
    assert response.status_code == 400 and "is-invalid" in field_block(response.text, "email")
