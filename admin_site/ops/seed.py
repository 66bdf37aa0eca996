"""Deterministic demo data for the shop, bulk-loaded with COPY so a million orders take minutes.

Rows are drawn column-wise per chunk (one `rng.choices(k=n)` per column) and streamed to the
server as COPY text in chunks, so memory stays flat however many orders are asked for. The
whole seed is one transaction: a failure leaves nothing behind.
"""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from itertools import accumulate, islice
from typing import TYPE_CHECKING, cast

from sqlalchemy import Engine
from tqdm import tqdm

from admin_site.ops.seed_vocabulary import (
    ADJECTIVES,
    CATEGORY_TREE,
    COUNTRIES,
    COUNTRY_WEIGHTS,
    DESCRIPTIONS,
    DISCOUNT_CUM,
    DISCOUNTS,
    FIRST_NAMES,
    GENERIC_NOUNS,
    ITEM_COUNT_CUM,
    ITEM_COUNTS,
    LAST_NAMES,
    LEAF_NOUNS,
    NOTES,
    QUANTITIES,
    QUANTITY_CUM,
    SHIPPED_STATUSES,
    SHIPPING_CUM,
    SHIPPING_FEES,
    STATUS_CUM,
    STATUSES,
)

if TYPE_CHECKING:
    from psycopg2.extensions import connection as Connection
    from psycopg2.extensions import cursor as Cursor

CHUNK_ROWS = 50_000
DAY = 86_400
BASE = datetime(2024, 1, 1, tzinfo=UTC)  # orders are placed in the two years from here;
HISTORY_DAYS = 730  # customers and products are created in the two years before it,
ORDER_DAYS = 730  # so before any seeded order that points at them.
NULL = r"\N"
TABLES = ("categories", "products", "customers", "orders", "order_items")


@dataclass(frozen=True)
class SeedCounts:
    categories: int
    products: int
    customers: int
    orders: int
    order_items: int


def copy_text(value: str) -> str:
    """Escape a value for COPY's text format, where backslash, tab and line breaks are special."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


NOTE_CELLS = (*(copy_text(note) for note in NOTES), NULL)
UNITS = tuple(int(quantity) for quantity in QUANTITIES)
NOTE_CUM = tuple(accumulate((1,) * len(NOTES) + (36,)))  # ~10% of orders carry a note


def _slug(value: str, sep: str = "-") -> str:
    """ASCII-only slug: emails and slugs must not depend on accents or apostrophes in a name."""
    ascii_ = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", sep, ascii_.replace("'", "")).strip(sep)


@cache
def _clock() -> tuple[list[str], list[str]]:
    """Day and time-of-day strings, so a timestamp cell is two list look-ups, not a strftime."""
    start = BASE - timedelta(days=HISTORY_DAYS)
    days = [f"{start + timedelta(days=d):%Y-%m-%d} " for d in range(HISTORY_DAYS + ORDER_DAYS + 10)]
    times = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00" for s in range(DAY)]
    return days, times


def _timestamp(second: int) -> str:
    """A timestamptz cell `second` seconds after BASE - HISTORY_DAYS."""
    days, times = _clock()
    return days[second // DAY] + times[second % DAY]


class _ChunkReader:
    """File-like view of an iterator of text chunks: copy_expert pulls one chunk per read()."""

    def __init__(self, chunks: Iterable[str]) -> None:
        self._chunks = iter(chunks)

    def read(self, size: int = -1) -> str:
        return next(self._chunks, "")  # "" tells psycopg2 the data is over


def _copy(cur: Cursor, table: str, columns: str, chunks: Iterable[str]) -> int:
    """COPY the chunks into `table`; return how many rows the server took."""
    cur.copy_expert(f"COPY {table} ({columns}) FROM STDIN", _ChunkReader(c for c in chunks if c))
    return cur.rowcount


def _chunked(rows: Iterable[str]) -> Iterator[str]:
    """Join rows into CHUNK_ROWS-row strings: few large writes, memory bounded by one chunk."""
    rows = iter(rows)
    while chunk := "".join(islice(rows, CHUNK_ROWS)):
        yield chunk


def _scalar(cur: Cursor, sql: str, params: Sequence[object] = ()) -> int:
    cur.execute(sql, params)
    return cur.fetchone()[0]


def _next_id(cur: Cursor, table: str, code_column: str | None = None, prefix: str = "") -> int:
    """First free id, also past any code like 'SO-0000042' typed in by hand: codes derive from ids."""
    last = _scalar(cur, f"SELECT coalesce(max(id), 0) FROM {table}")
    if code_column:
        last = max(
            last,
            _scalar(
                cur,
                f"SELECT coalesce(max(substr({code_column}, %s)::int), 0) FROM {table} WHERE {code_column} ~ %s",
                (len(prefix) + 1, f"^{prefix}[0-9]{{1,9}}$"),
            ),
        )
    return last + 1


def _seed_categories(cur: Cursor) -> int:
    """The fixed tree, only into an empty table: existing categories are someone's real catalog."""
    if _scalar(cur, "SELECT count(*) FROM categories"):
        return 0
    rows, next_id = [], _next_id(cur, "categories")
    for top, children in CATEGORY_TREE.items():
        top_id = next_id
        for name, parent in [(top, NULL)] + [(child, str(top_id)) for child in children]:
            rows.append(f"{next_id}\t{copy_text(name)}\t{_slug(name)}\t{parent}\tt\n")
            next_id += 1
    return _copy(cur, "categories", "id, name, slug, parent_id, is_active", ["".join(rows)])


