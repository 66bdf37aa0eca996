"""Exports (CSV, JSON, XLSX) give exactly the list: same search, filters and sort, every row, exact cells."""

from __future__ import annotations

import csv
import io
import json
import re
import zipfile
from datetime import timedelta
from decimal import Decimal
from xml.etree import ElementTree

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from admin_site.export.cells import csv_sql, timestamp_text
from admin_site.export.query import ExportColumn, decorrelate, export_statement
from admin_site.export.spreadsheet_safety import neutralise_formula
from admin_site.lists import query as listing
from models import AuditLog, Order, OrderStatus, Role
from tests import factories
from tests.helpers import (
    computed_item_count,
    computed_total,
    export_as_before,
    list_request,
    listed_ids,
    login_with_token_field,
    view_of,
    xlsx_cells_as_before,
    xlsx_sheets,
)

HEADER = ["id", "number", "customer", "status", "placed_at", "shipped_at", "item_count", "total"]


@pytest.fixture
def shop(db):
    """Orders with tricky cells: formula-like text, a NULL, totals with cents, several statuses."""
    book = factories.product(db, price=Decimal("10.10"))
    pen = factories.product(db, price=Decimal("0.35"))
    formula = factories.customer(db, email="=HYPERLINK(1)@example.com")
    dash = factories.customer(db, email="-2+3@example.com")
    plain = factories.customer(db, email="jo.smith@example.com")
    orders = []
    statuses = [OrderStatus.paid, OrderStatus.shipped, OrderStatus.refunded, OrderStatus.pending]
    for n in range(14):
        customer = (formula, dash, plain)[n % 3]
        status = statuses[n % 4]
        placed = factories.BASE_TIME + timedelta(days=n, hours=n)
        shipped = placed + timedelta(days=2, microseconds=250000 * (n % 2))
        orders.append(
            factories.order(
                db,
                customer.id,
                [(book, 1 + n % 3), (pen, 1 + n % 2)],
                number=f"SO-77{n:05}",
                status=status,
                placed_at=placed,
                discount_pct=Decimal("12.50") if n % 5 == 0 else Decimal(0),
                shipping_fee=Decimal("4.95"),
                shipped_at=None if status in (OrderStatus.pending, OrderStatus.paid) else shipped,
            )
        )
    factories.order(db, plain.id, [], number="SO-7799999", status=OrderStatus.cancelled)  # no items: 0, not NULL
    return orders


def list_pages(client, query: str, page_size: int = 4) -> list[int]:
    """Ids of every page of the list, concatenated in order."""
    ids, page = [], 1
    while True:
        html = client.get(f"/admin/order/list?{query}&pageSize={page_size}&page={page}").text
        found = listed_ids(html, "order")
        ids += found
        if len(found) < page_size:
            return ids
        page += 1


def csv_rows(client, query: str) -> list[list[str]]:
    response = client.get(f"/admin/order/export/csv?{query}")
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    return list(csv.reader(io.StringIO(response.text)))


def xlsx_rows(content: bytes) -> list[list[object]]:
    """Cells of an XlsxWriter sheet (inline strings in constant-memory mode), without openpyxl."""
    ns = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main"}
    with zipfile.ZipFile(io.BytesIO(content)) as book:
        sheet = ElementTree.fromstring(book.read("xl/worksheets/sheet1.xml"))
    rows = []
    for row in sheet.iter(f"{{{ns['m']}}}row"):
        cells: list[object] = []
        for cell in row.findall("m:c", ns):
            column = ord(re.match(r"[A-Z]+", cell.get("r"))[0]) - ord("A")
            cells += [None] * (column - len(cells))
            kind = cell.get("t")
            if kind == "inlineStr":
                cells.append("".join(t.text or "" for t in cell.iter(f"{{{ns['m']}}}t")))
            elif kind == "b":
                cells.append(cell.find("m:v", ns).text == "1")
            else:
                cells.append(Decimal(cell.find("m:v", ns).text))
        rows.append(cells)
    return rows


QUERIES = [
    "",
    "sortBy=total&sort=desc",
    "search=example.com&status=paid&status=shipped&sortBy=number&sort=asc",
    "search=SMITH&placed_at__gte=2025-03-03&total__gte=10",
    "status=refunded&status=pending&sortBy=customer&sort=desc",
]


