"""In a browser: filter the orders, export what is on screen, come back to the same list, save the view."""

from __future__ import annotations

import csv
import re
from datetime import timedelta

from playwright.sync_api import Page, expect

from models import OrderStatus, Role
from tests import factories
from tests.helpers import browser_login


def test_filter_export_and_come_back(page: Page, live_server, make_staff, db, page_errors):
    staff = make_staff(Role.support)
    book = factories.product(db)
    customer = factories.customer(db, email="=cmd@example.com")
    start = factories.BASE_TIME + timedelta(days=400)
    wanted, others = [], []
    for n in range(8):
        status = (OrderStatus.refunded, OrderStatus.paid)[n % 2]
        placed = start + timedelta(days=n)
        order = factories.order(
            db, customer.id, [(book, 1 + n)], number=f"SO-66{n:05}", status=status, placed_at=placed
        )
        (wanted if status is OrderStatus.refunded and 2 <= n <= 6 else others).append(order)

    browser_login(page, live_server, staff.email)
    page.goto(f"{live_server}/admin/order/list")
    page.locator("#filters-toggle").click()  # the filters sit behind one button, applied by one Apply
    status_filter = page.locator('.list-filter[data-filter="status"]')
    status_filter.get_by_label("Refunded").check()
    dates = page.locator('.list-filter[data-filter="placed_at"]')
    dates.get_by_label("Placed at from").fill((start + timedelta(days=2)).date().isoformat())
    dates.get_by_label("Placed at to").fill((start + timedelta(days=6)).date().isoformat())
    page.locator("#filters-apply").click()
    expect(page).to_have_url(re.compile(r"status=refunded.*placed_at__lte="))
    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(len(wanted))
    on_screen = [rows.nth(i).locator("td").nth(3).inner_text().strip() for i in range(rows.count())]  # numbers

    page.get_by_role("link", name="Export").click()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV").click()
    with open(download_info.value.path(), newline="") as handle:
        exported = list(csv.reader(handle))
    assert exported[0][:2] == ["id", "number"]
    assert [row[1] for row in exported[1:]] == on_screen
    assert sorted(on_screen) == sorted(o.number for o in wanted)
    assert all(row[2] == "'=cmd@example.com" for row in exported[1:])  # neutralised for spreadsheets

    # Open a row, then "Go Back": the same filtered list.
    list_url = page.url
    rows.first.locator("a[href*='/order/details/']").first.click()
    expect(page).to_have_url(re.compile(r"/order/details/\d+\?"))
    page.get_by_role("link", name="Go Back").click()
    expect(page).to_have_url(list_url)
    expect(page.locator("table tbody tr")).to_have_count(len(wanted))

    # Save this view, start afresh, pick it again.
    page.locator("#saved-views-button").click()
    page.get_by_placeholder("Name this view").fill("Refunds, that week")
    page.get_by_role("button", name="Save this view").click()
    page.goto(f"{live_server}/admin/order/list")
    expect(page.locator("table tbody tr")).to_have_count(len(wanted) + len(others))
    page.locator("#saved-views-button").click()
    page.get_by_role("link", name="Refunds, that week").click()
    expect(page.locator("table tbody tr")).to_have_count(len(wanted))
    assert page_errors == []
