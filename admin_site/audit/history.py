"""A record's history (like Django admin's): its audit entries, newest first, field by field.

GET /admin/{identity}/history/{pk}: whoever may view the record may read its history. A deleted
record's history stays readable (its last entry says who deleted it and what it held).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Protocol

import anyio
from markupsafe import Markup, escape
from sqladmin import BaseView, ModelView
from sqladmin.templating import Jinja2Templates
from sqlalchemy import Select, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from admin_site.audit import log as audit
from admin_site.keys import parse_key
from admin_site.naming import humanise

TEMPLATE = "shop/history.html"
ACTION_WORDS = {audit.CREATE: "Created", audit.UPDATE: "Changed", audit.DELETE: "Deleted"}


class HistoryView(Protocol):
    """What a record's history asks of its view (a ShopView)."""

    identity: ClassVar[str]
    name: ClassVar[str]
    session_maker: ClassVar[sessionmaker[Session]]
    _column_labels: dict[str, Any]

    def row_by_key(self, identifier: str) -> Select[Any]: ...


class HistoryAdmin(Protocol):
    """What the home page's recent actions ask of the admin (ShopAdmin)."""

    session_maker: sessionmaker[Session]

    @property
    def views(self) -> Sequence[BaseView | ModelView]: ...


HIDDEN_FIELDS = frozenset({"version", "session_epoch"})  # bookkeeping: recorded, not shown to people


def action_word(action: str) -> str:
    return ACTION_WORDS.get(action, humanise(action))


def show(value: Any) -> str:
    if value is None or value == "":
        return "(empty)"
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return str(value)


def field_changes(view: HistoryView | None, changes: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    """(label, before, after) for each field of an entry's `changes` in the {"before", "after"} shape."""
    rows = []
    for name, change in (changes or {}).items():
        if name in HIDDEN_FIELDS:
            continue
        labels = getattr(view, "_column_labels", {}) if view is not None else {}
        label = labels.get(name) or labels.get(name.removesuffix("_id")) or humanise(name)
        if isinstance(change, dict) and set(change) <= {"before", "after"}:
            rows.append((label, show(change.get("before")), show(change.get("after"))))
        else:
            rows.append((label, "", show(change)))
    return rows


def changes_html(view: HistoryView | None, changes: dict[str, Any] | None) -> Markup:
    """An audit entry's changes as a small table (the audit log's details page)."""
    rows = field_changes(view, changes)
    if not rows:
        return Markup("")
    body = "".join(
        f"<tr><td>{escape(label)}</td><td>{escape(before)}</td><td>{escape(after)}</td></tr>"
        for label, before, after in rows
    )
    return Markup(
        '<table class="table table-sm mb-0 audit-changes"><thead><tr><th>Field</th><th>Before</th>'
        f"<th>After</th></tr></thead><tbody>{body}</tbody></table>"
    )


class HistoryPage:
    def __init__(self, templates: Jinja2Templates) -> None:
        self.templates = templates

    async def history(self, request: Request, view: HistoryView) -> Response:
        """Whoever may view the record (the route's permission) may read its history."""
        if not getattr(view, "show_history", False):
            raise HTTPException(status_code=404)
        pk = request.path_params["pk"]

        def load() -> tuple[str | None, bool, list[audit.Entry]]:
            with view.session_maker() as session:
                row = session.execute(view.row_by_key(pk)).scalars().first()
                return (
                    (str(row) if row is not None else None),
                    row is not None,
                    audit.history(session, view.identity, pk),
                )

        label, exists, entries = await anyio.to_thread.run_sync(load)
        if not exists and not entries:
            raise HTTPException(status_code=404)
        context = {
            "model_view": view,
            "title": f"History of {view.name.lower()} {label or pk}",
            "record_label": label or f"#{pk}",
            "exists": exists,
            "pk": pk,
            "entries": [
                {"entry": e, "action": action_word(e.action), "fields": field_changes(view, e.changes)} for e in entries
            ],
        }
        return await self.templates.TemplateResponse(request, TEMPLATE, context)


async def recent_actions(admin: HistoryAdmin, staff_id: int, limit: int = 10) -> list[dict[str, Any]]:
    """The home page's "your recent actions": each with a link to the record's history when it has one."""

    views: dict[str, Any] = {v.identity: v for v in admin.views if getattr(v, "show_history", False)}

    def load() -> tuple[list[audit.Entry], dict[tuple[str, str], str]]:
        with admin.session_maker() as session:
            entries = audit.recent_for(session, staff_id, limit)
            return entries, record_labels(session, views, [(e.entity or "", e.entity_pk or "") for e in entries])

    entries, labels = await anyio.to_thread.run_sync(load)
    return [
        {
            "entry": e,
            "action": action_word(e.action),
            "what": _what(views, labels, e),
            "history": (e.entity, e.entity_pk)
            if e.entity in views and e.entity_pk and e.action not in audit.NOT_CHANGES
            else None,
        }
        for e in entries
    ]


def _what(views: dict[str, Any], labels: dict[tuple[str, str], str], entry: audit.Entry) -> str:
    """ "Order SO-0000042" (the record's label; its key once it is gone), "Orders" for a whole list."""
    view = views.get(entry.entity or "")
    if view is None:
        return humanise((entry.entity or "").replace("-", "_"))
    if not entry.entity_pk:
        return str(view.name_plural)
    return f"{view.name} {labels.get((entry.entity or '', entry.entity_pk), '#' + entry.entity_pk)}"


def record_labels(
    session: Session, views: dict[str, Any], records: list[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """The labels of the records named by (view identity, key), one statement per view; gone ones are absent."""
    found: dict[tuple[str, str], str] = {}
    for identity in {entity for entity, key in records if key and entity in views}:
        view = views[identity]
        pk = view.pk_columns[0]
        keys = [
            k for k in (parse_key(pk, key) for entity, key in records if entity == identity and key) if k is not None
        ]
        attribute = sa_inspect(view.model).get_property_by_column(pk).key
        for row in session.scalars(select(view.model).where(pk.in_(keys))):
            found[(identity, str(getattr(row, attribute)))] = str(row)
    return found
