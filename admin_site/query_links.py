"""Links to this page with some query parameters changed, the query parsed and encoded once per request.

A list page makes a few dozen such links (column sorting, pagination, page sizes, filter choices);
Starlette's `URL.include_query_params` parses, re-encodes and re-assembles the whole URL for each
(~27 µs here). `QueryLinks` gives the same URLs (same parameter order, same encoding) and encodes
only the changed parameters.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from urllib.parse import parse_qsl, quote_plus, urlunsplit

from starlette.requests import Request


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
