"""The session cookie: its flags, its idle and absolute limits, rotation at login, revocation, `next`."""

from __future__ import annotations

import dataclasses
import posixpath
from urllib.parse import unquote, urljoin, urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from admin_site.app import create_app
from admin_site.auth import sessions as session_policy
from admin_site.security.redirects import safe_next
from models import Role, StaffUser
from tests.helpers import PASSWORD, browser_client, csrf_token_of, login, staff_form

HTML = {"Accept": "text/html,application/xhtml+xml"}


def set_cookie_header(response) -> str:
    return next(v for k, v in response.headers.multi_items() if k == "set-cookie" and v.startswith("admin_session="))


def logged_in(client) -> bool:
    return client.get("/admin/").status_code == 200


@pytest.fixture
def clock(monkeypatch):
    """Session time, moved by the test (the database's clock is left alone)."""
    now = {"t": 2_000_000_000}
    monkeypatch.setattr(session_policy, "clock", lambda: now["t"])
    return now


def test_cookie_name_path_and_flags(client, make_staff):
    staff = make_staff(Role.viewer)
    cookie = set_cookie_header(login(client, staff.email)).lower()
    assert "path=/admin;" in cookie and "httponly" in cookie and "samesite=lax" in cookie
    assert "max-age=28800" in cookie and "secure" not in cookie


def test_cookie_is_secure_when_served_over_https(settings, engine, make_staff):
    app = create_app(dataclasses.replace(settings, https_only=True), engine)
    staff = make_staff(Role.viewer)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as client:
        response = login(client, staff.email)
        assert response.status_code == 302
        assert "; secure" in set_cookie_header(response).lower()


def test_login_rotates_the_session(app, client, make_staff):
    staff = make_staff(Role.admin)
    client.get("/admin/login")
    before_cookie = client.cookies.get("admin_session")
    before_token = csrf_token_of(client)
    assert login(client, staff.email).status_code == 302
    assert client.cookies.get("admin_session") != before_cookie
    assert csrf_token_of(client) != before_token
    # The pre-login cookie, planted in another browser, is not a logged-in session.
    with TestClient(app, follow_redirects=False, cookies={"admin_session": before_cookie}) as planted:
        assert planted.get("/admin/").status_code == 302
    # And the pre-login token no longer passes for this session.
    response = client.post("/admin/logout", headers={"X-CSRF-Token": before_token})
    assert response.status_code == 403 and logged_in(client)


def test_idle_timeout(client, make_staff, clock):
    staff = make_staff(Role.viewer)
    login(client, staff.email)
    clock["t"] += 1700
    assert logged_in(client)  # activity moves the idle limit
    clock["t"] += 1700
    assert logged_in(client)
    clock["t"] += 1801
    response = client.get("/admin/customer/list")
    assert response.status_code == 302 and response.headers["location"].endswith("/admin/login")
    assert not logged_in(client)


def test_absolute_lifetime_even_when_active(client, make_staff, clock):
    staff = make_staff(Role.viewer)
    login(client, staff.email)
    for _ in range(16):  # 16 × 1700 s = 27,200 s, never idle for long
        clock["t"] += 1700
        assert logged_in(client)
    clock["t"] += 1700  # 28,900 s after login
    assert not logged_in(client)


def test_settings_set_the_limits(settings, engine, make_staff, clock):
    app = create_app(dataclasses.replace(settings, session_idle_timeout=60, session_max_age=600), engine)
    staff = make_staff(Role.viewer)
    with TestClient(app, follow_redirects=False) as client:
        login(client, staff.email)
        clock["t"] += 59
        assert logged_in(client)
        clock["t"] += 61
        assert not logged_in(client)


# -- revocation: the session epoch -------------------------------------------------------------------


@pytest.fixture
def two_browsers(app):
    with browser_client(app) as one, browser_client(app) as two:
        yield one, two


def epoch(db, staff_id: int) -> int:
    with Session(db) as session:
        return session.get(StaffUser, staff_id).session_epoch


def test_changing_ones_password_ends_the_other_sessions(two_browsers, make_staff, db):
    here, elsewhere = two_browsers
    staff = make_staff(Role.support)
    login(here, staff.email), login(elsewhere, staff.email)
    response = here.post(
        "/admin/account/password",
        data={
            "current_password": PASSWORD,
            "new_password": "a-brand-new-pass-9",
            "repeat_password": "a-brand-new-pass-9",
        },
    )
    assert response.status_code == 302
    assert logged_in(here)
    assert not logged_in(elsewhere)


def test_log_out_everywhere(two_browsers, make_staff, db):
    here, elsewhere = two_browsers
    staff = make_staff(Role.viewer)
    login(here, staff.email), login(elsewhere, staff.email)
    before = epoch(db, staff.id)
    assert here.get("/admin/logout-everywhere").status_code == 405  # a POST button, never a link
    assert logged_in(here) and logged_in(elsewhere)
    response = here.post("/admin/logout-everywhere")
    assert response.status_code == 302 and response.headers["location"].endswith("/admin/login")
    assert not logged_in(here) and not logged_in(elsewhere)
    assert epoch(db, staff.id) == before + 1
    assert login(elsewhere, staff.email).status_code == 302 and logged_in(elsewhere)  # a new login works


