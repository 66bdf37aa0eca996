"""How the app is served: uvicorn with N worker processes, its limits, and the process settled for serving.

`serve` runs uvicorn on the app factory (`ops/asgi.py`), so each worker builds its own app, engine and pool.
With one worker uvicorn serves in this process; with more, uvicorn's supervisor starts them, shares the
listening socket between them and restarts one that dies; Prometheus metrics are then added up across
workers through a directory of files (prometheus_client's multiprocess mode, `telemetry/metrics.py`).

uvicorn's limits set here: idle keep-alive connections closed after HTTP_KEEPALIVE_TIMEOUT, request headers
due within HTTP_HEADER_TIMEOUT (`ops/http_protocol.py`), and SIGTERM answered within SHUTDOWN_GRACE plus a
moment (`ops/lifecycle.py`). X-Forwarded-For and -Proto are believed from FORWARDED_ALLOW_IPS only.
"""

from __future__ import annotations

import gc
import math
import os
import signal
import tempfile
from typing import Any

import uvicorn
from starlette.applications import Starlette
from uvicorn.supervisors import Multiprocess

from admin_site.settings import Settings
from admin_site.telemetry.metrics import MULTIPROCESS_DIR

YOUNG_OBJECTS_BEFORE_A_COLLECTION = 20_000  # CPython's default: 700
APP_FACTORY = "admin_site.ops.asgi:application"
HTTP_PROTOCOL = "admin_site.ops.http_protocol:HeaderTimeoutProtocol"
# uvicorn's own limit comes this long after the lifecycle's grace period: the exports the lifecycle stops
# then end their downloads (cut) and write their audit rows before uvicorn cancels what is left.
AFTER_GRACE = 3


def settle_for_serving() -> None:
    """Keep the garbage collector off the objects that live as long as the process.

    After start-up tens of thousands of objects are tracked (mappers, compiled templates and
    statements, views) and every full collection would walk them; frozen, they are never scanned
    again. A page allocates thousands of short-lived objects, so the young generation is collected
    less often than CPython's default.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(YOUNG_OBJECTS_BEFORE_A_COLLECTION, 10, 10)


def run(application: Starlette, *, host: str, port: int, **uvicorn_options: Any) -> None:
    """One app object in this process (the benchmark's comparison servers)."""
    settle_for_serving()
    uvicorn.run(application, host=host, port=port, **uvicorn_options)


def uvicorn_config(settings: Settings, host: str, port: int, workers: int) -> uvicorn.Config:
    operations = settings.operations
    return uvicorn.Config(
        APP_FACTORY,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=HTTP_PROTOCOL,
        proxy_headers=True,  # from FORWARDED_ALLOW_IPS only (uvicorn's default: 127.0.0.1)
        access_log=False,  # telemetry/request_log.py writes the one line per request
        log_config=None,  # telemetry/logs.py, set up in each worker by the app factory
        timeout_keep_alive=max(1, round(operations.http_keepalive_timeout)),
        timeout_graceful_shutdown=math.ceil(operations.shutdown_grace) + AFTER_GRACE,
    )


def serve(settings: Settings, database_url: str, *, host: str, port: int, workers: int) -> None:
    """Serve until stopped: in this process (one worker) or in `workers` processes."""
    os.environ["DATABASE_URL"] = database_url  # every worker uses this database (never an embedded one of its own)
    config = uvicorn_config(settings, host, port, workers)
    if workers == 1:
        uvicorn.Server(config).run()
        return
    if not os.environ.get(MULTIPROCESS_DIR):  # before the workers start: prometheus_client reads it at import
        os.environ[MULTIPROCESS_DIR] = tempfile.mkdtemp(prefix="metrics-")  # in this process's own temp dir
    Supervisor(config, sockets=[config.bind_socket()]).run()


class Supervisor(Multiprocess):
    """uvicorn's supervisor of worker processes. It passes one SIGTERM to the workers and waits for them; here
    a second SIGTERM or Ctrl-C while it waits is passed on as well, so the workers stop at once."""

    def join_all(self) -> None:
        for process in self.processes:
            while process.process.is_alive():
                process.process.join(0.2)
                if self.signal_queue:
                    self.signal_queue.clear()
                    for other in self.processes:
                        if other.process.is_alive() and other.pid is not None:
                            os.kill(other.pid, signal.SIGTERM)
