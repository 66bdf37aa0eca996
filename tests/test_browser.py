"""What a person does in a browser: log in, find an order, open it."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from models import Role
from tests import factories
from tests.helpers import browser_login


def test_log_in_search_an_order_and_open_it(page: Page, live_server, make_staff, db, page_errors):
    staff = make_staff(Role.support)
    wanted = factories.order(db, number="SO-0004242")
    factories.order(db, number="SO-0001111")

    browser_login(page, live_server, staff.email)
    page.get_by_role("button", name="Sales").click()
    page.get_by_role("link", name="Orders", exact=True).click()  # the menu's, not a dashboard figure
    expect(page.locator("table")).to_contain_text("SO-0001111")

    page.fill("#search-input", "4242")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(r"search=4242"))
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("SO-0004242")

    rows.first.locator("a[href*='/order/details/']").first.click()
    expect(page).to_have_url(
        re.compile(rf"/admin/order/details/{wanted.id}\?search=4242$")
    )  # the list's query, for "Go Back"
    expect(page.locator("body")).to_contain_text("SO-0004242")
    assert page_errors == []


def test_a_viewer_sees_no_buttons_to_change_or_export(page: Page, live_server, make_staff, db):
    staff = make_staff(Role.viewer)
    order = factories.order(db, number="SO-0007777")

    browser_login(page, live_server, staff.email)
    page.goto(f"{live_server}/admin/order/list")
    expect(page.locator("table")).to_contain_text("SO-0007777")
    assert page.get_by_text("New Order").count() == 0
    assert page.get_by_text("Export").count() == 0
    assert page.locator("a[href*='/order/edit/'], [data-bs-target='#modal-delete']").count() == 0
    page.goto(f"{live_server}/admin/order/details/{order.id}")
    expect(page.locator("body")).to_contain_text("SO-0007777")
    assert page.get_by_role("link", name="Edit").count() == 0
    assert page.get_by_text("Delete").count() == 0
    # Staff and audit are not in a viewer's menu at all.
    assert page.locator("[data-sqladmin-menu-category=Staff], [data-sqladmin-menu-category=Audit]").count() == 0
