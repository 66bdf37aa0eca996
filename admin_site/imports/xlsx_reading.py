"""The first sheet of an XLSX workbook as rows of text, read as a stream, defended against hostile files.

Why not openpyxl: in read-only mode it took 23 s for 100,000 rows of ten cells on the development machine
(the import's budget for a whole preview is 20 s); this reader parses the sheet's XML with expat as it is
inflated, about ten times faster, and keeps nothing but the current row and the shared strings.

Defences, all before or while reading, never after:
- the zip directory is read first: too many entries, a member whose declared size is over the limit, or
  one compressed more than `MAX_RATIO` times (a zip bomb) refuse the file before anything is inflated; the
  declared size also bounds what is inflated (zipfile stops a member at its declared size and checks its CRC);
- the XML parser refuses any DOCTYPE (no entities: no "billion laughs", no external entity);
- a declared dimension or a row number beyond `max_rows`, or a cell beyond `MAX_COLUMNS`, refuses the file
  (no list is ever sized from what the file claims);
- formulas are never evaluated: a formula cell is read as its text (`=SUM(A1:A9)`), never its cached result.
"""

from __future__ import annotations

import io
import posixpath
import re
import zipfile
from collections.abc import Callable, Iterator
from typing import IO, Any
from xml.parsers import expat

from admin_site.imports.problems import FileRefused

MAX_ENTRIES = 1000  # a workbook from Excel or LibreOffice has a few dozen
MAX_RATIO = 200  # deflated text of a real sheet shrinks 5–20 times; zip bombs, thousands
MAX_COLUMNS = 200  # columns read from a row; a cell further right refuses the file
CHUNK = 64 * 1024

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CELL_REF = re.compile(r"^([A-Z]{1,3})(\d{1,7})$")
_EXCEL_ESCAPE = re.compile(r"_x([0-9A-Fa-f]{4})_")
NOT_A_WORKBOOK = "This file is not a readable XLSX workbook (a CSV in UTF-8 or an XLSX file is expected)."


def column_index(letters: str) -> int:
    """A → 0, Z → 25, AA → 26."""
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1


def _unescape(text: str) -> str:
    """Excel's `_xHHHH_` escapes of control characters (and of text that looks like one)."""
    return _EXCEL_ESCAPE.sub(lambda m: chr(int(m[1], 16)), text) if "_x" in text else text


def _number_text(raw: str) -> str:
    """A number cell as text. Older Excel writes 19.99 as 19.989999999999998: what Excel shows (15
    significant digits) is what the person typed."""
    digits = sum(ch.isdigit() for ch in raw)
    if digits <= 15:
        return raw
    try:
        return format(float(raw), ".15g")
    except ValueError:
        return raw


def _parser(start: Callable[..., None], end: Callable[[str], None], text: Callable[[str], None]) -> Any:
    parser = expat.ParserCreate(namespace_separator=" ")

    def no_doctype(*_: Any) -> None:
        raise FileRefused("This workbook declares a DOCTYPE, which a spreadsheet never does: it was not read.")

    parser.StartDoctypeDeclHandler = no_doctype
    parser.EntityDeclHandler = no_doctype
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    parser.buffer_text = True
    return parser


def _parse(stream: IO[bytes], parser: Any) -> Iterator[None]:
    """Feed `stream` to `parser` chunk by chunk, yielding after each so the caller can take the rows."""
    try:
        while chunk := stream.read(CHUNK):
            parser.Parse(chunk, False)
            yield
        parser.Parse(b"", True)
        yield
    except expat.ExpatError:
        raise FileRefused(NOT_A_WORKBOOK + " Its XML is broken.") from None
    except (zipfile.BadZipFile, OSError, EOFError):
        raise FileRefused(NOT_A_WORKBOOK + " Its zip data is damaged.") from None