@pytest.mark.parametrize("query", QUERIES)
def test_csv_export_is_the_list_concatenated(client, login_as, shop, query, monkeypatch):
    login_as(Role.support)
    monkeypatch.setattr(listing, "LATE_ROW_LOOKUP_FROM", 1)  # pages after the first use the late row lookup
    expected = list_pages(client, query)
    rows = csv_rows(client, query)
    assert rows[0] == HEADER
    assert [int(r[0]) for r in rows[1:]] == expected
    assert expected, "the query should match something"


def test_late_row_lookup_gives_the_same_pages(client, login_as, shop, monkeypatch):
    login_as(Role.viewer)
    for query in QUERIES:
        direct = list_pages(client, query, page_size=3)
        monkeypatch.setattr(listing, "LATE_ROW_LOOKUP_FROM", 1)
        assert list_pages(client, query, page_size=3) == direct, query
        monkeypatch.setattr(listing, "LATE_ROW_LOOKUP_FROM", 10**9)


def test_csv_cells_are_exact_empty_for_null_and_neutralised(client, login_as, shop, db):
    login_as(Role.manager)
    rows = {int(r[0]): r for r in csv_rows(client, "")[1:]}
    with Session(db) as session:
        orders = {o.id: o for o in session.scalars(select(Order))}
        for order_id, row in rows.items():
            order = orders[order_id]
            assert row[1] == order.number
            assert row[2] == neutralise_formula(order.customer.email)
            assert row[3] == order.status.value
            assert row[4] == timestamp_text(order.placed_at)
            assert row[5] == ("" if order.shipped_at is None else timestamp_text(order.shipped_at))
            assert row[6] == str(order.item_count)
            assert row[7] == str(order.total)  # Decimal digits: "24.50", never 24.5 or 24.499999
    by_number = {r[1]: r for r in rows.values()}
    assert by_number["SO-7700000"][2] == "'=HYPERLINK(1)@example.com"
    assert by_number["SO-7700001"][2] == "'-2+3@example.com"
    assert by_number["SO-7700002"][2] == "jo.smith@example.com"
    assert by_number["SO-7700000"][5] == ""  # paid, not shipped: NULL is an empty cell
    assert by_number["SO-7700001"][5].endswith(".25+00")  # microseconds kept, as PostgreSQL writes them
    assert all(re.fullmatch(r"\d+\.\d\d", row[7]) for row in rows.values())  # cents, as numeric(…, 2) has them
    assert by_number["SO-7799999"][6:] == ["0", "0.00"]  # no items: zero, as the list shows


def test_json_export_matches_the_list_with_exact_numbers(client, login_as, shop):
    login_as(Role.support)
    query = "search=example&status=shipped&status=refunded&sortBy=placed_at&sort=asc"
    response = client.get(f"/admin/order/export/json?{query}")
    assert response.status_code == 200 and response.headers["content-type"].startswith("application/json")
    data = json.loads(response.text)
    assert [row["id"] for row in data] == list_pages(client, query)
    assert all(isinstance(row["total"], str) and re.fullmatch(r"\d+\.\d\d", row["total"]) for row in data)
    paid = json.loads(client.get("/admin/order/export/json?status=paid").text)
    assert paid and all(row["shipped_at"] is None for row in paid)


def test_xlsx_export_matches_the_list_numbers_exact_formulas_neutralised(client, login_as, shop):
    login_as(Role.manager)
    query = "sortBy=total&sort=asc&status=paid&status=pending&status=cancelled"
    response = client.get(f"/admin/order/export/xlsx?{query}")
    assert response.status_code == 200, response.text[:300]
    rows = xlsx_rows(response.content)
    assert rows[0] == HEADER
    assert [int(r[0]) for r in rows[1:]] == list_pages(client, query)
    csv_by_id = {r[0]: r for r in csv_rows(client, query)[1:]}
    for row in rows[1:]:
        same = csv_by_id[str(row[0])]
        assert row[7] == Decimal(same[7])  # the sheet's number is the exact decimal
        assert row[2] == same[2]  # text neutralised the same way as in CSV
        assert (row[5] if len(row) > 5 else None) in (None, "") or row[5] == same[5]
    assert any(str(r[2]).startswith("'=") for r in rows[1:])


def test_export_of_an_empty_list_has_just_the_header(client, login_as, shop):
    login_as(Role.support)
    assert csv_rows(client, "search=nothing-like-this") == [HEADER]
    assert json.loads(client.get("/admin/order/export/json?search=nothing-like-this").text) == []
    assert xlsx_rows(client.get("/admin/order/export/xlsx?search=nothing-like-this").content) == [HEADER]


