"""Fields that follow their action's permission: a role that may not run "Cancel order" or "Block" may not
set an order's status to cancelled or a customer's is_blocked by editing the row either."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import inspect

from admin_site.forms import action_fields
from admin_site.forms.bulk_actions import actions_of
from admin_site.views.registry import all_views
from models import Customer, Order, OrderStatus, Role
from tests import factories
from tests.helpers import customer_form, fetch, field_block, order_form, snapshot


def options(page: str, name: str) -> list[str]:
    """The values a drop-down of the form offers."""
    select = re.search(rf'<select[^>]*name="{name}".*?</select>', page, re.DOTALL)
    assert select, f"no drop-down {name!r}"
    return re.findall(r'<option[^>]*value="([^"]*)"', select[0])


@pytest.fixture
def paid_order(db) -> Order:
    book = factories.product(db)
    return factories.order(db, factories.customer(db).id, [(book, 1)], status=OrderStatus.paid)


def test_support_cannot_cancel_an_order_by_editing_it(client, login_as, db, paid_order):
    login_as(Role.support)  # may edit orders and ship them, may not cancel them
    page = client.get(f"/admin/order/edit/{paid_order.id}").text
    assert "cancelled" not in options(page, "status")
    assert {"paid", "shipped", "pending"} <= set(options(page, "status"))
    before = snapshot(db)
    response = client.post(f"/admin/order/edit/{paid_order.id}", data=order_form(paid_order, status="cancelled"))
    assert response.status_code == 400
    assert snapshot(db) == before  # nothing written, no audit row either
    assert fetch(db, Order, paid_order.id).status == OrderStatus.paid


def test_the_write_path_refuses_it_whatever_the_form_offered(client, login_as, db, paid_order, monkeypatch):
    """The server does not rely on the drop-down: with the form left unlimited, the save is still refused."""
    from admin_site.views import form_pages

    monkeypatch.setattr(form_pages, "limit_form", lambda form, *args: form)
    login_as(Role.support)
    before = snapshot(db)
    response = client.post(f"/admin/order/edit/{paid_order.id}", data=order_form(paid_order, status="cancelled"))
    assert response.status_code == 400
    block = field_block(response.text, "status")
    assert "cannot be set to cancelled" in block and "Cancel order" in block and "Nothing was saved" in block
    assert snapshot(db) == before


def test_support_may_still_ship_and_make_other_changes(client, login_as, db, paid_order):
    login_as(Role.support)
    form = order_form(paid_order, notes="Gift wrap", shipped_at=paid_order.placed_at.strftime("%Y-%m-%d %H:%M:%S"))
    assert client.post(f"/admin/order/edit/{paid_order.id}", data={**form, "status": "shipped"}).status_code == 302
    saved = fetch(db, Order, paid_order.id)
    assert saved.status == OrderStatus.shipped and saved.notes == "Gift wrap"


def test_an_order_already_cancelled_keeps_its_status_when_support_edits_it(client, login_as, db):
    order = factories.order(db, factories.customer(db).id, [(factories.product(db), 1)], status=OrderStatus.cancelled)
    login_as(Role.support)
    assert "cancelled" in options(client.get(f"/admin/order/edit/{order.id}").text, "status")  # what it is now
    assert client.post(f"/admin/order/edit/{order.id}", data=order_form(order, notes="Called")).status_code == 302
    assert fetch(db, Order, order.id).notes == "Called"


def test_support_cannot_create_a_cancelled_order(client, login_as, db):
    customer = factories.customer(db)
    login_as(Role.support)
    assert "cancelled" not in options(client.get("/admin/order/create").text, "status")
    form = {"customer": customer.id, "status": "cancelled", "placed_at": "2030-01-01 10:00:00", "shipped_at": "",
            "discount_pct": "0", "shipping_fee": "0", "notes": ""}  # fmt: skip
    before = snapshot(db)
    assert client.post("/admin/order/create", data=form).status_code == 400
    assert snapshot(db) == before


def test_a_manager_may_cancel_by_editing(client, login_as, db, paid_order):
    login_as(Role.manager)
    assert "cancelled" in options(client.get(f"/admin/order/edit/{paid_order.id}").text, "status")
    assert (
        client.post(f"/admin/order/edit/{paid_order.id}", data=order_form(paid_order, status="cancelled")).status_code
        == 302
    )
    assert fetch(db, Order, paid_order.id).status == OrderStatus.cancelled


def test_blocking_a_customer_follows_the_block_permission(client, login_as, db):
    customer = factories.customer(db)
    login_as(Role.support)  # may edit customers, may neither block nor unblock them
    block = field_block(client.get(f"/admin/customer/edit/{customer.id}").text, "is_blocked")
    assert "disabled" in block and "Block" in block  # read-only, saying which action sets it
    before = snapshot(db)
    response = client.post(f"/admin/customer/edit/{customer.id}", data=customer_form(customer, is_blocked="y"))
    assert response.status_code == 400 and "cannot be set to true" in field_block(response.text, "is_blocked")
    assert snapshot(db) == before


def test_a_read_only_checkbox_left_out_of_the_post_keeps_its_value(client, login_as, db):
    """The browser posts no disabled field: a blocked customer saved by support stays blocked."""
    customer = factories.customer(db, is_blocked=True)
    login_as(Role.support)
    response = client.post(f"/admin/customer/edit/{customer.id}", data=customer_form(customer, first_name="Ann"))
    assert response.status_code == 302
    saved = fetch(db, Customer, customer.id)
    assert saved.is_blocked and saved.first_name == "Ann"


def test_a_manager_blocks_by_editing(client, login_as, db):
    customer = factories.customer(db)
    login_as(Role.manager)
    assert "disabled" not in field_block(client.get(f"/admin/customer/edit/{customer.id}").text, "is_blocked")
    assert (
        client.post(f"/admin/customer/edit/{customer.id}", data=customer_form(customer, is_blocked="y")).status_code
        == 302
    )
    assert fetch(db, Customer, customer.id).is_blocked


def test_every_declared_field_is_a_column_and_every_value_one_it_can_hold():
    """`sets` is declared next to each action: a typo there would silently limit nothing."""
    declared = 0
    for view in all_views():
        columns = inspect(view.model).columns
        for spec in actions_of(view).values():
            for name, value in spec.sets.items():
                declared += 1
                assert name in columns, f"{view.__name__}.{spec.slug} sets unknown field {name!r}"
                python_type = columns[name].type.python_type
                assert isinstance(value, python_type), f"{view.__name__}.{spec.slug}: {value!r}"
    assert declared == 7  # cancel, mark_shipped, block, unblock, activate, deactivate (products, staff)


def test_what_a_role_may_not_set_comes_from_the_matrix(app, client, login_as):
    from starlette.requests import Request

    staff = login_as(Role.support)
    request = Request({"type": "http", "state": {}})
    request.state.staff_user = staff
    view = next(v for v in app.state.admin.views if getattr(v, "identity", None) == "order")
    withheld = action_fields.withheld(view, request)
    assert set(withheld) == {"status"} and withheld["status"].values == {"cancelled"}
