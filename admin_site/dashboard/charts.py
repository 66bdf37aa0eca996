"""The dashboard's charts: the numbers, their labels and each element's link, drawn twice from one object —
as a chart by static/dashboard.js (from a JSON island: no inline script under the CSP) and as a table on
the page (screen readers, copying, print)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from babel.numbers import format_decimal
from markupsafe import Markup

from admin_site.dashboard.links import Links
from admin_site.dashboard.periods import DAY, MONTH, Period
from admin_site.dashboard.queries import DashboardData
from admin_site.formatting import Formats, country_name
from models import OrderStatus

COUNTRIES_CHARTED = 12  # the table lists them all


@dataclass(frozen=True)
class Chart:
    key: str
    title: str
    caption: str  # what is counted, and where a click leads
    column: str  # the table's heading for the values
    labels: list[str]
    values: list[Decimal | int]
    links: list[str]
    money: bool = False
    horizontal: bool = False
    charted: int | None = None  # only the first N in the chart (all in the table)

    def island(self) -> dict[str, Any]:
        """What the script needs: numbers as JSON numbers (the table keeps them exact)."""
        n = self.charted or len(self.labels)
        return {
            "key": self.key,
            "title": self.title,
            "series": self.column,
            "labels": self.labels[:n],
            "values": [float(v) for v in self.values[:n]],
            "links": self.links[:n],
            "money": self.money,
            "horizontal": self.horizontal,
        }

    def rows(self, formats: Formats) -> list[tuple[str, Markup, str]]:
        def shown(value: Decimal | int) -> Markup:
            if self.money:
                return Markup(formats.money(value))
            return Markup.escape(format_decimal(value, locale=formats.locale))

        return [(label, shown(v), link) for label, v, link in zip(self.labels, self.values, self.links, strict=True)]


def _bar_label(period: Period, first: date) -> str:
    if period.grain == MONTH:
        return f"{first:%b %Y}"
    return f"{first:%a %-d %b}" if period.grain == DAY else f"{first:%-d %b}"


def charts(data: DashboardData, links: Links) -> list[Chart]:
    period = data.period
    bars = period.buckets()
    spans = [period.bucket_days(first) for first in bars]
    labels = [_bar_label(period, low) for low, _ in spans]  # a part week or month: from the period's first day
    per = {DAY: "day", "week": "week", MONTH: "month"}[period.grain]
    part = "" if period.grain == DAY else f" The first and last {per} may be part of one."
    drawn = [
        Chart(
            "orders-per-bar",
            f"Orders per {per}",
            f"Orders placed each {per}, any status. A bar opens those orders.{part}",
            "Orders",
            labels,
            [data.by_bucket.get(first, (0, 0))[0] for first in bars],
            [links.orders(low, high) for low, high in spans],
        )
    ]
    if data.with_revenue:
        drawn.append(
            Chart(
                "revenue-per-bar",
                f"Revenue per {per}",
                f"Totals of the orders placed each {per} that are paid, shipped or delivered. A bar opens them.{part}",
                "Revenue",
                labels,
                [data.by_bucket.get(first, (0, Decimal(0)))[1] for first in bars],
                [links.revenue_orders(low, high) for low, high in spans],
                money=True,
            )
        )
    statuses = [s.value for s in OrderStatus]
    drawn.append(
        Chart(
            "orders-by-status",
            "Orders by status",
            "Orders placed in the period, by their status now. A bar opens those orders.",
            "Orders",
            [s.capitalize() for s in statuses],
            [data.by_status.get(s, 0) for s in statuses],
            [links.orders(period.start, period.last_day, [s]) for s in statuses],
            horizontal=True,
        )
    )
    if data.with_revenue:
        products = data.top_products
        drawn.append(
            Chart(
                "top-products",
                "Top 10 products by revenue",
                "Quantity × unit price of each product's lines on orders placed in the period and now paid, shipped "
                "or delivered (before order discounts and shipping). A bar opens those lines.",
                "Revenue",
                [f"{p.name} · {p.sku}" for p in products],
                [p.revenue for p in products],
                [links.product_lines(p.product_id, period.start, period.last_day) for p in products],
                money=True,
                horizontal=True,
            )
        )
        countries = data.by_country
        drawn.append(
            Chart(
                "revenue-by-country",
                "Revenue by customer country",
                "Revenue of the period by the country of the order's customer. A bar opens those orders.",
                "Revenue",
                [country_name(c.country) for c in countries],
                [c.revenue for c in countries],
                [links.revenue_orders(period.start, period.last_day, c.country) for c in countries],
                money=True,
                horizontal=True,
                charted=COUNTRIES_CHARTED,
            )
        )
    return drawn
