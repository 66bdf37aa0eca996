"""What the dashboard reads, in three statements on one session, from the summary and a few small indexes.

1. the summary's days of the period and the one before (whole months from the monthly summary when the bars are
   months), grouped three ways at once (GROUPING SETS): by status, by bar (day, week or month), by country;
2. what is not per period (orders to ship, the oldest of them, low stock) and new customers, as scalar
   subqueries of one SELECT, beside the zone the summary's days are in;
3. only for a role that sees revenue: the top products, from whole months of the monthly summary and days of
   the daily one (a month cut by the period: its days inside, or the month less its days outside, whichever
   reads fewer rows: Period.month_plan).

Exact: sums of what the triggers keep, never a sample. A role without revenue has it never read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Date, and_, cast, false, func, or_, select, text, tuple_, union_all
from sqlalchemy.orm import Session, sessionmaker

from admin_site.dashboard.periods import DAY, MONTH, Period
from admin_site.dashboard.summary import NO_ZONE
from models import Customer, Order, OrderStatus, Product
from models.dashboard import REVENUE_STATUSES, DashboardZone, ProductDay, ProductMonth, SalesDay, SalesMonth

TOP_PRODUCTS = 10
ZERO = Decimal("0.00")
# GROUPING(bucket, status, country): a bit set for each column summed over, the first one highest.
BY_STATUS, BY_BUCKET, BY_COUNTRY = 0b101, 0b011, 0b110


@dataclass
class Totals:
    """One period's figures from the summary."""

    orders: int = 0  # placed, any status
    revenue_orders: int = 0  # placed and now paid, shipped or delivered
    revenue: Decimal = ZERO  # the sum of those orders' totals
    refunded: int = 0  # placed and now refunded

    @property
    def average(self) -> Decimal | None:
        return (self.revenue / self.revenue_orders).quantize(Decimal("0.01")) if self.revenue_orders else None

    @property
    def refund_share(self) -> float | None:
        return self.refunded / self.orders if self.orders else None


@dataclass
class CountryRow:
    country: str
    orders: int  # revenue orders
    revenue: Decimal


@dataclass
class ProductRow:
    product_id: int
    sku: str
    name: str
    quantity: int
    revenue: Decimal


@dataclass
class DashboardData:
    period: Period
    previous: Period
    with_revenue: bool
    summary_zone: str
    current: Totals = field(default_factory=Totals)
    before: Totals = field(default_factory=Totals)
    by_bucket: dict[date, tuple[int, Decimal]] = field(default_factory=dict)  # bar's first day → orders, revenue
    by_status: dict[str, int] = field(default_factory=dict)
    by_country: list[CountryRow] = field(default_factory=list)
    top_products: list[ProductRow] = field(default_factory=list)
    new_customers: int = 0
    new_customers_before: int = 0
    to_ship: int = 0
    oldest_to_ship: datetime | None = None
    low_stock: int = 0


def _in_months(column: Any, periods: list[Period]) -> Any:
    """`column` (a month or a day) within one of the periods' whole months."""
    spans = [p.full_months() for p in periods]
    return or_(false(), *(and_(column >= first, column < after) for first, after in spans if first < after))


def _in_ranges(column: Any, ranges: list[tuple[date, date]]) -> Any:
    return or_(false(), *(and_(column >= low, column < high) for low, high in ranges))


def _at_edges(column: Any, periods: list[Period]) -> Any:
    """`column` (a day) within one of the periods but outside its whole months: ranges an index reads."""
    ranges = []
    for p in periods:
        first, after = p.full_months()
        if first < after:
            ranges += [(p.start, first), (after, p.end)]
        else:
            ranges.append((p.start, p.end))
    return or_(false(), *(and_(column >= low, column < high) for low, high in ranges if low < high))


def _sales_rows(period: Period, previous: Period) -> Any:
    """The summary rows of both periods: by day, or, when the bars are months, whole months from the monthly
    table (a year is ~1,000 rows instead of ~30,000) and only the days at the edges from the daily one."""
    columns = (SalesDay.status, SalesDay.country, SalesDay.orders, SalesDay.revenue)
    days = select(SalesDay.day, *columns).where(SalesDay.day >= previous.start, SalesDay.day < period.end)
    if period.grain != MONTH:
        return days.subquery()
    months = select(
        SalesMonth.month.label("day"), SalesMonth.status, SalesMonth.country, SalesMonth.orders, SalesMonth.revenue
    ).where(_in_months(SalesMonth.month, [period, previous]))
    edges = select(SalesDay.day, *columns).where(_at_edges(SalesDay.day, [period, previous]))
    return union_all(months, edges).subquery()


