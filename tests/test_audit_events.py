"""Audit rows for what changes no record's fields but says who did what: refused CSRF checks (rate-limited
per address), log out, log out everywhere, saved views made and deleted, denied bulk actions and their rows."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_site.audit.csrf_refusals import MAX_PER_ADDRESS
from models import AuditLog, Role, SavedView
from tests import factories
from tests.helpers import browser_client, login

ATTACKER, FLOOD, OTHER = "203.0.113.66", "203.0.113.200", "198.51.100.7"


def entries(db, action: str) -> list[AuditLog]:
    with Session(db, expire_on_commit=False) as session:
        return list(session.scalars(select(AuditLog).where(AuditLog.action == action).order_by(AuditLog.id)))


def test_a_refused_csrf_check_is_one_row(app, raw_client, make_staff, db):
    staff = make_staff(Role.admin)
    with browser_client(app, client=(ATTACKER, 50000)) as browser:
        login(browser, staff.email)
        forged = browser.post("/admin/logout", headers={"X-CSRF-Token": "not-the-token"})
        assert forged.status_code == 403
    [row] = entries(db, "csrf_refused")
    assert row.staff_user_id == staff.id and str(row.ip) == ATTACKER
    assert row.changes == {"method": "POST", "path": "/admin/logout", "problem": "wrong token"}


def test_a_flood_of_refusals_fills_no_table(app, db):
    forged = {"X-CSRF-Token": "forged"}
    with browser_client(app, client=(FLOOD, 50000)) as flood, browser_client(app, client=(OTHER, 50000)) as other:
        for _ in range(3 * MAX_PER_ADDRESS):
            assert (
                flood.post("/admin/login", data={"username": "x", "password": "y"}, headers=forged).status_code == 403
            )
        assert other.post("/admin/login", headers={"Origin": "https://evil.example"}).status_code == 403
    rows = entries(db, "csrf_refused")
    by_address = [str(r.ip) for r in rows]
    assert by_address.count(FLOOD) == MAX_PER_ADDRESS and by_address.count(OTHER) == 1
    assert rows[-1].changes["problem"] == "cross-site Origin https://evil.example" and rows[-1].staff_user_id is None


def test_log_out_and_log_out_everywhere_are_recorded(app, make_staff, db):
    staff = make_staff(Role.viewer)
    with browser_client(app) as browser:
        login(browser, staff.email)
        assert browser.post("/admin/logout").status_code == 302
        login(browser, staff.email)
        assert browser.post("/admin/logout-everywhere").status_code == 302
    for action in ("logout", "logout_everywhere"):
        [row] = entries(db, action)
        assert (row.staff_user_id, row.entity, row.entity_pk) == (staff.id, "staff-user", str(staff.id))


def test_saved_views_made_replaced_and_deleted_are_recorded(client, login_as, db):
    staff = login_as(Role.viewer)
    client.post("/admin/order/saved-views", data={"name": "Paid", "query": "status=paid"})
    client.post("/admin/order/saved-views", data={"name": "Paid", "query": "status=paid&sortBy=total&sort=desc"})
    with Session(db) as session:
        saved = session.scalars(select(SavedView)).one()
    assert client.post(f"/admin/order/saved-views/{saved.id}/delete").status_code == 303
    made, changed, deleted = entries(db, "create"), entries(db, "update"), entries(db, "delete")
    assert [(r.entity, r.entity_pk, r.staff_user_id) for r in made + changed + deleted] == [
        ("saved-view", str(saved.id), staff.id)
    ] * 3
    assert made[0].changes["name"] == {"before": None, "after": "Paid"}
    assert changed[0].changes == {"query": {"before": "status=paid", "after": "status=paid&sortBy=total&sort=desc"}}
    assert deleted[0].changes["query"] == {"before": "status=paid&sortBy=total&sort=desc", "after": None}


def test_a_denied_bulk_action_is_recorded_with_its_entity_and_rows(client, login_as, db):
    staff = login_as(Role.support)  # may not cancel orders
    orders = [factories.order(db) for _ in range(2)]
    keys = ",".join(str(o.id) for o in orders)
    assert client.get(f"/admin/order/confirm/cancel?pks={keys}").status_code == 403
    assert client.post("/admin/order/action/cancel", data={"pks": keys}).status_code == 403
    rows = entries(db, "denied")
    assert [(r.staff_user_id, r.entity, r.entity_pk) for r in rows] == [(staff.id, "order", keys)] * 2
    assert rows[1].changes == {"method": "POST", "path": "/admin/order/action/cancel", "action": "cancel",
                               "selected": [str(o.id) for o in orders]}  # fmt: skip
