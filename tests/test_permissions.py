"""Generated from the permission matrix: every role × view × operation × route, through real HTTP.

What a role may do comes from `admin_site.permissions` (the one declaration) and the view's own
switches (`can_delete = False` …); routes and bulk actions come from the views registered in the
app. Allowed requests succeed; denied ones get 403 and leave every table as it was (the audit log
may only gain the record of the refusal).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session

import models
from admin_site.audit import log as audit
from admin_site.auth.permissions import (
    CREATE,
    DELETE,
    EDIT,
    EXPORT,
    IMPORT,
    MATRIX,
    OPERATIONS,
    VIEW,
    describe_grant,
    is_allowed,
)
from admin_site.forms.bulk_actions import actions_of
from admin_site.views.registry import all_pages, all_views
from models import AuditLog, Customer, Order, OrderItem, Role, SavedView, StaffUser
from tests import factories
from tests.helpers import Snapshot, fetch, login, snapshot, view_of

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
        saved = SavedView(staff_user_id=colleague.id, view_identity="order", name="Paid", query="status=paid")
        session.add_all([entry, saved])
        session.commit()
    rows = {
        "category": product.category_id, "product": product.id, "customer": order.customer_id, "order": order.id,
        "order-item": item.id, "staff-user": colleague.id, "audit-log": entry.id, "saved-view": saved.id,
    }  # fmt: skip
    return {"rows": rows, "other_product": other_product.id, "order_number": order.number, "db": db}


def _creates(shop: dict[str, Any]) -> dict[str, dict[str, str]]:
    rows = shop["rows"]
    return {
        "category": {"name": "Toys", "slug": "toys", "is_active": "y"},
        "product": {"sku": "NEW-1", "name": "Kite", "category": rows["category"], "price": "19.99", "cost": "7.50",
                    "stock_quantity": "5", "reorder_level": "1", "is_active": "y"},
        "customer": {"email": "zoe@example.com", "first_name": "Zoe", "last_name": "Smith", "country": "FR"},
        "order": {"customer": rows["customer"], "status": "pending", "placed_at": "2025-05-01 10:00:00",
                  "discount_pct": "0", "shipping_fee": "4.50", "items-0-product": shop["other_product"],
                  "items-0-quantity": "1", "items-0-unit_price": "2.00"},
        "order-item": {"order": rows["order"], "product": shop["other_product"], "quantity": "3", "unit_price": "2.00"},
        "staff-user": {"email": "new.agent@shop.example", "full_name": "New Agent", "role": "viewer",
                       "is_active": "y", "new_password": "a-long-pass-123"},
    }  # fmt: skip


def _edits(shop: dict[str, Any]) -> dict[str, tuple[dict[str, str], str, Any]]:
    """identity → (form posted to the seeded row, attribute that must change, its new value); a versioned
    row's form carries the version it shows, as the edit page's hidden field does."""
    rows, db = shop["rows"], shop["db"]
    with Session(db) as session:
        product = session.get(models.Product, rows["product"])
        customer = session.get(Customer, rows["customer"])
        category = session.get(models.Category, rows["category"])
        colleague = session.get(StaffUser, rows["staff-user"])
        item = session.get(OrderItem, rows["order-item"])
        order = session.get(Order, rows["order"])
    return {
        "category": ({"name": "Renamed", "slug": category.slug, "is_active": "y", "version": str(category.version)},
                     "name", "Renamed"),
        "product": ({"sku": product.sku, "name": "Renamed", "category": rows["category"], "price": "9.90",
                     "cost": "5.00", "stock_quantity": "4", "reorder_level": "2", "is_active": "y",
                     "version": str(product.version)}, "name", "Renamed"),
        "customer": ({"email": customer.email, "first_name": "Renamed", "last_name": customer.last_name,
                      "country": customer.country, "version": str(customer.version)}, "first_name", "Renamed"),
        "order": ({"number": "SO-FORGED", "customer": rows["customer"], "status": "paid",
                   "placed_at": "2025-03-02 12:00:00", "discount_pct": "0", "shipping_fee": "1.00", "notes": "Renamed",
                   "version": str(order.version)}, "notes", "Renamed"),
        "order-item": ({"order": item.order_id, "product": item.product_id, "quantity": "5", "unit_price": "2.00",
                        "version": str(item.version)}, "quantity", 5),
        "staff-user": ({"email": colleague.email, "full_name": "Renamed", "role": "support", "is_active": "y",
                        "version": str(colleague.version)}, "full_name", "Renamed"),
        "saved-view": ({"view_identity": "order", "name": "Renamed", "query": "status=paid"}, "name", "Renamed"),
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
    return rows.get(identity, 1)  # never deletable through the admin (or no factory for it)


# -- the database, compared before and after ------------------------------------------------------


def assert_unchanged(db: Engine, before: Snapshot, where: str = "") -> None:
    """Nothing changed, except that the refusal itself may have been appended to the audit log."""
    after = snapshot(db)
    audit_table = AuditLog.__table__.name
    for table, rows in before.items():
        if table == audit_table:
            assert after[table][: len(rows)] == rows, f"{where}: audit rows changed"
            added = {row["action"] for row in after[table][len(rows) :]}
            # An export is recorded when its stream ends, which can be just after the client has the file.
            assert added <= {audit.DENIED, audit.EXPORT}, f"{where}: audit rows other than the refusal: {added}"
        else:
            assert after[table] == rows, f"{where}: a denied request changed {table}"


def row_of(shop: dict[str, Any], view: Any) -> Any:
    """The seeded row of the view, or any row of its table (a view this test has no factory for)."""
    if view.identity in shop["rows"]:
        return shop["rows"][view.identity]
    with Session(shop["db"]) as session:
        return session.scalar(select(view.pk_columns[0]).limit(1)) or 1


# -- what a role may do, and the routes that do it -------------------------------------------------


def may(role: Role, view: Any, operation: str) -> bool:
    """The matrix's answer, within what the view offers at all (`can_delete = False` …)."""
    offered = {VIEW: view.can_view_details, CREATE: view.can_create, EDIT: view.can_edit,
               DELETE: view.can_delete, EXPORT: view.can_export,
               IMPORT: view.can_import and getattr(view, "import_key", None)}.get(operation, True)  # fmt: skip
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
    check: Callable[[Snapshot], None] | None = field(default=None, repr=False)  # given the "before" snapshot


