"""Import from a spreadsheet: export → edit → import round-trips, a preview writes nothing, a confirmation
applies every change or none, once, each record checked against the version the preview read."""

from __future__ import annotations

import csv
import io
import re
import zipfile
from decimal import Decimal

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from models import AuditLog, ImportBatch, ImportRow, Product, Role
from tests import factories
from tests.helpers import fetch, shown_text, snapshot


def upload(client, identity: str, data: bytes, name: str = "file.csv"):
    return client.post(f"/admin/{identity}/import", files={"file": (name, data, "application/octet-stream")})


def preview_of(client, identity: str, data: bytes, name: str = "file.csv") -> tuple[str, str]:
    """Upload `data`; (the preview's URL, its page)."""
    response = upload(client, identity, data, name)
    assert response.status_code == 303, response.text[-2000:]
    url = response.headers["location"]
    page = client.get(url)
    assert page.status_code == 200, page.text[-2000:]
    return url, page.text


def confirm(client, preview_url: str):
    return client.post(preview_url + "/confirm")


def shop_tables(db) -> dict:
    """Every table's rows but the import's own staging tables."""
    return {name: rows for name, rows in snapshot(db).items() if not name.startswith("import_")}


def count(page: str, outcome: str) -> int:
    found = re.search(rf'id="count-{outcome}">([\d,]+)<', page)
    assert found, f"no {outcome} count on the page"
    return int(found.group(1).replace(",", ""))


def as_csv(rows: list[list[object]], delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerows(rows)
    return out.getvalue().encode()


@pytest.fixture
def catalog(db):
    books = factories.category(db, name="Books", slug="books")
    games = factories.category(db, name="Games", slug="games")
    products = [
        factories.product(db, books.id, sku=f"BK-{n:03}", name=f"Book {n}", price=Decimal("10.00")) for n in range(5)
    ]
    return books, games, products


def test_round_trip_changes_exactly_the_edited_prices_with_audit_rows(client, login_as, db, catalog):
    login_as(Role.manager)
    exported = client.get("/admin/product/export/csv")
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.text)))
    header = rows[0]
    assert "sku" in header and "price" in header
    price = header.index("price")
    sku = header.index("sku")
    edited = {"BK-001": "12.50", "BK-003": "9.99"}
    for row in rows[1:]:
        if row[sku] in edited:
            row[price] = edited[row[sku]]
    before = shop_tables(db)
    url, page = preview_of(client, "product", as_csv(rows))
    assert (count(page, "update"), count(page, "unchanged"), count(page, "create"), count(page, "refused")) == (
        2,
        3,
        0,
        0,
    )
    assert "10.00" in page and "12.50" in page
    assert shop_tables(db) == before  # the preview wrote nothing to the shop's tables
    response = confirm(client, url)
    assert response.status_code == 303
    with Session(db) as session:
        prices = dict(session.execute(select(Product.sku, Product.price)).all())
        assert prices == {
            "BK-000": Decimal("10.00"),
            "BK-001": Decimal("12.50"),
            "BK-002": Decimal("10.00"),
            "BK-003": Decimal("9.99"),
            "BK-004": Decimal("10.00"),
        }
        versions = dict(session.execute(select(Product.sku, Product.version)).all())
        assert versions["BK-001"] == 2 and versions["BK-000"] == 1
        updates = session.scalars(
            select(AuditLog).where(AuditLog.action == "update", AuditLog.entity == "product")
        ).all()
        assert len(updates) == 2
        by_key = {u.entity_pk: u.changes for u in updates}
        changed = next(p for p in catalog[2] if p.sku == "BK-001")
        assert by_key[str(changed.id)]["price"] == {"before": "10.00", "after": "12.50"}
        assert by_key[str(changed.id)]["version"] == {"before": 1, "after": 2}
        imported = session.scalars(select(AuditLog).where(AuditLog.action == "import")).one()
        assert imported.changes["updated"] == 2 and imported.changes["file"] == "file.csv"
    assert "Imported: 0 created, 2 updated, 3 unchanged" in shown_text(client.get(response.headers["location"]).text)


# -- refusals: nothing is written, the row and the column are named ---------------------------------------------


def product_rows(n: int, category: str = "Books", start: int = 0) -> list[list[object]]:
    header = ["sku", "name", "category", "price", "cost", "stock_quantity", "is_active"]
    return [header] + [
        [f"NEW-{i:05}", f"New {i}", category, "5.00", "2.00", 3, "true"] for i in range(start, start + n)
    ]


