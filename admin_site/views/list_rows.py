"""The list table's rows, rendered in Python: the same HTML as SQLAdmin's row loop in list.html.

Jinja's async mode costs a few microseconds per expression; a page of 50 rows × 10 columns with
links and permission checks spent most of the list's time there (about 100 ms of a 130 ms page on
a million orders). Here each cell is one `get_list_value` and one escape.
"""

from __future__ import annotations

from typing import Any

from markupsafe import Markup, escape
from sqladmin.helpers import get_object_identifier
from starlette.requests import Request


def is_list(value: Any) -> bool:
    return isinstance(value, (list, set))  # as SQLAdmin's `is_list` template global


async def render_rows(view: Any, request: Request, rows: list[Any], text: dict[str, str]) -> Markup:
    """`text`: the page's translated strings (select, view, edit, delete), given by the template."""
    query = request.url.query
    edit_suffix = f"?{query}" if query else ""
    select_label, view_label = escape(text["select"]), escape(text["view"])
    edit_label, delete_label = escape(text["edit"]), escape(text["delete"])
    name = escape(view.name)
    relations = view._relation_names
    not_links = view._non_link_related_fields
    out: list[str] = []
    for row in rows:
        pk = escape(get_object_identifier(row))
        out.append(
            f'<tr>\n<td>\n<input type="hidden" value="{pk}">\n'
            f'<input class="form-check-input m-0 align-middle select-box" type="checkbox" aria-label="{select_label}">\n'
            f'</td>\n<td class="text-end">\n'
        )
        if await view.check_can_view_details(request, row):
            url = escape(view._build_url_for("admin:details", request, row))
            out.append(
                f'<a href="{url}" data-bs-toggle="tooltip" data-bs-placement="top" title="{view_label}">\n'
                f'<span class="me-1"><i class="fa-solid fa-eye"></i></span>\n</a>\n'
            )
        if await view.check_can_edit(request, row):
            url = escape(f"{view._build_url_for('admin:edit', request, row)}{edit_suffix}")
            out.append(
                f'<a href="{url}" data-bs-toggle="tooltip" data-bs-placement="top" title="{edit_label}">\n'
                f'<span class="me-1"><i class="fa-solid fa-pen-to-square"></i></span>\n</a>\n'
            )
        if await view.check_can_delete(request, row):
            url = escape(view._url_for_delete(request, row))
            out.append(
                f'<a href="#" data-name="{name}" data-pk="{pk}" data-url="{url}" data-bs-toggle="modal" '
                f'data-bs-target="#modal-delete">\n'
                f'<span data-bs-toggle="tooltip" data-bs-placement="top" title="{delete_label}">\n'
                f'<span class="me-1"><i class="fa-solid fa-trash"></i></span>\n</span>\n</a>\n'
            )
        out.append("</td>\n")
        for prop in view._list_prop_names:
            value, formatted = await view.get_list_value(row, prop, request)
            link = prop not in not_links
            if prop not in relations:
                out.append(f"<td>{escape(formatted)}</td>\n")
            elif is_list(value):
                out.append("<td>\n")
                for element, formatted_element in zip(value, formatted):
                    shown = escape(formatted_element)
                    if link:
                        url = escape(view._build_url_for("admin:details", request, element))
                        out.append(f'<a href="{url}">({shown})</a>\n' if view.show_compact_lists
                                   else f'<a href="{url}">{shown}</a><br />\n')
                    else:
                        out.append(f"({shown})\n" if view.show_compact_lists else f"{shown}<br />\n")
                out.append("</td>\n")
            elif link:
                url = escape(view._url_for_details_with_prop(request, row, prop))
                out.append(f'<td><a href="{url}">{escape(formatted)}</a></td>\n')
            else:
                out.append(f"<td>{escape(formatted)}</td>\n")
        out.append("</tr>\n")
    return Markup("".join(out))
