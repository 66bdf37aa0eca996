"""The audit trail: who did what, when, from where, to which record, and the values before and after.

Use `record(session, request, action, entity, entity_pk, changes)` inside the transaction that makes
the change: the audit row commits with it or not at all. `record_event` is for events that change
nothing else (a login, a refused request, an export) and commits on its own.

A row's `changes` is `{"field": {"before": ..., "after": ...}}` for the fields that changed (values
as JSON: numbers as strings, times as ISO 8601, secrets as "[redacted]"); see `diff`. Other
actions may put any small JSON object there (an export's filters, a refused request's path).
"""

from __future__ import annotations

import enum
import ipaddress
import logging
import math
import uuid
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import anyio
from sqlalchemy import Integer, Select, case, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, sessionmaker
from starlette.requests import Request

from admin_site.naming import is_secret
from models import AuditLog, StaffUser

log = logging.getLogger(__name__)

REDACTED = "[redacted]"
# Bumped by the database on every update: noise in a record's history.
NOT_AUDITED = frozenset({"updated_at"})
MAX_VALUE_LENGTH = 2000  # a pasted novel in a notes field is kept, in the record, not in the log

# Actions written by the admin itself; bulk actions add their own names (their slugs).
CREATE, UPDATE, DELETE = "create", "update", "delete"
LOGIN, LOGIN_FAILED, DENIED, EXPORT = "login", "login_failed", "denied", "export"
LOGOUT, LOGOUT_EVERYWHERE = "logout", "logout_everywhere"
SESSION_ENDED, ALL_SESSIONS_ENDED = "session_ended", "all_sessions_ended"  # by an admin, on the person's page
CSRF_REFUSED = "csrf_refused"  # a state-changing request without its token or from another site (csrf_refusals.py)
IMPORT = "import"  # a spreadsheet applied (file, counts); each record it changed has its own create/update row
# Events: recorded, but not part of a record's history (its changes).
EVENTS = (LOGIN, LOGIN_FAILED, LOGOUT, LOGOUT_EVERYWHERE, SESSION_ENDED, ALL_SESSIONS_ENDED, DENIED, CSRF_REFUSED)
NOT_CHANGES = (*EVENTS, EXPORT, IMPORT)

STAFF_ENTITY = "staff-user"  # the staff view's identity: a log-in shows in that person's history

_UNSET: Any = object()


def actor_id(request: Request | None) -> int | None:
    staff = getattr(getattr(request, "state", None), "staff_user", None)
    return getattr(staff, "id", None)


def client_ip(request: Request | None) -> str | None:
    """The peer address as PostgreSQL's inet takes it (test clients call themselves "testclient")."""
    host = getattr(getattr(request, "client", None), "host", None)
    if not host:
        return None
    try:
        return str(ipaddress.ip_address(host))
    except ValueError:
        return None


def jsonable(value: Any) -> Any:
    """A column value as JSON keeps it: exact numbers as strings, times in ISO 8601."""
    if value is None or isinstance(value, (bool, int, str)):
        if isinstance(value, str) and len(value) > MAX_VALUE_LENGTH:
            return value[:MAX_VALUE_LENGTH] + "…"
        return value
    if isinstance(value, enum.Enum):
        return jsonable(value.value)
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return f"<{len(bytes(value))} bytes>"
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    return str(value)


def snapshot(obj: Any) -> dict[str, Any]:
    """The row's column values, by attribute name (loads expired ones: call inside the session)."""
    return {attr.key: getattr(obj, attr.key) for attr in sa_inspect(obj).mapper.column_attrs}


