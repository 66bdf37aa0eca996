"""Security headers on every admin response, and pages that need no inline script outside the CSP."""

from __future__ import annotations

import dataclasses
import re

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from admin_site.app import create_app
from models import AuditLog, Role
from tests import factories
from tests.helpers import assert_security_headers

SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
NONCE_IN_CSP = re.compile(r"'nonce-([^']+)'")


@pytest.fixture
def shop(db, make_staff):
    product = factories.product(db)
    order = factories.order(db, items=[(product, 1)])
    with Session(db) as session:
        session.add(AuditLog(action="update", entity="order", entity_pk=str(order.id)))
        session.commit()
    return {"order": order, "product": product}


def test_every_kind_of_response_has_the_headers(client, login_as, shop):
    anonymous = [client.get("/admin/login"), client.get("/admin/order/list")]  # page, redirect
    for response in anonymous:
        assert_security_headers(response)
    login_as(Role.viewer)
    checks = {
        "/admin/": 200, "/admin/order/list": 200, f"/admin/order/details/{shop['order'].id}": 200,
        "/admin/nothing/list": 404, "/admin/staff-user/list": 403, "/admin/order/list?sortBy=nope": 400,
        "/admin/order/list?search=%00": 400, "/healthz": 200, "/no/such/page": 404,
    }  # fmt: skip
    for path, status in checks.items():
        response = client.get(path)
        assert response.status_code == status, path
        assert_security_headers(response)
    static = client.get("/admin/statics/css/main.css")
    assert static.status_code == 200
    assert_security_headers(static, cacheable=True)
    assert_security_headers(client.get("/admin/shop-static/csrf.js"), cacheable=True)


def test_exports_are_not_cached_either(client, login_as, shop):
    login_as(Role.admin)
    for kind in ("csv", "json"):
        response = client.get(f"/admin/order/export/{kind}")
        assert response.status_code == 200
        assert_security_headers(response)


def test_each_response_gets_its_own_nonce(client, db):
    nonces = {NONCE_IN_CSP.search(client.get("/admin/login").headers["content-security-policy"]).group(1)
              for _ in range(3)}  # fmt: skip
    assert len(nonces) == 3 and all(len(n) >= 16 for n in nonces)


def test_hsts_when_served_over_https(settings, engine, db):
    app = create_app(dataclasses.replace(settings, https_only=True), engine)
    with TestClient(app, base_url="https://testserver") as client:
        assert client.get("/admin/login").headers["strict-transport-security"].startswith("max-age=")


def inline_script_problems(html: str, nonce: str) -> list[str]:
    problems = [
        f"<script{attrs}>"
        for attrs in SCRIPT_TAG.findall(html)
        if "src=" not in attrs
        and f'nonce="{nonce}"' not in attrs
        and 'type="application/json"' not in attrs  # a data block (the dashboard's island): never run
    ]
    problems += [m.group(0) for m in EVENT_HANDLER.finditer(html)]
    if "javascript:" in html.lower():
        problems.append("javascript: URL")
    return problems


def admin_pages(app, db) -> list[str]:
    """Every page an admin can open: each view's list, create form, details and edit of a row, and the rest."""
    pages = ["/admin/", "/admin/login", "/admin/logout", "/admin/account/password", "/admin/permissions",
             "/admin/nothing/list"]  # fmt: skip
    with Session(db) as session:
        for view in app.state.admin.views:
            model = getattr(view, "model", None)
            if model is None:
                continue
            pages.append(f"/admin/{view.identity}/list")
            if view.can_create:
                pages.append(f"/admin/{view.identity}/create")
            pk = session.scalar(select(model.__mapper__.primary_key[0]).limit(1))
            if pk is not None:
                pages.append(f"/admin/{view.identity}/details/{pk}")
                if view.can_edit:
                    pages.append(f"/admin/{view.identity}/edit/{pk}")
                pages.extend(
                    f"/admin/{view.identity}/confirm/{slug}?pks={pk}"
                    for slug in getattr(view, "_custom_actions_in_list", {})
                )
    return pages


def test_no_page_needs_an_inline_script_outside_the_csp(app, client, login_as, shop, db):
    login_as(Role.admin)
    pages = admin_pages(app, db)
    assert len(pages) > 20
    for path in pages:
        response = client.get(path)
        assert response.status_code in (200, 403, 404), (path, response.status_code)
        nonce = NONCE_IN_CSP.search(response.headers["content-security-policy"]).group(1)
        assert inline_script_problems(response.text, nonce) == [], path


def test_the_login_page_of_an_anonymous_visitor_too(client, db):
    response = client.get("/admin/login")
    nonce = NONCE_IN_CSP.search(response.headers["content-security-policy"]).group(1)
    assert inline_script_problems(response.text, nonce) == []


# -- allowed hosts -------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin/login", "/admin/", "/healthz", "/admin/statics/css/main.css"])
def test_a_foreign_host_gets_400_before_anything_runs(client, path):
    response = client.get(path, headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert "evil.example" not in response.text
    assert_security_headers(response, cacheable=path.startswith("/admin/statics/"))


def test_links_are_built_from_an_allowed_host_only(settings, engine, make_staff):
    app = create_app(dataclasses.replace(settings, allowed_hosts=("admin.shop.example",)), engine)
    with TestClient(app, base_url="http://admin.shop.example", follow_redirects=False) as client:
        page = client.get("/admin/login")
        assert page.status_code == 200 and "http://admin.shop.example/admin/" in page.text
        assert client.get("/admin/login", headers={"Host": "testserver"}).status_code == 400  # not listed here
        assert client.post("/admin/login", headers={"Host": "evil.example"}).status_code == 400
