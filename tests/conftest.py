"""Test fixtures: a real PostgreSQL (embedded unless TEST_DATABASE_URL is given), schema from Alembic.

Each test starts from empty tables: the app under test opens its own connections, so isolation by
TRUNCATE after each test is the one that also covers what the app committed.

Only fixtures and hooks are here; the helpers the test modules share are in tests/helpers.py.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic import command
from argon2 import PasswordHasher
from sqlalchemy import Engine, create_engine

from admin_site.auth import passwords
from admin_site.db.embedded import EmbeddedPostgres
from admin_site.site.templating import ASYNC_TEMPLATES
from tests import factories
from tests.helpers import PASSWORD, alembic_config, browser_client, login, served_in_thread, truncate_all

ROOT = Path(__file__).resolve().parent.parent
TEST_PGDATA = Path(os.environ.get("TEST_PGDATA", f"/var/tmp/admin-site-test-{os.getuid()}/pgdata"))


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


@pytest.fixture
def db(engine: Engine) -> Iterator[Engine]:
    """The migrated database, emptied after the test."""
    yield engine
    truncate_all(engine)


@pytest.fixture(autouse=True)
def factories_number_from_one() -> None:
    """Every test's rows are numbered from 1 (names, order numbers, dates), whatever ran before it."""
    factories.restart_numbering()


# -- the app, staff users and logged-in clients -------------------------------------------------

from admin_site.app import create_app  # noqa: E402
from admin_site.settings import Settings  # noqa: E402
from models import Role, StaffUser  # noqa: E402


@pytest.fixture(scope="session")
def settings(database_url: str) -> Settings:
    # The log-in throttle's growing delays in hundredths of a second: tests fail many log-ins in a row.
    return Settings(
        database_url=database_url, secret_key="test-secret-key-" + "x" * 32, login_first_delay=0.01, login_max_delay=0.1
    )


@pytest.fixture(scope="session")
def app(settings: Settings, engine: Engine):
    app = create_app(settings, engine)
    yield app
    # Every page the tests opened rendered synchronously: none fell back to async mode (admin_site/templating.py).
    fell_back = app.state.admin.templates._needs_async - ASYNC_TEMPLATES
    assert not fell_back, f"templates that await while rendering: {sorted(fell_back)}"


# Argon2 as the app hashes in production (argon2-cffi's defaults: 64 MiB, 3 passes) takes ~0.15 s a hash
# or check; the tests log in hundreds of times. They hash with the smallest parameters instead, through
# passwords.use_hasher (a call only tests make). A test about the production parameters themselves (timing,
# rehash at login) asks for `production_password_hashing`.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)


@pytest.fixture(scope="session", autouse=True)
def cheap_password_hashing() -> Iterator[PasswordHasher]:
    """The whole session hashes and verifies with CHEAP_HASHER; yields the production hasher it replaced."""
    production = passwords.use_hasher(CHEAP_HASHER)
    yield production
    passwords.use_hasher(production)


@pytest.fixture
def production_password_hashing(cheap_password_hashing: PasswordHasher) -> Iterator[PasswordHasher]:
    """For this test, the app hashes with the production parameters again; yields that hasher."""
    passwords.use_hasher(cheap_password_hashing)
    yield cheap_password_hashing
    passwords.use_hasher(CHEAP_HASHER)


@pytest.fixture(scope="session")
def password_hash(cheap_password_hashing: PasswordHasher) -> str:
    return passwords.hash_password(PASSWORD)


@pytest.fixture
def make_staff(db: Engine, password_hash: str):
    """Create a staff user (the password is PASSWORD; `password_hash` to store another hash of it)."""
    from sqlalchemy.orm import Session

    def make(
        role: Role = Role.admin, email: str | None = None, is_active: bool = True, password_hash: str = password_hash
    ) -> StaffUser:
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
    with browser_client(app) as test_client:
        yield test_client


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
    with served_in_thread(app) as url:
        yield url


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


@pytest.fixture
def page_errors(page) -> list[str]:
    """Uncaught script errors on the browser's pages during the test (the test asserts there are none)."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


# -- markers: `-m "not browser and not slow"` is the quick run -----------------------------------

BROWSER_FIXTURES = {"page", "live_server"}


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that drives the browser or needs the live server is a `browser` test, marked or not (a test
    parametrized with an argument of the same name, `page` = "edit", is not)."""
    for item in items:
        parametrized = getattr(getattr(item, "callspec", None), "params", {})
        if (BROWSER_FIXTURES & set(getattr(item, "fixturenames", ()))) - set(parametrized):
            item.add_marker(pytest.mark.browser)
