"""Writes made through the admin: each in one transaction, with its audit row, never over someone else's.

SQLAdmin's insert, update and delete each open a session of their own and commit before its audit
hook runs, and its delete route deletes the selected rows one transaction at a time. Here:

- `insert`, `update`: the change and its audit row commit together, or neither does; a value that
  a bulk action the role may not run would set is refused (`action_fields.refuse_withheld`);
- `update` compares the version the form showed with the row's, under a row lock, and refuses
  a save based on a stale read with a `Conflict` that lists their values against yours;
- `delete`: every selected row in one transaction, each checked against the version the page
  showed; one row that cannot go (a foreign key, a changed row) and none goes.

These functions block (they run SQL): call them from a worker thread. The view's async hooks
(`on_model_change`, `after_model_change`, `on_model_delete`, `after_model_delete`) are called
back on the event loop, as SQLAdmin does.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import anyio.from_thread
from sqladmin.helpers import slugify_class_name
from sqlalchemy import Select, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import RelationshipDirection, RelationshipProperty, Session, sessionmaker
from sqlalchemy.orm.exc import StaleDataError
from starlette.exceptions import HTTPException
from starlette.requests import Request

from admin_site.audit import log as audit
from admin_site.forms.action_fields import defaults, refuse_withheld
from admin_site.forms.constraint_messages import describe
from admin_site.keys import parse_key
from admin_site.refusals import ChangeRefused, Conflict, FieldConflict, RowsNotFound

if TYPE_CHECKING:
    from models.base import Base

AfterWrite = Callable[[Session, Any], None]  # more work in the same transaction (a record's inline lines)
VERSION = "version"  # the hidden form field and the column (models.base.VersionedMixin)


class WritableView(Protocol):
    """What a write asks of its view (a ShopView): its rows, its sessions, its hooks, its names."""

    name: ClassVar[str]
    identity: ClassVar[str]
    model: ClassVar[type[Base]]
    session_maker: ClassVar[sessionmaker[Session]]
    _form_prop_names: list[str]
    _column_labels: dict[str, Any]

    def row_by_key(self, identifier: str) -> Select[Any]: ...

    def has_permission(self, request: Request, action: str) -> bool: ...

    async def on_model_change(self, data: dict[str, Any], model: Any, is_created: bool, request: Request) -> None: ...

    async def on_model_delete(self, model: Any, request: Request) -> None: ...

    async def check_can_delete(self, request: Request, model: Any) -> bool: ...


def is_versioned(model: type) -> bool:
    return sa_inspect(model).version_id_col is not None


def _seen_version(raw: Any) -> int | None:
    """The version the form was opened at; None when the request did not say (an edit is then
    refused; a delete that names no versions is not checked).

    Anything that is not a version number counts as "some other version": the save is refused.
    """
    if raw is None or raw == "":
        return None
    try:
        return int(str(raw).strip())
    except ValueError:
        return -1


def _noun(view: WritableView) -> str:
    return str(view.name).lower()


def _label(obj: Any) -> str:
    text = str(obj)
    return text if len(text) <= 80 else text[:79] + "…"


INVALID_RELATED = "A related record is not valid: choose it from the list."


def _related_key(column: Any, raw: Any) -> Any:
    key = parse_key(column, str(raw))
    if key is None:
        raise ChangeRefused(INVALID_RELATED)
    return key


def assign(session: Session, obj: Any, data: dict[str, Any]) -> None:
    """The form's values onto `obj`: an empty optional value is NULL; a related row is named by its key."""
    mapper = sa_inspect(type(obj))
    for name, value in data.items():
        relation = mapper.relationships.get(name)
        if relation is None:
            column = mapper.columns.get(name)
            empty = value is None or value == ""
            setattr(obj, name, None if empty and column is not None and column.nullable else value)
        elif not value:
            setattr(obj, name, [] if relation.uselist else None)
        elif relation.direction is RelationshipDirection.MANYTOONE:
            for local, remote in relation.local_remote_pairs:
                setattr(obj, local.key, _related_key(remote, value))
        else:
            target = relation.mapper
            pk = target.primary_key[0]
            keys = [_related_key(pk, raw) for raw in (value if relation.uselist else [value])]
            rows = session.scalars(select(target.class_).where(pk.in_(keys))).all()
            if len(rows) != len(set(keys)):
                raise ChangeRefused(INVALID_RELATED)
            setattr(obj, name, list(rows) if relation.uselist else rows[0])


# -- create and update -----------------------------------------------------------------------------


