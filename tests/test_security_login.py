"""Login: one answer for every wrong guess, throttling shared by all app processes, records, hashing."""

from __future__ import annotations

import dataclasses
import statistics
import time

import pytest
from argon2 import PasswordHasher
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from admin_site.app import create_app
from admin_site.auth.passwords import hash_password, needs_rehash, password_problem
from models import LoginAttempt, Role, StaffUser
from tests.helpers import CSRF_IN_PAGE, PASSWORD, browser_client, login, staff_form


def attempts(db) -> list[LoginAttempt]:
    with Session(db) as session:
        return list(session.scalars(select(LoginAttempt).order_by(LoginAttempt.id)))


@pytest.mark.slow  # log-ins timed at the production Argon2 cost
def test_unknown_email_and_wrong_password_get_the_same_answer_in_about_the_same_time(
    client, make_staff, production_password_hashing
):
    staff = make_staff(Role.admin, password_hash=hash_password(PASSWORD))  # the hash's cost is what is timed
    wrong = login(client, staff.email, "not-the-password-1")
    unknown = login(client, "nobody@shop.example", "not-the-password-1")
    inactive = login(client, make_staff(Role.admin, is_active=False).email, PASSWORD)
    assert wrong.status_code == unknown.status_code == inactive.status_code == 400
    same = {CSRF_IN_PAGE.sub("", r.text) for r in (wrong, unknown, inactive)}
    assert len(same) == 1 and "Invalid credentials" in same.pop()

    def timed(email: str) -> float:
        start = time.perf_counter()
        login(client, email, "not-the-password-1")
        return time.perf_counter() - start

    known = statistics.median(timed(staff.email) for _ in range(4))
    nobody = statistics.median(timed(f"nobody{i}@shop.example") for i in range(4))
    # Both verify one Argon2 hash (a dummy one for an unknown e-mail): no shortcut to time.
    assert 0.5 < nobody / known < 2, (known, nobody)


def test_successful_and_failed_logins_are_recorded(client, make_staff, db):
    staff = make_staff(Role.viewer, email="Rec.Orded@shop.example")
    login(client, staff.email, "wrong-password-1")
    login(client, "  rec.orded@SHOP.example ", PASSWORD)
    rows = attempts(db)
    assert [(r.email, r.succeeded, r.throttled) for r in rows] == [
        ("rec.orded@shop.example", False, False),
        ("rec.orded@shop.example", True, False),
    ]
    assert all(r.ip == "testclient" and r.at is not None for r in rows)


def fail(client, email: str, times: int) -> list[int]:
    return [login(client, email, f"wrong-guess-{i}").status_code for i in range(times)]


def test_throttling_is_shared_by_two_app_instances(settings, database_url, make_staff, db):
    """Two create_app() calls with engines of their own, as two processes would have."""
    staff = make_staff(Role.admin)
    engines = [create_engine(database_url) for _ in range(2)]
    try:
        apps = [create_app(settings, engine) for engine in engines]
        with browser_client(apps[0]) as one, browser_client(apps[1]) as two:
            for i in range(10):  # 5 failures through each instance
                assert login(one if i % 2 else two, staff.email, f"wrong-guess-{i}").status_code == 400
            for client in (one, two):
                refused = login(client, staff.email, PASSWORD)  # even the right password, now
                assert refused.status_code == 429
                assert "Too many failed log-in attempts" in refused.text and "Try again in 15 minutes" in refused.text
                assert int(refused.headers["retry-after"]) > 800
                assert client.get("/admin/").status_code == 302
    finally:
        for engine in engines:
            engine.dispose()
    rows = attempts(db)
    assert sum(not r.succeeded and not r.throttled for r in rows) == 10
    assert sum(r.throttled for r in rows) == 2 and not any(r.succeeded for r in rows)


def test_concurrent_guesses_never_exceed_the_limit(settings, database_url, make_staff, db):
    """Guesses racing through several app instances at once: still no more than 10 are heard."""
    from concurrent.futures import ThreadPoolExecutor

    staff = make_staff(Role.admin)
    engines = [create_engine(database_url) for _ in range(3)]
    try:
        apps = [create_app(settings, engine) for engine in engines]

        def guess(i: int) -> int:
            with TestClient(apps[i % 3], follow_redirects=False) as client:
                return login(client, staff.email, f"wrong-guess-{i}").status_code

        with ThreadPoolExecutor(max_workers=8) as pool:
            codes = list(pool.map(guess, range(16)))
    finally:
        for engine in engines:
            engine.dispose()
    assert codes.count(400) == 10 and codes.count(429) == 6


def test_per_address_limit(make_staff, settings, engine, db):
    app = create_app(dataclasses.replace(settings, login_max_failures_per_address=4), engine)
    staff = make_staff(Role.viewer)
    with TestClient(app, follow_redirects=False) as client:
        for i in range(4):  # four different accounts from one address
            assert login(client, f"guess{i}@shop.example", "wrong-guess-1").status_code == 400
        assert login(client, staff.email, PASSWORD).status_code == 429


