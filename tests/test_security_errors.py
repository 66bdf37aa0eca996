"""No stack trace, SQL text or bound parameter ever reaches a page; odd URLs are 400/404, never 500."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from sqlalchemy.exc import ProgrammingError
from starlette.testclient import TestClient

from admin_site.refusals import ChangeRefused
from admin_site.views.registry import all_views
from models import Role
from tests import factories
from tests.helpers import assert_security_headers, browser_client, customer_form, login, view_of

# Case-sensitive on purpose: "select2.min.css" is not SQL.
LEAKS = re.compile(
    r"Traceback|SELECT |INSERT INTO|UPDATE \w+ SET|DELETE FROM|psycopg2|sqlalchemy\.|\[SQL|hunter2|File \""
)
IDENTITIES = [view.identity for view in all_views()]


@pytest.fixture
def quiet_client(app, make_staff):
    """Logged in as an admin; server errors come back as responses (as a browser would see them)."""
    staff = make_staff(Role.admin)
    with browser_client(app, raise_server_exceptions=False) as client:
        assert login(client, staff.email).status_code == 302
        yield client


@pytest.mark.parametrize(
    "error",
    [RuntimeError("boom in SELECT password_hash FROM staff_users"),
     ProgrammingError("SELECT * FROM customers WHERE email = %(e)s", {"e": "hunter2"}, Exception("syntax"))],
    ids=["python-error", "database-error"],
)  # fmt: skip
def test_an_unexpected_error_is_a_plain_500_page(app, quiet_client, monkeypatch, error):
    async def broken(request):
        raise error

    monkeypatch.setattr(view_of(app, "customer"), "list_screen", broken)
    response = quiet_client.get("/admin/customer/list")
    assert response.status_code == 500
    assert "Something went wrong" in response.text
    assert not LEAKS.search(response.text), response.text
    assert_security_headers(response)


def test_outside_the_admin_too(app, monkeypatch, db):
    import admin_site.app as app_module

    def broken(engine):
        raise RuntimeError("SELECT 1 failed with password hunter2")

    monkeypatch.setattr(app_module, "database_answers", broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/healthz")
    assert response.status_code == 500 and not LEAKS.search(response.text)
    assert_security_headers(response)


# -- the list page's `error` ----------------------------------------------------------------------------


def test_a_refused_delete_shows_its_readable_message(client, login_as, db):
    login_as(Role.admin)
    customer = factories.customer(db)
    factories.order(db, customer_id=customer.id)
    target = client.delete(f"/admin/customer/delete?pks={customer.id}").text
    assert "error=" in target and "error_sig=" in target and not LEAKS.search(target)
    page = client.get(target)
    assert page.status_code == 200 and "still refer" in page.text and not LEAKS.search(page.text)


def test_a_crafted_error_parameter_is_not_shown(client, login_as, db):
    login_as(Role.admin)
    customer = factories.customer(db)
    factories.order(db, customer_id=customer.id)
    target = client.delete(f"/admin/customer/delete?pks={customer.id}").text
    signature = re.search(r"error_sig=([0-9a-f]+)", target).group(1)
    crafted = "(psycopg2.errors.ForeignKeyViolation) [SQL: DELETE FROM customers WHERE id = 1] Call +1 555 0100"
    for query in [f"error={quote(crafted)}", f"error={quote(crafted)}&error_sig={signature}",
                  f"error={quote(crafted)}&error_sig=deadbeef"]:  # fmt: skip
        page = client.get(f"/admin/customer/list?{query}")
        assert page.status_code == 200
        assert "Call +1 555" not in page.text and not LEAKS.search(page.text), query


def test_a_delete_that_fails_for_another_reason_says_so_plainly(quiet_client, db, monkeypatch):
    from admin_site.forms import writes

    customer = factories.customer(db)

    def refuses(*args, **kwargs):
        raise ChangeRefused("Customer is locked by the billing run. Nothing was deleted.")

    monkeypatch.setattr(writes, "delete", refuses)  # a refusal (its message is meant to be shown)
    target = quiet_client.delete(f"/admin/customer/delete?pks={customer.id}").text
    assert "billing+run" in target or "billing%20run" in target
    assert "billing run" in quiet_client.get(target).text

    def crashes(*args, **kwargs):
        raise ProgrammingError("DELETE FROM customers WHERE id = %(id)s", {"id": "hunter2"}, Exception("x"))

    monkeypatch.setattr(writes, "delete", crashes)  # anything else
    response = quiet_client.delete(f"/admin/customer/delete?pks={customer.id}")
    assert response.status_code in (200, 500) and not LEAKS.search(response.text)
    if response.status_code == 200:
        assert not LEAKS.search(quiet_client.get(response.text).text)


# -- unknown URLs and malformed query strings ---------------------------------------------------------


def test_unknown_urls_are_404(client, login_as, db):
    login_as(Role.admin)
    for path in ["/admin/nothing", "/admin/nothing/list", "/admin/customer/nothing", "/admin/customer/details/",
                 "/admin/customer/list/extra", "/admin/statics/nothing.js", "/nothing", "/admin/.env",
                 "/admin/statics/../../../etc/passwd"]:  # fmt: skip
        response = client.get(path)
        assert response.status_code == 404, (path, response.status_code)
        assert not LEAKS.search(response.text)


LIST_QUERIES = [
    "page=-1", "page=abc", "page=1e9", "pageSize=abc", "pageSize=-5", "pageSize=100000", "sortBy=nope",
    "sortBy=password_hash", "sortBy=__class__", "sort=sideways", "search=" + "x" * 5000, "search=%00",
    "search=%27%20OR%201%3D1%20--", "search=%ff%fe", "error=%3Cscript%3E", "page=" + "9" * 40, "x=" + "y" * 9000,
]  # fmt: skip


@pytest.mark.parametrize("identity", IDENTITIES)
def test_malformed_list_urls_never_500(client, login_as, db, identity):
    login_as(Role.admin)
    for query in LIST_QUERIES:
        response = client.get(f"/admin/{identity}/list?{query}")
        assert response.status_code in (200, 302, 400, 403), (query, response.status_code)
        assert not LEAKS.search(response.text), query
        assert "<script>" not in response.text


PKS = ["abc", "-1", "0", "1.5", "99999999999999999999", "%00", "1%00", "%27%20OR%201%3D1%20--", "1;DROP", "%ff"]


@pytest.mark.parametrize("identity", IDENTITIES)
def test_malformed_details_and_edit_urls_never_500(client, login_as, db, identity):
    login_as(Role.admin)
    for pk in PKS:
        for page in ("details", "edit"):
            response = client.get(f"/admin/{identity}/{page}/{pk}")
            assert response.status_code in (400, 403, 404), (page, pk, response.status_code)
            assert not LEAKS.search(response.text), (page, pk)


def test_a_failed_save_shows_no_sql_on_the_form(client, login_as, db, monkeypatch):
    from sqlalchemy.exc import StatementError

    from admin_site.forms import writes

    login_as(Role.admin)
    customer = factories.customer(db)

    def fails(*args, **kwargs):
        raise StatementError("bad value", "UPDATE customers SET first_name=%(p)s", {"p": "hunter2"}, ValueError("x"))

    monkeypatch.setattr(writes, "update", fails)
    response = client.post(f"/admin/customer/edit/{customer.id}", data=customer_form(customer, first_name="New"))
    assert response.status_code == 400
    assert "could not be saved" in response.text and not LEAKS.search(response.text)
