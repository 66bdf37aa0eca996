"""Writing a record's inline lines (an order's items) in the record's own transaction.

Each posted line is created, changed or removed; each existing line is locked and compared with the
version the form showed; a line the form did not show (added by someone else since) or one that has
gone is a conflict. Every line changed gets its audit row. A refusal names the line's field, so the
form shows it next to that line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from starlette.requests import Request

from admin_site.audit import log as audit
from admin_site.forms.constraint_messages import describe
from admin_site.forms.writes import assign, entity_for, show
from admin_site.refusals import ChangeRefused, Conflict, FieldConflict


@dataclass(frozen=True)
class InlineLine:
    field_prefix: str  # `items-0`: where the form shows this line
    key: str | None  # an existing line's primary key
    version: str | None  # the version the form showed
    delete: bool
    values: dict[str, Any]  # column values (`product_id`, `quantity`, `unit_price`)


@dataclass(frozen=True)
class InlineChanges:
    child: type[Any]
    parent_key_column: ColumnElement[Any]  # the child's column naming the parent (`order_items.order_id`)
    parent_attribute: str  # the child's attribute that column maps to (`order_id`)
    lines: list[InlineLine]
    shown: list[str]  # keys of the lines the form showed
    labels: dict[str, str]  # column → label, for conflicts

    def applier(self, request: Request, parent_version: int | None) -> Callable[[Session, Any], None]:
        """What `writes.insert`/`update` run inside the parent's transaction, after the parent is written."""
        return lambda session, parent: self.apply(session, request, parent, parent_version)

    def apply(self, session: Session, request: Request, parent: Any, parent_version: int | None) -> None:
        entity = entity_for(self.child)
        existing = {
            str(row.id): row
            for row in session.scalars(
                select(self.child).where(self.parent_key_column == parent.id).order_by(self.child.id).with_for_update()
            )
        }
        posted = {line.key for line in self.lines if line.key}
        self._check_conflicts(existing, posted, parent, parent_version)
        for key, row in existing.items():
            if key in self.shown and key not in posted:  # left out of the form: removed
                self._delete(session, request, entity, row, None)
        for line in self.lines:
            row = existing.get(line.key or "")
            if row is not None and line.delete:
                self._delete(session, request, entity, row, line)
            elif row is not None:
                before = audit.snapshot(row)
                assign(session, row, line.values)
                self._flush(session, line)
                changes = audit.diff(before, audit.snapshot(row))
                if changes:
                    audit.record(session, request, audit.UPDATE, entity, audit.pk_text(row), changes)
            elif not line.delete:
                row = self.child(**{self.parent_attribute: parent.id})
                assign(session, row, line.values)
                session.add(row)
                self._flush(session, line)
                audit.record(
                    session, request, audit.CREATE, entity, audit.pk_text(row), audit.diff(None, audit.snapshot(row))
                )

    def _check_conflicts(
        self, existing: dict[str, Any], posted: set[str], parent: Any, parent_version: int | None
    ) -> None:
        """Lines gone, changed since the form was shown, or added by someone else: nothing is written."""
        compared: list[FieldConflict] = []
        versions: dict[str, int] = {}
        gone = [line for line in self.lines if line.key and line.key not in existing]
        added = [key for key in existing if key not in self.shown and key not in posted]
        for line in self.lines:
            row = existing.get(line.key or "")
            if row is None or line.version is None or str(row.version) == line.version:
                continue
            versions[f"{line.field_prefix}-version"] = row.version
            for name, yours in line.values.items():
                theirs = getattr(row, name)
                if show(theirs) != show(yours):
                    label = f"Line {int(line.field_prefix.rsplit('-', 1)[1]) + 1}: {self.labels.get(name, name)}"
                    compared.append(FieldConflict(f"{line.field_prefix}-{name}", label, show(theirs), show(yours)))
        if not (gone or added or versions):
            return
        reasons = []
        if versions:
            reasons.append("a line you changed was changed by someone else")
        if gone:
            reasons.append("a line was removed by someone else")
        if added:
            reasons.append("someone else added a line")
        message = (
            f"Nothing was saved: {', and '.join(reasons)} after you opened this page. "
            + ("Their values are shown next to yours below. " if compared else "")
            + "Your input is still in the form: save again to keep yours, or reload to start from theirs."
        )
        raise Conflict(message, current_version=parent_version or 0, fields=compared, versions=versions)

    def _delete(self, session: Session, request: Request, entity: str, row: Any, line: InlineLine | None) -> None:
        before, key = audit.snapshot(row), audit.pk_text(row)
        session.delete(row)
        if line is not None:
            self._flush(session, line)
        audit.record(session, request, audit.DELETE, entity, key, audit.diff(before, None))

    @staticmethod
    def _flush(session: Session, line: InlineLine) -> None:
        """Write this line now, so a refusal names it (the whole save is refused with it)."""
        try:
            session.flush()
        except DBAPIError as error:
            problem = describe(error)
            fields = tuple(f"{line.field_prefix}-{name.removesuffix('_id')}" for name in problem.fields)
            raise ChangeRefused(problem.message, field_names=fields) from error
