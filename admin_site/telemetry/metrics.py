"""Prometheus metrics (`prometheus_client`), and the `/metrics` endpoint that shows them to whom may read them.

With several worker processes each has its own counters; `admin-site serve --workers N` (N > 1) points
PROMETHEUS_MULTIPROC_DIR at a directory of its own before the workers start, and this endpoint then
adds up every worker's files (prometheus_client's multiprocess mode), whichever worker answers the
scrape. Gauges are kept up to date as things happen (not computed at scrape time) so that they add
up across workers ("livesum": the processes still alive).
"""

from __future__ import annotations

import hmac
import ipaddress
import os
from collections.abc import Awaitable, Callable, Sequence

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"

REQUESTS = Counter("admin_http_requests", "HTTP requests answered, by route name, method and status", ["route", "method", "status"])  # fmt: skip
LATENCY = Histogram(
    "admin_http_request_duration_seconds",
    "Time from the request's arrival to the end of its response, by route name",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 60),
)
POOL_IN_USE = Gauge("admin_db_pool_in_use", "Database connections checked out of the pool", ["pool"], multiprocess_mode="livesum")  # fmt: skip
POOL_WAITING = Gauge("admin_db_pool_waiting", "Threads waiting for a connection from the pool", ["pool"], multiprocess_mode="livesum")  # fmt: skip
DB_ERRORS = Counter("admin_db_errors", "Requests and probes that found the database unavailable or too slow, by kind", ["kind"])  # fmt: skip
EXPORTS_RUNNING = Gauge("admin_exports_running", "Exports being written or streamed now", multiprocess_mode="livesum")
EXPORTS = Counter("admin_exports", "Exports finished, by format and outcome (completed, interrupted, failed)", ["format", "outcome"])  # fmt: skip

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(text: str) -> tuple[Network, ...]:
    """'127.0.0.1, 10.0.0.0/8' → networks (a bare address is a network of one)."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


def exposition() -> bytes:
    """The metrics in Prometheus' text format: this process's, or every worker's in multiprocess mode."""
    if os.environ.get(MULTIPROCESS_DIR):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def worker_exited(pid: int) -> None:
    """Drop a finished worker's live gauges (multiprocess mode); its counters stay in the totals."""
    if os.environ.get(MULTIPROCESS_DIR):
        multiprocess.mark_process_dead(pid)


def _from_allowed_address(request: Request, allowed: Sequence[Network]) -> bool:
    host = request.client.host if request.client else ""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return any(address in network for network in allowed)


def _has_token(request: Request, token: str | None) -> bool:
    if not token:
        return False
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(sent.strip().encode(), token.encode())


def metrics_endpoint(allowed: Sequence[Network], token: str | None) -> Callable[[Request], Awaitable[Response]]:
    """GET /metrics for callers from `allowed` addresses or with `Authorization: Bearer <token>`; 403 for others
    (the counts tell an outsider how busy the shop is and which pages fail)."""

    async def metrics(request: Request) -> Response:
        if not (_from_allowed_address(request, allowed) or _has_token(request, token)):
            return PlainTextResponse("Metrics are readable from the monitoring addresses only.\n", status_code=403)
        return Response(exposition(), media_type=CONTENT_TYPE_LATEST)

    return metrics
