"""The dashboard (home page): its figures against SQL computed here independently, in a time zone east of UTC
(period boundaries at the zone's midnight), empty periods and a period with refunds only; every link leads
to a list whose count matches what it summarises; what each role sees (HTML and the JSON island)."""

from __future__ import annotations

import contextlib
import html
import json
import re
from datetime import UTC, date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker
from starlette.datastructures import QueryParams

from admin_site.app import create_app
from admin_site.dashboard.periods import Period, period_from, preset
from admin_site.dashboard.queries import read_dashboard
from admin_site.ops.seed import seed_shop
from admin_site.settings import Settings
from models import Role
from tests import factories
from tests.helpers import browser_client, login

D = Decimal
BERLIN = ZoneInfo("Europe/Berlin")
REVENUE = ("paid", "shipped", "delivered")


def utc(text_: str) -> datetime:
    return datetime.fromisoformat(text_).replace(tzinfo=UTC)


@pytest.fixture
def berlin(db, settings, engine, make_staff):
    """The admin configured for Europe/Berlin (UTC+1 in March), its summary rebuilt in that zone."""
    with db.begin() as conn:
        conn.execute(text("SELECT dashboard_rebuild('Europe/Berlin')"))
    app = create_app(
        Settings(
            database_url=settings.database_url,
            secret_key=settings.secret_key,
            time_zone="Europe/Berlin",
            login_first_delay=0.01,
            login_max_delay=0.1,
        ),
        engine,
    )

    with contextlib.ExitStack() as clients:

        def client_as(role: Role):
            staff = make_staff(role)
            client = clients.enter_context(browser_client(app))
            assert login(client, staff.email).status_code == 302
            return client

        yield client_as
    with db.begin() as conn:
        conn.execute(text("SELECT dashboard_rebuild('UTC')"))


@pytest.fixture
def march(db):
    """Orders around 2–3 March 2026 in Berlin, several of them where UTC's day and Berlin's differ."""
    gb = factories.customer(db, country="GB")
    fr = factories.customer(db, country="FR", created_at=utc("2026-03-02 10:00"))
    de = factories.customer(db, country="DE", created_at=utc("2026-03-01 23:30"))  # 2 March in Berlin
    book, pen = factories.product(db, price=D("40.00")), factories.product(db, price=D("2.50"))
    made = [
        # (customer, status, placed, lines, discount, shipping)
        (gb, "paid", "2026-03-01 23:30", [(book, 2)], 10, "4.95"),  # 2 March 00:30 in Berlin: in
        (fr, "delivered", "2026-03-02 12:00", [(pen, 3), (book, 1)], 0, "0"),
        (de, "refunded", "2026-03-03 10:00", [(pen, 1)], 0, "1.00"),
        (gb, "cancelled", "2026-03-03 11:00", [(book, 1)], 0, "0"),
        (fr, "shipped", "2026-03-03 22:59", [(pen, 4)], 5, "2.00"),  # 3 March 23:59 in Berlin: in
        (gb, "paid", "2026-03-03 23:00", [(book, 5)], 0, "0"),  # 4 March in Berlin: out
        (de, "delivered", "2026-02-28 10:00", [(book, 1)], 0, "3.00"),  # the period before
        (gb, "pending", "2026-03-01 22:59", [(pen, 1)], 0, "0"),  # 1 March 23:59 in Berlin: the period before
    ]
    for customer, status, placed, lines, discount, fee in made:
        factories.order(
            db,
            customer.id,
            items=lines,
            status=status,
            placed_at=utc(placed),
            shipped_at=utc(placed) if status in ("shipped", "delivered", "refunded") else None,
            discount_pct=D(discount),
            shipping_fee=D(fee),
        )
    return Period("custom", date(2026, 3, 2), date(2026, 3, 4), "2–3 March")


