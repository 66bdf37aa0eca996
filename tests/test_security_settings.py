"""Secrets: a real SECRET_KEY outside development, and no password, hash or key in the logs."""

from __future__ import annotations

import dataclasses
import logging

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from admin_site.app import create_app
from admin_site.db.engine import make_engine
from admin_site.settings import DEVELOPMENT_SECRET_KEY, ConfigurationError, Settings
from models import Role, StaffUser
from tests.helpers import PASSWORD, csrf_token_of, login

STRONG = "k" * 16 + "3Xq9-random-enough-secret-value"
DB = "postgresql+psycopg2://shop@db.internal/shop"


@pytest.mark.parametrize(
    "env",
    [
        {"ADMIN_ENV": "production", "DATABASE_URL": DB},
        {"ADMIN_ENV": "production", "DATABASE_URL": DB, "SECRET_KEY": DEVELOPMENT_SECRET_KEY},
        {"ADMIN_ENV": "production", "DATABASE_URL": DB, "SECRET_KEY": "short-secret"},
        {"ADMIN_ENV": "staging", "DATABASE_URL": DB},
        {"ADMIN_ENV": "prodution", "DATABASE_URL": DB},  # a typo is not development
        {
            "ADMIN_ENV": "production",
            "SECRET_KEY": STRONG,
            "ADMIN_ALLOWED_HOSTS": "admin.shop.example",
        },  # no embedded db
        {"ADMIN_ENV": "production", "SECRET_KEY": STRONG, "DATABASE_URL": DB},  # and no host left unsaid
        {"ADMIN_ENV": "production", "SECRET_KEY": STRONG, "DATABASE_URL": DB, "ADMIN_ALLOWED_HOSTS": " , "},
    ],
    ids=["no-key", "dev-key", "short-key", "staging", "typo", "no-database", "no-hosts", "empty-hosts"],
)
def test_settings_refuse_to_run_without_a_real_secret(env):
    with pytest.raises(ConfigurationError):
        Settings.from_env(env)


def test_settings_accept_a_real_setup():
    settings = Settings.from_env({"ADMIN_ENV": "production", "DATABASE_URL": DB, "SECRET_KEY": STRONG,
                                  "SESSION_HTTPS_ONLY": "true", "SESSION_IDLE_TIMEOUT": "900",
                                  "ADMIN_ALLOWED_HOSTS": "admin.shop.example, *.internal.example",
                                  "ADMIN_TRUSTED_ORIGINS": "https://admin.shop.example/, https://b.example"})  # fmt: skip
    assert settings.https_only and settings.session_idle_timeout == 900 and settings.session_max_age == 28800
    assert settings.trusted_origins == ("https://admin.shop.example", "https://b.example")
    assert settings.hosts == ("admin.shop.example", "*.internal.example")
    development = Settings.from_env({})
    assert development.secret_key == DEVELOPMENT_SECRET_KEY  # development keeps working
    assert development.hosts == ("localhost", "127.0.0.1", "testserver")


def test_the_replaced_per_account_limit_is_refused_rather_than_ignored():
    """It once locked an account for anyone who typed ten wrong passwords: a deployment still setting it is told."""
    with pytest.raises(ConfigurationError, match="LOGIN_ACCOUNT_CEILING"):
        Settings.from_env({"LOGIN_MAX_FAILURES_PER_ACCOUNT": "10"})


def test_create_app_refuses_the_development_key_in_production(engine):
    settings = Settings(
        environment="production", secret_key=DEVELOPMENT_SECRET_KEY, database_url=DB, allowed_hosts=("a.example",)
    )
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        create_app(settings, engine)
    with pytest.raises(ConfigurationError):
        create_app(dataclasses.replace(settings, secret_key="too-short"), engine)
    with pytest.raises(ConfigurationError, match="ADMIN_ALLOWED_HOSTS"):
        create_app(dataclasses.replace(settings, secret_key=STRONG, allowed_hosts=()), engine)
    create_app(dataclasses.replace(settings, secret_key=STRONG), engine)  # fine with a real one


def test_sqlalchemy_does_not_add_bound_parameters_to_errors(database_url, settings):
    """(PostgreSQL's own message may still quote a value it refused: such errors never reach a page.)"""
    engine = make_engine(database_url, settings)
    try:
        with pytest.raises(DBAPIError) as raised, engine.connect() as conn:
            conn.execute(text("SELECT 1 FROM no_such_table WHERE :a = :b"), {"a": "x", "b": "hunter2-secret-value"})
        assert "SQL parameters hidden" in str(raised.value)
        assert "[parameters:" not in str(raised.value)
    finally:
        engine.dispose()


def test_no_secret_reaches_the_logs(client, make_staff, login_as, settings, db, caplog):
    caplog.set_level(logging.DEBUG)
    staff = make_staff(Role.support)
    login(client, staff.email, "wrong-password-77")
    login(client, "nobody@shop.example", "another-wrong-88")
    login(client, staff.email)
    token = csrf_token_of(client)
    client.post("/admin/account/password", data={"current_password": PASSWORD, "new_password": "brand-new-pass-99",
                                                 "repeat_password": "brand-new-pass-99"})  # fmt: skip
    client.post("/admin/logout", headers={"X-CSRF-Token": "forged-token-value"})  # refused, logged
    client.post("/admin/logout")
    login_as(Role.admin)
    client.post("/admin/staff-user/create", data={"email": "new@shop.example", "full_name": "New", "role": "viewer",
                                                  "is_active": "y", "new_password": "created-pass-55"})  # fmt: skip
    for i in range(11):
        login(client, "target@shop.example", f"guess-number-{i}")
    with Session(db) as session:
        hashes = list(session.scalars(select(StaffUser.password_hash)))
    logged = caplog.text
    assert "login failed" in logged and "CSRF refusal" in logged and "throttled" in logged  # it did log
    secrets = [PASSWORD, "wrong-password-77", "another-wrong-88", "brand-new-pass-99", "created-pass-55",
               "guess-number-3", settings.secret_key, token, "forged-token-value", *hashes]  # fmt: skip
    for secret in secrets:
        assert secret not in logged
    assert "$argon2" not in logged
