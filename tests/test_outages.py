"""A real PostgreSQL of this module's own, stopped, started and frozen (SIGSTOP/SIGCONT) under the app: /healthz
answers in time, pages answer 503 with Retry-After, a save keeps what was typed, an export cut by the database
is a cut download with a "failed" audit row, and the app recovers without a restart.

The app runs with short limits (a 1 s statement timeout, 2 s to connect) so that each outage is over in seconds.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psutil
import pytest
from alembic import command
from sqlalchemy import create_engine, select, text
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from admin_site.app import create_app
from admin_site.audit.deferred import DEFERRED
from admin_site.db.embedded import EmbeddedPostgres
from admin_site.operations import Operations
from admin_site.settings import Settings
from models import AuditLog, Customer, Role
from tests import factories
from tests.helpers import (
    PASSWORD,
    alembic_config,
    customer_form,
    fetch,
    order_form,
    sends_csrf_token,
    served_in_thread,
    truncate_all,
)

pytestmark = pytest.mark.slow

PGDATA = Path(os.environ.get("TEST_PGDATA", f"/var/tmp/admin-site-test-{os.getuid()}/pgdata")).parent / "outages-pgdata"
LIMITS = Operations(
    db_connect_timeout=2, db_statement_timeout=1, db_pool_timeout=1, health_timeout=1, retry_after=3,
    export_statement_timeout=30,
)  # fmt: skip
# The longest a page may wait during a freeze with LIMITS: a reused connection's ping (2 s), a new connection (2 s).
FROZEN_PAGE_BOUND = 7.0


class Server:
    """The module's PostgreSQL, as the tests break it."""

    def __init__(self) -> None:
        self.embedded = EmbeddedPostgres(PGDATA, database="shop")
        self.url = ""

    def start(self) -> str:
        self.url = self.embedded.start()
        return self.url

    def stop(self) -> None:
        self.embedded.stop()

    def processes(self) -> list[psutil.Process]:
        postmaster = psutil.Process(int((PGDATA / "postmaster.pid").read_text().split()[0]))
        return [postmaster, *postmaster.children(recursive=True)]

    @contextmanager
    def frozen(self) -> Iterator[None]:
        """Every process of the server stopped (SIGSTOP) for the block, then continued, whatever happens."""
        processes = self.processes()
        for process in processes:
            os.kill(process.pid, signal.SIGSTOP)
        try:
            yield
        finally:
            for process in processes:
                os.kill(process.pid, signal.SIGCONT)

    @contextmanager
    def stopped(self) -> Iterator[None]:
        self.stop()
        try:
            yield
        finally:
            self.start()


@pytest.fixture(scope="module")
def server() -> Iterator[Server]:
    PGDATA.parent.mkdir(parents=True, exist_ok=True)
    server = Server()
    command.upgrade(alembic_config(server.start()), "head")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def broken_app(server: Server):
    settings = Settings(database_url=server.url, secret_key="test-secret-key-" + "x" * 32, operations=LIMITS)
    app = create_app(settings)
    yield app
    app.state.engine.dispose()


@pytest.fixture
def data(server: Server):
    engine = create_engine(server.url, pool_pre_ping=True)  # its connections outlive the server's restarts
    yield engine
    truncate_all(engine)
    engine.dispose()


@pytest.fixture
def staff(data, password_hash: str):
    from models import StaffUser

    with Session(data, expire_on_commit=False) as session:
        person = StaffUser(email="ops@shop.example", full_name="Ops", password_hash=password_hash, role=Role.admin)
        session.add(person)
        session.commit()
    return person


@pytest.fixture
def signed_in(broken_app, staff):
    with TestClient(broken_app, follow_redirects=False) as client:
        sends_csrf_token(client)
        assert client.post("/admin/login", data={"username": staff.email, "password": PASSWORD}).status_code == 302
        yield client


def timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


def eventually_ok(client: TestClient, path: str, within: float = 15.0) -> httpx.Response:
    deadline = time.monotonic() + within
    while True:
        response = client.get(path)
        if response.status_code == 200 or time.monotonic() > deadline:
            return response
        time.sleep(0.2)


def test_healthz_answers_503_within_its_bound_while_frozen(broken_app, server, data):
    with TestClient(broken_app) as client:
        assert client.get("/healthz").status_code == 200
        with server.frozen():
            for _ in range(2):  # the second finds the first probe still stuck: still in time
                response, took = timed(lambda: client.get("/healthz"))
                assert response.status_code == 503 and took < 3.0, took
        assert eventually_ok(client, "/healthz").json() == {"database": "ok"}


