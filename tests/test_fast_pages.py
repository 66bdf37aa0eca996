"""What makes list and form pages cheap, checked for behaviour: the search runs once, the edit page
loads its row once, the look-up widget still names the selected row, form classes are kept only
when nothing in them is read from the database."""

from __future__ import annotations

import html
import json
import re
from datetime import timedelta

import pytest

from admin_site.lists import query as listing
from models import OrderStatus, Role
from tests import factories
from tests.helpers import listed_ids, order_form, recorded_statements, row_count, run_in_own_loop, six_orders, view_of


@pytest.fixture
def orders(db):
    return six_orders(db, "SO-77")


def test_a_search_runs_once_and_is_counted_exactly_under_the_cap(client, login_as, orders, db, monkeypatch):
    login_as(Role.viewer)
    monkeypatch.setattr(listing, "EXACT_BELOW", 0)  # orders behave as a big table: filtered counts are capped
    with recorded_statements(db) as statements:
        page = client.get("/admin/order/list?search=smith&pageSize=2").text
    listing_statements = [s for s in statements if "staff_users" not in s]  # not the signed-in check
    assert sum("ILIKE" in s for s in listing_statements) == 1, statements  # counted and keyed in one run
    assert len(listing_statements) == 2, statements  # that, then the page read by the keys
    assert row_count(page) == "Showing 1 to 2 of 3 items"  # exact, not "3+" or "about"
    shown = listed_ids(page, "order") + listed_ids(
        client.get("/admin/order/list?search=smith&pageSize=2&page=2").text, "order"
    )
    assert sorted(shown) == sorted(o.id for o in orders[1::2])


def test_a_broad_search_is_counted_and_paged_by_running_it_again(client, login_as, orders, db, monkeypatch):
    login_as(Role.viewer)
    monkeypatch.setattr(listing, "EXACT_BELOW", 0)
    monkeypatch.setattr(listing, "SEARCH_KEYS_AT_MOST", 3)  # 6 matches: too many keys to carry
    with recorded_statements(db) as statements:
        first = client.get("/admin/order/list?search=SO-77&pageSize=4").text
    assert sum("ILIKE" in s for s in statements) == 2  # the count (no keys: too many), the page
    assert row_count(first).endswith("of 6 items")
    monkeypatch.setattr(listing, "CAPPED_COUNT", 4)
    first = client.get("/admin/order/list?search=SO-77&pageSize=4").text
    assert row_count(first).endswith("of 4+ items")
    second = listed_ids(client.get("/admin/order/list?search=SO-77&pageSize=4&page=2").text, "order")
    assert sorted(listed_ids(first, "order") + second) == sorted(o.id for o in orders)


def test_a_search_matching_nothing_shows_an_empty_page(client, login_as, orders):
    login_as(Role.viewer)
    page = client.get("/admin/order/list?search=nobody-at-all").text
    assert listed_ids(page, "order") == []
    assert "No orders match." in page


def test_search_and_filters_combine_with_the_keys(client, login_as, orders):
    login_as(Role.viewer)
    ids = listed_ids(client.get("/admin/order/list?search=smith&status=refunded").text, "order")
    assert sorted(ids) == sorted(o.id for o in orders[:4][1::2])


@pytest.mark.parametrize("page", ["edit", "details"])
def test_the_edit_and_details_pages_load_their_row_once(client, login_as, orders, db, page):
    login_as(Role.support)
    with recorded_statements(db) as statements:
        response = client.get(f"/admin/order/{page}/{orders[1].id}")
    assert response.status_code == 200 and "a.smith@example.com" in response.text
    row_loads = [s for s in statements if "FROM orders" in s]
    assert len(row_loads) == 1, row_loads  # not once for the permission check and again for the page
    assert not any(s.lstrip().startswith("SELECT customers.") for s in statements)  # the customer came joined


def lookup_data(page: str, name: str) -> list[dict]:
    tag = re.search(rf'<select[^>]*\bname="{name}"[^>]*>', page)[0]
    return json.loads(html.unescape(re.search(r'data-json="([^"]*)"', tag)[1]))


