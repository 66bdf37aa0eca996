"""Each row's cells turned into the values a form would post, and checked by the forms' own validators.

The validators are the very ones the create and edit forms get (`forms.validators.column_validators`:
required, lengths, number ranges and decimals, CHECK-derived rules, e-mail syntax, choices), run on each
cell, so an import refuses what a form would, with the same sentence. What needs the database (a related
label, a clash with another record, the role's rights on a matched row) is checked afterwards, for all rows
at once, in SQL (`preview`).

A text cell that an export neutralised (`'=HYPERLINK(…)`, `spreadsheet_safety`) is read back as it was; a
formula is text like any other (never evaluated). Numbers take a decimal comma as well as a point.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import Boolean, Enum, Integer, Numeric
from wtforms.validators import StopValidation, ValidationError

from admin_site.export.spreadsheet_safety import neutralise_formula
from admin_site.forms.validators import InOrderWith, column_validators
from admin_site.imports.plan import ImportField, ImportPlan
from admin_site.imports.problems import RowProblem

TRUE, FALSE = frozenset({"true", "yes", "1", "y", "t"}), frozenset({"false", "no", "0", "n", "f"})
_DECIMAL_COMMA = re.compile(r"^-?\d+,\d+$")
MEMO_SIZE = 20_000  # verdicts remembered per column
Verdict = tuple[tuple[tuple[str, str | None], ...], str | None]  # (what the row's data gets, why refused)


class NotConverted(ValueError):
    """A cell whose text is not a value of its column's type."""


class _Cell:
    """The little of a WTForms field the validators read: data, raw_data, errors."""

    def __init__(self) -> None:
        self.data: Any = None
        self.raw_data: list[str] = []
        self.errors: list[str] = []
        self.flags = type("Flags", (), {})()


class _Row:
    """The little of a WTForms form a validator reads (`_fields`, for rules between two fields)."""

    def __init__(self, cells: dict[str, _Cell]) -> None:
        self._fields = cells


def unneutralised(text: str) -> str:
    """`'=x` as an export wrote `=x` (its apostrophe added by `neutralise_formula`) → `=x`; anything else as is."""
    if text.startswith("'") and neutralise_formula(text[1:]) == text:
        return text[1:]
    return text


def _number(text: str) -> Decimal:
    if _DECIMAL_COMMA.match(text):
        text = text.replace(",", ".")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise NotConverted("Enter a number.") from None
    if not value.is_finite():
        raise NotConverted("Enter a number.")
    return value


def _integer(text: str) -> int:
    value = _number(text)
    if value != value.to_integral_value():
        raise NotConverted("Enter a whole number.")
    if abs(value) >= 10**20:
        raise NotConverted("Enter a smaller number.")
    return int(value)


def _boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered in TRUE:
        return True
    if lowered in FALSE:
        return False
    raise NotConverted("Enter true or false.")


def converter(field: ImportField) -> Callable[[str], Any]:
    """Cell text → the value a form field would hold (a relation keeps its label: resolved in SQL)."""
    if field.is_relation:
        return str
    kind = field.column.type
    if isinstance(kind, Boolean):
        return _boolean
    if isinstance(kind, Integer):
        return _integer
    if isinstance(kind, Numeric):
        return _number
    if isinstance(kind, Enum):
        choices = set(kind.enums)

        def choice(text: str) -> str:
            if text not in choices:
                raise NotConverted(f"Choose one of: {', '.join(kind.enums)}.")
            return text

        return choice
    return unneutralised


