"""Turn a database refusal (IntegrityError) into a sentence a back-office user can act on.

The constraint's stable name (see models.base.NAMING_CONVENTION) says which rule was broken and
which field it concerns; the SQL text and parameters of the error never reach the page.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Constraint, Table
from sqlalchemy.exc import DBAPIError, IntegrityError

from admin_site.forms import check_rules
from admin_site.naming import humanise
from models.base import Base


@dataclass(frozen=True)
class ConstraintProblem:
    """What a refusal concerns: `field` is the first of `fields` (every column the constraint names)."""

    field: str | None
    message: str
    fields: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.field and not self.fields:
            object.__setattr__(self, "fields", (self.field,))


def _diag(error: DBAPIError, name: str) -> str | None:
    return getattr(getattr(error.orig, "diag", None), name, None)


def _constraint(name: str) -> tuple[Table, Constraint] | tuple[None, None]:
    for table in Base.metadata.tables.values():
        for constraint in table.constraints:
            if constraint.name == name:
                return table, constraint
    return None, None


def _problem(fields: Iterable[str], message: str) -> ConstraintProblem:
    names = tuple(fields)
    return ConstraintProblem(names[0] if names else None, message, names)


def describe(error: DBAPIError) -> ConstraintProblem:
    """Which fields a refusal concerns and what to tell the user."""
    name = _diag(error, "constraint_name") or ""
    code = getattr(error.orig, "pgcode", None)
    table, constraint = _constraint(name)
    columns = [c.name for c in getattr(constraint, "columns", [])] if constraint is not None else []
    if code == "23505":  # unique_violation
        what = " and ".join(check_rules.label(table, c) for c in columns) if table is not None else ""
        if len(columns) > 1:
            return _problem(columns, f"{what}: this combination is already used by another record.")
        return _problem(columns, f"{what or 'This value'}: this value is already used by another record.")
    if code == "23503":  # foreign_key_violation
        if "is still referenced" in str(error.orig):
            return _problem((), "Other records still refer to this one, so it cannot be deleted.")
        what = check_rules.label(table, columns[0]) if table is not None and columns else "The related record"
        return _problem(columns, f"{what}: the chosen record no longer exists.")
    if code == "23514":  # check_violation
        found = check_rules.find(name, Base.metadata.tables.values())
        if found is not None:
            _table, check = found
            return _problem(check.columns, check.message)
        return _problem(columns, "A value breaks one of the rules for this record.")
    if code == "23502":  # not_null_violation
        column = _diag(error, "column_name")
        table_name = _diag(error, "table_name")
        table = Base.metadata.tables.get(table_name or "")
        what = check_rules.label(table, column) if table is not None and column else humanise(column or "A field")
        return _problem([column] if column else [], f"{what} is required.")
    if isinstance(error, IntegrityError):
        return _problem((), "The database refused this change.")
    return _problem((), "A value is out of range or of the wrong kind.")
