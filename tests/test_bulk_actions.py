"""Bulk actions: a confirmation page that says what will happen, then one POST, one transaction, one
audit row per changed row, and the result in words. Permissions are the action's slug."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_site.forms import bulk_actions as actions
from admin_site.refusals import ChangeRefused
from models import AuditLog, Customer, Order, OrderStatus, Product, Role, StaffUser
from tests import factories
from tests.helpers import fetch, shown_text


def audit_rows(db, action):
    with Session(db) as session:
        return session.execute(
            select(AuditLog.entity, AuditLog.entity_pk, AuditLog.changes, AuditLog.staff_user_id)
            .where(AuditLog.action == action)
            .order_by(AuditLog.id)
        ).all()


@pytest.fixture
def orders(db):
    paid = [factories.order(db, status=OrderStatus.paid) for _ in range(3)]
    pending = factories.order(db, status=OrderStatus.pending)
    shipped = factories.order(db, status=OrderStatus.shipped, shipped_at=datetime(2026, 1, 1, tzinfo=UTC))
    return {"paid": paid, "pending": pending, "shipped": shipped}


def test_the_list_opens_the_confirmation_page(client, login_as, orders):
    login_as(Role.admin)
    page = client.get("/admin/order/list").text
    assert 'data-url="http://testserver/admin/order/confirm/mark_shipped"' in page
    assert 'data-url="http://testserver/admin/order/confirm/cancel"' in page


def test_mark_shipped_confirms_then_ships_only_paid_orders(client, login_as, db, orders):
    staff = login_as(Role.support)  # support may ship (permission "mark_shipped"), not cancel
    pks = ",".join(str(o.id) for o in [*orders["paid"], orders["pending"]])
    confirm = client.get(f"/admin/order/confirm/mark_shipped?pks={pks}")
    assert confirm.status_code == 200
    text = shown_text(confirm.text)
    assert "4 orders selected: 3 orders will be shipped; 1 will be skipped: 1 not paid." in text
    assert 'action="http://testserver/admin/order/action/mark_shipped"' in confirm.text
    assert 'name="csrf_token"' in confirm.text and f'name="pks" value="{pks}"' in confirm.text
    assert all(fetch(db, Order, o.id).status == OrderStatus.paid for o in orders["paid"])  # a dry run
    assert audit_rows(db, "mark_shipped") == []

    done = client.post("/admin/order/action/mark_shipped", data={"pks": pks, "next": "/admin/order/list"})
    assert done.status_code == 303 and done.headers["location"] == "/admin/order/list"
    assert "3 orders shipped; 1 skipped: not paid." in shown_text(client.get("/admin/order/list").text)
    for order in orders["paid"]:
        saved = fetch(db, Order, order.id)
        assert saved.status == OrderStatus.shipped and saved.shipped_at is not None and saved.version == 2
    assert fetch(db, Order, orders["pending"].id).status == OrderStatus.pending
    rows = audit_rows(db, "mark_shipped")
    assert [pk for _, pk, _, _ in rows] == [str(o.id) for o in orders["paid"]]
    entity, _, changes, who = rows[0]
    assert entity == "order" and who == staff.id
    assert changes["status"] == {"before": "paid", "after": "shipped"} and changes["shipped_at"]["before"] is None
    assert changes["version"] == {"before": 1, "after": 2}


def test_actions_answer_post_only_and_obey_the_matrix(client, login_as, db, orders):
    login_as(Role.support)
    pk = orders["pending"].id
    assert client.get(f"/admin/order/action/cancel?pks={pk}").status_code == 405
    assert client.get(f"/admin/order/confirm/cancel?pks={pk}").status_code == 403
    assert client.post("/admin/order/action/cancel", data={"pks": str(pk)}).status_code == 403
    assert client.get(f"/admin/customer/confirm/block?pks={pk}").status_code == 403
    assert 'confirm/cancel"' not in client.get("/admin/order/list").text  # no button either
    assert fetch(db, Order, pk).status == OrderStatus.pending


def test_viewer_may_not_ship(client, login_as, orders):
    login_as(Role.viewer)
    pk = orders["paid"][0].id
    assert client.get(f"/admin/order/confirm/mark_shipped?pks={pk}").status_code == 403
    assert client.post("/admin/order/action/mark_shipped", data={"pks": str(pk)}).status_code == 403


def test_cancel_only_pending_or_paid(client, login_as, db, orders):
    login_as(Role.manager)
    pks = f"{orders['pending'].id},{orders['paid'][0].id},{orders['shipped'].id},999999"
    client.post("/admin/order/action/cancel", data={"pks": pks})
    text = shown_text(client.get("/admin/order/list").text)
    assert "2 orders cancelled; 2 skipped: 1 already shipped, 1 no longer exists." in text
    assert fetch(db, Order, orders["pending"].id).status == OrderStatus.cancelled
    assert fetch(db, Order, orders["shipped"].id).status == OrderStatus.shipped


def test_products_and_customers(client, login_as, db):
    login_as(Role.manager)
    active, inactive = factories.product(db), factories.product(db, is_active=False)
    client.post("/admin/product/action/deactivate", data={"pks": f"{active.id},{inactive.id}"})
    assert "1 product deactivated; 1 skipped: already inactive." in shown_text(client.get("/admin/product/list").text)
    assert fetch(db, Product, active.id).is_active is False
    client.post("/admin/product/action/activate", data={"pks": f"{active.id},{inactive.id}"})
    assert fetch(db, Product, active.id).is_active and fetch(db, Product, inactive.id).is_active

    customer = factories.customer(db)
    client.post("/admin/customer/action/block", data={"pks": str(customer.id)})
    assert fetch(db, Customer, customer.id).is_blocked
    client.post("/admin/customer/action/unblock", data={"pks": str(customer.id)})
    assert not fetch(db, Customer, customer.id).is_blocked
    assert [c["is_blocked"] for _, _, c, _ in audit_rows(db, "block") + audit_rows(db, "unblock")] == [
        {"before": False, "after": True},
        {"before": True, "after": False},
    ]


def test_staff_deactivate_admins_only_never_oneself(client, login_as, db, make_staff):
    other_admin = make_staff(Role.admin)
    agent = make_staff(Role.support)
    gone = make_staff(Role.viewer, is_active=False)
    me = login_as(Role.admin)
    pks = f"{me.id},{other_admin.id},{agent.id},{gone.id}"
    confirm = shown_text(client.get(f"/admin/staff-user/confirm/deactivate?pks={pks}").text)
    assert "2 staff users will be deactivated" in confirm and "1 you cannot deactivate yourself" in confirm
    client.post("/admin/staff-user/action/deactivate", data={"pks": pks})
    text = shown_text(client.get("/admin/staff-user/list").text)
    assert "2 staff users deactivated; 2 skipped:" in text and "you cannot deactivate yourself" in text
    assert fetch(db, StaffUser, me.id).is_active
    assert not fetch(db, StaffUser, other_admin.id).is_active and not fetch(db, StaffUser, agent.id).is_active


def test_managers_cannot_deactivate_staff(client, login_as, db, make_staff):
    agent = make_staff(Role.support)
    login_as(Role.manager)
    assert client.post("/admin/staff-user/action/deactivate", data={"pks": str(agent.id)}).status_code == 403
    assert fetch(db, StaffUser, agent.id).is_active


def test_the_last_active_admin_is_never_deactivated(app, db, make_staff):
    """Reached only by a script (the person acting is an admin and cannot pick themselves)."""
    last = make_staff(Role.admin)
    view = next(v for v in app.state.admin.views if getattr(v, "identity", None) == "staff-user")
    request = SimpleNamespace(state=SimpleNamespace(staff_user=SimpleNamespace(id=None)), client=None)
    outcome = actions.execute(view, request, actions.action_of(view, "deactivate"), [str(last.id)], commit=True)
    assert outcome.skipped == {"the last active admin": 1} and fetch(db, StaffUser, last.id).is_active


def test_a_refusal_midway_rolls_the_whole_action_back(app, db, orders):
    view = next(v for v in app.state.admin.views if getattr(v, "identity", None) == "order")
    spec = actions.action_of(view, "mark_shipped")
    broken = actions.BulkAction(
        spec.slug,
        spec.label,
        spec.done,
        lambda v, order, r: (
            setattr(order, "shipping_fee", Decimal(-1))
            if order.id == orders["paid"][1].id
            else spec.change(v, order, r)
        ),
    )
    request = SimpleNamespace(state=SimpleNamespace(staff_user=None), client=None)
    with pytest.raises(ChangeRefused, match=re.escape("Shipping fee cannot be negative. Nothing was changed.")):
        actions.execute(view, request, broken, [str(o.id) for o in orders["paid"]], commit=True)
    assert all(fetch(db, Order, o.id).status == OrderStatus.paid for o in orders["paid"])
    assert audit_rows(db, "mark_shipped") == []


def test_nothing_selected(client, login_as, orders):
    login_as(Role.admin)
    assert "Select at least one order" in client.get("/admin/order/confirm/mark_shipped?pks=").text
    client.post("/admin/order/action/mark_shipped", data={"pks": ""})
    assert "Select at least one order first." in shown_text(client.get("/admin/order/list").text)


def test_next_never_leaves_the_admin(client, login_as, orders):
    login_as(Role.admin)
    response = client.post(
        "/admin/order/action/cancel", data={"pks": str(orders["pending"].id), "next": "https://evil.example/admin/"}
    )
    assert response.headers["location"] == "/admin/order/list"


def test_orders_placed_in_the_future_are_not_shipped(client, login_as, db):
    login_as(Role.admin)
    future = factories.order(db, status=OrderStatus.paid, placed_at=datetime.now(UTC) + timedelta(days=2))
    client.post("/admin/order/action/mark_shipped", data={"pks": str(future.id)})
    assert "0 orders shipped; 1 skipped: placed in the future." in shown_text(client.get("/admin/order/list").text)


def test_summary_wording():
    view = SimpleNamespace(name="Order", name_plural="Orders")
    spec = actions.BulkAction("mark_shipped", "Mark as shipped", "shipped", lambda *a: None)
    outcome = actions.Outcome(changed=["x"] * 12)
    outcome.skipped["not paid"] += 3
    assert actions.summary(view, spec, outcome) == "12 orders shipped; 3 skipped: not paid."
