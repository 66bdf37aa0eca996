"""Rows of a one-to-many edited with their parent, in the same form and the same transaction.

A view names the relation in `inlines` (an order's `items`); its lines are a WTForms FieldList of
the child's editable columns, posted as `items-0-product`, `items-0-quantity`, … with a hidden
`items-0-id` and `items-0-version` for a line that exists, `items-0-delete=y` to remove one, and
`items__shown`: the lines the form showed, so a line added by someone else since is a conflict
rather than a silent delete. The validators are the child columns' (NOT NULL, CHECK), so a bad
quantity is refused next to its line before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

import anyio
from sqladmin.forms import get_model_form
from sqlalchemy import inspect, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import RelationshipProperty, Session
from starlette.datastructures import FormData
from starlette.requests import Request
from wtforms import BooleanField, FieldList, Form, FormField, HiddenField, IntegerField, validators

from admin_site.db.outage import is_unavailable
from admin_site.forms.inline_writes import InlineChanges, InlineLine
from admin_site.forms.validators import ConstraintAwareConverter
from admin_site.forms.writes import AfterWrite
from admin_site.keys import split_keys
from admin_site.lists import query as listing
from admin_site.naming import humanise
from admin_site.views.row_support import pointed_at

if TYPE_CHECKING:
    from admin_site.views.base import ShopView

SHOWN = "__shown"  # `items__shown`: keys of the lines the form showed
CHOSEN_TEXT = "-chosen"  # `items-0-chosen`: the chooser's text as typed, shown again if the form comes back
MIN_LINES_MESSAGE = "Add at least one line."


@dataclass(frozen=True)
class Inline:
    """One inline relation of a view: the child model, the many-to-one it is chosen by, its fields."""

    name: str  # the parent's relation (`items`)
    relation: RelationshipProperty[Any]
    chooser: RelationshipProperty[Any]  # the child's other many-to-one, picked by look-up (`product`)
    fields: tuple[str, ...]  # the child's other editable columns (`quantity`, `unit_price`)

    @property
    def child(self) -> type[Any]:
        return self.relation.mapper.class_

    @property
    def chooser_key(self) -> str:
        """The child's column that holds the chosen row's key (`product_id`)."""
        column = next(iter(self.chooser.local_columns))
        return self.relation.mapper.get_property_by_column(column).key


def inline_of(view: ShopView, name: str) -> Inline:
    relation = inspect(view.model).relationships[name]
    child = relation.mapper
    back = {c.key for c in relation.remote_side}
    choosers = pointed_at(relation)
    skip = {"id", "version", *back, *(child.get_property_by_column(c).key for r in choosers for c in r.local_columns)}
    fields = tuple(a.key for a in child.column_attrs if a.key not in skip)
    return Inline(name, relation, choosers[0], fields)


async def lines_form_class(view: ShopView, inline: Inline) -> type[Form]:
    """The FieldList form for `inline`'s lines, built once per view."""
    made = view._inline_forms.get(inline.name)
    if made is not None:
        return made
    columns = await get_model_form(
        inline.child, view.session_maker, only=list(inline.fields), form_converter=ConstraintAwareConverter
    )
    line_fields: dict[str, Any] = {name: getattr(columns, name) for name in inline.fields}
    chooser_label = inline.chooser.mapper.class_.__name__
    line = type(
        "LineForm",
        (Form,),
        {
            "id": HiddenField(),
            "version": HiddenField(),
            "delete": BooleanField("Remove"),
            inline.chooser.key: IntegerField(
                chooser_label, validators=[validators.InputRequired(f"Choose a {chooser_label.lower()}.")]
            ),
            **line_fields,
        },
    )
    form = type("LinesForm", (Form,), {inline.name: FieldList(FormField(line), min_entries=0)})
    view._inline_forms[inline.name] = form
    return form


def lines_data(inline: Inline, rows: list[Any]) -> dict[str, Any]:
    """What the edit form shows of the existing lines."""
    lines = [
        {
            "id": row.id,
            "version": getattr(row, "version", ""),
            inline.chooser.key: getattr(row, inline.chooser_key),
            **{name: getattr(row, name) for name in inline.fields},
        }
        for row in rows
    ]
    return {inline.name: lines}


def validate_lines(form: Form, inline: Inline) -> bool:
    """The lines' own validators, then the form's rule: at least one line stays."""
    valid = form.validate()
    entries = getattr(form, inline.name).entries
    if not any(not entry.form.delete.data for entry in entries):
        form.form_errors.append(MIN_LINES_MESSAGE)
        return False
    return valid


def stored_lines(parent: Any, inline: Inline) -> tuple[list[Any], dict[str, str]]:
    """The parent's lines as its edit row loaded them (`row_support.with_lines`), and their chosen rows' labels."""
    rows = sorted(getattr(parent, inline.name), key=lambda row: row.id)
    chosen = ((row, getattr(row, inline.chooser.key)) for row in rows)
    return rows, {str(getattr(row, inline.chooser_key)): chooser_label(target) for row, target in chosen if target}


