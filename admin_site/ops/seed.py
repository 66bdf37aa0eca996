"""Deterministic demo data for the shop, bulk-loaded with COPY so a million orders take minutes.

Rows are drawn column-wise per chunk (one `rng.choices(k=n)` per column) and streamed to the
server as COPY text in chunks, so memory stays flat however many orders are asked for. The
whole seed is one transaction: a failure leaves nothing behind.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from itertools import accumulate
from typing import TYPE_CHECKING, cast

from sqlalchemy import Engine
from tqdm import tqdm

from admin_site.ops.seed_catalog import leaf_categories, next_id, product_rows, seed_categories, slug
from admin_site.ops.seed_clock import DAY, HISTORY_DAYS, Window, clock, window_end
from admin_site.ops.seed_copy import CHUNK_ROWS, NULL, chunked, copy, copy_text
from admin_site.ops.seed_vocabulary import (
    COUNTRIES,
    COUNTRY_WEIGHTS,
    DISCOUNT_CUM,
    DISCOUNTS,
    FIRST_NAMES,
    ITEM_COUNT_CUM,
    ITEM_COUNTS,
    LAST_NAMES,
    NOTES,
    QUANTITIES,
    QUANTITY_CUM,
    SETTLED,
    SETTLED_AFTER_DAYS,
    SHIPPED_STATUSES,
    SHIPPING_CUM,
    SHIPPING_FEES,
    STATUS_CUM,
    STATUSES,
    STUCK_DAYS,
    STUCK_EVERY,
)

if TYPE_CHECKING:
    from psycopg2.extensions import connection as Connection
    from psycopg2.extensions import cursor as Cursor


LATE_CUSTOMERS = 0.3  # the share of new customers who join while orders are placed: "new customers" each period
TABLES = ("categories", "products", "customers", "orders", "order_items")


@dataclass(frozen=True)
class SeedCounts:
    categories: int
    products: int
    customers: int
    orders: int
    order_items: int


NOTE_CELLS = (*(copy_text(note) for note in NOTES), NULL)
UNITS = tuple(int(quantity) for quantity in QUANTITIES)
NOTE_CUM = tuple(accumulate((1,) * len(NOTES) + (36,)))  # ~10% of orders carry a note


def _customer_rows(rng: random.Random, window: Window, first_id: int, count: int, joined: list[int]) -> Iterator[str]:
    """Customers; the id in the email keeps it unique however often the names repeat. Most joined before the
    orders' two years, LATE_CUSTOMERS during them (up to a day before their end); each one's second is
    appended to `joined`, so that their orders come after it."""
    for cid in range(first_id, first_id + count):
        if rng.random() < LATE_CUSTOMERS:
            created = rng.randrange(window.orders_from, window.end - DAY)
        else:
            created = rng.randrange(HISTORY_DAYS * DAY)
        joined.append(created)
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{slug(first, '')}.{slug(last, '')}{cid}@example.com"
        phone = (
            NULL
            if rng.random() < 0.15
            else (f"+{rng.randint(1, 99)} {rng.randint(100, 999)} {rng.randint(1000000, 9999999)}")
        )
        country = rng.choices(COUNTRIES, COUNTRY_WEIGHTS)[0]
        blocked = "t" if rng.random() < 0.02 else "f"
        yield (
            f"{cid}\t{email}\t{copy_text(first)}\t{copy_text(last)}\t{phone}\t{country}\t{blocked}\t"
            f"{window.timestamp(created)}\n"
        )


@dataclass(frozen=True)
class _Catalog:
    """What order lines are drawn from: products, their prices (COPY text and cents) and popularity."""

    product_ids: Sequence[int]
    prices: Sequence[str]
    cents: Sequence[int]
    popularity: Sequence[float]  # cumulative weights

    @classmethod
    def of(cls, rng: random.Random, product_ids: Sequence[int], prices: Sequence[str]) -> _Catalog:
        popularity = list(accumulate(rng.paretovariate(1.5) for _ in product_ids))  # a few sell a lot
        cents = [int(price.replace(".", "")) for price in prices]  # numeric(10,2) as text: always two decimals
        return cls(product_ids, prices, cents, popularity)


def _line_chunk(rng: random.Random, catalog: _Catalog, first_order: int, n: int, item_id: int) -> tuple[str, list[int]]:
    """Lines of `n` orders: 1-5 distinct products per order, popular products more often, charged at the
    product's price. Returns their COPY text and, per order, its subtotal in cents then its units (appended
    flat: [cents, units, cents, units, …])."""
    pool = range(len(catalog.product_ids))
    counts = [min(c, len(pool)) for c in rng.choices(ITEM_COUNTS, cum_weights=ITEM_COUNT_CUM, k=n)]
    picks = rng.choices(pool, cum_weights=catalog.popularity, k=sum(counts))
    quantities = rng.choices(UNITS, cum_weights=QUANTITY_CUM, k=len(picks))
    rows: list[str] = []
    totals: list[int] = []
    pos = 0
    for order_id, c in zip(range(first_order, first_order + n), counts, strict=True):
        chosen = picks[pos : pos + c]
        if c > 1 and len(set(chosen)) < c:  # unique(order_id, product_id): redraw the rare repeat
            chosen = rng.sample(pool, c)
        cents = units = 0
        for p in chosen:
            quantity = quantities[pos]
            rows.append(f"{item_id}\t{order_id}\t{catalog.product_ids[p]}\t{quantity}\t{catalog.prices[p]}\n")
            cents += quantity * catalog.cents[p]
            units += quantity
            item_id += 1
            pos += 1
        totals += (cents, units)
    return "".join(rows), totals


def _order_chunk(
    rng: random.Random,
    window: Window,
    first_id: int,
    customers: _Customers,
    totals: Sequence[int],
    with_totals: bool,
) -> str:
    """Orders from `first_id`, one per (cents, units) pair of `totals`, with those as their subtotal and
    item_count (or, not `with_totals`, without: the database then counts their lines), column by column:
    one choices() call per column and chunk keeps per-row work tiny. Placed in the window, after the customer
    joined; shipped no later than the window's end."""
    n = len(totals) // 2
    pairs = zip(totals[::2], totals[1::2], strict=True)
    stored = [f"\t{c // 100}.{c % 100:02d}\t{u}" for c, u in pairs] if with_totals else [""] * n
    days, times = clock(window.origin)
    placed_range = range(window.orders_from, window.end)
    delay_range = range(2 * 3600, 6 * DAY)  # placed to shipped: 2 hours to 6 days
    rows = []
    for oid, customer, drawn_status, drawn, delay, discount, fee, note, kept in zip(
        range(first_id, first_id + n),
        rng.choices(range(len(customers.ids)), k=n),
        rng.choices(STATUSES, cum_weights=STATUS_CUM, k=n),
        rng.choices(placed_range, k=n),
        rng.choices(delay_range, k=n),
        rng.choices(DISCOUNTS, cum_weights=DISCOUNT_CUM, k=n),
        rng.choices(SHIPPING_FEES, cum_weights=SHIPPING_CUM, k=n),
        rng.choices(NOTE_CELLS, cum_weights=NOTE_CUM, k=n),
        stored,
        strict=True,
    ):
        placed = max(drawn, customers.joined[customer] + 3600)  # joined a day before the end at the latest
        age, status = window.end - placed, drawn_status
        if status in SETTLED and age > SETTLED_AFTER_DAYS * DAY and (age > STUCK_DAYS * DAY or oid % STUCK_EVERY):
            status = SETTLED[status]
        shipped = NULL
        if status in SHIPPED_STATUSES:
            shipping = min(placed + delay, max(placed, window.end - 1))
            shipped = days[shipping // DAY] + times[shipping % DAY]
        placed_at = days[placed // DAY] + times[placed % DAY]
        rows.append(
            f"{oid}\tSO-{oid:07d}\t{customers.ids[customer]}\t{status}\t{placed_at}\t{shipped}\t{discount}\t{fee}\t{note}{kept}\n"
        )
    return "".join(rows)


ORDER_COLUMNS = "id, number, customer_id, status, placed_at, shipped_at, discount_pct, shipping_fee, notes"
LINE_COLUMNS = "id, order_id, product_id, quantity, unit_price"
COUNTING_TRIGGER = "order_totals_after_insert"  # revision 0006: adds inserted lines to their orders' totals
# Revision 0008: these add inserted orders and lines to the dashboard's summary, one upsert per COPY chunk, which
# rewrote each summary row once per chunk (tables several times their size until vacuumed, slower to read).
# The seed switches them off like the counting trigger, then recounts the summary once (dashboard_rebuild, in
# the zone it was in): about as long in all (1M orders: 212 s with them, 215 s without, on a busy machine).
SUMMARY_TRIGGERS = {"orders": "dashboard_orders_after_insert", "order_items": "dashboard_lines_after_insert"}


@dataclass(frozen=True)
class _Customers:
    """Who orders are drawn from: ids, and the second (of the window's clock) each one joined."""

    ids: Sequence[int]
    joined: Sequence[int]


def _seed_orders(
    cur: Cursor,
    rng: random.Random,
    window: Window,
    catalog: _Catalog,
    customers: _Customers,
    count: int,
    progress: bool,
) -> tuple[int, int]:
    """Orders and their lines, a chunk of each in turn; returns how many of each.

    The seed knows an order's lines when it writes the order, so it writes its subtotal and item_count too,
    and switches off, in its own transaction only, the trigger that would add the lines to them again (an
    UPDATE of every order just written). Nobody sees it off: the table is locked against other writers and
    the change is undone before the commit. Switching a trigger off is the table owner's right; for anyone
    else the orders are written without totals and the trigger counts their lines.
    """
    cur.execute(
        "SELECT pg_has_role(c.relowner, 'USAGE') FROM pg_class c JOIN pg_trigger t ON t.tgrelid = c.oid "
        "WHERE c.oid = 'order_items'::regclass AND t.tgname = %s",
        (COUNTING_TRIGGER,),
    )
    with_totals = bool((cur.fetchone() or [False])[0])  # no trigger: a schema from before revision 0006
    cur.execute("SELECT count(*) FROM pg_trigger WHERE tgname = ANY(%s)", (list(SUMMARY_TRIGGERS.values()),))
    recount = with_totals and bool((cur.fetchone() or [0])[0])  # no triggers: a schema from before revision 0008
    if with_totals:
        cur.execute(f"ALTER TABLE order_items DISABLE TRIGGER {COUNTING_TRIGGER}")
    for table, trigger in SUMMARY_TRIGGERS.items() if recount else ():
        cur.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
    columns = ORDER_COLUMNS + (", subtotal, item_count" if with_totals else "")
    first_order, item_id = next_id(cur, "orders", "number", "SO-"), next_id(cur, "order_items")
    n_orders = n_items = 0
    with tqdm(total=count, desc="orders", unit="order", disable=not progress) as bar:
        for start in range(first_order, first_order + count, CHUNK_ROWS):
            n = min(CHUNK_ROWS, first_order + count - start)
            lines, totals = _line_chunk(rng, catalog, start, n, item_id)
            chunk = _order_chunk(rng, window, start, customers, totals, with_totals)
            n_orders += copy(cur, "orders", columns, [chunk])
            added = copy(cur, "order_items", LINE_COLUMNS, [lines])
            item_id, n_items = item_id + added, n_items + added
            bar.update(n)
    if with_totals:
        cur.execute(f"ALTER TABLE order_items ENABLE TRIGGER {COUNTING_TRIGGER}")
    if recount:
        for table, trigger in SUMMARY_TRIGGERS.items():
            cur.execute(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}")
        cur.execute("SELECT dashboard_rebuild(coalesce((SELECT zone FROM dashboard_zone LIMIT 1), 'UTC'))")
    return n_orders, n_items


def seed_shop(
    engine: Engine,
    *,
    customers: int,
    products: int,
    orders: int,
    random_seed: int = 42,
    progress: bool = False,
    until: date | None = None,
) -> SeedCounts:
    """Append demo rows, orders over the two years up to `until` (today: up to this hour); returns how many
    rows of each kind were inserted."""
    for what, n in (("customers", customers), ("products", products), ("orders", orders)):
        if n < 0:
            raise ValueError(f"{what} must be 0 or more, not {n}")
    raw = engine.raw_connection()
    dbapi = cast("Connection", raw.driver_connection)  # psycopg2's own: COPY is its API
    autocommit = dbapi.autocommit
    dbapi.autocommit = False  # one transaction, even on an AUTOCOMMIT engine
    try:
        with dbapi.cursor() as cur:
            window = Window.ending(window_end(until))
            counts = _seed(cur, random.Random(random_seed), window, customers, products, orders, progress)
        raw.commit()
        return counts
    except BaseException:
        raw.rollback()
        raise
    finally:
        dbapi.autocommit = autocommit
        raw.close()


def _seed(
    cur: Cursor, rng: random.Random, window: Window, customers: int, products: int, orders: int, progress: bool
) -> SeedCounts:
    # Writers wait (readers do not), so max(id) cannot move under us and two seeds run one after the other.
    cur.execute(f"LOCK TABLE {', '.join(TABLES)} IN SHARE ROW EXCLUSIVE MODE")
    product_ids: list[int] = []
    prices: list[str] = []
    customer_ids: list[int] = []
    joined: list[int] = []
    if orders:
        cur.execute("SELECT id, price::text FROM products ORDER BY id")
        for pid, price in cur.fetchall():
            product_ids.append(pid)
            prices.append(price)
        cur.execute(
            "SELECT id, floor(extract(epoch FROM created_at) - %s)::bigint FROM customers ORDER BY id",
            (window.origin.timestamp(),),
        )
        for cid, second in cur.fetchall():
            customer_ids.append(cid)
            joined.append(second)
        if not customer_ids and not customers:
            raise ValueError("cannot seed orders: there are no customers; ask for customers > 0")
        if not product_ids and not products:
            raise ValueError("cannot seed orders: there are no products; ask for products > 0")

    n_categories = seed_categories(cur)
    first_product = next_id(cur, "products", "sku", "SKU-")
    leaves = leaf_categories(cur) if products else []
    n_products = copy(
        cur,
        "products",
        "id, sku, name, description, category_id, price, cost, stock_quantity, "
        "reorder_level, is_active, created_at, updated_at",
        chunked(product_rows(rng, window, first_product, products, leaves, prices)),
    )
    product_ids.extend(range(first_product, first_product + n_products))

    first_customer = next_id(cur, "customers")
    n_customers = copy(
        cur,
        "customers",
        "id, email, first_name, last_name, phone, country, is_blocked, created_at",
        chunked(_customer_rows(rng, window, first_customer, customers, joined)),
    )
    customer_ids.extend(range(first_customer, first_customer + n_customers))

    catalog = _Catalog.of(rng, product_ids, prices)
    n_orders, n_items = _seed_orders(cur, rng, window, catalog, _Customers(customer_ids, joined), orders, progress)

    counts = SeedCounts(n_categories, n_products, n_customers, n_orders, n_items)
    touched = [
        table for table, n in zip(TABLES, (n_categories, n_products, n_customers, n_orders, n_items), strict=True) if n
    ]
    for table in touched:  # COPY wrote explicit ids: move each id sequence past them
        cur.execute(f"SELECT setval(pg_get_serial_sequence(%s, 'id'), max(id)) FROM {table}", (table,))
    if touched:  # fresh statistics, so query plans and estimated counts fit the new size at once
        cur.execute(f"ANALYZE {', '.join(touched)}")
    return counts
