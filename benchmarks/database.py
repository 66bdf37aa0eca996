"""The benchmark's database: a dedicated embedded PostgreSQL, migrated and seeded by the app's own code."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from sqlalchemy import Engine, create_engine, text

from admin_site.db.embedded import EmbeddedPostgres
from admin_site.db.migrations import alembic_config
from admin_site.ops.seed import seed_shop
from admin_site.ops.totals import find_differences

DATABASE = "shop_bench"


@dataclass
class Prepared:
    url: str
    server: EmbeddedPostgres
    seeded_seconds: float | None  # None: an existing database of the right size was reused
    counts: dict[str, int]


def table_counts(engine: Engine) -> dict[str, int]:
    with engine.connect() as conn:
        return {
            table: conn.scalar(text(f"SELECT count(*) FROM {table}"))
            for table in ("products", "customers", "orders", "order_items")
        }


def prepare(pgdata: Path, *, orders: int, customers: int, products: int, log=print) -> Prepared:
    """Start the server, migrate to head, and seed unless the database already holds `orders` orders."""
    server = EmbeddedPostgres(pgdata, database=DATABASE)
    url = server.start()
    command.upgrade(alembic_config(url), "head")
    engine = create_engine(url)
    try:
        counts = table_counts(engine)
        seeded = None
        if counts["orders"] != orders:
            if counts["orders"]:
                log(f"database holds {counts['orders']:,} orders, not {orders:,}: emptying it")
                with engine.begin() as conn:
                    conn.execute(text("TRUNCATE order_items, orders, customers, products, categories CASCADE"))
            log(f"seeding {orders:,} orders, {customers:,} customers, {products:,} products with admin_site.ops.seed …")
            started = time.perf_counter()
            seed_shop(engine, customers=customers, products=products, orders=orders, progress=True)
            seeded = time.perf_counter() - started
            log(f"seeded in {seeded:.1f} s")
            counts = table_counts(engine)
        # What autovacuum would do soon after a bulk load: visibility map (index-only scans) and statistics.
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM (ANALYZE) products, customers, orders, order_items"))
        started = time.perf_counter()  # what `admin-site check-totals` does: stored totals against the lines
        orders, differences = find_differences(engine)
        log(f"check-totals: {orders:,} orders, {len(differences):,} differ ({time.perf_counter() - started:.1f} s)")
        if differences:
            raise SystemExit("stored order totals differ from their lines: see `admin-site check-totals`")
    finally:
        engine.dispose()
    return Prepared(url=url, server=server, seeded_seconds=seeded, counts=counts)
