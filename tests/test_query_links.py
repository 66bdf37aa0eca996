"""QueryLinks gives exactly the URLs Starlette's URL.include_query_params / remove_query_params give."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from admin_site.site.urls import QueryLinks

QUERIES = ["", "page=3", "status=paid&status=shipped&sortBy=name&sort=asc", "search=a%26b+c&page=2&x=",
           "q=%E2%82%AC+%2F&page=1", "a=1&a=2&b=3", "sortBy=<script>&sort=%22"]  # fmt: skip
CHANGES = [{"page": 2}, {"sort": "desc"}, {"sortBy": "x y", "sort": "asc"}, {"status": "refunded"}, {"a": "&=?#"}]
REMOVALS = ["page", ["status", "page"], ["nothing"], "a", []]


def request_for(query: str) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/admin/order/list", "root_path": "",
                    "query_string": query.encode(), "headers": [(b"host", b"shop.example:8080")], "scheme": "https",
                    "server": ("shop.example", 8080)})  # fmt: skip


@pytest.mark.parametrize("query", QUERIES)
def test_the_links_are_starlettes(query):
    request = request_for(query)
    links = QueryLinks.of(request)
    assert QueryLinks.of(request) is links  # parsed once per request
    for change in CHANGES:
        assert str(links.include_query_params(**change)) == str(request.url.include_query_params(**change))
    for keys in REMOVALS:
        assert str(links.remove_query_params(keys)) == str(request.url.remove_query_params(keys))
        chained = links.remove_query_params(keys).include_query_params(page=5)
        assert str(chained) == str(request.url.remove_query_params(keys).include_query_params(page=5))
    assert str(links.remove_query_params([key for key, _ in request.query_params.multi_items()])) == (
        "https://shop.example:8080/admin/order/list"
    )


def test_a_page_with_changed_sorting_and_filters_links_to_them(client, login_as, db):
    from models import Role

    login_as(Role.viewer)
    page = client.get("/admin/product/list?is_active=true&sortBy=name&sort=asc&page=1").text
    assert 'href="http://testserver/admin/product/list?is_active=true&amp;sortBy=name&amp;page=1&amp;sort=desc"' in page
    filters = page.split('id="filters-form"', 1)[1].split("</form>", 1)[0]  # one form: the sort travels with it
    assert '<input type="hidden" name="sortBy" value="name">' in filters and 'name="page"' not in filters
    assert 'name="is_active" value="true" id="f-is_active-true" checked' in filters
