"""Operations in-process: request ids and log lines, metrics and who may read them, the anonymous body limit,
the 503 answer for a database that cannot be reached, settings. (Faults of a real server: test_outages.py.)"""

from __future__ import annotations

import json
import logging

import pytest
from starlette.testclient import TestClient

from admin_site.app import create_app
from admin_site.db.engine import make_engine
from admin_site.db.outage import DatabaseUnavailable, unavailability
from admin_site.operations import Operations, OperationsError
from admin_site.settings import Settings
from admin_site.telemetry.logs import JsonFormatter, RequestIdFilter
from models import Role
from tests import factories
from tests.helpers import browser_client, customer_form, fetch, login, run_in_own_loop

TOKEN = "metrics-token-" + "x" * 20
NO_DATABASE = "postgresql+psycopg2://nobody@127.0.0.1:9/nothing"  # the discard port: refused at once


# -- request ids and the one log line per request ----------------------------------------------------


def test_every_answer_has_a_request_id_and_one_log_line(client, db, caplog):
    with caplog.at_level(logging.INFO, logger="admin_site.request"):
        response = client.get("/admin/login?next=/admin/")
        kept = client.get("/admin/login", headers={"X-Request-ID": "proxy-given-0001"})
        forged = client.get("/admin/login", headers={"X-Request-ID": "<script>"})
    assert len(response.headers["X-Request-ID"]) == 16
    assert kept.headers["X-Request-ID"] == "proxy-given-0001"
    assert forged.headers["X-Request-ID"] not in ("<script>", "")
    lines = [r for r in caplog.records if r.name == "admin_site.request"]
    assert len(lines) == 3
    first = lines[0].http
    assert first["method"] == "GET" and first["path"] == "/admin/login" and first["status"] == 200
    assert first["route"] == "login" and "next" not in lines[0].getMessage()  # never the query string
    assert {"duration_ms", "db_ms", "staff_id"} <= set(first)


def test_the_log_line_names_the_staff_member_and_the_database_time(settings, make_staff, db, caplog):
    timed_app = create_app(settings)  # its own engine (make_engine): statements timed (the suite's engine is not)
    staff = make_staff(Role.admin)
    with browser_client(timed_app) as client:
        assert login(client, staff.email).status_code == 302
        with caplog.at_level(logging.INFO, logger="admin_site.request"):
            client.get("/admin/customer/list")
    timed_app.state.engine.dispose()
    (line,) = [r for r in caplog.records if r.name == "admin_site.request"]
    assert line.http["staff_id"] == staff.id and line.http["db_statements"] >= 2 and line.http["db_ms"] > 0


def test_json_log_lines():
    record = logging.LogRecord("admin_site.request", logging.INFO, __file__, 1, "GET / 200", None, None)
    record.http = {"method": "GET", "path": "/", "status": 200, "duration_ms": 1.5}
    record.request_id = "abcdef0123456789"
    RequestIdFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "abcdef0123456789" and line["status"] == 200 and line["level"] == "info"
    assert set(line) >= {"time", "logger", "message", "method", "path", "duration_ms"}


# -- /metrics --------------------------------------------------------------------------------------


def test_metrics_refuse_an_anonymous_remote_caller(app, db):
    with TestClient(app, client=("203.0.113.9", 40000)) as remote:
        assert remote.get("/metrics").status_code == 403
        assert remote.get("/metrics", headers={"Authorization": "Bearer guessed-token-1234567"}).status_code == 403


def test_metrics_for_the_monitoring_address_or_the_token(settings, engine, db):
    ops = Operations(metrics_allow=("10.1.0.0/16",), metrics_token=TOKEN)
    app = create_app(
        Settings(database_url=settings.database_url, secret_key=settings.secret_key, operations=ops), engine
    )
    with TestClient(app, client=("10.1.2.3", 40000)) as monitor:
        monitor.get("/admin/login")
        page = monitor.get("/metrics")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/plain")
    assert 'admin_http_requests_total{method="GET",route="login",status="200"}' in page.text
    for name in ("admin_http_request_duration_seconds_bucket", "admin_db_pool_in_use", "admin_exports_running"):
        assert name in page.text
    with TestClient(app, client=("203.0.113.9", 40000)) as remote:
        assert remote.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).status_code == 200


# -- bodies of strangers ---------------------------------------------------------------------------


def test_an_anonymous_10_mb_post_is_refused_before_it_is_read(app):
    """The body is never asked for: the answer comes from the headers alone."""
    asked, sent = [], []

    async def receive():
        asked.append(True)
        return {"type": "http.request", "body": b"x" * 65536, "more_body": True}

    async def send(message):
        sent.append(message)

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/admin/login", "raw_path": b"/admin/login", "root_path": "", "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/x-www-form-urlencoded"),
                    (b"content-length", str(10 * 1024 * 1024).encode())],
        "client": ("203.0.113.9", 40000), "server": ("testserver", 80),
    }  # fmt: skip
    run_in_own_loop(app(scope, receive, send))  # the browser tests may leave a loop running in this thread
    assert sent[0]["status"] == 413 and not asked
    assert (b"connection", b"close") in sent[0]["headers"]


