"""Property-based: random and hostile values posted to every create and edit form of every view.

Whatever is posted, the answer is never a 500; a refused post (anything but the redirect of a save)
changes nothing: the table's rows and the audit log are as they were.
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from admin_site.views.registry import all_views
from models import AuditLog, Order, OrderStatus, Role
from tests import factories

HOSTILE = [
    "", " ", "\x00", "a\x00b", "0", "-0", "-1", "1e309", "-1e309", "NaN", "Infinity", "-Infinity", "1e-400",
    "9" * 40, "0.001", "12.345", "2147483648", "-2147483649", "99999999999999999999", "1,5", "１２",
    "'; DROP TABLE orders; --", "<script>alert(1)</script>", "{{ 7*7 }}", "\u202e\u0000", "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 ✓",
    "2025-13-45 25:61:00", "0001-01-01 00:00:00", "9999-12-31 23:59:59", "2025-03-01T12:00:00+14:00",
    "__None", "True", "y", "on", "%00", "../../etc/passwd", "x" * 300, "A" * 5000, "admin", "paid", "shipped",
]  # fmt: skip
MISSING = object()

FORM = re.compile(r'<form[^>]*method="POST"[^>]*enctype="multipart/form-data">(.*?)</form>', re.DOTALL)
FIELD = re.compile(r'<(?:input|select|textarea)[^>]*\bname="([^"]+)"')


def form_fields(page: str) -> list[str]:
    found = FORM.search(page)
    assert found, "no form on the page"
    return [n for n in dict.fromkeys(FIELD.findall(found.group(1))) if n not in ("csrf_token", "save")]


def table_state(db, model) -> list[dict]:
    with Session(db) as session:
        table = model.__table__
        return [dict(r) for r in session.execute(select(table).order_by(*table.primary_key.columns)).mappings()]


def audit_count(db) -> int:
    with Session(db) as session:
        return session.scalar(select(func.count()).select_from(AuditLog))


def value_strategy(keys: list[str]) -> st.SearchStrategy:
    return st.one_of(
        st.sampled_from(HOSTILE),
        st.sampled_from(keys),
        st.text(max_size=40),
        st.integers(-(10**12), 10**12).map(str),
        st.decimals(allow_nan=True, allow_infinity=True, places=None).map(str),
        st.datetimes(min_value=datetime(1, 1, 1), max_value=datetime(9999, 12, 31)).map(
            lambda d: d.strftime("%Y-%m-%d %H:%M:%S")
        ),
        st.just(MISSING),
    )


def form_strategy(fields: list[str], keys: list[str]) -> st.SearchStrategy:
    return st.fixed_dictionaries({name: value_strategy(keys) for name in fields})


@pytest.fixture
def shop_rows(db, make_staff):
    """One row of everything, and a staff member to edit (not the one logged in)."""
    product = factories.product(db)
    order = factories.order(db, items=[(product, 1)], status=OrderStatus.paid)
    return {"category": product.category_id, "product": product.id, "customer": order.customer_id,
            "order": order.id, "order-item": 1, "staff-user": make_staff(Role.support).id}  # fmt: skip


def editable_views():
    return [v for v in all_views() if v.can_edit or v.can_create]


HYPOTHESIS = settings(
    max_examples=int(os.environ.get("HOSTILE_FORM_EXAMPLES", "25")),  # raise it for a deeper search
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    database=None,
)


def _identity(view) -> str:
    from sqladmin.helpers import slugify_class_name

    return getattr(view, "identity", None) or slugify_class_name(view.model.__name__)


@pytest.mark.parametrize("view", editable_views(), ids=_identity)
def test_hostile_creates(client, login_as, db, shop_rows, view):
    login_as(Role.admin)
    identity = _identity(view)
    page = client.get(f"/admin/{identity}/create")
    if page.status_code in (403, 404):
        pytest.skip(f"{identity}: no create form")
    fields = form_fields(page.text)
    keys = [str(v) for v in shop_rows.values()] + ["999999"]

    @HYPOTHESIS
    @given(posted=form_strategy(fields, keys))
    def post(posted):
        before, audited = table_state(db, view.model), audit_count(db)
        data = {k: v for k, v in posted.items() if v is not MISSING}
        response = client.post(f"/admin/{identity}/create", data=data)
        assert response.status_code in (302, 400), (response.status_code, data)
        after = table_state(db, view.model)
        if response.status_code == 302:
            assert len(after) == len(before) + 1 and audit_count(db) == audited + 1
        else:
            assert after == before and audit_count(db) == audited
            assert "Traceback" not in response.text and "psycopg2" not in response.text

    post()


@pytest.mark.parametrize("view", editable_views(), ids=_identity)
def test_hostile_edits(client, login_as, db, shop_rows, view):
    login_as(Role.admin)
    identity = _identity(view)
    pk = shop_rows.get(identity)
    if pk is None or not view.can_edit:
        pytest.skip(f"{identity}: no row to edit here")
    page = client.get(f"/admin/{identity}/edit/{pk}")
    assert page.status_code == 200
    fields = form_fields(page.text)
    keys = [str(v) for v in shop_rows.values()] + ["999999"]

    @HYPOTHESIS
    @given(posted=form_strategy(fields, keys), current_version=st.booleans())
    def post(posted, current_version):
        before, audited = table_state(db, view.model), audit_count(db)
        data = {k: v for k, v in posted.items() if v is not MISSING}
        if current_version and "version" in fields:  # most saves name the version they read
            data["version"] = str(next(r for r in before if str(r[view.pk_columns[0].name]) == str(pk))["version"])
        response = client.post(f"/admin/{identity}/edit/{pk}", data=data)
        assert response.status_code in (302, 400), (response.status_code, data)
        after = table_state(db, view.model)
        if response.status_code == 302:
            assert len(after) == len(before) and audit_count(db) in (audited, audited + 1)
        else:
            assert after == before and audit_count(db) == audited
            assert "Traceback" not in response.text and "psycopg2" not in response.text

    post()


def test_orders_placed_at_extreme_times_render(client, login_as, db):
    """A year-1 or year-9999 time must survive the round trip through the form's time zone."""
    login_as(Role.admin)
    for when in (datetime(1, 1, 2, tzinfo=UTC), datetime(9999, 12, 30, tzinfo=UTC)):
        order = factories.order(db, placed_at=when)
        assert client.get(f"/admin/order/edit/{order.id}").status_code == 200
        assert client.get(f"/admin/order/details/{order.id}").status_code == 200
    with Session(db) as session:
        assert session.scalar(select(func.count()).select_from(Order)) == 2
