"""Ajax look-up for list filters on big related tables (e.g. orders by customer).

The form's look-up (views/form_pages.py) needs create or edit permission; a filter only needs the
right to view the list it narrows, and the table it reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import anyio
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from admin_site.lists.filters import ListFilter, RelatedFilter
from admin_site.lists.query import like_pattern
from admin_site.site.routes import view_allows

if TYPE_CHECKING:
    from admin_site.site.admin import ShopAdmin

MAX_TERM = 100
MAX_RESULTS = 20


class FilteredView(Protocol):
    """What a filter's look-up asks of the list's view (a ShopView): its filters, and sessions to read with."""

    session_maker: ClassVar[sessionmaker[Session]]

    def get_filters(self) -> list[ListFilter]: ...


class FilterLookup:
    def __init__(self, admin: ShopAdmin) -> None:
        self.admin = admin

    async def lookup(self, request: Request, view: FilteredView) -> JSONResponse:
        """Whoever may see the list may look up its filter's values (the route's permission)."""
        name = request.query_params.get("name", "")
        related = next((f for f in view.get_filters() if isinstance(f, RelatedFilter) and f.name == name), None)
        term = (request.query_params.get("term") or "").replace("\x00", "").strip()[:MAX_TERM]
        if related is None or related.label is None or not term:
            raise HTTPException(status_code=400, detail="Unknown filter or empty term")
        # The look-up reads another table: the role must be allowed to see that one too.
        target = self.admin.view_of_model(related.target)
        if target is None or not view_allows(target, request, "list"):
            raise HTTPException(status_code=403)
        label = getattr(related.target, related.label)
        stmt = select(label).where(label.ilike(like_pattern(term), escape="\\")).order_by(label).limit(MAX_RESULTS)

        def read() -> list[Any]:
            with view.session_maker() as session:
                return list(session.execute(stmt).all())

        rows = await anyio.to_thread.run_sync(read)
        return JSONResponse({"results": [str(row[0]) for row in rows]})
