"""Every sort link the admin offers works, on every list and in every export made with it: a relation sorts
by the related row's label (a category's parent, a self-reference, included)."""

from __future__ import annotations

import csv
import html
import io
import json
import re
import zipfile

import pytest

from admin_site.lists.saved_views import clean_query
from models import Category, OrderStatus, Role
from tests import factories
from tests.helpers import fetch

SORT_LINK = re.compile(r'href="([^"]*[?&]sortBy=[^"]*)"')
ROW_KEY = re.compile(r'<input type="hidden" value="(\d+)">\s*<input[^>]*select-box')  # each row's selection box


def row_keys(page: str) -> list[int]:
    """The rows of a list page, in order, by their selection boxes (a row may also link to others of its table)."""
    return [int(pk) for pk in ROW_KEY.findall(page)]


@pytest.fixture
def shop(db):
    """A row or more in every table an admin lists: categories under a parent, orders with lines."""
    garden = factories.category(db, name="Garden")
    tools = factories.category(db, name="Tools", parent_id=garden.id)
    factories.category(db, name="Bulbs", parent_id=garden.id)
    factories.category(db, name="Art", parent_id=tools.id)
    spade, seeds = factories.product(db, category_id=tools.id), factories.product(db, category_id=garden.id)
    for n, status in enumerate([OrderStatus.paid, OrderStatus.shipped, OrderStatus.pending]):
        customer = factories.customer(db, phone=None if n else "+44 20 7946 0000")
        factories.order(db, customer.id, [(spade, n + 1), (seeds, 1)], status=status)


def sort_links(page: str) -> list[str]:
    """The sort links of a list page's column headings, as the browser would follow them."""
    return sorted({html.unescape(link) for link in SORT_LINK.findall(page)})


def listable_views(app) -> list[str]:
    return [v.identity for v in app.state.admin._model_views.values()]


def test_every_sort_link_of_every_list_answers(app, client, login_as, shop):
    login_as(Role.admin)
    walked = 0
    for identity in listable_views(app):
        page = client.get(f"/admin/{identity}/list")
        if page.status_code == 403:  # a table nobody sees as a list (saved views, sessions)
            continue
        assert page.status_code == 200, identity
        for link in sort_links(page.text):
            for direction in ("asc", "desc"):
                url = re.sub(r"sort=(asc|desc)", f"sort={direction}", link)
                response = client.get(url)
                assert response.status_code == 200, f"{url}: {response.text[-300:]}"
                walked += 1
    assert walked > 40


def test_every_export_follows_every_sort(app, client, login_as, shop):
    login_as(Role.admin)
    for identity in listable_views(app):
        page = client.get(f"/admin/{identity}/list")
        if page.status_code != 200 or f"/admin/{identity}/export/csv" not in page.text:
            continue
        for link in sort_links(page.text):
            query = clean_query(link.partition("?")[2])
            shown = row_keys(client.get(f"/admin/{identity}/list?{query}&pageSize=200").text)
            # Each export adds an audit row: the audit log's rows are compared by format only.
            check_exports(client, identity, query, None if identity == "audit-log" else shown)


def check_exports(client, identity: str, query: str, shown: list[int] | None) -> None:
    """Each format answers in full and, given the rows the list shows, with those rows in that order."""
    base = f"/admin/{identity}/export"
    response = client.get(f"{base}/csv?{query}")
    assert response.status_code == 200 and response.text.endswith("\n"), f"{identity} csv {query}"
    rows = list(csv.reader(io.StringIO(response.text)))
    if shown is not None:
        assert [int(r[0]) for r in rows[1:]] == shown, f"{identity} csv {query}"
    response = client.get(f"{base}/json?{query}")
    assert response.status_code == 200, f"{identity} json {query}"
    data = json.loads(response.text)  # complete: a cut-off body would not parse
    if shown is not None:
        assert [row["id"] for row in data] == shown, f"{identity} json {query}"
    response = client.get(f"{base}/xlsx?{query}")
    assert response.status_code == 200, f"{identity} xlsx {query}: {response.text[:300]}"
    assert zipfile.ZipFile(io.BytesIO(response.content)).testzip() is None


def test_categories_sort_by_their_parents_name(client, login_as, shop, db):
    login_as(Role.viewer)
    for direction, expected in [
        ("asc", ["Garden", "Garden", "Tools", None]),
        ("desc", ["Tools", "Garden", "Garden", None]),
    ]:
        page = client.get(f"/admin/category/list?sortBy=parent&sort={direction}")
        assert page.status_code == 200
        parents = []
        for pk in row_keys(page.text):
            parent_id = fetch(db, Category, pk).parent_id
            parents.append(fetch(db, Category, parent_id).name if parent_id else None)
        assert parents == expected, direction  # no parent last, either way
