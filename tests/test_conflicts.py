"""Optimistic locking: a save or a delete based on a stale page is refused, and nothing is overwritten.
Deleting several rows is one transaction: one row that cannot go, and none goes."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import AuditLog, Customer, Order, OrderItem, Product, Role
from tests import factories
from tests.helpers import browser_client, fetch, field_block, login, order_form


@pytest.fixture
def second_client(app):
    with browser_client(app) as other:
        yield other


def version_on(page: str) -> str:
    found = re.search(r'<input id="version" name="version" type="hidden" value="(\d*)">', page)
    assert found, "the edit form carries no version"
    return found.group(1)


def test_the_edit_form_round_trips_the_version(client, login_as, db):
    login_as(Role.admin)
    order = factories.order(db)
    assert version_on(client.get(f"/admin/order/edit/{order.id}").text) == "1"
    assert client.post(f"/admin/order/edit/{order.id}", data=order_form(order, shipping_fee="2")).status_code == 302
    assert fetch(db, Order, order.id).version == 2
    assert version_on(client.get(f"/admin/order/edit/{order.id}").text) == "2"
    assert "version" not in client.get("/admin/order/list").text.lower().split("<tbody>")[0]  # not a list column


def test_two_people_editing_the_same_order(client, second_client, make_staff, db):
    alice, bob = make_staff(Role.admin, email="alice@shop.example"), make_staff(Role.support, email="bob@shop.example")
    assert login(client, alice.email).status_code == 302 and login(second_client, bob.email).status_code == 302
    order = factories.order(db, shipping_fee=Decimal("1.00"), notes=None)
    seen_by_alice = version_on(client.get(f"/admin/order/edit/{order.id}").text)
    seen_by_bob = version_on(second_client.get(f"/admin/order/edit/{order.id}").text)

    first = client.post(
        f"/admin/order/edit/{order.id}",
        data=order_form(order, shipping_fee="5.00", discount_pct="10", version=seen_by_alice),
    )
    assert first.status_code == 302

    second = second_client.post(
        f"/admin/order/edit/{order.id}",
        data=order_form(order, shipping_fee="7.50", notes="Bob's note", version=seen_by_bob),
    )
    assert second.status_code == 400
    page = second.text
    assert "Someone else (alice@shop.example) saved this order after you opened it" in page
    conflict = page.split('id="conflict-fields"')[1].split("</table>")[0]
    assert re.search(
        r'data-field="shipping_fee">.*?<td class="theirs">5\.00</td><td class="yours">7\.50</td>', conflict
    )
    assert 'data-field="discount_pct"' in conflict  # Alice changed it; Bob's form still says 0
    assert "Bob&#39;s note" in field_block(page, "notes") and 'value="7.50"' in field_block(page, "shipping_fee")
    saved = fetch(db, Order, order.id)
    assert saved.shipping_fee == Decimal("5.00") and saved.discount_pct == Decimal("10.00") and saved.notes is None
    assert saved.version == 2
    with Session(db) as session:
        assert session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "update")) == 1

    # The refused form now carries the current version: saving again is a deliberate overwrite.
    assert version_on(page) == "2"
    again = second_client.post(
        f"/admin/order/edit/{order.id}",
        data=order_form(order, shipping_fee="7.50", notes="Bob's note", version=version_on(page)),
    )
    assert again.status_code == 302
    assert fetch(db, Order, order.id).shipping_fee == Decimal("7.50")


def test_a_change_made_outside_the_admin_also_conflicts(client, login_as, db):
    login_as(Role.admin)
    order = factories.order(db, shipping_fee=Decimal("1.00"))
    with Session(db) as session:  # a script, not audited: the conflict lists what differs
        session.get(Order, order.id).shipping_fee = Decimal("9.00")
        session.commit()
    response = client.post(f"/admin/order/edit/{order.id}", data=order_form(order, shipping_fee="1.00", version="1"))
    assert response.status_code == 400 and "saved this order after you opened it" in response.text
    assert re.search(r'<td class="theirs">9\.00</td><td class="yours">1\.00</td>', response.text)
    assert fetch(db, Order, order.id).shipping_fee == Decimal("9.00")


def test_a_version_that_is_not_a_number_is_a_conflict(client, login_as, db):
    login_as(Role.admin)
    order = factories.order(db)
    response = client.post(f"/admin/order/edit/{order.id}", data=order_form(order, shipping_fee="3", version="x"))
    assert response.status_code == 400 and fetch(db, Order, order.id).version == 1


@pytest.mark.parametrize("version", [None, ""])
def test_an_edit_that_does_not_say_its_version_is_refused(client, login_as, db, version):
    """Unchecked, it would overwrite whatever was saved since: a hand-made or truncated form changes nothing."""
    login_as(Role.admin)
    order = factories.order(db, shipping_fee=Decimal("1.00"), notes="As it was")
    form = {k: v for k, v in order_form(order, shipping_fee="7.00", notes="Typed in", version=version).items()
            if v is not None}  # fmt: skip
    response = client.post(f"/admin/order/edit/{order.id}", data=form)
    assert response.status_code == 400
    assert "did not say which version of this order it showed" in response.text
    assert "Typed in" in response.text  # the input is kept
    saved = fetch(db, Order, order.id)
    assert (saved.version, saved.shipping_fee, saved.notes) == (1, Decimal("1.00"), "As it was")


def test_delete_links_carry_the_version_shown(client, login_as, db):
    login_as(Role.admin)
    product = factories.product(db)
    assert f"delete?pks={product.id}&amp;versions=1" in client.get(f"/admin/product/details/{product.id}").text
    assert f"delete?pks={product.id}&amp;versions=1" in client.get("/admin/product/list").text


def test_deleting_a_row_changed_since_it_was_shown_is_refused(client, login_as, db):
    login_as(Role.admin)
    product = factories.product(db)
    with Session(db) as session:
        session.get(Product, product.id).name = "Renamed meanwhile"
        session.commit()
    response = client.delete(f"/admin/product/delete?pks={product.id}&versions=1")
    assert response.status_code == 200 and "changed+by+someone+else" in response.text
    assert fetch(db, Product, product.id) is not None
    assert client.delete(f"/admin/product/delete?pks={product.id}&versions=2").status_code == 200
    assert fetch(db, Product, product.id) is None


def test_bulk_delete_with_one_undeletable_row_changes_nothing(client, login_as, db):
    login_as(Role.admin)
    free = factories.customer(db, email="free@example.com")
    ordered = factories.customer(db, email="ordered@example.com")
    factories.order(db, customer_id=ordered.id)  # the foreign key keeps this customer
    also_free = factories.customer(db, email="also.free@example.com")
    pks = f"{free.id},{ordered.id},{also_free.id}"
    response = client.delete(f"/admin/customer/delete?pks={pks}&versions=1,1,1")
    assert response.status_code == 200
    assert "ordered%40example.com" in response.text and "Nothing+was+deleted" in response.text
    for customer in (free, ordered, also_free):
        assert fetch(db, Customer, customer.id) is not None
    with Session(db) as session:
        assert session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "delete")) == 0


def test_bulk_delete_removes_all_in_one_go_and_audits_each(client, login_as, db):
    login_as(Role.admin)
    first, second = factories.product(db), factories.product(db)
    order = factories.order(db, items=[(first, 1)])
    client.delete(f"/admin/order/delete?pks={order.id}")
    response = client.delete(f"/admin/product/delete?pks={first.id},{second.id}&versions=1,1")
    assert "error" not in response.text
    assert fetch(db, Product, first.id) is None and fetch(db, Product, second.id) is None
    with Session(db) as session:
        deletes = session.execute(
            select(AuditLog.entity, AuditLog.entity_pk, AuditLog.changes)
            .where(AuditLog.action == "delete")
            .order_by(AuditLog.id)
        ).all()
    entities = [(e, pk) for e, pk, _ in deletes]
    assert ("order", str(order.id)) in entities and ("product", str(first.id)) in entities
    item = next(c for e, _, c in deletes if e == "order-item")  # deleted with its order, recorded with it
    assert item["quantity"] == {"before": 1, "after": None}
    assert item["deleted_with"]["before"] == f"order {order.id}"
    assert fetch(db, OrderItem, 1) is None


def test_a_delete_request_with_versions_for_some_rows_only_is_refused(client, login_as, db):
    login_as(Role.admin)
    first, second = factories.product(db), factories.product(db)
    response = client.delete(f"/admin/product/delete?pks={first.id},{second.id}&versions=1")
    assert "Nothing+was+deleted" in response.text
    assert fetch(db, Product, first.id) is not None and fetch(db, Product, second.id) is not None
