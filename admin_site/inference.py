"""What a model's admin view should show, inferred from its mapper and table.

Pure functions over SQLAlchemy metadata: no request, no database. `ShopView` applies the
result to every view class, and `admin-site views` prints it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Enum,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    inspect,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapper, RelationshipDirection, RelationshipProperty
from sqlalchemy.sql.elements import ColumnElement

from admin_site import formatting
from admin_site.naming import humanise, is_secret

if TYPE_CHECKING:
    from models.base import Base

SERVER_MANAGED = {"created_at", "updated_at", "version", "version_id"}
NEWEST_FIRST = ("placed_at", "created_at", "at")
SHORT_STRING = 255  # longer strings and Text are "long text": never listed or searched


@dataclass(frozen=True)
class Hybrid:
    name: str
    expression: ColumnElement[Any]
    python_type: type | None


@dataclass
class InferredView:
    """The defaults of one model's view, as attribute names (strings)."""

    list_columns: list[str] = field(default_factory=list)
    searchable: list[str] = field(default_factory=list)
    sortable: list[str] = field(default_factory=list)
    default_sort: tuple[str, bool] = ("id", True)
    filters: list[str] = field(default_factory=list)
    form_columns: list[str] = field(default_factory=list)
    details_columns: list[str] = field(default_factory=list)
    ajax_relations: dict[str, list[str]] = field(default_factory=dict)
    hybrids: dict[str, Hybrid] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)


def sql_hybrids(model: type[Base]) -> dict[str, Hybrid]:
    """Hybrids whose class-level access gives a SQL expression (sortable, filterable)."""
    found: dict[str, Hybrid] = {}
    for name, descriptor in inspect(model).all_orm_descriptors.items():
        # `name.inplace.expression` leaves the private `_x_expression` functions behind as hybrids too.
        if not isinstance(descriptor, hybrid_property) or name.startswith("_") or is_secret(name):
            continue
        expression = getattr(model, name).expression
        if not isinstance(expression, ColumnElement):
            continue
        found[name] = Hybrid(name, expression, _python_type(expression))
    return found


def _python_type(expression: ColumnElement[Any]) -> type | None:
    try:
        return expression.type.python_type
    except NotImplementedError:
        return None


def _is_short_string(column: ColumnElement[Any]) -> bool:
    return (
        isinstance(column.type, String)
        and not isinstance(column.type, (Text, Enum))
        and (column.type.length or SHORT_STRING + 1) <= SHORT_STRING
    )


def _is_unique(column: Column[Any]) -> bool:
    if column.unique:
        return True
    return any(
        len(c.columns) == 1 and column in c.columns.values()
        for c in column.table.constraints
        if isinstance(c, UniqueConstraint)
    )


def _many_to_one(mapper: Mapper[Any]) -> list[RelationshipProperty[Any]]:
    return [r for r in mapper.relationships if r.direction is RelationshipDirection.MANYTOONE]


def label_attribute(model: type[Base]) -> str | None:
    """The attribute that names a row: declared `__admin_label__`, else the first unique short string."""
    declared = getattr(model, "__admin_label__", None)
    if declared:
        return declared
    for column in inspect(model).columns:
        if _is_short_string(column) and _is_unique(column) and not is_secret(column.key):
            return column.key
    return None


def infer_view(model: type[Base]) -> InferredView:  # noqa: PLR0915
    # One pass over the mapper that states every default in order (list, search, sort, filters, form,
    # details, labels): longer than 60 lines, but split it and each part would re-derive the same facts.
    mapper = inspect(model)
    pk_names = [mapper.get_property_by_column(c).key for c in mapper.primary_key]
    many_to_one = _many_to_one(mapper)
    fk_column_names = {c.key for r in many_to_one for c in r.local_columns}
    hybrids = sql_hybrids(model)
    inferred = InferredView(hybrids=hybrids)

    listed, searchable, sortable, filters, form = [], [], [], [], []
    internal = (
        {mapper.get_property_by_column(mapper.version_id_col).key} if mapper.version_id_col is not None else set()
    )
    internal |= {c.key for c in mapper.column_attrs if c.columns[0].info.get("internal")}
    details = [c.key for c in mapper.column_attrs if not is_secret(c.key) and c.key not in fk_column_names | internal]
    for prop in mapper.column_attrs:
        name = prop.key
        column = prop.columns[0]
        if is_secret(name) or (name in internal and name not in pk_names):
            continue
        kind = column.type
        if name in pk_names:
            listed.append(name)
            sortable.append(name)
            continue
        if name in fk_column_names:
            continue  # shown through its relationship
        if mapper.version_id_col is not None and column is mapper.version_id_col:
            continue  # the optimistic-locking counter: on the details page and in forms (hidden), not in lists
        if _is_short_string(column):
            listed.append(name)
            sortable.append(name)
            searchable.append(name)
        elif isinstance(kind, (Boolean, Enum, Integer, Numeric, Date, DateTime)):
            listed.append(name)
            sortable.append(name)
            if not (name in SERVER_MANAGED and isinstance(kind, Integer)):
                filters.append(name)
        if name not in SERVER_MANAGED and not column.info.get("kept_by_database"):  # a trigger writes those
            form.append(name)

    for relation in many_to_one:
        listed.append(relation.key)
        sortable.append(relation.key)  # by the related row's label
        filters.append(relation.key)
        form.append(relation.key)
        target = relation.mapper
        target_label = label_attribute(target.class_)
        searchable_fields = (
            [target_label] if target_label else [target.get_property_by_column(c).key for c in target.primary_key]
        )
        inferred.ajax_relations[relation.key] = searchable_fields

    for name, hybrid in hybrids.items():
        listed.append(name)
        sortable.append(name)
        if hybrid.python_type is str:
            searchable.append(name)
        elif hybrid.python_type in (bool, int, float, Decimal):
            filters.append(name)

    inferred.list_columns = listed
    inferred.searchable = searchable
    inferred.sortable = sortable
    inferred.filters = filters
    inferred.form_columns = form
    inferred.details_columns = details + [r.key for r in many_to_one] + list(hybrids)
    newest = next((n for n in NEWEST_FIRST if n in mapper.columns), None)
    inferred.default_sort = (newest or pk_names[0], True)
    inferred.labels = {name: humanise(name) for name in {*listed, *form, *details}}
    for pk in pk_names:
        inferred.labels[pk] = pk.upper() if pk == "id" else humanise(pk)
    return inferred


def display_kinds(model: type[Base]) -> dict[str, str]:
    """How each attribute's values are shown (`formatting.Formats.cell`): money (a column or hybrid
    whose `info` says so), times, days, enumerations as badges, booleans as yes/no."""
    kinds: dict[str, str] = {}
    mapper: Mapper[Any] = inspect(model)
    for attr in mapper.column_attrs:
        column = attr.columns[0]
        kind = _display_kind(column.type, column.info)
        if kind:
            kinds[attr.key] = kind
    for name, hybrid in sql_hybrids(model).items():
        info = getattr(model.__dict__.get(name), "info", {})
        kind = _display_kind(hybrid.expression.type, info)
        if kind:
            kinds[name] = kind
    return kinds


def _display_kind(type_: Any, info: dict[str, Any]) -> str | None:
    if info.get("money"):
        return formatting.MONEY
    if info.get("country"):
        return formatting.COUNTRY
    if isinstance(type_, DateTime):
        return formatting.TIME
    if isinstance(type_, Date):
        return formatting.DAY
    if isinstance(type_, Enum):
        return formatting.BADGE
    if isinstance(type_, Boolean):
        return formatting.YES_NO
    return None