class XlsxRows:
    """`rows()` yields (row number, cells as text or None) for the first sheet."""

    def __init__(self, source: IO[bytes], *, max_bytes: int, max_rows: int) -> None:
        self.max_rows = max_rows
        try:
            self.zip = zipfile.ZipFile(source)
        except (zipfile.BadZipFile, OSError, EOFError):
            raise FileRefused(NOT_A_WORKBOOK) from None
        self._check_directory(max_bytes)
        self.sheet = self._first_sheet()
        self.shared = self._shared_strings()

    def _check_directory(self, max_bytes: int) -> None:
        entries = self.zip.infolist()
        if len(entries) > MAX_ENTRIES:
            raise FileRefused(f"This workbook holds {len(entries):,} parts, more than a spreadsheet has: not read.")
        unpacked = 10 * max_bytes  # what the sheet's XML may grow to from an upload of the largest size
        total = 0
        for entry in entries:
            total += entry.file_size
            ratio = entry.file_size / max(entry.compress_size, 1)
            if entry.file_size > unpacked or total > unpacked or (entry.file_size > 1_000_000 and ratio > MAX_RATIO):
                raise FileRefused(
                    "This workbook unpacks to far more than its size (a “zip bomb”, or a sheet too large to "
                    "import): it was not read."
                )
            if entry.flag_bits & 0x1:
                raise FileRefused("This workbook is encrypted: save it without a password and upload it again.")

    def _read_small(self, name: str) -> bytes | None:
        try:
            return self.zip.read(name)
        except KeyError:
            return None
        except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError):
            raise FileRefused(NOT_A_WORKBOOK + " Its zip data is damaged.") from None

    def _first_sheet(self) -> str:
        """The part name of the workbook's first sheet (by the workbook's order, through its relationships)."""
        workbook, rels = self._read_small("xl/workbook.xml"), self._read_small("xl/_rels/workbook.xml.rels")
        if workbook is None:
            raise FileRefused(NOT_A_WORKBOOK + " It has no workbook part.")
        sheets: list[str] = []
        targets: dict[str, str] = {}

        def start(name: str, attrs: dict[str, str]) -> None:
            if name == f"{_MAIN} sheet":
                sheets.append(attrs.get(f"{_REL} id", ""))
            elif name == f"{_PKG_REL} Relationship":
                targets[attrs.get("Id", "")] = attrs.get("Target", "")

        for data in (workbook, rels or b""):
            if data:
                for _ in _parse(io.BytesIO(data), _parser(start, lambda _n: None, lambda _t: None)):
                    pass
        if not sheets:
            raise FileRefused("This workbook has no sheet.")
        target = targets.get(sheets[0], "worksheets/sheet1.xml")
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        return path

    def _shared_strings(self) -> list[str]:
        """The workbook's shared strings (a cell of type "s" names one by index); bounded by the directory check."""
        try:
            stream = self.zip.open("xl/sharedStrings.xml")
        except KeyError:
            return []
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError):
            raise FileRefused(NOT_A_WORKBOOK + " Its zip data is damaged.") from None
        strings: list[str] = []
        parts: list[str] = []
        state = {"in_t": False, "in_phonetic": False}

        def start(name: str, _attrs: dict[str, str]) -> None:
            if name == f"{_MAIN} t" and not state["in_phonetic"]:
                state["in_t"] = True
            elif name == f"{_MAIN} rPh":
                state["in_phonetic"] = True

        def end(name: str) -> None:
            if name == f"{_MAIN} t":
                state["in_t"] = False
            elif name == f"{_MAIN} rPh":
                state["in_phonetic"] = False
            elif name == f"{_MAIN} si":
                strings.append(_unescape("".join(parts)))
                parts.clear()

        def text(data: str) -> None:
            if state["in_t"]:
                parts.append(data)

        with stream:
            for _ in _parse(stream, _parser(start, end, text)):
                pass
        return strings

    def rows(self) -> Iterator[tuple[int, list[str | None]]]:
        try:
            stream = self.zip.open(self.sheet)
        except KeyError:
            raise FileRefused(NOT_A_WORKBOOK + " Its first sheet is missing.") from None
        except (zipfile.BadZipFile, OSError, RuntimeError, NotImplementedError):
            raise FileRefused(NOT_A_WORKBOOK + " Its zip data is damaged.") from None
        reader = _SheetReader(self.shared, self.max_rows)
        with stream:
            for _ in _parse(stream, _parser(reader.start, reader.end, reader.text)):
                yield from reader.take()


