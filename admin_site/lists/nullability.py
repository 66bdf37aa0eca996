"""Whether a sorted attribute can be NULL: a sort adds NULLS LAST only where it can, because NULLS LAST on
an expression that is never NULL would stop PostgreSQL reading that expression's index backwards (a
descending sort by `Order.total`, served by ix_orders_total_id, would become a sort of every order).

A hybrid's SQL expression is never NULL when it is built only from NOT NULL columns and constants by
arithmetic and by functions that give NULL only for a NULL argument; anything else may be NULL.
"""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import (
    BinaryExpression,
    BindParameter,
    Cast,
    ColumnClause,
    Grouping,
    Label,
    TypeCoerce,
    UnaryExpression,
)
from sqlalchemy.sql.functions import FunctionElement

ARITHMETIC = frozenset(
    {operators.add, operators.sub, operators.mul, operators.truediv, operators.floordiv, operators.mod}
)
# Functions that return NULL only when an argument is NULL.
STRICT_FUNCTIONS = frozenset(
    {"round", "abs", "trunc", "ceil", "floor", "lower", "upper", "length", "greatest", "least"}
)
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def may_be_null(target: Any) -> bool:
    """True unless `target` (a mapped column attribute or a hybrid) is known never to be NULL."""
    columns = getattr(getattr(target, "property", None), "columns", None)
    if columns:
        return any(getattr(c, "nullable", True) for c in columns)
    expression = getattr(target, "expression", None)  # a hybrid's SQL side
    return expression is None or _expression_may_be_null(expression)


def _expression_may_be_null(element: Any) -> bool:
    if isinstance(element, (Grouping, Label, Cast, TypeCoerce)):
        return _expression_may_be_null(element.element)
    if isinstance(element, ColumnClause):
        if element.is_literal:  # literal_column("100"): a constant only if it reads as a number
            return not _NUMBER.fullmatch(element.name)
        return getattr(element, "nullable", True) or element.table is None
    if isinstance(element, BindParameter):
        return element.value is None or element.callable is not None
    if isinstance(element, UnaryExpression):
        return element.operator is not operators.neg or _expression_may_be_null(element.element)
    if isinstance(element, BinaryExpression):
        return element.operator not in ARITHMETIC or any(map(_expression_may_be_null, (element.left, element.right)))
    if isinstance(element, FunctionElement):
        strict = element.name.lower() in STRICT_FUNCTIONS
        return not strict or any(map(_expression_may_be_null, element.clauses.clauses))
    return True