def view_of_model(app, model: type) -> Any:
    return next(v for v in app.state.admin.views if getattr(v, "model", None) is model)


def has_route(app, name: str) -> bool:
    return any(getattr(route, "name", None) == name for route in app.state.admin.admin.router.routes)


def route_method(app, name: str) -> str:
    """The method a route answers (POST where it answers both)."""
    route = next(r for r in app.state.admin.admin.router.routes if getattr(r, "name", None) == name)
    return "POST" if "POST" in route.methods else "GET"


def calls_for(app, role: Role, identity: str, shop: dict[str, Any]) -> list[Call]:
    """Every route of the view, in an order where writes come after reads and delete comes last."""
    view = view_of(app, identity)
    db, pk, base = shop["db"], row_of(shop, view), f"/admin/{identity}"
    can = {op: may(role, view, op) for op in OPERATIONS}
    calls = [
        Call("list", can[VIEW], "GET", f"{base}/list"),
        Call("details", can[VIEW], "GET", f"{base}/details/{pk}"),
        *(Call(f"export {kind}", can[EXPORT], "GET", f"{base}/export/{kind}") for kind in view.export_types),
        Call("create form", can[CREATE], "GET", f"{base}/create"),
        Call("edit form", can[EDIT], "GET", f"{base}/edit/{pk}"),
    ]
    if has_route(app, "export_selected"):  # exporting the rows ticked on the list, where the app offers it
        for kind in view.export_types:
            path = f"{base}/export-selected/{kind}"
            calls.append(Call(f"export selected {kind}", can[EXPORT], "POST", path, {"pks": str(pk)}))
    if has_route(app, "history"):  # a record's change history, from the audit log
        kept = getattr(view, "show_history", False)  # a view without a history answers 404 to those who may look
        calls.append(Call("history", can[VIEW], "GET", f"{base}/history/{pk}", ok=(200,) if kept else (404,)))
    if has_route(app, "saved_view_save"):  # one's own saved list views: as open as the list itself
        saved = {"name": "Mine", "query": "page=1"}
        calls.append(Call("save view", can[VIEW], "POST", f"{base}/saved-views", saved, (303,)))
        colleagues = shop["rows"]["saved-view"]  # somebody else's: not found even when allowed
        calls.append(Call("drop view", can[VIEW], "POST", f"{base}/saved-views/{colleagues}/delete", {}, (404,)))
    # The form look-up searches another model: the role needs the form and a view of that model.
    for name, loader in view._form_ajax_refs.items():
        allowed = (can[CREATE] or can[EDIT]) and may(role, view_of_model(app, loader.model), VIEW)
        calls.append(Call(f"look-up {name}", allowed, "GET", f"{base}/ajax/lookup?name={name}&term=a"))
    for name in getattr(view, "inlines", []):  # an inline line's look-up (an order line's product)
        chooser = next(r for r in inspect(view.model).relationships[name].mapper.relationships if r.key != "order")
        allowed = (can[CREATE] or can[EDIT]) and may(role, view_of_model(app, chooser.mapper.class_), VIEW)
        calls.append(Call(f"inline look-up {name}", allowed, "GET", f"{base}/inline-lookup/{name}?term=a"))
    if has_route(app, "filter_lookup"):  # the list filters' own look-up, where the app has one
        for related in (f for f in view.get_filters() if getattr(f, "target", None) and getattr(f, "label", None)):
            allowed = can[VIEW] and may(role, view_of_model(app, related.target), VIEW)
            calls.append(
                Call(f"filter {related.name}", allowed, "GET", f"{base}/filter-lookup?name={related.name}&term=a")
            )

    # Writes: with a known valid form the change must happen; without one (a model added since this
    # test was written) the empty form must at least get past the permission check to validation.
    table = view.model.__table__.name
    payload = _creates(shop).get(identity)

    def created_one(before: Snapshot) -> None:
        assert len(snapshot(db)[table]) == len(before[table]) + 1

    if payload is None:
        calls.append(Call("create (empty form)", can[CREATE], "POST", f"{base}/create", {}, (302, 400)))
    else:
        calls.append(Call("create", can[CREATE], "POST", f"{base}/create", payload, (302,), created_one))

    edit = _edits(shop).get(identity)

    def edited(_: Snapshot) -> None:
        _, attribute, value = edit
        assert getattr(fetch(db, view.model, pk), attribute) == value

    if edit is None:
        calls.append(Call("edit (empty form)", can[EDIT], "POST", f"{base}/edit/{pk}", {}, (302, 400)))
    else:
        calls.append(Call("edit", can[EDIT], "POST", f"{base}/edit/{pk}", edit[0], (302,), edited))

    # Bulk actions: whatever the views declare, through every route that reaches them.
    for slug in {**view._custom_actions_in_list, **view._custom_actions_in_detail}:
        allowed = may(role, view, slug)
        if has_route(app, "action_confirm"):  # the confirmation page, where the app has one
            calls.append(Call(f"confirm {slug}", allowed, "GET", f"{base}/confirm/{slug}?pks={pk}"))
        calls.append(
            Call(
                f"action {slug}",
                allowed,
                route_method(app, "action"),
                f"{base}/action/{slug}?pks={pk}",
                ok=(200, 302, 303),
            )
        )

    if has_route(app, "import_preview"):  # import from a spreadsheet: its form, an upload without a file, a preview
        token = "no-such-preview-" + "x" * 27  # and its confirmation that do not exist (for those who may: 404)
        calls += [
            Call("import form", can[IMPORT], "GET", f"{base}/import"),
            Call("import upload", can[IMPORT], "POST", f"{base}/import", {}, (400,)),
            Call("import preview", can[IMPORT], "GET", f"{base}/import/{token}", ok=(404,)),
            Call("import refusals", can[IMPORT], "GET", f"{base}/import/{token}/refusals.csv", ok=(404,)),
            Call("import confirm", can[IMPORT], "POST", f"{base}/import/{token}/confirm", {}, (404,)),
        ]

    victim = _deletable(identity, shop) if can[DELETE] else pk

    def deleted(_: Snapshot) -> None:
        assert fetch(db, view.model, victim) is None

    calls.append(Call("delete", can[DELETE], "DELETE", f"{base}/delete?pks={victim}", check=deleted))
    return calls


