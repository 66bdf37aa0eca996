"""Generated from the permission matrix: every role × view × operation × route, through real HTTP.

What a role may do comes from `admin_site.permissions` (the one declaration) and the view's own
switches (`can_delete = False` …); routes and bulk actions come from the views registered in the
app. Allowed requests succeed; denied ones get 403 and leave every table exactly as it was.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

import models
from admin_site.permissions import CREATE, DELETE, EDIT, EXPORT, MATRIX, OPERATIONS, VIEW, is_allowed
from admin_site.views import all_pages, all_views
from models import AuditLog, Customer, Order, OrderItem, Role, StaffUser
from tests import factories
from tests.conftest import login

VIEW_CLASSES = all_views()
IDENTITIES = [view.identity for view in VIEW_CLASSES]


# -- the shop: one row of every table, and what is posted to each view ----------------------------


@pytest.fixture
def shop(db: Engine, make_staff) -> dict[str, Any]:
    """One row per table (ids by view identity), plus what the forms need to refer to."""
    product = factories.product(db)
    other_product = factories.product(db, category_id=product.category_id)
    order = factories.order(db, items=[(product, 2)])
    colleague = make_staff(Role.support, email="colleague@shop.example")
    with Session(db, expire_on_commit=False) as session:
        item = session.scalar(select(OrderItem).where(OrderItem.order_id == order.id))
        entry = AuditLog(staff_user_id=colleague.id, action="update", entity="order", entity_pk=str(order.id))
        session.add(entry)
        session.commit()
    rows = {
        "category": product.category_id, "product": product.id, "customer": order.customer_id, "order": order.id,
        "order-item": item.id, "staff-user": colleague.id, "audit-log": entry.id,
    }  # fmt: skip
    return {"rows": rows, "other_product": other_product.id, "order_number": order.number, "db": db}


def _creates(shop: dict[str, Any]) -> dict[str, dict[str, str]]:
    rows = shop["rows"]
    return {
        "category": {"name": "Toys", "slug": "toys", "is_active": "y"},
        "product": {"sku": "NEW-1", "name": "Kite", "category": rows["category"], "price": "19.99", "cost": "7.50",
                    "stock_quantity": "5", "reorder_level": "1", "is_active": "y"},
        "customer": {"email": "zoe@example.com", "first_name": "Zoe", "last_name": "Smith", "country": "FR"},
        "order": {"number": "SO-9000001", "customer": rows["customer"], "status": "pending",
                  "placed_at": "2025-05-01 10:00:00", "discount_pct": "0", "shipping_fee": "4.50"},
        "order-item": {"order": rows["order"], "product": shop["other_product"], "quantity": "3", "unit_price": "2.00"},
        "staff-user": {"email": "new.agent@shop.example", "full_name": "New Agent", "role": "viewer",
                       "is_active": "y", "new_password": "a-long-pass-123"},
    }  # fmt: skip


def _edits(shop: dict[str, Any]) -> dict[str, tuple[dict[str, str], str, Any]]:
    """identity → (form posted to the seeded row, attribute that must change, its new value)."""
    rows, db = shop["rows"], shop["db"]
    with Session(db) as session:
        product = session.get(models.Product, rows["product"])
        customer = session.get(Customer, rows["customer"])
        category = session.get(models.Category, rows["category"])
        colleague = session.get(StaffUser, rows["staff-user"])
        item = session.get(OrderItem, rows["order-item"])
    return {
        "category": ({"name": "Renamed", "slug": category.slug, "is_active": "y"}, "name", "Renamed"),
        "product": ({"sku": product.sku, "name": "Renamed", "category": rows["category"], "price": "9.90",
                     "cost": "5.00", "stock_quantity": "4", "reorder_level": "2", "is_active": "y"}, "name", "Renamed"),
        "customer": ({"email": customer.email, "first_name": "Renamed", "last_name": customer.last_name,
                      "country": customer.country}, "first_name", "Renamed"),
        "order": ({"number": "SO-FORGED", "customer": rows["customer"], "status": "paid",
                   "placed_at": "2025-03-02 12:00:00", "discount_pct": "0", "shipping_fee": "1.00", "notes": "Renamed"},
                  "notes", "Renamed"),
        "order-item": ({"order": item.order_id, "product": item.product_id, "quantity": "5", "unit_price": "2.00"},
                       "quantity", 5),
        "staff-user": ({"email": colleague.email, "full_name": "Renamed", "role": "support", "is_active": "y"},
                       "full_name", "Renamed"),
    }  # fmt: skip


def _deletable(identity: str, shop: dict[str, Any]) -> int:
    """A fresh row nothing refers to, so an allowed delete really deletes."""
    db, rows = shop["db"], shop["rows"]
    if identity == "category":
        return factories.category(db).id
    if identity == "product":
        return factories.product(db, category_id=rows["category"]).id
    if identity == "customer":
        return factories.customer(db).id
    if identity == "order":
        return factories.order(db, customer_id=rows["customer"]).id
    if identity == "order-item":
        with Session(db) as session:
            product = session.get(models.Product, shop["other_product"])
            order = factories.order(db, customer_id=rows["customer"], items=[(product, 1)])
            return session.scalar(select(OrderItem.id).where(OrderItem.order_id == order.id))
    return rows[identity]  # never deletable through the admin


# -- the database, compared before and after ------------------------------------------------------


def snapshot(db: Engine) -> dict[str, list[tuple]]:
    """Every row of every table: a denied request must leave all of it as it was."""
    with db.connect() as conn:
        return {
            table.name: [tuple(row) for row in conn.execute(select(table).order_by(*table.primary_key.columns))]
            for table in models.Base.metadata.sorted_tables
        }


def fetch(db: Engine, model: type, pk: int) -> Any:
    with Session(db) as session:
        return session.get(model, pk)


# -- what a role may do, and the routes that do it -------------------------------------------------


def may(role: Role, view: Any, operation: str) -> bool:
    """The matrix's answer, within what the view offers at all (`can_delete = False` …)."""
    offered = {VIEW: view.can_view_details, CREATE: view.can_create, EDIT: view.can_edit,
               DELETE: view.can_delete, EXPORT: view.can_export}.get(operation, True)  # fmt: skip
    return bool(offered) and is_allowed(role, view.identity, operation)


