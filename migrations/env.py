"""Alembic environment: the URL comes from the app's settings, the target from models.Base."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

import models
from admin_site.db.engine import resolve_database_url
from admin_site.db.migrations import configure_logging
from admin_site.settings import Settings

config = context.config
# The same logging for the `alembic` command line (alembic.ini) and the app's in-code config
# (admin_site/db/migrations.py), unless the caller has its own (the tests).
if config.attributes.get("configure_logging", True):
    configure_logging()

target_metadata = models.Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=resolve_database_url(Settings.from_env()),
        target_metadata=target_metadata,
        literal_binds=True,
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    # A caller (the CLI, the tests) may hand over a URL or an open connection.
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = config.attributes.get("url") or resolve_database_url(Settings.from_env())
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