def test_a_page_answers_503_in_time_while_frozen_and_recovers(signed_in, server):
    assert signed_in.get("/admin/customer/list").status_code == 200
    with server.frozen():
        response, took = timed(lambda: signed_in.get("/admin/customer/list"))
    assert response.status_code == 503 and response.headers["Retry-After"] == "3", response.status_code
    assert took < FROZEN_PAGE_BOUND, took
    assert eventually_ok(signed_in, "/admin/customer/list").status_code == 200


def test_a_stopped_database_is_a_503_page_not_a_500_and_the_app_recovers(signed_in, server):
    assert signed_in.get("/admin/order/list").status_code == 200
    with server.stopped():
        for path in ("/admin/order/list", "/admin/", "/admin/customer/create"):
            response = signed_in.get(path)
            assert response.status_code == 503, (path, response.status_code)
            assert response.headers["Retry-After"] == "3" and "The database is unavailable" in response.text
        assert signed_in.get("/healthz").status_code == 503
    assert eventually_ok(signed_in, "/admin/order/list").status_code == 200
    assert signed_in.get("/healthz").status_code == 200


def test_an_edit_posted_during_an_outage_keeps_the_input(signed_in, server, data):
    customer = factories.customer(data, first_name="Ada")
    with server.stopped():
        response = signed_in.post(
            f"/admin/customer/edit/{customer.id}", data=customer_form(customer, first_name="Typed while down")
        )
    assert response.status_code == 503 and response.headers["Retry-After"] == "3"
    assert 'value="Typed while down"' in response.text and "The database is unavailable" in response.text
    assert fetch(data, Customer, customer.id).first_name == "Ada"
    saved = signed_in.post(
        f"/admin/customer/edit/{customer.id}", data=customer_form(customer, first_name="Typed while down")
    )
    assert saved.status_code == 302, saved.text[-300:]
    assert fetch(data, Customer, customer.id).first_name == "Typed while down"


def test_an_order_posted_during_an_outage_keeps_its_lines_as_typed(signed_in, server, data):
    tent = factories.product(data, sku="TENT-1", name="Tent")
    order = factories.order(data, items=[(tent, 1)])
    with server.stopped():
        response = signed_in.post(
            f"/admin/order/edit/{order.id}",
            data=order_form(order)
            | {"items-0-product": str(tent.id), "items-0-chosen": "TENT-1 · Tent", "items-0-quantity": "7"}
            | {"items-0-unit_price": "9.50", "items__shown": ""},
        )
    assert response.status_code == 503 and "The database is unavailable" in response.text
    assert 'name="items-0-quantity" value="7"' in response.text
    assert 'value="TENT-1 · Tent"' in response.text  # the chooser's text as typed: no label could be read


# -- an export cut by the database: a live server, because only a real connection can be cut ---------


@pytest.fixture(scope="module")
def live(broken_app) -> Iterator[str]:
    with served_in_thread(broken_app) as url:
        yield url


def test_an_export_cut_by_the_database_is_a_cut_download_audited_as_failed(live, server, data, staff, monkeypatch):
    factories.customer(data)
    client = httpx.Client(base_url=live, timeout=20)
    token = client.get("/admin/login").text.split('name="csrf-token" content="')[1].split('"')[0]
    assert (
        client.post(
            "/admin/login", data={"username": staff.email, "password": PASSWORD, "csrf_token": token}
        ).status_code
        == 302
    )
    locker = data.connect()
    locker.execute(text("LOCK TABLE customers IN ACCESS EXCLUSIVE MODE"))  # the export waits: in progress
    outcome: dict[str, object] = {}

    def download() -> None:
        try:
            with client.stream("GET", "/admin/customer/export/csv") as response:
                outcome["status"] = response.status_code
                outcome["body"] = b"".join(response.iter_bytes())
        except httpx.HTTPError as error:
            outcome["error"] = error

    reader = threading.Thread(target=download)
    reader.start()
    _wait_for_lock_waiter(data)
    with server.stopped():  # the lock is held until the server goes
        locker.invalidate()
        reader.join(timeout=15)
        assert not reader.is_alive()
        assert outcome.get("status") == 200 and isinstance(outcome.get("error"), httpx.RemoteProtocolError), outcome
        assert DEFERRED.waiting == 1  # its audit row waits for the database
    assert DEFERRED.flush() == 0
    with Session(data) as session:
        row = session.scalars(select(AuditLog).where(AuditLog.action == "export")).one()
    assert row.changes["outcome"] == "failed" and row.changes["completed"] is False
    assert row.staff_user_id == staff.id
    client.close()


def _wait_for_lock_waiter(engine, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    with engine.connect() as conn:
        while not conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")):
            assert time.monotonic() < deadline, "the export never reached the database"
            time.sleep(0.05)
            conn.rollback()
