"""Stored and reflected HTML/JS payloads are shown as text: escaped in pages, inert in exports."""

from __future__ import annotations

import csv
import io
import json

import pytest

from models import Role
from tests import factories

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(1)>'
RAW = ["<script>alert(1)", "<img src=x", "<svg onload"]  # markup that must never come back as markup


def assert_escaped(html: str, where: str) -> None:
    for raw in RAW:
        assert raw not in html, f"{where}: {raw!r} came back unescaped"


@pytest.fixture
def payloads(db):
    customer = factories.customer(db, first_name=SCRIPT, last_name=IMG, email='x"><svg onload=alert(1)>@example.com',
                                  phone=SCRIPT[:32])  # fmt: skip
    category = factories.category(db, name=f"Cat {IMG}")
    product = factories.product(db, category_id=category.id, name=f"Kite {SCRIPT}", description=f"{SCRIPT} {IMG}")
    order = factories.order(db, customer_id=customer.id, items=[(product, 1)], notes=f"{IMG}{SCRIPT}")
    return {"customer": customer, "product": product, "order": order, "category": category}


def test_payloads_are_escaped_in_lists_details_and_forms(client, login_as, payloads):
    login_as(Role.admin)
    pages = []
    for identity, key in [
        ("customer", "customer"),
        ("product", "product"),
        ("order", "order"),
        ("category", "category"),
    ]:
        pk = payloads[key].id
        pages += [f"/admin/{identity}/list", f"/admin/{identity}/details/{pk}", f"/admin/{identity}/edit/{pk}"]
    pages += ["/admin/order-item/list", f"/admin/customer/list?search={SCRIPT}", f"/admin/order/list?search={IMG}",
              f"/admin/customer/confirm/block?pks={payloads['customer'].id}"]  # fmt: skip
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        assert_escaped(response.text, path)
    details = client.get(f"/admin/customer/details/{payloads['customer'].id}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in details
    assert "&lt;img src=x onerror=alert(1)&gt;" in details
    edit = client.get(f"/admin/product/edit/{payloads['product'].id}").text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in edit  # in the textarea, as text


def test_a_form_sent_back_with_a_payload_is_escaped(client, login_as, payloads):
    login_as(Role.admin)
    response = client.post("/admin/customer/create", data={"email": "", "first_name": SCRIPT, "last_name": IMG,
                                                           "country": "GB"})  # fmt: skip
    assert response.status_code == 400
    assert_escaped(response.text, "create form with errors")


def test_exports_keep_the_text_and_cannot_run_it(client, login_as, payloads):
    login_as(Role.admin)
    response = client.get("/admin/customer/export/csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["x-content-type-options"] == "nosniff"
    rows = list(csv.reader(io.StringIO(response.text)))
    assert any(SCRIPT in row for row in rows)  # the data as it is, in a file that is never rendered
    response = client.get("/admin/customer/export/json")
    assert response.headers["content-type"].startswith("application/json")
    assert response.headers["content-disposition"].startswith("attachment")
    assert response.headers["x-content-type-options"] == "nosniff"
    assert SCRIPT in json.dumps(response.json())
