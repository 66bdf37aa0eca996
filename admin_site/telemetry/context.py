"""What one request carries across threads for its log line: its id and the time it spent in the database.

Set by the request-log middleware (`telemetry/request_log.py`) in a context variable. anyio's worker
threads run in a copy of the request's context, so they see the same `RequestTrace` object and add to
it; code outside a request (the CLI, a background retry) sees None.
"""

from __future__ import annotations

import re
import secrets
import threading
from contextvars import ContextVar
from dataclasses import dataclass, field

# An id a proxy in front may already have given the request (X-Request-ID): kept when it looks like one.
ACCEPTED_ID = re.compile(r"[A-Za-z0-9._:-]{8,64}")


@dataclass
class RequestTrace:
    request_id: str
    db_seconds: float = 0.0
    db_statements: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add_db_time(self, seconds: float) -> None:
        with self._lock:  # a request's statements may run on two threads at once (an export and its audit)
            self.db_seconds += seconds
            self.db_statements += 1


CURRENT: ContextVar[RequestTrace | None] = ContextVar("admin_site_request", default=None)


def new_request_id(offered: str | None = None) -> str:
    """The proxy's id when it offers a sane one, else a new random one."""
    if offered and ACCEPTED_ID.fullmatch(offered):
        return offered
    return secrets.token_hex(8)


def current_request_id() -> str | None:
    trace = CURRENT.get()
    return trace.request_id if trace else None
