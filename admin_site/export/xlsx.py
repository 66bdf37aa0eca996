"""The XLSX export, streamed as it is written: PostgreSQL writes each row's cells (COPY, one row a line), and
`SheetWriter` numbers the rows and zips them as they come, so the first bytes leave at once, memory stays
flat, and the sheet costs little more than compressing it. A column of a type SQL would render differently
(`sql_rows.json_value_sql` says which) sends the export through the server-side cursor, its cells written here
by the same rules.

The cells are those XlsxWriter's constant-memory mode wrote before: integers and decimals as numbers (decimals
exact, with the two-decimal format), booleans as booleans, anything else as inline text (`cells.cell_text`:
times in UTC, formulas neutralised), NULL and empty text as no cell; control characters as Excel's `_xHHHH_`
escapes, text cut at the 32,767 characters a cell holds; a new sheet every 1,048,575 rows, the header repeated.
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import AsyncIterator, Callable, Sequence
from decimal import Decimal
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import Boolean, Date, DateTime, Float, Integer, Numeric, Select, String, Text, case, cast, func
from sqlalchemy.sql.elements import ColumnElement

from admin_site.export.cells import cell_text, csv_sql
from admin_site.export.query import ExportColumn
from admin_site.export.spreadsheet_safety import neutralise_formula
from admin_site.export.sql_rows import constant, json_value_sql, raw_copy_sql
from admin_site.export.streams import CHUNK_BYTES, CopyWriter, run_copy, stream_rows, stream_through_queue

if TYPE_CHECKING:
    from sqlalchemy.orm import Session, sessionmaker

    from models.base import Base

ROW_MARK = "\x01"  # where a cell reference's row number goes: the cells are written with it, SheetWriter fills it in
SHEET_ROWS = 1_048_576  # rows in one sheet, header included
SHEET_BYTES = 1 << 30  # a sheet's XML stays under zip's 2 GiB entry limit (no ZIP64: some readers refuse it)
TEXT_LIMIT = 32_767  # characters a cell holds
COMPRESS_LEVEL = 1  # deflate level of the sheets (README, "Exports": the size and time of levels 1 and 6)
MONEY_STYLE = 1  # the cell format of decimals in STYLES: built-in number format 2, "0.00"

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELS = "http://schemas.openxmlformats.org/package/2006/relationships"
_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
SHEET_START = f'{_DECLARATION}<worksheet xmlns="{_MAIN}" xmlns:r="{_RELS}"><sheetData>'.encode()
SHEET_END = b"</sheetData></worksheet>"
ROOT_RELS = (
    f'{_DECLARATION}<Relationships xmlns="{_PACKAGE_RELS}"><Relationship Id="rId1" '
    f'Type="{_RELS}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
STYLES = (
    f'{_DECLARATION}<styleSheet xmlns="{_MAIN}"><fonts count="1"><font><sz val="11"/><name val="Calibri"/></font>'
    '</fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
    '</fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="2">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="2" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/></cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>'
)
_CONTROL = [chr(c) for c in range(1, 32) if c not in (9, 10)] + ["\ufffe", "\uffff"]  # tab and line feed stay
_NEEDS_EXCEL_ESCAPE = r"[\x01-\x08\x0b-\x1f\ufffe\uffff]|_x[0-9A-Fa-f]{4}_"
_EXCEL_ESCAPE = r"(_x[0-9A-Fa-f]{4}_)"  # text that reads as an escape: its underscore is escaped (_x005F)


def column_letters(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


# -- cells written by PostgreSQL -------------------------------------------------------------------------------


def _escaped_sql(text: ColumnElement[str]) -> ColumnElement[str]:
    """XML text as XlsxWriter escaped it (`&`, `<`, `>`; control characters as `_xHHHH_`); a line feed as
    `&#10;`, the same character to any XML reader, so that no row holds a raw line break."""
    escaped = func.replace(func.replace(func.replace(text, "&", "&amp;"), "<", "&lt;"), ">", "&gt;")
    escaped = func.replace(escaped, "\n", "&#10;")
    excel = func.regexp_replace(escaped, _EXCEL_ESCAPE, r"_x005F\1", "g")
    for character in _CONTROL:  # rare: only text that holds one takes this branch
        excel = func.replace(excel, character, f"_x{ord(character):04X}_")
    return case((text.op("~")(_NEEDS_EXCEL_ESCAPE), excel), else_=escaped)


def _cell_sql(column: ExportColumn, letter: str) -> ColumnElement[str] | None:
    """One cell's XML, `''` for no cell; None when SQL cannot write it as the Python rules below would."""
    value, kind = column.expression, column.expression.type
    ref = f'<c r="{letter}{ROW_MARK}"'
    if isinstance(kind, Boolean):
        true, false = constant(f'{ref} t="b"><v>1</v></c>'), constant(f'{ref} t="b"><v>0</v></c>')
        return case((value.is_(True), true), (value.is_(False), false), else_=constant(""))
    if isinstance(kind, Float):  # written as text by the Python rules: float text differs in SQL
        return None
    if isinstance(kind, (Integer, Numeric)):
        style = f' s="{MONEY_STYLE}"' if isinstance(kind, Numeric) else ""
        return func.coalesce(constant(f"{ref}{style}><v>") + cast(value, Text) + constant("</v></c>"), constant(""))
    if isinstance(kind, (DateTime, Date)):
        text: ColumnElement[str] = cast(value, Text)  # digits and separators: nothing to escape
    elif isinstance(kind, String):
        text = _escaped_sql(func.left(csv_sql(column), TEXT_LIMIT))  # neutralised as in the CSV
    else:
        return None
    inline = constant(f'{ref} t="inlineStr"><is><t xml:space="preserve">') + text + constant("</t></is></c>")
    return case((func.coalesce(cast(value, Text), "") == "", constant("")), else_=inline)


