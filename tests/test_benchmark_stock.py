"""The benchmark's stock SQLAdmin serves each workload it is compared on, showing the same rows as ours:
a comparison against pages that fail, or show something else, would measure nothing."""

from __future__ import annotations

from starlette.testclient import TestClient

from benchmarks.run import SQLADMIN_MS, workloads
from benchmarks.stock_sqladmin import create_stock_app
from models import OrderStatus
from tests import factories


def test_stock_sqladmin_serves_every_compared_workload(db):
    book = factories.product(db, name="Stock book")
    smith = factories.customer(db, email="jo.smith@example.com")
    wanted = factories.order(db, smith.id, [(book, 2)], number="SO-0042100", status=OrderStatus.refunded)
    other = factories.order(db, items=[(book, 1)], number="SO-0099999", status=OrderStatus.paid)
    with TestClient(create_stock_app(db)) as client:
        pages = {name: client.get(path) for name, path in workloads(wanted.id) if name in SQLADMIN_MS}
    assert set(pages) == set(SQLADMIN_MS)
    assert all(page.status_code == 200 for page in pages.values()), {n: p.status_code for n, p in pages.items()}
    assert "jo.smith@example.com" in pages["orders list, page 1"].text  # the customer column, loaded
    searched = pages["orders search 'SO-00421'"].text
    assert "SO-0042100" in searched and other.number not in searched
    refunded = pages["orders status=refunded"].text
    assert "SO-0042100" in refunded and other.number not in refunded
    assert "jo.smith@example.com" in pages["customers search 'smith'"].text
    assert "Stock book" in pages["products list"].text
    assert 'name="discount_pct"' in pages["order edit form"].text
