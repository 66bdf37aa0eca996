"""Turn a database refusal (IntegrityError) into a sentence a back-office user can act on.

The constraint's stable name (see models.base.NAMING_CONVENTION) says which rule was broken and
which field it concerns; the SQL text and parameters of the error never reach the page.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import DBAPIError, IntegrityError

from admin_site.views.inference import humanise
from models.base import Base

# Check constraints whose rule is not told by a name suffix.
SPECIAL_CHECKS = {
    "ck_orders_shipped_after_placed": ("shipped_at", "Shipped at cannot be before placed at."),
    "ck_orders_discount_pct_range": ("discount_pct", "Discount % must be between 0 and 100."),
}
SUFFIX_RULES = {
    "_positive": "must be greater than 0",
    "_not_negative": "cannot be negative",
}


@dataclass(frozen=True)
class ConstraintProblem:
    field: str | None
    message: str


def _constraint_name(error: DBAPIError) -> str | None:
    diag = getattr(error.orig, "diag", None)
    return getattr(diag, "constraint_name", None)


def _columns_of(name: str) -> list[str]:
    for table in Base.metadata.tables.values():
        for constraint in table.constraints:
            if constraint.name == name:
                return [c.name for c in getattr(constraint, "columns", [])]
    return []


def _check_column(stem: str) -> str | None:
    """`ck_order_items_quantity` → `quantity` (CHECKs written as text list no columns)."""
    for table in Base.metadata.tables:
        if stem.startswith(f"ck_{table}_"):
            return stem.removeprefix(f"ck_{table}_")
    return None


def describe(error: DBAPIError) -> ConstraintProblem:
    """Which field a refusal concerns and what to tell the user."""
    name = _constraint_name(error) or ""
    code = getattr(error.orig, "pgcode", None)
    columns = _columns_of(name)
    field = columns[0] if len(columns) == 1 else None
    if name in SPECIAL_CHECKS:
        field, message = SPECIAL_CHECKS[name]
        return ConstraintProblem(field, message)
    if code == "23505":  # unique_violation
        what = " and ".join(humanise(c) for c in columns) or "This value"
        return ConstraintProblem(field, f"{what}: this value is already used by another record.")
    if code == "23503":  # foreign_key_violation
        if "is still referenced" in str(error.orig):
            return ConstraintProblem(None, "Other records still refer to this one, so it cannot be deleted.")
        return ConstraintProblem(field, f"{humanise(field or 'the related record')}: the chosen record no longer exists.")
    if code == "23514":  # check_violation
        for suffix, rule in SUFFIX_RULES.items():
            if name.endswith(suffix):
                field = field or _check_column(name.removesuffix(suffix))
                return ConstraintProblem(field, f"{humanise(field or 'A value')} {rule}.")
        return ConstraintProblem(field, "A value breaks one of the rules for this record.")
    if code == "23502":  # not_null_violation
        column = getattr(getattr(error.orig, "diag", None), "column_name", None)
        return ConstraintProblem(column, f"{humanise(column or 'A field')} is required.")
    if isinstance(error, IntegrityError):
        return ConstraintProblem(None, "The database refused this change.")
    return ConstraintProblem(None, "A value is out of range or of the wrong kind.")
