"""Refused CSRF checks in the audit log: one row per refusal, a few per client address a minute at most.

A forged or stale request is worth a row (who the session said it was, from where, what was asked),
but an attack sends thousands: past `MAX_PER_ADDRESS` rows an address a minute, refusals are only
logged. The count is read in PostgreSQL under an advisory lock on the address, so the limit holds
across processes; each process also remembers the addresses it has seen over the limit this minute,
so a flood from one address does not cost a database round trip per request.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

import anyio
from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request
from starlette.types import Scope

from admin_site.audit.log import CSRF_REFUSED, client_ip
from models import AuditLog, StaffUser

log = logging.getLogger(__name__)

MAX_PER_ADDRESS = 10  # audit rows per client address per minute
PER = timedelta(minutes=1)
LOCKS = 0x5EC3  # advisory lock namespace (login throttle: 0x5EC1, 0x5EC2)
REMEMBERED = 10_000  # addresses a process remembers as over the limit (forgotten all at once beyond)

OnRefusal = Callable[[Scope, str], Awaitable[None]]


class OverTheLimit:
    """Addresses known, in this process, to be over the limit in the current minute."""

    def __init__(self) -> None:
        self.minute = 0
        self.addresses: set[str | None] = set()

    def _now(self) -> int:
        minute = int(time.monotonic() // PER.total_seconds())
        if minute != self.minute or len(self.addresses) > REMEMBERED:
            self.minute, self.addresses = minute, set()
        return minute

    def __contains__(self, address: str | None) -> bool:
        self._now()
        return address in self.addresses

    def add(self, address: str | None) -> None:
        self._now()
        self.addresses.add(address)


def record(session: Session, ip: str | None, staff_id: int | None, changes: dict[str, str]) -> bool:
    """One audit row for a refusal, unless the address has its share this minute; whether one was written."""
    session.execute(select(func.pg_advisory_xact_lock(LOCKS, func.hashtext(ip or ""))))
    recent = select(func.count()).where(
        AuditLog.action == CSRF_REFUSED, AuditLog.ip.is_not_distinct_from(ip), AuditLog.at > func.now() - PER
    )
    if (session.scalar(recent) or 0) >= MAX_PER_ADDRESS:
        return False
    # The session's staff id, if it names somebody: a forged request made on their behalf.
    who = select(StaffUser.id).where(StaffUser.id == staff_id).scalar_subquery() if staff_id else None
    session.execute(insert(AuditLog).values(staff_user_id=who, action=CSRF_REFUSED, changes=changes, ip=ip))
    session.commit()
    return True


def recorder(session_factory: sessionmaker[Session], staff_key: str) -> OnRefusal:
    """The CSRF middleware's `on_refusal`: records in a worker thread; never turns the 403 into an error."""
    over = OverTheLimit()

    async def on_refusal(scope: Scope, problem: str) -> None:
        request = Request(scope)
        ip = client_ip(request)
        if ip in over:
            return
        staff_id = scope.get("session", {}).get(staff_key)
        changes = {"method": request.method, "path": request.url.path[:500], "problem": problem[:200]}

        def write() -> bool:
            with session_factory() as session:
                return record(session, ip, staff_id if isinstance(staff_id, int) else None, changes)

        try:
            if not await anyio.to_thread.run_sync(write):
                over.add(ip)
        except Exception:
            log.exception("could not record a CSRF refusal of %s %s", request.method, request.url.path)

    return on_refusal