def xlsx_row_sql(columns: list[ExportColumn]) -> ColumnElement[str] | None:
    """A row's cells, or None when a column must be written by the Python rules (JSON's test decides)."""
    if any(json_value_sql(c) is None for c in columns):
        return None
    cells = [_cell_sql(c, column_letters(i)) for i, c in enumerate(columns)]
    if any(cell is None for cell in cells):
        return None
    return func.concat(*cells)


# -- cells written here ----------------------------------------------------------------------------------------

_control = re.compile("[" + "".join(_CONTROL) + "]")
_excel_escape = re.compile(_EXCEL_ESCAPE)


def _escaped(text: str) -> str:
    text = _control.sub(lambda m: f"_x{ord(m[0]):04X}_", _excel_escape.sub(r"_x005F\1", text))
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", "&#10;")


def cells(values: Sequence[Any], letters: Sequence[str]) -> bytes:
    """A row's cells from Python values, by the rules the SQL above follows; ends with a line feed, as COPY's."""
    out = []
    for value, letter in zip(values, letters, strict=True):
        ref = f'<c r="{letter}{ROW_MARK}"'
        if value is None:
            continue
        if isinstance(value, bool):
            out.append(f'{ref} t="b"><v>{int(value)}</v></c>')
        elif isinstance(value, int):
            out.append(f"{ref}><v>{value}</v></c>")
        elif isinstance(value, Decimal):
            out.append(f'{ref} s="{MONEY_STYLE}"><v>{value:f}</v></c>')
        elif text := cell_text(value)[:TEXT_LIMIT]:
            out.append(f'{ref} t="inlineStr"><is><t xml:space="preserve">{_escaped(text)}</t></is></c>')
    return ("".join(out) + "\n").encode()


# -- the package -----------------------------------------------------------------------------------------------


class _Sink:
    """Where the zip writes: the writer's outgoing chunks (not seekable: entries carry data descriptors)."""

    def __init__(self, send: Callable[[bytes], None]) -> None:
        self._send = send

    def write(self, data: bytes, /) -> int:
        self._send(data)
        return len(data)

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None


