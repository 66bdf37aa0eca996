"""Import at scale: `python -m benchmarks.imports [--rows 100000] [--products 10000] [--format csv|xlsx]`.

A dedicated embedded PostgreSQL (`--pgdata`, default /var/tmp/admin-site-bench-import/pgdata) seeded with
`--products` products (reused between runs: the products a previous run created are deleted first), the
app in one uvicorn process on loopback (as `benchmarks.run` serves it), logged in as an admin. The file is
what an export writes (id, sku, name, category, price, cost, margin, stock_quantity, is_low_stock,
is_active): every existing product with its price moved by a cent, then new products up to `--rows`.
Prints the upload-and-preview time (POST of the file, then GET of the preview page), the confirmation time
(POST: one transaction), the server's peak memory growth during each, and checks the result in the
database. Targets (issue 18): 100,000 rows previewed in ≤ 20 s and applied in ≤ 30 s at 10,000 products.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import subprocess
import sys
import time
import zipfile
from decimal import Decimal
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text

from benchmarks.database import prepare
from benchmarks.measure import PeakRSS, machine
from benchmarks.run import ROOT, free_port, log_in, wait_for

DEFAULT_PGDATA = Path(os.environ.get("BENCH_IMPORT_PGDATA", "/var/tmp/admin-site-bench-import/pgdata"))
HEADER = ["id", "sku", "name", "category", "price", "cost", "margin", "stock_quantity", "is_low_stock", "is_active"]
NEW_PREFIX = "IMP-"


def reset_and_read(url: str) -> tuple[list[tuple], str]:
    """Drop what earlier runs created; the existing products as an export shows them, and a category's name."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("TRUNCATE audit_log"))  # append-only but for its owner's TRUNCATE: a benchmark's own database
        conn.execute(text(f"DELETE FROM products WHERE sku LIKE '{NEW_PREFIX}%'"))
        conn.execute(text("DELETE FROM import_batches"))
        rows = conn.execute(
            text(
                "SELECT p.id, p.sku, p.name, c.name, p.price, p.cost, p.stock_quantity, p.reorder_level, p.is_active "
                "FROM products p JOIN categories c ON c.id = p.category_id ORDER BY p.id"
            )
        ).all()
        category = conn.scalar(text("SELECT name FROM categories ORDER BY id LIMIT 1"))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM (ANALYZE) products, audit_log"))
    engine.dispose()
    return rows, category


