"""Export rows written whole by PostgreSQL: each row one text value (a JSON object, an XLSX row's cells), sent
by COPY as one line, then joined here. PostgreSQL renders the cells in C while this process only passes
bytes on, which is what lets JSON and XLSX run at close to the speed of the CSV's own COPY.

The JSON written this way is byte for byte what `json.dumps` wrote from `cells.json_value` (same keys and
separators, numbers as strings of their digits, times in UTC, text escaped the same way); a column of a type
SQL would render differently (floats, JSON documents, intervals, addresses…) sends the export down the
server-side cursor path instead (`streams.json_chunks`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Boolean, Date, DateTime, Float, Integer, Numeric, Select, String, Text, case, cast, func, literal
from sqlalchemy.sql.elements import ColumnElement

from admin_site.export.query import ExportColumn, decorrelate
from admin_site.export.streams import CopyWriter, run_copy, stream_through_queue

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from models.base import Base

# CSV format with a quote and a delimiter that never occur in these rows (control characters: JSON escapes them,
# the XLSX cells escape them too), so PostgreSQL writes each row exactly as the SQL built it.
RAW_COPY = "FORMAT csv, QUOTE E'\\x02', DELIMITER E'\\x03'"
NULL_JSON = "null"


def raw_copy_sql(cursor: Any, stmt: Select, row: ColumnElement[str], dialect: Any, model: type[Base]) -> bytes:
    """`COPY (the list's query selecting `row` alone) TO STDOUT`, its parameters quoted by psycopg2."""
    query = decorrelate(stmt.with_only_columns(row.label("row"), maintain_column_froms=True), model)
    compiled = query.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    return cursor.mogrify(f"COPY ({compiled.string}) TO STDOUT WITH ({RAW_COPY})", compiled.params)


def constant(value: str) -> ColumnElement[str]:
    """A text constant of the row, sent as a bound parameter."""
    return literal(value, Text())


def json_value_sql(column: ExportColumn) -> ColumnElement[str] | None:
    """The column's JSON text as `json.dumps(json_value(v))` writes it, or None when SQL cannot match it."""
    value, kind = column.expression, column.expression.type
    if isinstance(kind, Boolean):
        return case(
            (value.is_(True), constant("true")), (value.is_(False), constant("false")), else_=constant(NULL_JSON)
        )
    if isinstance(kind, Integer):
        return func.coalesce(cast(value, Text), constant(NULL_JSON))
    if isinstance(kind, Float):  # Python's repr and PostgreSQL's text of a float differ (inf, Infinity)
        return None
    if isinstance(kind, (Numeric, DateTime, Date)):  # their digits as a string, as json_value writes them
        return func.coalesce(constant('"') + cast(value, Text) + constant('"'), constant(NULL_JSON))
    if isinstance(kind, String):  # Text and Enum too: escaped by to_json as json.dumps escapes
        return func.coalesce(cast(func.to_json(value), Text), constant(NULL_JSON))
    return None


def json_row_sql(columns: list[ExportColumn]) -> ColumnElement[str] | None:
    """One JSON object per row, keys in column order (`{"id": 1, "number": "SO-1"}`), or None."""
    parts: list[ColumnElement[str]] = []
    for i, column in enumerate(columns):
        value = json_value_sql(column)
        if value is None:
            return None
        parts += [constant(("{" if i == 0 else ", ") + json.dumps(column.name, ensure_ascii=False) + ": "), value]
    return func.concat(*parts, constant("}"))


class JsonArrayWriter(CopyWriter):
    """Objects, one a line, joined into the array the Python encoder wrote: `[` (the body's head), `\\n` before
    the first object and `,\\n` before each next one, `\\n]\\n` after the last. An object never holds a raw line
    break (JSON escapes them), so every line break COPY wrote ends an object."""

    _before = b"\n"

    def encode(self, chunk: bytes) -> bytes:
        joined = self._before + chunk[:-1].replace(b"\n", b",\n")
        self._before = b",\n"
        return joined

    def finish(self) -> None:
        self.flush()
        self.put(b"\n]\n")


def stream_json(
    session_maker: sessionmaker[Session],
    stmt: Select,
    row: ColumnElement[str],
    model: type[Base],
    done: Callable[[int, bool, BaseException | None], None],
) -> AsyncIterator[bytes]:
    """The JSON body: `[` at once, then the objects PostgreSQL writes (`json_row_sql`), as they come."""

    def fill(writer: CopyWriter) -> int:
        return run_copy(session_maker, lambda cursor, dialect: raw_copy_sql(cursor, stmt, row, dialect, model), writer)

    return stream_through_queue(fill, JsonArrayWriter, b"[", done, "json")