def test_a_chunked_anonymous_body_is_cut_at_the_limit(raw_client):
    def chunks():
        for _ in range(100):
            yield b"a=" + b"x" * 8192

    response = raw_client.post(
        "/admin/login", content=chunks(), headers={"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert response.status_code == 413


def test_a_signed_in_form_is_not_held_to_the_strangers_limit(client, login_as, db):
    login_as(Role.admin)
    customer = factories.customer(db)
    form = {**customer_form(customer, last_name="Longer"), "padding": "x" * 40_000}  # more than a stranger may send
    response = client.post(f"/admin/customer/edit/{customer.id}", data=form)
    assert response.status_code == 302, response.text[-300:]
    assert fetch(db, type(customer), customer.id).last_name == "Longer"


# -- the database unavailable: 503, never 500 ------------------------------------------------------


@pytest.fixture
def dead_app(settings):
    """The app on a database that refuses every connection, its session cookie signed with the same key."""
    ops = Operations(retry_after=7)
    cut_off = Settings(database_url=NO_DATABASE, secret_key=settings.secret_key, operations=ops)
    app = create_app(cut_off, make_engine(NO_DATABASE, cut_off))
    yield app
    app.state.engine.dispose()


def _signed_in_cookies(client, make_staff) -> dict[str, str]:
    staff = make_staff(Role.admin)
    assert login(client, staff.email).status_code == 302
    return {"admin_session": client.cookies["admin_session"]}


def test_a_page_answers_503_with_retry_after(dead_app, client, make_staff):
    cookies = _signed_in_cookies(client, make_staff)
    with TestClient(dead_app, cookies=cookies) as cut_off:
        page = cut_off.get("/admin/order/list")
        scripted = cut_off.get("/admin/customer/ajax/lookup?name=x&term=y", headers={"Accept": "application/json"})
        health = cut_off.get("/healthz")
    assert page.status_code == 503 and page.headers["Retry-After"] == "7"
    assert "The database is unavailable" in page.text and 'id="navbar-menu"' in page.text  # inside the layout
    assert page.headers["X-Request-ID"] in page.text
    assert scripted.status_code == 503 and scripted.json()["error"] == "database_unavailable"
    assert health.status_code == 503 and health.json() == {"database": "unavailable"}


def test_a_save_during_an_outage_shows_the_form_again_as_typed(dead_app, client, make_staff, db):
    customer = factories.customer(db, first_name="Ada")
    cookies = _signed_in_cookies(client, make_staff)
    token = client.get("/admin/login").text.split('name="csrf-token" content="')[1].split('"')[0]
    typed = customer_form(customer, first_name="Typed during the outage", csrf_token=token)
    with TestClient(dead_app, cookies=cookies, follow_redirects=False) as cut_off:
        response = cut_off.post(f"/admin/customer/edit/{customer.id}", data=typed)
    assert response.status_code == 503 and response.headers["Retry-After"] == "7"
    assert 'value="Typed during the outage"' in response.text and "The database is unavailable" in response.text
    assert fetch(db, type(customer), customer.id).first_name == "Ada"


def test_a_stranger_gets_no_form_during_an_outage(dead_app):
    with TestClient(dead_app, follow_redirects=False) as stranger:
        token = stranger.get("/admin/login").text.split('name="csrf-token" content="')[1].split('"')[0]
        response = stranger.post("/admin/customer/edit/1", data={"first_name": "x", "csrf_token": token})
    assert response.status_code == 302 and response.headers["location"].endswith("/admin/login")


def test_which_errors_mean_the_database_is_unavailable():
    import psycopg2
    from sqlalchemy import exc

    refused = exc.OperationalError("SELECT 1", {}, psycopg2.OperationalError("connection refused"))
    assert unavailability(refused).kind == "connection"
    assert unavailability(exc.TimeoutError("QueuePool limit")).kind == "pool"
    assert unavailability(DatabaseUnavailable("gone")) is not None
    duplicate = exc.IntegrityError("INSERT", {}, psycopg2.IntegrityError("duplicate key"))
    assert unavailability(duplicate) is None and unavailability(ValueError("x")) is None
    wrapped = RuntimeError("while saving")
    wrapped.__cause__ = refused
    assert unavailability(wrapped) is not None


# -- settings --------------------------------------------------------------------------------------


def test_operations_settings_from_the_environment():
    ops = Operations.from_env(
        {"DB_STATEMENT_TIMEOUT": "3", "ADMIN_WORKERS": "4", "LOG_FORMAT": "JSON", "METRICS_ALLOW_IPS": "10.0.0.0/8"}
    )
    assert ops.db_statement_timeout == 3.0 and ops.workers_for("production") == 4 and ops.log_format == "json"
    assert Operations().workers_for("development") == 1
    for bad in ({"LOG_FORMAT": "xml"}, {"METRICS_ALLOW_IPS": "not-an-ip"}, {"METRICS_TOKEN": "short"}):
        with pytest.raises(OperationsError):
            Operations.from_env(bad)
