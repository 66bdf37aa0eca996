"""The engines the app uses: the pages' pool, bounded in time whatever the database does, and the health
probe's own connection.

A page's connection has a connect timeout, a statement timeout the server enforces, TCP keepalives and a
TCP user timeout (a host that vanished), a short wait for a free connection, and a lease that this process
enforces itself (`db/deadline.py`: a frozen server enforces nothing). Before a pooled connection is handed
out it is pinged within the connect timeout, so a connection to a server that restarted or froze is replaced
instead of failing the page. Exports ask for their own, longer, statement timeout and lease (`for_export`).
"""

from __future__ import annotations

import time
import weakref
from dataclasses import dataclass
from typing import Any

from sqlalchemy import URL, Connection, Engine, create_engine, event, exc, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import ConnectionPoolEntry, NullPool, QueuePool

from admin_site.db.deadline import WATCHDOG
from admin_site.db.outage import OUTAGE, unavailability
from admin_site.settings import Settings
from admin_site.telemetry import metrics
from admin_site.telemetry.context import CURRENT

LIBPQ_MIN_CONNECT_TIMEOUT = 2  # libpq reads 1 as 2
JUST_CONNECTED = "admin_site_just_connected"  # a connection's info: made for this checkout, no ping needed
STATEMENT_STARTED = "admin_site_statement_started"


@dataclass(frozen=True)
class Limits:
    """How long one engine's connections may take, in seconds (0: no limit)."""

    name: str  # the pool's label in the metrics
    connect_timeout: float
    statement_timeout: float
    pool_timeout: float = 30.0

    @property
    def lease(self) -> float:
        """How long a connection may stay checked out: the statement timeout and a margin for the rest."""
        return self.statement_timeout + min(5.0, self.statement_timeout) if self.statement_timeout else 0.0

    @classmethod
    def for_pages(cls, settings: Settings) -> Limits:
        ops = settings.operations
        return cls("pages", ops.db_connect_timeout, ops.db_statement_timeout, ops.db_pool_timeout)

    @classmethod
    def for_exports(cls, settings: Settings) -> Limits:
        ops = settings.operations
        return cls("pages", ops.db_connect_timeout, ops.export_statement_timeout)

    @classmethod
    def for_health(cls, settings: Settings) -> Limits:
        ops = settings.operations
        return cls("health", ops.health_timeout, ops.health_timeout)


_EXPORT_LIMITS: weakref.WeakKeyDictionary[Engine, Limits] = weakref.WeakKeyDictionary()


class CountingQueuePool(QueuePool):
    """A QueuePool that shows how many threads are waiting for one of its connections (a metric)."""

    metric_name = "pages"
    _sqla_logger_namespace = "sqlalchemy.pool.impl.QueuePool"  # its log lines are SQLAlchemy's (WARNING and up)

    def _do_get(self) -> ConnectionPoolEntry:
        waiting = metrics.POOL_WAITING.labels(self.metric_name)
        waiting.inc()
        try:
            return super()._do_get()
        finally:
            waiting.dec()


def connect_args(limits: Limits) -> dict[str, Any]:
    """libpq's connection parameters for `limits` (keepalives and the user timeout apply to TCP only)."""
    args: dict[str, Any] = {
        "application_name": "admin-site",
        "connect_timeout": max(LIBPQ_MIN_CONNECT_TIMEOUT, round(limits.connect_timeout)),
    }
    if limits.statement_timeout:
        args["options"] = f"-c statement_timeout={round(limits.statement_timeout * 1000)}"
        args.update(keepalives=1, keepalives_idle=5, keepalives_interval=2, keepalives_count=3)
        args["tcp_user_timeout"] = round(limits.lease * 1000)
    return args