def test_the_look_up_names_the_selected_row_on_the_form_and_after_a_refusal(client, login_as, orders):
    login_as(Role.support)
    order = orders[1]
    page = client.get(f"/admin/order/edit/{order.id}").text
    assert lookup_data(page, "customer") == [{"id": str(order.customer_id), "text": "a.smith@example.com"}]
    # Posted back with an error: the field holds the raw key, looked up before the page renders.
    refused = client.post(f"/admin/order/edit/{order.id}", data=order_form(order, discount_pct="150"))
    assert refused.status_code == 400
    assert lookup_data(refused.text, "customer") == [{"id": str(order.customer_id), "text": "a.smith@example.com"}]


def test_form_classes_are_kept_unless_a_drop_down_reads_rows(app, db, client, login_as):
    order_view, product_view = view_of(app, "order"), view_of(app, "product")
    build = lambda view: run_in_own_loop(view.scaffold_form(view._form_edit_rules))  # noqa: E731
    assert build(order_view) is build(order_view)  # the customer is a look-up: nothing read when built
    assert build(product_view) is not build(product_view)  # the category drop-down lists rows
    factories.category(db, name="Kites")
    login_as(Role.admin)
    assert ">Kites</option>" in client.get("/admin/product/create").text  # a row added since is offered


def menu_links(page: str) -> dict[str, bool]:
    """The side menu's entries: list URL → whether it is marked active."""
    menu = page.split('id="navbar-menu"', 1)[1].split("</nav>", 1)[0]
    return {m[2]: "active" in m[1] for m in re.finditer(r'<a class="nav-link([^"]*)"\s+href="([^"]+)"', menu)}


def test_the_drawn_menu_is_kept_per_role_and_page(client, login_as, orders):
    login_as(Role.admin)
    admin_menu = menu_links(client.get("/admin/order/list").text)
    assert admin_menu["http://testserver/admin/order/list"] is True
    assert admin_menu["http://testserver/admin/staff-user/list"] is False  # shown, not active
    on_customers = menu_links(client.get("/admin/customer/list").text)
    assert (
        on_customers["http://testserver/admin/customer/list"] and not on_customers["http://testserver/admin/order/list"]
    )
    client.cookies.clear()
    login_as(Role.viewer)  # same page, another role: not the admin's menu
    viewer_menu = menu_links(client.get("/admin/order/list").text)
    assert "http://testserver/admin/staff-user/list" not in viewer_menu
    assert viewer_menu["http://testserver/admin/order/list"] is True


def test_a_related_filter_lists_its_choices_only_for_a_small_table(app, db, monkeypatch):
    from sqlalchemy import select, text
    from sqlalchemy.orm import Session

    from admin_site.lists import filters
    from models import Product

    for name in ("Kites", "Books", "Maps"):
        factories.category(db, name=name)
    category = next(f for f in view_of(app, "product").get_filters() if f.name == "category")
    with Session(db) as session:
        listed = category.read_options(session.scalar(select(category.options_column)))
        assert listed == [(str(i), n) for i, n in sorted(
            session.execute(text("SELECT id, name FROM categories")).all(), key=lambda r: r[1])]  # fmt: skip
        with db.begin() as conn:
            conn.execute(text("ANALYZE categories"))  # the planner now estimates 3 rows
        monkeypatch.setattr(filters, "MAX_CHOICES", 2)
        smaller = filters.build_filter(Product, "category")  # its expression built with the lower limit
        assert smaller.read_options(session.scalar(select(smaller.options_column))) is None  # type a label instead


def test_count_filter_choices_and_saved_views_come_in_one_statement_with_the_page_in_another(client, login_as, db):
    login_as(Role.viewer)
    kites = factories.category(db, name="Kites")
    factories.product(db, name="Box kite", category_id=kites.id)
    client.post("/admin/product/saved-views", data={"name": "Kites only", "query": f"category={kites.id}"})
    with recorded_statements(db) as statements:
        page = client.get("/admin/product/list").text
    listing_statements = [s for s in statements if "staff_users" not in s]
    assert len(listing_statements) == 2, listing_statements
    assert "Kites only" in page and re.search(rf'<option value="{kites.id}"\s*>Kites</option>', page)
    assert row_count(page).endswith("of 1 items") and "Box kite" in page


def test_a_backend_that_looks_at_rows_is_asked_per_row_and_the_menu_is_not_kept(app, client, login_as, orders,
                                                                                 monkeypatch):  # fmt: skip
    backend = app.state.admin.authorization_backend
    answer = type(backend).has_permission

    def not_the_second_order(self, request, identity, action, obj=None):
        if action == "edit" and obj is not None and obj.id == orders[1].id:
            return False
        return answer(self, request, identity, action, obj)

    monkeypatch.setattr(type(backend), "has_permission", not_the_second_order)
    monkeypatch.setattr(backend, "answers_by_role_only", False)
    side_menu = app.state.admin.templates.env.globals["side_menu"]
    monkeypatch.setattr(side_menu, "_drawn", {})
    login_as(Role.support)
    page = client.get("/admin/order/list").text
    edited = {int(m) for m in re.findall(r"/admin/order/edit/(\d+)", page)}
    assert edited == {o.id for o in orders} - {orders[1].id}
    assert "http://testserver/admin/order/list" in menu_links(page) and side_menu._drawn == {}


def test_a_views_own_details_query_is_still_used(app, client, login_as, orders, monkeypatch):
    """SQLAdmin's hook: a view may narrow what its details page finds (here: only refunded orders)."""
    from sqlalchemy import select

    from models import Order

    view = view_of(app, "order")
    key = view.pk_columns[0]
    monkeypatch.setattr(view, "details_query", lambda request: select(Order).where(
        Order.status == OrderStatus.refunded, key == view._key_from_url(request.path_params["pk"])))  # fmt: skip
    login_as(Role.support)
    shown = client.get(f"/admin/order/details/{orders[1].id}")
    assert shown.status_code == 200 and orders[1].number in shown.text and "a.smith@example.com" in shown.text
    assert client.get(f"/admin/order/details/{orders[5].id}").status_code == 404  # paid: not found by this query


def test_an_unfiltered_list_keeps_its_statements_and_still_reads_fresh_rows(app, db, client, login_as, orders,
                                                                             monkeypatch):  # fmt: skip
    view = view_of(app, "order")
    monkeypatch.setattr(view, "_unfiltered_statements", {})
    login_as(Role.viewer)
    newest_first = [o.id for o in sorted(orders, key=lambda o: o.placed_at, reverse=True)]
    pages = [listed_ids(client.get(f"/admin/order/list?pageSize=4&page={n}").text, "order") for n in (1, 2)]
    assert pages == [newest_first[:4], newest_first[4:]]  # LIMIT and OFFSET bound per request
    kept = view._unfiltered_statements[(None, False, "estimated")]
    assert list(view._unfiltered_statements) == [(None, False, "estimated")]
    client.get("/admin/order/list?status=refunded")
    client.get("/admin/order/list?search=smith")
    assert list(view._unfiltered_statements) == [(None, False, "estimated")]  # filtered and searched lists are not kept
    client.get("/admin/order/list?sortBy=number&sort=desc")
    assert list(view._unfiltered_statements) == [(None, False, "estimated"), ("number", True, "estimated")]

    added = factories.order(db, orders[0].customer_id, placed_at=orders[0].placed_at + timedelta(days=365))
    page = client.get("/admin/order/list?pageSize=4").text
    assert listed_ids(page, "order") == [added.id, *newest_first[:3]] and row_count(page).endswith("of 7 items")
    assert view._unfiltered_statements[(None, False, "estimated")] is kept


@pytest.mark.parametrize("method", ["list_query", "filtered_query"])
def test_a_views_own_list_query_is_asked_on_every_request(app, client, login_as, orders, monkeypatch, method):
    """A view may narrow its list per request (here: by a header); such statements are never kept."""
    from sqlalchemy import select

    from models import Order

    view = view_of(app, "order")
    monkeypatch.setattr(view, "_unfiltered_statements", {})
    only = {"refunded": OrderStatus.refunded, "paid": OrderStatus.paid}

    def own_rows(request, *params):
        stmt = select(Order).where(Order.status == only[request.headers["x-only"]])
        return (stmt, False) if params else stmt  # filtered_query also says whether the URL narrowed it

    monkeypatch.setattr(view, method, own_rows)
    login_as(Role.viewer)
    for status in ("refunded", "paid", "refunded"):
        shown = listed_ids(client.get("/admin/order/list", headers={"x-only": status}).text, "order")
        assert sorted(shown) == sorted(o.id for o in orders if o.status == only[status])
    assert view._unfiltered_statements == {}