@dataclass
class InlineForm:
    """One inline relation's lines as the page shows them."""

    inline: Inline
    form: Form
    shown: list[str]  # keys of the lines the form showed (posted back as `<name>__shown`)
    labels: dict[str, str]  # chosen row key → its label (the product's "SKU · name")
    defaults: dict[str, str]  # line field → attribute of the chosen row that fills it
    typed: dict[str, str] = field(default_factory=dict)  # line prefix → the chooser text as posted (`items-0`)

    def chosen_text(self, entry: Any) -> str:
        """What a line's chooser shows: the chosen row's label, else what was typed (the database may be down)."""
        key = entry.form[self.inline.chooser.key].data
        return self.labels.get(str(key), "") or self.typed.get(entry.name, "")

    @property
    def entries(self) -> list[Any]:
        return list(getattr(self.form, self.inline.name).entries)

    def changes(self) -> InlineChanges:
        lines = []
        for entry in self.entries:
            data = entry.form.data
            values = {self.inline.chooser_key: data[self.inline.chooser.key]}
            values.update({name: data[name] for name in self.inline.fields})
            lines.append(
                InlineLine(
                    field_prefix=entry.name,
                    key=str(data.get("id") or "") or None,
                    version=str(data.get("version") or "") or None,
                    delete=bool(data.get("delete")),
                    values=values,
                )
            )
        relation = self.inline.relation
        fk_column = next(iter(relation.remote_side))
        return InlineChanges(
            child=self.inline.child,
            parent_key_column=fk_column,
            parent_attribute=relation.mapper.get_property_by_column(fk_column).key,
            lines=lines,
            shown=self.shown,
            labels={name: humanise(name) for name in self.inline.fields},
        )


def chooser_label(row: Any) -> str:
    """How a chosen row reads in a line: its code and its label where it has both (`SKU-000051 · Tent`)."""
    code = getattr(row, "sku", None) or getattr(row, "number", None)
    return f"{code} · {row}" if code and str(code) != str(row) else str(row)


async def inline_forms(view: ShopView, *, formdata: FormData | None = None, parent: Any = None) -> list[InlineForm]:
    """The view's inline lines: posted (formdata), as the edited row (`parent`) holds them, or one empty line
    (a new record)."""
    found = []
    for name in view.inlines:
        inline = inline_of(view, name)
        form_class = await lines_form_class(view, inline)
        if formdata is not None and not _posts_lines(formdata, name) and parent is not None:
            continue  # an edit that does not mention the lines leaves them as they are
        labels: dict[str, str] | None = None
        if formdata is not None:
            form, shown = form_class(formdata), split_keys(str(formdata.get(name + SHOWN) or ""))
        elif parent is not None:
            rows, labels = stored_lines(parent, inline)
            form, shown = form_class(data=lines_data(inline, rows)), [str(row.id) for row in rows]
        else:
            form, shown, labels = form_class(data={name: [{}]}), [], {}
        entries = getattr(form, name).entries
        typed = {e.name: str(formdata.get(f"{e.name}{CHOSEN_TEXT}") or "") for e in entries} if formdata else {}
        if labels is None:
            chosen = [e.form[inline.chooser.key].data for e in entries]
            try:
                labels = await _in_thread(view, partial(chooser_labels, inline=inline, keys=chosen))
            except SQLAlchemyError as error:
                if formdata is None or not is_unavailable(error):
                    raise
                labels = {}  # the database is down: the lines are shown as typed
        found.append(InlineForm(inline, form, shown, labels, view.inline_defaults.get(name, {}), typed))
    return found


def _posts_lines(formdata: FormData, name: str) -> bool:
    return any(key == name + SHOWN or key.startswith(name + "-") for key in formdata)


def chooser_labels(session: Session, inline: Inline, keys: list[Any]) -> dict[str, str]:
    keys = [key for key in keys if isinstance(key, int)]
    if not keys:
        return {}
    target = inline.chooser.mapper
    pk = target.primary_key[0]
    attribute = target.get_property_by_column(pk).key
    rows = session.scalars(select(target.class_).where(pk.in_(keys)))
    return {str(getattr(row, attribute)): chooser_label(row) for row in rows}


async def _in_thread(view: ShopView, work: Callable[[Session], Any]) -> Any:
    def run() -> Any:
        with view.session_maker() as session:
            return work(session)

    return await anyio.to_thread.run_sync(run)


def applier(forms: list[InlineForm], request: Request, parent_version: int | None) -> AfterWrite | None:
    """Every inline's changes, applied in the record's transaction after the record is written."""
    if not forms:
        return None
    appliers = [f.changes().applier(request, parent_version) for f in forms]

    def apply(session: Session, parent: Any) -> None:
        for each in appliers:
            each(session, parent)

    return apply


MAX_CHOICES = 20


def search_choices(
    session: Session, inline: Inline, target: ShopView, term: str, defaults: dict[str, str]
) -> list[dict[str, Any]]:
    """Rows a line may choose, matching `term` the way their own list's search does, with the line's
    defaults they bring (a product's price for the line's unit price)."""
    model = target.model
    stmt = (
        select(model).where(listing.search_clause(model, target._search_fields, term))
        if target._search_fields
        else select(model)
    )
    pk = inline.chooser.mapper.primary_key[0]
    key = inline.chooser.mapper.get_property_by_column(pk).key
    rows = session.scalars(stmt.order_by(pk).limit(MAX_CHOICES))
    return [
        {
            "id": getattr(row, key),
            "text": chooser_label(row),
            "defaults": {field: str(getattr(row, attribute)) for field, attribute in defaults.items()},
        }
        for row in rows
    ]
