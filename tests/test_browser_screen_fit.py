"""In a real browser, as a manager: every list's columns are on screen at 1440 px, and at 390 px (a phone)
the orders list is usable: its key columns on screen, the filters behind a button, nothing wider than the screen."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import Page, expect

from models import Role
from tests import factories
from tests.helpers import browser_login

LISTS = ["category", "product", "customer", "order", "order-item", "staff-user", "audit-log"]


def overflow(page: Page) -> dict[str, float]:
    """How far the page and the list's table reach past the window (0 when everything fits)."""
    return page.evaluate(
        """() => {
            const box = document.querySelector('.list-table').closest('.table-responsive');
            const right = Math.max(...[...document.querySelectorAll('.list-table thead th')]
                .filter(th => th.offsetParent !== null).map(th => th.getBoundingClientRect().right));
            return {page: document.documentElement.scrollWidth - window.innerWidth,
                    table: box.scrollWidth - box.clientWidth, right: right - window.innerWidth};
        }"""
    )


def test_every_list_fits_a_1440_px_screen(page: Page, live_server, make_staff, db, page_errors):
    manager = make_staff(Role.manager)
    customer = factories.customer(db, email="a.very.long.address.for.testing@example.com", phone="+44 20 7946 0000")
    product = factories.product(db, name="A product with a rather long name for a list", price=Decimal("12345.67"))
    factories.order(db, customer_id=customer.id, items=[(product, 3)], notes="kept")
    page.set_viewport_size({"width": 1440, "height": 900})
    browser_login(page, live_server, manager.email)
    for identity in LISTS:
        page.goto(f"{live_server}/admin/{identity}/list")
        expect(page.locator(".list-table")).to_be_visible()
        reach = overflow(page)
        assert reach["page"] <= 0 and reach["table"] <= 0 and reach["right"] <= 0, (identity, reach)
    assert page_errors == []


def test_the_orders_list_is_usable_on_a_phone(page: Page, live_server, make_staff, db, page_errors):
    manager = make_staff(Role.manager)
    order = factories.order(db, items=[(factories.product(db), 1)])
    page.set_viewport_size({"width": 390, "height": 844})
    browser_login(page, live_server, manager.email)
    page.goto(f"{live_server}/admin/order/list")
    assert overflow(page)["page"] <= 0
    row = page.locator(".list-table tbody tr").first
    for shown in (order.number, "Paid"):
        cell = row.get_by_text(shown)
        expect(cell).to_be_visible()
        assert cell.bounding_box()["x"] + cell.bounding_box()["width"] <= 390
    expect(page.locator("#filter-panel")).to_be_hidden()  # behind a button until asked for
    page.locator("#filters-toggle").click()
    expect(page.locator("#filters-apply")).to_be_visible()
    assert page_errors == []