def _leaf_categories(cur: Cursor) -> list[tuple[int, tuple[str, ...]]]:
    """Categories without children (all, should there be none), with the nouns to name products by."""
    cur.execute(
        "SELECT id, name, NOT EXISTS (SELECT 1 FROM categories k WHERE k.parent_id = c.id) "
        "FROM categories c ORDER BY id"
    )
    rows = cur.fetchall()
    return [(cid, LEAF_NOUNS.get(name, GENERIC_NOUNS)) for cid, name, _ in [r for r in rows if r[2]] or rows]


def _product_rows(
    rng: random.Random, first_id: int, count: int, leaves: Sequence[tuple[int, tuple[str, ...]]], prices: list[str]
) -> Iterator[str]:
    """Products in leaf categories; appends each price to `prices`, so order lines can charge it."""
    for pid in range(first_id, first_id + count):
        category_id, nouns = rng.choice(leaves)
        name = f"{rng.choice(ADJECTIVES)} {rng.choice(nouns)}"
        cents = int(math.exp(rng.uniform(0.7, 6.2))) * 100 + rng.choice((99, 95, 49, 0))  # 2.00 to ~492.99
        cost = int(cents * rng.uniform(0.3, 0.8))
        reorder = rng.randint(5, 40)
        stock = rng.randint(0, reorder) if rng.random() < 0.12 else rng.randint(reorder + 1, 500)  # ~12% low
        description = NULL if rng.random() < 0.3 else copy_text(rng.choice(DESCRIPTIONS).format(name=name.lower()))
        created = rng.randrange(HISTORY_DAYS * DAY - DAY)
        updated = rng.randrange(created, HISTORY_DAYS * DAY)
        active = "t" if rng.random() < 0.95 else "f"
        price = f"{cents // 100}.{cents % 100:02d}"
        prices.append(price)
        yield (
            f"{pid}\tSKU-{pid:06d}\t{copy_text(name)}\t{description}\t{category_id}\t{price}\t"
            f"{cost // 100}.{cost % 100:02d}\t{stock}\t{reorder}\t{active}\t"
            f"{_timestamp(created)}\t{_timestamp(updated)}\n"
        )