# Routes this test reaches for every view (or, the first group, tests elsewhere in this file), and
# routes that belong to no view. A route added to the admin later must be added to one of them.
EXERCISED_ROUTES = {
    "import", "import_preview", "import_refusals", "import_confirm", "file_download", "file_preview", "view-permissions", "view-account",
    "list", "details", "create", "edit", "delete", "export", "export_selected", "ajax_lookup", "filter_lookup",
    "history", "saved_view_save", "saved_view_delete", "action_confirm", "action", "inline_lookup",
    "staff_sessions", "staff_sessions_end",
}  # fmt: skip
NOT_A_VIEWS_ROUTE = {"statics", "shop_static", "index", "login", "logout", "logout_everywhere"}


def test_every_admin_route_is_exercised_here(app):
    names = {getattr(route, "name", None) for route in app.state.admin.admin.router.routes}
    unknown = names - EXERCISED_ROUTES - NOT_A_VIEWS_ROUTE
    assert not unknown, f"add these routes to the generated test: {sorted(unknown)}"


def send(client, call: Call):
    if call.method == "POST":
        return client.post(call.path, data=call.data or {})
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
            assert_unchanged(db, before, where)


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_buttons_show_only_what_the_role_may_do(app, client, login_as, shop, role, identity):
    login_as(role)
    view = view_of(app, identity)
    pk = row_of(shop, view)
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
        assert offers_action(listing, identity, slug) == may(role, view, slug), f"{role.value}: {slug} in list"
    with Session(shop["db"]) as session:
        row = session.get(view.model, pk)
    actions = actions_of(type(view))
    for slug in view._custom_actions_in_detail:  # a record's page offers an action that applies to it (shown_for)
        expected = may(role, view, slug) and actions[slug].applies(row)
        assert offers_action(details, identity, slug) == expected, f"{role.value}: {slug} in details"


