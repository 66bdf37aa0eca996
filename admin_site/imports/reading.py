"""An uploaded file as a header and rows of text: CSV (UTF-8, with or without BOM; comma or semicolon,
detected from the header) or XLSX (its first sheet, `xlsx_reading`). Read as a stream: one row at a time.

The kind is decided from the bytes, not the name: a zip is a workbook, anything else must be UTF-8 text.
Binary garbage (NUL bytes, an old .xls, text that is not UTF-8) is refused with a sentence saying so.
Cells are stripped of surrounding spaces; a row with no value at all is skipped (spreadsheets leave them).
Row numbers are the spreadsheet's: the header is row 1.
"""

from __future__ import annotations

import contextlib
import csv
import io
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from admin_site.imports.problems import FileRefused
from admin_site.imports.xlsx_reading import XlsxRows

SNIFF_BYTES = 64 * 1024
OLE_MAGIC = b"\xd0\xcf\x11\xe0"  # the old binary .xls (and .doc): not read
ZIP_MAGIC = b"PK\x03\x04"
NOT_TEXT = (
    "This file is neither an XLSX workbook nor a CSV file in UTF-8 (it looks like binary data). "
    "Export the sheet as “CSV UTF-8” or save it as an XLSX workbook, then upload that."
)

Row = tuple[int, list[str | None]]


@dataclass
class Table:
    kind: str  # "csv" or "xlsx"
    header: list[str]
    rows: Iterator[Row]  # data rows only, numbered as the spreadsheet numbers them


def open_table(source: IO[bytes], *, max_bytes: int, max_rows: int) -> Table:
    """The file's header and a stream of its rows; FileRefused for anything that is not a table we read."""
    start = source.read(SNIFF_BYTES)
    source.seek(0)
    if not start.strip():
        raise FileRefused("The file is empty.")
    if start.startswith(ZIP_MAGIC):
        workbook = XlsxRows(source, max_bytes=max_bytes, max_rows=max_rows)
        return _table("xlsx", workbook.rows(), max_rows)
    if start.startswith(OLE_MAGIC):
        raise FileRefused("This is an old Excel file (.xls): save it as an XLSX workbook or as CSV UTF-8 first.")
    if b"\x00" in start:
        raise FileRefused(NOT_TEXT)
    try:
        start.decode("utf-8")
    except UnicodeDecodeError as error:
        if error.start < len(start) - 4:  # not merely a character cut by the sniffed chunk's end
            raise FileRefused(NOT_TEXT) from None
    return _table("csv", _csv_rows(source), max_rows)


def _table(kind: str, rows: Iterator[Row], max_rows: int) -> Table:
    for _number, cells in rows:
        header = [(cell or "").strip() for cell in cells]
        while header and not header[-1]:
            header.pop()
        if not header:
            continue
        return Table(kind, header, _bounded(rows, max_rows))
    raise FileRefused("The file has no header row: its first row must name the columns, as an export does.")


def _bounded(rows: Iterator[Row], max_rows: int) -> Iterator[Row]:
    """Non-empty rows, each stripped, at most `max_rows` of them (one more refuses the file)."""
    count = 0
    for number, cells in rows:
        stripped = [cell.strip() if cell is not None else None for cell in cells]
        if not any(stripped):
            continue
        count += 1
        if count > max_rows:
            raise FileRefused(f"The file has more than {max_rows:,} rows: split it and import the parts one by one.")
        yield number, [cell or None for cell in stripped]


def _delimiter(header_line: str) -> str:
    """Semicolon when the header holds more of them than commas (outside quotes): spreadsheets set to a
    language whose decimal separator is the comma write CSV that way."""
    outside, quoted = [], False
    for char in header_line:
        if char == '"':
            quoted = not quoted
        elif not quoted:
            outside.append(char)
    return ";" if outside.count(";") > outside.count(",") else ","


def _csv_rows(source: IO[bytes]) -> Iterator[Row]:
    text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="", errors="strict")
    try:
        first = text.readline()
        reader = csv.reader(itertools.chain([first], text), delimiter=_delimiter(first), strict=False)
        for number, cells in enumerate(reader, start=1):
            yield number, list(cells)
    except UnicodeDecodeError:
        raise FileRefused(
            "Part of this file is not UTF-8 text. Export it as “CSV UTF-8” (or save it as XLSX) and upload it again."
        ) from None
    except csv.Error as error:
        raise FileRefused(f"This CSV file cannot be read: {error}.") from None
    finally:
        with contextlib.suppress(ValueError):  # the upload is closed already when an unfinished read is dropped late
            text.detach()  # else closing the wrapper would close the caller's file
