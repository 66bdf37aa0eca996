"""Exports of exactly what a list shows — same search, filters and sort, every matching row — streamed.

CSV is PostgreSQL's own `COPY (the list's query) TO STDOUT`: the statement is compiled by SQLAlchemy
and its bound parameters quoted by psycopg2 (as for any query), never pasted from user text. Rows
flow from a worker thread through a small bounded queue to the response, so memory stays flat
whatever the size. JSON is streamed from a server-side cursor; XLSX is written by XlsxWriter in
constant-memory mode to a temporary file, then streamed.

Every format writes the same cells: NULL as empty (JSON null), decimals exact (their digits, never a
float), times in UTC, booleans as true/false, and text that a spreadsheet would run as a formula
neutralised (CSV and XLSX, `spreadsheet_safety.neutralise_formula`; in CSV by the same rule in SQL).
Every export, whole list or selected rows, is audited: format, filters, row count, completed or not.
"""

from __future__ import annotations

import enum
import json
import logging
import os
import queue
import tempfile
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import anyio
from sqladmin.authentication import login_required
from sqladmin.helpers import secure_filename
from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    Select,
    String,
    Table,
    case,
    false,
    func,
    literal,
    or_,
    select,
)  # fmt: skip
from sqlalchemy import text as sql_text
from sqlalchemy.orm import aliased
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import ScalarSelect
from sqlalchemy.sql.util import _deep_deannotate
from sqlalchemy.sql.visitors import iterate, replacement_traverse
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from admin_site import audit
from admin_site.spreadsheet_safety import FORMULA_STARTS, LEADING_SPACE, neutralise_formula
from admin_site.views.listing import resolve

log = logging.getLogger(__name__)

CHUNK_BYTES = 256 * 1024  # what the COPY thread hands over at a time
QUEUE_CHUNKS = 8  # at most this many chunks wait for a slow client: memory stays flat
FETCH_ROWS = 2_000  # server-side cursor batch (JSON, XLSX)
XLSX_MAX_ROWS = 1_048_576  # rows in one Excel sheet, header included
MAX_SELECTED = 10_000  # primary keys one "export selected" may name
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
_DONE = object()
# For the export's own transaction: times in UTC as cell_text writes them, and room for the one big
# sort and GROUP BY of a whole-table export to stay in memory.
EXPORT_SETTINGS = "SET LOCAL TIME ZONE 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL work_mem = '256MB'"


class ExportCancelled(Exception):
    """The client went away: stop reading from the database."""


# -- what is exported ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ExportColumn:
    name: str
    expression: ColumnElement[Any]
    kind: str  # text | number | bool | timestamp | date | other


def _kind(expression: ColumnElement[Any]) -> str:
    kind = expression.type
    if isinstance(kind, Boolean):
        return "bool"
    if isinstance(kind, (Integer, Numeric, Float)):
        return "number"
    if isinstance(kind, DateTime):
        return "timestamp"
    if isinstance(kind, Date):
        return "date"
    if isinstance(kind, String):  # Enum and Text included
        return "text"
    return "other"


def export_statement(view: Any, request: Request, pks: list[Any] | None = None) -> tuple[Select, list[ExportColumn]]:
    """The list's query (search, filters, sort from the URL) selecting the listed columns' values.

    A relation shows its label (`customer` → the customer's e-mail) through an aliased outer join,
    so it cannot clash with a join the sort made. With `pks`, only those rows (still in list order).
    """
    params = view.list_params(request)
    if pks is None:
        stmt, _ = view.filtered_query(request, params)
    else:
        stmt = view.list_query(request).where(view.pk_columns[0].in_(pks))
    stmt = view.ordered(stmt, params)
    columns: list[ExportColumn] = []
    joins: list[tuple[Any, Any]] = []
    for name in view._list_prop_names:
        if name in view._listed_hybrids:
            expression = _deep_deannotate(view._listed_hybrids[name])  # plain SQL, so `decorrelate` can rewrite it
        else:
            target = resolve(view.model, name)
            if isinstance(target, tuple):
                relation, attribute = target
                other = aliased(relation.property.mapper.class_)
                joins.append((other, relation.of_type(other)))
                expression = getattr(other, attribute.key)
            else:
                expression = target
        columns.append(ExportColumn(name, expression, _kind(expression)))
    stmt = stmt.with_only_columns(*(c.expression.label(f"c{i}") for i, c in enumerate(columns)), maintain_column_froms=True)
    for other, onclause in joins:
        stmt = stmt.outerjoin(other, onclause)
    return stmt, columns


