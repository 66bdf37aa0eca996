"""The pages that write: create, edit, delete, and the form's related-row look-up.

SQLAdmin's own create and edit catch every exception and show its text; here a refusal is a
`ChangeRefused` (a constraint, a conflict, a staff rule, a stale version) that comes back as the
form page with the user's input kept and the message next to the fields it concerns. Anything else
is a bug and ends as the plain 500 page. Deleting reads each selected row once, with its lock.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl

import anyio
from sqladmin.flash import Flash
from sqladmin.forms import WTFORMS_ATTRS_REVERSED
from sqladmin.helpers import get_object_identifier
from starlette.datastructures import URL, FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, RedirectResponse, Response
from wtforms import Form

from admin_site.forms.action_fields import limit_form
from admin_site.keys import split_keys
from admin_site.refusals import ChangeRefused, Conflict, RowsNotFound
from admin_site.security.signed_errors import ERROR, ERROR_SIGNATURE, signed_error
from admin_site.site.routes import view_allows
from admin_site.views import inlines

if TYPE_CHECKING:
    from admin_site.site.admin import ShopAdmin
    from admin_site.views.base import ShopView

log = logging.getLogger(__name__)


def saved_with(form: FormData, label: str) -> bool:
    """Whether the form was sent with the submit button labelled `label`."""
    return form.get("save") == label


def model_data(form_data: dict[str, Any], target: Any) -> dict[str, Any]:
    """The form's data by attribute name: WTForms reserves a few names (`data`, …), SQLAdmin's fields add `_`."""
    data = dict(form_data)
    for field_name, attribute in WTFORMS_ATTRS_REVERSED.items():
        if field_name in data and not hasattr(target, field_name) and hasattr(target, attribute):
            data[attribute] = data.pop(field_name)
    return data


def _all_valid(form: Form, lines: list[inlines.InlineForm]) -> bool:
    """The record's form and every inline's lines (all validated, so every error shows at once)."""
    results = [form.validate(), *(inlines.validate_lines(f.form, f.inline) for f in lines)]
    return all(results)


class FormPages:
    def __init__(self, admin: ShopAdmin, secret_key: str) -> None:
        self.admin = admin
        self.secret_key = secret_key  # signs the message a refused delete sends to the list

    async def _form_page(
        self, request: Request, template: str, context: dict[str, Any], refused: ChangeRefused | None = None
    ) -> Response:
        """The form again (400 when something was refused), with the refusal next to its fields."""
        if refused is not None:
            context["error"] = refused.message
            context["conflict" if isinstance(refused, Conflict) else "problem"] = refused
        status = 400 if refused is not None or request.method == "POST" else 200
        return await self.admin.templates.TemplateResponse(request, template, context, status_code=status)

    async def create(self, request: Request, view: ShopView) -> Response:
        form_class = await view.create_form()
        context: dict[str, Any] = {**await view.create_context(request), "model_view": view}
        if request.method == "GET":
            context["form"] = limit_form(form_class(data=view.new_record_data()), view, request)
            context["inline_forms"] = await inlines.inline_forms(view)
            return await self._form_page(request, view.create_template, context)
        form_data = await request.form()
        form = context["form"] = limit_form(form_class(form_data), view, request, None, form_data)
        lines = context["inline_forms"] = await inlines.inline_forms(view, formdata=form_data)
        if not _all_valid(form, lines):
            return await self._form_page(request, view.create_template, context)
        try:
            then = inlines.applier(lines, request, None)
            row = await view.insert_model(request, model_data(form.data, view.model), then)
        except ChangeRefused as refused:
            log.info("create of %s refused: %s", view.identity, refused.message)
            return await self._form_page(request, view.create_template, context, refused)
        Flash.success(request, f"{view.name} {row} was created.")
        return RedirectResponse(self._after_save(request, form_data, view, row), status_code=302)

    async def edit(self, request: Request, view: ShopView) -> Response:
        form_class = await view.edit_form()
        row = await view.get_object_for_edit(request)  # the row-level check runs on it
        if row is None:
            raise HTTPException(status_code=404)
        form: Form = limit_form(form_class(data=await view.get_form_data_for_edit(row)), view, request, row)
        context: dict[str, Any] = {**await view.edit_context(request), "obj": row, "model_view": view, "form": form}
        if request.method == "GET":
            context["inline_forms"] = await inlines.inline_forms(view, parent=row)
            return await self._form_page(request, view.edit_template, context)
        form_data = await request.form()
        as_new = view.save_as and saved_with(form_data, "Save as new")
        if as_new and not view_allows(view, request, "create"):
            raise HTTPException(status_code=403)
        form = context["form"] = limit_form(form_class(form_data), view, request, row, form_data)
        lines = context["inline_forms"] = (
            [] if as_new else await inlines.inline_forms(view, formdata=form_data, parent=row)
        )
        if not _all_valid(form, lines):
            return await self._form_page(request, view.edit_template, context)
        data = model_data(form.data, row)
        try:
            if as_new:
                row = await view.insert_model(request, data)
            else:
                then = inlines.applier(lines, request, getattr(row, "version", None))
                row = await view.update_model(request, request.path_params["pk"], data, then)
        except ChangeRefused as refused:
            log.info("edit of %s %s refused: %s", view.identity, request.path_params["pk"], refused.message)
            return await self._form_page(request, view.edit_template, context, refused)
        Flash.success(request, f"{view.name} {row} was {'created' if as_new else 'changed'}.")
        return RedirectResponse(self._after_save(request, form_data, view, row), status_code=302)

    def _after_save(self, request: Request, form: FormData, view: ShopView, row: Any) -> URL:
        """Where the save button said to go: the list (as it was), this record again, or a new form."""
        identity = view.identity
        if saved_with(form, "Save"):
            url = URL(str(request.url_for("admin:list", identity=identity)))
            return url.replace(query=request.url.query) if request.url.query else url
        if saved_with(form, "Save and continue editing") or (saved_with(form, "Save as new") and view.save_as_continue):
            return request.url_for("admin:edit", identity=identity, pk=get_object_identifier(row))
        return request.url_for("admin:create", identity=identity)

    async def delete(self, request: Request, view: ShopView) -> Response:
        """The selected rows go in one transaction, each at the version the page showed, or none goes.

        Answers, as SQLAdmin's script expects, the list URL to go to; a refusal travels in its
        signed `error`."""
        pks = split_keys(request.query_params.get("pks", ""))
        if not pks:
            raise HTTPException(status_code=400)
        versions = request.query_params.get("versions")
        referer = URL(request.headers.get("referer", ""))
        params = {k: v for k, v in parse_qsl(referer.query) if k not in (ERROR, ERROR_SIGNATURE)}
        try:
            await view.delete_models(request, pks, versions.split(",") if versions else None)
        except RowsNotFound:
            raise HTTPException(status_code=404) from None
        except ChangeRefused as refused:
            log.info("delete of %s %s refused: %s", view.identity, ",".join(pks), refused.message)
            params.update(signed_error(self.secret_key, refused.message))
        else:
            noun = view.name if len(pks) == 1 else view.name_plural
            Flash.success(request, f"{len(pks)} {noun.lower()} deleted.")
        url = URL(str(request.url_for("admin:list", identity=view.identity))).include_query_params(**params)
        return PlainTextResponse(str(url))

    async def inline_lookup(self, request: Request, view: ShopView) -> Response:
        """Rows an inline line may choose (an order line's product): the role must see their list too."""
        name = request.path_params["relation"]
        if name not in view.inlines:
            raise HTTPException(status_code=404)
        inline = inlines.inline_of(view, name)
        target = self.admin.view_of_model(inline.chooser.mapper.class_)
        if target is None or not view_allows(target, request, "list"):
            raise HTTPException(status_code=403)
        term = (request.query_params.get("term") or "").replace("\x00", "").strip()[:100]
        if not term:
            raise HTTPException(status_code=400)
        defaults = view.inline_defaults.get(name, {})

        def search() -> list[dict[str, Any]]:
            with view.session_maker() as session:
                return inlines.search_choices(session, inline, cast("ShopView", target), term, defaults)

        return JSONResponse({"results": await anyio.to_thread.run_sync(search)})

    async def lookup(self, request: Request, view: ShopView) -> Response:
        """The form's related-row look-up: it searches another model, which the role must see too."""
        name, term = request.query_params.get("name"), request.query_params.get("term")
        loader = view.lookup_loader(name or "")
        if not name or not term or loader is None:
            raise HTTPException(status_code=400)
        target = self.admin.view_of_model(loader.model)
        if target is None or not view_allows(target, request, "list"):
            raise HTTPException(status_code=403)
        rows = await loader.get_list(request, term)
        return JSONResponse({"results": [loader.format(row) for row in rows]})
