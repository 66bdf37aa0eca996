"""In a real browser, as a support agent: from a customer's page to their order, change a line and add
one in the order's form, save; and a second browser's conflicting line edit is refused, both values shown."""

from __future__ import annotations

import re
from decimal import Decimal

from playwright.sync_api import Browser, Page, expect
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import OrderItem, Role
from tests import factories
from tests.helpers import browser_login


def test_a_customer_page_leads_to_the_order_whose_lines_are_edited(
    page: Page, live_server, make_staff, db, page_errors
):
    agent = make_staff(Role.support)
    customer = factories.customer(db, email="ann.lee@example.com")
    tent = factories.product(db, sku="TENT-1", name="Tent", price=Decimal("100.00"))
    stove = factories.product(db, sku="STOVE-1", name="Camping Stove", price=Decimal("25.50"))
    order = factories.order(db, customer_id=customer.id, items=[(tent, 1)], shipping_fee=Decimal("5.00"))

    browser_login(page, live_server, agent.email)
    page.goto(f"{live_server}/admin/customer/details/{customer.id}")
    panel = page.locator("#panel-order")
    expect(panel).to_contain_text(order.number)
    panel.get_by_role("link", name=order.number).click()
    expect(page.locator("#record-title")).to_have_text(f"Order {order.number}")
    expect(page.locator("#panel-order-item")).to_contain_text("TENT-1")

    page.locator("#record-edit").click()
    page.fill('input[name="items-0-quantity"]', "2")
    page.locator(".line-add").click()
    chooser = page.locator('tr[data-prefix="items-1"] .line-chooser')
    chooser.fill("STOVE")
    expect(page.locator("#items-1-choices option")).to_have_count(1)
    chooser.fill("STOVE-1 · Camping Stove")  # picking the suggestion
    expect(page.locator('input[name="items-1-unit_price"]')).to_have_value("25.50")  # the product's price
    page.locator("input[type=submit][value=Save]").click()

    expect(page).to_have_url(re.compile(r"/admin/order/list"))
    expect(page.locator(".toast, .alert").filter(has_text="was changed")).to_have_count(1)
    page.goto(f"{live_server}/admin/order/details/{order.id}")
    total = page.locator('[data-field="total"]')
    expect(total).to_contain_text("€230.50")  # 2 × 100.00 + 25.50 + 5.00 shipping
    with Session(db) as session:
        lines = session.scalars(select(OrderItem).where(OrderItem.order_id == order.id).order_by(OrderItem.id)).all()
        assert [(line.product_id, line.quantity, line.unit_price) for line in lines] == [
            (tent.id, 2, Decimal("100.00")),
            (stove.id, 1, Decimal("25.50")),
        ]
    assert page_errors == []


def test_a_line_changed_in_another_browser_is_a_conflict(browser: Browser, live_server, make_staff, db, page_errors):
    first, second = make_staff(Role.support), make_staff(Role.support)
    tent = factories.product(db, sku="TENT-1", name="Tent", price=Decimal("100.00"))
    order = factories.order(db, items=[(tent, 1)])
    pages = []
    for staff in (first, second):
        page = browser.new_page()
        browser_login(page, live_server, staff.email)
        page.goto(f"{live_server}/admin/order/edit/{order.id}")
        pages.append(page)
    mine, theirs = pages

    theirs.fill('input[name="items-0-quantity"]', "3")
    theirs.locator("input[type=submit][value=Save]").click()
    expect(theirs).to_have_url(re.compile(r"/admin/order/list"))

    mine.fill('input[name="items-0-quantity"]', "5")
    mine.locator("input[type=submit][value=Save]").click()
    conflict = mine.locator("#edit-conflict")
    expect(conflict).to_contain_text(re.compile("changed by someone else", re.IGNORECASE))
    row = conflict.locator('tr[data-field="items-0-quantity"]')
    expect(row.locator(".theirs")).to_have_text("3")
    expect(row.locator(".yours")).to_have_text("5")
    expect(mine.locator('input[name="items-0-quantity"]')).to_have_value("5")  # the input is kept
    with Session(db) as session:
        assert session.scalars(select(OrderItem.quantity).where(OrderItem.order_id == order.id)).all() == [3]
    for page in pages:
        page.close()
