"""XLSX writers side by side on the orders export's cells: `python -m benchmarks.xlsx_writers [--rows 200000]`.

Times each writer on the same rows (Python values shaped like the orders list: id, number, e-mail, status, two
UTC times as text, item count, total) with a sink that discards the bytes, and prints seconds, rows per second
and size: XlsxWriter in constant-memory mode (what the export used), openpyxl in write-only mode (both write
the sheet to a temporary file and zip it at the end: nothing leaves before the last row), and this project's
streaming writer (`admin_site.export.xlsx`), whose zip leaves as it is written, with its cells encoded in Python
(the export's fallback) at deflate levels 1 and 6. The export's usual path, cells written by PostgreSQL, is
timed by `benchmarks.run` against COPY. A writer not installed is skipped (`pip install xlsxwriter openpyxl`).
"""

from __future__ import annotations

import argparse
import os
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from admin_site.export import xlsx
from admin_site.export.cells import cell_text

HEADER = ["id", "number", "customer", "status", "placed_at", "shipped_at", "item_count", "total"]


def rows(n: int) -> Iterator[tuple[Any, ...]]:
    start = datetime(2025, 1, 1, tzinfo=UTC)
    for i in range(1, n + 1):
        placed = start + timedelta(seconds=i * 37)
        shipped = None if i % 3 else placed + timedelta(hours=30)
        yield (i, f"SO-{i:07d}", f"ann.lee{i % 100_000}@example.com", "delivered", placed, shipped, i % 9 + 1,
               Decimal(f"{i % 50_000}.{i % 100:02d}"))  # fmt: skip


def xlsxwriter_constant_memory(n: int) -> int:
    import xlsxwriter

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "out.xlsx")
        book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_numbers": False})
        money, sheet = book.add_format({"num_format": "0.00"}), book.add_worksheet()
        for col, name in enumerate(HEADER):
            sheet.write_string(0, col, name)
        for line, row in enumerate(rows(n), start=1):
            for col, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, (int, Decimal)):
                    sheet.write_number(line, col, value, money if isinstance(value, Decimal) else None)
                else:
                    sheet.write_string(line, col, cell_text(value))
        book.close()
        return os.path.getsize(path)


def openpyxl_write_only(n: int) -> int:
    import openpyxl

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "out.xlsx")
        book = openpyxl.Workbook(write_only=True)
        sheet = book.create_sheet()
        sheet.append(HEADER)
        for row in rows(n):
            sheet.append([v if isinstance(v, (int, Decimal)) or v is None else cell_text(v) for v in row])
        book.save(path)
        return os.path.getsize(path)


def streaming(level: int) -> Callable[[int], int]:
    def write(n: int) -> int:
        xlsx.COMPRESS_LEVEL = level
        chunks: queue.Queue = queue.Queue()
        writer = xlsx.SheetWriter(chunks, threading.Event())
        columns = [type("Column", (), {"name": name})() for name in HEADER]
        writer.start(columns)  # type: ignore[arg-type]
        letters = [xlsx.column_letters(i) for i in range(len(HEADER))]
        for row in rows(n):
            writer.write(xlsx.cells(row, letters))
        writer.finish()
        return sum(len(chunks.get()) for _ in range(chunks.qsize()))

    return write


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    writers = {
        "XlsxWriter, constant memory": xlsxwriter_constant_memory,
        "openpyxl, write-only": openpyxl_write_only,
        "streamed here, Python cells, deflate 1": streaming(1),
        "streamed here, Python cells, deflate 6": streaming(6),
    }
    for name, write in writers.items():
        try:
            started = time.perf_counter()
            size = write(args.rows)
        except ImportError:
            print(f"{name:42} not installed")
            continue
        seconds = time.perf_counter() - started
        print(f"{name:42} {seconds:6.2f} s  {args.rows / seconds:9,.0f} rows/s  {size / 2**20:6.1f} MiB", flush=True)


if __name__ == "__main__":
    main()
