"""What keeps lists fast on a million rows, checked at small scale: the indexes the queries can use,
count modes, deep pages, links that keep the list's query string."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text

from admin_site.lists import query as listing
from admin_site.lists.query import search_clause
from admin_site.ops.seed import seed_shop
from models import Customer, Order, OrderStatus, Product, Role
from tests.helpers import list_request, listed_ids, recorded_statements, row_count, six_orders, view_of


@pytest.fixture
def planned_shop(db):
    """A small shop shaped like the real one, with its statistics taken right before the test's EXPLAINs.

    A plan depends on the planner's statistics, and TRUNCATE (the `db` fixture) leaves pg_statistic as the last
    ANALYZE found the table: after a test that analysed its six orders (four refunded), "status = refunded,
    newest first" was planned as a walk down ix_orders_placed_at_id, filtering. Here every plan test starts from
    the same rows (seed_shop's: 2,000 orders over 2024–2025 in the shop's mix of statuses, refunded 4 %) and
    statistics of its own."""
    seed_shop(db, customers=200, products=50, orders=2000)
    with db.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:  # VACUUM: not in a transaction
        conn.execute(text("VACUUM (ANALYZE) categories, products, customers, orders, order_items"))
    return db


def plan(engine, stmt, *, bitmap_only: bool = False) -> str:
    """EXPLAIN of a statement with sequential scans and sorts discouraged: shows which index *can* serve it
    (on a small table the planner might rightly read the table instead). Run it on `planned_shop`, whose
    statistics are the test's own; it fails if the plan still reads a whole table or sorts."""
    with engine.begin() as conn:  # compiled after connecting: the dialect then knows how the server escapes
        compiled = stmt.compile(dialect=engine.dialect, compile_kwargs={"render_postcompile": True})
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        conn.execute(text("SET LOCAL enable_sort = off"))
        if bitmap_only:  # nor walk a whole b-tree filtering every row: only an index that matches the ILIKE
            conn.execute(text("SET LOCAL enable_indexscan = off"))
            conn.execute(text("SET LOCAL enable_indexonlyscan = off"))
        shown = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + compiled.string, compiled.params))
    assert "Seq Scan" not in shown, shown  # no table read whole, even where no index serves
    assert "Sort" not in shown, shown  # rows come in an index's order
    return shown


@pytest.mark.parametrize("model, fields, indexes", [
    (Order, ["number", "customer.email"], ["ix_orders_number_trgm", "ix_customers_email_trgm"]),
    (Customer, ["email", "full_name"], ["ix_customers_email_trgm", "ix_customers_full_name_trgm"]),
    (Product, ["sku", "name"], ["ix_products_sku_trgm", "ix_products_name_trgm"]),
])  # fmt: skip
def test_search_is_served_by_the_trigram_indexes(planned_shop, model, fields, indexes):
    shown = plan(planned_shop, select(model.id).where(search_clause(model, fields, "smith_%")), bitmap_only=True)
    for index in indexes:
        assert index in shown, shown


def test_default_orders_use_their_indexes(planned_shop):
    newest = select(Order.id).order_by(Order.placed_at.desc(), Order.id.desc()).limit(50)
    assert "Scan Backward using ix_orders_placed_at_id" in plan(planned_shop, newest)
    customers = select(Customer.id).order_by(Customer.created_at.desc(), Customer.id.desc()).limit(50)
    assert "Scan Backward using ix_customers_created_at_id" in plan(planned_shop, customers)


def test_status_and_date_filters_are_served_by_one_index(planned_shop):
    from starlette.datastructures import QueryParams

    from admin_site.lists.filters import build_filter

    asked = QueryParams("status=paid&status=shipped&placed_at__gte=2025-03-01&placed_at__lte=2025-03-31")
    stmt = select(Order.id)
    for name in ("status", "placed_at"):
        stmt = build_filter(Order, name).apply(stmt, asked)
    count = plan(planned_shop, stmt)
    assert "ix_orders_status_placed_at_id" in count, count  # the count: status and dates both in the index,
    assert "Filter" not in count, count  # no row read to check its status
    refunded = select(Order.id).where(Order.status == OrderStatus.refunded)
    newest = refunded.order_by(Order.placed_at.desc(), Order.id.desc()).limit(50)
    page = plan(planned_shop, newest)
    assert "Scan Backward using ix_orders_status_placed_at_id" in page, page  # the page: newest first, no sort
    assert "Filter" not in page, page


def test_orders_sorted_by_total_either_way_read_its_index(planned_shop):
    """No sort of every order: the index on the stored total is read in order, forwards or backwards. The
    hybrid's SQL carries its constants as literals, so it is the very expression the index was built on,
    whoever binds the parameters (a server-side `$1` is not the constant `100`)."""
    assert Order.total.expression.compile().params == {}
    for descending, scan in (
        (True, "Scan Backward using ix_orders_total_id"),
        (False, "Scan using ix_orders_total_id"),
    ):
        stmt = listing.sort_clauses(Order, select(Order.id), "total", descending, Order.id).limit(50)
        shown = plan(planned_shop, stmt)
        assert scan in shown and "NULLS" not in str(stmt), shown  # never NULL: no NULLS LAST to defeat the index


