"""`ShopView`: a SQLAdmin ModelView whose defaults come from the model (see `inference`).

A subclass states only what differs, in class attributes; anything it does not set is inferred.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import cached_property
from typing import Any, ClassVar, TypeVar

import anyio
from sqladmin.authorization import Action
from sqladmin.forms import WTFORMS_ATTRS
from sqladmin.models import ModelView
from sqlalchemy import Select, bindparam, false, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.sql.elements import ColumnElement
from starlette.exceptions import HTTPException
from starlette.requests import Request
from wtforms import Form, HiddenField

from admin_site.db.outage import unavailable_as_such
from admin_site.formatting import Formats
from admin_site.forms import writes
from admin_site.forms.bulk_actions import actions_of
from admin_site.forms.constraint_messages import describe
from admin_site.forms.validators import ConstraintAwareConverter
from admin_site.inference import InferredView, display_kinds
from admin_site.keys import parse_key
from admin_site.lists import query as listing
from admin_site.lists import rows as list_rows
from admin_site.lists import saved_views
from admin_site.lists.filters import ListFilter, build_filter
from admin_site.refusals import ChangeRefused
from admin_site.site.urls import FastUrls
from admin_site.views.panels import PanelSum
from admin_site.views.row_support import lists_rows, stamped_now, with_lines, with_related
from admin_site.views.view_defaults import ShopViewMeta, attribute_names
from models.base import Base

log = logging.getLogger(__name__)

NOT_SAVED = "The change could not be saved. Nothing was written."
DELETE_FAILED = "The records could not be deleted."
ROW_KEY = "row_key"  # the bound parameter of the details and edit pages' row statements

T = TypeVar("T")


class ShopView(FastUrls, metaclass=ShopViewMeta):
    """Base of every admin view: inferred defaults, fast lists, values computed in SQL."""

    model: ClassVar[type[Base]]
    session_maker: ClassVar[sessionmaker[Session]]  # the admin's: synchronous sessions only
    # Attribute names or ListFilters, from which ShopView builds its own filters (not SQLAdmin's filter objects).
    column_filters: ClassVar[Sequence[str | ListFilter]]  # type: ignore[assignment]
    page_size = 50
    page_size_options = [25, 50, 100, 200]
    count_mode: ClassVar[str] = "exact"  # exact | estimated | capped
    export_types = ["csv", "json", "xlsx"]  # streamed by admin_site/export.py
    list_template = "shop/list.html"
    form_edit_readonly: ClassVar[list[Any]] = []  # shown on the edit page, never changed by it
    form_converter = ConstraintAwareConverter  # validators from NOT NULL, lengths, CHECKs (form_rules)
    show_history: ClassVar[bool] = True  # a "History" link on each record's page (admin_site/history.py)
    # The unique column imports match rows by ("sku"; with can_import: admin_site/imports/); not for hook-written views
    import_key: ClassVar[str | None] = None
    formats: ClassVar[Formats] = Formats()  # money, times, badges: the admin's, set when it adds the view
    details_template = "shop/details.html"
    # One-to-many relations edited with the record (an order's lines) and shown whole on its page:
    inlines: ClassVar[list[str]] = []
    # Inline fields filled from the chosen row when a line is added: {"items": {"unit_price": "price"}}.
    inline_defaults: ClassVar[dict[str, dict[str, str]]] = {}
    # Figures under a related panel of the details page, by relation name (a customer's amount spent).
    panel_sums: ClassVar[dict[str, list[PanelSum]]] = {}
    _inferred: ClassVar[InferredView]

    def __init__(self) -> None:
        super().__init__()
        self.display_kinds = display_kinds(self.model)  # how each attribute's values are shown
        self._form_classes: dict[tuple[str, ...], type] = {}
        self._inline_forms: dict[str, type[Form]] = {}  # views/inlines.py: one lines form per inline
        self._filters: list[ListFilter] = [
            f
            if isinstance(f, ListFilter)
            else build_filter(self.model, attribute_names([f])[0], self.formats.time_zone)
            for f in self.column_filters
        ]
        self._listed_hybrids = {
            name: hybrid.expression
            for name, hybrid in self._inferred.hybrids.items()
            if name in self._list_prop_names or name in self._details_prop_names
        }
        # Related rows the list shows, directly (`customer`) or through a path (`customer.email`).
        shown = {name.partition(".")[0] for name in self._list_prop_names}
        self._joined_relations = [getattr(self.model, name) for name in self._relation_names if name in shown]
        self._unfiltered_statements: dict[tuple[str | None, bool, str], listing.ListStatements] = {}
        # The bulk actions' buttons, where SQLAdmin's templates look for them (label by slug).
        for slug, spec in actions_of(type(self)).items():
            self._custom_actions_in_list[slug] = spec.label
            if spec.add_in_detail:
                self._custom_actions_in_detail[slug] = spec.label

    def is_visible(self, request: Request) -> bool:
        """The menu lists a view only for roles that may look at its rows."""
        return self.has_permission(request, Action.LIST)

    # -- filters, search, sort -------------------------------------------------------------

    def get_filters(self) -> list[ListFilter]:  # type: ignore[override]  # ShopView's filters, not SQLAdmin's
        return self._filters

    def filtered_query(self, request: Request, params: listing.ListParams) -> tuple[Select, bool]:
        """The list query with search and filters applied, and whether anything narrowed it."""
        stmt = self.list_query(request)
        narrowed = False
        for list_filter in self._filters:
            if list_filter.is_active(request.query_params):
                stmt = list_filter.apply(stmt, request.query_params)
                narrowed = True
        if params.search and self._search_fields:
            stmt = stmt.where(listing.search_clause(self.model, self._search_fields, params.search))
            narrowed = True
        return stmt, narrowed

    def ordered(self, stmt: Select, params: listing.ListParams) -> Select:
        pk = self.pk_columns[0]
        if params.sort_by:
            return listing.sort_clauses(self.model, stmt, params.sort_by, params.descending, pk)
        for name, descending in self._get_default_sort():
            stmt = listing.sort_clauses(self.model, stmt, name, descending, pk)
        return stmt

    def list_params(self, request: Request) -> listing.ListParams:
        return listing.parse_params(
            request.query_params,
            default_size=self.page_size,
            max_size=max(self.page_size_options),
            sortable=set(self._sort_fields),
        )

    # -- reading ---------------------------------------------------------------------------

    async def _in_session(self, work: Callable[[Session], T]) -> T:
        def run() -> T:
            with self.session_maker(expire_on_commit=False) as session:
                return work(session)

        return await anyio.to_thread.run_sync(run)

    def _page(self, session: Session, request: Request, staff_id: int | None = None) -> tuple[listing.Page, list[Any]]:
        """The page of rows, and the values read beside them (see `_beside`) for this staff member."""
        params = self.list_params(request)
        stmt, narrowed = self.filtered_query(request, params)
        counting = listing.counting_for(self.count_mode, filtered=narrowed)
        searched = bool(params.search and self._search_fields)
        statements: listing.ListStatements | None
        if narrowed or not self._list_query_is_fixed:
            statements = self._list_statements(stmt, params, counting, carry_keys=searched)
        else:  # the same statements for every request: kept, one set per sort order
            kept = (params.sort_by, params.descending, counting)
            statements = self._unfiltered_statements.get(kept)
            if statements is None:
                statements = self._unfiltered_statements[kept] = self._list_statements(stmt, params, counting)
        first = listing.read_first(session, statements, {"staff_id": staff_id})
        if first.keys is not None:  # few rows matched the search: the page is read by their keys
            by_keys = listing.with_keys(self.list_query(request), self.model, first.keys)
            statements = self._list_statements(by_keys, params, counting=None)
        assert first.row_count is not None  # the first read counts: `counting` is never None here
        page = listing.fetch_page(session, statements, params=params, row_count=first.row_count)
        self.label_rows(session, page.rows)
        return page, first.beside

    def label_rows(self, session: Session, rows: list[Any]) -> None:
        """A view's chance to read, for the whole page at once, what its cells show besides the rows."""

    @property
    def _list_query_is_fixed(self) -> bool:
        """SQLAdmin's `list_query` (all rows) and ShopView's `filtered_query` (what the URL asks for): a view
        that brings its own may give different rows per request (e.g. limited to who asks), so its statements
        are built for each request, never kept."""
        return (
            getattr(self.list_query, "__func__", None) is ModelView.list_query
            and getattr(self.filtered_query, "__func__", None) is ShopView.filtered_query
        )

    def _list_statements(
        self, stmt: Select, params: listing.ListParams, counting: str | None, *, carry_keys: bool = False
    ) -> listing.ListStatements:
        return listing.ListStatements(
            self.model,
            stmt,
            order=lambda unordered: self.ordered(unordered, params),
            joined=self._joined_relations,
            hybrids=self._listed_hybrids,
            counting=counting,
            beside=self._beside,
            carry_keys=carry_keys,
        )

    @cached_property
    def _beside(self) -> tuple[ColumnElement[Any], ...]:
        """What the list page shows beside its rows, read in the statement that counts them (one trip to
        the database for all of it): the choices of each filter that has some, then the saved views."""
        choices = tuple(column for f in self._filters_with_choices if (column := f.options_column) is not None)
        return (*choices, saved_views.links_column(self.identity))

    @cached_property
    def _filters_with_choices(self) -> list[ListFilter]:
        return [f for f in self._filters if f.options_column is not None]

    async def list_screen(self, request: Request) -> dict[str, Any]:
        """What the list page shows, read in one session (one connection, one trip to a worker
        thread): the page of rows, the filters' choices and this staff member's saved views."""
        staff = getattr(request.state, "staff_user", None)

        def work(session: Session) -> dict[str, Any]:
            page, (*choices, links) = self._page(session, request, staff.id if staff else None)
            options = zip(self._filters_with_choices, choices, strict=True)
            return {
                "pagination": page,
                "filter_options": {f.parameter_name: f.read_options(value) for f, value in options},
                "saved_views": saved_views.read_links(links),
            }

        return await self._in_session(work)

    # Row statements built once per view, the key bound at run time: a new one would be walked for its cache key.

    @cached_property
    def _details_row(self) -> Select:
        by_key = select(self.model).where(self.pk_columns[0] == bindparam(ROW_KEY))
        return listing.with_hybrid_columns(with_related(by_key, self._details_relations), self._listed_hybrids)

    @cached_property
    def _edit_row(self) -> Select:  # a form shows no totals, but the lines it edits
        by_key = select(self.model).where(self.pk_columns[0] == bindparam(ROW_KEY))
        return with_lines(with_related(by_key, self._form_relations), self.model, self.inlines)

    def form_details_query(self, request: Request) -> Select:
        return self._details_row

    def form_edit_query(self, request: Request) -> Select:
        return self._edit_row

    async def _row_in_url(self, request: Request, stmt: Select, hybrids: list[str]) -> Any:
        """The row the URL's key names, read by `stmt` (its key bound, if it has one); None if there is none."""
        key = self._key_from_url(request.path_params["pk"])
        if key is None:
            return None

        def read(session: Session) -> list[Any]:
            return listing.with_sql_values(session.execute(stmt, {ROW_KEY: key}).unique(), hybrids)

        rows = await self._in_session(read)
        return rows[0] if rows else None

    async def get_object_for_details(self, request: Request) -> Any:
        """The shown row, loaded once per request; the row-level check runs on it (views/pages.py)."""
        stmt = self.details_query(request)
        if stmt is not self._details_row:  # a view's own query: the shown related rows and hybrids are added to it
            stmt = listing.with_hybrid_columns(with_related(stmt, self._details_relations), self._listed_hybrids)
        row = await self._row_in_url(request, stmt, list(self._listed_hybrids))
        if row is not None and not await self.check_can_view_details(request, row):
            raise HTTPException(status_code=403)
        return row

    async def get_object_for_edit(self, request: Request) -> Any:
        """The edited row, loaded once per request; the row-level check runs on it (views/form_pages.py)."""
        row = await self._row_in_url(request, self.form_edit_query(request), [])
        if row is not None and not await self.check_can_edit(request, row):
            raise HTTPException(status_code=403)
        return row

    # -- writing ---------------------------------------------------------------------------

    # Each write is one transaction with its audit row; an update names the version its form showed
    # (a hidden field) and is refused if the row moved on since (see admin_site/writes.py).

    async def scaffold_form(self, rules: list[str] | None = None) -> type[Form]:
        """SQLAdmin's form class, built once unless a drop-down in it lists rows (read when built)."""
        key = tuple(rules or ())
        if key in self._form_classes:
            return self._form_classes[key]
        form = await super().scaffold_form(rules)
        if writes.is_versioned(self.model) and not hasattr(form, writes.VERSION):
            form = type(form.__name__, (form,), {writes.VERSION: HiddenField()})
        if not lists_rows(form):
            self._form_classes[key] = form
        return form

    async def create_form(self) -> type[Form]:
        return await self.scaffold_form(self._form_create_rules)

    async def edit_form(self) -> type[Form]:
        return await self.scaffold_form(self._form_edit_rules)

    def new_record_data(self) -> dict[str, Any]:
        """A new record's form starts with "now" in the times the database would stamp (placed at)."""
        now = datetime.now(UTC)
        return {name: now for name in self._form_prop_names if stamped_now(self.model, name)}

    def lookup_loader(self, name: str) -> Any | None:
        """The form's look-up field `name` (a many-to-one searched by typing), if it has one."""
        return self._form_ajax_refs.get(name)

    async def get_form_data_for_edit(self, obj: Any) -> dict[str, Any]:
        if any(name in sa_inspect(obj).unloaded for name in self._ajax_relation_names):
            data = await super().get_form_data_for_edit(obj)
        else:  # the look-ups' rows came with the row (form_edit_query); SQLAdmin would query each again
            data = {WTFORMS_ATTRS.get(name, name): getattr(obj, name, None) for name in self._form_prop_names}
        if writes.is_versioned(self.model):
            data[writes.VERSION] = obj.version
        return data

    async def insert_model(self, request: Request, data: dict, then: writes.AfterWrite | None = None) -> Any:
        """`then`: more work in the same transaction once the row is written (its inline lines)."""
        row = await self._write(writes.insert, self, request, data, then)
        await self.after_model_change(data, row, True, request)
        return row

    async def update_model(self, request: Request, pk: str, data: dict, then: writes.AfterWrite | None = None) -> Any:
        data = {k: v for k, v in data.items() if k not in self.form_edit_readonly}
        row = await self._write(writes.update, self, request, pk, data, then)
        await self.after_model_change(data, row, False, request)
        return row

    async def delete_model(self, request: Request, pk: Any) -> None:
        await self.delete_models(request, [str(pk)])

    async def delete_models(self, request: Request, pks: list[str], versions: list[str] | None = None) -> None:
        """All of `pks` in one transaction, or none (ChangeRefused says why)."""
        deleted = await self._write(writes.delete, self, request, pks, versions, not_saved=DELETE_FAILED)
        for row in deleted:
            await self.after_model_delete(row, request)

    async def _write(self, work: Callable[..., Any], *args: Any, not_saved: str = NOT_SAVED) -> Any:
        """`work(*args)` on a worker thread; whatever the database refuses becomes a ChangeRefused, and a
        database that is unavailable a DatabaseUnavailable (a 503 with the form kept, views/form_pages.py)."""
        with unavailable_as_such():
            try:
                return await anyio.to_thread.run_sync(lambda: work(*args))
            except DBAPIError as error:
                raise self._refusal(error) from None
            except SQLAlchemyError:
                log.exception("write to %s failed", self.identity)
                raise ChangeRefused(not_saved) from None

    def _url_for_delete(self, request: Request, obj: Any) -> str:
        """The delete link names the version the page showed: a row changed since is not deleted."""
        url = super()._url_for_delete(request, obj)
        if writes.is_versioned(type(obj)):
            url += f"&versions={obj.version}"
        return url

    def _url_for_action(self, request: Request, action_name: str) -> str:
        """A bulk action's button opens its confirmation page; that page's form POSTs the action."""
        return str(request.url_for("admin:action_confirm", identity=self.identity, slug=action_name))

    def _refusal(self, error: DBAPIError) -> ChangeRefused:
        """Readable message, next to each form field it concerns (see templates/sqladmin/_form_problem.html)."""
        problem = describe(error)
        fields = [self._form_field_for(name) for name in problem.fields]
        return ChangeRefused(problem.message, field_names=tuple(f for f in dict.fromkeys(fields) if f))

    def _form_field_for(self, column: str) -> str | None:
        """The form field that edits a column: itself, or the many-to-one relation it is the key of."""
        if column in self._form_prop_names:
            return column
        return next((r.key for r in self._mapper.relationships if any(c.key == column for c in r.local_columns)), None)

    async def get_prop_value(self, obj: Any, prop: str) -> Any:
        values = getattr(obj, listing.VALUES_ATTR, None)
        if values is not None and prop in values:
            return values[prop]
        return await super().get_prop_value(obj, prop)

    def _build_url_for(self, name: str, request: Request, obj: Any) -> Any:
        """A row's details link carries the list's query string (search, filters, sort, page), so
        "Go back" there returns to the same list (see static/list_tools.js); links to other models do not."""
        url = super()._build_url_for(name, request, obj)
        if name == "admin:details" and isinstance(obj, self.model) and request.url.query:
            return url.replace(query=request.url.query)
        return url

    def list_rows_html(self, request: Request, rows: list[Any], text: dict[str, str]) -> Any:
        return list_rows.render_rows(self, request, rows, text)

    def _key_from_url(self, identifier: str) -> Any | None:
        """The primary key a URL names, or None when it is not a valid key (the page is then a 404)."""
        return parse_key(self.pk_columns[0], identifier)

    def row_by_key(self, identifier: str) -> Select:
        """Primary keys come from the URL: a value that is not a valid key finds nothing (404)."""
        value = self._key_from_url(identifier)
        return select(self.model).where(false() if value is None else self.pk_columns[0] == value)