def make_engine(url: str | URL, settings: Settings, *, bounded: bool = True) -> Engine:
    """The pages' pooled engine. `bounded=False` (seeding, the CLI's one-off work): no timeouts at all."""
    options: dict[str, Any] = {
        "pool_use_lifo": True,  # the most recently used connection first: a warm server process, spare ones idle out
        "pool_size": settings.db_pool_size,
        "max_overflow": settings.db_max_overflow,
        "pool_recycle": 1800,
        "hide_parameters": True,  # bound values (password hashes, personal data) stay out of errors and logs
    }
    if not bounded:
        return create_engine(url, pool_pre_ping=True, connect_args={"application_name": "admin-site"}, **options)
    limits = Limits.for_pages(settings)
    engine = create_engine(
        url, poolclass=CountingQueuePool, pool_timeout=limits.pool_timeout, connect_args=connect_args(limits), **options
    )
    watch(engine, limits)
    _EXPORT_LIMITS[engine] = Limits.for_exports(settings)
    return engine


def make_health_engine(url: str | URL, settings: Settings) -> Engine:
    """The health probe's engine: a new connection per probe (never the pages' pool), its own short limits."""
    limits = Limits.for_health(settings)
    engine = create_engine(url, poolclass=NullPool, connect_args=connect_args(limits), hide_parameters=True)
    watch(engine, limits)
    return engine


def watch(engine: Engine, limits: Limits) -> None:
    """Lease every checkout of `engine` (db/deadline.py), ping reused connections first, time statements."""

    @event.listens_for(engine, "connect")
    def connected(dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info[JUST_CONNECTED] = True

    @event.listens_for(engine, "checkout")
    def checked_out(dbapi_connection: Any, record: ConnectionPoolEntry, proxy: Any) -> None:
        if not record.info.pop(JUST_CONNECTED, False):
            WATCHDOG.arm(dbapi_connection, limits.connect_timeout, limits.name)
            try:
                engine.dialect.do_ping(dbapi_connection)
            except Exception as error:  # raising DisconnectionError makes the pool connect afresh
                WATCHDOG.disarm(dbapi_connection)
                raise exc.DisconnectionError("the pooled connection did not answer") from error
        WATCHDOG.arm(dbapi_connection, limits.lease, limits.name)
        OUTAGE.answered()

    def returned(dbapi_connection: Any, *args: Any) -> None:
        WATCHDOG.disarm(dbapi_connection)

    for name in ("checkin", "invalidate", "soft_invalidate", "close", "detach"):
        event.listen(engine, name, returned)
    _time_statements(engine)


def _time_statements(engine: Engine) -> None:
    """Add each statement's time to the request it serves (its log line's `db_ms`)."""

    @event.listens_for(engine, "before_cursor_execute")
    def started(conn: Connection, *args: Any) -> None:
        conn.info[STATEMENT_STARTED] = time.perf_counter()

    def ended(conn: Connection | None) -> None:
        trace = CURRENT.get()
        began = conn.info.pop(STATEMENT_STARTED, None) if conn is not None else None
        if trace is not None and began is not None:
            trace.add_db_time(time.perf_counter() - began)

    event.listen(engine, "after_cursor_execute", lambda conn, *args: ended(conn))
    event.listen(engine, "handle_error", lambda context: ended(context.connection))


def for_export(connection: Connection) -> None:
    """This transaction writes an export: the export's statement timeout and lease instead of a page's."""
    limits = _EXPORT_LIMITS.get(connection.engine)
    if limits is None:
        return
    connection.exec_driver_sql(f"SET LOCAL statement_timeout = {round(limits.statement_timeout * 1000)}")
    WATCHDOG.arm(connection.connection.dbapi_connection, limits.lease, limits.name)


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def database_answers(engine: Engine) -> bool:
    """True when the database answers a trivial query (used by /healthz, with its own engine)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception as error:
        found = unavailability(error)
        if found is not None:
            OUTAGE.failed(found)
        return False


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL when set; otherwise start the embedded server and use its database."""
    if settings.database_url:
        return settings.database_url
    from admin_site.db.embedded import EmbeddedPostgres

    return EmbeddedPostgres(settings.pgdata).start()
