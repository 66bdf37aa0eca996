"""A view class's options that its body left out, filled in from the model (`inference.infer_view`).

`ShopViewMeta` runs when a view class with `model=` is defined: a subclass states only what differs,
in class attributes, and everything else comes from the model (columns, search, sort, filters, form,
look-ups, labels, menu group).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqladmin.models import ModelViewMeta
from sqlalchemy.orm import InstrumentedAttribute, QueryableAttribute

from admin_site.inference import InferredView, infer_view
from admin_site.naming import humanise

if TYPE_CHECKING:
    from admin_site.views.base import ShopView

CATEGORY_ICONS = {
    "Catalog": "fa-solid fa-boxes-stacked",
    "Sales": "fa-solid fa-cart-shopping",
    "Staff": "fa-solid fa-users",
    "Audit": "fa-solid fa-clipboard-list",
}


def attribute_names(values: Iterable[str | QueryableAttribute[Any]]) -> list[str]:
    """Column options name attributes or give them (`Order.status`): their names either way."""
    return [v if isinstance(v, str) else v.key for v in values]


class ShopViewMeta(ModelViewMeta):
    """Fills in every option the class body left out from `infer_view(model)`."""

    def __new__(mcs, name: str, bases: tuple[type, ...], attrs: dict[str, Any], **kwargs: Any) -> ShopViewMeta:
        cls = super().__new__(mcs, name, bases, attrs, **kwargs)
        if kwargs.get("model") is not None:
            apply_inferred(cls, attrs, infer_view(cls.model))
        return cls


def _domain(model: type) -> str:
    """Menu group from the model's module: models.catalog → "Catalog"."""
    return humanise(model.__module__.rsplit(".", 1)[-1])


def apply_inferred(cls: type[ShopView], attrs: dict[str, Any], inferred: InferredView) -> None:
    def default(attr: str, value: Any) -> None:
        if attr not in attrs:
            setattr(cls, attr, value)

    excluded = set(attribute_names(attrs.get("column_exclude_list", [])))
    default("column_list", [c for c in inferred.list_columns if c not in excluded])
    cls.column_exclude_list = []
    default("column_searchable_list", inferred.searchable)
    listed = set(attribute_names(cls.column_list))
    default("column_sortable_list", [c for c in inferred.sortable if c in listed])
    default("column_default_sort", inferred.default_sort)
    default("column_filters", inferred.filters)
    form_excluded = set(attribute_names(attrs.get("form_excluded_columns", [])))
    default("form_columns", [c for c in inferred.form_columns if c not in form_excluded])
    cls.form_excluded_columns = []
    form = set(attribute_names(cls.form_columns))
    default(
        "form_ajax_refs",
        {
            rel: {"fields": fields, "order_by": fields[0], "limit": 20}
            for rel, fields in inferred.ajax_relations.items()
            if rel in form
        },
    )
    labels: dict[str | InstrumentedAttribute[Any], str] = dict(inferred.labels.items())
    labels.update({(k if isinstance(k, str) else k.key): v for k, v in attrs.get("column_labels", {}).items()})
    cls.column_labels = labels
    # Secrets never show; reverse collections can hold thousands of rows (Django omits them too).
    details_excluded = set(attribute_names(attrs.get("column_details_exclude_list", [])))
    default("column_details_list", [c for c in inferred.details_columns if c not in details_excluded])
    cls.column_details_exclude_list = []
    # Fields set once at creation: left out of the edit form, so a posted value is never read.
    readonly = set(attribute_names(getattr(cls, "form_edit_readonly", [])))
    cls.form_edit_readonly = [n for n in attribute_names(cls.form_columns) if n in readonly]
    if readonly and "form_edit_rules" not in attrs:
        cls.form_edit_rules = [n for n in attribute_names(cls.form_columns) if n not in readonly]
    default("category", _domain(cls.model))
    default("category_icon", CATEGORY_ICONS.get(getattr(cls, "category", ""), "fa-solid fa-table"))
    cls._inferred = inferred
