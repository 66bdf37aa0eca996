"""When is the database unavailable, and saying so once: one log line when it goes away, one when it is back.

`unavailability(error)` tells a database that cannot be reached, stopped answering, was cut off by this
app's deadline (`db/deadline.py`), or ran out of time or connections, from every other database error (a
constraint, a bug in a query): the first kind is a 503 "try again in a moment", the second is not.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg2
from sqlalchemy import exc as sa_exc

from admin_site.telemetry import metrics

log = logging.getLogger("admin_site.database")

# SQLSTATEs of a server going away or refusing work for now (class 08 is every connection exception).
_UNAVAILABLE_CODES = {
    "57P01": "the database server is shutting down",
    "57P02": "the database server crashed",
    "57P03": "the database server is starting up",
    "53300": "the database has no connection free",
    "57014": "a statement ran out of time",
    "25P03": "a transaction was idle too long",
    "55P03": "a lock could not be had in time",
}


class DatabaseUnavailable(Exception):
    """The app's own code found the database unavailable (e.g. a probe that did not answer in time)."""


@dataclass(frozen=True)
class Unavailability:
    kind: str  # "connection", "timeout" or "pool": the label of the db errors metric
    reason: str  # one line, no SQL, no parameter


def _own(error: BaseException) -> Unavailability | None:
    if isinstance(error, DatabaseUnavailable):
        return Unavailability("connection", str(error) or "the database is unavailable")
    if isinstance(error, sa_exc.TimeoutError):
        return Unavailability("pool", "no database connection was free in time")
    if isinstance(error, sa_exc.DBAPIError):
        if error.orig is not None and (found := _own(error.orig)) is not None:
            return found
        return (
            Unavailability("connection", "the database connection was lost") if error.connection_invalidated else None
        )
    if not isinstance(error, psycopg2.Error):
        return None
    code = error.pgcode
    if code is None:  # raised by libpq itself: refused, closed, timed out while connecting
        if isinstance(error, (psycopg2.OperationalError, psycopg2.InterfaceError)):
            first = (str(error).strip().splitlines() or ["connection failed"])[0]
            kind = "timeout" if "timeout" in first else "connection"
            return Unavailability(kind, first[:200])
        return None
    if code.startswith("08"):
        return Unavailability("connection", "the database connection failed")
    if code in _UNAVAILABLE_CODES:
        return Unavailability("timeout" if code in ("57014", "55P03") else "connection", _UNAVAILABLE_CODES[code])
    return None


def unavailability(error: BaseException | None) -> Unavailability | None:
    """Why `error` (or an error it was raised from) means the database is unavailable, or None."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        found = _own(error)
        if found is not None:
            return found
        error = error.__cause__ or error.__context__
    return None


def is_unavailable(error: BaseException) -> bool:
    return unavailability(error) is not None


class OutageLog:
    """The process's view of the database: up, or down since when. Logs only the changes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._down_since: float | None = None

    def failed(self, found: Unavailability) -> None:
        metrics.DB_ERRORS.labels(found.kind).inc()
        with self._lock:
            if self._down_since is not None:
                return
            self._down_since = time.monotonic()
        log.error("database unavailable: %s", found.reason)

    def answered(self) -> None:
        if self._down_since is None:  # the common case: no lock taken
            return
        with self._lock:
            if self._down_since is None:
                return
            seconds, self._down_since = time.monotonic() - self._down_since, None
        log.warning("database answers again (unavailable for %.1f s)", seconds)


OUTAGE = OutageLog()


@contextmanager
def unavailable_as_such() -> Iterator[None]:
    """Whatever the block raises because the database is unavailable (even a refusal made of such an error)
    comes out as DatabaseUnavailable, so it is answered as an outage (503), never as the user's mistake."""
    try:
        yield
    except DatabaseUnavailable:
        raise
    except Exception as error:
        found = unavailability(error)
        if found is None:
            raise
        raise DatabaseUnavailable(found.reason) from error
