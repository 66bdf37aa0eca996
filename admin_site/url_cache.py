"""Route names resolved once: Starlette's `url_path_for` walks every route of every mount each time.

A list page asks for ~30 URLs by name (menu, pagination, filters, actions) and the admin has ~40
routes; the walk was several milliseconds of each page. The routes are fixed once the app is built,
so the answer for a (name, parameters) pair never changes. Failed look-ups are not cached.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from starlette.datastructures import URLPath
from starlette.routing import Router


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
