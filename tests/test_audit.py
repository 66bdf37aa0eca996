"""The audit trail: every change through the admin writes exactly the expected row, in the change's own
transaction; logins and refusals are recorded; the log is append-only; histories and the home page read it."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from sqlalchemy import delete, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from admin_site.audit import log as audit
from models import AuditLog, Product, Role, StaffUser
from tests import factories
from tests.helpers import PASSWORD, login, product_form, shown_text, staff_form


def entries(db, **where) -> list[AuditLog]:
    with Session(db) as session:
        stmt = select(AuditLog).order_by(AuditLog.id)
        for key, value in where.items():
            stmt = stmt.where(getattr(AuditLog, key) == value)
        rows = session.scalars(stmt).all()
        session.expunge_all()
        return rows


def changes_of(db, action: str) -> list[dict]:
    return [e.changes for e in entries(db, action=action)]


@pytest.fixture
def category(db):
    return factories.category(db)


def test_create_writes_one_row_with_the_new_values(client, login_as, db, category):
    staff = login_as(Role.admin)
    form = {"sku": "NEW-1", "name": "Kite", "category": category.id, "price": "19.99", "cost": "7.50",
            "stock_quantity": "5", "reorder_level": "1", "is_active": "y"}  # fmt: skip
    assert client.post("/admin/product/create", data=form).status_code == 302
    [row] = entries(db, action="create")
    with Session(db) as session:
        product = session.scalar(select(Product).where(Product.sku == "NEW-1"))
    assert (row.staff_user_id, row.entity, row.entity_pk) == (staff.id, "product", str(product.id))
    assert row.changes["sku"] == {"before": None, "after": "NEW-1"}
    assert row.changes["price"] == {"before": None, "after": "19.99"}  # exact, as text
    assert row.changes["category_id"] == {"before": None, "after": category.id}
    assert row.changes["version"] == {"before": None, "after": 1}
    assert "description" not in row.changes and "updated_at" not in row.changes
    assert row.at is not None


def test_update_records_only_what_changed(client, login_as, db):
    login_as(Role.admin)
    product = factories.product(db, name="Dune", price=Decimal("12.50"))
    response = client.post(
        f"/admin/product/edit/{product.id}", data=product_form(product, name="Dune II", price="9.90")
    )
    assert response.status_code == 302
    [row] = entries(db, action="update")
    assert row.entity == "product" and row.entity_pk == str(product.id)
    assert row.changes == {
        "name": {"before": "Dune", "after": "Dune II"},
        "price": {"before": "12.50", "after": "9.90"},
        "version": {"before": 1, "after": 2},
    }
    # Saving the same values again changes nothing, and records nothing.
    same = product_form(product, name="Dune II", price="9.90", version="2")
    assert client.post(f"/admin/product/edit/{product.id}", data=same).status_code == 302
    assert len(entries(db, action="update")) == 1


def test_delete_records_what_the_row_held(client, login_as, db):
    login_as(Role.admin)
    product = factories.product(db, sku="GONE-1")
    client.delete(f"/admin/product/delete?pks={product.id}")
    [row] = entries(db, action="delete")
    assert row.entity_pk == str(product.id) and row.changes["sku"] == {"before": "GONE-1", "after": None}


def test_secrets_are_redacted(client, login_as, db, make_staff):
    login_as(Role.admin)
    agent = make_staff(Role.support)
    form = staff_form(agent, full_name="Agent", new_password="a-brand-new-pass-1")
    assert client.post(f"/admin/staff-user/edit/{agent.id}", data=form).status_code == 302
    [row] = entries(db, action="update")
    assert row.changes["password_hash"] == {"before": "[redacted]", "after": "[redacted]"}
    with Session(db) as session:
        stored = session.get(StaffUser, agent.id).password_hash
    assert stored not in str(row.changes)


def test_a_refused_change_leaves_no_audit_row(client, login_as, db):
    login_as(Role.admin)
    taken, product = factories.product(db, sku="TAKEN"), factories.product(db)
    assert client.post(f"/admin/product/edit/{product.id}", data=product_form(product, sku="TAKEN")).status_code == 400
    assert entries(db, action="update") == [] and taken.sku == "TAKEN"


def test_the_audit_row_and_the_change_share_one_transaction(client, login_as, db, monkeypatch):
    """When the audit row cannot be written, the change is not written either."""
    login_as(Role.admin)
    product = factories.product(db, name="Dune")
    monkeypatch.setattr(audit, "client_ip", lambda request: "not an address")  # inet refuses it
    response = client.post(f"/admin/product/edit/{product.id}", data=product_form(product, name="Changed"))
    assert response.status_code == 400
    with Session(db) as session:
        assert session.get(Product, product.id).name == "Dune"
    monkeypatch.undo()
    assert entries(db, action="update") == []


def test_client_address_is_recorded_when_it_is_one():
    class Req:
        class client:
            host = "203.0.113.9"

    assert audit.client_ip(Req) == "203.0.113.9" and audit.client_ip(None) is None


def test_logins_are_recorded(client, db, make_staff):
    staff = make_staff(Role.support)
    assert login(client, staff.email, "wrong-password-123").status_code == 400
    assert login(client, staff.email, PASSWORD).status_code == 302
    failed, succeeded = entries(db, action="login_failed"), entries(db, action="login")
    assert [(f.staff_user_id, f.changes) for f in failed] == [(None, {"email": staff.email})]
    assert [(s.staff_user_id, s.entity, s.entity_pk) for s in succeeded] == [(staff.id, "staff-user", str(staff.id))]


def test_denied_requests_are_recorded(client, login_as, db):
    staff = login_as(Role.viewer)
    assert client.get("/admin/staff-user/list").status_code == 403
    [row] = entries(db, action="denied")
    assert row.staff_user_id == staff.id and row.entity == "staff-user"
    assert row.changes == {"method": "GET", "path": "/admin/staff-user/list"}


def test_the_audit_log_is_append_only_in_the_database(db):
    with Session(db) as session:
        audit.record(session, None, "test", "product", 1, {"x": {"before": 1, "after": 2}})
        session.commit()
    for statement in (update(AuditLog).values(action="forged"), delete(AuditLog)):
        with Session(db) as session, pytest.raises(DBAPIError, match="append-only"):
            session.execute(statement)
    assert [e.action for e in entries(db)] == ["test"]  # TRUNCATE (the test fixture) still works


def test_the_audit_log_view_searches_and_filters(client, login_as, db):
    admin = login_as(Role.admin)
    factories.product(db)
    client.post("/admin/product/action/deactivate", data={"pks": "1"})
    assert client.get("/admin/audit-log/create").status_code == 403
    page = client.get("/admin/audit-log/list?action=deactivate").text
    assert "of 1 items" in shown_text(page)
    page = client.get("/admin/audit-log/list?entity=staff-user").text
    assert "of 1 items" in shown_text(page)  # the login
    assert "of 3 items" in shown_text(client.get(f"/admin/audit-log/list?staff_user={admin.id}").text)  # + denied
    today = datetime.now(UTC).date().isoformat()
    assert "of 3 items" in shown_text(client.get(f"/admin/audit-log/list?at__gte={today}&at__lte={today}").text)
    assert "of 1 items" in shown_text(client.get("/admin/audit-log/list?action=denied&entity=audit-log").text)
    assert "of 1 items" in shown_text(client.get("/admin/audit-log/list?search=deactivate").text)
    entry = entries(db, action="deactivate")[0]
    details = client.get(f"/admin/audit-log/details/{entry.id}").text
    assert "audit-changes" in details and "Active" in details
    assert 'id="record-history"' not in details


def test_a_record_history_lists_its_changes_newest_first(client, login_as, db):
    login_as(Role.admin)
    product = factories.product(db, name="Dune", price=Decimal("12.50"))
    client.post(f"/admin/product/edit/{product.id}", data=product_form(product, name="Dune II"))
    client.post(
        f"/admin/product/edit/{product.id}", data=product_form(product, name="Dune II", price="9.90", version="2")
    )
    details = client.get(f"/admin/product/details/{product.id}").text
    assert f'href="http://testserver/admin/product/history/{product.id}"' in details
    page = client.get(f"/admin/product/history/{product.id}")
    assert page.status_code == 200
    rows = re.findall(r'<tr data-action="(\w+)">', page.text)
    assert rows == ["update", "update"]
    text = shown_text(page.text)
    assert text.index("Price12.509.90") < text.index("NameDuneDune II")  # newest first
    assert "Dune II" in text


def test_history_survives_a_delete_and_obeys_view_permission(client, login_as, db, make_staff):
    login_as(Role.admin)
    product = factories.product(db)
    client.delete(f"/admin/product/delete?pks={product.id}")
    page = client.get(f"/admin/product/history/{product.id}")
    assert page.status_code == 200 and re.findall(r'<tr data-action="(\w+)">', page.text) == ["delete"]
    assert client.get("/admin/product/history/999999").status_code == 404
    assert client.get("/admin/audit-log/history/1").status_code == 404
    client.get("/admin/logout")
    agent = make_staff(Role.support)
    login(client, agent.email)
    assert client.get(f"/admin/staff-user/history/{agent.id}").status_code == 403


def test_the_home_page_shows_my_recent_actions(client, login_as, db):
    login_as(Role.admin)
    product = factories.product(db, name="Dune")
    client.post(f"/admin/product/edit/{product.id}", data=product_form(product, name="Dune II"))
    page = client.get("/admin/")
    assert 'id="recent-actions"' in page.text
    assert f'href="http://testserver/admin/product/history/{product.id}"' in page.text
    assert re.findall(r'<tr data-action="(\w+)">', page.text) == ["update", "login"]


def test_changing_ones_own_password_is_recorded(client, login_as, db):
    staff = login_as(Role.viewer)
    response = client.post("/admin/account/password", data={"current_password": PASSWORD,
                                                            "new_password": "another-long-pass-9",
                                                            "repeat_password": "another-long-pass-9"})  # fmt: skip
    assert response.status_code == 302
    [row] = entries(db, action="update")
    assert (row.staff_user_id, row.entity, row.entity_pk) == (staff.id, "staff-user", str(staff.id))
    assert row.changes["password_hash"] == {"before": "[redacted]", "after": "[redacted]"}


def test_a_history_lists_changes_not_refusals_or_logins(client, login_as, db, make_staff):
    admin = login_as(Role.admin)
    viewer = make_staff(Role.viewer)
    product = factories.product(db)
    with Session(db) as session:
        audit.record(session, None, audit.DENIED, "product", product.id, {"path": "/x"}, staff_user_id=viewer.id)
        session.commit()
    client.post(f"/admin/product/edit/{product.id}", data=product_form(product, name="Renamed"))
    page = client.get(f"/admin/product/history/{product.id}").text
    assert re.findall(r'<tr data-action="(\w+)">', page) == ["update"]
    page = client.get(f"/admin/staff-user/history/{admin.id}").text
    assert 'id="no-history"' in page  # the login is in the audit log, not in the record's history
