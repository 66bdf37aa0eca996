"""Throttling of log-in attempts, counted in PostgreSQL, shaped so that a stranger cannot lock anyone out.

Every attempt is a row of `login_attempts`, written *before* the password is checked (as a failure,
turned into a success afterwards). Counting and writing happen under transaction-level advisory
locks on the account and on the address, so however many app processes answer at once, the limits
hold exactly. Within the window (`login_throttle_window`), counting failures:

- **account and address together**: after `login_max_failures_per_account_and_address` failures since
  that pair's last success, that address may not try that account again (refused: 429). This is what
  stops a guesser; it costs the person nothing unless they share the guesser's address.
- **address alone**: after `login_max_failures_per_address` failures on any accounts, that address may
  try none (429): one address spraying many accounts.
- **account alone**: never refused below `login_account_ceiling`, a number only an attack from many
  addresses reaches; from `login_slowdown_after` failures on, each attempt is answered after a growing
  delay instead (doubling from `login_first_delay` up to `login_max_delay` seconds), waited out on the
  event loop without holding a connection or a thread (`reserve_and_wait`).
- **known addresses**: an address the person logged in from successfully within
  `login_known_address_days` is held to the first rule only. Failures from elsewhere neither slow
  down nor stop the person there.

The trade-off (README, Security): guesses at one account from many addresses are slowed and capped,
not stopped, until the ceiling; a person on a new address may wait while their account is attacked.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio
from sqlalchemy import ColumnElement, Select, exists, false, func, insert, select, true, update
from sqlalchemy.orm import Session, sessionmaker

from admin_site.settings import Settings
from models.security import LoginAttempt as Attempt

# Advisory lock namespaces (two-key form: namespace, hashtext(key)).
ACCOUNT_LOCKS = 0x5EC1
ADDRESS_LOCKS = 0x5EC2


@dataclass(frozen=True)
class Reservation:
    """An attempt that may go ahead (its row id, and how long to wait first), or one that is refused:
    how long before trying again, and why."""

    attempt_id: int | None
    retry_after: int = 0  # seconds, when refused
    delay: float = 0.0  # seconds to wait before the password is checked
    refusal: str = ""  # the sentence the log-in page shows

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


@dataclass(frozen=True)
class Counts:
    """Failures within the window: (number, the oldest one's time) per account, per account and address,
    per address; whether the address is a known one of the account; the database's time now."""

    account: tuple[int, datetime | None]
    pair: tuple[int, datetime | None]
    address: tuple[int, datetime | None]
    known: bool
    now: datetime


def _failures(*conditions: ColumnElement[bool]) -> Select[tuple[int, datetime]]:
    return select(func.count().label("n"), func.min(Attempt.at).label("oldest")).where(
        Attempt.succeeded.is_(False), Attempt.throttled.is_(False), *conditions
    )


def _count(session: Session, settings: Settings, key: str, ip: str | None) -> Counts:
    """Every count the decision needs, in one statement."""
    since = func.now() - timedelta(seconds=settings.login_throttle_window)
    same_address = Attempt.ip.is_not_distinct_from(ip)
    pair_success = (
        select(func.max(Attempt.at))
        .where(Attempt.email == key, same_address, Attempt.succeeded.is_(True))
        .scalar_subquery()
    )
    account = _failures(Attempt.email == key, Attempt.at > since).subquery()
    pair = _failures(
        Attempt.email == key, same_address, Attempt.at > func.greatest(since, func.coalesce(pair_success, since))
    ).subquery()
    address = _failures(Attempt.ip == ip, Attempt.at > since).subquery()
    known_since = func.now() - timedelta(days=settings.login_known_address_days)
    known = exists().where(
        Attempt.email == key, Attempt.ip == ip, Attempt.succeeded.is_(True), Attempt.at > known_since
    )
    row = session.execute(
        select(*account.c, *pair.c, *address.c, known if ip else false(), func.now())
        .select_from(account)
        .join(pair, true())
        .join(address, true())
    ).one()
    return Counts((row[0], row[1]), (row[2], row[3]), (row[4], row[5]) if ip else (0, None), bool(row[6]), row[7])


def _wait(counted: tuple[int, datetime | None], now: datetime, window: timedelta) -> int:
    """Seconds until the oldest counted failure leaves the window (and a try is free again)."""
    oldest = counted[1] or now
    return max(1, math.ceil((oldest + window - now).total_seconds()))


def decide(counts: Counts, settings: Settings) -> tuple[int, str, float]:
    """(seconds to wait before trying again, why) for a refused attempt, else (0, "", delay in seconds)."""
    window = timedelta(seconds=settings.login_throttle_window)
    if counts.pair[0] >= settings.login_max_failures_per_account_and_address:
        return _wait(counts.pair, counts.now, window), "for this account from this address", 0.0
    if counts.known:
        return 0, "", 0.0
    if counts.address[0] >= settings.login_max_failures_per_address:
        return _wait(counts.address, counts.now, window), "from this address", 0.0
    if counts.account[0] >= settings.login_account_ceiling:
        return _wait(counts.account, counts.now, window), "for this account", 0.0
    beyond = counts.account[0] - settings.login_slowdown_after
    if beyond < 0:
        return 0, "", 0.0
    return 0, "", min(settings.login_first_delay * 2.0 ** min(beyond, 30), settings.login_max_delay)


def reserve(session: Session, settings: Settings, email: str, ip: str | None) -> Reservation:
    """Record an attempt as failed and let it go ahead (perhaps after a delay), or record it as
    throttled and refuse it.

    Commits: the row must be visible to every other process before the (slow) password check.
    """
    key = account_key(email)
    session.execute(select(func.pg_advisory_xact_lock(ACCOUNT_LOCKS, func.hashtext(key))))
    if ip:
        session.execute(select(func.pg_advisory_xact_lock(ADDRESS_LOCKS, func.hashtext(ip))))
    wait, why, delay = decide(_count(session, settings, key, ip), settings)
    attempt_id = session.scalar(
        insert(Attempt).values(email=key, ip=ip, succeeded=False, throttled=bool(wait)).returning(Attempt.id)
    )
    session.commit()
    if wait:
        message = f"Too many failed log-in attempts {why}. Try again in {describe_wait(wait)}."
        if why == "for this account":
            message = message[:-1] + ", or from an address you have logged in from before."
        return Reservation(None, wait, refusal=message)
    return Reservation(attempt_id, delay=delay)


async def reserve_and_wait(
    session_factory: sessionmaker[Session], settings: Settings, email: str, ip: str | None
) -> Reservation:
    """`reserve` on a worker thread, then its delay waited out on the event loop (no connection held)."""

    def in_own_session() -> Reservation:
        with session_factory() as session:
            return reserve(session, settings, email, ip)

    reservation = await anyio.to_thread.run_sync(in_own_session)
    if reservation.delay:
        await anyio.sleep(reservation.delay)
    return reservation


def record_success(session: Session, attempt_id: int) -> None:
    session.execute(update(Attempt).where(Attempt.id == attempt_id).values(succeeded=True))


def describe_wait(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} minute{'s' if minutes != 1 else ''}"