def test_an_admin_setting_a_new_password_or_deactivating_ends_that_persons_sessions(two_browsers, make_staff, db):
    admin_browser, their_browser = two_browsers
    admin, them = make_staff(Role.admin), make_staff(Role.support)
    login(admin_browser, admin.email), login(their_browser, them.email)
    form = staff_form(them, new_password="a-long-pass-456")
    response = admin_browser.post(f"/admin/staff-user/edit/{them.id}", data=form)
    assert response.status_code == 302, response.text[-800:]
    assert not logged_in(their_browser) and logged_in(admin_browser)

    assert login(their_browser, them.email, "a-long-pass-456").status_code == 302
    form = staff_form(them, is_active=None, version="2")  # the edit page opened again, after the password change
    assert admin_browser.post(f"/admin/staff-user/edit/{them.id}", data=form).status_code == 302  # deactivated
    with Session(db) as session:
        session.get(StaffUser, them.id).is_active = True  # … and at once reactivated
        session.commit()
    assert not logged_in(their_browser)  # the old session stays ended


def test_other_edits_of_a_person_leave_their_sessions_alone(two_browsers, make_staff, db):
    admin_browser, their_browser = two_browsers
    admin, them = make_staff(Role.admin), make_staff(Role.support)
    login(admin_browser, admin.email), login(their_browser, them.email)
    form = staff_form(them, full_name="Renamed")
    assert admin_browser.post(f"/admin/staff-user/edit/{them.id}", data=form).status_code == 302
    assert logged_in(their_browser)


# -- `next`: back to the page that asked for a login, and only inside the admin ----------------------


def test_login_returns_to_the_page_that_asked_for_it(client, make_staff):
    staff = make_staff(Role.viewer)
    wanted = "/admin/customer/list?search=ann&is_blocked=true"
    response = client.get(wanted, headers=HTML)
    assert response.status_code == 302 and response.headers["location"].endswith("/admin/login")
    response = login(client, staff.email)
    assert response.status_code == 302 and response.headers["location"] == wanted


def test_an_explicit_next_parameter(client, make_staff):
    staff = make_staff(Role.viewer)
    page = client.get("/admin/login?next=/admin/order/list%3Fstatus%3Dpaid")
    assert 'name="next" value="/admin/order/list?status=paid"' in page.text
    response = client.post(
        "/admin/login", data={"username": staff.email, "password": PASSWORD, "next": "/admin/order/list?status=paid"}
    )
    assert response.headers["location"] == "/admin/order/list?status=paid"


EVIL_NEXT = [
    "https://evil.example/admin/", "//evil.example/admin/", "/\\evil.example", "\\\\evil.example",
    "http:/admin/evil", "javascript:alert(1)", "/admin/../evil", "/admin/%2e%2e/evil", "/administrator",
    "/admin/\r\nSet-Cookie: x=1", " https://evil.example", "/admin/login", "/admin/logout",
    "data:text/html,<script>alert(1)</script>", "/%2F%2Fevil.example",
]  # fmt: skip


@pytest.mark.parametrize("target", EVIL_NEXT)
def test_next_never_leaves_the_admin(client, make_staff, target):
    assert safe_next(target) is None
    staff = make_staff(Role.viewer)
    page = client.get("/admin/login", params={"next": target})
    assert 'name="next"' not in page.text
    response = client.post("/admin/login", data={"username": staff.email, "password": PASSWORD, "next": target})
    assert response.status_code == 302
    assert response.headers["location"] == "http://testserver/admin/"


def test_scripts_and_posts_are_not_remembered_as_next(client, make_staff):
    staff = make_staff(Role.viewer)
    client.get("/admin/customer/list?search=x", headers=HTML)
    client.get("/admin/order/filter-lookup?name=customer&term=a", headers={"Accept": "application/json"})
    assert login(client, staff.email).headers["location"] == "/admin/customer/list?search=x"


@pytest.mark.parametrize("target", ["/admin/", "/admin/order/list?status=paid&page=2", "/admin/order/details/5"])
def test_safe_next_keeps_admin_pages(target):
    assert safe_next(target) == target


@given(st.one_of(st.text(), st.from_regex(r"/admin[/.%\\a-z0-9?#&=:@-]{0,30}", fullmatch=True)))
def test_whatever_next_says_the_target_stays_in_the_admin(value):
    target = safe_next(value)
    if target is not None:
        resolved = urlsplit(urljoin("http://testserver/admin/login", target))
        assert resolved.netloc == "testserver"
        assert posixpath.normpath(unquote(resolved.path)).startswith("/admin")
