"""The Alembic configuration the app uses (`admin-site migrate`, `serve`, the tests): built in code, so an
installed wheel needs no alembic.ini; the script directory is the package's own (`resources.migrations_dir`).

alembic.ini at the repository root is for the `alembic` command line only; its `[alembic]` options are the
ones below (tests/test_packaging.py keeps them equal), and its logging is `LOGGING`, applied by
migrations/env.py unless the caller sets the attribute `configure_logging` to False.
"""

from __future__ import annotations

import logging.config

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, text
from sqlalchemy.pool import NullPool

from admin_site.resources import migrations_dir

# The key of the PostgreSQL advisory lock every process holds while it migrates (any number may start together).
MIGRATION_LOCK = 0x61646D696E  # "admin"

OPTIONS = {
    "path_separator": "os",
    "file_template": "%%(rev)s_%%(slug)s",  # as in alembic.ini: `%` doubled for ConfigParser's interpolation
    "timezone": "UTC",
}

# What `alembic upgrade` and `admin-site migrate` print: alembic's INFO lines ("Running upgrade …"),
# everything else from WARNING, on stderr.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"generic": {"format": "%(levelname)-5.5s [%(name)s] %(message)s", "datefmt": "%H:%M:%S"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "stream": "ext://sys.stderr", "formatter": "generic"}},
    "root": {"level": "WARNING", "handlers": ["console"]},
    "loggers": {"sqlalchemy.engine": {"level": "WARNING"}, "alembic": {"level": "INFO"}},
}


def alembic_config(url: str, *, configure_logging: bool = True) -> Config:
    """An Alembic `Config` for the database at `url`, with this package's migrations."""
    config = Config()
    config.set_main_option("script_location", str(migrations_dir()).replace("%", "%%"))
    for name, value in OPTIONS.items():
        config.set_main_option(name, value)
    config.attributes["url"] = url
    config.attributes["configure_logging"] = configure_logging
    return config


def configure_logging() -> None:
    logging.config.dictConfig(LOGGING)


def upgrade_to_head(url: str, *, configure_logging: bool = True) -> None:
    """`alembic upgrade head` under a PostgreSQL advisory lock: processes that start together on an old schema
    take turns, and the second finds the schema at head and has nothing to do (no DuplicateTable)."""
    engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as lock:
            lock.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
            try:
                command.upgrade(alembic_config(url, configure_logging=configure_logging), "head")
            finally:
                lock.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
    finally:
        engine.dispose()