# -- aggregates of child rows: one grouped join instead of a subquery per row ---------------------

AGGREGATES = frozenset({"sum", "count", "avg", "min", "max", "bool_and", "bool_or"})


def _aggregate_of_children(element: Any, table: Any) -> tuple[Any, Any, Any, ColumnElement[Any]] | None:
    """(child table, child's key, our key, the aggregate column) when `element` is a scalar subquery
    `(SELECT agg(...) FROM child WHERE child.fk = table.pk)`, as hybrids such as `Order.total` are."""
    if not isinstance(element, ScalarSelect):
        return None
    inner = element.element
    if not isinstance(inner, Select) or inner._limit_clause is not None or inner._group_by_clauses:
        return None
    froms = [f for f in inner.get_final_froms() if f is not table]  # `table` is correlated: the outer row
    columns = list(inner.selected_columns)
    where = inner.whereclause
    if len(froms) != 1 or not isinstance(froms[0], Table) or len(columns) != 1:
        return None
    child = froms[0]
    if not isinstance(where, BinaryExpression) or where.operator is not operators.eq:
        return None
    if not all(isinstance(side, Column) for side in (where.left, where.right)):
        return None
    sides = {where.left.table: where.left, where.right.table: where.right}
    if set(sides) != {child, table} or not sides[table].primary_key:
        return None
    column = columns[0]
    names = {f.name.lower() for f in iterate(column) if isinstance(f, FunctionElement)}
    if not names & AGGREGATES:
        return None
    return child, sides[child], sides[table], column


def decorrelate(stmt: Select, model: type) -> Select:
    """The same rows and values, with the selected columns' per-row aggregate subqueries over child
    rows (`Order.total`, `Order.item_count`) computed by one GROUP BY per child table, joined once.

    For a page of 50 rows the subqueries are cheapest; for a million rows they are a million index
    look-ups each. A row without children gets what the subquery gives over no rows
    (`coalesce(sum(…), 0)` → 0), computed once. WHERE and ORDER BY are left as they are.
    """
    table = model.__table__
    columns = [_deep_deannotate(c) for c in stmt.selected_columns]
    groups: dict[tuple[Any, Any, Any], dict[str, ColumnElement[Any]]] = {}  # aggregates by their SQL
    for element in (e for column in columns for e in iterate(column)):
        found = _aggregate_of_children(element, table)
        if found is not None:
            *group, column = found
            groups.setdefault(tuple(group), {}).setdefault(_sql_of(column), column)
    if not groups:
        return stmt
    grouped: dict[tuple[Any, Any, Any], Any] = {}
    for group, aggregates in groups.items():
        _, child_key, _ = group
        labelled = [column.label(f"v{i}") for i, column in enumerate(aggregates.values())]
        grouped[group] = select(child_key.label("k"), *labelled).group_by(child_key).subquery()

    def replace(element: Any) -> Any:
        found = _aggregate_of_children(element, table)
        if found is None:
            return None
        *group, column = found
        position = list(groups[tuple(group)]).index(_sql_of(column))
        empty = select(column).where(false()).scalar_subquery()  # what the subquery gives over no rows
        return func.coalesce(grouped[tuple(group)].c[f"v{position}"], empty)

    stmt = stmt.with_only_columns(*(replacement_traverse(c, {}, replace) for c in columns), maintain_column_froms=True)
    for (_, _, our_key), subquery in grouped.items():
        stmt = stmt.outerjoin(subquery, subquery.c.k == our_key)
    return stmt


def _sql_of(column: ColumnElement[Any]) -> str:
    return str(column.compile(compile_kwargs={"literal_binds": True}))


# -- one cell, the same in every format -----------------------------------------------------------


def timestamp_text(value: datetime) -> str:
    """As PostgreSQL writes a timestamp in UTC (ISO DateStyle): `2025-03-01 12:00:00.5+00`."""
    aware = value.tzinfo is not None
    if aware:
        value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "+00" if aware else text


