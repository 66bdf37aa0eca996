"""The list table's rows, rendered in Python: the same HTML as SQLAdmin's row loop in list.html.

A page of 50 rows × 10 columns with links and permission checks is a few thousand template
expressions; in Jinja's async mode that was most of a list page's time. Here each cell is one
attribute read, one formatter and one escape, and each row's links are filled into URL templates
resolved once per page. The rows arrive with everything the list shows already loaded (see
listing.fetch_page), so nothing here touches the database.

Row-level permission is the authorization backend's `has_permission(request, action, row)`, the
same question SQLAdmin's default `check_can_*` methods ask.
"""

from __future__ import annotations

import html
from datetime import date, datetime
from decimal import Decimal
from enum import Enum, StrEnum
from functools import lru_cache
from typing import Any
from urllib.parse import quote_plus

from markupsafe import Markup
from sqladmin.authorization import Action
from sqladmin.helpers import get_object_identifier
from starlette.requests import Request

from admin_site import writes
from admin_site.views.fast_urls import route_template, with_pk
from admin_site.views.listing import VALUES_ATTR

VIEW_ICON = '<span class="me-1"><i class="fa-solid fa-eye"></i></span>'
EDIT_ICON = '<span class="me-1"><i class="fa-solid fa-pen-to-square"></i></span>'
DELETE_ICON = '<span class="me-1"><i class="fa-solid fa-trash"></i></span>'


def cell_value(row: Any, prop: str) -> Any:
    """What SQLAdmin's `get_prop_value` reads: a hybrid computed in SQL, or the attribute path."""
    values = getattr(row, VALUES_ATTR, None)
    if values is not None and prop in values:
        return values[prop]
    value = row
    for part in prop.split("."):
        value = getattr(value, part, None)
    if value is not None and isinstance(value, Enum) and not isinstance(value, StrEnum):
        return value.name
    return value


PLAIN_TYPES = frozenset({str, int, float, Decimal, date, datetime})  # shown as they are, unless a formatter says


def esc(value: Any) -> str:
    """markupsafe's escaping, without making a Markup object of every cell."""
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


@lru_cache(maxsize=64)
def _shown_constant(formatter: Any, value: bool | None) -> Any:
    """A yes/no icon or an empty cell: the same markup every time."""
    return formatter(value)


def formatted_value(view: Any, value: Any) -> Any:
    """SQLAdmin's `_default_formatter`, without its search through base classes for plain values."""
    kind = type(value)
    formatter = view._column_type_formatters.get(kind)
    if formatter is not None:
        return _shown_constant(formatter, value) if kind is bool or value is None else formatter(value)
    return value if kind in PLAIN_TYPES else view._default_formatter(value)


def render_rows(view: Any, request: Request, rows: list[Any], text: dict[str, str]) -> Markup:
    """`text`: the page's translated strings (select, view, edit, delete), given by the template."""
    query = request.url.query
    query_suffix = f"?{query}" if query else ""
    select_label, view_label = esc(text["select"]), esc(text["view"])
    edit_label, delete_label = esc(text["edit"]), esc(text["delete"])
    name = esc(view.name)
    relations = view._relation_names
    not_links = view._non_link_related_fields
    formatters = view._list_formatters
    details_url = route_template(request, "admin:details", view.identity)
    edit_url = route_template(request, "admin:edit", view.identity)
    delete_url = route_template(request, "admin:delete", view.identity, keyed=False)
    versioned = writes.is_versioned(view.model)
    may = view.has_permission
    out: list[str] = []
    for row in rows:
        pk = str(get_object_identifier(row))
        safe_pk = esc(pk)
        out.append(
            f'<tr>\n<td>\n<input type="hidden" value="{safe_pk}">\n'
            f'<input class="form-check-input m-0 align-middle select-box" type="checkbox" aria-label="{select_label}">\n'
            f'</td>\n<td class="text-end">\n'
        )
        if view.can_view_details and may(request, Action.DETAILS, row):
            url = esc(with_pk(details_url, pk) + query_suffix)
            out.append(f'<a href="{url}" data-bs-toggle="tooltip" data-bs-placement="top" title="{view_label}">\n'
                       f"{VIEW_ICON}\n</a>\n")
        if view.can_edit and may(request, Action.EDIT, row):
            url = esc(with_pk(edit_url, pk) + query_suffix)
            out.append(f'<a href="{url}" data-bs-toggle="tooltip" data-bs-placement="top" title="{edit_label}">\n'
                       f"{EDIT_ICON}\n</a>\n")
        if view.can_delete and may(request, Action.DELETE, row):
            url = f"{delete_url}?pks={quote_plus(pk)}" + (f"&versions={row.version}" if versioned else "")
            out.append(
                f'<a href="#" data-name="{name}" data-pk="{safe_pk}" data-url="{esc(url)}" data-bs-toggle="modal" '
                f'data-bs-target="#modal-delete">\n'
                f'<span data-bs-toggle="tooltip" data-bs-placement="top" title="{delete_label}">\n'
                f"{DELETE_ICON}\n</span>\n</a>\n"
            )
        out.append("</td>\n")
        for prop in view._list_prop_names:
            value = cell_value(row, prop)
            formatter = formatters.get(prop)
            formatted = (
                view._call_formatter(formatter, row, prop, request, view._list_formatter_accepts_request.get(prop, False))
                if formatter
                else formatted_value(view, value)
            )
            if prop not in relations or prop in not_links:
                if isinstance(value, (list, set)) and prop in relations:
                    out.append("<td>\n" + "".join(
                        f"({esc(shown)})\n" if view.show_compact_lists else f"{esc(shown)}<br />\n"
                        for shown in formatted
                    ) + "</td>\n")
                else:
                    out.append(f"<td>{esc(formatted)}</td>\n")
            elif isinstance(value, (list, set)):
                out.append("<td>\n")
                for element, shown in zip(value, formatted):
                    url = esc(view._build_url_for("admin:details", request, element))
                    out.append(f'<a href="{url}">({esc(shown)})</a>\n' if view.show_compact_lists
                               else f'<a href="{url}">{esc(shown)}</a><br />\n')
                out.append("</td>\n")
            elif value is None:
                out.append(f'<td><a href="">{esc(formatted)}</a></td>\n')
            else:
                url = esc(view._build_url_for("admin:details", request, getattr(row, prop)))
                out.append(f'<td><a href="{url}">{esc(formatted)}</a></td>\n')
        out.append("</tr>\n")
    return Markup("".join(out))
