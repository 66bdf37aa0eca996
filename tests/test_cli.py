"""The `admin-site` command line, run in-process against the test database."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from admin_site.ops import serving
from admin_site.ops.cli import app
from models import Customer, Order, OrderItem, Product, Role, StaffUser
from tests.helpers import login

runner = CliRunner()


def run(database_url: str, *args: str, stdin: str | None = None):
    return runner.invoke(app, list(args), input=stdin, env={"DATABASE_URL": database_url})


def test_migrate_is_idempotent(database_url, db):
    result = run(database_url, "migrate")
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output


def test_create_user_then_log_in(database_url, db, client):
    result = run(
        database_url,
        "create-user",
        "agent@shop.example",
        "--role",
        "support",
        "--password-stdin",
        stdin="a-long-pass-123\n",
    )
    assert result.exit_code == 0, result.output
    with Session(db) as session:
        staff = session.scalar(select(StaffUser).where(StaffUser.email == "agent@shop.example"))
    assert staff.role is Role.support
    assert login(client, "agent@shop.example", "a-long-pass-123").status_code == 302


def test_create_user_refuses_weak_password_and_duplicates(database_url, db):
    weak = run(database_url, "create-user", "weak@shop.example", "--password-stdin", stdin="short\n")
    assert weak.exit_code == 2 and "Password refused" in weak.output
    run(database_url, "create-user", "dup@shop.example", "--password-stdin", stdin="a-long-pass-123\n")
    again = run(database_url, "create-user", "dup@shop.example", "--password-stdin", stdin="a-long-pass-123\n")
    assert again.exit_code != 0 and "already exists" in again.output


def test_create_user_prompts_for_the_password(database_url, db):
    result = run(
        database_url,
        "create-user",
        "prompted@shop.example",
        "--role",
        "admin",
        stdin="a-long-pass-123\na-long-pass-123\n",
    )
    assert result.exit_code == 0, result.output


def test_seed_produces_the_asked_counts(database_url, db):
    result = run(database_url, "seed", "--customers", "40", "--products", "15", "--orders", "120")
    assert result.exit_code == 0, result.output
    with Session(db) as session:
        counted = {m.__name__: session.scalar(select(func.count()).select_from(m)) for m in (Customer, Product, Order)}
        items = session.scalar(select(func.count()).select_from(OrderItem))
    assert counted == {"Customer": 40, "Product": 15, "Order": 120}
    assert 120 <= items <= 600


def test_views_prints_the_inferred_options(database_url):
    result = run(database_url, "views")
    assert result.exit_code == 0
    assert "Orders" in result.output and "search:  number, customer.email" in result.output
    assert "password" not in result.output.split("Staff Users", 1)[1].split("\n\n")[0].split("form:")[0]


@pytest.mark.slow  # a server process of its own
def test_serve_answers_over_http_with_the_collector_settled(database_url, db, tmp_path):
    """`admin-site serve` in its own process: migrates, then serves; the long-lived objects are frozen."""
    import os
    import subprocess
    import sys
    import time
    from pathlib import Path

    import httpx

    from benchmarks.run import free_port

    port = free_port()
    probe = tmp_path / "sitecustomize.py"  # reports the collector's settings once uvicorn is serving
    probe.write_text(
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('gc', gc.get_freeze_count() > 0, gc.get_threshold()[0], flush=True))\n"
    )
    env = {**os.environ, "DATABASE_URL": database_url, "PYTHONPATH": f"{tmp_path}{os.pathsep}{os.getcwd()}"}
    command = [str(Path(sys.executable).parent / "admin-site"), "serve", "--port", str(port)]  # the installed script
    server = subprocess.Popen(command, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, server.stdout.read()
                time.sleep(0.2)
        assert response.json() == {"database": "ok"}
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
    assert f"gc True {serving.YOUNG_OBJECTS_BEFORE_A_COLLECTION}" in output, output