def test_one_bad_row_among_thousands_writes_nothing_and_names_row_and_column(client, login_as, db, catalog):
    login_as(Role.manager)
    rows = product_rows(3000)
    rows[1500][3] = "abc"  # the file's row 1501 (after the header): its price
    before = shop_tables(db)
    url, page = preview_of(client, "product", as_csv(rows))
    assert count(page, "refused") == 1 and count(page, "create") == 2999
    refusals = re.search(r'<table[^>]*id="import-refusals".*?</table>', page, re.S).group(0)
    assert re.search(r"<td>1501</td><td><code>price</code></td><td>Enter a number.</td>", refusals)
    assert 'id="import-confirm"' not in page  # no button: the file must be corrected first
    every = client.get(url + "/refusals.csv")
    assert every.status_code == 200 and every.headers["content-type"].startswith("text/csv")
    assert every.text.splitlines() == ["row,column,reason", "1501,price,Enter a number."]
    response = confirm(client, url)  # posted anyway
    assert response.status_code == 303 and response.headers["location"] == url
    assert "refused 1 rows" in shown_text(client.get(url).text)
    assert shop_tables(db) == before


def test_rules_of_the_forms_apply_to_each_cell(client, login_as, db, catalog):
    login_as(Role.manager)
    rows = product_rows(4)
    rows[1][3] = "-1"  # CHECK price > 0
    rows[2][3] = "1.234"  # more decimals than the column keeps
    rows[3][1] = "x" * 201  # longer than String(200)
    rows[4][5] = "many"  # not a whole number
    _, page = preview_of(client, "product", as_csv(rows))
    assert count(page, "refused") == 4
    text = shown_text(page)
    assert "Price must be greater than 0." in text
    assert "Use at most 2 decimal places." in text
    assert "Use at most 200 characters." in text
    assert "Enter a whole number." in text or "Enter a number." in text


def test_unknown_category_label_is_refused(client, login_as, db, catalog):
    login_as(Role.manager)
    rows = product_rows(2)
    rows[2][2] = "Garden"
    before = shop_tables(db)
    url, page = preview_of(client, "product", as_csv(rows))
    assert count(page, "refused") == 1 and count(page, "create") == 1
    assert "No category is named “Garden”" in page
    assert re.search(r"<td>3</td><td><code>category</code></td>", page)
    confirm(client, url)
    assert shop_tables(db) == before


def test_duplicate_sku_inside_the_file_is_refused(client, login_as, db, catalog):
    login_as(Role.manager)
    rows = product_rows(3)
    rows[3][0] = rows[1][0]
    _, page = preview_of(client, "product", as_csv(rows))
    assert count(page, "refused") == 2  # both: which one is meant?
    assert "NEW-00000 is on 2 rows of the file (first on row 2)" in page
    assert re.search(r"<td>4</td><td><code>sku</code></td>", page)


def test_unique_clash_with_another_record_is_refused(client, login_as, db, catalog):
    login_as(Role.manager)
    data = as_csv([["slug", "name", "is_active"], ["books", "Games", "true"]])  # Games is another category's name
    _, page = preview_of(client, "category", data)
    assert count(page, "refused") == 1
    assert "Another category already has name Games." in page


def test_rows_matched_by_id_need_an_existing_id(client, login_as, db, catalog):
    login_as(Role.manager)
    product = catalog[2][0]
    data = as_csv([["id", "price"], [product.id, "11.00"], [999999, "11.00"]])
    _, page = preview_of(client, "product", data)
    assert count(page, "update") == 1 and count(page, "refused") == 1
    assert "No product has id 999999." in page


# -- the confirmation: versions, once, all or nothing ---------------------------------------------------------------


def test_a_record_changed_after_the_preview_refuses_the_confirmation(client, login_as, db, catalog):
    login_as(Role.manager)
    rows = [["sku", "price"], ["BK-000", "20.00"], ["BK-001", "21.00"], ["BK-002", "10.00"]]
    url, page = preview_of(client, "product", as_csv(rows))
    assert count(page, "update") == 2 and count(page, "unchanged") == 1
    with Session(db) as session:  # someone saves BK-002 (unchanged by the file) meanwhile
        session.execute(
            update(Product).where(Product.sku == "BK-002").values(stock_quantity=1, version=Product.version + 1)
        )
        session.commit()
    before = shop_tables(db)
    response = confirm(client, url)
    assert response.status_code == 303 and response.headers["location"] == url
    message = shown_text(client.get(url).text)
    assert "row 4 (BK-002)" in message and "Nothing was written" in message
    assert shop_tables(db) == before


