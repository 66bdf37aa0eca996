"""URLs, made fast: route names resolved once, row links from per-request templates, this page's
links with query parameters changed from the query parsed once.

- Starlette's `url_path_for` walks every route of every mount each time; a list page asks for
  dozens of URLs by name. The routes are fixed once the app is built, so an answer never changes (`CachedRouter`).
- A list page builds several links per row (details, edit, delete, related rows): each (route,
  identity) is resolved once per request and the row's key is put into that template (`FastUrls`).
- Sort, page-size, pagination and filter links: `QueryLinks` gives the same URLs as Starlette's
  `URL.include_query_params`, encoding only the changed parameters.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache, lru_cache
from typing import Any
from urllib.parse import parse_qsl, quote_plus, urlencode, urlunsplit

from jinja2 import pass_context
from sqladmin import ModelView
from sqladmin.helpers import get_object_identifier, slugify_class_name
from starlette.datastructures import URL, URLPath
from starlette.requests import Request
from starlette.routing import BaseRoute, Router

MAX_URLS = 4096  # (site address, name, parameters) kept by the templates' url_for; emptied when full


class CachedRouter(Router):
    """A router whose routes do not change once built: each (name, parameters) is resolved once.

    Failed look-ups are not kept (they raise); an unhashable parameter is resolved the slow way."""

    def __init__(self, routes: Sequence[BaseRoute], size: int = 4096) -> None:
        super().__init__(routes=list(routes))
        self._resolved = lru_cache(maxsize=size)(super().url_path_for)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        try:
            return self._resolved(name, **path_params)
        except TypeError:
            return super().url_path_for(name, **path_params)


def memoised_template_url_for() -> Callable[..., URL]:
    """SQLAdmin's `url_for` template global (`request.url_for`), answering again from what it kept."""
    kept: dict[tuple[Any, ...], URL] = {}

    @pass_context
    def url_for(context: Any, name: str, /, **path_params: Any) -> URL:
        request = context["request"]
        try:
            key = (str(request.base_url), name, tuple(sorted(path_params.items())))
            url = kept.get(key)
        except TypeError:  # an unhashable parameter
            return request.url_for(name, **path_params)
        if url is None:
            if len(kept) >= MAX_URLS:
                kept.clear()
            url = kept[key] = request.url_for(name, **path_params)
        return url

    return url_for


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


@lru_cache(maxsize=4096)  # the same few (sort column, page number, filter value) pairs, page after page
def _encoded(key: str, value: str) -> tuple[str, str]:
    return key, f"{quote_plus(key)}={quote_plus(value)}"  # as urllib's urlencode writes a pair


class QueryLinks:
    """This request's URL, its query as encoded pairs; the methods mirror `starlette.datastructures.URL`'s."""

    __slots__ = ("_base", "_fragment", "_pairs")

    def __init__(self, base: str, fragment: str, pairs: list[tuple[str, str]]) -> None:
        self._base, self._fragment, self._pairs = base, fragment, pairs  # pairs: (key, "key=value" encoded)

    @classmethod
    def of(cls, request: Request) -> QueryLinks:
        """Parsed on first use in a request, then kept on it."""
        links = getattr(request.state, "_query_links", None)
        if links is None:
            url = request.url.components
            base = urlunsplit((url.scheme, url.netloc, url.path, "", ""))
            pairs = [_encoded(k, v) for k, v in parse_qsl(url.query, keep_blank_values=True)]
            links = request.state._query_links = cls(base, f"#{url.fragment}" if url.fragment else "", pairs)
        return links

    def include_query_params(self, **changes: object) -> QueryLinks:
        """Each named parameter set to one value, after the parameters left as they were."""
        changed = [_encoded(str(key), str(value)) for key, value in changes.items()]
        names = {key for key, _ in changed}
        return QueryLinks(self._base, self._fragment, [p for p in self._pairs if p[0] not in names] + changed)

    def remove_query_params(self, keys: str | Sequence[str]) -> QueryLinks:
        gone = {keys} if isinstance(keys, str) else set(keys)
        return QueryLinks(self._base, self._fragment, [p for p in self._pairs if p[0] not in gone])

    def __str__(self) -> str:
        query = "&".join(pair for _, pair in self._pairs)
        return f"{self._base}?{query}{self._fragment}" if query else f"{self._base}{self._fragment}"