def insert(view: WritableView, request: Request, data: dict[str, Any], then: AfterWrite | None = None) -> Any:
    data = {k: v for k, v in data.items() if k != VERSION}
    refuse_withheld(view, request, defaults(view.model), data)
    obj = view.model()
    with view.session_maker(expire_on_commit=False) as session:
        anyio.from_thread.run(view.on_model_change, data, obj, True, request)
        assign(session, obj, data)
        session.add(obj)
        session.flush()
        after = audit.snapshot(obj)
        audit.record(session, request, audit.CREATE, view.identity, audit.pk_text(obj), audit.diff(None, after))
        if then is not None:
            then(session, obj)
        session.commit()
    return obj


def update(view: WritableView, request: Request, pk: str, data: dict[str, Any], then: AfterWrite | None = None) -> Any:
    data = dict(data)
    seen = _seen_version(data.pop(VERSION, None))
    versioned = is_versioned(view.model)
    if versioned and seen is None:  # unchecked, it would overwrite whatever was saved since the form was opened
        raise ChangeRefused(
            f"The form did not say which version of this {_noun(view)} it showed, so a change saved since "
            "could be overwritten. Nothing was saved; reload the page and make your change again."
        )
    with view.session_maker(expire_on_commit=False) as session:
        obj = session.execute(view.row_by_key(pk).with_for_update()).scalars().first()
        if obj is None:
            raise ChangeRefused(
                f"This {_noun(view)} no longer exists: someone deleted it after you opened it. Nothing was saved."
            )
        if versioned and obj.version != seen:
            assert seen is not None  # a versioned row's form names its version (refused above if not)
            raise conflict(view, session, obj, seen, data)
        before = audit.snapshot(obj)
        refuse_withheld(view, request, before, data)
        anyio.from_thread.run(view.on_model_change, data, obj, False, request)
        assign(session, obj, data)
        try:
            session.flush()
        except StaleDataError:  # changed between our read and our write: the lock makes this rare
            session.rollback()
            raise ChangeRefused(
                f"Someone else saved this {_noun(view)} at the same moment. Nothing was saved; reload to see their change."
            ) from None
        changes = audit.diff(before, audit.snapshot(obj))
        if changes:
            audit.record(session, request, audit.UPDATE, view.identity, audit.pk_text(obj), changes)
        if then is not None:
            then(session, obj)
        session.commit()
    return obj


# -- conflicts -------------------------------------------------------------------------------------


def show(value: Any) -> str:
    """A value as the conflict table shows it."""
    if value is None or value == "":
        return "(empty)"
    if isinstance(value, Enum):
        return str(value.value)
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC)
            return value.strftime("%Y-%m-%d %H:%M:%S UTC")
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


def _same(theirs: Any, yours: Any) -> bool:
    if theirs in (None, "") and yours in (None, ""):
        return True
    if isinstance(theirs, Enum):
        theirs = theirs.value
    if isinstance(yours, Enum):
        yours = yours.value
    if isinstance(theirs, Decimal) and yours is not None:
        try:
            return theirs == Decimal(str(yours))
        except ArithmeticError:
            return False
    if (
        isinstance(theirs, datetime)
        and isinstance(yours, datetime)
        and (theirs.tzinfo is None) != (yours.tzinfo is None)
    ):
        return False
    return theirs == yours


def _related_label(session: Session, relation: RelationshipProperty[Any], key: Any) -> str:
    if key in (None, "", "__None"):
        return "(empty)"
    target = relation.mapper.class_
    try:
        pk_type = relation.mapper.primary_key[0].type.python_type
        row = session.get(target, pk_type(key))
    except (TypeError, ValueError, NotImplementedError, DBAPIError):
        row = None
    return _label(row) if row is not None else f"#{key}"