def test_exports_are_audited_with_filters_and_row_count(client, login_as, shop, db):
    staff = login_as(Role.support)
    rows = csv_rows(client, "status=refunded&search=example")
    client.get("/admin/order/export/json?status=paid")
    with Session(db) as session:
        entries = session.scalars(select(AuditLog).where(AuditLog.action == "export").order_by(AuditLog.id)).all()
    assert [e.changes["format"] for e in entries] == ["csv", "json"]
    first = entries[0]
    assert first.staff_user_id == staff.id and first.entity == "order"
    assert first.changes["rows"] == len(rows) - 1 and first.changes["completed"] is True
    assert first.changes["query"] == {"status": "refunded", "search": "example"}


def test_export_needs_the_export_permission(client, login_as, shop):
    login_as(Role.viewer)  # may view orders, not export them
    assert client.get("/admin/order/export/csv").status_code == 403
    assert client.post("/admin/order/export-selected/csv", data={"pks": str(shop[0].id)}).status_code == 403
    page = client.get("/admin/order/list").text
    assert "/admin/order/export/" not in page and "export-selected" not in page


def test_export_links_carry_the_lists_query(client, login_as, shop):
    login_as(Role.support)
    page = client.get("/admin/order/list?status=paid&search=smith").text
    assert "/admin/order/export/csv?status=paid&amp;search=smith" in page
    assert "/admin/order/export-selected/xlsx?status=paid&amp;search=smith" in page


def test_export_selected_rows_in_list_order(client, login_as, shop):
    login_as(Role.support)
    chosen = [shop[3].id, shop[0].id, shop[9].id]
    response = client.post(
        "/admin/order/export-selected/csv?sortBy=number&sort=desc", data={"pks": ",".join(map(str, chosen))}
    )
    assert response.status_code == 200, response.text[:300]
    rows = list(csv.reader(io.StringIO(response.text)))
    numbers = {o.id: o.number for o in shop}
    assert [int(r[0]) for r in rows[1:]] == sorted(chosen, key=lambda i: numbers[i], reverse=True)
    assert client.post("/admin/order/export-selected/csv", data={"pks": "abc"}).status_code == 400
    assert client.post("/admin/order/export-selected/csv", data={"pks": ""}).status_code == 400
    assert client.post("/admin/order/export-selected/pdf", data={"pks": "1"}).status_code == 404


def test_export_selected_needs_the_csrf_token(raw_client, make_staff, shop):
    staff = make_staff(Role.manager)
    login_with_token_field(raw_client, staff.email)
    response = raw_client.post("/admin/order/export-selected/csv", data={"pks": str(shop[0].id)})
    assert response.status_code == 403


def test_decorrelated_export_query_gives_the_per_row_aggregates_values(db, shop):
    """A hybrid that sums over child rows is computed for a whole export by one GROUP BY; it must give what
    the per-row subquery gives (Order's totals were such sums before revision 0006 stored them)."""
    from sqlalchemy import func

    per_order = select(Order.id, computed_total(), computed_item_count()).order_by(Order.id)
    with Session(db) as session:
        per_row = session.execute(per_order).all()
        grouped = session.execute(decorrelate(per_order, Order)).all()
        sql = str(decorrelate(select(Order.id, computed_total()), Order).compile())
        assert session.scalar(select(func.count()).select_from(Order)) == len(per_row)
        stored = session.execute(select(Order.id, Order.total, Order.item_count).order_by(Order.id)).all()
    assert grouped == per_row == stored
    assert "GROUP BY" in sql and "WHERE order_items.order_id = orders.id" not in sql


def test_csv_sql_neutralises_like_python(db):
    """The CSV's formula rule runs in SQL: it must agree with spreadsheet_safety.neutralise_formula."""
    from sqlalchemy import String, literal

    samples = ["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx", " =x", "\u00a0=x", "\uff1dx", "plain", "", "a=b", " x"]
    with Session(db) as session:
        for sample in samples:
            column = ExportColumn("x", literal(sample, String()), "text")
            assert session.scalar(select(csv_sql(column))) == neutralise_formula(sample), repr(sample)


