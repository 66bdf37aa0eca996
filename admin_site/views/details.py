"""What a record's details page shows: its fields formatted, its related rows, the actions that apply.

Worked out in Python before rendering (the page renders synchronously): each field as the list
shows it (money, times, badges, related rows by their label), the panels of related rows
(views/panels.py), and the bulk actions whose `shown_for` accepts this record.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import anyio
from markupsafe import Markup, escape
from starlette.requests import Request

from admin_site.forms.bulk_actions import actions_of
from admin_site.lists.query import VALUES_ATTR
from admin_site.lists.rows import Column, details_links, esc, formatted_value
from admin_site.site.routes import view_allows
from admin_site.views.panels import Panel, panel_columns, pointing_at, read_panel

if TYPE_CHECKING:
    from admin_site.site.admin import ShopAdmin
    from admin_site.views.base import ShopView

EMPTY = Markup('<span class="text-muted">—</span>')
INTERNAL_FIELDS = frozenset({"version", "session_epoch"})  # bookkeeping, never shown to staff


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    value: Markup
    money: bool


def fields(view: ShopView, request: Request, row: Any) -> list[Field]:
    """Every details field of `row`, formatted (a view's `column_formatters_detail` wins)."""
    link_to = details_links(view, request)
    shown = []
    for name in view._details_prop_names:
        if name in INTERNAL_FIELDS:
            continue
        column = Column.of(view, name)
        value = column.value(row, getattr(row, VALUES_ATTR, None))
        formatter = view._detail_formatters.get(name)
        if formatter is not None:
            html = Markup(escape(formatter(row, name)))
        elif value is None or value == "":
            html = EMPTY
        elif column.kind:
            html = Markup(view.formats.cell(column.kind, value) or esc(value))
        elif isinstance(value, list | set):
            html = Markup("<br>".join(f'<a href="{link_to(item)}">{esc(item)}</a>' for item in value))
        elif column.related:
            html = Markup(f'<a href="{link_to(value)}">{esc(value)}</a>')
        else:
            html = Markup(esc(formatted_value(view, value)))
        shown.append(Field(name, view._column_labels.get(name, name), html, column.kind == "money"))
    return shown


def applicable_actions(view: ShopView, request: Request, row: Any) -> dict[str, str]:
    """The bulk actions the role may run on this record and that apply to it (slug → label)."""
    declared = actions_of(type(view))
    visible = view._visible_custom_actions(request, True)
    return {slug: label for slug, label in visible.items() if slug in declared and declared[slug].applies(row)}


def panels_of(admin: ShopAdmin, view: ShopView, request: Request) -> list[Panel]:
    """The record's related rows the role may see: inline relations whole, the others latest first."""
    found = []
    for relation in pointing_at(view.model):
        target = admin.view_of_model(relation.parent.class_)
        if target is None or not view_allows(target, request, "list"):
            continue
        back = relation.back_populates or relation.backref
        whole = isinstance(back, str) and back in view.inlines
        sums = view.panel_sums.get(back if isinstance(back, str) else "", [])
        found.append(Panel(relation, target, panel_columns(target, relation), whole, list(sums)))  # type: ignore[arg-type]
    return found


async def read_panels(view: ShopView, panels: list[Panel], key: Any) -> None:
    """Every panel's statement, in one session on one worker thread."""

    def read() -> None:
        with view.session_maker() as session:
            for panel in panels:
                read_panel(session, panel, key)

    await anyio.to_thread.run_sync(read)
