"""A record's related rows on its details page: the latest few, how many in all, and their sums.

Panels are inferred from the models: every many-to-one of another model that points at this one
(a customer's orders, a product's order lines, a category's products and subcategories). A view
adds sums with `panel_sums`; a relation named in `inlines` is shown whole (an order's lines). Each
panel is one statement: the rows, with `count(*) OVER ()` and the sums as window aggregates.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Select, func, inspect, select
from sqlalchemy.orm import RelationshipDirection, RelationshipProperty, Session, joinedload
from sqlalchemy.sql.elements import ColumnElement

from admin_site.lists import query as listing
from models.base import Base


class PanelView(Protocol):
    """What a panel asks of the related model's view (ShopView)."""

    model: Any
    pk_columns: Sequence[Any]
    _list_prop_names: list[str]
    _listed_hybrids: dict[str, ColumnElement[Any]]

    def ordered(self, stmt: Select[Any], params: listing.ListParams) -> Select[Any]: ...
    def get_filters(self) -> Sequence[Any]: ...


LATEST = 10  # rows a panel shows; the link leads to all of them


@dataclass(frozen=True)
class PanelSum:
    """A figure under a panel: `expression` summed over the related rows where `where` holds."""

    label: str
    expression: Any  # a column, or a hybrid's expression at class level (`Order.total`)
    where: ColumnElement[bool] | None = None
    kind: str | None = None  # formatting kind of the result (money)


@dataclass
class Panel:
    """One relation of a record: what the details page shows of it."""

    relation: RelationshipProperty[Any]  # the many-to-one on the related model that points here
    view: PanelView  # the related model's view (its columns, sort, permissions)
    columns: list[str]
    whole: bool  # every row (an inline relation), not only the latest
    sums: list[PanelSum] = field(default_factory=list)
    rows: list[Any] = field(default_factory=list)
    count: int = 0
    totals: list[tuple[PanelSum, Any]] = field(default_factory=list)
    cells: list[list[Any]] = field(default_factory=list)  # the rows as the page shows them

    @property
    def filter_parameter(self) -> str | None:
        """The related list's filter by this record (`?customer=7`), when that list has one."""
        names = {getattr(f, "parameter_name", None) for f in self.view.get_filters()}
        return self.relation.key if self.relation.key in names else None


def pointing_at(model: type[Base]) -> list[RelationshipProperty[Any]]:
    """Every many-to-one of a mapped model whose target is `model`, in a stable order."""
    mappers = sorted(Base.registry.mappers, key=lambda m: m.class_.__name__)
    return [
        relation
        for mapper in mappers
        for relation in mapper.relationships
        if relation.direction is RelationshipDirection.MANYTOONE and relation.mapper.class_ is model
    ]


def panel_columns(view: PanelView, relation: RelationshipProperty[Any]) -> list[str]:
    """The related view's list columns, less its key, its label (each row's first cell: `lists.rows.render_cells`)
    and the relation back to this record."""
    skipped = {c.key for c in view.pk_columns} | {getattr(view.model, "__admin_label__", None)}
    back = relation.key
    return [name for name in view._list_prop_names if name not in skipped and name.split(".")[0] != back]


def panel_statement(panel: Panel, key: Any) -> Select[Any]:
    view, relation = panel.view, panel.relation
    fk_attribute = relation.parent.get_property_by_column(next(iter(relation.local_columns))).key
    stmt = select(view.model).where(getattr(view.model, fk_attribute) == key)
    stmt = view.ordered(stmt, listing.ListParams(page=1, page_size=LATEST, search="", sort_by=None, descending=False))
    shown_relations = {name.split(".")[0] for name in panel.columns}
    for name in shown_relations & set(inspect(view.model).relationships.keys()):
        stmt = stmt.options(joinedload(getattr(view.model, name)))
    hybrids = {name: view._listed_hybrids[name] for name in panel.columns if name in view._listed_hybrids}
    stmt = listing.with_hybrid_columns(stmt, hybrids)
    figures = [func.count().over().label("panel_count")]
    for i, total in enumerate(panel.sums):
        summed = func.sum(total.expression)
        window = (summed.filter(total.where) if total.where is not None else summed).over()
        figures.append(func.coalesce(window, 0).label(f"panel_sum_{i}"))
    stmt = stmt.add_columns(*figures)
    return stmt if panel.whole else stmt.limit(LATEST)


def read_panel(session: Session, panel: Panel, key: Any) -> None:
    """Fill `panel` with its rows, count and sums for the record `key`: one statement."""
    hybrid_names = [name for name in panel.columns if name in panel.view._listed_hybrids]
    result = session.execute(panel_statement(panel, key)).unique().all()
    width = 1 + len(hybrid_names)
    for row in result:
        setattr(row[0], listing.VALUES_ATTR, dict(zip(hybrid_names, row[1:width], strict=True)))
        panel.rows.append(row[0])
    if result:
        figures = result[0][width:]
        panel.count = figures[0]
        panel.totals = list(zip(panel.sums, figures[1:], strict=True))
    else:
        panel.totals = [(total, 0) for total in panel.sums]
