"""What keeps lists fast on a million rows, checked at small scale: the indexes the queries can use,
count modes, deep pages, links that keep the list's query string."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text

from admin_site.lists import query as listing
from admin_site.lists.query import search_clause
from models import Customer, Order, OrderStatus, Product, Role
from tests import factories
from tests.test_lists import listed_ids


def plan(engine, stmt, *, bitmap_only: bool = False) -> str:
    """EXPLAIN of a statement with sequential scans and sorts discouraged: shows which index *can* serve it
    (on a nearly empty table the planner would rightly read the table instead)."""
    with engine.begin() as conn:  # compiled after connecting: the dialect then knows how the server escapes
        compiled = stmt.compile(dialect=engine.dialect, compile_kwargs={"render_postcompile": True})
        conn.execute(text("SET LOCAL enable_seqscan = off"))
        conn.execute(text("SET LOCAL enable_sort = off"))
        if bitmap_only:  # nor walk a whole b-tree filtering every row: only an index that matches the ILIKE
            conn.execute(text("SET LOCAL enable_indexscan = off"))
            conn.execute(text("SET LOCAL enable_indexonlyscan = off"))
        return "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + compiled.string, compiled.params))


@pytest.mark.parametrize("model, fields, indexes", [
    (Order, ["number", "customer.email"], ["ix_orders_number_trgm", "ix_customers_email_trgm"]),
    (Customer, ["email", "full_name"], ["ix_customers_email_trgm", "ix_customers_full_name_trgm"]),
    (Product, ["sku", "name"], ["ix_products_sku_trgm", "ix_products_name_trgm"]),
])  # fmt: skip
def test_search_is_served_by_the_trigram_indexes(db, model, fields, indexes):
    shown = plan(db, select(model.id).where(search_clause(model, fields, "smith_%")), bitmap_only=True)
    for index in indexes:
        assert index in shown, shown


def test_default_orders_use_their_indexes(db):
    newest = select(Order.id).order_by(Order.placed_at.desc(), Order.id.desc()).limit(50)
    assert "ix_orders_placed_at_id" in plan(db, newest)
    customers = select(Customer.id).order_by(Customer.created_at.desc(), Customer.id.desc()).limit(50)
    assert "ix_customers_created_at_id" in plan(db, customers)


def test_status_and_date_filters_are_served_by_one_index(db):
    from starlette.datastructures import QueryParams

    from admin_site.lists.filters import build_filter

    asked = QueryParams("status=paid&status=shipped&placed_at__gte=2025-03-01&placed_at__lte=2025-03-31")
    stmt = select(Order.id)
    for name in ("status", "placed_at"):
        stmt = build_filter(Order, name).apply(stmt, asked)
    assert "ix_orders_status_placed_at_id" in plan(db, stmt)  # the count: no row read to check its status
    refunded = select(Order.id).where(Order.status == OrderStatus.refunded)
    newest = refunded.order_by(Order.placed_at.desc(), Order.id.desc()).limit(50)
    assert "ix_orders_status_placed_at_id" in plan(db, newest)  # the page: newest first, no sort


def test_sorting_by_a_not_null_column_adds_no_nulls_last(db):
    stmt = listing.sort_clauses(Order, select(Order.id), "placed_at", True, Order.id)
    assert "NULLS LAST" not in str(stmt)
    stmt = listing.sort_clauses(Order, select(Order.id), "shipped_at", True, Order.id)
    assert "NULLS LAST" in str(stmt)  # nullable: empty ones still come last


@pytest.fixture
def orders(db):
    book = factories.product(db)
    smith = factories.customer(db, email="a.smith@example.com")
    other = factories.customer(db, email="b.jones@example.com")
    made = []
    for n in range(6):
        made.append(factories.order(db, (smith if n % 2 else other).id, [(book, 1)], number=f"SO-88{n:05}",
                                    status=OrderStatus.refunded if n < 4 else OrderStatus.paid))
    return made


def row_count(html: str) -> str:
    return re.sub(r"\s+", " ", re.search(r'id="row-count">(.*?)</p>', html, re.DOTALL)[1]).strip()


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
    statements: list[str] = []
    from sqlalchemy import event

    def record(conn, cursor, statement, *args):
        statements.append(statement)

    monkeypatch.setattr(listing, "LATE_ROW_LOOKUP_FROM", 2)
    event.listen(db, "before_cursor_execute", record)
    try:
        page = client.get("/admin/order/list?pageSize=2&page=3").text
    finally:
        event.remove(db, "before_cursor_execute", record)
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
