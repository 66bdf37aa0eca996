"""List filters read from the query string; a value that does not parse is ignored, never a 500.

Each filter owns its URL parameters, so filters, search, sort and page combine freely in one
shareable URL. None of them runs a DISTINCT over the listed table to draw itself.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Boolean,
    Date,
    DateTime,
    Enum,
    Select,
    String,
    Text,
    case,
    cast,
    func,
    inspect,
    literal_column,
    select,
)
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import RelationshipProperty
from sqlalchemy.sql.elements import ColumnClause, ColumnElement
from starlette.datastructures import QueryParams

from admin_site.inference import label_attribute
from admin_site.lists.query import row_estimate
from admin_site.naming import humanise

if TYPE_CHECKING:
    from models.base import Base

MAX_CHOICES = 100  # a related table with more rows than this is filtered by typing a label
EMPTY_JSON_ARRAY: ColumnClause[Any] = literal_column("'[]'::json")


class ListFilter:
    template = ""

    def __init__(self, model: type[Base], name: str, title: str | None = None) -> None:
        self.model = model
        self.name = name
        self.parameter_name = name
        self.title = title or humanise(name)

    @property
    def parameters(self) -> tuple[str, ...]:
        return (self.parameter_name,)

    def apply(self, stmt: Select, params: QueryParams) -> Select:
        raise NotImplementedError

    def is_active(self, params: QueryParams) -> bool:
        return any(params.get(p) for p in self.parameters)

    @property
    def options_column(self) -> ColumnElement[Any] | None:
        """A scalar expression for what the filter's template needs from the database, or None when it
        needs nothing: the list reads it in the statement that counts its rows."""
        return None

    def read_options(self, value: Any) -> Any:
        """What the template gets, from the value `options_column` read."""
        return value


class BooleanFilter(ListFilter):
    template = "filters/boolean.html"
    choices = (("true", "Yes"), ("false", "No"))

    def apply(self, stmt: Select, params: QueryParams) -> Select:
        value = params.get(self.parameter_name)
        column = getattr(self.model, self.name)
        if value == "true":
            return stmt.where(column.is_(True))
        if value == "false":
            return stmt.where(column.is_(False))
        return stmt


class ChoiceFilter(ListFilter):
    """Several values at once: `?status=paid&status=refunded`."""

    template = "filters/choice.html"

    def __init__(self, model: type[Base], name: str, choices: list[tuple[str, str]], title: str | None = None):
        super().__init__(model, name, title)
        self.choices = choices

    def selected(self, params: QueryParams) -> list[str]:
        allowed = {value for value, _ in self.choices}
        return [v for v in params.getlist(self.parameter_name) if v in allowed]

    def apply(self, stmt: Select, params: QueryParams) -> Select:
        values = self.selected(params)
        return stmt.where(getattr(self.model, self.name).in_(values)) if values else stmt


class ValueFilter(ListFilter):
    """Exact values of a short text column, comma-separated: `?country=GB,FR`."""

    template = "filters/value.html"

    def values(self, params: QueryParams) -> list[str]:
        raw = (params.get(self.parameter_name) or "").replace("\x00", "")
        return [v.strip() for v in raw.split(",") if v.strip()][:50]

    def apply(self, stmt: Select, params: QueryParams) -> Select:
        values = self.values(params)
        return stmt.where(getattr(self.model, self.name).in_(values)) if values else stmt


class RangeFilter(ListFilter):
    """`?total__gte=10&total__lte=500`; dates take YYYY-MM-DD and the upper bound includes that day."""

    template = "filters/range.html"

    def __init__(
        self, model: type[Base], name: str, parse: Callable[[str, bool], Any], input_type: str, title: str | None = None
    ):
        super().__init__(model, name, title)
        self.parse = parse
        self.input_type = input_type
        self.low = f"{name}__gte"
        self.high = f"{name}__lte"

    @property
    def parameters(self) -> tuple[str, ...]:
        return (self.low, self.high)

    def bound(self, params: QueryParams, key: str) -> Any:
        raw = (params.get(key) or "").strip()
        if not raw:
            return None
        try:
            return self.parse(raw, key == self.high)
        except (ValueError, InvalidOperation, OverflowError):
            return None

    def apply(self, stmt: Select, params: QueryParams) -> Select:
        expression = getattr(self.model, self.name)
        low, high = self.bound(params, self.low), self.bound(params, self.high)
        if low is not None:
            stmt = stmt.where(expression >= low)
        if high is not None:
            stmt = stmt.where(expression < high if self.input_type == "date" else expression <= high)
        return stmt


def parse_decimal(raw: str, _upper: bool) -> Decimal:
    value = Decimal(raw)
    if not value.is_finite() or abs(value) >= Decimal("1e15"):
        raise ValueError(raw)
    return value


def parse_day(raw: str, upper: bool, zone: tzinfo = UTC) -> datetime:
    """A day in the admin's time zone (the one its pages show times in, so "orders of 3 March" are those whose
    shown time says 3 March); the upper bound becomes the start of the next day (used with `<`)."""
    day = date.fromisoformat(raw) + timedelta(days=1 if upper else 0)
    return datetime.combine(day, time.min, tzinfo=zone)


class RelatedFilter(ListFilter):
    """A many-to-one: pick from a list when the target is small, type its label when it is big."""

    template = "filters/related.html"

    def __init__(self, model: type[Base], relation: RelationshipProperty[Any], title: str | None = None):
        super().__init__(model, relation.key, title)
        self.relation = relation
        self.target = relation.mapper.class_
        self.target_pk = relation.mapper.primary_key[0]
        self.label = label_attribute(self.target)
        self.fk_column = next(iter(relation.local_columns))

    def apply(self, stmt: Select, params: QueryParams) -> Select:
        values = params.getlist(self.parameter_name)
        ids = [int(v) for v in values if v.isdigit() and len(v) < 12]
        if ids:
            fk_attribute = self.relation.parent.get_property_by_column(self.fk_column).key
            stmt = stmt.where(getattr(self.model, fk_attribute).in_(ids))
        label = (params.get(f"{self.parameter_name}__label") or "").strip()
        if label and self.label:
            stmt = stmt.where(getattr(self.model, self.name).has(getattr(self.target, self.label) == label))
        return stmt

    @property
    def parameters(self) -> tuple[str, ...]:
        return (self.parameter_name, f"{self.parameter_name}__label")

    @cached_property
    def options_column(self) -> ColumnElement[Any]:
        """The choices as JSON, [[key, label], ...] by label, or NULL when the planner's estimate says the
        related table is too big to list: PostgreSQL reaches the CASE's subquery only for a small one,
        so a big table is never sorted by label just to find out. Built once, like every kept statement."""
        label = getattr(self.target, self.label) if self.label else self.target_pk
        listed = select(self.target_pk.label("key"), label.label("label")).order_by(label).limit(MAX_CHOICES + 1)
        choices = listed.subquery()
        pair = func.json_build_array(cast(choices.c.key, Text), cast(choices.c.label, Text))
        as_json = select(func.coalesce(func.json_agg(aggregate_order_by(pair, choices.c.label)), EMPTY_JSON_ARRAY))
        return case((row_estimate(self.target.__table__.name) <= MAX_CHOICES, as_json.scalar_subquery()))

    def read_options(self, value: list[list[Any]] | None) -> list[tuple[str, str]] | None:
        """Choices for a small target; None when it is too big to list (by the estimate, or in fact)."""
        if value is None or len(value) > MAX_CHOICES:
            return None
        return [(key, key if label is None else label) for key, label in value]


class ThroughFilter(ListFilter):
    """A filter on a many-to-one's attribute, `?order__status=paid&order__placed_at__gte=…`: the rows whose
    related row passes it, as `order_id IN (SELECT id FROM orders WHERE …)` (a semi-join, no row repeated)."""

    def __init__(self, model: type[Base], relation: str, inner: ListFilter, title: str | None = None) -> None:
        super().__init__(model, f"{relation}__{inner.name}", title or f"{humanise(relation)} {inner.title.lower()}")
        prefix = f"{relation}__"
        inner.parameter_name = prefix + inner.parameter_name
        if isinstance(inner, RangeFilter):
            inner.low, inner.high = prefix + inner.low, prefix + inner.high
        self.inner = inner
        self.template = inner.template
        related = inspect(model).relationships[relation]
        self.foreign_key = next(iter(related.local_columns))
        self.target_key = related.mapper.primary_key[0]

    def __getattr__(self, name: str) -> Any:  # what the inner filter's template reads: choices, low, high, …
        return getattr(self.inner, name)

    @property
    def parameters(self) -> tuple[str, ...]:
        return self.inner.parameters

    def apply(self, stmt: Select, params: QueryParams) -> Select:
        return stmt.where(self.foreign_key.in_(self.inner.apply(select(self.target_key), params)))


def build_filter(model: type[Base], name: str, zone: tzinfo = UTC) -> ListFilter:
    """The right filter for an attribute, from its type (dates as days in `zone`); `order.status` filters by a
    many-to-one's attribute."""
    mapper = inspect(model)
    relation, _, attribute = name.partition(".")
    if attribute:
        inner = build_filter(mapper.relationships[relation].mapper.class_, attribute, zone)
        return ThroughFilter(model, relation, inner)
    if name in mapper.relationships:
        return RelatedFilter(model, mapper.relationships[name])
    expression = getattr(model, name)
    kind = expression.type if not hasattr(expression, "property") else expression.property.columns[0].type
    if isinstance(kind, Boolean):
        return BooleanFilter(model, name)
    if isinstance(kind, Enum):
        choices = [(v, humanise(v)) for v in kind.enums]
        return ChoiceFilter(model, name, choices)
    if isinstance(kind, (Date, DateTime)):
        return RangeFilter(model, name, partial(parse_day, zone=zone), "date")
    if isinstance(kind, String):
        return ValueFilter(model, name)
    return RangeFilter(model, name, parse_decimal, "number")


__all__ = [
    "BooleanFilter",
    "ChoiceFilter",
    "ListFilter",
    "RangeFilter",
    "RelatedFilter",
    "ThroughFilter",
    "ValueFilter",
    "build_filter",
]
