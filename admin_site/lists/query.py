"""The list page's query: parse the URL safely, then search, filter, sort, count and fetch one page.

Everything runs in one session and a fixed number of statements, whatever the page size:
one for the count (or an estimate) and what the page shows beside its rows, one page query that
carries the related rows (joined) and the hybrids (as SQL columns), so rendering never goes back
to the database.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

from sqladmin.pagination import Pagination
from sqlalchemy import (
    ARRAY,
    BigInteger,
    Integer,
    Select,
    any_,
    asc,
    bindparam,
    case,
    cast,
    column,
    desc,
    false,
    func,
    or_,
    select,
    table,
    union,
)
from sqlalchemy.dialects.postgresql import REGCLASS
from sqlalchemy.engine import Result
from sqlalchemy.orm import RelationshipProperty, Session, aliased, joinedload
from sqlalchemy.sql.elements import ColumnElement
from starlette.datastructures import QueryParams
from starlette.exceptions import HTTPException

from admin_site.inference import label_attribute
from admin_site.lists.nullability import may_be_null

if TYPE_CHECKING:
    from models.base import Base

MAX_SEARCH_LENGTH = 200
MAX_PAGE = 10_000_000
CAPPED_COUNT = 10_000
SEARCH_KEYS_AT_MOST = 1_000  # a search matching more is paged by running it again (see ListStatements)
EXACT_BELOW = 20_000  # an estimated table smaller than this is simply counted
LATE_ROW_LOOKUP_FROM = 200  # offsets from here skip over primary keys first (see fetch_page)

VALUES_ATTR = "_admin_values"


@dataclass(frozen=True)
class ListParams:
    page: int
    page_size: int
    search: str
    sort_by: str | None
    descending: bool


def _positive_int(raw: str | None, default: int) -> int:
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or len(raw) > 9:
        raise HTTPException(400, "page and pageSize must be positive whole numbers")
    return max(int(raw), 1)


def parse_params(params: QueryParams, *, default_size: int, max_size: int, sortable: set[str]) -> ListParams:
    """Validate the list's query string; anything malformed is a 400 with a plain message."""
    page = min(_positive_int(params.get("page"), 1), MAX_PAGE)
    page_size = min(_positive_int(params.get("pageSize"), default_size), max_size)
    search = (params.get("search") or "").replace("\x00", "").strip()[:MAX_SEARCH_LENGTH]
    sort_by = params.get("sortBy") or None
    if sort_by is not None and sort_by not in sortable:
        raise HTTPException(400, "This list cannot be sorted by that column")
    return ListParams(page, page_size, search, sort_by, params.get("sort") == "desc")


