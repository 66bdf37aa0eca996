"""The one engine and session factory the app shares."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session, sessionmaker

from admin_site.settings import Settings


def make_engine(url: str, settings: Settings) -> Engine:
    """A pooled engine that survives a restarted server (pre-ping) and stamps its connections."""
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_use_lifo=True,  # the most recently used connection first: a warm server process, spare ones can idle out
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_recycle=1800,
        hide_parameters=True,  # bound values (password hashes, personal data) stay out of errors and logs
        connect_args={"application_name": "admin-site"},
    )


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def database_answers(engine: Engine) -> bool:
    """True when the database answers a trivial query (used by /healthz)."""
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def resolve_database_url(settings: Settings) -> str:
    """DATABASE_URL when set; otherwise start the embedded server and use its database."""
    if settings.database_url:
        return settings.database_url
    from admin_site.db.embedded import EmbeddedPostgres

    return EmbeddedPostgres(settings.pgdata).start()