def independent(db, first: str, last: str) -> dict:
    """The figures as SQL over the orders gives them, days in Berlin (no summary table involved)."""
    in_period = "(o.placed_at AT TIME ZONE 'Europe/Berlin')::date BETWEEN CAST(:first AS date) AND CAST(:last AS date)"
    total = "round(o.subtotal * (100 - o.discount_pct) / 100 + o.shipping_fee, 2)"
    with db.connect() as conn:
        row = conn.execute(
            text(
                f"SELECT count(*), count(*) FILTER (WHERE o.status IN :rev), "
                f"coalesce(sum({total}) FILTER (WHERE o.status IN :rev), 0), "
                f"count(*) FILTER (WHERE o.status = 'refunded') FROM orders o WHERE {in_period}"
            ).bindparams(),
            {"first": first, "last": last, "rev": REVENUE},
        ).one()
        countries = dict(
            conn.execute(
                text(
                    f"SELECT c.country, sum({total}) FROM orders o JOIN customers c ON c.id = o.customer_id "
                    f"WHERE {in_period} AND o.status IN :rev GROUP BY c.country"
                ),
                {"first": first, "last": last, "rev": REVENUE},
            ).all()
        )
        products = dict(
            conn.execute(
                text(
                    "SELECT i.product_id, sum(i.quantity * i.unit_price) FROM order_items i "
                    f"JOIN orders o ON o.id = i.order_id WHERE {in_period} AND o.status IN :rev GROUP BY 1"
                ),
                {"first": first, "last": last, "rev": REVENUE},
            ).all()
        )
        new_customers = conn.execute(
            text(
                "SELECT count(*) FROM customers WHERE (created_at AT TIME ZONE 'Europe/Berlin')::date "
                "BETWEEN CAST(:first AS date) AND CAST(:last AS date)"
            ),
            {"first": first, "last": last},
        ).scalar_one()
    orders, revenue_orders, revenue, refunded = row
    return {
        "orders": orders,
        "revenue_orders": revenue_orders,
        "revenue": revenue,
        "refunded": refunded,
        "countries": countries,
        "products": products,
        "new_customers": new_customers,
    }


def figure_values(page: str) -> dict[str, str]:
    """Each figure card's shown value (text) by its key."""
    found = re.findall(r'data-figure="([^"]+)".*?<div class="dashboard-value">(.*?)</div>', page, re.DOTALL)
    return {key: html.unescape(re.sub(r"<[^>]+>", "", value)).strip() for key, value in found}


