"""The seed's COPY plumbing: text cells escaped for COPY, rows joined into chunks, chunks streamed to the server."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from psycopg2.extensions import cursor as Cursor

CHUNK_ROWS = 50_000
NULL = r"\N"


def copy_text(value: str) -> str:
    """Escape a value for COPY's text format, where backslash, tab and line breaks are special."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


class ChunkReader:
    """File-like view of an iterator of text chunks: copy_expert pulls one chunk per read()."""

    def __init__(self, chunks: Iterable[str]) -> None:
        self._chunks = iter(chunks)

    def read(self, size: int = -1) -> str:
        return next(self._chunks, "")  # "" tells psycopg2 the data is over


def copy(cur: Cursor, table: str, columns: str, chunks: Iterable[str]) -> int:
    """COPY the chunks into `table`; return how many rows the server took."""
    cur.copy_expert(f"COPY {table} ({columns}) FROM STDIN", ChunkReader(c for c in chunks if c))
    return cur.rowcount


def chunked(rows: Iterable[str]) -> Iterator[str]:
    """Join rows into CHUNK_ROWS-row strings: few large writes, memory bounded by one chunk."""
    rows = iter(rows)
    while chunk := "".join(islice(rows, CHUNK_ROWS)):
        yield chunk