def file_bytes(existing: list[tuple], category: str, total: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for pk, sku, name, cat, price, cost, stock, reorder, active in existing[:total]:
        new_price = price + Decimal("0.01")
        writer.writerow([pk, sku, name, cat, new_price, cost, new_price - cost, stock, stock <= reorder,
                         "true" if active else "false"])  # fmt: skip
    for n in range(max(0, total - len(existing))):
        writer.writerow(["", f"{NEW_PREFIX}{n:07d}", f"Imported product {n}", category, "12.50", "4.00", "8.50", 7,
                         "false", "true"])  # fmt: skip
    return out.getvalue().encode()


def as_xlsx(csv_data: bytes) -> bytes:
    """The same rows as a workbook of inline strings and numbers (as the admin's own XLSX export writes them)."""
    from xml.sax.saxutils import escape

    from admin_site.export.xlsx import column_letters

    rows = csv.reader(io.StringIO(csv_data.decode()))
    parts = []
    for r, row in enumerate(rows, start=1):
        cells = []
        for c, value in enumerate(row):
            ref = f"{column_letters(c)}{r}"
            if value and value.replace(".", "", 1).isdigit() and r > 1:
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            elif value:
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{escape(value)}</t></is></c>')
        parts.append(f'<row r="{r}">{"".join(cells)}</row>')
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    rel = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        z.writestr("xl/workbook.xml", f'<workbook xmlns="{main}" xmlns:r="{rel}"><sheets><sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>')  # fmt: skip
        z.writestr("xl/_rels/workbook.xml.rels", '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Target="worksheets/sheet1.xml" Type="x"/></Relationships>')  # fmt: skip
        z.writestr("xl/worksheets/sheet1.xml", f'<worksheet xmlns="{main}"><sheetData>{"".join(parts)}</sheetData></worksheet>')  # fmt: skip
    return out.getvalue()


def main() -> None:  # noqa: PLR0915 - the benchmark run, step by step, as it prints them
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--products", type=int, default=10_000)
    parser.add_argument("--pgdata", type=Path, default=DEFAULT_PGDATA)
    parser.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    args = parser.parse_args()
    print(f"machine: {machine()}")
    prepared = prepare(args.pgdata, orders=2_000, customers=1_000, products=args.products)
    from benchmarks.run import ensure_staff

    password = ensure_staff(prepared.url)
    existing, category = reset_and_read(prepared.url)
    data = file_bytes(existing, category, args.rows)
    if args.format == "xlsx":
        data = as_xlsx(data)
    updates = min(len(existing), args.rows)
    print(f"table: {len(existing):,} products; file: {args.rows:,} rows ({updates:,} updates, "
          f"{args.rows - updates:,} new), {len(data) / 2**20:.1f} MiB {args.format.upper()}")  # fmt: skip
    port = free_port()
    secret = "bench-" + os.urandom(16).hex()
    serve = [sys.executable, "-m", "benchmarks.serve", "--url", prepared.url, "--secret", secret, "--port", str(port)]
    server = subprocess.Popen(serve, cwd=ROOT)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/healthz", server)
        with httpx.Client(base_url=base, timeout=600, follow_redirects=False) as client:
            log_in(client, password)
            page = client.get("/admin/product/import").text
            token = page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]
            origin = {"Origin": base}
            with PeakRSS(server.pid) as memory:
                started = time.perf_counter()
                response = client.post("/admin/product/import", files={"file": (f"products.{args.format}", data, "application/octet-stream")},
                                       data={"csrf_token": token}, headers=origin)  # fmt: skip
                staged = time.perf_counter() - started
                if response.status_code != 303:
                    raise SystemExit(f"upload failed: {response.status_code} {response.text[-500:]}")
                preview_url = response.headers["location"]
                preview = client.get(preview_url)
                previewed = time.perf_counter() - started
            preview_memory = memory.growth_mb
            counts = [preview.text.split(f'id="count-{o}">', 1)[1].split("<", 1)[0] for o in ("create", "update", "unchanged", "refused")]  # fmt: skip
            print(f"preview: {previewed:.1f} s (upload, read, check and stage {staged:.1f} s; page "
                  f"{previewed - staged:.2f} s); server memory +{preview_memory:.0f} MB; "
                  f"create/update/unchanged/refused: {' / '.join(counts)}")  # fmt: skip
            with PeakRSS(server.pid) as memory:
                started = time.perf_counter()
                applied = client.post(preview_url + "/confirm", data={"csrf_token": token}, headers=origin)
                elapsed = time.perf_counter() - started
            if applied.status_code != 303 or "/list" not in applied.headers["location"]:
                raise SystemExit(f"confirm failed: {applied.status_code} {applied.headers.get('location')}")
            print(f"apply: {elapsed:.1f} s; server memory +{memory.growth_mb:.0f} MB")
        engine = create_engine(prepared.url)
        with engine.connect() as conn:
            made = conn.scalar(text(f"SELECT count(*) FROM products WHERE sku LIKE '{NEW_PREFIX}%'"))
            audited = conn.scalar(text("SELECT count(*) FROM audit_log WHERE action IN ('create', 'update')"))
        engine.dispose()
        print(f"check: {made:,} products created, {audited:,} audit rows")
        print(f"targets: preview ≤ 20 s {'met' if previewed <= 20 else 'MISSED'}, "
              f"apply ≤ 30 s {'met' if elapsed <= 30 else 'MISSED'}")  # fmt: skip
    finally:
        server.terminate()
        server.wait(30)


if __name__ == "__main__":
    main()
