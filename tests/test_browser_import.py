"""In a real browser: a manager imports a spreadsheet — upload, read the preview, confirm — and the list says so."""

from __future__ import annotations

from decimal import Decimal

from playwright.sync_api import Page, expect

from models import Product, Role
from tests import factories
from tests.helpers import browser_login, fetch


def test_upload_preview_confirm(page: Page, live_server, make_staff, db, page_errors, tmp_path):
    staff = make_staff(Role.manager)
    books = factories.category(db, name="Books", slug="books")
    novel = factories.product(db, books.id, sku="BK-1", name="Novel", price=Decimal("10.00"))
    factories.product(db, books.id, sku="BK-2", name="Atlas", price=Decimal("30.00"))
    sheet = tmp_path / "prices.csv"
    sheet.write_text("sku,name,category,price,cost\nBK-1,Novel,Books,12.50,4.00\nBK-2,Atlas,Books,30.00,4.00\n"
                     "BK-3,Poems,Books,8.00,2.00\n")  # fmt: skip
    browser_login(page, live_server, staff.email)
    page.goto(f"{live_server}/admin/product/list")
    page.locator("#action-import").click()
    expect(page).to_have_url(f"{live_server}/admin/product/import")
    page.set_input_files("#import-file", str(sheet))
    page.locator("#import-upload").click()
    expect(page.locator("#count-update")).to_have_text("1")
    expect(page.locator("#count-create")).to_have_text("1")
    expect(page.locator("#count-unchanged")).to_have_text("1")
    expect(page.locator("#count-refused")).to_have_text("0")
    expect(page.locator("#import-changes")).to_contain_text("10.00")
    expect(page.locator("#import-changes")).to_contain_text("12.50")
    assert fetch(db, Product, novel.id).price == Decimal("10.00")  # the preview wrote nothing
    page.locator("#import-confirm").click()
    expect(page).to_have_url(f"{live_server}/admin/product/list")
    expect(page.locator("body")).to_contain_text("Imported: 1 created, 1 updated, 1 unchanged")
    assert fetch(db, Product, novel.id).price == Decimal("12.50")
    assert page_errors == []


def test_a_refused_file_shows_rows_and_offers_no_confirmation(page: Page, live_server, make_staff, db, tmp_path):
    staff = make_staff(Role.manager)
    factories.category(db, name="Books", slug="books")
    sheet = tmp_path / "bad.csv"
    sheet.write_text("sku,name,category,price,cost\nBK-9,Nine,Garden,abc,1\n")
    browser_login(page, live_server, staff.email)
    page.goto(f"{live_server}/admin/product/import")
    page.set_input_files("#import-file", str(sheet))
    page.locator("#import-upload").click()
    expect(page.locator("#count-refused")).to_have_text("1")
    expect(page.locator("#import-refusals")).to_contain_text("Enter a number.")
    expect(page.locator("#import-refusals")).to_contain_text("No category is named “Garden”")
    expect(page.locator("#import-confirm")).to_have_count(0)