def cell_text(value: Any) -> str:
    """A value as CSV/XLSX text: NULL empty, exact decimals, UTC times, formulas neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, str):
        return neutralise_formula(value)
    return _exact_text(value)


def _exact_text(value: Any) -> str:
    """Decimals as their digits, times in UTC, dates in ISO form: the same in every format."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return timestamp_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def json_value(value: Any) -> Any:
    """JSON keeps numbers exact as strings of their digits, times as in CSV, and text as it is."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, enum.Enum):
        return json_value(value.value)
    if isinstance(value, (dict, list)):
        return value
    return _exact_text(value)


def _neutralised_sql(expression: ColumnElement[Any]) -> ColumnElement[Any]:
    """`neutralise_formula` in SQL: a leading ' on text a spreadsheet would read as a formula."""
    starts = sorted(FORMULA_STARTS)
    first = func.left(expression, 1)
    after_space = func.left(func.ltrim(expression, literal(LEADING_SPACE)), 1)
    risky = or_(first.in_(starts), after_space.in_(starts))
    return case((risky, literal("'") + expression), else_=expression)


def _csv_sql(column: ExportColumn) -> ColumnElement[Any]:
    """The column as the CSV cell `cell_text` would write (the COPY runs with TimeZone UTC)."""
    expression = column.expression
    if column.kind == "text":
        return _neutralised_sql(expression)
    if column.kind == "bool":
        return case((expression.is_(True), literal("true")), (expression.is_(False), literal("false")))
    return expression


# -- streaming ------------------------------------------------------------------------------------


class _QueueWriter:
    """File-like target of COPY: gathers rows into chunks and hands them over through a bounded queue."""

    def __init__(self, chunks: queue.Queue, cancelled: threading.Event) -> None:
        self._chunks = chunks
        self._cancelled = cancelled
        self._parts: list[bytes] = []
        self._size = 0
        self.rows = 0  # COPY writes one row per call

    def write(self, data: bytes) -> None:
        self.rows += 1
        self._parts.append(data)
        self._size += len(data)
        if self._size >= CHUNK_BYTES:
            self.flush()

    def flush(self) -> None:
        if self._parts:
            chunk = b"".join(self._parts)
            self._parts, self._size = [], 0
            self.put(chunk)

    def put(self, item: Any) -> None:
        while True:
            if self._cancelled.is_set():
                raise ExportCancelled
            try:
                self._chunks.put(item, timeout=0.5)
                return
            except queue.Full:
                continue


def csv_header(columns: list[ExportColumn]) -> bytes:
    return (",".join(_csv_quote(neutralise_formula(c.name)) for c in columns) + "\n").encode()


def _csv_quote(text: str) -> str:
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text


def copy_sql(cursor: Any, stmt: Select, columns: list[ExportColumn], dialect: Any, model: type) -> bytes:
    """`COPY (query) TO STDOUT` with the query's bound parameters quoted by psycopg2 (mogrify)."""
    cells = [_csv_sql(c).label(f"c{i}") for i, c in enumerate(columns)]
    query = decorrelate(stmt.with_only_columns(*cells, maintain_column_froms=True), model)
    compiled = query.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    return cursor.mogrify(f"COPY ({compiled.string}) TO STDOUT WITH (FORMAT csv)", compiled.params)


def _run_copy(session_maker, stmt: Select, columns: list[ExportColumn], writer: _QueueWriter, model: type) -> int:
    with session_maker() as session:
        connection = session.connection()
        dialect = connection.dialect
        raw = connection.connection.dbapi_connection
        try:
            with raw.cursor() as cursor:
                cursor.execute(EXPORT_SETTINGS)
                cursor.copy_expert(copy_sql(cursor, stmt, columns, dialect, model), writer)
                rows = cursor.rowcount
            writer.flush()
            session.rollback()  # read only; ends the transaction
            return rows
        except BaseException:
            connection.invalidate()  # a COPY cut short leaves the connection unusable
            raise


