"""How an export ends when it cannot finish, and what its audit row says.

An export ends one of four ways, and its audit row (`changes.outcome`) and the exports metric say which:
`completed`; `cancelled` (the client went away); `interrupted` (the process is stopping: after the grace
period `stop_all` tells every export to stop and the database connections are cut); `failed` (the
database went away or timed out). A body that cannot complete is aborted (`ExportAborted`: the server
closes the connection, so the client sees a cut download, never a clean-looking end). Its audit row is
written when the database is back if need be (`audit/deferred.py`).

Kept apart from the bodies (`streams.py`), which only call `check()` between batches, register their
cancel event (`cancel_event()`), and hand their error to `done`.
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import AsyncIterable, AsyncIterator, Callable
from typing import Any

from admin_site.telemetry import metrics

COMPLETED, CANCELLED, INTERRUPTED, FAILED = "completed", "cancelled", "interrupted", "failed"

STOPPING = threading.Event()  # set once, when the process stops exporting (ops/lifecycle.py)
_cancel_events: weakref.WeakSet[threading.Event] = weakref.WeakSet()


class _Pending:
    """How many begun exports have not yet handed over their audit row (`settle` waits for none)."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.count = 0

    def add(self, n: int) -> None:
        with self.changed:
            self.count += n
            self.changed.notify_all()


_pending = _Pending()


class ExportInterrupted(Exception):
    """The process is stopping: the export stops where it is."""


class ExportAborted(Exception):
    """The body cannot be completed: the response is cut (telemetry/request_log.py), not ended cleanly."""


def check() -> None:
    """Between two batches of rows: stop here if the process is stopping."""
    if STOPPING.is_set():
        raise ExportInterrupted("the server is stopping")


def cancel_event() -> threading.Event:
    """A body's own cancel flag, also set by `stop_all`."""
    event = threading.Event()
    _cancel_events.add(event)
    if STOPPING.is_set():
        event.set()
    return event


def stop_all() -> None:
    """Every export, running or about to start, stops at its next batch (or at once, if it waits on the database:
    the caller also cuts the database connections)."""
    STOPPING.set()
    for event in list(_cancel_events):
        event.set()


def outcome(completed: bool, error: BaseException | None) -> str:
    if completed:
        return COMPLETED
    if STOPPING.is_set() or isinstance(error, ExportInterrupted):
        return INTERRUPTED
    return CANCELLED if error is None else FAILED  # failed: the database went away, or a bug


class ExportRun:
    """One export: counted while it runs, audited exactly once with its outcome."""

    def __init__(self, export_format: str, audit: Callable[[dict[str, Any]], None]) -> None:
        self.format = export_format
        self._audit = audit
        self._started = time.monotonic()
        self._begun = self._ended = self._audited = False

    def begin(self) -> None:
        """The work starts: a running export, whose audit row `settle` waits for."""
        if self._begun:
            return
        self._begun = True
        metrics.EXPORTS_RUNNING.inc()
        _pending.add(1)

    def end(self) -> None:
        """Nothing more is sent (its audit may still be on its way)."""
        if self._begun and not self._ended:
            self._ended = True
            metrics.EXPORTS_RUNNING.dec()

    def done(self, rows: int, completed: bool, error: BaseException | None = None) -> None:
        """The body's last word (on its own thread): audit once, whatever else happens."""
        if self._audited:
            return
        self._audited = True
        result = outcome(completed, error)
        metrics.EXPORTS.labels(self.format, result).inc()
        try:
            seconds = round(time.monotonic() - self._started, 2)
            self._audit({"rows": rows, "completed": completed, "outcome": result, "seconds": seconds})
        finally:
            if self._begun:
                _pending.add(-1)

    async def streamed(self, body: AsyncIterable[bytes]) -> AsyncIterator[bytes]:
        """`body`, counted as a running export while it streams (never begun if the client left first)."""
        self.begin()
        try:
            async for chunk in body:
                yield chunk
        finally:
            self.end()


def settle(timeout: float) -> bool:
    """Wait (at shutdown) until every export has handed over its audit row; False if some had not in time."""
    deadline = time.monotonic() + timeout
    with _pending.changed:
        while _pending.count > 0:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            _pending.changed.wait(left)
    return True