def _customer_rows(rng: random.Random, first_id: int, count: int) -> Iterator[str]:
    """Customers; the id in the email keeps it unique however often the names repeat."""
    for cid in range(first_id, first_id + count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        email = f"{_slug(first, '')}.{_slug(last, '')}{cid}@example.com"
        phone = (
            NULL
            if rng.random() < 0.15
            else (f"+{rng.randint(1, 99)} {rng.randint(100, 999)} {rng.randint(1000000, 9999999)}")
        )
        country = rng.choices(COUNTRIES, COUNTRY_WEIGHTS)[0]
        blocked = "t" if rng.random() < 0.02 else "f"
        yield (
            f"{cid}\t{email}\t{copy_text(first)}\t{copy_text(last)}\t{phone}\t{country}\t{blocked}\t"
            f"{_timestamp(rng.randrange(HISTORY_DAYS * DAY))}\n"
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
    rng: random.Random, first_id: int, customer_ids: Sequence[int], totals: Sequence[int], with_totals: bool
) -> str:
    """Orders from `first_id`, one per (cents, units) pair of `totals`, with those as their subtotal and
    item_count (or, not `with_totals`, without: the database then counts their lines), column by column:
    one choices() call per column and chunk keeps per-row work tiny."""
    n = len(totals) // 2
    pairs = zip(totals[::2], totals[1::2], strict=True)
    stored = [f"\t{c // 100}.{c % 100:02d}\t{u}" for c, u in pairs] if with_totals else [""] * n
    days, times = _clock()
    placed_range = range(HISTORY_DAYS * DAY, (HISTORY_DAYS + ORDER_DAYS) * DAY)
    delay_range = range(2 * 3600, 6 * DAY)  # placed to shipped: 2 hours to 6 days
    rows = []
    for oid, customer, status, placed, delay, discount, fee, note, kept in zip(
        range(first_id, first_id + n),
        rng.choices(customer_ids, k=n),
        rng.choices(STATUSES, cum_weights=STATUS_CUM, k=n),
        rng.choices(placed_range, k=n),
        rng.choices(delay_range, k=n),
        rng.choices(DISCOUNTS, cum_weights=DISCOUNT_CUM, k=n),
        rng.choices(SHIPPING_FEES, cum_weights=SHIPPING_CUM, k=n),
        rng.choices(NOTE_CELLS, cum_weights=NOTE_CUM, k=n),
        stored,
        strict=True,
    ):
        shipped = NULL
        if status in SHIPPED_STATUSES:
            shipped = days[(placed + delay) // DAY] + times[(placed + delay) % DAY]
        placed_at = days[placed // DAY] + times[placed % DAY]
        rows.append(
            f"{oid}\tSO-{oid:07d}\t{customer}\t{status}\t{placed_at}\t{shipped}\t{discount}\t{fee}\t{note}{kept}\n"
        )
    return "".join(rows)


ORDER_COLUMNS = "id, number, customer_id, status, placed_at, shipped_at, discount_pct, shipping_fee, notes"
LINE_COLUMNS = "id, order_id, product_id, quantity, unit_price"
COUNTING_TRIGGER = "order_totals_after_insert"  # revision 0006: adds inserted lines to their orders' totals


def _seed_orders(
    cur: Cursor, rng: random.Random, catalog: _Catalog, customer_ids: Sequence[int], count: int, progress: bool
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
    if with_totals:
        cur.execute(f"ALTER TABLE order_items DISABLE TRIGGER {COUNTING_TRIGGER}")
    columns = ORDER_COLUMNS + (", subtotal, item_count" if with_totals else "")
    first_order, item_id = _next_id(cur, "orders", "number", "SO-"), _next_id(cur, "order_items")
    n_orders = n_items = 0
    with tqdm(total=count, desc="orders", unit="order", disable=not progress) as bar:
        for start in range(first_order, first_order + count, CHUNK_ROWS):
            n = min(CHUNK_ROWS, first_order + count - start)
            lines, totals = _line_chunk(rng, catalog, start, n, item_id)
            n_orders += _copy(cur, "orders", columns, [_order_chunk(rng, start, customer_ids, totals, with_totals)])
            added = _copy(cur, "order_items", LINE_COLUMNS, [lines])
            item_id, n_items = item_id + added, n_items + added
            bar.update(n)
    if with_totals:
        cur.execute(f"ALTER TABLE order_items ENABLE TRIGGER {COUNTING_TRIGGER}")
    return n_orders, n_items


def seed_shop(
    engine: Engine, *, customers: int, products: int, orders: int, random_seed: int = 42, progress: bool = False
) -> SeedCounts:
    """Append demo rows; returns how many rows of each kind were inserted."""
    for what, n in (("customers", customers), ("products", products), ("orders", orders)):
        if n < 0:
            raise ValueError(f"{what} must be 0 or more, not {n}")
    raw = engine.raw_connection()
    dbapi = cast("Connection", raw.driver_connection)  # psycopg2's own: COPY is its API
    autocommit = dbapi.autocommit
    dbapi.autocommit = False  # one transaction, even on an AUTOCOMMIT engine
    try:
        with dbapi.cursor() as cur:
            counts = _seed(cur, random.Random(random_seed), customers, products, orders, progress)
        raw.commit()
        return counts
    except BaseException:
        raw.rollback()
        raise
    finally:
        dbapi.autocommit = autocommit
        raw.close()


def _seed(cur: Cursor, rng: random.Random, customers: int, products: int, orders: int, progress: bool) -> SeedCounts:
    # Writers wait (readers do not), so max(id) cannot move under us and two seeds run one after the other.
    cur.execute(f"LOCK TABLE {', '.join(TABLES)} IN SHARE ROW EXCLUSIVE MODE")
    product_ids: list[int] = []
    prices: list[str] = []
    customer_ids: list[int] = []
    if orders:
        cur.execute("SELECT id, price::text FROM products ORDER BY id")
        for pid, price in cur.fetchall():
            product_ids.append(pid)
            prices.append(price)
        cur.execute("SELECT id FROM customers ORDER BY id")
        customer_ids = [cid for (cid,) in cur.fetchall()]
        if not customer_ids and not customers:
            raise ValueError("cannot seed orders: there are no customers; ask for customers > 0")
        if not product_ids and not products:
            raise ValueError("cannot seed orders: there are no products; ask for products > 0")

    n_categories = _seed_categories(cur)
    first_product = _next_id(cur, "products", "sku", "SKU-")
    leaves = _leaf_categories(cur) if products else []
    n_products = _copy(
        cur,
        "products",
        "id, sku, name, description, category_id, price, cost, stock_quantity, "
        "reorder_level, is_active, created_at, updated_at",
        _chunked(_product_rows(rng, first_product, products, leaves, prices)),
    )
    product_ids.extend(range(first_product, first_product + n_products))

    first_customer = _next_id(cur, "customers")
    n_customers = _copy(
        cur,
        "customers",
        "id, email, first_name, last_name, phone, country, is_blocked, created_at",
        _chunked(_customer_rows(rng, first_customer, customers)),
    )
    customer_ids.extend(range(first_customer, first_customer + n_customers))

    catalog = _Catalog.of(rng, product_ids, prices)
    n_orders, n_items = _seed_orders(cur, rng, catalog, customer_ids, orders, progress)

    counts = SeedCounts(n_categories, n_products, n_customers, n_orders, n_items)
    touched = [
        table for table, n in zip(TABLES, (n_categories, n_products, n_customers, n_orders, n_items), strict=True) if n
    ]
    for table in touched:  # COPY wrote explicit ids: move each id sequence past them
        cur.execute(f"SELECT setval(pg_get_serial_sequence(%s, 'id'), max(id)) FROM {table}", (table,))
    if touched:  # fresh statistics, so query plans and estimated counts fit the new size at once
        cur.execute(f"ANALYZE {', '.join(touched)}")
    return counts
