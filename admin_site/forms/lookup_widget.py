"""The look-up (select2 ajax) field's widget, renderable by a plain synchronous template.

SQLAdmin's widget is a coroutine: when the field holds a raw key (a form posted back with an
error) it queries the database for that row's label while the page renders. Here that look-up
happens before rendering (`describe_lookups`, awaited by the templates object), and the widget
only writes the tag.
"""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup
from sqladmin.widgets import AjaxSelect2Widget
from wtforms import Form
from wtforms.widgets import html_params

DESCRIBED = "_described_rows"  # the field attribute holding [{"id": …, "text": …}] of its selected rows


class LookupWidget(AjaxSelect2Widget):
    def __call__(self, field: Any, **kwargs: Any) -> Markup:  # type: ignore[override]  # sync on purpose
        kwargs.setdefault("data-role", "select2-ajax")
        kwargs.setdefault("data-url", field.loader.model_admin.ajax_lookup_url)
        if getattr(field, "allow_blank", False) and not self.multiple:
            kwargs.setdefault("data-allow-blank", "1")
        kwargs.setdefault("id", field.id)
        kwargs.setdefault("type", "hidden")
        described = getattr(field, DESCRIBED, None)
        if described is None:  # not prepared: only rows already loaded can be named
            described = [field.loader.format(v) for v in _selected(field) if isinstance(v, field.loader.model)]
        if self.multiple:
            kwargs.setdefault("data-json", json.dumps(described))
            kwargs.setdefault("multiple", "1")
        elif described:
            kwargs.setdefault("data-json", json.dumps(described[:1]))
        return Markup(f"<select {html_params(name=field.name, **kwargs)}></select>")  # nosec: escaped by html_params


def _selected(field: Any) -> list[Any]:
    data = field.data
    if data is None:
        return []
    return list(data) if getattr(field.widget, "multiple", False) else [data]


async def describe_lookups(form: Form) -> None:
    """Name the rows each look-up field holds, looking up raw keys (as SQLAdmin's widget would)."""
    for field in form:
        if not isinstance(field.widget, LookupWidget) or getattr(field, DESCRIBED, None) is not None:
            continue  # not a look-up, or named already (without the database: `describe_offline`)
        loader = field.loader
        described = []
        for value in _selected(field):
            row = loader.format(value) if isinstance(value, loader.model) else await loader.format_by_pk(value)
            if row:
                described.append(row)
        setattr(field, DESCRIBED, described)


def describe_offline(form: Form) -> None:
    """Name each look-up field's selected rows by their keys alone (the database is unavailable): the form
    shown again still holds and posts what was chosen."""
    for field in form:
        if isinstance(field.widget, LookupWidget):
            loader = field.loader
            described = [
                loader.format(v) if isinstance(v, loader.model) else {"id": str(v), "text": f"#{v}"}
                for v in _selected(field)
            ]
            setattr(field, DESCRIBED, described)
