"""Export bodies streamed with flat memory: PostgreSQL's COPY (or rows read and encoded) in a worker thread,
handed over through a small bounded queue (`stream_through_queue`); the CSV's COPY; JSON from a server-side
cursor, for lists whose cells SQL cannot write as Python does (`sql_rows`)."""

from __future__ import annotations

import contextlib
import json
import logging
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import TYPE_CHECKING, Any, cast

import anyio
from sqlalchemy import Row, Select
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session, sessionmaker

from admin_site.db.engine import for_export
from admin_site.export import interruption
from admin_site.export.cells import csv_header, csv_sql, json_value
from admin_site.export.query import ExportColumn, decorrelate

if TYPE_CHECKING:
    from psycopg2.extensions import connection as PsycopgConnection

    from models.base import Base

log = logging.getLogger(__name__)

CHUNK_BYTES = 256 * 1024  # what the COPY thread hands over at a time
QUEUE_CHUNKS = 8  # at most this many chunks wait for a slow client: memory stays flat
FETCH_ROWS = 2_000  # server-side cursor batch (JSON, XLSX)
_DONE = object()
_STOPPED = object()  # the body was told to stop before the end (the process is stopping)

# For the export's own transaction: times in UTC as cell_text writes them, and room for a sort or GROUP BY
# of a whole table to stay in memory. No sort where an index gives the list's order: PostgreSQL then reads
# the rows in that order and the first ones leave at once, where sorting every row first (its cheapest plan
# for a whole table) would hold them back for seconds; where no index serves the order, it still sorts.
EXPORT_SETTINGS = (
    "SET LOCAL TIME ZONE 'UTC'; SET LOCAL DateStyle = 'ISO, YMD'; SET LOCAL work_mem = '256MB'; "
    "SET LOCAL enable_sort = off"
)


class ExportCancelled(Exception):
    """The client went away: stop reading from the database."""


class CopyWriter:
    """File-like target of COPY: gathers rows into chunks and hands them over through a bounded queue.
    A format's writer says how a chunk of rows is encoded (`encode`) and what follows the last (`finish`)."""

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
            self.put(self.encode(chunk))

    def encode(self, chunk: bytes) -> bytes:
        """Whole rows as COPY wrote them, as the body sends them (CSV: as they are)."""
        return chunk

    def finish(self) -> None:
        """After the last row."""
        self.flush()

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


def run_copy(session_maker: sessionmaker[Session], statement: Callable[[Any, Any], bytes], writer: CopyWriter) -> int:
    """Run the COPY that `statement(cursor, dialect)` writes into `writer`, in the export's own transaction."""
    with session_maker() as session:
        connection = session.connection()
        dialect = connection.dialect
        raw = cast("PsycopgConnection", connection.connection.dbapi_connection)  # COPY is psycopg2's own API
        try:
            for_export(connection)  # the export's own statement timeout and database deadline
            with raw.cursor() as cursor:
                cursor.execute(EXPORT_SETTINGS)
                cursor.copy_expert(statement(cursor, dialect), writer)
                rows = cursor.rowcount
            writer.finish()
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
    done: Callable[[int, bool, BaseException | None], None],
) -> AsyncIterator[bytes]:
    """The CSV body: a COPY in a worker thread, chunks handed over through a bounded queue."""

    def fill(writer: CopyWriter) -> int:
        return run_copy(session_maker, lambda cursor, dialect: copy_sql(cursor, stmt, columns, dialect, model), writer)

    return stream_through_queue(fill, CopyWriter, csv_header(columns), done, "csv")


def stream_through_queue(
    fill: Callable[[Any], int],
    writer_class: Callable[[queue.Queue, threading.Event], CopyWriter],
    head: bytes,
    done: Callable[[int, bool, BaseException | None], None],
    what: str,
) -> AsyncIterator[bytes]:
    """A body sent as it is made: `head` at once, then what `fill(writer)` writes, made in a worker thread
    (a COPY, or rows read and encoded) and handed over through a bounded queue, so memory stays flat."""
    chunks: queue.Queue = queue.Queue(maxsize=QUEUE_CHUNKS)
    cancelled = interruption.cancel_event()  # set when the client goes, or the process stops
    writer = writer_class(chunks, cancelled)

    def produce() -> None:
        rows, completed, failure = 0, False, None
        try:
            rows = fill(writer)
            completed = True
        except ExportCancelled:
            rows = writer.rows
        except BaseException as error:
            log.exception("%s export failed", what)
            rows, failure = writer.rows, error
        done(rows, completed, failure)  # audited before the response ends
        with contextlib.suppress(ExportCancelled):
            writer.put(failure or _DONE)

    async def body() -> AsyncIterator[bytes]:
        thread = threading.Thread(target=produce, name=f"{what}-export", daemon=True)
        thread.start()
        try:
            if head:
                yield head
            while True:
                item = await anyio.to_thread.run_sync(_take, chunks, cancelled)
                if item is _DONE:
                    return
                if item is _STOPPED:  # never a clean end: the client must see the download was cut
                    raise interruption.ExportAborted("the export was stopped")
                if isinstance(item, BaseException):
                    raise interruption.ExportAborted("the export stopped on a database error") from item
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
                return _STOPPED


def stream_rows(session_maker: sessionmaker[Session], stmt: Select) -> Iterator[Row[Any]]:
    """Rows from a server-side cursor, FETCH_ROWS at a time."""
    with session_maker() as session:
        session.execute(sql_text(EXPORT_SETTINGS))
        for_export(session.connection())  # the export's own statement timeout and database deadline
        result = session.execute(stmt.execution_options(yield_per=FETCH_ROWS))
        for partition in result.partitions():
            yield from partition


def json_chunks(
    session_maker: sessionmaker[Session],
    stmt: Select,
    columns: list[ExportColumn],
    done: Callable[[int, bool, BaseException | None], None],
) -> Iterator[bytes]:
    """A JSON array of objects keyed by column name; blocking, so Starlette runs it in a thread."""
    names = [c.name for c in columns]
    rows, completed, failure = 0, False, None
    try:
        parts: list[str] = ["["]
        size = 0
        for row in stream_rows(session_maker, stmt):
            text = ("\n" if rows == 0 else ",\n") + json.dumps(
                {name: json_value(value) for name, value in zip(names, row, strict=True)}, ensure_ascii=False
            )
            rows += 1
            parts.append(text)
            size += len(text)
            if size >= CHUNK_BYTES:
                interruption.check()
                yield "".join(parts).encode()
                parts, size = [], 0
        parts.append("\n]\n")
        yield "".join(parts).encode()
        completed = True
    except Exception as error:
        failure = error
        raise
    finally:
        done(rows, completed, failure)
