"""One exported cell, the same in every format: NULL empty (JSON null), decimals exact (their digits,
never a float), times in UTC, booleans true/false, text a spreadsheet would run as a formula neutralised
(in Python for JSON and XLSX, and by the same rule in SQL for the CSV that PostgreSQL's COPY writes)."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, literal, or_
from sqlalchemy.sql.elements import ColumnElement

from admin_site.export.query import ExportColumn
from admin_site.export.spreadsheet_safety import FORMULA_STARTS, LEADING_SPACE, neutralise_formula


def timestamp_text(value: datetime) -> str:
    """As PostgreSQL writes a timestamp in UTC (ISO DateStyle): `2025-03-01 12:00:00.5+00`."""
    aware = value.tzinfo is not None
    if aware:
        value = value.astimezone(UTC)
    text = value.strftime("%Y-%m-%d %H:%M:%S")
    if value.microsecond:
        text += f".{value.microsecond:06d}".rstrip("0")
    return text + "+00" if aware else text


def cell_text(value: Any) -> str:
    """A value as CSV/XLSX text: NULL empty, exact decimals, UTC times, formulas neutralised."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, str):
        return neutralise_formula(value)
    return _exact_text(value)


def _exact_text(value: Any) -> str:
    """Decimals as their digits, times in UTC, dates in ISO form: the same in every format."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime):
        return timestamp_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def json_value(value: Any) -> Any:
    """JSON keeps numbers exact as strings of their digits, times as in CSV, and text as it is."""
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, enum.Enum):
        return json_value(value.value)
    if isinstance(value, (dict, list)):
        return value
    return _exact_text(value)


def _neutralised_sql(expression: ColumnElement[Any]) -> ColumnElement[Any]:
    """`neutralise_formula` in SQL: a leading ' on text a spreadsheet would read as a formula."""
    starts = sorted(FORMULA_STARTS)
    first = func.left(expression, 1)
    after_space = func.left(func.ltrim(expression, literal(LEADING_SPACE)), 1)
    risky = or_(first.in_(starts), after_space.in_(starts))
    return case((risky, literal("'") + expression), else_=expression)


def csv_sql(column: ExportColumn) -> ColumnElement[Any]:
    """The column as the CSV cell `cell_text` would write (the COPY runs with TimeZone UTC)."""
    expression = column.expression
    if column.kind == "text":
        return _neutralised_sql(expression)
    if column.kind == "bool":
        return case((expression.is_(True), literal("true")), (expression.is_(False), literal("false")))
    return expression


def csv_header(columns: list[ExportColumn]) -> bytes:
    return (",".join(_csv_quote(neutralise_formula(c.name)) for c in columns) + "\n").encode()


def _csv_quote(text: str) -> str:
    if any(ch in text for ch in ',"\n\r'):
        return '"' + text.replace('"', '""') + '"'
    return text