def stream_csv(
    session_maker, stmt: Select, columns: list[ExportColumn], model: type, done: Callable[[int, bool], None]
) -> AsyncIterator[bytes]:
    """The CSV body: a COPY in a worker thread, chunks handed over through a bounded queue."""
    chunks: queue.Queue = queue.Queue(maxsize=QUEUE_CHUNKS)
    cancelled = threading.Event()
    writer = _QueueWriter(chunks, cancelled)
    def produce() -> None:
        rows, completed, failure = 0, False, None
        try:
            rows = _run_copy(session_maker, stmt, columns, writer, model)
            completed = True
        except ExportCancelled:
            rows = writer.rows
        except BaseException as error:
            log.exception("CSV export failed")
            rows, failure = writer.rows, error
        done(rows, completed)  # audited before the response ends
        try:
            writer.put(failure or _DONE)
        except ExportCancelled:
            pass

    async def body() -> AsyncIterator[bytes]:
        thread = threading.Thread(target=produce, name="csv-export", daemon=True)
        thread.start()
        try:
            yield csv_header(columns)
            while True:
                item = await anyio.to_thread.run_sync(_take, chunks, cancelled)
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise RuntimeError("the export stopped on a database error") from item
                yield item
        finally:
            cancelled.set()

    return body()


def _take(chunks: queue.Queue, cancelled: threading.Event) -> Any:
    while True:
        try:
            return chunks.get(timeout=0.5)
        except queue.Empty:
            if cancelled.is_set():
                return _DONE


def _stream_rows(session_maker, stmt: Select) -> Iterator[tuple]:
    """Rows from a server-side cursor, FETCH_ROWS at a time."""
    with session_maker() as session:
        session.execute(sql_text(EXPORT_SETTINGS))
        result = session.execute(stmt.execution_options(yield_per=FETCH_ROWS))
        for partition in result.partitions():
            yield from partition


def json_chunks(session_maker, stmt: Select, columns: list[ExportColumn], done: Callable[[int, bool], None]) -> Iterator[bytes]:
    """A JSON array of objects keyed by column name; blocking, so Starlette runs it in a thread."""
    names = [c.name for c in columns]
    rows, completed = 0, False
    try:
        parts: list[str] = ["["]
        size = 0
        for row in _stream_rows(session_maker, stmt):
            text = ("\n" if rows == 0 else ",\n") + json.dumps(
                {name: json_value(value) for name, value in zip(names, row)}, ensure_ascii=False
            )
            rows += 1
            parts.append(text)
            size += len(text)
            if size >= CHUNK_BYTES:
                yield "".join(parts).encode()
                parts, size = [], 0
        parts.append("\n]\n")
        yield "".join(parts).encode()
        completed = True
    finally:
        done(rows, completed)


def write_xlsx(path: str, session_maker, stmt: Select, columns: list[ExportColumn]) -> int:
    """Write the rows to an .xlsx file with XlsxWriter's constant memory mode; return the row count."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False,
                                          "strings_to_urls": False, "strings_to_numbers": False})
    money = workbook.add_format({"num_format": "0.00"})
    rows = 0
    sheet, line = None, XLSX_MAX_ROWS
    try:
        for row in _stream_rows(session_maker, stmt):
            if line >= XLSX_MAX_ROWS:  # a sheet is full: go on in the next one, header again
                sheet = workbook.add_worksheet()
                for col, column in enumerate(columns):
                    sheet.write_string(0, col, neutralise_formula(column.name))
                line = 1
            for col, (column, value) in enumerate(zip(columns, row)):
                if value is None:
                    continue
                if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
                    # Decimal digits are written as they are (XlsxWriter formats with .16G, exact here).
                    sheet.write_number(line, col, value, money if isinstance(value, Decimal) else None)
                elif isinstance(value, bool):
                    sheet.write_boolean(line, col, value)
                else:
                    sheet.write_string(line, col, cell_text(value))
            line += 1
            rows += 1
        if sheet is None:
            sheet = workbook.add_worksheet()
            for col, column in enumerate(columns):
                sheet.write_string(0, col, neutralise_formula(column.name))
    finally:
        workbook.close()
    return rows


def file_chunks(path: str) -> Iterator[bytes]:
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                yield chunk
    finally:
        os.unlink(path)


# -- the routes -----------------------------------------------------------------------------------


def describe_request(request: Request, pks: list[Any] | None) -> dict[str, Any]:
    """What the audit keeps: the list's query (search, filters, sort) and the selected keys."""
    query = {key: request.query_params.getlist(key) for key in request.query_params if key not in ("page", "pageSize")}
    described: dict[str, Any] = {"query": {k: v[0] if len(v) == 1 else v for k, v in query.items()}}
    if pks is not None:
        described["selected"] = [str(pk) for pk in pks][:1000]
    return described


