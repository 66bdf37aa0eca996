"""In a real browser: "Delete selected items" sends the versions the page showed, and a bulk action
goes through its confirmation page."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from models import Order, OrderStatus, Product, Role
from tests import factories
from tests.helpers import browser_login, fetch


def select_rows(page: Page, count: int) -> None:
    boxes = page.locator("table tbody input.select-box")
    for i in range(count):
        boxes.nth(i).check()


def delete_selected(page: Page) -> None:
    page.get_by_role("button", name="Actions").click()
    page.locator("#action-delete").click()
    button = page.locator("#modal-delete-button")
    expect(button).to_have_attribute("data-url", re.compile(r"/delete\?pks="))  # set once the modal is shown
    with page.expect_navigation():
        button.click()


def test_bulk_delete_sends_versions_and_refuses_a_stale_page(page: Page, live_server, make_staff, db, page_errors):
    staff = make_staff(Role.admin)
    first, second = factories.product(db, name="Alpha"), factories.product(db, name="Beta")
    browser_login(page, live_server, staff.email)
    page.goto(f"{live_server}/admin/product/list")
    with Session(db) as session:  # someone renames a row after the page was shown
        session.get(Product, first.id).name = "Alpha (renamed)"
        session.commit()
    with page.expect_request(re.compile(r"/admin/product/delete\?pks=.*&versions=1,1$")):
        select_rows(page, 2)
        delete_selected(page)
    expect(page.locator("body")).to_contain_text("changed by someone else")
    assert fetch(db, Product, first.id) is not None and fetch(db, Product, second.id) is not None

    page.goto(f"{live_server}/admin/product/list")  # fresh page, current versions: both go
    select_rows(page, 2)
    delete_selected(page)
    expect(page.locator("body")).to_contain_text("2 products deleted")
    assert fetch(db, Product, first.id) is None and fetch(db, Product, second.id) is None
    assert page_errors == []


def test_mark_shipped_from_the_list(page: Page, live_server, make_staff, db):
    staff = make_staff(Role.support)
    paid = factories.order(db, status=OrderStatus.paid)
    factories.order(db, status=OrderStatus.pending)
    browser_login(page, live_server, staff.email)
    page.goto(f"{live_server}/admin/order/list")
    select_rows(page, 2)
    page.get_by_role("button", name="Actions").click()
    page.locator("#action-custom-mark_shipped").click()
    expect(page).to_have_url(re.compile(r"/admin/order/confirm/mark_shipped\?pks="))
    expect(page.locator("#confirm-summary")).to_contain_text("1 order will be shipped")
    page.locator("#confirm-form button[type=submit]").click()
    expect(page).to_have_url(re.compile(r"/admin/order/list"))
    expect(page.locator("body")).to_contain_text("1 order shipped; 1 skipped: not paid.")
    assert fetch(db, Order, paid.id).status == OrderStatus.shipped