@pytest.mark.parametrize("export_type", ["csv", "json", "xlsx"])
def test_head_on_an_export_answers_without_exporting(client, login_as, shop, db, export_type):
    from tests.helpers import recorded_statements

    login_as(Role.support)
    with recorded_statements(db) as statements:
        response = client.head(f"/admin/order/export/{export_type}?status=paid")
    assert response.status_code == 200 and response.content == b""
    assert "attachment" in response.headers["content-disposition"]
    assert response.headers["content-type"].startswith(("text/csv", "application/"))
    assert len(statements) == 1 and "staff_sessions" in statements[0]  # the log-in check, and nothing read
    with Session(db) as session:
        assert session.scalars(select(AuditLog).where(AuditLog.action == "export")).all() == []
    assert client.head("/admin/order/export/csv?sortBy=nonsense").status_code == 400  # as a GET would answer


# -- the same exports as before the totals were stored (revision 0006) ------------------------------


@pytest.fixture
def awkward(db, shop):
    """An order whose customer's e-mail holds what JSON and XML must escape (quotes, a backslash, a line break,
    a carriage return, a tab, control characters, markup, text that reads as an Excel escape), a non-ASCII
    letter and an emoji; with a discount whose total rounds half up."""
    book = factories.product(db, price=Decimal("3.30"))
    odd = factories.customer(db, email='"q"\\b\nl\r\tt\x01\x1f<&>_x0041_é😀@example.com')
    return factories.order(
        db, odd.id, [(book, 3)], number="SO-7788888", status=OrderStatus.paid, discount_pct=Decimal("33.33"),
        shipping_fee=Decimal("0.05"), placed_at=factories.BASE_TIME + timedelta(days=30, microseconds=120),
    )  # fmt: skip


@pytest.mark.parametrize("export_type", ["csv", "json"])
@pytest.mark.parametrize("query", [*QUERIES, "search=example&sortBy=customer&sort=asc"])
def test_exports_are_byte_identical_to_before(app, client, login_as, awkward, export_type, query):
    """The stored totals, and JSON written by PostgreSQL, change no byte: the golden output is what the code
    before revision 0006 wrote from the same rows (totals summed over the lines, JSON by json.dumps)."""
    login_as(Role.support)
    response = client.get(f"/admin/order/export/{export_type}?{query}")
    assert response.status_code == 200
    assert response.content == export_as_before(app, export_type, query)


@pytest.mark.parametrize("query", QUERIES)
def test_xlsx_cells_are_those_written_before(app, client, login_as, awkward, query):
    """The same cells XlsxWriter wrote from the same rows (the zip around them is another)."""
    login_as(Role.support)
    response = client.get(f"/admin/order/export/xlsx?{query}")
    assert response.status_code == 200
    (sheet,) = xlsx_sheets(response.content)
    assert sheet == xlsx_cells_as_before(app, query)


def test_xlsx_starts_a_new_sheet_when_one_is_full(app, client, login_as, shop, monkeypatch):
    from admin_site.export import xlsx

    monkeypatch.setattr(xlsx, "SHEET_ROWS", 5)  # a header and four rows a sheet
    login_as(Role.support)
    sheets = xlsx_sheets(client.get("/admin/order/export/xlsx").content)
    expected = xlsx_cells_as_before(app)
    assert [len(sheet) for sheet in sheets] == [5, 5, 5, 4]  # 15 orders
    assert all(sheet[0] == expected[0] for sheet in sheets)  # the header again on each
    assert [row for sheet in sheets for row in sheet[1:]] == expected[1:]


def test_a_list_with_a_column_sql_cannot_write_is_exported_row_by_row(client, login_as, db):
    """The audit log lists an address (inet): its text in SQL (`10.1.2.3/32`) is not what the driver reads
    (`10.1.2.3`), so its JSON and XLSX cells are written here, from the rows, by the same rules."""
    from sqlalchemy import text

    from admin_site.export.sql_rows import json_row_sql
    from admin_site.export.xlsx import xlsx_row_sql

    login_as(Role.admin)
    with db.begin() as conn:
        conn.execute(text("INSERT INTO audit_log (action, entity, ip) VALUES ('login', 'staff-user', '10.1.2.3')"))
    view = view_of(client.app, "audit-log")
    _, columns = export_statement(view, list_request())
    assert json_row_sql(columns) is None and xlsx_row_sql(columns) is None
    rows = json.loads(client.get("/admin/audit-log/export/json").text)
    assert [row["ip"] for row in rows if row["ip"]] == ["10.1.2.3"]
    (sheet,) = xlsx_sheets(client.get("/admin/audit-log/export/xlsx").content)
    assert sheet[0][:2] == ["id", "at"] and any(row[-1] == "10.1.2.3" for row in sheet[1:])
