"""Sessions on the server: a log-out ends that session everywhere (a copied cookie opens nothing), other
sessions of the person go on, and an admin sees and ends a staff member's sessions."""

from __future__ import annotations

from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from admin_site.app import create_app
from models import AuditLog, Role, StaffSession
from tests.helpers import browser_client, login, recorded_statements

HTML = {"Accept": "text/html"}


def copy_of(app, client) -> TestClient:
    """Another browser holding a copy of `client`'s session cookie (as a thief would)."""
    return TestClient(app, follow_redirects=False, cookies={"admin_session": client.cookies.get("admin_session")})


def sessions_of(db, staff_id: int) -> list[StaffSession]:
    with Session(db) as session:
        return list(session.scalars(select(StaffSession).where(StaffSession.staff_user_id == staff_id)))


def test_a_copied_cookie_gets_the_login_page_after_log_out(app, client, make_staff, db):
    staff = make_staff(Role.support)
    login(client, staff.email)
    with copy_of(app, client) as thief:
        assert thief.get("/admin/order/list").status_code == 200  # a copy works while the session lives
        assert client.post("/admin/logout").status_code == 302
        response = thief.get("/admin/order/list", headers=HTML)
        assert response.status_code == 302 and response.headers["location"].endswith("/admin/login")
    assert sessions_of(db, staff.id) == []


def test_log_out_ends_only_that_session(app, make_staff, db):
    staff = make_staff(Role.viewer)
    with browser_client(app) as laptop, browser_client(app) as phone:
        login(laptop, staff.email), login(phone, staff.email)
        assert len(sessions_of(db, staff.id)) == 2
        laptop.post("/admin/logout")
        assert laptop.get("/admin/").status_code == 302
        assert phone.get("/admin/").status_code == 200


def test_a_log_out_holds_in_every_process(settings, database_url, make_staff, db):
    """Two app instances with engines of their own, as two worker processes or hosts would have."""
    staff = make_staff(Role.viewer)
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        one, two = (create_app(settings, engine) for engine in engines)
        with browser_client(one) as browser:
            login(browser, staff.email)
            with copy_of(two, browser) as same_cookie_elsewhere:
                assert same_cookie_elsewhere.get("/admin/").status_code == 200
                browser.post("/admin/logout")
                assert same_cookie_elsewhere.get("/admin/").status_code == 302
    finally:
        for engine in engines:
            engine.dispose()


def test_the_session_and_the_staff_member_are_checked_in_one_statement(client, make_staff, db):
    staff = make_staff(Role.viewer)
    login(client, staff.email)
    with recorded_statements(db) as statements:  # the app under test shares this engine
        assert client.get("/admin/account/password").status_code == 200  # a page that reads nothing else
    assert len(statements) == 1
    assert "staff_sessions" in statements[0] and "JOIN staff_users" in statements[0]


def test_last_seen_moves_on_at_most_once_a_minute(client, make_staff, db):
    staff = make_staff(Role.viewer)
    login(client, staff.email)
    with db.begin() as conn:
        five_minutes_ago = func.now() - func.make_interval(0, 0, 0, 0, 0, 5)
        conn.execute(StaffSession.__table__.update().values(last_seen_at=five_minutes_ago))
    client.get("/admin/")
    (row,) = sessions_of(db, staff.id)
    with db.connect() as conn:
        age = conn.scalar(select(func.extract("epoch", func.now() - row.last_seen_at)))
    assert age < 60


def test_an_admin_sees_and_ends_a_staff_members_sessions(app, client, login_as, make_staff, db):
    admin = login_as(Role.admin)
    them = make_staff(Role.support)
    with browser_client(app) as laptop, browser_client(app) as phone:
        login(laptop, them.email), login(phone, them.email)
        details = client.get(f"/admin/staff-user/details/{them.id}")
        assert 'id="record-sessions"' in details.text
        page = client.get(f"/admin/staff-user/sessions/{them.id}")
        assert page.status_code == 200 and page.text.count('class="btn btn-sm btn-outline-danger end-session"') == 2
        one = sessions_of(db, them.id)[0]
        assert client.get(f"/admin/staff-user/sessions/{them.id}/end").status_code == 405  # a button, never a link
        response = client.post(f"/admin/staff-user/sessions/{them.id}/end", data={"session": str(one.id)})
        assert response.status_code == 303
        assert sorted([laptop.get("/admin/").status_code, phone.get("/admin/").status_code]) == [200, 302]
        assert client.post(f"/admin/staff-user/sessions/{them.id}/end", data={"session": "all"}).status_code == 303
        assert laptop.get("/admin/").status_code == phone.get("/admin/").status_code == 302
    assert client.get("/admin/").status_code == 200  # the admin's own session is not theirs
    with Session(db) as session:
        actions = session.scalars(
            select(AuditLog.action).where(AuditLog.staff_user_id == admin.id, AuditLog.entity_pk == str(them.id))
        ).all()
    assert set(actions) == {"session_ended", "all_sessions_ended"}


def test_an_admin_cannot_end_someone_elses_session_through_another_persons_page(client, login_as, make_staff, db):
    login_as(Role.admin)
    them, other = make_staff(Role.support), make_staff(Role.support)
    with browser_client(client.app) as theirs:
        login(theirs, them.email)
        (session,) = sessions_of(db, them.id)
        client.post(f"/admin/staff-user/sessions/{other.id}/end", data={"session": str(session.id)})
        assert theirs.get("/admin/").status_code == 200


def test_only_roles_granted_sessions_see_them(client, login_as, make_staff, db):
    them = make_staff(Role.support)
    login_as(Role.manager)  # managers see staff users, not where they are signed in
    assert client.get(f"/admin/staff-user/sessions/{them.id}").status_code == 403
    assert client.post(f"/admin/staff-user/sessions/{them.id}/end", data={"session": "all"}).status_code == 403
    assert 'id="record-sessions"' not in client.get(f"/admin/staff-user/details/{them.id}").text
