"""One log line and the metrics of every request, and its id (ASGI middleware, outermost).

Each request gets an id (the proxy's `X-Request-ID` when it sent a sane one), sent back in the
`X-Request-ID` header and shown on error pages (`request_id(request)` in templates), and one line in the
log when it ends: method, path (never the query string, which may hold a searched e-mail), status,
duration, time spent in the database, staff id, route, and why it failed when it did (`note_failure`).

An error after the response has started (an export whose database went away, or stopped at shutdown)
cannot become an error page: the line says the response was aborted and the middleware returns without
finishing the response, so the server closes the connection and the client sees a cut body, never a
clean-looking end; no traceback is printed for it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from admin_site.telemetry import metrics
from admin_site.telemetry.context import CURRENT, RequestTrace, new_request_id

log = logging.getLogger("admin_site.request")

HEADER = "X-Request-ID"
STATE_ID = "request_id"
STATE_FAILURE = "failure"  # why the request failed, for its log line (set by the error handlers)
QUIET_PATHS = frozenset({"/healthz", "/metrics"})  # polled every few seconds: logged at DEBUG when they succeed


def request_id(request: Request) -> str:
    """This request's id (a Jinja global: error pages show it, so a report can be found in the log)."""
    return str(request.scope.get("state", {}).get(STATE_ID, ""))


def note_failure(scope: Scope, reason: str) -> None:
    """Say why this request failed; its log line carries the reason (one line, no traceback)."""
    scope.setdefault("state", {})[STATE_FAILURE] = reason


def _route_name(scope: Scope) -> str:
    route = scope.get("route")
    return getattr(route, "name", None) or "unmatched"


def _level(status: int, path: str) -> int:
    if status >= 500:
        return logging.ERROR if status == 500 else logging.WARNING
    if path in QUIET_PATHS and status < 400:
        return logging.DEBUG
    return logging.INFO


class RequestLog:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        trace = RequestTrace(new_request_id(Headers(scope=scope).get(HEADER)))
        token = CURRENT.set(trace)
        scope.setdefault("state", {})[STATE_ID] = trace.request_id
        status, complete = 0, False

        async def send_with_id(message: Message) -> None:
            nonlocal status, complete
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableHeaders(scope=message)[HEADER] = trace.request_id
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                complete = True
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception as error:
            if not status or complete:  # no response yet (the 500 page is drawn outside), or it was the 500 page
                status = status or 500
                note_failure(scope, _short(error))
                raise
            note_failure(scope, f"response aborted: {_short(error)}")  # returning unfinished: the server cuts it
        finally:
            CURRENT.reset(token)
            self._done(scope, trace, status or 500, time.perf_counter() - started)

    def _done(self, scope: Scope, trace: RequestTrace, status: int, seconds: float) -> None:
        route, method, path = _route_name(scope), scope["method"], scope["path"]
        metrics.REQUESTS.labels(route, method, str(status)).inc()
        metrics.LATENCY.labels(route).observe(seconds)
        state: dict[str, Any] = scope.get("state", {})
        staff = state.get("staff_user")
        failure = state.get(STATE_FAILURE)
        fields = {
            "method": method,
            "path": path,
            "status": status,
            "duration_ms": round(seconds * 1000, 1),
            "db_ms": round(trace.db_seconds * 1000, 1),
            "db_statements": trace.db_statements,
            "staff_id": getattr(staff, "id", None),
            "route": route,
            "client": (scope.get("client") or ("-",))[0],
        }
        if failure:
            fields["error"] = failure
        level = _level(status, path)
        if log.isEnabledFor(level):
            log.log(level, _text(fields), extra={"http": fields, "request_id": trace.request_id})


def _short(error: BaseException) -> str:
    """The error's first line; for one raised from another (Starlette's "response already started"), the first's."""
    while error.__cause__ is not None:
        error = error.__cause__
    text = str(error).strip().splitlines()
    return f"{type(error).__name__}: {text[0][:200]}" if text else type(error).__name__


def _text(fields: dict[str, Any]) -> str:
    line = (
        f"{fields['method']} {fields['path']} {fields['status']} {fields['duration_ms']} ms "
        f"(db {fields['db_ms']} ms, {fields['db_statements']} statements) "
        f"staff={fields['staff_id'] or '-'} route={fields['route']}"
    )
    return f"{line} error={fields['error']!r}" if "error" in fields else line
