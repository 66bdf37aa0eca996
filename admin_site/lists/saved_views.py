"""Saved views: a staff member keeps a list's search, filters and sort under a name, to pick it again.

Each is the list's query string, stored per staff member and list; only its owner sees, replaces or
deletes it. Picking one is an ordinary link to the list with that query string, which the list
validates like any URL. Saving and deleting are POST forms (CSRF token) and need the right to view
that list; each is audited (create, update or delete of a `saved-view`) in its own transaction. A
person keeps at most MAX_PER_LIST views of one list: the next is refused with a message (the list
shows that many, so one more could be neither seen nor deleted).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol
from urllib.parse import parse_qsl, urlencode

import anyio
from sqladmin.flash import Flash
from sqlalchemy import Integer, bindparam, func, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from admin_site.audit import log as audit
from models import SavedView

MAX_NAME = 100
MAX_QUERY = 2000
MAX_PER_LIST = 50
ENTITY = "saved-view"  # as the audit log names the model's rows
LOCKS = 0x5EC4  # advisory lock namespace: one person's saves, one at a time (the count holds)
NOT_SAVED = {"page", "csrf_token", "error", "error_sig"}  # the page number is where one was, not what


class ListView(Protocol):
    """What saving a view asks of the list's view (a ShopView): which list it is, and sessions to write with."""

    identity: ClassVar[str]
    session_maker: ClassVar[sessionmaker[Session]]


def clean_query(raw: str) -> str:
    """The query string to keep: the list's parameters, without the page number."""
    pairs = [(k, v) for k, v in parse_qsl(raw.replace("\x00", ""), keep_blank_values=False) if k not in NOT_SAVED]
    return urlencode(pairs)


@dataclass(frozen=True)
class SavedViewLink:
    """One saved view as its list shows it."""

    id: int
    name: str
    query: str


def links_column(identity: str) -> ColumnElement[Any]:
    """A staff member's saved views of one list as JSON, [[id, name, query], ...] by name (`staff_id` bound
    when it runs): the list reads it in the statement that counts its rows."""
    mine = (
        select(SavedView.id, SavedView.name, SavedView.query)
        .where(SavedView.staff_user_id == bindparam("staff_id", type_=Integer), SavedView.view_identity == identity)
        .order_by(SavedView.name)
        .limit(MAX_PER_LIST)
        .subquery()
    )
    return select(func.json_agg(aggregate_order_by(func.json_build_array(*mine.c), mine.c.name))).scalar_subquery()


def read_links(value: list[list[Any]] | None) -> list[SavedViewLink]:
    return [SavedViewLink(*link) for link in value or []]


def _back(request: Request, query: str = "") -> RedirectResponse:
    url = str(request.url_for("admin:list", identity=request.path_params["identity"]))
    return RedirectResponse(f"{url}?{query}" if query else url, status_code=303)


def store(session: Session, request: Request, staff_id: int, identity: str, name: str, query: str) -> str | None:
    """Save (or replace, under the same name) one saved view with its audit row; why not, if it is refused."""
    session.execute(select(func.pg_advisory_xact_lock(LOCKS, staff_id)))
    mine = (SavedView.staff_user_id == staff_id, SavedView.view_identity == identity)
    row = session.scalars(select(SavedView).where(*mine, SavedView.name == name).with_for_update()).first()
    if row is None:
        if (session.scalar(select(func.count()).where(*mine)) or 0) >= MAX_PER_LIST:
            return f"You already have {MAX_PER_LIST} saved views of this list: delete one before saving another."
        row = SavedView(staff_user_id=staff_id, view_identity=identity, name=name, query=query)
        session.add(row)
        session.flush()
        audit.record(session, request, audit.CREATE, ENTITY, row.id, audit.diff(None, audit.snapshot(row)))
    elif row.query != query:
        before = audit.snapshot(row)
        row.query = query
        session.flush()
        audit.record(session, request, audit.UPDATE, ENTITY, row.id, audit.diff(before, audit.snapshot(row)))
    session.commit()
    return None


async def save(request: Request, view: ListView) -> Response:
    """POST (whoever may see the list) name + query: saves (or replaces, under the same name) this list's view."""
    form = await request.form()
    name = str(form.get("name") or "").replace("\x00", "").strip()
    query = clean_query(str(form.get("query") or ""))
    if not name or len(name) > MAX_NAME or len(query) > MAX_QUERY:
        raise HTTPException(status_code=400, detail=f"A saved view needs a name of 1 to {MAX_NAME} characters")
    staff_id = request.state.staff_user.id

    def in_session() -> str | None:
        with view.session_maker() as session:
            return store(session, request, staff_id, view.identity, name, query)

    refused = await anyio.to_thread.run_sync(in_session)
    if refused:
        Flash.error(request, refused)
    else:
        Flash.success(request, f"The view “{name}” was saved.")
    return _back(request, query)


async def remove(request: Request, view: ListView) -> Response:
    """POST: deletes one of one's own saved views; anybody else's is simply not found (404)."""
    raw = request.path_params["saved_id"]
    if not raw.isdigit() or len(raw) > 9:
        raise HTTPException(status_code=404)
    staff_id = request.state.staff_user.id

    def drop() -> bool:
        with view.session_maker() as session:
            row = session.scalars(
                select(SavedView)
                .where(
                    SavedView.id == int(raw),
                    SavedView.staff_user_id == staff_id,
                    SavedView.view_identity == view.identity,
                )
                .with_for_update()
            ).first()
            if row is None:
                return False
            audit.record(session, request, audit.DELETE, ENTITY, row.id, audit.diff(audit.snapshot(row), None))
            session.delete(row)
            session.commit()
            return True

    if not await anyio.to_thread.run_sync(drop):
        raise HTTPException(status_code=404)
    Flash.success(request, "The saved view was deleted.")
    return _back(request)
