"""What an export reads: the list's query (search, filters, sort) selecting the listed columns' values,
with per-row aggregates over child rows (`Order.total`) turned into one grouped join for a whole table."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Integer,
    Numeric,
    Select,
    String,
    Table,
    false,
    func,
    select,
)
from sqlalchemy.orm import aliased
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, ColumnElement
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.sql.selectable import ScalarSelect
from sqlalchemy.sql.util import _deep_deannotate
from sqlalchemy.sql.visitors import iterate, replacement_traverse
from starlette.requests import Request

from admin_site.lists.query import resolve

if TYPE_CHECKING:
    from admin_site.views.base import ShopView
    from models.base import Base


@dataclass(frozen=True)
class ExportColumn:
    name: str
    expression: ColumnElement[Any]
    kind: str  # text | number | bool | timestamp | date | other


def _kind(expression: ColumnElement[Any]) -> str:
    kind = expression.type
    if isinstance(kind, Boolean):
        return "bool"
    if isinstance(kind, (Integer, Numeric, Float)):
        return "number"
    if isinstance(kind, DateTime):
        return "timestamp"
    if isinstance(kind, Date):
        return "date"
    if isinstance(kind, String):  # Enum and Text included
        return "text"
    return "other"


def export_statement(
    view: ShopView, request: Request, pks: list[Any] | None = None
) -> tuple[Select, list[ExportColumn]]:
    """The list's query (search, filters, sort from the URL) selecting the listed columns' values.

    A relation shows its label (`customer` → the customer's e-mail) through an aliased outer join,
    so it cannot clash with a join the sort made. With `pks`, only those rows (still in list order).
    """
    params = view.list_params(request)
    if pks is None:
        stmt, _ = view.filtered_query(request, params)
    else:
        stmt = view.list_query(request).where(view.pk_columns[0].in_(pks))
    stmt = view.ordered(stmt, params)
    columns: list[ExportColumn] = []
    joins: list[tuple[Any, Any]] = []
    for name in view._list_prop_names:
        if name in view._listed_hybrids:
            expression = _deep_deannotate(view._listed_hybrids[name])  # plain SQL, so `decorrelate` can rewrite it
        else:
            target = resolve(view.model, name)
            if isinstance(target, tuple):
                relation, attribute = target
                other = aliased(relation.property.mapper.class_)
                joins.append((other, relation.of_type(other)))
                expression = getattr(other, attribute.key)
            else:
                expression = target
        columns.append(ExportColumn(name, expression, _kind(expression)))
    stmt = stmt.with_only_columns(
        *(c.expression.label(f"c{i}") for i, c in enumerate(columns)), maintain_column_froms=True
    )
    for other, onclause in joins:
        stmt = stmt.outerjoin(other, onclause)
    return stmt, columns


AGGREGATES = frozenset({"sum", "count", "avg", "min", "max", "bool_and", "bool_or"})


def _aggregate_of_children(element: Any, table: Any) -> tuple[Any, Any, Any, ColumnElement[Any]] | None:
    """(child table, child's key, our key, the aggregate column) when `element` is a scalar subquery
    `(SELECT agg(...) FROM child WHERE child.fk = table.pk)`, as hybrids such as `Order.total` are."""
    if not isinstance(element, ScalarSelect):
        return None
    inner = element.element
    if not isinstance(inner, Select) or inner._limit_clause is not None or inner._group_by_clauses:
        return None
    froms = [f for f in inner.get_final_froms() if f is not table]  # `table` is correlated: the outer row
    columns = list(inner.selected_columns)
    where = inner.whereclause
    if len(froms) != 1 or not isinstance(froms[0], Table) or len(columns) != 1:
        return None
    child = froms[0]
    if not isinstance(where, BinaryExpression) or where.operator is not operators.eq:
        return None
    if not all(isinstance(side, Column) for side in (where.left, where.right)):
        return None
    sides = {where.left.table: where.left, where.right.table: where.right}
    if set(sides) != {child, table} or not sides[table].primary_key:
        return None
    column = columns[0]
    names = {f.name.lower() for f in iterate(column) if isinstance(f, FunctionElement)}
    if not names & AGGREGATES:
        return None
    return child, sides[child], sides[table], column


def decorrelate(stmt: Select, model: type[Base]) -> Select:
    """The same rows and values, with the selected columns' per-row aggregate subqueries over child
    rows (`Order.total`, `Order.item_count`) computed by one GROUP BY per child table, joined once.

    For a page of 50 rows the subqueries are cheapest; for a million rows they are a million index
    look-ups each. A row without children gets what the subquery gives over no rows
    (`coalesce(sum(…), 0)` → 0), computed once. WHERE and ORDER BY are left as they are.
    """
    table = model.__table__
    columns = [_deep_deannotate(c) for c in stmt.selected_columns]
    groups: dict[tuple[Any, Any, Any], dict[str, ColumnElement[Any]]] = {}  # aggregates by their SQL
    for element in (e for column in columns for e in iterate(column)):
        found = _aggregate_of_children(element, table)
        if found is not None:
            *group, column = found
            groups.setdefault(tuple(group), {}).setdefault(_sql_of(column), column)
    if not groups:
        return stmt
    grouped: dict[tuple[Any, Any, Any], Any] = {}
    for key, aggregates in groups.items():
        _, child_key, _ = key
        labelled = [column.label(f"v{i}") for i, column in enumerate(aggregates.values())]
        grouped[key] = select(child_key.label("k"), *labelled).group_by(child_key).subquery()

    def replace(element: Any, **kw: Any) -> Any:
        found = _aggregate_of_children(element, table)
        if found is None:
            return None
        *group, column = found
        position = list(groups[tuple(group)]).index(_sql_of(column))
        empty = select(column).where(false()).scalar_subquery()  # what the subquery gives over no rows
        return func.coalesce(grouped[tuple(group)].c[f"v{position}"], empty)

    stmt = stmt.with_only_columns(*(replacement_traverse(c, {}, replace) for c in columns), maintain_column_froms=True)
    for (_, _, our_key), subquery in grouped.items():
        stmt = stmt.outerjoin(subquery, subquery.c.k == our_key)
    return stmt


def _sql_of(column: ColumnElement[Any]) -> str:
    return str(column.compile(compile_kwargs={"literal_binds": True}))
