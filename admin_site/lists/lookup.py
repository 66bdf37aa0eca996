"""Ajax look-up for list filters on big related tables (e.g. orders by customer).

SQLAdmin's own look-up serves forms and needs create/edit permission; a filter only needs the
right to view the list it narrows.
"""

from __future__ import annotations

from sqladmin.authentication import login_required
from sqlalchemy import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from admin_site.lists.filters import RelatedFilter
from admin_site.lists.query import like_pattern
from admin_site.resources import STATIC

MAX_TERM = 100
MAX_RESULTS = 20


class FilterLookup:
    def __init__(self, admin) -> None:
        self._admin_ref = admin  # what sqladmin's login_required looks for

    @login_required
    async def lookup(self, request: Request) -> JSONResponse:
        view = self._admin_ref._find_model_view(request.path_params["identity"])
        if not view.is_accessible(request) or not view.has_permission(request, "list"):
            raise HTTPException(status_code=403)
        name = request.query_params.get("name", "")
        related = next((f for f in view.get_filters() if isinstance(f, RelatedFilter) and f.name == name), None)
        term = (request.query_params.get("term") or "").replace("\x00", "").strip()[:MAX_TERM]
        if related is None or related.label is None or not term:
            raise HTTPException(status_code=400, detail="Unknown filter or empty term")
        # The look-up reads another table: the role must be allowed to see that one too.
        target = next((v for v in self._admin_ref.views if getattr(v, "model", None) is related.target), None)
        if target is None or not target.has_permission(request, "list"):
            raise HTTPException(status_code=403)
        label = getattr(related.target, related.label)
        stmt = (
            select(label)
            .where(label.ilike(like_pattern(term), escape="\\"))
            .order_by(label)
            .limit(MAX_RESULTS)
        )
        rows = await view._run_arbitrary_query(stmt)
        return JSONResponse({"results": [str(row[0]) for row in rows]})


def install(admin) -> None:
    """Add the filter look-up route and the admin's own static files to the mounted admin app."""
    admin.admin.router.routes.extend(
        [
            Route("/{identity}/filter-lookup", FilterLookup(admin).lookup, name="filter_lookup"),
            Mount("/shop-static", app=StaticFiles(directory=STATIC), name="shop_static"),
        ]
    )
