"""Primary keys as they arrive in URLs and forms: parsed once, to the column's own type and range.

A value that cannot be a key of the column (not a number, out of the integer type's range) is not
an error: it names no row, so the page is a 404 or the row is "not found".
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Column, Integer, SmallInteger
from sqlalchemy.sql.elements import ColumnElement

_INTEGER_BITS = ((SmallInteger, 16), (BigInteger, 64), (Integer, 32))  # subclasses before Integer


def integer_range(column: ColumnElement[Any] | Column[Any]) -> range | None:
    """The values an integer column holds (PostgreSQL's smallint, integer, bigint); None for other types."""
    for type_, bits in _INTEGER_BITS:
        if isinstance(column.type, type_):
            return range(-(2 ** (bits - 1)), 2 ** (bits - 1))
    return None


def parse_key(column: ColumnElement[Any] | Column[Any], raw: str) -> Any | None:
    """`raw` as a value of `column`, or None when no row can have it."""
    try:
        value = column.type.python_type(raw.strip())
    except (TypeError, ValueError, NotImplementedError):
        return None
    allowed = integer_range(column)
    if allowed is not None and value not in allowed:
        return None
    return value


def split_keys(raw: str) -> list[str]:
    """The comma-separated `pks` of a URL or form ("3,1,,3" → ["3", "1"]): blanks dropped, first of each kept."""
    return list(dict.fromkeys(part.strip() for part in raw.split(",") if part.strip()))


def parse_keys(column: ColumnElement[Any] | Column[Any], raw: str) -> tuple[list[Any], int]:
    """The valid keys among `raw`'s, and how many named no possible row."""
    parsed = [parse_key(column, part) for part in split_keys(raw)]
    keys = list(dict.fromkeys(key for key in parsed if key is not None))
    return keys, len(parsed) - len([k for k in parsed if k is not None])
