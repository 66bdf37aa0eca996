"""Route names resolved once: Starlette's `url_path_for` walks every route of every mount each time.

A list page asks for ~30 URLs by name (menu, pagination, filters, actions, static files) and the
admin has ~40 routes; the walk was several milliseconds of each page. The routes are fixed once the
app is built, so the answer for a (name, parameters) pair never changes, and the templates' absolute
URL for it only changes with the site's address. Failed look-ups are not cached.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from jinja2 import pass_context
from starlette.datastructures import URL, URLPath
from starlette.routing import Router

MAX_URLS = 4096  # (site address, name, parameters) kept by the templates' url_for; emptied when full


def memoise_url_paths(router: Router, size: int = 4096) -> None:
    """Call once every route is in place (the end of the app factory)."""
    resolve = router.url_path_for
    cached = lru_cache(maxsize=size)(resolve)

    def url_path_for(name: str, /, **path_params: Any) -> URLPath:
        try:
            return cached(name, **path_params)
        except TypeError:  # an unhashable parameter: resolve it the slow way
            return resolve(name, **path_params)

    router.url_path_for = url_path_for  # type: ignore[method-assign]


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
