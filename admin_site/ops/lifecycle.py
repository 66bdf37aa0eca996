"""The serving process's life: what it does when told to stop, and its last words (an ASGI lifespan wrapper).

On SIGTERM (or Ctrl-C) uvicorn stops accepting connections and lets the requests in progress finish. After
SHUTDOWN_GRACE seconds, exports still running are stopped (their downloads cut, never ended cleanly; their
audit rows say "interrupted") and every database connection still held is cut, so whatever waits on the
database ends too; uvicorn's own limit, a moment later, cancels anything left. A second SIGTERM or Ctrl-C
does all that at once and tells uvicorn not to wait.

Then, as the process ends: wait briefly for the stopped exports' audit rows, write the audit rows kept
during an outage (or log them, if the database is still away), close the database pools, and drop this
worker's live gauges (several workers).
"""

from __future__ import annotations

import functools
import logging
import multiprocessing.util
import os
import signal
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import anyio
from sqlalchemy import Engine
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from admin_site.audit.deferred import DEFERRED
from admin_site.db.deadline import WATCHDOG
from admin_site.export import interruption
from admin_site.ops import tempfiles
from admin_site.telemetry import metrics

log = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)
AUDIT_SETTLE_SECONDS = 3.0  # how long the end waits for stopped exports to hand over their audit rows
SignalHandler = Callable[[int, FrameType | None], Any] | int | None


class ProcessLifecycle:
    def __init__(self, app: ASGIApp, grace: float, engines: list[Engine]) -> None:
        self.app = app
        self.grace = grace
        self.engines = engines
        self._stop_requested = False
        self._timer: threading.Timer | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return

        async def watched_receive() -> Message:
            message = await receive()
            if message["type"] == "lifespan.startup":
                self._install_signal_handlers()
                # However the process ends (a worker too: multiprocessing's hook), no kept audit row vanishes silently.
                multiprocessing.util.Finalize(None, DEFERRED.give_up, exitpriority=10)
            elif message["type"] == "lifespan.shutdown":
                await anyio.to_thread.run_sync(self._finish)
            return message

        await self.app(scope, watched_receive, send)

    def _install_signal_handlers(self) -> None:
        """On top of uvicorn's (installed before the app starts), which are called in turn."""
        if threading.current_thread() is not threading.main_thread():
            return  # served from a thread (the tests' live server): signals are not ours to take
        for number in STOP_SIGNALS:
            signal.signal(number, functools.partial(self._on_signal, previous=signal.getsignal(number)))

    def _on_signal(self, sig: int, frame: FrameType | None, previous: SignalHandler) -> None:
        if not self._stop_requested:
            self._stop_requested = True
            log.info("stopping: requests in progress have %g s to finish", self.grace)
            self._timer = threading.Timer(self.grace, self.cut, kwargs={"why": "grace period over"})
            self._timer.daemon = True
            self._timer.start()
        else:
            self.cut(why="asked twice")
            server = getattr(previous, "__self__", None)  # uvicorn's Server: its handler is a bound method
            if server is not None and hasattr(server, "force_exit"):
                server.force_exit = True
        if callable(previous):
            previous(sig, frame)

    def cut(self, why: str) -> None:
        """Stop every export and cut every database connection still held."""
        interruption.stop_all()
        cut = WATCHDOG.cut_all()
        log.warning("stopping now (%s): exports stopped, %d database connections cut", why, cut)

    def _finish(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        if not interruption.settle(AUDIT_SETTLE_SECONDS):
            log.warning("some stopped exports did not hand over their audit rows in time")
        if DEFERRED.waiting and DEFERRED.flush():
            DEFERRED.give_up()
        for engine in self.engines:
            engine.dispose()
        metrics.worker_exited(os.getpid())
        tempfiles.remove_own_directory()