def test_confirming_twice_applies_once(client, login_as, db, catalog):
    login_as(Role.manager)
    url, _ = preview_of(client, "product", as_csv([["sku", "stock_quantity"], ["BK-000", "99"]]))
    done = confirm(client, url)
    assert "Imported: 0 created, 1 updated" in shown_text(client.get(done.headers["location"]).text)
    again = confirm(client, url)
    assert again.status_code == 303
    assert "applied already" in shown_text(client.get(again.headers["location"]).text)
    with Session(db) as session:
        assert session.scalar(select(Product.version).where(Product.sku == "BK-000")) == 2
        assert session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "import")) == 1
        assert session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "update")) == 1
        assert session.scalar(select(func.count()).select_from(ImportRow)) == 0  # the staged rows are dropped
    assert "applied on" in client.get(url).text


def test_new_records_are_created_with_audit_rows(client, login_as, db, catalog):
    login_as(Role.manager)
    url, page = preview_of(client, "product", as_csv(product_rows(3, category="Games")))
    assert count(page, "create") == 3
    confirm(client, url)
    with Session(db) as session:
        made = session.scalars(select(Product).where(Product.sku.like("NEW-%")).order_by(Product.sku)).all()
        assert [p.category_id for p in made] == [catalog[1].id] * 3
        assert made[0].price == Decimal("5.00") and made[0].reorder_level == 0 and made[0].version == 1
        created = session.scalars(select(AuditLog).where(AuditLog.action == "create")).all()
        assert {c.entity_pk for c in created} == {str(p.id) for p in made}
        assert created[0].changes["sku"]["before"] is None


def test_another_staff_member_cannot_see_or_confirm_my_preview(client, login_as, app, make_staff, db, catalog):
    from tests.helpers import browser_client, login

    login_as(Role.manager)
    url, _ = preview_of(client, "product", as_csv([["sku", "price"], ["BK-000", "30.00"]]))
    with browser_client(app) as other:
        login(other, make_staff(Role.manager).email)
        assert other.get(url).status_code == 404
        assert confirm(other, url).status_code == 404
    assert fetch(db, Product, catalog[2][0].id).price == Decimal("10.00")


# -- roles ---------------------------------------------------------------------------------------------------


def test_a_viewer_gets_403_on_every_import_route(client, login_as, db, catalog):
    login_as(Role.viewer)
    token = "x" * 43
    for identity in ("product", "category", "customer"):
        assert client.get(f"/admin/{identity}/import").status_code == 403
        assert upload(client, identity, as_csv([["sku", "price"], ["BK-000", "1.00"]])).status_code == 403
        assert client.get(f"/admin/{identity}/import/{token}").status_code == 403
        assert client.get(f"/admin/{identity}/import/{token}/refusals.csv").status_code == 403
        assert client.post(f"/admin/{identity}/import/{token}/confirm").status_code == 403
    assert 'id="action-import"' not in client.get("/admin/product/list").text
    assert fetch(db, Product, catalog[2][0].id).price == Decimal("10.00")


def test_support_imports_customers_but_not_products(client, login_as, db, catalog):
    login_as(Role.support)
    assert client.get("/admin/product/import").status_code == 403
    assert upload(client, "product", as_csv([["sku", "price"], ["BK-000", "1.00"]])).status_code == 403
    assert 'id="action-import"' not in client.get("/admin/product/list").text
    assert 'id="action-import"' in client.get("/admin/customer/list").text
    ann = factories.customer(db, email="ann@example.com")
    rows = [["email", "first_name", "last_name", "country", "is_blocked"],
            ["ann@example.com", "Anne", ann.last_name, "GB", "false"],
            ["bob@example.com", "Bob", "Ray", "FR", "true"]]  # fmt: skip
    _, page = preview_of(client, "customer", as_csv(rows))
    # Support may not block customers (the Block action): a new customer blocked is refused, as on the form.
    assert count(page, "update") == 1 and count(page, "refused") == 1
    assert re.search(r"<td>3</td><td><code>is_blocked</code></td><td>[^<]* cannot be set to true here", page)


def test_staff_users_and_the_audit_log_take_no_import(client, login_as):
    login_as(Role.admin)
    for identity in ("staff-user", "audit-log", "order"):
        assert client.get(f"/admin/{identity}/import").status_code == 403
    assert 'id="action-import"' in client.get("/admin/category/list").text


def test_the_permissions_page_shows_import(client, login_as):
    login_as(Role.admin)
    page = client.get("/admin/permissions").text
    row = re.search(r'<tr data-identity="customer">.*?</tr>', page, re.S).group(0)
    assert "view, create, edit, export, import" in row


