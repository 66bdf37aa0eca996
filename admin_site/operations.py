"""The settings of how the app runs as a service: time limits, workers, stopping, memory bounds, logs, metrics.

Part of `Settings` (`settings.operations`), read from the environment variables the README's Configuration
table lists. Kept apart from the rest of the settings because they concern the process and its database
connections, not what the admin shows or who may use it.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field


class OperationsError(ValueError):
    """An operations setting the app refuses to run with."""


def _cpus() -> int:
    return os.cpu_count() or 1


@dataclass(frozen=True)
class Operations:
    # The database (seconds): db/engine.py, db/deadline.py.
    db_connect_timeout: float = 3.0
    db_statement_timeout: float = 15.0  # a page's statements; a page waits at most this plus 5 s for the database
    db_pool_timeout: float = 5.0  # wait for a free connection of the pool
    export_statement_timeout: float = 600.0
    health_timeout: float = 2.0  # /healthz answers within this, whatever the database does
    retry_after: int = 10  # what a 503 tells the client to wait, seconds
    # The process: ops/serving.py, ops/lifecycle.py.
    workers: int | None = None  # None: 1 in development, the CPU count otherwise
    shutdown_grace: float = 20.0  # after SIGTERM, requests may finish this long; then exports are cut
    http_header_timeout: float = 10.0  # a connection must deliver a request's headers within this
    http_keepalive_timeout: float = 5.0  # an idle keep-alive connection is closed after this
    # Memory: security/body_limit.py, auth/passwords.py.
    anonymous_body_limit: int = 16 * 1024  # bytes a request without a signed-in session may send
    password_hash_concurrency: int = field(default_factory=lambda: 2 * _cpus())
    # Logs and metrics: telemetry/.
    log_format: str = "text"  # or "json"
    metrics_allow: tuple[str, ...] = ("127.0.0.1", "::1")  # addresses (or networks) that may read /metrics
    metrics_token: str | None = None  # or a caller sending `Authorization: Bearer <token>`

    def workers_for(self, environment: str) -> int:
        if self.workers is not None:
            return self.workers
        return 1 if environment == "development" else _cpus()

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Operations:
        def number(name: str, default: float) -> float:
            return float(env.get(name) or default)

        defaults = cls()
        operations = cls(
            db_connect_timeout=number("DB_CONNECT_TIMEOUT", defaults.db_connect_timeout),
            db_statement_timeout=number("DB_STATEMENT_TIMEOUT", defaults.db_statement_timeout),
            db_pool_timeout=number("DB_POOL_TIMEOUT", defaults.db_pool_timeout),
            export_statement_timeout=number("EXPORT_STATEMENT_TIMEOUT", defaults.export_statement_timeout),
            health_timeout=number("HEALTH_TIMEOUT", defaults.health_timeout),
            retry_after=int(number("RETRY_AFTER", defaults.retry_after)),
            workers=int(env["ADMIN_WORKERS"]) if env.get("ADMIN_WORKERS") else None,
            shutdown_grace=number("SHUTDOWN_GRACE", defaults.shutdown_grace),
            http_header_timeout=number("HTTP_HEADER_TIMEOUT", defaults.http_header_timeout),
            http_keepalive_timeout=number("HTTP_KEEPALIVE_TIMEOUT", defaults.http_keepalive_timeout),
            anonymous_body_limit=int(number("ANONYMOUS_BODY_LIMIT", defaults.anonymous_body_limit)),
            password_hash_concurrency=int(number("PASSWORD_HASH_CONCURRENCY", defaults.password_hash_concurrency)),
            log_format=(env.get("LOG_FORMAT") or "text").strip().lower(),
            metrics_allow=tuple(
                a.strip() for a in env.get("METRICS_ALLOW_IPS", "127.0.0.1,::1").split(",") if a.strip()
            ),
            metrics_token=env.get("METRICS_TOKEN") or None,
        )
        operations.check()
        return operations

    def check(self) -> None:
        if self.log_format not in ("text", "json"):
            raise OperationsError(f"LOG_FORMAT={self.log_format!r}: text or json")
        if self.workers is not None and self.workers < 1:
            raise OperationsError("ADMIN_WORKERS must be at least 1")
        if self.password_hash_concurrency < 1:
            raise OperationsError("PASSWORD_HASH_CONCURRENCY must be at least 1")
        if self.metrics_token is not None and len(self.metrics_token) < 16:
            raise OperationsError("METRICS_TOKEN must be at least 16 characters")
        for address in self.metrics_allow:
            try:
                ipaddress.ip_network(address, strict=False)
            except ValueError:
                raise OperationsError(f"METRICS_ALLOW_IPS: {address!r} is not an address or network") from None
        if min(self.db_connect_timeout, self.db_statement_timeout, self.health_timeout, self.shutdown_grace) <= 0:
            raise OperationsError("time limits must be positive")