def diff(before: dict[str, Any] | None, after: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """The changed fields as {"field": {"before": b, "after": a}}; None for a side that is absent."""
    before, after = before or {}, after or {}
    changes: dict[str, dict[str, Any]] = {}
    for key in dict.fromkeys([*before, *after]):
        if key in NOT_AUDITED:
            continue
        old, new = before.get(key), after.get(key)
        if old == new and type(old) is type(new):
            continue
        if jsonable(old) == jsonable(new):
            continue
        if is_secret(key):
            changes[key] = {
                "before": REDACTED if old is not None else None,
                "after": REDACTED if new is not None else None,
            }
        else:
            changes[key] = {"before": jsonable(old), "after": jsonable(new)}
    return changes


def pk_text(obj: Any) -> str:
    identity = sa_inspect(obj).identity
    if identity is None:
        return ""
    return ",".join(str(v) for v in identity)


def record(
    session: Session,
    request: Request | None,
    action: str,
    entity: str | None = None,
    entity_pk: Any = None,
    changes: dict[str, Any] | None = None,
    *,
    staff_user_id: int | None = _UNSET,
) -> AuditLog:
    """Add one audit row to `session`: it commits (or rolls back) with the session's transaction.

    `entity` is the admin view's identity ("order") or a table name; `entity_pk` its primary key.
    The staff member and client address come from the request unless `staff_user_id` is given
    (a login, where nobody is signed in yet).
    """
    row = AuditLog(
        staff_user_id=actor_id(request) if staff_user_id is _UNSET else staff_user_id,
        action=action[:50],
        entity=entity[:100] if entity else None,
        entity_pk=str(entity_pk)[:100] if entity_pk is not None else None,
        changes=jsonable(changes) if changes is not None else None,
        ip=client_ip(request),
    )
    session.add(row)
    return row


def record_event(session_factory: sessionmaker[Session], request: Request | None, action: str,
                 entity: str | None = None, entity_pk: Any = None, changes: dict[str, Any] | None = None,
                 *, staff_user_id: int | None = _UNSET) -> None:  # fmt: skip
    """`record` in a transaction of its own, for events that change nothing else. Blocking: run it
    in a worker thread (`anyio.to_thread.run_sync`) from async code."""
    with session_factory() as session:
        record(session, request, action, entity, entity_pk, changes, staff_user_id=staff_user_id)
        session.commit()


def record_login(session: Session, request: Request | None, email: str, staff: Any) -> None:
    """A log-in attempt: who (when it succeeded), or the e-mail that was tried (when it did not)."""
    if staff is not None:
        record(session, request, LOGIN, STAFF_ENTITY, staff.id, staff_user_id=staff.id)
    else:
        record(session, request, LOGIN_FAILED, STAFF_ENTITY, None, {"email": email[:254]}, staff_user_id=None)


async def record_denied(session_factory: sessionmaker[Session], request: Request) -> None:
    """A refused request (403): who asked for what, and on which rows. Never turns the 403 into an error page."""
    changes: dict[str, Any] = {"method": request.method, "path": request.url.path[:500]}
    identity, pk = request.path_params.get("identity"), request.path_params.get("pk")
    if "slug" in request.path_params:  # a bulk action: which one, on which selected rows
        selected = await _selected_keys(request)
        changes.update(action=request.path_params["slug"], selected=selected[:100])
        pk = ",".join(selected)[:100] or None
    try:
        await anyio.to_thread.run_sync(lambda: record_event(session_factory, request, DENIED, identity, pk, changes))
    except Exception:
        log.exception("could not record the denied request %s %s", request.method, request.url.path)


async def _selected_keys(request: Request) -> list[str]:
    """The rows a bulk-action request names: `pks` of the query (the confirmation page) or of the form (the
    action's POST, whose body nobody has read when the guard refuses it)."""
    raw = request.query_params.get("pks") or ""
    if not raw and request.method == "POST":
        try:
            raw = str((await request.form()).get("pks") or "")
        except Exception:  # a body already read, or not a form: the refusal is recorded without the rows
            raw = ""
    return [key.strip()[:40] for key in raw.split(",") if key.strip()]


# -- reading -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    id: int
    at: datetime
    staff_email: str | None
    action: str
    entity: str | None
    entity_pk: str | None
    changes: dict[str, Any] | None
    ip: str | None


def _entries(session: Session, stmt: Select[tuple[AuditLog]]) -> list[Entry]:
    rows = session.execute(
        stmt.add_columns(StaffUser.email).outerjoin(StaffUser, StaffUser.id == AuditLog.staff_user_id)
    ).all()
    return [
        Entry(
            log.id, log.at, email, log.action, log.entity, log.entity_pk, log.changes, str(log.ip) if log.ip else None
        )
        for log, email in rows
    ]


def history(session: Session, entity: str, entity_pk: str, limit: int = 500) -> list[Entry]:
    """One record's changes, newest first (not the refused requests or log-ins that name it)."""
    stmt = (
        select(AuditLog)
        .where(AuditLog.entity == entity, AuditLog.entity_pk == str(entity_pk), AuditLog.action.not_in(NOT_CHANGES))
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .limit(limit)
    )
    return _entries(session, stmt)


def recent_for(session: Session, staff_user_id: int, limit: int = 10) -> list[Entry]:
    """What one staff member did last, newest first."""
    stmt = (
        select(AuditLog)
        .where(AuditLog.staff_user_id == staff_user_id)
        .order_by(AuditLog.at.desc(), AuditLog.id.desc())
        .limit(limit)
    )
    return _entries(session, stmt)


def changes_since(session: Session, entity: str, entity_pk: str, version: int) -> list[Entry]:
    """The entries that moved a record on from `version` (their `version.before` is at least it)."""
    seen = AuditLog.changes["version"]["before"].astext
    stmt = (
        select(AuditLog)
        .where(
            AuditLog.entity == entity,
            AuditLog.entity_pk == str(entity_pk),
            case((seen.op("~")(r"^\d{1,9}$"), seen.cast(Integer)), else_=None) >= version,
        )
        .order_by(AuditLog.at, AuditLog.id)
    )
    return _entries(session, stmt)
