"""An admin can list, see, create, edit and delete rows of every table through real HTTP."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from admin_site.views.registry import all_views
from models import AuditLog, Category, Customer, Order, OrderItem, Product, Role, StaffUser
from tests import factories
from tests.helpers import fetch, login, product_form


def count(db, model) -> int:
    with Session(db) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_every_model_has_a_view():
    from models import Base

    browsed = {m.class_ for m in Base.registry.mappers if m.class_.__admin_view__}  # saved views: not a table to browse
    assert {v.model for v in all_views()} == browsed


@pytest.fixture
def shop(db):
    """One row of everything, for lists, details and edits."""
    product = factories.product(db, name="Dune", sku="BK-DUNE", price=Decimal("12.50"), cost=Decimal("5.00"))
    order = factories.order(db, items=[(product, 2)], shipping_fee=Decimal("3.00"))
    return {"product": product, "order": order, "category_id": product.category_id}


LIST_AND_DETAILS = [
    ("category", Category), ("product", Product), ("customer", Customer), ("order", Order),
    ("order-item", OrderItem), ("staff-user", StaffUser),
]  # fmt: skip


@pytest.mark.parametrize("identity, model", LIST_AND_DETAILS)
def test_list_and_details(client, login_as, shop, db, identity, model):
    login_as(Role.admin)
    with Session(db) as session:
        pk = session.scalar(select(model.__mapper__.primary_key[0]).limit(1))
    listing = client.get(f"/admin/{identity}/list")
    assert listing.status_code == 200
    assert f"/admin/{identity}/details/{pk}" in listing.text
    details = client.get(f"/admin/{identity}/details/{pk}")
    assert details.status_code == 200


def test_order_list_shows_customer_and_total(client, login_as, shop):
    login_as(Role.admin)
    page = client.get("/admin/order/list").text
    order = shop["order"]
    assert order.number in page
    assert "28.00" in page  # 2 × 12.50 + 3.00 shipping
    details = client.get(f"/admin/order/details/{order.id}").text
    assert "28.00" in details and "25.00" in details  # total and subtotal


def test_unknown_rows_are_404(client, login_as, db):
    login_as(Role.admin)
    for path in [
        "/admin/order/details/999",
        "/admin/order/edit/999",
        "/admin/order/details/abc",
        "/admin/order/details/99999999999999999999",
        "/admin/nothing/list",
    ]:
        assert client.get(path).status_code == 404, path


CREATES = {
    "category": (Category, lambda ids: {"name": "Toys", "slug": "toys", "is_active": "y"}),
    "product": (
        Product,
        lambda ids: {
            "sku": "NEW-1",
            "name": "Kite",
            "category": ids["category_id"],
            "price": "19.99",
            "cost": "7.50",
            "stock_quantity": "5",
            "reorder_level": "1",
            "is_active": "y",
        },
    ),
    "customer": (
        Customer,
        lambda ids: {
            "email": "zoe@example.com",
            "first_name": "Zoe",
            "last_name": "Smith",
            "country": "FR",
            "phone": "",
        },
    ),
    "order": (
        Order,
        lambda ids: {  # the number comes from the server; an order needs a line
            "customer": ids["customer_id"],
            "status": "pending",
            "placed_at": "2025-05-01 10:00:00",
            "discount_pct": "0",
            "shipping_fee": "4.50",
            "items-0-product": ids["other_product_id"],
            "items-0-quantity": "2",
            "items-0-unit_price": "5.00",
        },
    ),
    "order-item": (
        OrderItem,
        lambda ids: {
            "order": ids["order_id"],
            "product": ids["other_product_id"],
            "quantity": "3",
            "unit_price": "2.00",
        },
    ),
    "staff-user": (
        StaffUser,
        lambda ids: {
            "email": "new.agent@shop.example",
            "full_name": "New Agent",
            "role": "support",
            "is_active": "y",
            "new_password": "a-long-pass-123",
        },
    ),
}


@pytest.mark.parametrize("identity", CREATES)
def test_create(client, login_as, shop, db, identity):
    login_as(Role.admin)
    other = factories.product(db, category_id=shop["category_id"])
    ids = {
        "category_id": shop["category_id"],
        "customer_id": shop["order"].customer_id,
        "order_id": shop["order"].id,
        "other_product_id": other.id,
    }
    model, payload = CREATES[identity]
    before = count(db, model)
    assert client.get(f"/admin/{identity}/create").status_code == 200
    response = client.post(f"/admin/{identity}/create", data=payload(ids))
    assert response.status_code == 302, response.text[-2000:]
    assert count(db, model) == before + 1


def test_created_staff_user_can_log_in_with_the_set_password(client, login_as, db):
    login_as(Role.admin)
    client.post(
        "/admin/staff-user/create",
        data={
            "email": "agent@shop.example",
            "full_name": "Agent",
            "role": "support",
            "is_active": "y",
            "new_password": "a-long-pass-123",
        },
    )
    client.get("/admin/logout")
    assert login(client, "agent@shop.example", "a-long-pass-123").status_code == 302


def test_staff_password_policy_and_no_hash_on_pages(client, login_as, db):
    admin = login_as(Role.admin)
    response = client.post(
        "/admin/staff-user/create",
        data={"email": "weak@shop.example", "full_name": "Weak", "role": "viewer", "new_password": "short"},
    )
    assert response.status_code == 400 and "at least 10 characters" in response.text
    assert count(db, StaffUser) == 1
    stored = fetch(db, StaffUser, admin.id).password_hash
    for path in [
        "/admin/staff-user/list",
        f"/admin/staff-user/details/{admin.id}",
        f"/admin/staff-user/edit/{admin.id}",
    ]:
        page = client.get(path).text
        assert stored not in page and "password_hash" not in page and "Password hash" not in page


def test_edit(client, login_as, shop, db):
    login_as(Role.admin)
    product = shop["product"]
    form = product_form(product, name="Dune (paperback)", price="9.90", stock_quantity="4", reorder_level="2")
    response = client.post(f"/admin/product/edit/{product.id}", data=form)
    assert response.status_code == 302, response.text[-2000:]
    saved = fetch(db, Product, product.id)
    assert saved.name == "Dune (paperback)" and saved.price == Decimal("9.90")


def test_edit_refused_by_a_check_constraint_keeps_input_and_row(client, login_as, shop, db):
    login_as(Role.admin)
    product = shop["product"]
    form = product_form(product, name="Renamed", price="-1", stock_quantity="4", reorder_level="2")
    response = client.post(f"/admin/product/edit/{product.id}", data=form)
    assert response.status_code == 400
    assert "Price must be greater than 0" in response.text
    assert 'value="Renamed"' in response.text
    assert "INSERT" not in response.text and "UPDATE" not in response.text and "ck_products" not in response.text
    assert fetch(db, Product, product.id).name == "Dune"


def test_unique_violation_message(client, login_as, shop, db):
    login_as(Role.admin)
    taken = factories.customer(db, email="taken@example.com")
    response = client.post(
        "/admin/customer/create", data={"email": taken.email, "first_name": "A", "last_name": "B", "country": "GB"}
    )
    assert response.status_code == 400
    assert "already used" in response.text and 'value="taken@example.com"' in response.text


@pytest.mark.parametrize("identity, model", [("order", Order), ("customer", Customer), ("product", Product)])
def test_delete(client, login_as, db, identity, model):
    login_as(Role.admin)
    row = {
        "order": lambda: factories.order(db),
        "customer": lambda: factories.customer(db),
        "product": lambda: factories.product(db),
    }[identity]()
    response = client.delete(f"/admin/{identity}/delete?pks={row.id}")
    assert response.status_code == 200
    assert fetch(db, model, row.id) is None


def test_deleting_an_order_deletes_its_items(client, login_as, shop, db):
    login_as(Role.admin)
    client.delete(f"/admin/order/delete?pks={shop['order'].id}")
    assert count(db, OrderItem) == 0


def test_delete_refused_by_a_foreign_key_changes_nothing(client, login_as, shop, db):
    login_as(Role.admin)
    customer_id = shop["order"].customer_id
    response = client.delete(f"/admin/customer/delete?pks={customer_id}")
    assert "still+refer" in response.text  # the redirect URL carries the readable error
    assert fetch(db, Customer, customer_id) is not None


def test_staff_and_audit_rows_are_never_deleted(client, login_as, db):
    admin = login_as(Role.admin)
    assert client.delete(f"/admin/staff-user/delete?pks={admin.id}").status_code == 403
    assert fetch(db, StaffUser, admin.id) is not None
    assert client.get("/admin/audit-log/create").status_code == 403
    assert client.post("/admin/audit-log/create", data={"action": "forged"}).status_code == 403
    with Session(db) as session:  # the audit log holds the login and the three refusals, nothing forged
        assert sorted(session.scalars(select(AuditLog.action))) == ["denied", "denied", "denied", "login"]