@dataclass
class Call:
    """One HTTP request, whether the role may make it, and what success must have done."""

    label: str
    allowed: bool
    method: str
    path: str
    data: dict[str, Any] | None = None
    ok: tuple[int, ...] = (200,)
    check: Callable[[dict[str, list[tuple]]], None] | None = field(default=None, repr=False)  # gets "before"


def view_instance(app, identity: str) -> Any:
    return next(v for v in app.state.admin.views if getattr(v, "identity", None) == identity)


def calls_for(app, role: Role, identity: str, shop: dict[str, Any]) -> list[Call]:
    view = view_instance(app, identity)
    db, pk = shop["db"], shop["rows"][identity]
    base = f"/admin/{identity}"
    can = {op: may(role, view, op) for op in OPERATIONS}
    calls = [
        Call("list", can[VIEW], "GET", f"{base}/list"),
        Call("details", can[VIEW], "GET", f"{base}/details/{pk}"),
        *(Call(f"export {kind}", can[EXPORT], "GET", f"{base}/export/{kind}") for kind in ("csv", "json")),
        Call("create form", can[CREATE], "GET", f"{base}/create"),
        Call("edit form", can[EDIT], "GET", f"{base}/edit/{pk}"),
    ]
    for name, loader in view._form_ajax_refs.items():
        target = next(v for v in app.state.admin.views if getattr(v, "model", None) is loader.model)
        allowed = (can[CREATE] or can[EDIT]) and may(role, target, VIEW)
        calls.append(Call(f"look-up {name}", allowed, "GET", f"{base}/ajax/lookup?name={name}&term=a"))
    payload = _creates(shop).get(identity)
    if can[CREATE] and payload is None:
        pytest.fail(f"add a create payload for {identity!r} to this test")
    table = view.model.__table__.name
    calls.append(Call("create", can[CREATE], "POST", f"{base}/create", payload or {}, (302,),
                      lambda before: _assert_equal(len(snapshot(db)[table]), len(before[table]) + 1)))  # fmt: skip
    edit = _edits(shop).get(identity)
    if can[EDIT] and edit is None:
        pytest.fail(f"add an edit payload for {identity!r} to this test")
    form, attribute, value = edit or ({}, None, None)
    calls.append(Call("edit", can[EDIT], "POST", f"{base}/edit/{pk}", form, (302,),
                      lambda _: _assert_equal(getattr(fetch(db, view.model, pk), attribute), value)))  # fmt: skip
    actions = {**view._custom_actions_in_list, **view._custom_actions_in_detail}
    for slug in actions:
        calls.append(Call(f"action {slug}", may(role, view, slug), "GET", f"{base}/action/{slug}?pks={pk}", ok=(200, 302)))
    victim = _deletable(identity, shop) if can[DELETE] else pk
    calls.append(Call("delete", can[DELETE], "DELETE", f"{base}/delete?pks={victim}",
                      check=lambda _: _assert_equal(fetch(db, view.model, victim), None)))  # fmt: skip
    return calls


def _assert_equal(actual: Any, expected: Any) -> None:
    assert actual == expected