def test_a_success_resets_the_count_of_its_address(settings, engine, make_staff, db):
    app = create_app(dataclasses.replace(settings, login_max_failures_per_account_and_address=3), engine)
    staff = make_staff(Role.viewer)
    with TestClient(app, follow_redirects=False) as client:
        assert fail(client, staff.email, 2) == [400, 400]
        assert login(client, staff.email).status_code == 302
        assert fail(client, staff.email, 3) == [400, 400, 400]
        assert login(client, staff.email).status_code == 429


def test_failures_age_out_of_the_window(client, make_staff, db):
    staff = make_staff(Role.viewer)
    fail(client, staff.email, 10)
    assert login(client, staff.email).status_code == 429
    with db.begin() as conn:  # sixteen minutes later
        conn.execute(LoginAttempt.__table__.update().values(at=LoginAttempt.at - text_interval("16 minutes")))
    assert login(client, staff.email).status_code == 302


def text_interval(value: str):
    from sqlalchemy import literal_column

    return literal_column(f"interval '{value}'")


def test_a_weak_old_hash_is_upgraded_at_login_without_ending_sessions(
    client, make_staff, db, production_password_hashing
):
    """The app hashes with the production parameters here (the other tests hash cheaply)."""
    staff = make_staff(Role.viewer)
    weak = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash(PASSWORD)
    with Session(db) as session:
        row = session.get(StaffUser, staff.id)
        row.password_hash = weak
        session.commit()
        epoch, version = row.session_epoch, getattr(row, "version", None)
    assert login(client, staff.email).status_code == 302
    with Session(db) as session:
        row = session.get(StaffUser, staff.id)
        assert row.password_hash != weak and row.password_hash.startswith("$argon2id$")
        assert not PasswordHasher().check_needs_rehash(row.password_hash) and not needs_rehash(row.password_hash)
        assert row.session_epoch == epoch and getattr(row, "version", None) == version
    assert client.get("/admin/").status_code == 200
    client.post("/admin/logout")
    assert login(client, staff.email).status_code == 302  # the new hash holds the same password


def test_the_app_hashes_with_the_strong_parameters_by_default():
    """Only use_hasher lowers them, and only the tests call it: a process of its own hashes with argon2-cffi's
    defaults, RFC 9106's low-memory choice (Argon2id, 64 MiB, 3 passes, 4 lanes)."""
    import subprocess
    import sys

    program = "from admin_site.auth.passwords import hash_password; print(hash_password('x'))"
    hashed = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, check=True).stdout
    assert hashed.startswith("$argon2id$v=19$m=65536,t=3,p=4$"), hashed


# -- the password policy, wherever a password is set ---------------------------------------------------


@pytest.mark.parametrize(
    "weak",
    ["short-1", "onlyletterslong", "1234567890123", " padded-pass-1 ", "password12", "qwerty12345", "Summer2024!"],
)
def test_the_policy_refuses_weak_passwords(weak):
    assert password_problem(weak)


def test_the_policy_refuses_common_and_leaked_passwords_and_ones_own_name():
    """zxcvbn's list of passwords from breaches, offline: `password12` met every rule but this one."""
    assert "too easy to guess" in (password_problem("password12") or "")
    assert "too easy to guess" in (password_problem("iloveyou2024") or "")
    assert password_problem("vandenbergquist7") is None  # a rare word: fine for anyone but its owner
    assert password_problem("vandenbergquist7", ["anna.vandenbergquist@shop.example", "Anna Vandenbergquist"])
    assert password_problem("correct-horse-42") is None and password_problem("a-brand-new-pass-9") is None


def test_staff_form_applies_the_policy(client, login_as, make_staff, db):
    login_as(Role.admin)
    them = make_staff(Role.viewer)
    before = them.password_hash
    response = client.post(f"/admin/staff-user/edit/{them.id}", data=staff_form(them, new_password="onlyletterslong"))
    assert response.status_code == 400 and "Mix letters with digits" in response.text
    with Session(db) as session:
        assert session.get(StaffUser, them.id).password_hash == before


def test_cli_helper_applies_the_policy(db):
    import typer

    from admin_site.ops.cli import add_staff

    with pytest.raises(typer.BadParameter, match="at least 10 characters"):
        add_staff(db, "weak@shop.example", "short-1", Role.viewer)


def test_a_password_typed_into_the_email_field_is_neither_stored_nor_logged(client, db, caplog):
    caplog.set_level("DEBUG")
    login(client, "Sup3r-Secret-Passw0rd", "whatever-1")
    assert "sup3r" not in caplog.text.lower()
    with db.connect() as conn:
        dump = " ".join(str(row) for table in ("login_attempts", "audit_log")
                        for row in conn.exec_driver_sql(f"SELECT * FROM {table}"))  # fmt: skip
    assert "sup3r" not in dump.lower()
    assert [a.email for a in attempts(db)] == ["(not an e-mail address)"]