def conflict(view: WritableView, session: Session, obj: Any, seen: int, data: dict[str, Any]) -> Conflict:
    """What changed since version `seen`, field by field: their (saved) value against yours."""
    pk = audit.pk_text(obj)
    entries = audit.changes_since(session, view.identity, pk, seen) if seen >= 0 else []
    changed_columns = {name for e in entries for name in (e.changes or {}) if name != VERSION}
    mapper = sa_inspect(view.model)
    fields: list[FieldConflict] = []
    for name in view._form_prop_names:
        if name not in data:
            continue
        relation = mapper.relationships.get(name)
        if relation is not None and relation.direction is RelationshipDirection.MANYTOONE:
            columns = [mapper.get_property_by_column(c).key for c in relation.local_columns]
            theirs_key = getattr(obj, columns[0]) if len(columns) == 1 else None
            yours_key = data[name]
            differs = not _same(theirs_key, None if yours_key in ("", "__None") else _coerce_key(yours_key, theirs_key))
            theirs, yours = _related_label(session, relation, theirs_key), _related_label(session, relation, yours_key)
        elif name in mapper.column_attrs:
            columns = [name]
            theirs_value, yours_value = getattr(obj, name), data[name]
            differs = not _same(theirs_value, yours_value)
            theirs, yours = show(theirs_value), show(yours_value)
        else:
            continue
        touched = bool(changed_columns & set(columns)) if entries else True
        if touched and differs:
            fields.append(FieldConflict(name, view._column_labels.get(name, name), theirs, yours))
    who = sorted({e.staff_email or "someone" for e in entries})
    by = f" ({', '.join(who)})" if who else ""
    message = (
        f"Someone else{by} saved this {_noun(view)} after you opened it, so nothing was saved. "
        + ("Their values are shown next to yours below. " if fields else "")
        + "Your input is still in the form: save again to replace their values with yours, or cancel to keep theirs."
    )
    return Conflict(message, current_version=obj.version, fields=fields, by=entries)


def _coerce_key(raw: Any, like: Any) -> Any:
    if like is None:
        return raw
    try:
        return type(like)(raw)
    except (TypeError, ValueError):
        return raw


# -- delete ----------------------------------------------------------------------------------------


def _cascaded(view: WritableView, session: Session, obj: Any) -> list[tuple[str, str, dict[str, Any]]]:
    """Rows the database will delete with `obj` (ON DELETE CASCADE children): audited with it."""
    found: list[tuple[str, str, dict[str, Any]]] = []
    for relation in sa_inspect(obj).mapper.relationships:
        if relation.direction is not RelationshipDirection.ONETOMANY or len(relation.local_remote_pairs) != 1:
            continue
        local, remote = relation.local_remote_pairs[0]
        if not any((fk.ondelete or "").upper() == "CASCADE" for fk in remote.foreign_keys):
            continue
        table = remote.table
        rows = session.execute(select(table).where(remote == getattr(obj, local.key))).mappings().all()
        entity = entity_for(relation.mapper.class_)
        pk_columns = list(table.primary_key.columns)
        found.extend((entity, ",".join(str(row[c.name]) for c in pk_columns), dict(row)) for row in rows)
    return found


def entity_for(model: type) -> str:
    """The audit log's entity of a model's rows: its view's identity (SQLAdmin's slug of the class name)."""
    return slugify_class_name(model.__name__)


def delete(view: WritableView, request: Request, pks: list[str], versions: list[str] | None = None) -> list[Any]:
    """Delete every row of `pks` in one transaction, or none of them (ChangeRefused says why)."""
    if versions is not None and len(versions) != len(pks):
        raise ChangeRefused("The request named a version for some rows and not for others. Nothing was deleted.")
    versioned = is_versioned(view.model)
    deleted: list[Any] = []
    with view.session_maker(expire_on_commit=False) as session:
        for i, pk in enumerate(pks):
            obj = session.execute(view.row_by_key(pk).with_for_update()).scalars().first()
            if obj is None:
                raise RowsNotFound(f"{view.name} {pk} no longer exists. Nothing was deleted.")
            if not anyio.from_thread.run(view.check_can_delete, request, obj):
                raise HTTPException(status_code=403)
            seen = _seen_version(versions[i]) if versions is not None else None
            if versioned and seen is not None and obj.version != seen:
                raise ChangeRefused(
                    f"{view.name} {_label(obj)} was changed by someone else after this page was shown. "
                    "Nothing was deleted: reload the page, check the change, and delete again if you still mean to."
                )
            anyio.from_thread.run(view.on_model_delete, obj, request)
            label, before, pk_text = _label(obj), audit.snapshot(obj), audit.pk_text(obj)
            children = _cascaded(view, session, obj)
            session.delete(obj)
            try:
                session.flush()
            except DBAPIError as error:
                raise ChangeRefused(f"{view.name} {label}: {describe(error).message} Nothing was deleted.") from error
            except StaleDataError:
                raise ChangeRefused(
                    f"{view.name} {label} was changed at the same moment. Nothing was deleted."
                ) from None
            audit.record(session, request, audit.DELETE, view.identity, pk_text, audit.diff(before, None))
            for entity, child_pk, values in children:
                audit.record(session, request, audit.DELETE, entity, child_pk,
                             {**audit.diff(values, None), "deleted_with": {"before": f"{view.identity} {pk_text}", "after": None}})  # fmt: skip
            deleted.append(obj)
        session.commit()
    return deleted