async def export_response(view: Any, request: Request, export_type: str, pks: list[Any] | None = None) -> Response:
    stmt, columns = export_statement(view, request, pks)
    rows_stmt = decorrelate(stmt, view.model)  # JSON and XLSX read the values themselves
    session_maker = view.session_maker
    details = {"format": export_type, **describe_request(request, pks)}
    started = time.monotonic()

    def done(rows: int, completed: bool) -> None:
        changes = {**details, "rows": rows, "completed": completed, "seconds": round(time.monotonic() - started, 2)}
        try:
            audit.record_event(session_maker, request, audit.EXPORT, view.identity, None, changes)
        except Exception:
            log.exception("could not audit an export of %s", view.identity)

    filename = secure_filename(view.get_export_name(export_type=export_type))
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    media_type = MEDIA_TYPES[export_type]
    if export_type == "csv":
        return StreamingResponse(
            stream_csv(session_maker, stmt, columns, view.model, done), media_type=media_type, headers=headers
        )
    if export_type == "json":
        return StreamingResponse(json_chunks(session_maker, rows_stmt, columns, done), media_type=media_type, headers=headers)
    if export_type == "xlsx":
        handle, path = tempfile.mkstemp(prefix="admin-export-", suffix=".xlsx")
        os.close(handle)
        rows, completed = 0, False
        try:
            rows = await anyio.to_thread.run_sync(write_xlsx, path, session_maker, rows_stmt, columns)
            completed = True
        except BaseException:
            os.unlink(path)
            raise
        finally:
            await anyio.to_thread.run_sync(done, rows, completed)
        headers["Content-Length"] = str(os.path.getsize(path))
        return StreamingResponse(file_chunks(path), media_type=media_type, headers=headers)
    raise HTTPException(status_code=404)


def parse_pks(view: Any, raw_values: list[str]) -> list[Any]:
    """Selected primary keys from the form: valid keys of the view's type, or a 400."""
    pk_type = view.pk_columns[0].type.python_type
    values: list[Any] = []
    for raw in raw_values:
        for part in raw.split(","):
            part = part.strip()
            if not part:
                continue
            try:
                value = pk_type(part)
            except (TypeError, ValueError):
                raise HTTPException(status_code=400, detail="Unknown row selected") from None
            if isinstance(value, int) and not -(2**31) <= value < 2**31:
                raise HTTPException(status_code=400, detail="Unknown row selected")
            values.append(value)
    if not values or len(values) > MAX_SELECTED:
        raise HTTPException(status_code=400, detail=f"Select between 1 and {MAX_SELECTED:,} rows to export")
    return list(dict.fromkeys(values))


class ExportRoutes:
    def __init__(self, admin) -> None:
        self._admin_ref = admin  # what sqladmin's login_required looks for

    @login_required
    async def export(self, request: Request) -> Response:
        """GET /{identity}/export/{type}: every row the list (with this query string) shows."""
        await self._admin_ref._export(request)  # can_export, the role's export permission, a known type
        view = self._admin_ref._find_model_view(request.path_params["identity"])
        return await export_response(view, request, request.path_params["export_type"])

    @login_required
    async def export_selected(self, request: Request) -> Response:
        """POST /{identity}/export-selected/{type} with `pks`: those rows, in the list's order."""
        await self._admin_ref._export(request)
        view = self._admin_ref._find_model_view(request.path_params["identity"])
        form = await request.form()
        pks = parse_pks(view, [v for v in form.getlist("pks") if isinstance(v, str)])
        return await export_response(view, request, request.path_params["export_type"], pks)


def install(admin) -> None:
    """Replace SQLAdmin's export route (which loads every row into memory) and add export-selected."""
    routes = ExportRoutes(admin)
    router = admin.admin.router
    router.routes = [
        Route("/{identity}/export/{export_type}", routes.export, name="export")
        if getattr(route, "name", None) == "export"
        else route
        for route in router.routes
    ]
    router.routes.append(
        Route("/{identity}/export-selected/{export_type}", routes.export_selected, name="export_selected",
              methods=["POST"])
    )
