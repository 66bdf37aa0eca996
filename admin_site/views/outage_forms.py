"""A create or edit form whose POST found the database unavailable: shown again (503, Retry-After) with what
was typed and the message, so nothing typed is lost; saving again once the database is back is one click.

Nothing is read from the database to draw it: the look-up fields show the keys that were chosen
(`describe_offline`), and the edited record stands in with only its key. It is shown only to a session
whose signed cookie names a staff member (the log-in check itself may be what could not reach the
database): what it shows is the user's own input and the form's fields, no stored data.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from admin_site.auth.sessions import STAFF_ID
from admin_site.db.outage import is_unavailable, unavailability
from admin_site.forms.lookup_widget import describe_offline
from admin_site.site.unavailable import FORM_MESSAGE, unavailable_page
from admin_site.views import inlines

if TYPE_CHECKING:
    from wtforms import Form

    from admin_site.site.admin import ShopAdmin
    from admin_site.views.base import ShopView

log = logging.getLogger(__name__)


def stand_in(view: ShopView, pk: str) -> Any:
    """An unsaved instance carrying only the edited row's key: enough for the edit page's links."""
    row = view.model()
    setattr(row, view._mapper.get_property_by_column(view.pk_columns[0]).key, view._key_from_url(pk))
    return row


class OutageForms:
    def __init__(self, admin: ShopAdmin) -> None:
        self.admin = admin

    async def form_again(self, request: Request, view: ShopView | None, error: Exception) -> Response:
        """The route's `on_outage` (site/routes.py) for create and edit."""
        found = unavailability(error)
        if found is None or view is None or not isinstance(request.session.get(STAFF_ID), int):
            raise error
        editing = "pk" in request.path_params
        try:
            form_class = await (view.edit_form() if editing else view.create_form())
        except Exception as again:  # a form listing related rows reads them to be built: the plain 503 page
            if is_unavailable(again):
                raise error from None
            raise
        form_data = await request.form()  # read already (the CSRF check), or by the handler: kept by Starlette
        form: Form = form_class(form_data)
        describe_offline(form)
        context: dict[str, Any] = {"model_view": view, "form": form, "error": FORM_MESSAGE}
        if editing:
            context["obj"] = stand_in(view, request.path_params["pk"])
        context["inline_forms"] = await _lines(view, form_data)
        template = view.edit_template if editing else view.create_template
        retry_after = self.admin.operations.retry_after
        return await unavailable_page(self.admin.templates, request, found, retry_after, template, context)


async def _lines(view: ShopView, form_data: Any) -> list[inlines.InlineForm]:
    """The inline lines as posted, when they can be drawn without the database (else none)."""
    try:
        return await inlines.inline_forms(view, formdata=form_data)
    except Exception as error:
        if not is_unavailable(error):
            raise
        log.info("inline lines of %s not shown again: the database is unavailable", view.identity)
        return []
