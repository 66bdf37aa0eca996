"""The dashboard's figures: each with its value, the previous period's beside it (▲/▼ %), the list it links
to, and its definition in words (shown on the page: a figure nobody can check is not trusted)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from babel.dates import format_timedelta
from babel.numbers import format_decimal, format_percent
from markupsafe import Markup

from admin_site.dashboard.links import Links
from admin_site.dashboard.queries import DashboardData
from admin_site.formatting import Formats


@dataclass(frozen=True)
class Change:
    """The current value against the previous period's: ▲/▼ and by how much."""

    arrow: str  # "▲", "▼" or "" (equal, or nothing to compare with)
    text: str  # "+12.5%", "−3.0%", "new", "no change"
    good: bool | None  # colours it: None for neutral


def change(
    current: Decimal | int | None, previous: Decimal | int | None, locale: str, up_is_good: bool = True
) -> Change:
    if current is None or previous is None:
        return Change("", "—", None)
    if current == previous:
        return Change("", "no change", None)
    if not previous:
        return Change("▲", "new", up_is_good)
    ratio = (Decimal(current) - Decimal(previous)) / Decimal(previous)
    shown = format_percent(abs(ratio), "#,##0.0%", locale=locale)
    up = ratio > 0
    return Change("▲" if up else "▼", f"{'+' if up else '−'}{shown}", up == up_is_good)


@dataclass(frozen=True)
class Figure:
    key: str
    label: str
    value: Markup  # escaped HTML (money carries its exact value)
    link: str
    definition: str
    previous: Markup | None = None  # None: a figure of now, not of the period
    change: Change | None = None
    note: str = ""  # a second line: the refunds' share, the oldest order's age


def figures(data: DashboardData, links: Links, formats: Formats, now: datetime) -> list[Figure]:
    locale = formats.locale
    period, cur, old = data.period, data.current, data.before
    first, last = period.start, period.last_day

    def count(n: int) -> Markup:
        return Markup.escape(format_decimal(n, locale=locale))

    def money(amount: Decimal | None) -> Markup:
        return Markup(formats.money(amount)) if amount is not None else Markup("—")

    shown = [
        Figure(
            "orders",
            "Orders",
            count(cur.orders),
            links.orders(first, last),
            "Orders placed in the period, whatever their status now.",
            count(old.orders),
            change(cur.orders, old.orders, locale),
        )
    ]
    if data.with_revenue:
        shown += [
            Figure(
                "revenue",
                "Revenue",
                money(cur.revenue),
                links.revenue_orders(first, last),
                "Sum of the totals (after discount, with shipping) of orders placed in the period that are now "
                "paid, shipped or delivered.",
                money(old.revenue),
                change(cur.revenue, old.revenue, locale),
            ),
            Figure(
                "average",
                "Average order value",
                money(cur.average),
                links.revenue_orders(first, last),
                "Revenue divided by the number of those orders (paid, shipped or delivered).",
                money(old.average),
                change(cur.average, old.average, locale),
            ),
        ]
    refund_share = cur.refund_share
    shown += [
        Figure(
            "new-customers",
            "New customers",
            count(data.new_customers),
            links.new_customers(first, last),
            "Customers created in the period.",
            count(data.new_customers_before),
            change(data.new_customers, data.new_customers_before, locale),
        ),
        Figure(
            "refunds",
            "Refunds",
            count(cur.refunded),
            links.orders(first, last, ["refunded"]),
            "Orders placed in the period that are now refunded, and their share of all orders placed in it.",
            count(old.refunded),
            change(cur.refunded, old.refunded, locale, up_is_good=False),
            note=f"{format_percent(refund_share, '#,##0.0%', locale=locale)} of orders" if refund_share else "",
        ),
        Figure(
            "to-ship",
            "To ship now",
            count(data.to_ship),
            links.to_ship(),
            "Orders with status paid, whenever placed: the oldest first in the list.",
            note=_oldest(data.oldest_to_ship, now, locale),
        ),
        Figure(
            "low-stock",
            "Low stock",
            count(data.low_stock),
            links.low_stock(),
            "Active products whose stock is at or below their reorder level.",
        ),
    ]
    return shown


def _oldest(placed: datetime | None, now: datetime, locale: str) -> str:
    if placed is None:
        return ""
    waited = max(now - placed, timedelta(0))  # placed in the future (a typo): no negative age
    return f"oldest placed {format_timedelta(waited, granularity='hour', locale=locale)} ago"