@pytest.mark.parametrize("query, index", [
    ("status=refunded&total__gte=500", "ix_orders_status_total_id"),
    ("total__gte=500", "ix_orders_total_id"),
    ("status=paid&status=refunded&total__gte=50&total__lte=90", "ix_orders_status_total_id"),
    ("status=refunded&sortBy=total&sort=desc", "ix_orders_status_total_id"),
])  # fmt: skip
def test_the_orders_list_by_total_reads_the_total_indexes(planned_shop, app, query, index):
    """The list's own statements (filters and sort from the URL, the capped count, the page with its
    customer): a total range, alone or within statuses, is counted from the index alone."""
    view = view_of(app, "order")
    request = list_request(query)
    params = view.list_params(request)
    stmt, narrowed = view.filtered_query(request, params)
    statements = view._list_statements(stmt, params, listing.counting_for(view.count_mode, filtered=narrowed))
    count = plan(planned_shop, select(*statements.count_columns).params(count_cap=10_001))
    assert index in count and "Filter" not in count, count
    plan(planned_shop, statements.page.params(page_limit=50, page_offset=0))  # no sort, no table read whole


def test_sorting_by_a_not_null_column_adds_no_nulls_last(db):
    stmt = listing.sort_clauses(Order, select(Order.id), "placed_at", True, Order.id)
    assert "NULLS LAST" not in str(stmt)
    stmt = listing.sort_clauses(Order, select(Order.id), "shipped_at", True, Order.id)
    assert "NULLS LAST" in str(stmt)  # nullable: empty ones still come last


@pytest.fixture
def orders(db):
    return six_orders(db, "SO-88")


def test_counts_exact_estimated_and_capped(client, login_as, orders, db, monkeypatch):
    login_as(Role.viewer)
    assert row_count(client.get("/admin/order/list").text).endswith("of 6 items")  # small: counted exactly
    with db.begin() as conn:
        conn.execute(text("ANALYZE orders"))
    monkeypatch.setattr(listing, "EXACT_BELOW", 5)  # orders is now a "big" table: estimated from pg_class
    assert row_count(client.get("/admin/order/list").text).endswith("of about 6 items")
    monkeypatch.setattr(listing, "CAPPED_COUNT", 3)  # filtered: counted up to the cap
    assert row_count(client.get("/admin/order/list").text).endswith("of about 6 items")  # an estimate past the cap
    assert row_count(client.get("/admin/order/list?status=refunded").text).endswith("of 3+ items")
    assert row_count(client.get("/admin/order/list?status=paid").text).endswith("of 2 items")
    assert row_count(client.get("/admin/category/list").text).endswith("of 1 items")  # exact mode


def test_a_capped_count_still_pages_on(client, login_as, orders, monkeypatch):
    login_as(Role.viewer)
    monkeypatch.setattr(listing, "CAPPED_COUNT", 2)
    first = listed_ids(client.get("/admin/order/list?status=refunded&pageSize=2").text, "order")
    second = listed_ids(client.get("/admin/order/list?status=refunded&pageSize=2&page=2").text, "order")
    assert len(first) == 2 and len(second) == 2 and not set(first) & set(second)


def test_search_by_number_or_email_never_repeats_or_drops_a_row(client, login_as, orders):
    login_as(Role.viewer)
    # "SO-88" matches every number and "example" every e-mail: each order once.
    ids = listed_ids(client.get("/admin/order/list?search=8&pageSize=100").text, "order")
    assert sorted(ids) == sorted(o.id for o in orders)
    ids = listed_ids(client.get("/admin/order/list?search=SMITH&pageSize=100").text, "order")
    assert sorted(ids) == sorted(o.id for o in orders[1::2])


def test_deep_pages_are_found_through_the_keys_first(client, login_as, orders, db, monkeypatch):
    login_as(Role.viewer)
    monkeypatch.setattr(listing, "LATE_ROW_LOOKUP_FROM", 2)
    with recorded_statements(db) as statements:
        page = client.get("/admin/order/list?pageSize=2&page=3").text
    expected = sorted(orders, key=lambda o: (o.placed_at, o.id), reverse=True)[4:6]
    assert listed_ids(page, "order") == [o.id for o in expected]
    page_query = next(s for s in statements if "LIMIT" in s and "orders.number" in s)
    assert re.search(r"orders\.id IN \(SELECT orders\.id\s+FROM orders.*OFFSET", page_query, re.DOTALL), page_query


def test_details_links_and_go_back_keep_the_lists_query(client, login_as, orders):
    login_as(Role.support)
    page = client.get("/admin/order/list?status=refunded&sortBy=number&sort=asc").text
    assert f'/admin/order/details/{orders[0].id}?status=refunded&amp;sortBy=number&amp;sort=asc"' in page
    assert f'/admin/order/edit/{orders[0].id}?status=refunded&amp;sortBy=number&amp;sort=asc"' in page
    assert "/admin/customer/details/" in page and "/admin/customer/details/1?" not in page  # other lists: no
    details = client.get(f"/admin/order/details/{orders[0].id}?status=refunded").text
    assert "list_tools.js" in details  # rewrites "Go Back" / "Edit" to keep the query (see test_browser)
