"""The views' bulk actions on selected rows.

A bulk action is declared on a view with `@bulk_action`; the method decides for one row:

    @bulk_action("mark_shipped", "Mark as shipped", done="shipped", sets={"status": OrderStatus.shipped})
    def mark_shipped(self, order: Order, request: Request) -> str | None:
        if order.status != OrderStatus.paid:
            return "not paid"          # left alone, and why
        order.status = OrderStatus.shipped   # changed (None returned)

Selecting rows and choosing the action opens a confirmation page (GET /{identity}/confirm/{slug})
that says how many rows it will touch and how many it will skip, and why, computed by a dry run
that is rolled back. Its form POSTs (with the CSRF token) to the action route
(/{identity}/action/{slug}, POST only): every selected row in one transaction, rows locked, one
audit row per changed row (action = the slug), and the result in words: "12 orders shipped;
3 skipped: not paid". A database refusal rolls everything back. The permission is the slug, as
named in permissions.MATRIX.

`sets` names the field and value the action sets. Setting that value another way (the edit or create
form) is the same act, so it needs the same permission: forms/action_fields.py limits the forms and
refuses such a change on the write path for a role without it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol
from urllib.parse import urlsplit

import anyio
from sqladmin.flash import Flash
from sqladmin.templating import Jinja2Templates
from sqlalchemy import Column, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from starlette.datastructures import URL
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from admin_site.audit import log as audit
from admin_site.forms.constraint_messages import describe
from admin_site.keys import parse_key, split_keys
from admin_site.refusals import ChangeRefused

if TYPE_CHECKING:
    from models.base import Base

CONFIRM_TEMPLATE = "shop/confirm_action.html"
MAX_ROWS = 1000  # one click should not lock a whole table
SHOWN_ROWS = 50  # the confirmation page lists this many of the selected rows by name

RowAction = Callable[[Any, Any, Request], "str | None"]


@dataclass(frozen=True)
class BulkAction:
    slug: str
    label: str
    done: str  # past participle: "shipped"
    change: RowAction
    add_in_detail: bool = True  # a button on the record's page too, not only on the list
    shown_for: Callable[[Any], bool] | None = None  # the records whose page offers it (None: all)
    sets: dict[str, Any] = field(default_factory=dict)  # field → the value the action gives it

    def applies(self, row: Any) -> bool:
        return self.shown_for is None or self.shown_for(row)


@dataclass
class Outcome:
    """What an action did (or, in a dry run, would do) to the selected rows."""

    changed: list[str] = field(default_factory=list)  # labels of the rows changed
    skipped: Counter = field(default_factory=Counter)  # reason → how many
    selected: list[str] = field(default_factory=list)  # labels of the rows found

    @property
    def skipped_count(self) -> int:
        return sum(self.skipped.values())


class ActionView(Protocol):
    """What a bulk action asks of its view (a ShopView): its rows, its sessions, its names."""

    name: ClassVar[str]
    name_plural: ClassVar[str]
    identity: ClassVar[str]
    model: ClassVar[type[Base]]
    pk_columns: ClassVar[tuple[Column[Any]]]
    session_maker: ClassVar[sessionmaker[Session]]


def bulk_action(
    slug: str,
    label: str,
    *,
    done: str,
    add_in_detail: bool = True,
    shown_for: Callable[[Any], bool] | None = None,
    sets: dict[str, Any] | None = None,
) -> Callable[[RowAction], Any]:
    """Declare a view method `(self, row, request) -> None | reason` as the bulk action `slug`.

    `shown_for(row)` says on which records' pages its button appears (Mark as shipped: paid orders);
    the method still decides for every row it is given. `sets` names the fields the action gives a value
    and that value: a role without the action may not give them that value in a form either.

    The route (`/{identity}/action/{slug}`, POST) is one entry of the route table for every view;
    the view lists its actions for the buttons (ShopView.__init__)."""

    def wrap(change: RowAction) -> RowAction:
        spec = BulkAction(slug, label, done, change, add_in_detail, shown_for, dict(sets or {}))
        change.bulk_action = spec  # type: ignore[attr-defined]
        return change

    return wrap


def actions_of(view_class: type) -> dict[str, BulkAction]:
    """The bulk actions a view class declares, by slug."""
    found = (getattr(getattr(view_class, name, None), "bulk_action", None) for name in dir(view_class))
    return {spec.slug: spec for spec in found if isinstance(spec, BulkAction)}


def action_of(view: ActionView, slug: str) -> BulkAction:
    """The bulk action `slug` of the view, or 404."""
    spec = actions_of(type(view)).get(slug)
    if spec is None:
        raise HTTPException(status_code=404)
    return spec


# -- selection -------------------------------------------------------------------------------------


def _noun(view: ActionView, count: int) -> str:
    return str(view.name if count == 1 else view.name_plural).lower()


def execute(view: ActionView, request: Request, spec: BulkAction, pks: list[str], *, commit: bool) -> Outcome:
    """Run the action over the rows (locked) in one transaction; commit it, or roll it back (dry run)."""
    outcome = Outcome()
    pk = view.pk_columns[0]
    keys = [key for key in (parse_key(pk, raw) for raw in pks) if key is not None]
    with view.session_maker() as session:
        rows = session.scalars(select(view.model).where(pk.in_(keys)).order_by(pk).with_for_update()).all()
        missing = len(pks) - len(rows)
        for row in rows:
            label = str(row)
            outcome.selected.append(label)
            before = audit.snapshot(row)
            reason = spec.change(view, row, request)
            if reason:
                outcome.skipped[reason] += 1
                continue
            try:
                session.flush()  # the next row's checks see this one's change (e.g. "the last admin")
            except DBAPIError as error:
                session.rollback()
                raise ChangeRefused(f"{view.name} {label}: {_says(error)} Nothing was changed.") from error
            changes = audit.diff(before, audit.snapshot(row))
            if changes:
                audit.record(session, request, spec.slug, view.identity, audit.pk_text(row), changes)
            outcome.changed.append(label)
        if missing:
            outcome.skipped["no longer exists" if missing == 1 else "no longer exist"] += missing
        if not commit:
            session.rollback()
            return outcome
        try:
            session.commit()
        except DBAPIError as error:
            raise ChangeRefused(f"{_says(error)} Nothing was changed.") from error
    return outcome


def _says(error: DBAPIError) -> str:
    return describe(error).message


def summary(view: ActionView, spec: BulkAction, outcome: Outcome) -> str:
    """ "12 orders shipped; 3 skipped: not paid" (several reasons: "4 skipped: 3 not paid, 1 ...")."""
    count = len(outcome.changed)
    text = f"{count} {_noun(view, count)} {spec.done}"
    if outcome.skipped:
        reasons = outcome.skipped.most_common()
        if len(reasons) == 1:
            text += f"; {outcome.skipped_count} skipped: {reasons[0][0]}"
        else:
            text += f"; {outcome.skipped_count} skipped: " + ", ".join(f"{n} {why}" for why, n in reasons)
    return text + "."


# -- the two pages ---------------------------------------------------------------------------------


def _back_url(view: ActionView, request: Request, raw: str | None) -> str:
    """Where to go afterwards: a page of this admin (a path, never another site), else the list."""
    admin_path = URL(str(request.url_for("admin:index"))).path
    if raw:
        parts = urlsplit(raw)
        if not parts.scheme and not parts.netloc and parts.path.startswith(admin_path) and "\\" not in raw:
            return raw
    return URL(str(request.url_for("admin:list", identity=view.identity))).path


def _local_part(url: str | None) -> str | None:
    if not url:
        return None
    parsed = URL(url)
    return parsed.path + (f"?{parsed.query}" if parsed.query else "")


class BulkActionPages:
    def __init__(self, templates: Jinja2Templates) -> None:
        self.templates = templates

    async def confirm(self, request: Request, view: ActionView) -> Response:
        """GET: what the action would do to the selected rows, and the button that does it."""
        spec = action_of(view, request.path_params["slug"])
        pks = split_keys(request.query_params.get("pks", ""))[: MAX_ROWS + 1]
        back = _back_url(view, request, _local_part(request.headers.get("referer")))
        context = {
            "model_view": view,
            "title": f"{spec.label}: {view.name_plural.lower()}",
            "action": spec,
            "pks": ",".join(pks),
            "back": back,
            "too_many": len(pks) > MAX_ROWS,
            "max_rows": MAX_ROWS,
            "post_url": str(request.url_for("admin:action", identity=view.identity, slug=spec.slug)),
        }
        if pks and len(pks) <= MAX_ROWS:
            try:
                outcome = await anyio.to_thread.run_sync(lambda: execute(view, request, spec, pks, commit=False))
            except ChangeRefused as refused:
                context["refused"] = str(refused)
                outcome = None
            if outcome is not None:
                count = len(outcome.changed)
                context.update(
                    outcome=outcome,
                    will_change=f"{count} {_noun(view, count)} will be {spec.done}",
                    shown_rows=outcome.selected[:SHOWN_ROWS],
                    selected_noun=_noun(view, len(pks)),
                )
        return await self.templates.TemplateResponse(request, CONFIRM_TEMPLATE, context)

    async def run(self, request: Request, view: ActionView) -> Response:
        """POST: do it, in one transaction, and say what happened."""
        spec = action_of(view, request.path_params["slug"])
        form = await request.form()
        pks = split_keys(str(form.get("pks") or request.query_params.get("pks") or ""))
        back = _back_url(view, request, str(form.get("next") or ""))
        if not pks:
            Flash.warning(request, f"Select at least one {_noun(view, 1)} first.")
        elif len(pks) > MAX_ROWS:
            Flash.error(request, f"Select at most {MAX_ROWS} rows at a time. Nothing was changed.")
        else:
            try:
                outcome = await anyio.to_thread.run_sync(lambda: execute(view, request, spec, pks, commit=True))
            except ChangeRefused as refused:
                Flash.error(request, str(refused))
            else:
                message = summary(view, spec, outcome)
                (Flash.success if outcome.changed else Flash.warning)(request, message)
        return RedirectResponse(back, status_code=303)
