"""The confirmation: a previewed batch applied in one transaction — every change or none — by set-based SQL.

1. The batch row is locked (`FOR UPDATE`): two confirmations at once take turns, and the second finds it
   applied and writes nothing ("confirming twice applies once").
2. Every record the preview matched is locked, in key order, and its version compared with the version the
   preview read: one changed or deleted since, and nothing is written; the message names its row. A record
   made meanwhile under a key the file creates is refused the same way.
3. One statement updates the changed records (version + 1) and writes their audit rows (before/after, from
   the same snapshot); one inserts the new records and writes theirs; then one audit row for the import
   (file, counts). The staged rows are dropped and the batch marked applied, in the same transaction.

A refusal by the database (a rule no form could check, a related record deleted) rolls everything back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Integer,
    Numeric,
    Text,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    type_coerce,
    update,
)
from sqlalchemy.dialects.postgresql import INET, JSONB, array
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement
from starlette.requests import Request

from admin_site.audit import log as audit
from admin_site.imports.plan import ImportPlan
from admin_site.imports.preview import R, Rights, staged_value
from admin_site.imports.staging import CREATE, UNCHANGED, UPDATE
from admin_site.refusals import ChangeRefused
from models import AuditLog, ImportBatch

SHOWN_STALE = 5  # rows named when records changed since the preview


class ImportRefused(ChangeRefused):
    """The confirmation wrote nothing (`message` says why: rows changed since the preview, expired, no longer allowed)."""


@dataclass(frozen=True)
class Applied:
    created: int
    updated: int
    unchanged: int
    at: datetime
    again: bool = False  # True: the batch had been applied before; nothing was written now


def _json(column: ColumnElement[Any]) -> ColumnElement[Any]:
    """A value as the audit log keeps it (`audit.jsonable`): exact numbers as strings, long text cut."""
    kind = column.type
    if isinstance(kind, Numeric) and not isinstance(kind, Integer):
        return func.to_jsonb(cast(column, Text))
    if isinstance(kind, (Integer, Boolean, Date, DateTime)):  # numbers and flags as such, times in ISO 8601
        return func.to_jsonb(column)
    text = cast(column, Text)
    limit = audit.MAX_VALUE_LENGTH
    return func.to_jsonb(case((func.length(text) > limit, func.left(text, limit) + "…"), else_=text))


def _changes(names: list[str], before: Any, after: Any) -> ColumnElement[Any]:
    """{"field": {"before": …, "after": …}} for the fields that differ (`before` None: a new record).

    Built as one object of every field, less the keys of those that did not change: one object per row
    (concatenating an object per field was half of a large import's time)."""
    pairs: list[Any] = []
    same: list[Any] = []
    for name in names:
        new = after.c[name]
        old = before.c[name] if before is not None else None
        pair = func.jsonb_build_object(
            "before", _json(old) if old is not None else cast(null(), JSONB), "after", _json(new)
        )
        pairs += [literal(name, Text), pair]
        unchanged = old.is_not_distinct_from(new) if old is not None else new.is_(None)
        same.append(case((unchanged, literal(name, Text)), else_=null()))
    left_out = func.array_remove(array(same, type_=Text), null())
    return type_coerce(func.jsonb_build_object(*pairs).op("-")(left_out), JSONB)


def _audit_rows(request: Request, entity: str, action: str, key: Any, changes: ColumnElement[Any], rows: Any) -> Any:
    """INSERT INTO audit_log one row per row of `rows` (a CTE of the records written, joined to their before)."""
    columns = ["staff_user_id", "action", "entity", "entity_pk", "changes", "ip"]
    chosen = select(
        literal(audit.actor_id(request), Integer),
        literal(action),
        literal(entity),
        cast(key, Text),
        changes,
        cast(literal(audit.client_ip(request), Text), INET),
    ).select_from(rows)
    return insert(AuditLog.__table__).from_select(columns, chosen)


def _stale_rows(session: Session, batch_id: int, plan: ImportPlan) -> list[str]:
    """Matched records changed or deleted since the preview, locked first (in key order) so none moves meanwhile."""
    table = plan.table
    pk = next(iter(table.primary_key.columns))
    matched = and_(R.c.batch_id == batch_id, R.c.outcome.in_([UPDATE, UNCHANGED]))
    session.execute(select(pk).join(R, pk == R.c.target_pk).where(matched).order_by(pk).with_for_update(of=table)).all()
    version = table.c.version if "version" in table.c else null()
    stale = session.execute(
        select(R.c.row_number, R.c.key)
        .outerjoin(table, pk == R.c.target_pk)
        .where(matched, or_(pk.is_(None), version.is_distinct_from(R.c.seen_version)))
        .order_by(R.c.row_number)
        .limit(SHOWN_STALE)
    ).all()
    found = [f"row {number} ({key})" for number, key in stale]
    if not plan.key_is_primary:
        taken = session.execute(
            select(R.c.row_number, R.c.key)
            .join(table, plan.key.column == cast(R.c.key, plan.key.column.type))
            .where(R.c.batch_id == batch_id, R.c.outcome == CREATE)
            .order_by(R.c.row_number)
            .limit(SHOWN_STALE)
        ).all()
        found += [f"row {number} ({key}: made by someone else since)" for number, key in taken]
    return found


def _update(session: Session, request: Request, entity: str, batch_id: int, plan: ImportPlan) -> int:
    table = plan.table
    pk = next(iter(table.primary_key.columns))
    written = [f.column.name for f in plan.fields]
    audited = [*dict.fromkeys(written), *(["version"] if "version" in table.c else [])]
    rows = and_(pk == R.c.target_pk, R.c.batch_id == batch_id, R.c.outcome == UPDATE)
    before = select(*(table.c[n] for n in {pk.name, *audited})).join(R, rows).cte("before")
    values: dict[str, Any] = {f.column.name: staged_value(f) for f in plan.fields}
    if "version" in table.c:
        values["version"] = table.c.version + 1
    if "updated_at" in table.c:
        values["updated_at"] = func.now()
    after = update(table).where(rows).values(values).returning(*table.c).cte("after")
    joined = after.join(before, before.c[pk.name] == after.c[pk.name])
    changes = _changes(audited, before, after)
    result: CursorResult[Any] = session.execute(
        _audit_rows(request, entity, audit.UPDATE, after.c[pk.name], changes, joined)
    )  # type: ignore[assignment]
    return result.rowcount


def _insert(session: Session, request: Request, entity: str, batch_id: int, plan: ImportPlan) -> int:
    table = plan.table
    pk = next(iter(table.primary_key.columns))
    columns = [f.column.name for f in plan.fields]
    chosen = (
        select(*(staged_value(f) for f in plan.fields))
        .where(R.c.batch_id == batch_id, R.c.outcome == CREATE)
        .order_by(R.c.row_number)
    )
    made = insert(table).from_select(columns, chosen).returning(*table.c).cte("made")
    audited = [c.name for c in table.c if c.name not in audit.NOT_AUDITED]
    changes = _changes(audited, None, made)
    result: CursorResult[Any] = session.execute(
        _audit_rows(request, entity, audit.CREATE, made.c[pk.name], changes, made)
    )  # type: ignore[assignment]
    return result.rowcount


def apply(
    session: Session, request: Request, token_hash: str, entity: str, plan: ImportPlan, rights: Rights
) -> Applied:
    """Apply the batch in `session`'s transaction and commit; ImportRefused (nothing written) or Applied."""
    batch = session.execute(
        select(ImportBatch)
        .where(
            ImportBatch.token_hash == token_hash,
            ImportBatch.staff_user_id == audit.actor_id(request),
            ImportBatch.entity == entity,
        )
        .with_for_update()
    ).scalar_one_or_none()
    if batch is None:
        raise LookupError(token_hash)
    counts = batch.counts
    if batch.applied_at is not None:
        applied = counts.get("applied", {})
        return Applied(applied.get(CREATE, 0), applied.get(UPDATE, 0), counts.get(UNCHANGED, 0), batch.applied_at, True)
    _check_batch(session, batch, rights)
    stale = _stale_rows(session, batch.id, plan)
    if stale:
        raise ImportRefused(
            f"Some {rights.noun} records changed after the preview: {', '.join(stale)}. Nothing was written: "
            "upload the file again to see the current values."
        )
    updated = _update(session, request, entity, batch.id, plan) if counts.get(UPDATE) else 0
    created = _insert(session, request, entity, batch.id, plan) if counts.get(CREATE) else 0
    done = {CREATE: created, UPDATE: updated}
    summary = {"file": batch.file_name, "key": batch.key_column, "rows": counts.get("rows", 0), "created": created,
               "updated": updated, "unchanged": counts.get(UNCHANGED, 0), "batch": batch.id}  # fmt: skip
    audit.record(session, request, audit.IMPORT, entity, None, summary)
    now = datetime.now(UTC)
    session.execute(
        update(ImportBatch).where(ImportBatch.id == batch.id).values(applied_at=now, counts={**counts, "applied": done})
    )
    session.execute(delete(R).where(R.c.batch_id == batch.id))
    session.commit()
    return Applied(created, updated, counts.get(UNCHANGED, 0), now)


def _check_batch(session: Session, batch: ImportBatch, rights: Rights) -> None:
    counts = batch.counts
    if batch.expires_at < datetime.now(UTC):
        raise ImportRefused("This preview has expired. Nothing was written: upload the file again.")
    if counts.get("refused"):
        raise ImportRefused(
            f"The preview refused {counts['refused']:,} rows. Nothing was written: correct them in the file and "
            "upload it again."
        )
    if counts.get(CREATE) and not rights.may_create:
        raise ImportRefused(f"Your role may no longer create {rights.noun} records. Nothing was written.")
    if counts.get(UPDATE) and not rights.may_edit:
        raise ImportRefused(f"Your role may no longer change {rights.noun} records. Nothing was written.")
    staged = session.execute(select(func.count()).select_from(R).where(R.c.batch_id == batch.id)).scalar_one()
    if staged != counts.get("rows"):
        raise ImportRefused("This preview's rows are no longer kept (the database restarted). Upload the file again.")