def like_pattern(term: str) -> str:
    """A substring pattern in which the user's % and _ are literal characters."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def resolve(model: type[Base], name: str) -> Any:
    """`status` → Order.status; `customer.email` → (Order.customer, Customer.email);
    `customer` → (Order.customer, the customer's label column)."""
    relation_name, _, attribute = name.partition(".")
    target = getattr(model, relation_name)
    prop = getattr(target, "property", None)
    if not isinstance(prop, RelationshipProperty):
        return target
    related = prop.mapper.class_
    attribute = (
        attribute or label_attribute(related) or prop.mapper.get_property_by_column(prop.mapper.primary_key[0]).key
    )
    return target, getattr(related, attribute)


def search_clause(model: type[Base], fields: list[str], term: str) -> ColumnElement[bool]:
    """Rows where any field contains `term`, each row once, in a shape the trigram indexes serve.

    Own columns: an OR of ILIKEs (a BitmapOr of their indexes). Related fields: key IN (SELECT …),
    never a join, so no row is dropped or repeated. With both, the two searches are UNIONed inside
    one `pk IN (…)`: an OR of an ILIKE and a subquery would make PostgreSQL scan the whole table.
    """
    pattern = like_pattern(term)
    pk = model.__mapper__.primary_key[0]
    own: list[ColumnElement[bool]] = []
    related: list[Select] = []  # each selects primary keys of `model`
    for name in fields:
        target = resolve(model, name)
        if not isinstance(target, tuple):
            own.append(target.ilike(pattern, escape="\\"))
            continue
        relation, attribute = target
        prop = relation.property
        other = aliased(prop.mapper.class_)  # an alias: the related table may be this very table
        matches = getattr(other, attribute.key).ilike(pattern, escape="\\")
        ((local, remote),) = prop.local_remote_pairs
        remote = getattr(other, prop.mapper.get_property_by_column(remote).key)
        if prop.uselist:  # one-to-many: the children that match name their parents
            related.append(select(remote).where(matches))
        else:  # many-to-one: our rows whose key points at a matching row
            related.append(select(pk).where(local.in_(select(remote).where(matches).correlate(None))))
    if not related:
        return or_(*own)
    # correlate(None): these subqueries read the table afresh, they do not refer to the outer row.
    branches = [b.correlate(None) for b in ([select(pk).where(or_(*own))] if own else []) + related]
    return pk.in_(branches[0] if len(branches) == 1 else union(*branches))


def sort_clauses(model: type[Base], stmt: Select, name: str, descending: bool, pk: Any) -> Select:
    """Order by one listed attribute, then the key. A relation sorts by the related row's label, joined
    under an alias of its own: the related table may be this very table (a category's parent), or be
    joined already by a filter or another sort."""
    target = resolve(model, name)
    nullable = _may_be_null(target)
    if isinstance(target, tuple):
        relation, attribute = target
        other = aliased(relation.property.mapper.class_)
        stmt = stmt.outerjoin(other, relation.of_type(other))
        nullable = _may_be_null(attribute) or any(c.nullable for c in relation.property.local_columns)
        target = getattr(other, attribute.key)
    direction = desc if descending else asc
    ordered = direction(target)
    if nullable:  # NULLS LAST on a NOT NULL column would stop PostgreSQL using its index
        ordered = ordered.nulls_last()
    return stmt.order_by(ordered, direction(pk))


def _may_be_null(target: Any) -> bool:
    return may_be_null(target)  # a column's NOT NULL, or what a hybrid's expression is built from


@dataclass(frozen=True)
class RowCount:
    value: int
    exact: bool
    capped: bool = False  # counted up to CAPPED_COUNT: a value past it means "more", not "about"

    @property
    def label(self) -> str:
        if self.exact:
            return f"{self.value:,}"
        if self.capped:
            return f"{CAPPED_COUNT:,}+"
        return f"about {self.value:,}"


PG_CLASS = table("pg_class", column("oid"), column("reltuples"))  # where PostgreSQL keeps its row estimates


def row_estimate(table_name: str) -> ColumnElement[Any]:
    """The planner's estimate of a table's rows (`pg_class.reltuples`, refreshed by ANALYZE), as a subquery."""
    return (
        select(cast(PG_CLASS.c.reltuples, BigInteger))
        .where(PG_CLASS.c.oid == cast(table_name, REGCLASS))
        .scalar_subquery()
    )


class ListStatements:
    """Every statement a list page may run for one search, filter and sort, each built on first use.

    LIMIT and OFFSET are bound when a page is read, so one object serves every page of the list: a
    view keeps the objects of its unfiltered lists (one per sort order, see ShopView._page), and
    SQLAlchemy, handed the same statement again, skips building it and working out its cache key.

    `counting` says how the rows are counted ("exact", "estimated" or "capped", see `counting_for`;
    None when the count is known already), and `beside` are scalar expressions the page shows beside
    its rows (a filter's choices, the saved views): the count and those are read in one statement.

    With `carry_keys` (a search: a trigram search is the costly part of such a page), that statement
    runs the search once for both the count and, when few rows match, their primary keys: the page is
    then read by those keys (`with_keys`) and the search does not run again.
    """

    def __init__(
        self,
        model: type[Base],
        stmt: Select,
        *,
        order: Callable[[Select], Select],
        joined: list[Any],
        hybrids: dict[str, ColumnElement[Any]],
        counting: str | None,
        beside: tuple[ColumnElement[Any], ...] = (),
        carry_keys: bool = False,
    ) -> None:
        self.model, self.stmt, self.order, self.joined, self.hybrids = model, stmt, order, joined, hybrids
        self.counting, self.beside = counting, beside
        self.carries_keys = carry_keys and counting in ("exact", "capped")
        self.pk = model.__mapper__.primary_key[0]

    @cached_property
    def _keys(self) -> Select:
        return self.stmt.with_only_columns(self.pk).order_by(None)

    @cached_property
    def count_columns(self) -> list[ColumnElement[Any]]:
        """What `first_read` selects to count the rows (read back by `read_first`)."""
        if self.counting is None:
            return []
        if self.carries_keys:
            return self._count_and_keys
        if self.counting == "exact":
            return [_count(self._keys)]
        if self.counting == "capped":
            return [_count(self._keys.limit(_COUNT_CAP))]
        estimate = row_estimate(self.model.__table__.name)
        big = func.coalesce(estimate >= _EXACT_BELOW, false())
        # PostgreSQL runs the count only when the CASE reaches it: a big table is never counted.
        return [case((big, estimate), else_=_count(self._keys)), big]

    @property
    def _count_and_keys(self) -> list[ColumnElement[Any]]:
        """The count, and the matching keys when there are at most SEARCH_KEYS_AT_MOST: one scan of the
        rows (a CTE named twice is run once), carried back as one array."""
        matching = self._keys.with_only_columns(self.pk.label("key"))
        if self.counting == "capped":
            matching = matching.limit(_COUNT_CAP)
        matched = matching.cte("matching")
        some = select(matched.c.key).limit(_KEYS_LIMIT).subquery()  # one past the most carried: "too many"
        return [
            select(func.count()).select_from(matched).scalar_subquery(),
            select(func.array_agg(some.c.key)).scalar_subquery(),
        ]

    @cached_property
    def first_read(self) -> Select:
        """The rows' count and the values shown beside them, in one statement."""
        return select(*self.count_columns, *self.beside)

    @cached_property
    def page(self) -> Select:
        return self._loading(self.order(self.stmt).limit(_PAGE_LIMIT).offset(_PAGE_OFFSET))

    @cached_property
    def deep_page(self) -> Select:
        """A late row lookup: the offset is skipped over primary keys alone (an index-only scan for an
        indexed order), and only the page's rows are then joined and computed."""
        page_keys = self.order(self.stmt).with_only_columns(self.pk).limit(_PAGE_LIMIT).offset(_PAGE_OFFSET)
        return self._loading(self.order(select(self.model).where(self.pk.in_(page_keys.correlate(None)))))

    def _loading(self, stmt: Select) -> Select:
        """Related rows the list shows joined in, hybrids computed in SQL."""
        stmt = with_hybrid_columns(stmt, self.hybrids)
        return stmt.options(*(joinedload(relation) for relation in self.joined))


# Bound when a statement runs, so one kept statement serves every page and follows the limits above.
_PAGE_LIMIT = bindparam("page_limit", type_=Integer)
_PAGE_OFFSET = bindparam("page_offset", type_=Integer)
_COUNT_CAP = bindparam("count_cap", type_=Integer)
_EXACT_BELOW = bindparam("exact_below", type_=Integer)
_KEYS_LIMIT = bindparam("keys_limit", type_=Integer)


def _count(keys: Select) -> ColumnElement[Any]:
    return select(func.count()).select_from(keys.subquery()).scalar_subquery()


def counting_for(mode: str, *, filtered: bool) -> str:
    """A view's count mode for one list: exact (count(*)), estimated (planner statistics, for an unfiltered
    big table; a small one is counted), capped (counted up to a limit; an estimated view once filtered)."""
    return "capped" if mode == "estimated" and filtered else mode


@dataclass(frozen=True)
class FirstRead:
    """What `ListStatements.first_read` read: the row count (None when it does not count), the matching
    keys (when it carries keys and few rows match; else None), and the values shown beside the rows."""

    row_count: RowCount | None
    keys: list[Any] | None
    beside: list[Any]


def read_first(session: Session, statements: ListStatements, parameters: dict[str, Any]) -> FirstRead:
    if not statements.first_read.selected_columns:
        return FirstRead(None, None, [])
    bounds = {"count_cap": CAPPED_COUNT + 1, "exact_below": EXACT_BELOW, "keys_limit": SEARCH_KEYS_AT_MOST + 1}
    row = session.execute(statements.first_read, {**parameters, **bounds}).one()
    counted = len(statements.count_columns)
    row_count = _row_count(statements.counting, row[:counted])
    keys = None
    if statements.carries_keys:
        keys = row[1] or []  # no match: array_agg reads NULL
        if len(keys) > SEARCH_KEYS_AT_MOST:
            keys = None
    return FirstRead(row_count, keys, list(row[counted:]))


def _row_count(counting: str | None, values: Sequence[Any]) -> RowCount | None:
    if counting is None:
        return None
    value = int(values[0] or 0)
    if counting == "exact":
        return RowCount(value, exact=True)
    if counting == "capped":
        return RowCount(value, exact=value <= CAPPED_COUNT, capped=True)
    return RowCount(value, exact=not values[1])  # estimated: exact when the table was small enough to count


def with_keys(stmt: Select, model: type[Base], keys: list[Any]) -> Select:
    """`stmt` narrowed to the given primary keys: one array parameter, whatever their number."""
    pk = model.__mapper__.primary_key[0]
    return stmt.where(pk == any_(bindparam("matching_keys", keys, type_=ARRAY(pk.type))))


def with_hybrid_columns(stmt: Select, hybrids: dict[str, ColumnElement[Any]]) -> Select:
    return stmt.add_columns(*(expression.label(f"h_{name}") for name, expression in hybrids.items()))


def with_sql_values(result: Result[Any], names: list[str]) -> list[Any]:
    """Objects from rows of (object, *values), each carrying its values (read by get_prop_value)."""
    objects = []
    for row in result:
        setattr(row[0], VALUES_ATTR, dict(zip(names, row[1:], strict=True)))
        objects.append(row[0])
    return objects


class Page(Pagination):
    """SQLAdmin's pagination, plus how the count should be shown."""

    count_label: str = ""


def fetch_page(session: Session, statements: ListStatements, *, params: ListParams, row_count: RowCount) -> Page:
    """One statement: the page's rows with their many-to-one rows joined and hybrids computed in SQL;
    deep pages by a late row lookup (not every row skipped on the way is joined and computed)."""
    last_page = Pagination.max_page(row_count.value, params.page_size) if row_count.exact else MAX_PAGE
    page = min(params.page, last_page)
    offset = (page - 1) * params.page_size
    stmt = statements.deep_page if offset >= LATE_ROW_LOOKUP_FROM else statements.page
    result = session.execute(stmt, {"page_limit": params.page_size, "page_offset": offset}).unique()
    rows = with_sql_values(result, list(statements.hybrids))
    shown = Page(rows=rows, page=1, page_size=params.page_size, count=max(row_count.value, len(rows)))
    shown.page = page  # set after __post_init__, which would clamp a capped count's page
    shown.count_label = row_count.label
    return shown
