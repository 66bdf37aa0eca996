"""Small row factories for tests: each commits and returns the row (attributes still loaded).

Rows are numbered 1, 2, 3, … in each test (conftest restarts the numbering before every test, as the
tables restart their ids), so what a test makes does not depend on the tests run before it (an order's
`placed_at` is BASE_TIME plus its number in days: after a few hundred rows it would lie in the future).
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from models import Category, Customer, Order, OrderItem, OrderStatus, Product

BASE_TIME = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class _Numbers:
    """1, 2, 3, … (next(_seq)), from 1 again after restart_numbering()."""

    def __init__(self) -> None:
        self._count = itertools.count(1)

    def __next__(self) -> int:
        return next(self._count)

    def restart(self) -> None:
        self._count = itertools.count(1)


_seq = _Numbers()
restart_numbering = _seq.restart


def _save(engine: Engine, *rows):
    with Session(engine, expire_on_commit=False) as session:
        session.add_all(rows)
        session.commit()
    return rows[0] if len(rows) == 1 else rows


def category(engine: Engine, **values) -> Category:
    n = next(_seq)
    return _save(engine, Category(**{"name": f"Category {n}", "slug": f"category-{n}", **values}))


def product(engine: Engine, category_id: int | None = None, **values) -> Product:
    n = next(_seq)
    category_id = category_id or category(engine).id
    defaults = {
        "sku": f"SKU-{n:05}",
        "name": f"Product {n}",
        "category_id": category_id,
        "price": Decimal("10.00"),
        "cost": Decimal("4.00"),
        "stock_quantity": 10,
        "reorder_level": 2,
    }
    return _save(engine, Product(**{**defaults, **values}))


def customer(engine: Engine, **values) -> Customer:
    n = next(_seq)
    defaults = {"email": f"customer{n}@example.com", "first_name": "Ann", "last_name": f"Lee{n}", "country": "GB"}
    return _save(engine, Customer(**{**defaults, **values}))


def order(engine: Engine, customer_id: int | None = None, items: list[tuple[Product, int]] = (), **values) -> Order:
    n = next(_seq)
    customer_id = customer_id or customer(engine).id
    defaults = {
        "number": f"SO-{n:07}",
        "customer_id": customer_id,
        "status": OrderStatus.paid,
        "placed_at": BASE_TIME + timedelta(days=n),
        "discount_pct": Decimal("0"),
        "shipping_fee": Decimal("0"),
    }
    row = Order(**{**defaults, **values})
    for item_product, quantity in items:
        row.items.append(OrderItem(product_id=item_product.id, quantity=quantity, unit_price=item_product.price))
    return _save(engine, row)
