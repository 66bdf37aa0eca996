"""Row links without a route search per link.

A list page builds several links per row (details, edit, delete, the related rows'); Starlette's
`url_for` walks every route of the admin each time, which was a third of a list page's time. Here
each (route, identity) is resolved once per request and the row's key is put into that template.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from sqladmin import ModelView
from sqladmin.helpers import get_object_identifier
from starlette.datastructures import URL
from starlette.requests import Request

_MARK = "__pk_placeholder__"


def route_template(request: Request, name: str, identity: str, with_pk: bool = True) -> str:
    cache = getattr(request.state, "_route_templates", None)
    if cache is None:
        cache = {}
        request.state._route_templates = cache
    key = (name, identity, with_pk)
    if key not in cache:
        params = {"identity": identity, "pk": _MARK} if with_pk else {"identity": identity}
        cache[key] = str(request.url_for(name, **params))
    return cache[key]


class FastUrls(ModelView):
    """The same URLs as SQLAdmin's `_build_url_for` and `_url_for_delete`, from per-request templates."""

    def _build_url_for(self, name: str, request: Request, obj: Any) -> URL:
        template = route_template(request, name, self._identity_for_object(obj))
        return URL(template.replace(_MARK, str(get_object_identifier(obj)), 1))

    def _url_for_delete(self, request: Request, obj: Any) -> str:
        base = route_template(request, "admin:delete", self._identity_for_object(obj), with_pk=False)
        return base + "?" + urlencode({"pks": get_object_identifier(obj)})
