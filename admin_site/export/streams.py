"""Export bodies streamed with flat memory: CSV from PostgreSQL's COPY through a small bounded queue,
JSON from a server-side cursor, XLSX written in constant-memory mode to a temporary file."""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

import anyio
from sqlalchemy import Row, Select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session, sessionmaker

from admin_site.export.cells import cell_text, csv_header, csv_sql, json_value
from admin_site.export.query import ExportColumn, decorrelate
from admin_site.export.spreadsheet_safety import neutralise_formula

if TYPE_CHECKING:
    from psycopg2.extensions import connection as PsycopgConnection

    from models.base import Base

log = logging.getLogger(__name__)

CHUNK_BYTES = 256 * 1024  # what the COPY thread hands over at a time
QUEUE_CHUNKS = 8  # at most this many chunks wait for a slow client: memory stays flat
FETCH_ROWS = 2_000  # server-side cursor batch (JSON, XLSX)
XLSX_MAX_ROWS = 1_048_576  # rows in one Excel sheet, header included
_DONE = object()

# For the export's own transaction: times in UTC as cell_text writes them, and room for the one big
# sort and GROUP BY of a whole-table export to stay in memory.
EXPORT_SETTINGS = "SET LOCAL TIME ZONE 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL work_mem = '256MB'"


class ExportCancelled(Exception):
    """The client went away: stop reading from the database."""


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


def copy_sql(cursor: Any, stmt: Select, columns: list[ExportColumn], dialect: Any, model: type[Base]) -> bytes:
    """`COPY (query) TO STDOUT` with the query's bound parameters quoted by psycopg2 (mogrify)."""
    cells = [csv_sql(c).label(f"c{i}") for i, c in enumerate(columns)]
    query = decorrelate(stmt.with_only_columns(*cells, maintain_column_froms=True), model)
    compiled = query.compile(dialect=dialect, compile_kwargs={"render_postcompile": True})
    return cursor.mogrify(f"COPY ({compiled.string}) TO STDOUT WITH (FORMAT csv)", compiled.params)


def _run_copy(
    session_maker: sessionmaker[Session],
    stmt: Select,
    columns: list[ExportColumn],
    writer: _QueueWriter,
    model: type[Base],
) -> int:
    with session_maker() as session:
        connection = session.connection()
        dialect = connection.dialect
        raw = cast("PsycopgConnection", connection.connection.dbapi_connection)  # COPY is psycopg2's own API
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
    session_maker: sessionmaker[Session],
    stmt: Select,
    columns: list[ExportColumn],
    model: type[Base],
    done: Callable[[int, bool], None],
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
        with contextlib.suppress(ExportCancelled):
            writer.put(failure or _DONE)

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


def _stream_rows(session_maker: sessionmaker[Session], stmt: Select) -> Iterator[Row[Any]]:
    """Rows from a server-side cursor, FETCH_ROWS at a time."""
    with session_maker() as session:
        session.execute(sql_text(EXPORT_SETTINGS))
        result = session.execute(stmt.execution_options(yield_per=FETCH_ROWS))
        for partition in result.partitions():
            yield from partition


def json_chunks(
    session_maker: sessionmaker[Session], stmt: Select, columns: list[ExportColumn], done: Callable[[int, bool], None]
) -> Iterator[bytes]:
    """A JSON array of objects keyed by column name; blocking, so Starlette runs it in a thread."""
    names = [c.name for c in columns]
    rows, completed = 0, False
    try:
        parts: list[str] = ["["]
        size = 0
        for row in _stream_rows(session_maker, stmt):
            text = ("\n" if rows == 0 else ",\n") + json.dumps(
                {name: json_value(value) for name, value in zip(names, row, strict=True)}, ensure_ascii=False
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


def write_xlsx(path: str, session_maker: sessionmaker[Session], stmt: Select, columns: list[ExportColumn]) -> int:
    """Write the rows to an .xlsx file with XlsxWriter's constant memory mode; return the row count."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        path,
        {"constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False},
    )
    money = workbook.add_format({"num_format": "0.00"})
    rows = 0
    sheet: Any = None  # a Worksheet (XlsxWriter has no types), made for the first row
    line = XLSX_MAX_ROWS
    try:
        for row in _stream_rows(session_maker, stmt):
            if line >= XLSX_MAX_ROWS:  # a sheet is full: go on in the next one, header again
                sheet = workbook.add_worksheet()
                for col, column in enumerate(columns):
                    sheet.write_string(0, col, neutralise_formula(column.name))
                line = 1
            for col, value in enumerate(row):
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