def stored_text(value: Any) -> str | None:
    """A checked value as the staging table keeps it (text PostgreSQL casts back to the column's type)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


class RowChecker:
    """Checks rows of one file: built once (validators, converters), then `check(cells)` per row.

    A cell's verdict depends on its text alone (unless a rule compares two fields, as an order's dates do):
    verdicts are remembered per column for the values met so far (a price list repeats its prices, its
    categories, its flags), which halves the time a large file takes. `labels`: a relation's labels → keys
    (`preview.labels_in_memory`), resolved here; a relation not given there is resolved in SQL."""

    def __init__(self, plan: ImportPlan, labels: dict[str, dict[str, int]] | None = None) -> None:
        self.plan = plan
        self.labels = labels or {}
        self.cells = {f.name: _Cell() for f in plan.fields}
        self.form = _Row(self.cells)
        self.steps = [(f, self._converter(f), self._validators(f)) for f in plan.fields]
        between_fields = any(isinstance(v, InOrderWith) for _f, _c, validators in self.steps for v in validators)
        self.memo: dict[str, dict[str | None, Verdict]] | None = (
            None if between_fields else {f.name: {} for f in plan.fields}
        )

    def _converter(self, field: ImportField) -> Callable[[str], Any]:
        known = self.labels.get(field.name)
        if known is None:
            return converter(field)
        related = field.label.lower()

        def key_of(text: str) -> int:
            key = known.get(text)
            if key is None:
                raise NotConverted(f"No {related} is named “{text[:100]}” (or several are).")
            return key

        return key_of

    @staticmethod
    def _validators(field: ImportField) -> list[Any]:
        if field.is_relation:
            if field.column.nullable:
                return []
            return [_Required(f"{field.label} is required.")]
        return column_validators(field.column)

    def _verdict(
        self, field: ImportField, convert: Callable[[str], Any], validators: list[Any], raw: str | None
    ) -> Verdict:
        """What the row's data gets from this cell, or why it is refused."""
        cell = self.cells[field.name]
        cell.errors = []
        cell.raw_data = [raw] if raw is not None else []
        try:
            cell.data = convert(raw) if raw is not None else None
        except NotConverted as error:
            cell.data = None
            return (), str(error)
        reason = _first_refusal(self.form, cell, validators)
        if reason is not None:
            return (), reason
        if field.name in self.labels:  # the label (shown in the preview) and its key (written)
            return ((field.name, raw), (field.column.name, stored_text(cell.data))), None
        return ((field.name, stored_text(cell.data)),), None

    def check(self, cells: list[str | None]) -> tuple[str | None, dict[str, str | None], list[RowProblem]]:
        """(the matching key as text, the values by field name as text, the problems: empty when the row is fine)."""
        problems: list[RowProblem] = []
        values: dict[str, str | None] = {}
        width = len(cells)
        memo = self.memo
        if memo is None:  # a rule between fields: every cell converted first, then checked
            return self._check_together(cells)
        for field, convert, validators in self.steps:
            raw = cells[field.index] if field.index < width else None
            seen = memo[field.name]
            verdict = seen.get(raw)
            if verdict is None:
                verdict = self._verdict(field, convert, validators, raw)
                if len(seen) < MEMO_SIZE:
                    seen[raw] = verdict
            pairs, reason = verdict
            if reason is None:
                values.update(pairs)
            else:
                problems.append(RowProblem(field.name, reason))
        return self._key(cells, values, problems), values, problems

    def _check_together(self, cells: list[str | None]) -> tuple[str | None, dict[str, str | None], list[RowProblem]]:
        problems: list[RowProblem] = []
        values: dict[str, str | None] = {}
        width = len(cells)
        failed: set[str] = set()
        for field, convert, _validators in self.steps:
            raw = cells[field.index] if field.index < width else None
            cell = self.cells[field.name]
            cell.errors, cell.raw_data = [], [raw] if raw is not None else []
            try:
                cell.data = convert(raw) if raw is not None else None
            except NotConverted as error:
                cell.data = None
                problems.append(RowProblem(field.name, str(error)))
                failed.add(field.name)
        for field, _convert, validators in self.steps:
            if field.name in failed:
                continue
            reason = _first_refusal(self.form, self.cells[field.name], validators)
            if reason is not None:
                problems.append(RowProblem(field.name, reason))
                continue
            data = self.cells[field.name].data
            if field.name in self.labels:
                values[field.name] = cells[field.index] if field.index < width else None
                values[field.column.name] = stored_text(data)
            else:
                values[field.name] = stored_text(data)
        return self._key(cells, values, problems), values, problems

    def _key(self, cells: list[str | None], values: dict[str, str | None], problems: list[RowProblem]) -> str | None:
        key = self.plan.key
        if not self.plan.key_is_primary:
            return values.get(key.name)
        raw = cells[key.index] if key.index < len(cells) else None
        if raw is None:
            return None  # a new record
        try:
            number = _integer(raw)
        except NotConverted:
            problems.append(RowProblem(key.name, f"“{raw[:40]}” is not the {key.label.lower()} of a record."))
            return None
        return str(number)


def _first_refusal(form: _Row, cell: _Cell, validators: list[Any]) -> str | None:
    for validator in validators:
        try:
            validator(form, cell)
        except StopValidation as stop:
            return str(stop.args[0]) if stop.args and stop.args[0] else None
        except ValidationError as error:
            return str(error.args[0]) if error.args else "This value is not valid."
    return None


class _Required:
    """A relation's cell must name a record (the form's "Choose one.", in the import's words)."""

    def __init__(self, message: str) -> None:
        self.message = message

    def __call__(self, form: _Row, field: _Cell) -> None:
        if field.data is None:
            raise StopValidation(self.message)
