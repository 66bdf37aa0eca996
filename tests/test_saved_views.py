"""Saved views: a staff member saves a list's search, filters and sort under a name, sees only their own."""

from __future__ import annotations

import html
import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from models import Role, SavedView
from tests import factories
from tests.helpers import browser_client, login, login_with_token_field

SAVED_LINK = re.compile(r'<a class="dropdown-item flex-grow-1" href="(?P<href>[^"]+)">(?P<name>[^<]+)</a>')


def saved_on(page: str) -> dict[str, str]:
    return {html.unescape(m["name"]): html.unescape(m["href"]) for m in SAVED_LINK.finditer(page)}


def save(client, name: str, query: str, identity: str = "order"):
    return client.post(f"/admin/{identity}/saved-views", data={"name": name, "query": query})


def test_save_and_pick_a_view(client, login_as, db):
    login_as(Role.viewer)
    factories.order(db)
    response = save(
        client, "Refunds this year", "status=refunded&placed_at__gte=2025-01-01&sortBy=total&sort=desc&page=7"
    )
    assert response.status_code == 303
    assert response.headers["location"].endswith(
        "/admin/order/list?status=refunded&placed_at__gte=2025-01-01&sortBy=total&sort=desc"
    )
    page = client.get("/admin/order/list").text
    assert saved_on(page) == {
        "Refunds this year": "http://testserver/admin/order/list?status=refunded&placed_at__gte=2025-01-01&sortBy=total&sort=desc"
    }
    assert client.get(saved_on(page)["Refunds this year"]).status_code == 200
    # The save form carries the current query string and the CSRF token.
    page = client.get("/admin/order/list?status=paid&search=SO").text
    form = page[page.index('id="save-view-form"') :]
    assert 'name="query" value="status=paid&amp;search=SO"' in form and 'name="csrf_token"' in form


def test_saving_under_the_same_name_replaces_it(client, login_as, db):
    staff = login_as(Role.support)
    save(client, "Mine", "status=paid")
    save(client, "Mine", "status=shipped")
    assert saved_on(client.get("/admin/order/list").text) == {
        "Mine": "http://testserver/admin/order/list?status=shipped"
    }
    with Session(db) as session:
        assert (
            session.scalar(select(func.count()).select_from(SavedView).where(SavedView.staff_user_id == staff.id)) == 1
        )


def test_each_staff_member_sees_and_deletes_only_their_own(app, client, login_as, make_staff, db):
    login_as(Role.support)
    save(client, "Anna's", "status=paid")
    save(client, "Customers view", "country=FR", identity="customer")
    with Session(db) as session:
        annas = session.scalar(select(SavedView).where(SavedView.name == "Anna's"))
    other = make_staff(Role.manager)
    with browser_client(app) as second:
        assert login(second, other.email).status_code == 302
        assert saved_on(second.get("/admin/order/list").text) == {}
        assert second.post(f"/admin/order/saved-views/{annas.id}/delete").status_code == 404
        save(second, "Bo's", "status=refunded")
        assert list(saved_on(second.get("/admin/order/list").text)) == ["Bo's"]
    page = client.get("/admin/order/list").text
    assert list(saved_on(page)) == ["Anna's"]  # per list, too: the customers' view is not here
    assert list(saved_on(client.get("/admin/customer/list").text)) == ["Customers view"]
    response = client.post(f"/admin/order/saved-views/{annas.id}/delete")
    assert response.status_code == 303
    assert saved_on(client.get("/admin/order/list").text) == {}
    assert client.post(f"/admin/order/saved-views/{annas.id}/delete").status_code == 404
    assert client.post("/admin/order/saved-views/abc/delete").status_code == 404


def test_saved_views_need_the_view_permission_and_a_name(client, login_as, db):
    login_as(Role.support)  # may not view the audit log
    assert save(client, "x", "action=login", identity="audit-log").status_code == 403
    assert save(client, "", "status=paid").status_code == 400
    assert save(client, "y" * 101, "status=paid").status_code == 400
    assert client.get("/admin/saved-view/list").status_code == 404  # no generic admin page over everyone's views


def test_saving_needs_the_csrf_token(raw_client, make_staff, db):
    staff = make_staff(Role.admin)
    login_with_token_field(raw_client, staff.email)
    assert save(raw_client, "x", "status=paid").status_code == 403
    with Session(db) as session:
        assert session.scalar(select(func.count()).select_from(SavedView)) == 0


def test_the_51st_saved_view_of_a_list_is_refused_with_a_message(client, login_as, db):
    staff = login_as(Role.viewer)
    with Session(db) as session:  # fifty already, as a busy person (or a crawler) could make them
        session.add_all(
            SavedView(staff_user_id=staff.id, view_identity="order", name=f"View {n:02}", query=f"page={n}")
            for n in range(50)
        )
        session.commit()
    response = save(client, "One more", "status=paid")
    assert response.status_code == 303 and response.headers["location"].endswith("/admin/order/list?status=paid")
    page = client.get(response.headers["location"]).text
    assert "You already have 50 saved views of this list" in page
    assert save(client, "View 07", "status=shipped").status_code == 303  # replacing one of the fifty is fine
    assert save(client, "Customers", "country=GB", identity="customer").status_code == 303  # so is another list
    with Session(db) as session:
        mine = session.scalars(select(SavedView).where(SavedView.staff_user_id == staff.id)).all()
    assert len([v for v in mine if v.view_identity == "order"]) == 50 and "One more" not in {v.name for v in mine}
    assert {v.name: v.query for v in mine}["View 07"] == "status=shipped"
