"""Where each figure and chart element leads: the list it summarises, filtered the same way.

Days are the list filters' days, which are days in the admin's time zone (lists/filters.py), so a list
filtered from one day to another counts exactly what the dashboard summed for those days.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from urllib.parse import urlencode

from starlette.requests import Request

from models.dashboard import REVENUE_STATUSES

Pairs = list[tuple[str, str]]


class Links:
    def __init__(self, request: Request) -> None:
        self._lists = {
            identity: str(request.url_for("admin:list", identity=identity))
            for identity in ("order", "order-item", "customer", "product")
        }

    def _url(self, identity: str, pairs: Pairs) -> str:
        return f"{self._lists[identity]}?{urlencode(pairs)}" if pairs else self._lists[identity]

    @staticmethod
    def _days(prefix: str, first: date, last: date) -> Pairs:
        return [(f"{prefix}__gte", first.isoformat()), (f"{prefix}__lte", last.isoformat())]

    def orders(self, first: date, last: date, statuses: Iterable[str] = (), country: str | None = None) -> str:
        """Orders placed from `first` to `last` (both included), newest first."""
        pairs = [("status", status) for status in statuses] + self._days("placed_at", first, last)
        if country:
            pairs.append(("customer__country", country))
        return self._url("order", pairs)

    def revenue_orders(self, first: date, last: date, country: str | None = None) -> str:
        return self.orders(first, last, REVENUE_STATUSES, country)

    def product_lines(self, product_id: int, first: date, last: date) -> str:
        """A product's lines on revenue orders placed in the period: what its revenue adds up."""
        pairs = [("product", str(product_id))] + [("order__status", status) for status in REVENUE_STATUSES]
        return self._url("order-item", pairs + self._days("order__placed_at", first, last))

    def new_customers(self, first: date, last: date) -> str:
        return self._url("customer", self._days("created_at", first, last))

    def to_ship(self) -> str:
        """Paid orders, oldest first: the queue to work through."""
        return self._url("order", [("status", "paid"), ("sortBy", "placed_at"), ("sort", "asc")])

    def low_stock(self) -> str:
        return self._url("product", [("is_active", "true"), ("is_low_stock", "true")])
