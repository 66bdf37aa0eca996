"""Test fixtures: a real PostgreSQL (embedded unless TEST_DATABASE_URL is given), schema from Alembic.

Each test starts from empty tables: the app under test opens its own connections, so isolation by
TRUNCATE after each test is the one that also covers what the app committed.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, text

import models
from admin_site.db.embedded import EmbeddedPostgres
from admin_site.site.templating import ASYNC_TEMPLATES

ROOT = Path(__file__).resolve().parent.parent
TEST_PGDATA = Path(os.environ.get("TEST_PGDATA", f"/var/tmp/admin-site-test-{os.getuid()}/pgdata"))


def run_in_own_loop(coroutine: Coroutine):
    """Await `coroutine` on an event loop of its own thread (the browser tests may leave one running here)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["url"] = url
    config.attributes["configure_logging"] = False
    return config


@pytest.fixture(scope="session")
def pg_server() -> Iterator[EmbeddedPostgres | None]:
    if os.environ.get("TEST_DATABASE_URL"):
        yield None
        return
    server = EmbeddedPostgres(TEST_PGDATA, database="postgres")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def fresh_database_url(pg_server: EmbeddedPostgres | None):
    """A factory of new, empty databases on the test server (for migration tests)."""
    created: list[str] = []

    def make(name: str) -> str:
        assert pg_server is not None, "needs the embedded server"
        name = f"{name}_{os.getpid()}"  # test runs in parallel share the server
        pg_server.drop_database(name)
        pg_server.create_database(name)
        created.append(name)
        return pg_server.url(name)

    yield make
    for name in created:
        pg_server.drop_database(name)


@pytest.fixture(scope="session")
def database_url(pg_server: EmbeddedPostgres | None) -> str:
    """The test database, migrated to head by Alembic."""
    if pg_server is None:
        url = os.environ["TEST_DATABASE_URL"]
    else:
        name = f"admin_test_{os.getpid()}"
        pg_server.drop_database(name)
        pg_server.create_database(name)
        url = pg_server.url(name)
    command.upgrade(alembic_config(url), "head")
    return url


@pytest.fixture(scope="session")
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_engine(database_url, pool_pre_ping=True)
    yield engine
    engine.dispose()


def truncate_all(engine: Engine) -> None:
    tables = ", ".join(t.name for t in models.Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def db(engine: Engine) -> Iterator[Engine]:
    """The migrated database, emptied after the test."""
    yield engine
    truncate_all(engine)


# -- the app, staff users and logged-in clients -------------------------------------------------

from admin_site.app import create_app  # noqa: E402
from admin_site.settings import Settings  # noqa: E402
from models import Role, StaffUser  # noqa: E402

PASSWORD = "correct-horse-42"


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    return Settings(database_url=database_url, secret_key="test-secret-key-" + "x" * 32)


@pytest.fixture(scope="session")
def app(settings: Settings, engine: Engine):
    app = create_app(settings, engine)
    yield app
    # Every page the tests opened rendered synchronously: none fell back to async mode (admin_site/templating.py).
    fell_back = app.state.admin.templates._needs_async - ASYNC_TEMPLATES
    assert not fell_back, f"templates that await while rendering: {sorted(fell_back)}"


@pytest.fixture(scope="session")
def password_hash() -> str:
    from admin_site.auth.passwords import hash_password

    return hash_password(PASSWORD)


@pytest.fixture
def make_staff(db: Engine, password_hash: str):
    """Create a staff user (the password is PASSWORD)."""
    from sqlalchemy.orm import Session

    def make(role: Role = Role.admin, email: str | None = None, is_active: bool = True) -> StaffUser:
        with Session(db, expire_on_commit=False) as session:
            staff = StaffUser(
                email=email or f"{role.value}-{os.urandom(3).hex()}@shop.example",
                full_name=f"Test {role.value}",
                password_hash=password_hash,
                role=role,
                is_active=is_active,
            )
            session.add(staff)
            session.commit()
            return staff

    return make


import re  # noqa: E402

_CSRF_IN_PAGE = re.compile(r'name="csrf_token" value="([^"]+)"|<meta name="csrf-token" content="([^"]+)"')
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


def csrf_token_of(client) -> str:
    """The CSRF token of the client's current session, as a page shows it (the login page has one)."""
    page = client.get("/admin/login")
    found = _CSRF_IN_PAGE.search(page.text)
    assert found, "no CSRF token on the login page"
    return found.group(1) or found.group(2)


def _session_cookie(client) -> str | None:
    try:
        return client.cookies.get("admin_session")
    except Exception:
        return None


def sends_csrf_token(client):
    """Make `client` add the session's CSRF token (X-CSRF-Token) to its unsafe requests to /admin,
    as the admin's pages and scripts do, unless the request carries a token of its own (header or
    `csrf_token` field). Tests of the CSRF protection itself use a client without this."""
    if getattr(client, "_sends_csrf_token", False):
        return client
    cache: dict[str, str | None] = {}

    def add_token(request) -> None:
        if request.method in _SAFE_METHODS or not request.url.path.startswith("/admin"):
            return
        body = request.read()  # the encoded form (multipart bodies too)
        if "x-csrf-token" in request.headers or b"csrf_token=" in body or b'name="csrf_token"' in body:
            return
        cookie = _session_cookie(client)
        if cookie is None or cache.get("cookie") != cookie:
            cache["token"] = csrf_token_of(client)
            cache["cookie"] = _session_cookie(client)
            # The look-up may have started a session: send the cookie it set, not the one read before.
            if "cookie" in request.headers:
                del request.headers["cookie"]
            client.cookies.set_cookie_header(request)
        request.headers["X-CSRF-Token"] = cache["token"]

    client.event_hooks["request"].append(add_token)
    client._sends_csrf_token = True
    return client


@pytest.fixture
def raw_client(app):
    """A client that sends no CSRF token by itself: for tests of the CSRF protection."""
    from starlette.testclient import TestClient

    with TestClient(app, base_url="http://testserver", follow_redirects=False) as test_client:
        yield test_client


@pytest.fixture
def client(app):
    """Real HTTP requests through the ASGI app (Starlette's TestClient, built on httpx); unsafe
    requests carry the session's CSRF token, as the admin's own forms and scripts do."""
    from starlette.testclient import TestClient

    with TestClient(app, base_url="http://testserver", follow_redirects=False) as test_client:
        yield sends_csrf_token(test_client)


def login(client, email: str, password: str = PASSWORD):
    return sends_csrf_token(client).post("/admin/login", data={"username": email, "password": password})


@pytest.fixture
def login_as(client, make_staff):
    """Log `client` in as a new staff user of the given role; returns that user."""

    def do(role: Role = Role.admin) -> StaffUser:
        staff = make_staff(role)
        response = login(client, staff.email)
        assert response.status_code == 302, response.text
        return staff

    return do


# -- a live server and a real browser (Playwright driving Debian's chromium) ---------------------

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def live_server(app):
    """The app served by uvicorn on a free loopback port, in a background thread."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        assert time.monotonic() < deadline, "live server did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch options, pointed at the system chromium (no browser download)."""
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }
