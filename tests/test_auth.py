"""Login, logout and who may log in."""

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Role, StaffUser
from tests.helpers import PASSWORD, login


def test_login_sets_session_and_last_login(client, make_staff, db):
    staff = make_staff(Role.support)
    before = datetime.now(UTC)
    response = login(client, staff.email)
    assert response.status_code == 302
    assert client.get("/admin/").status_code == 200
    with Session(db) as session:
        assert session.get(StaffUser, staff.id).last_login_at >= before


def test_login_is_case_insensitive_on_email(client, make_staff):
    make_staff(Role.viewer, email="Mixed.Case@shop.example")
    assert login(client, "mixed.case@SHOP.example").status_code == 302


def test_wrong_password_and_unknown_email_get_the_same_answer(client, make_staff):
    staff = make_staff(Role.admin)
    wrong = login(client, staff.email, "not-the-password-1")
    unknown = login(client, "nobody@shop.example", PASSWORD)
    assert wrong.status_code == unknown.status_code == 400
    assert "Invalid credentials" in wrong.text and "Invalid credentials" in unknown.text
    assert client.get("/admin/").status_code == 302  # still logged out


def test_inactive_staff_cannot_log_in(client, make_staff):
    staff = make_staff(Role.admin, is_active=False)
    assert login(client, staff.email).status_code == 400
    assert client.get("/admin/order/list").status_code == 302


def test_deactivation_ends_an_open_session(client, make_staff, db):
    staff = make_staff(Role.manager)
    login(client, staff.email)
    assert client.get("/admin/order/list").status_code == 200
    with Session(db) as session:
        session.get(StaffUser, staff.id).is_active = False
        session.commit()
    response = client.get("/admin/order/list")
    assert response.status_code == 302 and response.headers["location"].endswith("/admin/login")


def test_logout(client, login_as):
    login_as(Role.viewer)
    assert client.get("/admin/").status_code == 200
    assert client.get("/admin/logout").status_code == 200  # a page with the button: GET changes nothing
    assert client.get("/admin/").status_code == 200
    client.post("/admin/logout")
    assert client.get("/admin/").status_code == 302


def test_anonymous_requests_are_sent_to_login(client, db):
    for path in ["/admin/", "/admin/order/list", "/admin/customer/details/1", "/admin/product/create"]:
        response = client.get(path)
        assert response.status_code == 302 and response.headers["location"].endswith("/admin/login")


def test_password_is_stored_hashed_with_argon2(make_staff, db):
    staff = make_staff(Role.viewer)
    with Session(db) as session:
        stored = session.scalar(select(StaffUser.password_hash).where(StaffUser.id == staff.id))
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_healthz(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"database": "ok"}
