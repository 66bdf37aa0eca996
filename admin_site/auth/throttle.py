"""Throttling of failed logins, per account and per client address, counted in PostgreSQL.

Every attempt is a row of `login_attempts`, written *before* the password is checked (as a failure,
turned into a success afterwards). Counting and writing happen under transaction-level advisory
locks on the account and on the address, so however many app processes answer at once, no more than
the allowed number of guesses is ever let through.

A failure counts for its account until the window has passed or the account logs in successfully;
for its address until the window has passed (a success does not reset an address: one known account
must not unlock guessing at all the others).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, Row, Select, func, insert, select, update
from sqlalchemy.orm import Session

from admin_site.settings import Settings
from models.security import LoginAttempt as Attempt

# Advisory lock namespaces (two-key form: namespace, hashtext(key)).
ACCOUNT_LOCKS = 0x5EC1
ADDRESS_LOCKS = 0x5EC2


@dataclass(frozen=True)
class Reservation:
    """Either an attempt that may go ahead (its row id), or how long to wait before trying again."""

    attempt_id: int | None
    retry_after: int = 0  # seconds

    @property
    def refused(self) -> bool:
        return self.attempt_id is None


NOT_AN_EMAIL = "(not an e-mail address)"


def account_key(email: str) -> str:
    """What a login attempt is recorded (and logged) under: the e-mail, normalised.

    Input without an @ is not kept as typed: it is usually a password typed into the wrong field.
    """
    key = email.strip().lower()[:254]
    return key if "@" in key else NOT_AN_EMAIL


# (failures counted, the oldest one's time, the database's time now)
Failures = tuple[int, datetime, datetime]


def _failures(*conditions: ColumnElement[bool]) -> Select[Failures]:
    return select(func.count(), func.min(Attempt.at), func.now()).where(
        Attempt.succeeded.is_(False), Attempt.throttled.is_(False), *conditions
    )


def _wait(row: Row[Failures], window: timedelta) -> int:
    """Seconds until the oldest counted failure leaves the window (and a try is free again)."""
    _, oldest, now = row
    return max(1, math.ceil((oldest + window - now).total_seconds()))


def reserve(session: Session, settings: Settings, email: str, ip: str | None) -> Reservation:
    """Record an attempt as failed and let it go ahead, or record it as throttled and refuse it.

    Commits: the row must be visible to every other process before the (slow) password check.
    """
    key = account_key(email)
    window = timedelta(seconds=settings.login_throttle_window)
    session.execute(select(func.pg_advisory_xact_lock(ACCOUNT_LOCKS, func.hashtext(key))))
    if ip:
        session.execute(select(func.pg_advisory_xact_lock(ADDRESS_LOCKS, func.hashtext(ip))))
    since = func.now() - window
    last_success = (
        select(func.max(Attempt.at)).where(Attempt.email == key, Attempt.succeeded.is_(True)).scalar_subquery()
    )
    by_account = session.execute(
        _failures(Attempt.email == key, Attempt.at > func.greatest(since, func.coalesce(last_success, since)))
    ).one()
    wait = 0
    if by_account[0] >= settings.login_max_failures_per_account:
        wait = _wait(by_account, window)
    if ip and not wait:
        by_address = session.execute(_failures(Attempt.ip == ip, Attempt.at > since)).one()
        if by_address[0] >= settings.login_max_failures_per_address:
            wait = _wait(by_address, window)
    attempt_id = session.scalar(
        insert(Attempt).values(email=key, ip=ip, succeeded=False, throttled=bool(wait)).returning(Attempt.id)
    )
    session.commit()
    return Reservation(None, wait) if wait else Reservation(attempt_id)


def record_success(session: Session, attempt_id: int) -> None:
    session.execute(update(Attempt).where(Attempt.id == attempt_id).values(succeeded=True))


def describe_wait(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
