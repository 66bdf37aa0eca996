"""The import's pages: the upload form, the preview, the confirmation (routes in admin_site/routes.py).

    GET  /{identity}/import                  the form: which columns, which limits
    POST /{identity}/import                  the file → staged and previewed → 303 to the preview
    GET  /{identity}/import/{token}          the preview: counts, refusals, changes before → after
    GET  /{identity}/import/{token}/refusals.csv   every refused row (the preview lists the first 200)
    POST /{identity}/import/{token}/confirm  apply it (once) → the list, with a message

Every route needs the view's `import` permission (the guard); making records also needs `create`, changing
them `edit`. The token names a batch of the staff member who made it (`staging`): anyone else gets 404.
The work runs on a worker thread with the export's time limits (`db.engine.for_export`), since a large file
takes longer than a page may.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import Any

import anyio
from sqladmin.flash import Flash
from sqladmin.templating import Jinja2Templates
from sqlalchemy import select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from starlette.concurrency import iterate_in_threadpool
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse

from admin_site.audit import log as audit
from admin_site.db.engine import for_export
from admin_site.forms.action_fields import defaults, withheld
from admin_site.forms.constraint_messages import describe
from admin_site.imports import apply as applying
from admin_site.imports import shown
from admin_site.imports.checking import RowChecker, stored_text
from admin_site.imports.plan import ImportPlan, plan_for
from admin_site.imports.preview import Rights, classify, labels_in_memory
from admin_site.imports.problems import FileRefused
from admin_site.imports.reading import open_table
from admin_site.imports.staging import copy_rows, drop_expired, new_batch, new_token, token_hash
from admin_site.settings import Settings
from models import ImportBatch

log = logging.getLogger(__name__)

UPLOAD_TEMPLATE, PREVIEW_TEMPLATE = "shop/import.html", "shop/import_preview.html"
FORM_OVERHEAD = 64 * 1024  # multipart boundaries, the CSRF token and the file's name around the file itself
UPLOAD_PATH = re.compile(r"/admin/[^/]+/import$")  # the one form whose body may be larger than any other's


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_rows: int
    preview_ttl: int


def import_limits(settings: Settings) -> Limits:
    return Limits(settings.import_max_bytes, settings.import_max_rows, settings.import_preview_ttl)


def rights_of(view: Any, request: Request) -> Rights:
    """The role's rights that decide a row's fate, besides `import` itself (checked by the route)."""
    default = defaults(view.model)
    held = {
        name: ({str(stored_text(v)) for v in entry.values}, entry.named_by, stored_text(default.get(name)))
        for name, entry in withheld(view, request).items()
    }
    return Rights(
        noun=str(view.name).lower(),
        may_create=bool(view.can_create and view.has_permission(request, "create")),
        may_edit=bool(view.can_edit and view.has_permission(request, "edit")),
        withheld=held,
    )


class ImportPages:
    def __init__(self, templates: Jinja2Templates, limits: Limits) -> None:
        self.templates, self.limits = templates, limits

    # -- upload ---------------------------------------------------------------------------------------

    async def upload(self, request: Request, view: Any) -> Response:
        if request.method != "POST":
            return await self._form(request, view)
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.limits.max_bytes + FORM_OVERHEAD:
            return await self._form(request, view, self._too_large(), 413)
        form = await request.form(max_files=1, max_fields=5)
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return await self._form(request, view, "Choose a CSV or XLSX file to import.", 400)
        if upload.size is not None and upload.size > self.limits.max_bytes:
            return await self._form(request, view, self._too_large(), 413)
        name = upload.filename.replace("\\", "/").rsplit("/", 1)[-1][:255]
        try:
            token = await anyio.to_thread.run_sync(lambda: self._stage(view, request, upload, name))
        except FileRefused as refused:
            return await self._form(request, view, refused.message, 400)
        finally:
            await upload.close()
        return RedirectResponse(request.url_for("admin:import_preview", identity=view.identity, token=token), 303)

    def _too_large(self) -> str:
        return f"The file is larger than {self.limits.max_bytes / 1_000_000:g} MB: split it and import the parts."

    def _stage(self, view: Any, request: Request, upload: UploadFile, name: str) -> str:
        """Read, check and stage the file, and decide every row (one transaction); the preview's token."""
        rights = rights_of(view, request)
        token, hashed = new_token()
        with view.session_maker() as session:
            for_export(session.connection())
            drop_expired(session)
            table = open_table(upload.file, max_bytes=self.limits.max_bytes, max_rows=self.limits.max_rows)
            plan = plan_for(view, table.header)
            batch_id = new_batch(session, token_hash=hashed, staff_user_id=audit.actor_id(request) or 0,
                                 entity=view.identity, file_name=name, key_column=plan.key.name,
                                 columns=table.header, ttl=self.limits.preview_ttl)  # fmt: skip
            labels = labels_in_memory(session, plan)
            checker = RowChecker(plan, labels)

            def checked() -> Any:
                for number, cells in table.rows:
                    key, values, problems = checker.check(cells)
                    yield number, key, values, [p.as_json() for p in problems] or None

            copy_rows(session, batch_id, checked())
            counts = classify(session, batch_id, plan, rights, resolved=set(labels))
            if not counts["rows"]:
                raise FileRefused("The file has a header but no rows.")
            stored: dict[str, Any] = {**counts, "kind": table.kind, "ignored": list(plan.ignored)}
            session.execute(update(ImportBatch).where(ImportBatch.id == batch_id).values(counts=stored))
            session.commit()
        return token

    async def _form(self, request: Request, view: Any, error: str | None = None, status: int = 200) -> Response:
        context = {
            "model_view": view,
            "title": f"Import {view.name_plural.lower()}",
            "error": error,
            "limits": self.limits,
            "columns": shown.expected_columns(view),
            "key": view.import_key,
            "list_url": str(request.url_for("admin:list", identity=view.identity)),
        }
        return await self.templates.TemplateResponse(request, UPLOAD_TEMPLATE, context, status_code=status)

    # -- preview --------------------------------------------------------------------------------------

    def _batch(self, session: Session, request: Request, view: Any) -> ImportBatch:
        batch = session.execute(
            select(ImportBatch).where(
                ImportBatch.token_hash == token_hash(request.path_params["token"]),
                ImportBatch.staff_user_id == audit.actor_id(request),
                ImportBatch.entity == view.identity,
            )
        ).scalar_one_or_none()
        if batch is None:
            raise HTTPException(status_code=404)
        return batch

    async def preview(self, request: Request, view: Any) -> Response:
        def read(session: Session) -> dict[str, Any]:
            batch = self._batch(session, request, view)
            plan = plan_for(view, list(batch.columns))
            return {"batch": batch, **shown.preview_context(session, batch, plan, view)}

        with_session = view._in_session  # one session, on a worker thread
        context = await with_session(read)
        batch = context["batch"]
        context.update(
            model_view=view,
            title=f"Import {view.name_plural.lower()}: preview",
            list_url=str(request.url_for("admin:list", identity=view.identity)),
            upload_url=str(request.url_for("admin:import", identity=view.identity)),
            confirm_url=str(
                request.url_for("admin:import_confirm", identity=view.identity, token=request.path_params["token"])
            ),
            expired=batch.expires_at < shown.now(),
            refusals_url=str(
                request.url_for("admin:import_refusals", identity=view.identity, token=request.path_params["token"])
            ),
        )
        return await self.templates.TemplateResponse(request, PREVIEW_TEMPLATE, context)

    async def refusals(self, request: Request, view: Any) -> Response:
        """GET …/refusals.csv: every refused row of the preview (the page lists the first ones)."""
        batch = await view._in_session(lambda session: self._batch(session, request, view))
        body = iterate_in_threadpool(shown.refusal_csv(view.session_maker, batch.id))
        headers = {"Content-Disposition": f'attachment; filename="{view.identity}-import-refusals.csv"'}
        return StreamingResponse(body, media_type="text/csv; charset=utf-8", headers=headers)

    # -- confirm --------------------------------------------------------------------------------------

    async def confirm(self, request: Request, view: Any) -> Response:
        rights = rights_of(view, request)
        preview_url = request.url_for(
            "admin:import_preview", identity=view.identity, token=request.path_params["token"]
        )
        list_url = request.url_for("admin:list", identity=view.identity)

        def work() -> applying.Applied:
            with view.session_maker() as session:
                for_export(session.connection())
                batch = self._batch(session, request, view)
                plan: ImportPlan = plan_for(view, list(batch.columns))
                return applying.apply(session, request, batch.token_hash, view.identity, plan, rights)

        try:
            done = await anyio.to_thread.run_sync(work)
        except LookupError:
            raise HTTPException(status_code=404) from None
        except applying.ImportRefused as refused:
            Flash.error(request, refused.message)
            return RedirectResponse(preview_url, 303)
        except DBAPIError as error:
            Flash.error(request, f"The database refused the import, so nothing was written: {describe(error).message}")
            return RedirectResponse(preview_url, 303)
        if done.again:
            Flash.warning(
                request, f"This import was applied already ({shown.when(done.at)}); nothing was written again."
            )
        else:
            Flash.success(request, shown.summary(view, done))
        return RedirectResponse(list_url, 303)