def send(client, call: Call):
    if call.method == "POST":
        return client.post(call.path, data=call.data)
    return client.request(call.method, call.path)


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_every_route_obeys_the_matrix(app, client, make_staff, shop, role, identity):
    staff = make_staff(role)
    assert login(client, staff.email).status_code == 302
    db = shop["db"]
    for call in calls_for(app, role, identity, shop):
        before = snapshot(db)
        response = send(client, call)
        where = f"{role.value} {call.label} {call.method} {call.path}"
        if call.allowed:
            assert response.status_code in call.ok, f"{where}: {response.status_code} {response.text[-800:]}"
            if call.check:
                call.check(before)
        else:
            assert response.status_code == 403, f"{where}: expected 403, got {response.status_code}"
            assert snapshot(db) == before, f"{where}: a denied request changed the database"


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_buttons_show_only_what_the_role_may_do(app, client, login_as, shop, role, identity):
    login_as(role)
    view = view_instance(app, identity)
    pk = shop["rows"][identity]
    if not may(role, view, VIEW):
        return  # the pages themselves are 403 (see above)
    listing = client.get(f"/admin/{identity}/list").text
    details = client.get(f"/admin/{identity}/details/{pk}").text
    shown = {
        CREATE: f"/admin/{identity}/create" in listing,
        EXPORT: f"/admin/{identity}/export/csv" in listing,
        EDIT: f"/admin/{identity}/edit/{pk}" in listing and f"/admin/{identity}/edit/{pk}" in details,
        DELETE: f"/admin/{identity}/delete" in listing and f"/admin/{identity}/delete" in details,
    }
    for operation, present in shown.items():
        assert present == may(role, view, operation), f"{role.value} sees {operation} on {identity}: {present}"
    for slug in view._custom_actions_in_list:
        assert (f"/admin/{identity}/action/{slug}" in listing) == may(role, view, slug), slug
    for slug in view._custom_actions_in_detail:
        assert (f"/admin/{identity}/action/{slug}" in details) == may(role, view, slug), slug


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_menu_lists_only_what_the_role_may_view(app, client, login_as, role):
    login_as(role)
    page = client.get("/admin/").text
    for view in app.state.admin.views:
        if getattr(view, "model", None) is not None:
            listed = f'href="http://testserver/admin/{view.identity}/list"' in page
            assert listed == may(role, view, VIEW), f"{role.value}: menu entry for {view.identity}"
    assert ('href="http://testserver/admin/permissions"' in page) == is_allowed(role, "permissions", VIEW)
    # A group heading shows only when one of its entries does.
    assert ('data-sqladmin-menu-category="Audit"' in page) == is_allowed(role, "audit-log", VIEW)
    assert 'id="change-password"' in page


def test_matrix_names_only_real_views_and_operations(app):
    """A typo in the matrix would silently grant nothing; a grant a view cannot honour would mislead."""
    views = {getattr(v, "identity", None): v for v in app.state.admin.views}
    for identity, grants in MATRIX.items():
        assert identity == "dashboard" or identity in views, f"matrix names unknown view {identity!r}"
        for role, operations in grants.items():
            assert isinstance(role, Role)
            if identity in views and getattr(views[identity], "model", None) is not None and operations != "all":
                for operation in set(operations) & set(OPERATIONS):
                    assert may(role, views[identity], operation), f"{identity}: {role.value} {operation} is not offered"


def test_every_registered_page_is_in_the_matrix(app):
    pages = {page.identity for page in all_pages()}
    assert pages <= set(MATRIX)


# -- unknown things, look-ups before checks, holes in SQLAdmin's own checks -------------------------


def test_unknown_views_are_404_for_everyone(client, login_as, db):
    login_as(Role.viewer)
    for path in ["/admin/nothing/list", "/admin/nothing/details/1", "/admin/nothing/create",
                 "/admin/nothing/export/csv", "/admin/nothing/ajax/lookup?name=x&term=y", "/admin/permissions/list"]:
        assert client.get(path).status_code == 404, path
    assert client.delete("/admin/nothing/delete?pks=1").status_code == 404


def test_unknown_rows_are_404_only_for_roles_that_may_see_the_view(client, make_staff, shop):
    existing = shop["rows"]["staff-user"]
    viewer, manager = make_staff(Role.viewer), make_staff(Role.manager)
    login(client, viewer.email)
    for pk in (existing, 999_999):  # the same answer whether the row exists or not
        assert client.get(f"/admin/staff-user/details/{pk}").status_code == 403
        assert client.get(f"/admin/staff-user/edit/{pk}").status_code == 403
    login(client, manager.email)
    assert client.get(f"/admin/staff-user/details/{existing}").status_code == 200
    assert client.get("/admin/staff-user/details/999999").status_code == 404
    assert client.get(f"/admin/staff-user/edit/{existing}").status_code == 403
    assert client.get("/admin/staff-user/edit/999999").status_code == 403


