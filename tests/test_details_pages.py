"""Details pages for people: a record titled by its label, fields formatted, related rows in panels (one
statement each), actions only where they apply; error pages inside the layout."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

from models import OrderStatus, Role
from tests import factories
from tests.helpers import recorded_statements, shown_text


def panel(page: str, identity: str) -> str:
    return page.split(f'id="panel-{identity}"', 1)[1].split('class="col-12 p-0 related-panel"', 1)[0]


def test_a_customer_page_shows_their_orders_count_and_amount_spent(client, login_as, db):
    customer = factories.customer(db, email="ann@example.com")
    tent = factories.product(db, price=Decimal("1000.00"))
    statuses = [
        OrderStatus.paid,
        OrderStatus.shipped,
        OrderStatus.delivered,
        OrderStatus.cancelled,
        OrderStatus.refunded,
    ]
    orders = [factories.order(db, customer_id=customer.id, status=s, items=[(tent, 1)]) for s in statuses * 3]
    login_as(Role.support)
    page = client.get(f"/admin/customer/details/{customer.id}").text
    assert '<h2 class="page-title" id="record-title">Customer ann@example.com</h2>' in page
    orders_panel = panel(page, "order")
    assert 'data-count="15"' in page
    assert "€9,000.00" in orders_panel  # paid, shipped, delivered: 9 × 1,000.00; cancelled and refunded are not spent
    newest = sorted(orders, key=lambda o: o.placed_at, reverse=True)
    shown = re.findall(r">(SO-\d+)</a>", orders_panel)
    assert shown == [o.number for o in newest[:10]]
    assert newest[0].number not in orders_panel.replace(f">{newest[0].number}</a>", "")  # the label once a row
    link = re.search(r'href="([^"]+)"[^>]*>\s*All 15', orders_panel).group(1)
    assert link.endswith(f"/admin/order/list?customer={customer.id}")
    assert "of 15 items" in shown_text(client.get(link).text)


def test_each_panel_is_one_statement_however_many_rows(client, login_as, db):
    few, many = factories.customer(db), factories.customer(db)
    tent = factories.product(db)
    factories.order(db, customer_id=few.id, items=[(tent, 1)])
    for _ in range(14):
        factories.order(db, customer_id=many.id, items=[(tent, 1)])
    login_as(Role.support)
    counts = []
    for customer in (few, many):
        with recorded_statements(db) as statements:
            assert client.get(f"/admin/customer/details/{customer.id}").status_code == 200
        counts.append(len([s for s in statements if "count(*) OVER ()" in s]))
    assert counts == [1, 1]


def test_product_and_category_pages_show_their_related_rows(client, login_as, db):
    category = factories.category(db, name="Camping")
    tent = factories.product(db, category_id=category.id, sku="TENT-1", name="Tent")
    order = factories.order(db, items=[(tent, 2)])
    login_as(Role.support)
    product_page = client.get(f"/admin/product/details/{tent.id}").text
    assert order.number in panel(product_page, "order-item")
    assert f"/admin/order-item/list?product={tent.id}" in product_page
    category_page = client.get(f"/admin/category/details/{category.id}").text
    assert "TENT-1" in panel(category_page, "product")


def test_values_are_formatted_and_bookkeeping_is_hidden(client, login_as, db):
    tent = factories.product(db, price=Decimal("1234.50"))
    order = factories.order(db, items=[(tent, 1)], placed_at=datetime(2025, 12, 30, 7, 19, 26, 123456, tzinfo=UTC))
    login_as(Role.admin)
    listed = client.get("/admin/order/list").text
    assert '<td class="text-end"><span class="money" data-value="1234.50">€1,234.50</span></td>' in listed
    assert 'title="2025-12-30 07:19:26 UTC">2025-12-30 07:19</time>' in listed
    assert ".123456" not in listed and "07:19:26+00:00</" not in listed
    assert '<span class="badge bg-blue-lt" data-value="paid">Paid</span>' in listed
    details = client.get(f"/admin/order/details/{order.id}").text
    assert f"Order {order.number}</h2>" in details and 'data-field="version"' not in details
    staff_page = client.get("/admin/staff-user/list").text
    assert "session_epoch" not in staff_page and "Session epoch" not in staff_page
    assert 'class="badge bg-green-lt" data-value="true">Yes</span>' in staff_page


def test_actions_show_only_where_they_apply(client, login_as, db):
    tent = factories.product(db)
    paid = factories.order(db, status=OrderStatus.paid, items=[(tent, 1)])
    shipped = factories.order(db, status=OrderStatus.shipped, items=[(tent, 1)])
    login_as(Role.manager)
    paid_page = client.get(f"/admin/order/details/{paid.id}").text
    assert 'id="record-action-mark_shipped"' in paid_page and ">Cancel order<" in paid_page
    shipped_page = client.get(f"/admin/order/details/{shipped.id}").text
    assert "record-action-mark_shipped" not in shipped_page and "Cancel order" not in shipped_page
    active = factories.customer(db)
    blocked = factories.customer(db, is_blocked=True)
    active_page = client.get(f"/admin/customer/details/{active.id}").text
    assert 'id="record-action-block"' in active_page and "record-action-unblock" not in active_page
    blocked_page = client.get(f"/admin/customer/details/{blocked.id}").text
    assert 'id="record-action-unblock"' in blocked_page and "record-action-block" not in blocked_page


def test_error_pages_keep_the_menu_and_a_way_back(client, login_as, db):
    login_as(Role.support)
    missing = client.get("/admin/order/details/999999")
    assert missing.status_code == 404
    assert 'id="error-page" data-status="404"' in missing.text and 'id="menu-logout"' in missing.text
    assert 'id="error-list"' in missing.text and 'id="error-home"' in missing.text
    denied = client.get("/admin/staff-user/list")
    assert denied.status_code == 403
    assert "Your role does not allow this" in denied.text and 'id="navbar-menu"' in denied.text


def test_the_audit_log_names_records_by_their_label(client, login_as, db):
    tent = factories.product(db)
    order = factories.order(db, items=[(tent, 1)])
    login_as(Role.admin)
    client.post("/admin/order/action/cancel", data={"pks": str(order.id)})
    listed = client.get("/admin/audit-log/list?action=cancel").text
    row = listed.split("<tbody>", 1)[1]
    assert f"<td>{order.number}</td>" in row and "<td>Order</td>" in row and "<td>Cancel</td>" in row