def island_of(page: str) -> dict:
    return json.loads(re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', page, re.S)[1])


def test_figures_match_sql_at_the_zones_day_boundaries(db, berlin, march):
    client_as = berlin
    data = read_dashboard(sessionmaker(db), march, BERLIN, with_revenue=True)
    sql = independent(db, "2026-03-02", "2026-03-03")
    assert (data.current.orders, data.current.revenue_orders) == (sql["orders"], sql["revenue_orders"]) == (5, 3)
    assert data.current.revenue == sql["revenue"]
    assert data.current.refunded == sql["refunded"] == 1
    assert data.new_customers == sql["new_customers"] == 2
    before = independent(db, "2026-02-28", "2026-03-01")
    assert (data.before.orders, data.before.revenue) == (before["orders"], before["revenue"]) == (2, D("43.00"))
    assert {c.country: c.revenue for c in data.by_country} == sql["countries"]
    assert {p.product_id: p.revenue for p in data.top_products} == sql["products"]
    by_day = {day.isoformat(): n for day, (n, _) in data.by_bucket.items()}
    assert by_day == {"2026-03-02": 2, "2026-03-03": 3}
    page = client_as(Role.manager).get("/admin/?period=custom&from=2026-03-02&to=2026-03-03").text
    shown = figure_values(page)
    assert shown["orders"] == "5" and shown["refunds"] == "1" and shown["new-customers"] == "2"
    assert shown["revenue"] == f"€{sql['revenue']:,.2f}"


def list_count(client, url: str) -> int:
    """How many rows the list behind a link says it has."""
    response = client.get(url)
    assert response.status_code == 200, url
    shown = re.search(r'id="row-count">(.*?)</p>', response.text, re.S)[1]
    found = re.search(r"of ([\d,]+) items", shown)
    return int(found[1].replace(",", "")) if found else 0


def figure_links(page: str) -> dict[str, str]:
    return {
        key: html.unescape(link)
        for link, key in re.findall(
            r'<a class="card card-link dashboard-figure" href="([^"]+)" data-figure="([^"]+)"', page
        )
    }


def table_rows(page: str, chart: str) -> list[tuple[str, str, str]]:
    """(label, value text, link) of a chart's table."""
    section = re.search(rf'<section class="card dashboard-chart" id="chart-{chart}".*?</section>', page, re.S)[0]
    rows = re.findall(
        r'<tr><th scope="row" class="fw-normal"><a href="([^"]+)">(.*?)</a></th><td class="text-end">(.*?)</td></tr>',
        section,
        re.S,
    )
    return [
        (html.unescape(label), html.unescape(re.sub(r"<[^>]+>", "", value)), html.unescape(link))
        for link, label, value in rows
    ]


def count_sql(db, sql: str, **params) -> int:
    with db.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


IN_MARCH = "(o.placed_at AT TIME ZONE 'Europe/Berlin')::date BETWEEN '2026-03-02' AND '2026-03-03'"


def test_every_link_leads_to_a_list_whose_count_matches(db, berlin, march):
    client_as = berlin
    client = client_as(Role.admin)
    page = client.get("/admin/?period=custom&from=2026-03-02&to=2026-03-03").text
    links, shown = figure_links(page), figure_values(page)
    for key in ("orders", "refunds", "new-customers", "to-ship", "low-stock"):
        assert list_count(client, links[key]) == int(shown[key].replace(",", "")), key
    revenue_orders = count_sql(
        db, f"SELECT count(*) FROM orders o WHERE {IN_MARCH} AND o.status IN ('paid', 'shipped', 'delivered')"
    )
    assert list_count(client, links["revenue"]) == list_count(client, links["average"]) == revenue_orders == 3
    assert links["to-ship"].endswith("status=paid&sortBy=placed_at&sort=asc")
    for chart in ("orders-per-bar", "orders-by-status"):
        for label, value, link in table_rows(page, chart):
            assert list_count(client, link) == int(value), (chart, label)
    per_day = table_rows(page, "revenue-per-bar")
    assert [label for label, *_ in per_day] == ["Mon 2 Mar", "Tue 3 Mar"]
    for (label, _value, link), day in zip(per_day, ("2026-03-02", "2026-03-03"), strict=True):
        expected = count_sql(
            db,
            "SELECT count(*) FROM orders o WHERE (o.placed_at AT TIME ZONE 'Europe/Berlin')::date = CAST(:day AS date) "
            "AND o.status IN ('paid', 'shipped', 'delivered')",
            day=day,
        )
        assert list_count(client, link) == expected, label
    for label, _value, link in table_rows(page, "revenue-by-country"):
        code = re.search(r"customer__country=(\w\w)", link)[1]
        expected = count_sql(
            db,
            f"SELECT count(*) FROM orders o JOIN customers c ON c.id = o.customer_id WHERE {IN_MARCH} "
            "AND o.status IN ('paid', 'shipped', 'delivered') AND c.country = :code",
            code=code,
        )
        assert list_count(client, link) == expected > 0, label
    products = table_rows(page, "top-products")
    assert len(products) == 2
    for label, _value, link in products:
        product_id = int(re.search(r"product=(\d+)", link)[1])
        expected = count_sql(
            db,
            f"SELECT count(*) FROM order_items i JOIN orders o ON o.id = i.order_id WHERE {IN_MARCH} "
            "AND o.status IN ('paid', 'shipped', 'delivered') AND i.product_id = :p",
            p=product_id,
        )
        assert list_count(client, link) == expected > 0, label


def test_an_empty_period_and_a_period_of_refunds_only(db, berlin, march):
    client_as = berlin
    client = client_as(Role.manager)
    empty = client.get("/admin/?period=custom&from=2025-06-01&to=2025-06-30").text
    shown = figure_values(empty)
    assert shown["orders"] == shown["refunds"] == shown["new-customers"] == "0"
    assert shown["revenue"] == "€0.00" and shown["average"] == "—"
    assert "Nothing in this period." in empty
    assert island_of(empty)["charts"][0]["values"] == [0.0] * 30
    # The refunded order moved to a day of its own: a period of refunds only.
    with db.begin() as conn:
        conn.execute(
            text(
                "UPDATE orders SET placed_at = '2026-04-10 09:00+00', shipped_at = '2026-04-11 09:00+00' WHERE status = 'refunded'"
            )
        )
    refunds = client.get("/admin/?period=custom&from=2026-04-10&to=2026-04-10").text
    shown = figure_values(refunds)
    assert (shown["orders"], shown["refunds"], shown["revenue"], shown["average"]) == ("1", "1", "€0.00", "—")
    assert "100.0% of orders" in refunds
    assert list_count(client, figure_links(refunds)["refunds"]) == 1


@pytest.mark.parametrize("role", list(Role))
def test_each_role_sees_revenue_only_if_the_matrix_grants_it(db, berlin, march, role):
    client_as = berlin
    page = client_as(role).get("/admin/?period=custom&from=2026-03-02&to=2026-03-03").text
    sql = independent(db, "2026-03-02", "2026-03-03")
    island = island_of(page)
    charts = {chart["key"] for chart in island["charts"]}
    amounts = [f"{sql['revenue']:,.2f}", f"{sql['revenue']}", *(f"{v:,.2f}" for v in sql["countries"].values())]
    if role in (Role.manager, Role.admin):
        assert {"revenue", "average"} <= set(figure_values(page))
        assert charts == {"orders-per-bar", "revenue-per-bar", "orders-by-status", "top-products", "revenue-by-country"}
        assert all(amount in page for amount in amounts[:2])
    else:
        assert set(figure_values(page)) == {"orders", "new-customers", "refunds", "to-ship", "low-stock"}
        assert charts == {"orders-per-bar", "orders-by-status"}
        assert not any(amount in page for amount in amounts), "a revenue figure in a page without the grant"
        assert "revenue" not in json.dumps(island).lower()
        assert "€" not in page.split('id="recent-actions"')[0]


def test_the_permissions_page_shows_the_revenue_grant(client, login_as):
    login_as(Role.admin)
    page = client.get("/admin/permissions").text
    row = re.search(r'<tr data-identity="dashboard">(.*?)</tr>', page, re.S)[1]
    assert re.findall(r"<td>(.*?)</td>", row) == ["view", "view", "view, revenue", "all"]


def test_a_summary_in_another_zone_is_refused_with_what_to_do(db, client, login_as, march):
    login_as(Role.manager)
    with db.begin() as conn:
        conn.execute(text("SELECT dashboard_rebuild('Europe/Berlin')"))
    try:
        page = client.get("/admin/").text
    finally:
        with db.begin() as conn:
            conn.execute(text("SELECT dashboard_rebuild('UTC')"))
    assert 'id="stale-summary"' in page and "admin-site rebuild-dashboard" in page
    assert figure_values(page) == {}


def test_periods_from_the_url():
    today = date(2026, 3, 31)
    assert period_from(QueryParams(""), today)[0] == preset("7d", today)
    week = preset("7d", today)
    assert (week.start, week.end, week.previous().start) == (date(2026, 3, 25), date(2026, 4, 1), date(2026, 3, 18))
    year = preset("12m", today)
    assert (year.start, year.previous().start, year.grain) == (date(2025, 4, 1), date(2024, 4, 1), "month")
    assert preset("90d", today).grain == "week" and preset("30d", today).grain == "day"
    assert preset("90d", today).bucket_days(date(2025, 12, 29)) == (date(2026, 1, 1), date(2026, 1, 4))
    custom, problem = period_from(QueryParams("period=custom&from=2026-03-09&to=2026-03-02"), today)
    assert (custom.start, custom.last_day, problem) == (date(2026, 3, 2), date(2026, 3, 9), None)
    assert period_from(QueryParams("period=custom&from=nope"), today)[1]
    assert period_from(QueryParams("period=forever"), today)[0].key == "7d"
    assert period_from(QueryParams("period=custom&from=2000-01-01&to=2026-03-31"), today)[0].days == 3 * 366
    assert Period("custom", date(2026, 1, 15), date(2026, 3, 10), "").full_months() == (
        date(2026, 2, 1),
        date(2026, 3, 1),
    )
    assert Period("custom", date(2026, 1, 15), date(2026, 1, 20), "").full_months()[0] == date(2026, 2, 1)


@pytest.mark.parametrize(
    "period",
    [
        Period("custom", date(2025, 12, 15), date(2026, 7, 21), "months with a part at each end"),
        preset("12m", date(2026, 7, 20)),
        preset("90d", date(2026, 7, 20)),
    ],
    ids=["custom-months", "12m", "90d-weeks"],
)
def test_longer_periods_from_months_and_edge_days_match_sql(db, berlin, period):
    seed_shop(db, customers=300, products=40, orders=4000, until=date(2026, 7, 31))
    data = read_dashboard(sessionmaker(db), period, BERLIN, with_revenue=True)
    for figures, span in ((data.current, period), (data.before, data.previous)):
        sql = independent(db, span.start.isoformat(), span.last_day.isoformat())
        assert (figures.orders, figures.revenue_orders, figures.revenue, figures.refunded) == (
            sql["orders"],
            sql["revenue_orders"],
            sql["revenue"],
            sql["refunded"],
        )
    sql = independent(db, period.start.isoformat(), period.last_day.isoformat())
    assert {c.country: c.revenue for c in data.by_country} == sql["countries"]
    top = sorted(sql["products"].items(), key=lambda item: (-item[1], item[0]))[:10]
    assert [(p.product_id, p.revenue) for p in data.top_products] == top
    with db.connect() as conn:
        bars = dict(
            conn.execute(
                text(
                    "SELECT date_trunc(:grain, (placed_at AT TIME ZONE 'Europe/Berlin')::date)::date, count(*) "
                    "FROM orders WHERE (placed_at AT TIME ZONE 'Europe/Berlin')::date BETWEEN :first AND :last GROUP BY 1"
                ),
                {"grain": period.grain, "first": period.start, "last": period.last_day},
            ).all()
        )
    assert {day: n for day, (n, _) in data.by_bucket.items()} == bars
    assert set(bars) <= set(period.buckets())


def test_a_month_cut_by_the_period_is_read_the_cheaper_way():
    months, add, take = Period("custom", date(2026, 4, 22), date(2026, 7, 21), "").month_plan()
    assert months == [date(2026, 5, 1), date(2026, 6, 1), date(2026, 7, 1)]  # July: the month less 21–31 July
    assert add == [(date(2026, 4, 22), date(2026, 5, 1))]  # April: its 9 days
    assert take == [(date(2026, 7, 21), date(2026, 8, 1))]