def test_deleting_unknown_rows_is_404_and_deletes_nothing(client, login_as, shop):
    login_as(Role.manager)
    db = shop["db"]
    customer = factories.customer(db)
    before = snapshot(db)
    assert client.delete(f"/admin/customer/delete?pks={customer.id},999999").status_code == 404
    assert client.delete("/admin/customer/delete?pks=").status_code == 400
    assert client.delete("/admin/customer/delete").status_code == 400
    assert snapshot(db) == before


def test_import_and_file_routes_are_closed(client, login_as, shop):
    login_as(Role.admin)
    order = shop["rows"]["order"]
    files = {"file": ("orders.csv", b"number\nSO-1\n", "text/csv")}
    before = snapshot(shop["db"])
    assert client.post("/admin/order/import", files=files).status_code == 403
    assert client.get(f"/admin/order/{order}/number/download/").status_code == 404
    assert client.get(f"/admin/order/{order}/number/preview/").status_code == 404
    assert client.get(f"/admin/staff-user/{shop['rows']['staff-user']}/password_hash/download/").status_code == 404
    assert snapshot(shop["db"]) == before


def test_look_up_needs_view_permission_on_the_searched_model(client, login_as, shop, monkeypatch):
    """Editing orders must not open a way to search customers the role may not see."""
    login_as(Role.support)
    assert client.get("/admin/order/ajax/lookup?name=customer&term=a").status_code == 200
    monkeypatch.setitem(MATRIX, "customer", {})
    assert client.get("/admin/order/ajax/lookup?name=customer&term=a").status_code == 403


def test_role_is_read_from_the_database_on_every_request(client, make_staff, db):
    staff = make_staff(Role.support)
    login(client, staff.email)
    assert client.get("/admin/category/create").status_code == 403
    assert client.get("/admin/staff-user/list").status_code == 403

    def set_role(role: Role) -> None:
        with Session(db) as session:
            session.get(StaffUser, staff.id).role = role
            session.commit()

    set_role(Role.manager)
    assert client.get("/admin/category/create").status_code == 200
    assert client.get("/admin/staff-user/list").status_code == 200
    set_role(Role.viewer)
    assert client.get("/admin/category/create").status_code == 403
    assert client.get("/admin/order/list").status_code == 200


def test_denials_are_logged(client, login_as, db, caplog):
    staff = login_as(Role.viewer)
    with caplog.at_level(logging.WARNING, logger="admin_site.admin"):
        assert client.post("/admin/order/create", data={"number": "SO-1"}).status_code == 403
    assert any("denied POST /admin/order/create" in r.getMessage() and str(staff.id) in r.getMessage()
               for r in caplog.records)  # fmt: skip


# -- read-only fields ------------------------------------------------------------------------------


def test_order_number_cannot_change_after_creation(client, login_as, shop):
    login_as(Role.admin)
    db, pk, number = shop["db"], shop["rows"]["order"], shop["order_number"]
    page = client.get(f"/admin/order/edit/{pk}").text
    assert number in page and 'name="number"' not in page  # shown, not editable
    form, _, _ = _edits(shop)["order"]
    response = client.post(f"/admin/order/edit/{pk}", data={**form, "number": "SO-FORGED"})
    assert response.status_code == 302, response.text[-1000:]
    saved = fetch(db, Order, pk)
    assert saved.number == number and saved.notes == "Renamed"
    assert 'name="number"' in client.get("/admin/order/create").text  # set once, at creation


def test_server_managed_columns_are_in_no_form(client, login_as, shop):
    login_as(Role.admin)
    for view in VIEW_CLASSES:
        pk = shop["rows"][view.identity]
        pages = [client.get(f"/admin/{view.identity}/create"), client.get(f"/admin/{view.identity}/edit/{pk}")]
        for page in pages:
            if page.status_code == 403:
                continue
            for name in ("id", "created_at", "updated_at", "password_hash"):
                assert f'name="{name}"' not in page.text, (view.identity, name)


def test_created_at_posted_by_hand_is_ignored(client, login_as, shop):
    login_as(Role.admin)
    db, pk = shop["db"], shop["rows"]["customer"]
    original = fetch(db, Customer, pk)
    form, _, _ = _edits(shop)["customer"]
    forged = {**form, "created_at": "2001-01-01 00:00:00", "id": "424242"}
    assert client.post(f"/admin/customer/edit/{pk}", data=forged).status_code == 302
    saved = fetch(db, Customer, pk)
    assert saved.created_at == original.created_at and saved.id == pk
    assert saved.created_at > datetime(2020, 1, 1, tzinfo=timezone.utc)

