"""The seed's catalogue: the category tree and products in its leaves, and the id and slug helpers the
other tables' rows share."""

from __future__ import annotations

import math
import random
import re
import unicodedata
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING

from admin_site.ops.seed_clock import DAY, HISTORY_DAYS, Window
from admin_site.ops.seed_copy import NULL, copy, copy_text
from admin_site.ops.seed_vocabulary import ADJECTIVES, CATEGORY_TREE, DESCRIPTIONS, GENERIC_NOUNS, LEAF_NOUNS

if TYPE_CHECKING:
    from psycopg2.extensions import cursor as Cursor


def slug(value: str, sep: str = "-") -> str:
    """ASCII-only slug: emails and slugs must not depend on accents or apostrophes in a name."""
    ascii_ = unicodedata.normalize("NFKD", value).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", sep, ascii_.replace("'", "")).strip(sep)


def scalar(cur: Cursor, sql: str, params: Sequence[object] = ()) -> int:
    cur.execute(sql, params)
    return cur.fetchone()[0]


def next_id(cur: Cursor, table: str, code_column: str | None = None, prefix: str = "") -> int:
    """First free id, also past any code like 'SO-0000042' typed in by hand: codes derive from ids."""
    last = scalar(cur, f"SELECT coalesce(max(id), 0) FROM {table}")
    if code_column:
        last = max(
            last,
            scalar(
                cur,
                f"SELECT coalesce(max(substr({code_column}, %s)::int), 0) FROM {table} WHERE {code_column} ~ %s",
                (len(prefix) + 1, f"^{prefix}[0-9]{{1,9}}$"),
            ),
        )
    return last + 1


def seed_categories(cur: Cursor) -> int:
    """The fixed tree, only into an empty table: existing categories are someone's real catalog."""
    if scalar(cur, "SELECT count(*) FROM categories"):
        return 0
    rows, category_id = [], next_id(cur, "categories")
    for top, children in CATEGORY_TREE.items():
        top_id = category_id
        for name, parent in [(top, NULL)] + [(child, str(top_id)) for child in children]:
            rows.append(f"{category_id}\t{copy_text(name)}\t{slug(name)}\t{parent}\tt\n")
            category_id += 1
    return copy(cur, "categories", "id, name, slug, parent_id, is_active", ["".join(rows)])


def leaf_categories(cur: Cursor) -> list[tuple[int, tuple[str, ...]]]:
    """Categories without children (all, should there be none), with the nouns to name products by."""
    cur.execute(
        "SELECT id, name, NOT EXISTS (SELECT 1 FROM categories k WHERE k.parent_id = c.id) "
        "FROM categories c ORDER BY id"
    )
    rows = cur.fetchall()
    return [(cid, LEAF_NOUNS.get(name, GENERIC_NOUNS)) for cid, name, _ in [r for r in rows if r[2]] or rows]


def product_rows(
    rng: random.Random,
    window: Window,
    first_id: int,
    count: int,
    leaves: Sequence[tuple[int, tuple[str, ...]]],
    prices: list[str],
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
            f"{window.timestamp(created)}\t{window.timestamp(updated)}\n"
        )