def offers_action(page: str, identity: str, slug: str) -> bool:
    """A link, button or menu entry that starts the bulk action (directly or through its confirmation)."""
    return re.search(rf"/admin/{re.escape(identity)}/(action|confirm)/{re.escape(slug)}(?![\w-])", page) is not None


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


@pytest.mark.parametrize("page", all_pages(), ids=lambda p: p.identity)
@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_every_page_obeys_the_matrix(app, client, login_as, role, page):
    login_as(role)
    path = app.state.admin.admin.url_path_for(f"view-{page.identity}")
    expected = 200 if is_allowed(role, page.identity, VIEW) else 403
    assert client.get(f"/admin{path}").status_code == expected


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


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_a_staff_members_sessions_obey_the_matrix(client, login_as, make_staff, db, role):
    them = make_staff(Role.viewer)
    login_as(role)
    allowed = is_allowed(role, "staff-user", "sessions")
    assert client.get(f"/admin/staff-user/sessions/{them.id}").status_code == (200 if allowed else 403)
    before = snapshot(db)
    response = client.post(f"/admin/staff-user/sessions/{them.id}/end", data={"session": "all"})
    assert response.status_code == (303 if allowed else 403)
    if not allowed:  # nothing changes but the record of the refusal
        after = snapshot(db)
        assert after["audit_log"].pop()["action"] == "denied" and after == before


def test_every_registered_page_is_in_the_matrix(app):
    pages = {page.identity for page in all_pages()}
    assert pages <= set(MATRIX)


# -- unknown things, look-ups before checks, holes in SQLAdmin's own checks -------------------------


def test_unknown_views_are_404_for_everyone(client, login_as, db):
    login_as(Role.viewer)
    for path in [
        "/admin/nothing/list",
        "/admin/nothing/details/1",
        "/admin/nothing/create",
        "/admin/nothing/export/csv",
        "/admin/nothing/ajax/lookup?name=x&term=y",
        "/admin/permissions/list",
    ]:
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
    assert_unchanged(db, before)


def test_import_and_file_routes_are_closed(client, login_as, shop):
    login_as(Role.admin)
    order = shop["rows"]["order"]
    files = {"file": ("orders.csv", b"number\nSO-1\n", "text/csv")}
    before = snapshot(shop["db"])
    assert client.post("/admin/order/import", files=files).status_code == 403
    assert client.get(f"/admin/order/{order}/number/download/").status_code == 404
    assert client.get(f"/admin/order/{order}/number/preview/").status_code == 404
    assert client.get(f"/admin/staff-user/{shop['rows']['staff-user']}/password_hash/download/").status_code == 404
    assert_unchanged(shop["db"], before)


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
    with caplog.at_level(logging.WARNING, logger="admin_site.site.admin"):
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
    assert 'name="number"' not in client.get("/admin/order/create").text  # given by the server at creation


def test_server_managed_columns_are_in_no_form(client, login_as, shop):
    login_as(Role.admin)
    for view in VIEW_CLASSES:
        pk = row_of(shop, view)
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
    assert saved.created_at > datetime(2020, 1, 1, tzinfo=UTC)


# -- the permissions page ----------------------------------------------------------------------------


def test_permissions_page_renders_the_matrix_for_admins(app, client, login_as):
    login_as(Role.admin)
    page = client.get("/admin/permissions")
    assert page.status_code == 200
    header = re.search(r"<thead>(.*?)</thead>", page.text, re.DOTALL).group(1)
    assert [h.strip() for h in re.findall(r"<th>(.*?)</th>", header)][1:] == [r.value.capitalize() for r in Role]
    identities = ["dashboard", *(v.identity for v in app.state.admin.views)]
    for identity in identities:
        row = re.search(rf'<tr data-identity="{identity}">(.*?)</tr>', page.text, re.DOTALL)
        assert row, f"no row for {identity}"
        cells = [c.strip() for c in re.findall(r"<td>(.*?)</td>", row.group(1), re.DOTALL)]
        assert cells == [describe_grant(role, identity) for role in Role], identity


@pytest.mark.parametrize("role", [Role.viewer, Role.support, Role.manager], ids=lambda r: r.value)
def test_permissions_page_is_403_for_other_roles(client, login_as, role):
    login_as(role)
    assert client.get("/admin/permissions").status_code == 403