def _read_sales(session: Session, data: DashboardData) -> None:
    period, previous = data.period, data.previous
    rows = _sales_rows(period, previous)
    revenue_status = rows.c.status.in_(REVENUE_STATUSES)
    current = (rows.c.day >= period.start).label("current")
    bucket = (rows.c.day if period.grain == DAY else cast(func.date_trunc(period.grain, rows.c.day), Date)).label(
        "bucket"
    )
    stmt = select(
        current,
        bucket,
        rows.c.status,
        rows.c.country,
        func.sum(rows.c.orders).label("orders"),
        func.coalesce(func.sum(rows.c.orders).filter(revenue_status), 0).label("revenue_orders"),
        func.coalesce(func.sum(rows.c.revenue).filter(revenue_status), ZERO).label("revenue"),
        func.grouping(bucket, rows.c.status, rows.c.country).label("grouped"),
    ).group_by(
        func.grouping_sets(tuple_(current, rows.c.status), tuple_(current, bucket), tuple_(current, rows.c.country))
    )
    for row in session.execute(stmt):
        totals = data.current if row.current else data.before
        if row.grouped == BY_STATUS:
            totals.orders += row.orders
            totals.revenue_orders += row.revenue_orders
            totals.revenue += row.revenue
            if row.status == OrderStatus.refunded.value:
                totals.refunded += row.orders
            if row.current and row.orders:
                data.by_status[row.status] = row.orders
        elif row.grouped == BY_BUCKET and row.current:
            data.by_bucket[row.bucket] = (row.orders, row.revenue)
        elif row.grouped == BY_COUNTRY and row.current and row.revenue_orders:
            data.by_country.append(CountryRow(row.country, row.revenue_orders, row.revenue))
    data.by_country.sort(key=lambda c: (-c.revenue, c.country))
    if not data.with_revenue:  # read in the same scan, never handed on
        for totals in (data.current, data.before):
            totals.revenue = ZERO
        data.by_bucket = {day: (orders, ZERO) for day, (orders, _) in data.by_bucket.items()}
        data.by_country = []


def _read_now(session: Session, data: DashboardData, zone: ZoneInfo) -> None:
    start, end = data.period.bounds(zone)
    before, _ = data.previous.bounds(zone)
    created = Customer.created_at
    paid = OrderStatus.paid.value
    row = session.execute(
        select(
            select(DashboardZone.zone).limit(1).scalar_subquery().label("zone"),
            select(func.coalesce(func.sum(SalesMonth.orders), 0)).where(SalesMonth.status == paid).scalar_subquery(),
            select(func.min(Order.placed_at)).where(Order.status == OrderStatus.paid).scalar_subquery(),
            select(func.count()).select_from(Product).where(Product.is_active, Product.is_low_stock).scalar_subquery(),
            select(func.count()).select_from(Customer).where(created >= start, created < end).scalar_subquery(),
            select(func.count()).select_from(Customer).where(created >= before, created < start).scalar_subquery(),
        )
    ).one()
    zone_name, data.to_ship, data.oldest_to_ship, data.low_stock, data.new_customers, data.new_customers_before = row
    data.summary_zone = zone_name or NO_ZONE


def _read_top_products(session: Session, data: DashboardData) -> None:
    period = data.period
    months, add, take = period.month_plan()
    parts = [
        select(ProductMonth.product_id, ProductMonth.quantity, ProductMonth.revenue).where(
            ProductMonth.month.in_(months)
        ),
        select(ProductDay.product_id, ProductDay.quantity, ProductDay.revenue).where(_in_ranges(ProductDay.day, add)),
        select(ProductDay.product_id, -ProductDay.quantity, -ProductDay.revenue).where(
            _in_ranges(ProductDay.day, take)
        ),
    ]
    lines = union_all(*parts).subquery()
    revenue = func.sum(lines.c.revenue)
    top = (
        select(lines.c.product_id, func.sum(lines.c.quantity).label("quantity"), revenue.label("revenue"))
        .group_by(lines.c.product_id)
        .having(revenue > 0)
        .order_by(revenue.desc(), lines.c.product_id)
        .limit(TOP_PRODUCTS)
        .subquery()
    )
    stmt = (
        select(Product.id, Product.sku, Product.name, top.c.quantity, top.c.revenue)
        .join(top, top.c.product_id == Product.id)
        .order_by(top.c.revenue.desc(), Product.id)
    )
    data.top_products = [ProductRow(*row) for row in session.execute(stmt)]


def read_dashboard(
    session_maker: sessionmaker[Session], period: Period, zone: ZoneInfo, with_revenue: bool
) -> DashboardData:
    """Everything the page shows for `period` (on a worker thread: it blocks)."""
    data = DashboardData(period, period.previous(), with_revenue, summary_zone=zone.key)
    with session_maker() as session:
        # A year's top products aggregate ~120,000 summary rows: alone, 60 ms; split over parallel workers, 2×
        # slower here (their start-up and the merge, on cores other requests want too). One core per page.
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 0"))
        _read_now(session, data, zone)
        if data.summary_zone != zone.key:
            return data  # its days are another zone's: the page says so rather than show shifted figures
        _read_sales(session, data)
        if with_revenue:
            _read_top_products(session, data)
    return data
