"""Small pieces of how a view loads its row and builds its form: related rows loaded with it, which form
classes can be kept, which times a new record starts with."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqladmin.fields import QuerySelectField, QuerySelectMultipleField
from sqlalchemy import DateTime, Select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import RelationshipProperty, joinedload, selectinload
from wtforms.fields.core import UnboundField

from models.base import Base

ROW_LISTS = (QuerySelectField, QuerySelectMultipleField)


def with_related(stmt: Select, relations: list[Any]) -> Select:
    """Load the related rows a page shows with the row: many-to-one joined, collections in one more query."""
    for relation in relations:
        stmt = stmt.options(selectinload(relation) if relation.property.uselist else joinedload(relation))
    return stmt


def pointed_at(relation: RelationshipProperty[Any]) -> list[RelationshipProperty[Any]]:
    """The many-to-ones of a one-to-many's rows other than back to its parent (an order line's product)."""
    parent = relation.parent.class_
    return [
        r for r in relation.mapper.relationships if r.direction.name == "MANYTOONE" and r.mapper.class_ is not parent
    ]


def with_lines(stmt: Select, model: type[Base], names: Sequence[str]) -> Select:
    """Load the lines an edit form shows with its row (`inlines`: an order's items), each with the rows it
    points to (a line's product), in one more query of the row's session."""
    for name in names:
        relation = sa_inspect(model).relationships[name]
        targets = (joinedload(t.class_attribute) for t in pointed_at(relation))
        stmt = stmt.options(selectinload(relation.class_attribute).options(*targets))
    return stmt


def stamped_now(model: type[Base], name: str) -> bool:
    column = sa_inspect(model).columns.get(name)
    default = getattr(getattr(column, "server_default", None), "arg", None)
    return isinstance(column.type, DateTime) if "now()" in str(default) and column is not None else False


def lists_rows(form: type) -> bool:
    """A drop-down of related rows reads them when its form class is built: such a class is built per request."""
    fields = (getattr(form, name) for name in dir(form))
    return any(isinstance(f, UnboundField) and issubclass(f.field_class, ROW_LISTS) for f in fields)
