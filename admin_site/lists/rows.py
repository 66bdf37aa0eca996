"""The list table's rows, rendered in Python: the same HTML as SQLAdmin's row loop in list.html.

A page of 50 rows × 10 columns with links and permission checks is a few thousand template
expressions; in Jinja's async mode that was most of a list page's time. Here what does not change
from row to row (each column's path, formatter and kind of cell; the URL templates; permissions
that depend on the role only) is worked out once per page, and each cell is one attribute read,
one formatter and one escape. The rows arrive with everything the list shows already loaded (see
listing.fetch_page), so nothing here touches the database.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from functools import lru_cache
from typing import Any
from urllib.parse import quote_plus

from markupsafe import Markup
from sqladmin import ModelView
from sqladmin.authorization import Action
from sqladmin.helpers import get_object_identifier
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapper
from starlette.requests import Request

from admin_site.formatting import MONEY, Formats
from admin_site.forms import writes
from admin_site.inference import label_attribute
from admin_site.lists.query import VALUES_ATTR
from admin_site.site.urls import PK_MARK, route_template

VIEW_ICON = '<span class="me-1"><i class="fa-solid fa-eye"></i></span>'
EDIT_ICON = '<span class="me-1"><i class="fa-solid fa-pen-to-square"></i></span>'
DELETE_ICON = '<span class="me-1"><i class="fa-solid fa-trash"></i></span>'
PLAIN_TYPES = frozenset({str, int, float, Decimal, date, datetime})  # shown as they are, unless a formatter says
TEXT_SAFE_TYPES = frozenset({int, float, bool, Decimal, date, datetime})  # str() of these has no character to escape
DEFAULT_FORMATS = Formats()
_needs_escaping = re.compile("[&<>\"']").search  # what html.escape(…, quote=True) replaces


def esc(value: Any) -> str:
    """markupsafe's escaping, without making a Markup object of every cell (most need no escaping)."""
    kind = type(value)
    if kind is str:
        return html.escape(value) if _needs_escaping(value) else value
    if kind in TEXT_SAFE_TYPES:
        return str(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


@lru_cache(maxsize=64)
def _shown_constant(formatter: Any, value: bool | None) -> Any:
    """A yes/no icon or an empty cell: the same markup every time."""
    return formatter(value)


def formatted_value(view: ModelView, value: Any) -> Any:
    """SQLAdmin's `_default_formatter`, without its search through base classes for plain values."""
    kind = type(value)
    formatter = view._column_type_formatters.get(kind)
    if formatter is not None:
        return _shown_constant(formatter, value) if kind is bool or value is None else formatter(value)
    return value if kind in PLAIN_TYPES else view._default_formatter(value)


@dataclass(frozen=True)
class Column:
    """One listed attribute, as SQLAdmin's row loop treats it."""

    name: str
    path: tuple[str, ...]
    formatter: Callable[..., Any] | None
    formatter_takes_request: bool
    related: bool  # a relationship: its cell links to the related row's page
    linked: bool
    kind: str | None  # how its values are shown (formatting.Formats.cell): money, time, badge …

    @classmethod
    def of(cls, view: ModelView, name: str) -> Column:
        return cls(
            name=name,
            path=tuple(name.split(".")),
            formatter=view._list_formatters.get(name),
            formatter_takes_request=view._list_formatter_accepts_request.get(name, False),
            related=name in view._relation_names,
            linked=name in view._relation_names and name not in view._non_link_related_fields,
            kind=getattr(view, "display_kinds", {}).get(name),
        )

    def value(self, row: Any, sql_values: dict[str, Any] | None) -> Any:
        """What SQLAdmin's `get_prop_value` reads: a hybrid computed in SQL, or the attribute path."""
        if sql_values is not None and self.name in sql_values:
            return sql_values[self.name]
        value = row
        for part in self.path:
            value = getattr(value, part, None)
        if value is not None and isinstance(value, Enum) and not isinstance(value, StrEnum):
            return value.name
        return value


def row_permission(view: ModelView, request: Request, action: str, flag: bool) -> Callable[[Any], bool]:
    """row → may the role do `action` on it; asked once per page when the backend answers by role only."""
    if not flag:
        return lambda row: False
    if getattr(view._authorization_backend(), "answers_by_role_only", False):
        allowed = view.has_permission(request, action)
        return lambda row: allowed
    return lambda row: view.has_permission(request, action, row)


def row_key(mapper: Mapper[Any]) -> Callable[[Any], str]:
    """The row's identifier as SQLAdmin writes it in URLs (single key: its value; enums by value)."""
    keys = mapper.primary_key
    if len(keys) != 1:
        return lambda row: str(get_object_identifier(row))
    name = keys[0].name

    def key(row: Any) -> str:
        value = getattr(row, name)
        return str(value.value if isinstance(value, Enum) else value)

    return key


def details_links(view: ModelView, request: Request) -> Callable[[Any], str]:
    """related row → the escaped link to its details page, as `view._build_url_for("admin:details", …)`
    makes it: worked out once per page and class, then one key read and one join per link."""
    made: dict[type, tuple[str, str, Callable[[Any], str]]] = {}
    query = request.url.query

    def link(obj: Any) -> str:
        kind = type(obj)
        if kind not in made:
            before, after = route_template(request, "admin:details", view._identity_for_object(obj)).split(PK_MARK, 1)
            if query and isinstance(obj, view.model):  # a row of this very list keeps the list's query
                after += f"?{query}"
            made[kind] = (esc(before), esc(after), row_key(sa_inspect(kind)))
        before, after, key = made[kind]
        return f"{before}{esc(key(obj))}{after}"

    return link


def _escaped_halves(template: str, query_suffix: str) -> tuple[str, str]:
    """A row-link template's text before and after the key, escaped, the list's query after it."""
    before, after = template.split(PK_MARK, 1)
    return esc(before), esc(after + query_suffix)


def render_rows(view: ModelView, request: Request, rows: list[Any], text: dict[str, str]) -> Markup:  # noqa: PLR0915
    # Longer than 60 lines on purpose: the per-cell loop runs for every cell of every page, and a call
    # per cell (a helper function) costs more than the whole rest of the loop body.
    """`text`: the page's translated strings (select, view, edit, delete), given by the template."""
    query = request.url.query
    query_suffix = f"?{query}" if query else ""
    select_label, view_label = esc(text["select"]), esc(text["view"])
    edit_label, delete_label = esc(text["edit"]), esc(text["delete"])
    name = esc(view.name)
    compact = view.show_compact_lists
    columns = [Column.of(view, prop) for prop in view._list_prop_names]
    details_before, details_after = _escaped_halves(
        route_template(request, "admin:details", view.identity), query_suffix
    )
    edit_before, edit_after = _escaped_halves(route_template(request, "admin:edit", view.identity), query_suffix)
    delete_url = esc(route_template(request, "admin:delete", view.identity, keyed=False))
    versioned = writes.is_versioned(view.model)
    may_view = row_permission(view, request, Action.DETAILS, view.can_view_details)
    may_edit = row_permission(view, request, Action.EDIT, view.can_edit)
    may_delete = row_permission(view, request, Action.DELETE, view.can_delete)
    key_of = row_key(view._mapper)
    link_to = details_links(view, request)
    formats: Formats = getattr(view, "formats", DEFAULT_FORMATS)
    out: list[str] = []
    for row in rows:
        pk = key_of(row)
        safe_pk = esc(pk)
        out.append(
            f'<tr>\n<td>\n<input type="hidden" value="{safe_pk}">\n'
            f'<input class="form-check-input m-0 align-middle select-box" type="checkbox" aria-label="{select_label}">\n'
            f'</td>\n<td class="text-end">\n'
        )
        if may_view(row):
            out.append(
                f'<a href="{details_before}{safe_pk}{details_after}" data-bs-toggle="tooltip" '
                f'data-bs-placement="top" title="{view_label}">\n{VIEW_ICON}\n</a>\n'
            )
        if may_edit(row):
            out.append(
                f'<a href="{edit_before}{safe_pk}{edit_after}" data-bs-toggle="tooltip" '
                f'data-bs-placement="top" title="{edit_label}">\n{EDIT_ICON}\n</a>\n'
            )
        if may_delete(row):
            versions = f"&amp;versions={row.version}" if versioned else ""
            out.append(
                f'<a href="#" data-name="{name}" data-pk="{safe_pk}" data-url="{delete_url}?pks={quote_plus(pk)}{versions}" '
                f'data-bs-toggle="modal" data-bs-target="#modal-delete">\n'
                f'<span data-bs-toggle="tooltip" data-bs-placement="top" title="{delete_label}">\n'
                f"{DELETE_ICON}\n</span>\n</a>\n"
            )
        out.append("</td>\n")
        sql_values = getattr(row, VALUES_ATTR, None)
        for column in columns:
            value = column.value(row, sql_values)
            shown = formats.cell(column.kind, value) if column.kind and column.formatter is None else None
            if shown is not None:
                out.append(f'<td class="text-end">{shown}</td>\n' if column.kind == MONEY else f"<td>{shown}</td>\n")
                continue
            if column.formatter is None:
                formatted = formatted_value(view, value)
            elif column.formatter_takes_request:
                formatted = column.formatter(row, column.name, request)
            else:
                formatted = column.formatter(row, column.name)
            if not column.related or (not isinstance(value, (list, set)) and not column.linked):
                out.append(f"<td>{esc(formatted)}</td>\n")
            elif isinstance(value, (list, set)):
                out.append("<td>\n")
                for element, shown in zip(value, formatted, strict=True):
                    if column.linked:
                        url = link_to(element)
                        out.append(
                            f'<a href="{url}">({esc(shown)})</a>\n'
                            if compact
                            else f'<a href="{url}">{esc(shown)}</a><br />\n'
                        )
                    else:
                        out.append(f"({esc(shown)})\n" if compact else f"{esc(shown)}<br />\n")
                out.append("</td>\n")
            elif value is None:
                out.append(f'<td><a href="">{esc(formatted)}</a></td>\n')
            else:
                out.append(f'<td><a href="{link_to(getattr(row, column.name))}">{esc(formatted)}</a></td>\n')
        out.append("</tr>\n")
    return Markup("".join(out))


def render_cells(view: ModelView, request: Request, rows: list[Any], names: list[str]) -> list[list[Markup]]:
    """Each row's cells for `names`, as its list shows them, the row's label first, linked to its page
    (for a details page's panels; permissions as on the list)."""
    columns = [Column.of(view, name) for name in names]
    formats: Formats = getattr(view, "formats", DEFAULT_FORMATS)
    link_to = details_links(view, request)
    may_view = row_permission(view, request, Action.DETAILS, view.can_view_details)
    table = []
    labelled = label_attribute(view.model) is not None  # else its key names it: "#42"
    key_of = row_key(view._mapper)
    for row in rows:
        label = esc(str(row) if labelled else f"#{key_of(row)}")
        cells = [Markup(f'<a href="{link_to(row)}">{label}</a>' if may_view(row) else label)]
        sql_values = getattr(row, VALUES_ATTR, None)
        for column in columns:
            value = column.value(row, sql_values)
            shown = formats.cell(column.kind, value) if column.kind else None
            if shown is None and column.related and value is not None and not isinstance(value, list | set):
                shown = f'<a href="{link_to(getattr(row, column.path[0]))}">{esc(value)}</a>'
            cells.append(Markup(shown if shown is not None else esc(formatted_value(view, value))))
        table.append(cells)
    return table
