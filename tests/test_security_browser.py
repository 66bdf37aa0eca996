"""In a real browser, with CSRF and the CSP on: log in, edit a customer, delete one, log out; no errors."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy.orm import Session

from models import Customer, Role
from tests import factories
from tests.helpers import browser_login


@pytest.fixture
def problems(page: Page) -> list[str]:
    """Console errors (a CSP violation is one) and uncaught page errors."""
    found: list[str] = []
    page.on("console", lambda message: found.append(f"console: {message.text}") if message.type == "error" else None)
    page.on("pageerror", lambda error: found.append(f"pageerror: {error}"))
    return found


def first_name(db, pk: int) -> str | None:
    with Session(db) as session:
        customer = session.get(Customer, pk)
        return customer.first_name if customer else None


def test_log_in_edit_a_customer_and_log_out(page: Page, live_server, make_staff, db, problems):
    staff = make_staff(Role.support)
    customer = factories.customer(db, first_name="Ann")

    browser_login(page, live_server, staff.email)
    page.goto(f"{live_server}/admin/customer/edit/{customer.id}")
    page.fill("input[name=first_name]", "Annabel")
    page.locator("input[type=submit][value=Save]").click()
    expect(page).to_have_url(re.compile(r"/admin/customer/list"))
    assert first_name(db, customer.id) == "Annabel"

    page.locator("#menu-logout button").click()  # one click: a POST form in the menu
    expect(page).to_have_url(re.compile(r"/admin/login$"))
    page.goto(f"{live_server}/admin/customer/list")
    expect(page).to_have_url(re.compile(r"/admin/login"))
    assert problems == []


def test_delete_from_the_list_sends_the_token(page: Page, live_server, make_staff, db, problems):
    """SQLAdmin's delete is a jQuery DELETE request: static/csrf.js adds the X-CSRF-Token header."""
    staff = make_staff(Role.admin)
    doomed = factories.customer(db, first_name="Doomed")
    browser_login(page, live_server, staff.email)
    page.goto(f"{live_server}/admin/customer/list")
    page.locator(f"a[data-bs-target='#modal-delete'][data-pk='{doomed.id}']").click()
    # SQLAdmin fills in the button's URL once the modal has finished opening.
    expect(page.locator("#modal-delete-button")).to_have_attribute("data-url", re.compile(r"/delete\?pks="))
    with page.expect_response(lambda response: response.request.method == "DELETE") as deleted:
        page.locator("#modal-delete-button").click()
    assert deleted.value.status == 200
    assert deleted.value.request.headers.get("x-csrf-token")
    page.wait_for_load_state("networkidle")
    assert first_name(db, doomed.id) is None
    assert problems == []


def test_the_csp_blocks_injected_inline_script(page: Page, live_server, make_staff, db, problems):
    browser_login(page, live_server, make_staff(Role.viewer).email)
    page.evaluate(
        """() => {
            const script = document.createElement('script');
            script.textContent = 'window.injected = true';
            document.body.appendChild(script);
        }"""
    )
    assert page.evaluate("window.injected === undefined")
    assert any("Content Security Policy" in p for p in problems), problems
