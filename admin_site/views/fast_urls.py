"""Row links without a route search per link.

A list page builds several links per row (details, edit, delete, the related rows'); Starlette's
`url_for` walks every route of the admin each time, which was a third of a list page's time. Here
each (route, identity) is resolved once per request and the row's key is put into that template.
"""

from __future__ import annotations

from functools import cache
from typing import Any
from urllib.parse import urlencode

from sqladmin import ModelView
from sqladmin.helpers import get_object_identifier, slugify_class_name
from starlette.datastructures import URL
from starlette.requests import Request

PK_MARK = "__pk_placeholder__"  # where a row's key goes in a route template


def route_template(request: Request, name: str, identity: str, keyed: bool = True) -> str:
    made = getattr(request.state, "_route_templates", None)
    if made is None:
        made = {}
        request.state._route_templates = made
    key = (name, identity, keyed)
    if key not in made:
        params = {"identity": identity, "pk": PK_MARK} if keyed else {"identity": identity}
        made[key] = str(request.url_for(name, **params))
    return made[key]


def with_pk(template: str, pk: Any) -> str:
    """A row's URL from a template made by `route_template`."""
    return template.replace(PK_MARK, str(pk), 1)


_identity_of_class = cache(slugify_class_name)  # SQLAdmin runs two regular expressions per link


class FastUrls(ModelView):
    """The same URLs as SQLAdmin's `_build_url_for` and `_url_for_delete`, from per-request templates."""

    def _identity_for_object(self, obj: Any) -> str:
        return self.identity if isinstance(obj, self.model) else _identity_of_class(type(obj).__name__)

    def _build_url_for(self, name: str, request: Request, obj: Any) -> URL:
        template = route_template(request, name, self._identity_for_object(obj))
        return URL(with_pk(template, get_object_identifier(obj)))

    def _url_for_delete(self, request: Request, obj: Any) -> str:
        base = route_template(request, "admin:delete", self._identity_for_object(obj), keyed=False)
        return base + "?" + urlencode({"pks": get_object_identifier(obj)})
