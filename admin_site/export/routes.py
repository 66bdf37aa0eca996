"""Exports of exactly what a list shows — same search, filters and sort, every matching row — streamed.

Every format is PostgreSQL's own `COPY (the list's query) TO STDOUT`: the statement is compiled by
SQLAlchemy and its bound parameters quoted by psycopg2 (as for any query), never pasted from user text.
CSV is COPY's own; JSON objects and XLSX cells are written by the query too (`sql_rows`, `xlsx`: the XLSX
zipped here as it comes). Rows flow from a worker thread through a small bounded queue to the response, so
memory stays flat whatever the size, and the first bytes leave at once; rows come in the list's order from
an index wherever one serves it (no sort of every row first: `streams.EXPORT_SETTINGS`).

Every format writes the same cells: NULL as empty (JSON null), decimals exact (their digits, never a
float), times in UTC, booleans as true/false, and text that a spreadsheet would run as a formula
neutralised (CSV and XLSX, `spreadsheet_safety.neutralise_formula`; in CSV by the same rule in SQL).
Every export, whole list or selected rows, is audited: format, filters, row count, completed or not.

Here: the routes and the response. What is read: query; each cell: cells; the bodies: streams (CSV, and
JSON row by row when a column needs it), sql_rows (JSON), xlsx.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from sqladmin.helpers import secure_filename
from starlette.concurrency import iterate_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from admin_site.audit import log as audit
from admin_site.audit.deferred import DEFERRED
from admin_site.export.interruption import ExportRun
from admin_site.export.query import decorrelate, export_statement
from admin_site.export.sql_rows import json_row_sql, stream_json
from admin_site.export.streams import json_chunks, stream_csv
from admin_site.export.xlsx import stream_xlsx
from admin_site.keys import parse_keys

if TYPE_CHECKING:
    from admin_site.views.base import ShopView

log = logging.getLogger(__name__)

MAX_SELECTED = 10_000  # primary keys one "export selected" may name
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def describe_request(request: Request, pks: list[Any] | None) -> dict[str, Any]:
    """What the audit keeps: the list's query (search, filters, sort) and the selected keys."""
    query = {key: request.query_params.getlist(key) for key in request.query_params if key not in ("page", "pageSize")}
    described: dict[str, Any] = {"query": {k: v[0] if len(v) == 1 else v for k, v in query.items()}}
    if pks is not None:
        described["selected"] = [str(pk) for pk in pks][:1000]
    return described


async def export_response(view: ShopView, request: Request, export_type: str, pks: list[Any] | None = None) -> Response:
    stmt, columns = export_statement(view, request, pks)
    rows_stmt = decorrelate(stmt, view.model)  # JSON and XLSX read the values themselves
    session_maker = view.session_maker
    details = {"format": export_type, **describe_request(request, pks)}

    def audited(outcome: dict[str, Any]) -> None:  # written when the database is back if need be
        try:
            DEFERRED.record_event(session_maker, request, audit.EXPORT, view.identity, {**details, **outcome})
        except Exception:
            log.exception("could not audit an export of %s", view.identity)

    run = ExportRun(export_type, audited)  # its outcome: completed, cancelled, interrupted or failed
    done = run.done

    headers = _download_headers(view, export_type)
    media_type = MEDIA_TYPES[export_type]
    if export_type == "csv":
        body = stream_csv(session_maker, stmt, columns, view.model, done)
        return StreamingResponse(run.streamed(body), media_type=media_type, headers=headers)
    if export_type == "json":
        row = json_row_sql(columns)  # None: a column SQL would not write as json.dumps does, read row by row
        if row is None:
            body = iterate_in_threadpool(json_chunks(session_maker, rows_stmt, columns, done))
        else:
            body = stream_json(session_maker, stmt, row, view.model, done)
        return StreamingResponse(run.streamed(body), media_type=media_type, headers=headers)
    if export_type == "xlsx":
        body = stream_xlsx(session_maker, stmt, rows_stmt, columns, view.model, done)
        return StreamingResponse(run.streamed(body), media_type=media_type, headers=headers)
    raise HTTPException(status_code=404)


def _download_headers(view: ShopView, export_type: str) -> dict[str, str]:
    filename = secure_filename(view.get_export_name(export_type=export_type))
    return {"Content-Disposition": f'attachment; filename="{filename}"'}


def parse_pks(view: ShopView, raw_values: list[str]) -> list[Any]:
    """Selected primary keys from the form: valid keys of the view's type, or a 400."""
    keys, invalid = parse_keys(view.pk_columns[0], ",".join(raw_values))
    if invalid:
        raise HTTPException(status_code=400, detail="Unknown row selected")
    if not keys or len(keys) > MAX_SELECTED:
        raise HTTPException(status_code=400, detail=f"Select between 1 and {MAX_SELECTED:,} rows to export")
    return keys


def _export_type(view: ShopView, request: Request) -> str:
    export_type = request.path_params["export_type"]
    if export_type not in view.export_types:
        raise HTTPException(status_code=404)
    return export_type


async def export(request: Request, view: ShopView) -> Response:
    """GET /{identity}/export/{type}: every row the list (with this query string) shows.

    HEAD (which Starlette routes to every GET) says what a GET would send, without reading a row or
    writing an audit row: nothing was exported."""
    export_type = _export_type(view, request)
    if request.method == "HEAD":
        view.list_params(request)  # a malformed query is the same 400 as for a GET
        return Response(media_type=MEDIA_TYPES[export_type], headers=_download_headers(view, export_type))
    return await export_response(view, request, export_type)


async def export_selected(request: Request, view: ShopView) -> Response:
    """POST /{identity}/export-selected/{type} with `pks`: those rows, in the list's order."""
    export_type = _export_type(view, request)
    form = await request.form()
    pks = parse_pks(view, [v for v in form.getlist("pks") if isinstance(v, str)])
    return await export_response(view, request, export_type, pks)