# -- spreadsheets, and files that are not -------------------------------------------------------------------


def workbook(sheet_xml: str, shared: list[str] | None = None, *, compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A minimal XLSX: one sheet (its XML given), shared strings if any."""
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>')  # fmt: skip
        z.writestr("xl/_rels/workbook.xml.rels", '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Target="worksheets/sheet1.xml" Type="x"/></Relationships>')  # fmt: skip
        if shared is not None:
            items = "".join(f"<si><t>{s}</t></si>" for s in shared)
            z.writestr("xl/sharedStrings.xml", f'<sst xmlns="{main}">{items}</sst>')
        z.writestr(
            "xl/worksheets/sheet1.xml", f'<worksheet xmlns="{main}"><sheetData>{sheet_xml}</sheetData></worksheet>'
        )
    return out.getvalue()


def test_xlsx_export_edited_imports_back(client, login_as, db, catalog):
    login_as(Role.manager)
    exported = client.get("/admin/product/export/xlsx").content
    changed = catalog[2][2]
    with zipfile.ZipFile(io.BytesIO(exported)) as z:
        parts = {name: z.read(name) for name in z.namelist()}
    sheet = parts["xl/worksheets/sheet1.xml"].decode()
    row = re.search(rf'<row r="(\d+)"[^>]*>(?:(?!</row>).)*{changed.sku}.*?</row>', sheet).group(0)
    edited = re.sub(r'(<c r="E\d+"[^>]*><v>)10.00(</v>)', r"\g<1>14.95\2", row)
    assert edited != row
    parts["xl/worksheets/sheet1.xml"] = sheet.replace(row, edited).encode()
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            z.writestr(name, data)
    url, page = preview_of(client, "product", out.getvalue(), "products.xlsx")
    assert (count(page, "update"), count(page, "unchanged"), count(page, "refused")) == (1, 4, 0)
    confirm(client, url)
    assert fetch(db, Product, changed.id).price == Decimal("14.95")


def test_xlsx_with_shared_strings_formulas_and_excel_floats(client, login_as, db, catalog):
    login_as(Role.manager)
    sheet = (
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="C1" t="s"><v>2</v></c></row>'
        '<row r="2"><c r="A2" t="s"><v>3</v></c><c r="B2"><v>19.989999999999998</v></c>'
        '<c r="C2" t="str"><f>HYPERLINK("http://evil.example","x")</f><v>x</v></c></row>'
    )
    data = workbook(sheet, ["sku", "price", "name", "BK-000"])
    url, page = preview_of(client, "product", data, "excel.xlsx")
    assert count(page, "update") == 1
    confirm(client, url)
    stored = fetch(db, Product, catalog[2][0].id)
    assert stored.price == Decimal("19.99")
    assert stored.name == '=HYPERLINK("http://evil.example","x")'  # the formula, as text: never evaluated


def test_semicolon_csv_with_bom_and_decimal_commas(client, login_as, db, catalog):
    login_as(Role.manager)
    data = "\ufeffsku;price;name\nBK-000;12,50;Book zero\n".encode()
    url, page = preview_of(client, "product", data)
    assert count(page, "update") == 1
    confirm(client, url)
    stored = fetch(db, Product, catalog[2][0].id)
    assert (stored.price, stored.name) == (Decimal("12.50"), "Book zero")


def test_text_an_export_neutralised_reads_back_as_it_was(client, login_as, db, catalog):
    login_as(Role.manager)
    data = as_csv([["sku", "name"], ["BK-000", "'=1+2"], ["BK-001", "=SUM(A1:A3)"]])
    url, _ = preview_of(client, "product", data)
    confirm(client, url)
    assert fetch(db, Product, catalog[2][0].id).name == "=1+2"
    assert fetch(db, Product, catalog[2][1].id).name == "=SUM(A1:A3)"  # text, as given


def zip_bomb() -> bytes:
    """A sheet of 300 MB of zeros in a few hundred KB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            chunk = b"0" * (1 << 20)
            for _ in range(300):
                sheet.write(chunk)
    return out.getvalue()


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("bomb.xlsx", zip_bomb(), "zip bomb"),
        ("wide.xlsx", workbook('<row r="1"><c r="A1" t="inlineStr"><is><t>sku</t></is></c></row>'.replace("</row>", '</row><dimension ref="A1:XFD1048576"/>')), "declares 1,048,576 rows"),
        ("far.xlsx", workbook('<row r="1"><c r="A1" t="inlineStr"><is><t>sku</t></is></c></row><row r="1048576"><c r="A1048576"><v>1</v></c></row>'), "rows past row"),
        ("garbage.csv", bytes(range(256)) * 64, "binary data"),
        ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, "old Excel file"),
        ("broken.xlsx", b"PK\x03\x04" + b"\x00" * 100, "not a readable XLSX"),
        ("latin1.csv", "sku,name\nBK-000,Caf\xe9\n".encode("latin-1"), "not UTF-8"),
        ("empty.csv", b"", "empty"),
        ("header.csv", b"sku,price\n", "no rows"),
        ("nokey.csv", b"name,price\nx,1\n", "no “sku” or “id” column"),
    ],
)  # fmt: skip
def test_hostile_files_are_refused_with_a_message_and_nothing_written(
    client, login_as, db, catalog, name, data, message
):
    login_as(Role.manager)
    before = shop_tables(db)
    response = upload(client, "product", data, name)
    assert response.status_code == 400, response.text[-500:]
    error = re.search(r'id="import-error">([^<]*)<', response.text)
    assert error and message in error.group(1), error and error.group(1)
    assert shop_tables(db) == before
    with Session(db) as session:
        assert session.scalar(select(func.count()).select_from(ImportBatch)) == 0
        assert session.scalar(select(func.count()).select_from(ImportRow)) == 0