class SheetWriter(CopyWriter):
    """Rows as COPY wrote them (cells with ROW_MARK for their row's number) into a zipped workbook, sent on."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self._out: list[bytes] = []
        self._out_size = 0
        self._zip = zipfile.ZipFile(_Sink(self._send), "w", zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL)
        self._sheets = 0
        self._sheet: IO[bytes] | None = None
        self._line = 0
        self._sheet_bytes = 0
        self._header = b""

    def start(self, columns: list[ExportColumn]) -> None:
        """The package's fixed parts and the first sheet's header row, sent at once: the body's first bytes."""
        letters = [column_letters(i) for i in range(len(columns))]
        header = cells([neutralise_formula(c.name) for c in columns], letters)
        self._header = b'<row r="1">' + header[:-1].replace(ROW_MARK.encode(), b"1") + b"</row>"
        self._zip.writestr("_rels/.rels", ROOT_RELS)
        self._zip.writestr("xl/styles.xml", STYLES)
        self._next_sheet()
        self._send_now()

    def write(self, data: bytes) -> None:  # one row, as COPY wrote it
        if self._line >= SHEET_ROWS or self._sheet_bytes >= SHEET_BYTES:
            self.flush()
            self._next_sheet()
        self.rows += 1
        self._line += 1
        number = b"%d" % self._line
        row = b'<row r="' + number + b'">' + data[:-1].replace(b"\x01", number) + b"</row>"
        self._parts.append(row)
        self._size += len(row)
        self._sheet_bytes += len(row)
        if self._size >= CHUNK_BYTES:
            self.flush()

    def flush(self) -> None:
        """Rows gathered so far into the sheet's compressor."""
        if self._parts and self._sheet is not None:
            self._sheet.write(b"".join(self._parts))
            self._parts, self._size = [], 0

    def finish(self) -> None:
        """The last sheet closed, then the parts that list the sheets, then the zip's directory."""
        self.flush()
        self._close_sheet()
        sheets = range(1, self._sheets + 1)
        self._zip.writestr("xl/workbook.xml", _workbook(sheets))
        self._zip.writestr("xl/_rels/workbook.xml.rels", _workbook_rels(sheets))
        self._zip.writestr("[Content_Types].xml", _content_types(sheets))
        self._zip.close()
        self._send_now()

    def _next_sheet(self) -> None:
        self._close_sheet()
        self._sheets += 1
        self._sheet = self._zip.open(f"xl/worksheets/sheet{self._sheets}.xml", "w")
        self._sheet.write(SHEET_START + self._header)
        self._line, self._sheet_bytes = 1, 0

    def _close_sheet(self) -> None:
        if self._sheet is not None:
            self._sheet.write(SHEET_END)
            self._sheet.close()
            self._sheet = None

    def _send(self, data: bytes) -> None:
        self._out.append(data)
        self._out_size += len(data)
        if self._out_size >= CHUNK_BYTES:
            self._send_now()

    def _send_now(self) -> None:
        if self._out:
            chunk = b"".join(self._out)
            self._out, self._out_size = [], 0
            self.put(chunk)


def _workbook(sheets: range) -> str:
    listed = "".join(f'<sheet name="Sheet{n}" sheetId="{n}" r:id="rId{n}"/>' for n in sheets)
    return f'{_DECLARATION}<workbook xmlns="{_MAIN}" xmlns:r="{_RELS}"><sheets>{listed}</sheets></workbook>'


def _workbook_rels(sheets: range) -> str:
    listed = "".join(
        f'<Relationship Id="rId{n}" Type="{_RELS}/worksheet" Target="worksheets/sheet{n}.xml"/>' for n in sheets
    )
    styles = f'<Relationship Id="rId{len(sheets) + 1}" Type="{_RELS}/styles" Target="styles.xml"/>'
    return f'{_DECLARATION}<Relationships xmlns="{_PACKAGE_RELS}">{listed}{styles}</Relationships>'


def _content_types(sheets: range) -> str:
    office = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    listed = "".join(
        f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{office}.worksheet+xml"/>' for n in sheets
    )
    return (
        f'{_DECLARATION}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{office}.sheet.main+xml"/>{listed}'
        f'<Override PartName="/xl/styles.xml" ContentType="{office}.styles+xml"/></Types>'
    )


def stream_xlsx(
    session_maker: sessionmaker[Session],
    stmt: Select,
    rows_stmt: Select,
    columns: list[ExportColumn],
    model: type[Base],
    done: Callable[[int, bool, BaseException | None], None],
) -> AsyncIterator[bytes]:
    """The XLSX body: its cells by PostgreSQL's COPY when SQL can write them all, else read row by row."""
    row = xlsx_row_sql(columns)
    letters = [column_letters(i) for i in range(len(columns))]

    def fill(writer: SheetWriter) -> int:
        writer.start(columns)
        if row is not None:
            return run_copy(
                session_maker, lambda cursor, dialect: raw_copy_sql(cursor, stmt, row, dialect, model), writer
            )
        for values in stream_rows(session_maker, rows_stmt):
            writer.write(cells(values, letters))
        writer.finish()
        return writer.rows

    return stream_through_queue(fill, SheetWriter, b"", done, "xlsx")
