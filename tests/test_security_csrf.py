"""CSRF: every state-changing request needs the token of its own session; cross-site ones are refused.

These tests use `raw_client`, which (unlike `client`) adds no token by itself.
"""

from __future__ import annotations

import dataclasses
import re

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from admin_site.app import create_app
from models import Customer, LoginAttempt, Role, StaffUser
from tests import factories
from tests.helpers import (
    PASSWORD,
    csrf_token_of,
    customer_form,
    fetch,
    login_with_token_field,
    snapshot,
    staff_form,
)

ACTION = re.compile(r"/[^/]+/action/[^/]+")


@pytest.fixture
def admin(raw_client, make_staff):
    staff = make_staff(Role.admin)
    login_with_token_field(raw_client, staff.email)
    return staff


def test_login_without_a_token_is_refused_and_records_nothing(raw_client, make_staff, db):
    staff = make_staff(Role.admin)
    response = raw_client.post("/admin/login", data={"username": staff.email, "password": PASSWORD})
    assert response.status_code == 403
    assert "refused" in response.text and "Traceback" not in response.text
    assert raw_client.get("/admin/").status_code == 302  # not logged in
    with Session(db) as session:
        assert session.scalar(select(func.count()).select_from(LoginAttempt)) == 0


def test_a_token_is_only_good_for_its_own_session(app, raw_client, make_staff, db):
    staff = make_staff(Role.admin)
    with TestClient(app, follow_redirects=False) as other:
        someone_elses = csrf_token_of(other)
    csrf_token_of(raw_client)  # this client has a session, with a token of its own
    response = raw_client.post(
        "/admin/login", data={"username": staff.email, "password": PASSWORD, "csrf_token": someone_elses}
    )
    assert response.status_code == 403
    assert raw_client.get("/admin/").status_code == 302


def _state_changing_requests(db, staff: StaffUser) -> list[tuple[str, str, str, dict | None]]:
    """(label, method, path, form) for every kind of state-changing request the admin answers."""
    customer = factories.customer(db)
    victim = factories.customer(db)
    create = {"email": "new@example.com", "first_name": "New", "last_name": "Person", "country": "FR"}
    password = {
        "current_password": PASSWORD,
        "new_password": "a-brand-new-pass-9",
        "repeat_password": "a-brand-new-pass-9",
    }
    return [
        ("create", "POST", "/admin/customer/create", create),
        ("edit", "POST", f"/admin/customer/edit/{customer.id}", customer_form(customer, first_name="Changed")),
        ("delete", "DELETE", f"/admin/customer/delete?pks={victim.id}", None),
        ("password change", "POST", "/admin/account/password", password),
        ("logout", "POST", "/admin/logout", {}),
        ("log out everywhere", "POST", "/admin/logout-everywhere", {}),
        ("staff edit", "POST", f"/admin/staff-user/edit/{staff.id}", staff_form(staff, full_name="Changed")),
    ]  # fmt: skip


@pytest.mark.parametrize("token", ["missing", "wrong", "empty"])
def test_every_state_changing_request_needs_the_token(raw_client, admin, db, token):
    calls = _state_changing_requests(db, admin)
    for label, method, path, form in calls:
        before = snapshot(db)
        headers, data = {}, dict(form) if form is not None else None
        if token == "wrong":
            headers["X-CSRF-Token"] = "x" * 43
            if data is not None:
                data["csrf_token"] = "y" * 43
        elif token == "empty":
            headers["X-CSRF-Token"] = ""
        response = raw_client.request(method, path, data=data, headers=headers)
        assert response.status_code == 403, f"{label}: {response.status_code}"
        after = snapshot(db)
        refusal = after["audit_log"].pop()  # the one thing a refusal writes: its audit row
        assert refusal["action"] == "csrf_refused" and refusal["changes"]["path"] == path.partition("?")[0]
        assert after == before, f"{label}: a refused request changed the database"
        assert raw_client.get("/admin/").status_code == 200, f"{label}: the session ended"


def test_with_the_token_the_same_requests_work(raw_client, admin, db):
    """The token in a form field (the body is replayed to the view) or in the header (scripts)."""
    token = csrf_token_of(raw_client)
    calls = {label: (method, path, form) for label, method, path, form in _state_changing_requests(db, admin)}
    _, path, form = calls["edit"]
    assert raw_client.post(path, data={**form, "csrf_token": token}).status_code == 302
    assert "Changed" in raw_client.get(path).text
    _, path, form = calls["create"]
    # multipart, as the browser sends SQLAdmin's forms
    response = raw_client.post(path, data={**form, "csrf_token": token}, files={"unused": ("a.txt", b"x")})
    assert response.status_code == 302, response.text[-800:]
    _, path, _ = calls["delete"]
    assert raw_client.delete(path, headers={"X-CSRF-Token": token}).status_code == 200
    with Session(db) as session:
        emails = set(session.scalars(select(Customer.email)))
        assert "new@example.com" in emails and len(emails) == 2
    _, path, _ = calls["logout"]
    assert raw_client.post(path, data={"csrf_token": token}).status_code == 302
    assert raw_client.get("/admin/").status_code == 302


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "http://testserver.evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/page"},
    ],
    ids=["origin", "lookalike-origin", "null-origin", "referer-without-origin"],
)
def test_cross_site_requests_are_refused_even_with_the_token(raw_client, admin, db, headers):
    customer = factories.customer(db, first_name="Kept")
    token = csrf_token_of(raw_client)
    form = {**customer_form(customer, first_name="Forged"), "csrf_token": token}
    response = raw_client.post(f"/admin/customer/edit/{customer.id}", data=form, headers=headers)
    assert response.status_code == 403
    assert fetch(db, Customer, customer.id).first_name == "Kept"


