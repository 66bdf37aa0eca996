"""An order's lines, edited in the order's own form: one POST, one transaction, versioned, audited, and
every line's CHECK refused next to that line."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from models import AuditLog, Order, OrderItem, Role
from tests import factories
from tests.helpers import fetch, order_form


@pytest.fixture
def order_with_lines(db):
    tent = factories.product(db, sku="TENT-1", name="Tent", price=Decimal("100.00"))
    stove = factories.product(db, sku="STOVE-1", name="Stove", price=Decimal("25.50"))
    lamp = factories.product(db, sku="LAMP-1", name="Lamp", price=Decimal("9.99"))
    order = factories.order(db, items=[(tent, 1), (stove, 2)])
    return order, lines_of(db, order.id), {"tent": tent, "stove": stove, "lamp": lamp}


def lines_of(db, order_id: int) -> list[OrderItem]:
    with Session(db) as session:
        return list(session.scalars(select(OrderItem).where(OrderItem.order_id == order_id).order_by(OrderItem.id)))


def lines_form(lines: list[OrderItem], **changes: str) -> dict[str, str]:
    """The lines as the edit page posts them (id, version, product, quantity, unit price), then `changes`."""
    form = {"items__shown": ",".join(str(line.id) for line in lines)}
    for i, line in enumerate(lines):
        form |= {
            f"items-{i}-id": str(line.id),
            f"items-{i}-version": str(line.version),
            f"items-{i}-product": str(line.product_id),
            f"items-{i}-quantity": str(line.quantity),
            f"items-{i}-unit_price": str(line.unit_price),
        }
    return form | changes


def audit_actions(db, entity: str) -> list[str]:
    with Session(db) as session:
        return list(session.scalars(select(AuditLog.action).where(AuditLog.entity == entity).order_by(AuditLog.id)))


def test_lines_are_changed_added_and_removed_in_one_post(client, login_as, db, order_with_lines):
    order, (tent_line, stove_line), products = order_with_lines
    login_as(Role.support)
    form = order_form(order) | lines_form(
        [tent_line, stove_line],
        **{"items-0-quantity": "3", "items-1-delete": "y"},
        **{"items-2-product": str(products["lamp"].id), "items-2-quantity": "4", "items-2-unit_price": "9.99"},
    )
    response = client.post(f"/admin/order/edit/{order.id}", data=form)
    assert response.status_code == 302, response.text[-1500:]
    lines = lines_of(db, order.id)
    assert [(line.product_id, line.quantity) for line in lines] == [(products["tent"].id, 3), (products["lamp"].id, 4)]
    assert audit_actions(db, "order-item") == ["update", "delete", "create"]
    details = client.get(f"/admin/order/details/{order.id}").text
    assert "€339.96" in details  # 3 × 100.00 + 4 × 9.99


def test_a_line_left_out_of_the_form_is_removed(client, login_as, db, order_with_lines):
    order, (tent_line, stove_line), _ = order_with_lines
    login_as(Role.support)
    form = order_form(order) | lines_form([tent_line]) | {"items__shown": f"{tent_line.id},{stove_line.id}"}
    assert client.post(f"/admin/order/edit/{order.id}", data=form).status_code == 302
    assert [line.id for line in lines_of(db, order.id)] == [tent_line.id]


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"items-1-quantity": "0"}, "items-1-quantity", "Quantity must be greater than 0"),
        ({"items-0-unit_price": "-1"}, "items-0-unit_price", "Unit price cannot be negative"),
    ],
)
def test_a_line_breaking_a_check_is_refused_next_to_it_and_nothing_changes(
    client, login_as, db, order_with_lines, changes, field, message
):
    order, lines, _ = order_with_lines
    login_as(Role.support)
    before = [(line.quantity, line.unit_price, line.version) for line in lines]
    form = order_form(order, notes="changed too") | lines_form(lines, **changes)
    response = client.post(f"/admin/order/edit/{order.id}", data=form)
    assert response.status_code == 400
    block = response.text.split(f'name="{field}"', 1)[1][:600]
    assert "is-invalid" in response.text.split(f'name="{field}"', 1)[0][-300:] or "invalid-feedback" in block
    assert message in response.text
    assert [(line.quantity, line.unit_price, line.version) for line in lines_of(db, order.id)] == before
    assert fetch(db, Order, order.id).notes != "changed too"  # the order and its lines: together or not at all


def test_the_database_refusing_a_line_names_that_line_and_writes_nothing(client, login_as, db, order_with_lines):
    """Two lines of one product break unique(order_id, product_id): only PostgreSQL knows."""
    order, (tent_line, stove_line), products = order_with_lines
    login_as(Role.support)
    form = order_form(order, notes="never saved") | lines_form(
        [tent_line, stove_line], **{"items-1-product": str(products["tent"].id)}
    )
    response = client.post(f"/admin/order/edit/{order.id}", data=form)
    assert response.status_code == 400
    assert 'class="form-control form-control-sm line-chooser is-invalid"' in response.text
    assert [line.product_id for line in lines_of(db, order.id)] == [products["tent"].id, products["stove"].id]
    assert fetch(db, Order, order.id).notes != "never saved"
    assert audit_actions(db, "order-item") == []


def test_an_order_keeps_at_least_one_line(client, login_as, db, order_with_lines):
    order, lines, _ = order_with_lines
    login_as(Role.support)
    form = order_form(order) | lines_form(lines, **{"items-0-delete": "y", "items-1-delete": "y"})
    response = client.post(f"/admin/order/edit/{order.id}", data=form)
    assert response.status_code == 400 and "Add at least one line." in response.text
    assert len(lines_of(db, order.id)) == 2


def test_a_line_changed_since_the_form_was_shown_is_a_conflict_with_both_values(client, login_as, db, order_with_lines):
    order, lines, _ = order_with_lines
    login_as(Role.support)
    with db.begin() as conn:  # someone else, outside the admin
        conn.execute(
            text("UPDATE order_items SET quantity = 7, version = version + 1 WHERE id = :id"), {"id": lines[0].id}
        )
    form = order_form(order) | lines_form(lines, **{"items-0-quantity": "5"})
    response = client.post(f"/admin/order/edit/{order.id}", data=form)
    assert response.status_code == 400
    conflict = response.text.split('id="edit-conflict"', 1)[1]
    row = conflict.split('data-field="items-0-quantity"', 1)[1][:300]
    assert '<td class="theirs">7</td>' in row and '<td class="yours">5</td>' in row
    assert f'name="items-0-version" value="{lines[0].version + 1}"' in response.text  # saving again means "mine"
    assert lines_of(db, order.id)[0].quantity == 7


def test_a_line_added_by_someone_else_is_not_silently_removed(client, login_as, db, order_with_lines):
    order, lines, products = order_with_lines
    login_as(Role.support)
    factories_line = OrderItem(
        order_id=order.id, product_id=products["lamp"].id, quantity=1, unit_price=Decimal("9.99")
    )
    with Session(db) as session:
        session.add(factories_line)
        session.commit()
    response = client.post(f"/admin/order/edit/{order.id}", data=order_form(order) | lines_form(lines))
    assert response.status_code == 400 and "someone else added a line" in response.text
    assert len(lines_of(db, order.id)) == 3


def test_a_new_order_gets_its_number_and_placed_at_from_the_server_and_needs_a_line(client, login_as, db):
    customer = factories.customer(db)
    tent = factories.product(db, price=Decimal("10.00"))
    login_as(Role.support)
    page = client.get("/admin/order/create").text
    assert 'name="number"' not in page and 'name="items-0-product"' in page
    assert 'name="placed_at"' in page and 'value=""' not in page.split('name="placed_at"', 1)[1][:80]
    fields = {"customer": str(customer.id), "status": "pending", "placed_at": "2025-05-01 10:00:00",
              "discount_pct": "0", "shipping_fee": "0"}  # fmt: skip
    refused = client.post("/admin/order/create", data=fields)
    assert refused.status_code == 400 and "Add at least one line." in refused.text
    line = {"items-0-product": str(tent.id), "items-0-quantity": "2", "items-0-unit_price": "10.00"}
    assert client.post("/admin/order/create", data=fields | line).status_code == 302
    with Session(db) as session:
        created = session.scalars(select(Order)).one()
        assert created.number == f"SO-{created.id:07d}"
        assert [(i.product_id, i.quantity) for i in created.items] == [(tent.id, 2)]
    assert audit_actions(db, "order") == ["create"] and audit_actions(db, "order-item") == ["create"]


def test_the_line_look_up_offers_products_with_their_price(client, login_as, db):
    factories.product(db, sku="TENT-9", name="Big Tent", price=Decimal("120.00"))
    login_as(Role.support)
    found = client.get("/admin/order/inline-lookup/items?term=TENT-9").json()["results"]
    assert [(r["text"], r["defaults"]) for r in found] == [("TENT-9 · Big Tent", {"unit_price": "120.00"})]
    assert client.get("/admin/order/inline-lookup/nothing?term=a").status_code == 404
    login_as(Role.viewer)
    assert client.get("/admin/order/inline-lookup/items?term=TENT").status_code == 403