class _SheetReader:
    """expat handlers for a sheet: rows as they are completed, cells by their column letters."""

    def __init__(self, shared: list[str], max_rows: int) -> None:
        self.shared, self.max_rows = shared, max_rows
        self.done: list[tuple[int, list[str | None]]] = []
        self.row: list[str | None] = []
        self.row_number = 0
        self.cell_type = ""
        self.column = 0
        self.value: list[str] = []
        self.formula: list[str] = []
        self.collect: list[str] | None = None

    def take(self) -> list[tuple[int, list[str | None]]]:
        done, self.done = self.done, []
        return done

    def start(self, name: str, attrs: dict[str, str]) -> None:
        local = name.rpartition(" ")[2]
        if local == "c":
            self._start_cell(attrs)
        elif local in ("v", "t") and self.collect is None:
            self.collect = self.value
        elif local == "f":
            self.collect = self.formula
        elif local == "row":
            self.row_number = self._row_number(attrs.get("r"))
            self.row = []
        elif local == "dimension":
            self._check_dimension(attrs.get("ref", ""))

    def _row_number(self, raw: str | None) -> int:
        number = int(raw) if raw and raw.isdigit() else self.row_number + 1
        if number > self.max_rows + 1 or number > 1_048_576:
            raise FileRefused(f"This sheet has rows past row {self.max_rows + 1:,}: at most {self.max_rows:,} rows are imported at once.")  # fmt: skip
        return number

    def _check_dimension(self, ref: str) -> None:
        last = ref.rpartition(":")[2]
        match = _CELL_REF.match(last)
        if match and int(match[2]) > self.max_rows + 1:
            raise FileRefused(
                f"This sheet declares {int(match[2]):,} rows: at most {self.max_rows:,} rows are imported at once."
            )

    def _start_cell(self, attrs: dict[str, str]) -> None:
        ref = attrs.get("r")
        match = _CELL_REF.match(ref) if ref else None
        self.column = column_index(match[1]) if match else len(self.row)
        if self.column >= MAX_COLUMNS:
            raise FileRefused(f"This sheet has cells past column {MAX_COLUMNS}: not a table of records.")
        self.cell_type = attrs.get("t", "n")
        self.value, self.formula = [], []
        self.collect = None

    def end(self, name: str) -> None:
        local = name.rpartition(" ")[2]
        if local in ("v", "t", "f"):
            self.collect = None
        elif local == "c":
            self._end_cell()
        elif local == "row":
            self.done.append((self.row_number, self.row))

    def _end_cell(self) -> None:
        value: str | None
        if self.formula:
            value = "=" + "".join(self.formula)  # never evaluated, never its cached result
        else:
            raw = "".join(self.value)
            kind = self.cell_type
            if kind == "s":
                index = int(raw) if raw.isdigit() else -1
                value = self.shared[index] if 0 <= index < len(self.shared) else None
            elif kind == "b":
                value = {"1": "true", "0": "false"}.get(raw, raw)
            elif kind in ("inlineStr", "str"):
                value = _unescape(raw)
            elif kind == "e":
                value = raw  # "#DIV/0!": refused by whichever column cannot hold it
            else:
                value = _number_text(raw) if raw else None
        if value is None or value == "":
            return
        while len(self.row) < self.column:
            self.row.append(None)
        if len(self.row) == self.column:
            self.row.append(value)
        else:
            self.row[self.column] = value

    def text(self, data: str) -> None:
        if self.collect is not None:
            self.collect.append(data)