def test_same_site_origin_and_referer_are_accepted(raw_client, admin, db):
    customer = factories.customer(db)
    token = csrf_token_of(raw_client)
    page = f"http://testserver/admin/customer/edit/{customer.id}"
    form = {**customer_form(customer, first_name="Changed"), "csrf_token": token}
    response = raw_client.post(
        f"/admin/customer/edit/{customer.id}", data=form, headers={"Origin": "http://testserver", "Referer": page}
    )
    assert response.status_code == 302
    assert fetch(db, Customer, customer.id).first_name == "Changed"


def test_a_trusted_origin_may_post(settings, engine, make_staff, db):
    """Behind a proxy that rewrites Host, the public origin is declared in ADMIN_TRUSTED_ORIGINS."""
    app = create_app(dataclasses.replace(settings, trusted_origins=("https://admin.shop.example",)), engine)
    staff = make_staff(Role.admin)
    with TestClient(app, follow_redirects=False) as client:
        token = csrf_token_of(client)
        data = {"username": staff.email, "password": PASSWORD, "csrf_token": token}
        assert (
            client.post("/admin/login", data=data, headers={"Origin": "https://admin.shop.example"}).status_code == 302
        )
        token = csrf_token_of(client)
        assert (
            client.post(
                "/admin/logout", data={"csrf_token": token}, headers={"Origin": "https://other.shop.example"}
            ).status_code
            == 403
        )


def test_logout_by_get_changes_nothing(raw_client, admin):
    page = raw_client.get("/admin/logout")
    assert page.status_code == 200 and 'id="logout-button"' in page.text
    assert raw_client.get("/admin/").status_code == 200


def test_pages_carry_the_token_for_forms_and_scripts(raw_client, admin, db):
    customer = factories.customer(db)
    token = csrf_token_of(raw_client)
    hidden = f'name="csrf_token" value="{token}"'
    for path in [
        "/admin/customer/create",
        f"/admin/customer/edit/{customer.id}",
        "/admin/account/password",
        "/admin/logout",
    ]:
        assert hidden in raw_client.get(path).text, path
    listing = raw_client.get("/admin/customer/list").text
    assert f'<meta name="csrf-token" content="{token}">' in listing
    assert "/admin/shop-static/csrf.js" in listing


def test_oversized_form_bodies_are_refused(raw_client, admin):
    response = raw_client.post(
        "/admin/customer/create",
        content=b"a=" + b"x" * (17 * 1024 * 1024),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 413


# -- bulk actions: POST with the token, never GET --------------------------------------------------


def test_every_bulk_action_route_answers_post_only(app):
    routes = [r for r in app.state.admin.admin.router.routes if ACTION.fullmatch(getattr(r, "path", ""))]
    assert routes, "no bulk action to check"
    assert all(route.methods == {"POST"} for route in routes), [(r.path, r.methods) for r in routes]


def test_a_bulk_action_needs_post_and_the_token(raw_client, admin, db):
    customer = factories.customer(db)
    path = "/admin/customer/action/block"
    assert raw_client.get(f"{path}?pks={customer.id}").status_code == 405
    assert raw_client.post(path, data={"pks": str(customer.id)}).status_code == 403
    assert fetch(db, Customer, customer.id).is_blocked is False
    response = raw_client.post(path, data={"pks": str(customer.id), "csrf_token": csrf_token_of(raw_client)})
    assert response.status_code in (302, 303)
    assert fetch(db, Customer, customer.id).is_blocked is True


def test_every_post_form_in_the_templates_carries_the_token():
    """A new template with a POST form and no token would fail every submit: caught here first."""
    from pathlib import Path

    import admin_site

    forms = re.compile(r"<form\b[^>]*method=\"post\"[^>]*>(.*?)</form>", re.IGNORECASE | re.DOTALL)
    checked = 0
    for template in (Path(admin_site.__file__).parent / "templates").rglob("*.html"):
        for body in forms.findall(template.read_text()):
            checked += 1
            assert 'name="csrf_token"' in body and "csrf_token(request)" in body, template
    assert checked >= 5


def test_an_http_origin_is_refused_on_an_https_site(settings, engine, make_staff, db):
    """Same host and port, other scheme: a page served over plain http (say, on a hostile network) is not this site."""
    app = create_app(dataclasses.replace(settings, https_only=True), engine)
    staff = make_staff(Role.admin)
    customer = factories.customer(db, first_name="Kept")
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        login_with_token_field(client, staff.email)
        form = {**customer_form(customer, first_name="Forged"), "csrf_token": csrf_token_of(client)}
        for origin in ("http://testserver", "http://testserver:443"):
            response = client.post(f"/admin/customer/edit/{customer.id}", data=form, headers={"Origin": origin})
            assert response.status_code == 403
        assert fetch(db, Customer, customer.id).first_name == "Kept"
        for origin in ("https://testserver", "https://testserver:443"):  # the default port is no other site
            form = {
                **customer_form(fetch(db, Customer, customer.id), first_name="Mine"),
                "csrf_token": csrf_token_of(client),
            }
            assert (
                client.post(f"/admin/customer/edit/{customer.id}", data=form, headers={"Origin": origin}).status_code
                == 302
            )