def test_a_doctype_is_refused(client, login_as, db, catalog):
    login_as(Role.manager)
    entities = '<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
    data = workbook('<row r="1"><c r="A1" t="inlineStr"><is><t>&b;</t></is></c></row>')
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    parts["xl/worksheets/sheet1.xml"] = entities.encode() + parts["xl/worksheets/sheet1.xml"]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for n, d in parts.items():
            z.writestr(n, d)
    response = upload(client, "product", out.getvalue(), "laughs.xlsx")
    assert response.status_code == 400 and "DOCTYPE" in response.text


def test_a_file_over_the_size_limit_is_refused(client, login_as, db, catalog):
    login_as(Role.manager)
    big = b"sku,name\n" + b"BK-000,x\n" * (21_000_000 // 9)
    response = upload(client, "product", big)
    assert response.status_code == 413
    assert "larger than 20 MB" in response.text


# -- reading, on its own ------------------------------------------------------------------------------------


def test_row_limit_and_delimiter_detection():
    from admin_site.imports.problems import FileRefused
    from admin_site.imports.reading import open_table

    table = open_table(io.BytesIO(b'name;price\n"a;b";1,5\n\n;\nc;2\n'), max_bytes=10_000, max_rows=5)
    assert table.kind == "csv" and table.header == ["name", "price"]
    assert list(table.rows) == [(2, ["a;b", "1,5"]), (5, ["c", "2"])]  # empty rows skipped, numbers kept
    table = open_table(io.BytesIO(b"sku,price\n" + b"x,1\n" * 4), max_bytes=10_000, max_rows=3)
    with pytest.raises(FileRefused, match="more than 3 rows"):
        list(table.rows)


def test_an_expired_preview_cannot_be_confirmed(client, login_as, db, catalog):
    login_as(Role.manager)
    url, _ = preview_of(client, "product", as_csv([["sku", "price"], ["BK-000", "31.00"]]))
    with Session(db) as session:
        session.execute(update(ImportBatch).values(expires_at=func.now() - func.make_interval(0, 0, 0, 0, 1)))
        session.commit()
    assert confirm(client, url).headers["location"] == url
    page = client.get(url).text
    assert "This preview has expired" in page and 'id="import-confirm"' not in page
    assert fetch(db, Product, catalog[2][0].id).price == Decimal("10.00")


def test_two_confirmations_at_the_same_moment_apply_once(client, login_as, app, db, catalog):
    from concurrent.futures import ThreadPoolExecutor

    from tests.helpers import browser_client

    login_as(Role.manager)
    url, _ = preview_of(client, "product", as_csv([["sku", "stock_quantity"], ["BK-000", "77"], ["BK-001", "78"]]))
    cookie = client.cookies.get("admin_session")
    with browser_client(app) as first, browser_client(app) as second:
        for other in (first, second):  # two tabs of the same browser: the same session
            other.cookies.set("admin_session", cookie)
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(lambda c: confirm(c, url), (first, second)))
    assert [a.status_code for a in answers] == [303, 303]
    with Session(db) as session:
        assert session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "import")) == 1
        assert session.scalar(select(func.count()).select_from(AuditLog).where(AuditLog.action == "update")) == 2
        assert session.scalar(select(Product.version).where(Product.sku == "BK-000")) == 2
