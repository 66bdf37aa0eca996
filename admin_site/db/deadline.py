"""A deadline on every database connection the app holds, kept by this process even when the server cannot.

PostgreSQL enforces `statement_timeout` itself, and TCP keepalives notice a host that is gone, but a server
that is frozen (SIGSTOP, a hung VM, a stuck disk) on a host whose kernel still answers does neither: a query
sent to it waits forever. So each connection checked out of a pool gets a lease (its engine's statement
timeout plus a margin); a watchdog thread shuts down the socket of a connection still checked out when its
lease runs out. The query blocked on it then fails at once as a lost connection, which SQLAlchemy
invalidates and the page answers as 503 (`db/outage.py`).

The lease covers everything done between checkout and checkin: statements, fetches from a server-side
cursor, COPY, commit, and the rollback the pool does on return. An export asks for a longer one
(`for_export`). At shutdown, `cut_all` ends whatever is still waiting on the database.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

from admin_site.telemetry import metrics

log = logging.getLogger(__name__)

MAX_SLEEP = 1.0  # the watchdog looks at least this often (a new, shorter lease wakes it at once anyway)


@dataclass
class Lease:
    connection: Any  # the DBAPI (psycopg2) connection
    deadline: float
    seconds: float
    pool: str


def _shut_down_socket(connection: Any) -> None:
    """Shut down the connection's socket (on a duplicate of its descriptor, so libpq still owns and closes it)."""
    try:
        fd = connection.fileno()
    except Exception:  # already closed
        return
    try:
        with socket.socket(fileno=os.dup(fd)) as sock:
            sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


class Watchdog:
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._leases: dict[int, Lease] = {}
        self._in_use: Counter[str] = Counter()
        self._thread: threading.Thread | None = None
        self._wakes_at = 0.0  # when the watchdog looks next, unless woken

    def arm(self, connection: Any, seconds: float, pool: str) -> None:
        """Give `connection` `seconds` from now (a second call replaces the first lease)."""
        with self._changed:
            key = id(connection)
            if key not in self._leases:
                self._in_use[pool] += 1
                metrics.POOL_IN_USE.labels(pool).set(self._in_use[pool])
            deadline = time.monotonic() + seconds
            self._leases[key] = Lease(connection, deadline, seconds, pool)
            self._ensure_running()
            if deadline < self._wakes_at:  # else it looks in time anyway: waking a thread per checkout costs the GIL
                self._changed.notify()

    def disarm(self, connection: Any) -> None:
        """The connection is back in its pool, or closed: no deadline any more. Idempotent."""
        with self._changed:
            lease = self._leases.pop(id(connection), None)
            if lease is not None:
                self._in_use[lease.pool] -= 1
                metrics.POOL_IN_USE.labels(lease.pool).set(self._in_use[lease.pool])

    def cut_all(self) -> int:
        """Cut every connection held now (the process is stopping); returns how many."""
        with self._changed:
            leases = list(self._leases.values())
            for lease in leases:
                lease.deadline = 0.0
                _shut_down_socket(lease.connection)
        return len(leases)

    def _ensure_running(self) -> None:
        if self._thread is None or not self._thread.is_alive():  # also after a fork: threads do not survive it
            self._thread = threading.Thread(target=self._watch, name="db-deadlines", daemon=True)
            self._thread.start()

    def _watch(self) -> None:
        while True:
            with self._changed:
                now = time.monotonic()
                for lease in self._leases.values():
                    if 0.0 < lease.deadline <= now:
                        lease.deadline = 0.0  # cut once; the lease goes when the pool takes the connection back
                        log.debug("database connection of pool %s held over %.1f s: cut", lease.pool, lease.seconds)
                        metrics.DB_ERRORS.labels("deadline").inc()
                        _shut_down_socket(lease.connection)
                pending = [lease.deadline for lease in self._leases.values() if lease.deadline > 0.0]
                wait = max(min([MAX_SLEEP, *(deadline - now for deadline in pending)]), 0.01)
                self._wakes_at = now + wait
                self._changed.wait(timeout=wait)


WATCHDOG = Watchdog()
