"""What a table's CHECK constraints say, read from their SQL text (the simple forms only).

The database stays the authority; this reading lets the forms refuse the same values first, with
the same sentence the database refusal would get (see `form_rules` and `constraint_messages`).
Understood forms, with `x` a column and `a`, `b` numbers:

    x > a   x >= a   x < a   x <= a   (and a < x ...)   x BETWEEN a AND b
    x >= a AND x <= b   (any conjunction of the above)
    x >= y  (two columns: y is the lower bound of x)   x IN ('p', 'q')

Anything else yields no rule: the form lets it through and the database decides.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Any

from sqlalchemy import CheckConstraint, Date, DateTime, Table
from sqlalchemy.dialects import postgresql

from admin_site.naming import humanise

NUMBER = r"-?\d+(?:\.\d+)?"
NAME = r'(?:\w+\.)?"?(\w+)"?'  # `price`, `orders.status`, `"price"`
OPS = {">": operator.gt, ">=": operator.ge, "<": operator.lt, "<=": operator.le}
FLIPPED = {">": "<", ">=": "<=", "<": ">", "<=": ">="}

_COMPARE = re.compile(rf"^{NAME}\s*(>=|<=|>|<)\s*({NUMBER})$")
_COMPARE_REVERSED = re.compile(rf"^({NUMBER})\s*(>=|<=|>|<)\s*{NAME}$")
_BETWEEN = re.compile(rf"^{NAME}\s+BETWEEN\s+({NUMBER})\s+AND\s+({NUMBER})$", re.IGNORECASE)
_COLUMNS = re.compile(rf"^{NAME}\s*(>=|<=|>|<)\s*{NAME}$")
_IN = re.compile(rf"^{NAME}\s+IN\s*\((.*)\)$", re.IGNORECASE | re.DOTALL)
_AND = re.compile(r"\s+AND\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Bound:
    """`column op value`, e.g. price > 0."""

    column: str
    op: str
    value: Decimal

    def holds(self, x: Decimal | float | str) -> bool:
        return OPS[self.op](Decimal(x), self.value)


@dataclass(frozen=True)
class ColumnOrder:
    """`column op other`, e.g. shipped_at >= placed_at."""

    column: str
    op: str
    other: str

    def holds(self, x: Any, y: Any) -> bool:  # two values of the form (numbers, dates, …)
        return OPS[self.op](x, y)


@dataclass(frozen=True)
class OneOf:
    column: str
    values: tuple[str, ...]


Rule = Bound | ColumnOrder | OneOf


@dataclass(frozen=True)
class CheckRules:
    """One CHECK constraint: the columns it concerns, its rules, and what to tell the user."""

    name: str
    columns: tuple[str, ...]
    rules: tuple[Rule, ...]
    message: str


def _strip_parens(sql: str) -> str:
    sql = sql.strip()
    while sql.startswith("(") and sql.endswith(")") and _balanced(sql[1:-1]):
        sql = sql[1:-1].strip()
    return sql


def _balanced(sql: str) -> bool:
    depth = 0
    for char in sql:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            return False
    return depth == 0


def _number(raw: str) -> Decimal:
    return Decimal(raw)


def parse(sql: str, column_names: set[str]) -> tuple[Rule, ...] | None:
    """The rules of a CHECK's SQL text, or None when any part is not one of the simple forms."""
    sql = _strip_parens(sql)
    between = _BETWEEN.match(sql)
    if between:
        name, low, high = between.groups()
        if name not in column_names:
            return None
        return (Bound(name, ">=", _number(low)), Bound(name, "<=", _number(high)))
    rules: list[Rule] = []
    for part in _AND.split(sql):
        rule = _parse_one(_strip_parens(part), column_names)
        if rule is None:
            return None
        rules.append(rule)
    return tuple(rules) or None


def _parse_one(sql: str, column_names: set[str]) -> Rule | None:
    if m := _COMPARE.match(sql):
        name, op, value = m.groups()
        return Bound(name, op, _number(value)) if name in column_names else None
    if m := _COMPARE_REVERSED.match(sql):
        value, op, name = m.groups()
        return Bound(name, FLIPPED[op], _number(value)) if name in column_names else None
    if m := _COLUMNS.match(sql):
        name, op, other = m.groups()
        if name in column_names and other in column_names:
            return ColumnOrder(name, op, other)
        return None
    if m := _IN.match(sql):
        name, inner = m.groups()
        values = re.findall(r"'((?:[^']|'')*)'", inner)
        if name in column_names and values:
            return OneOf(name, tuple(v.replace("''", "'") for v in values))
    return None


def sql_text(constraint: CheckConstraint) -> str:
    return str(constraint.sqltext.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))


def _fmt(value: Decimal) -> str:
    return format(value.normalize(), "f") if value == value.to_integral() else format(value, "f")


def label(table: Table, column: str) -> str:
    """ "Discount %", and for a foreign key the thing it points at: customer_id → "Customer"."""
    col = table.c.get(column)
    if col is not None and col.foreign_keys and column.endswith("_id"):
        return humanise(column.removesuffix("_id"))
    return humanise(column)


def _is_time(table: Table, column: str) -> bool:
    col = table.c.get(column)
    return col is not None and isinstance(col.type, (Date, DateTime))


def bound_message(table: Table, column: str, bounds: list[Bound]) -> str:
    """One sentence for all the bounds on a column: "Discount % must be between 0 and 100."."""
    what = label(table, column)
    lows = [b for b in bounds if b.op in (">", ">=")]
    highs = [b for b in bounds if b.op in ("<", "<=")]
    if len(lows) == 1 and len(highs) == 1 and lows[0].op == ">=" and highs[0].op == "<=":
        return f"{what} must be between {_fmt(lows[0].value)} and {_fmt(highs[0].value)}."
    parts = []
    for b in lows + highs:
        if b.op == ">=" and b.value == 0:
            parts.append("cannot be negative")
        else:
            words = {">": "greater than", ">=": "at least", "<": "less than", "<=": "at most"}[b.op]
            parts.append(f"must be {words} {_fmt(b.value)}")
    return f"{what} {' and '.join(parts)}."


def order_message(table: Table, rule: ColumnOrder) -> str:
    what, other = label(table, rule.column), label(table, rule.other).lower()
    if _is_time(table, rule.column):
        words = {">=": "cannot be before", ">": "must be after", "<=": "cannot be after", "<": "must be before"}
    else:
        words = {">=": "cannot be less than", ">": "must be greater than", "<=": "cannot be more than",
                 "<": "must be less than"}  # fmt: skip
    return f"{what} {words[rule.op]} {other}."


def choice_message(table: Table, rule: OneOf) -> str:
    return f"{label(table, rule.column)} must be one of: {', '.join(rule.values)}."


def _message(table: Table, rules: tuple[Rule, ...]) -> str:
    sentences: list[str] = []
    by_column: dict[str, list[Bound]] = {}
    for rule in rules:
        if isinstance(rule, Bound):
            by_column.setdefault(rule.column, []).append(rule)
        elif isinstance(rule, ColumnOrder):
            sentences.append(order_message(table, rule))
        else:
            sentences.append(choice_message(table, rule))
    sentences[:0] = [bound_message(table, column, bounds) for column, bounds in by_column.items()]
    return " ".join(sentences)


def _columns_in(sql: str, column_names: set[str]) -> tuple[str, ...]:
    words = re.findall(r"[A-Za-z_]\w*", re.sub(r"'(?:[^']|'')*'", "", sql))
    return tuple(dict.fromkeys(w for w in words if w in column_names))


def read(table: Table, constraint: CheckConstraint) -> CheckRules:
    """Everything one CHECK constraint says; `rules` is empty when its text is not understood."""
    names = {c.name for c in table.columns}
    sql = sql_text(constraint)
    rules = parse(sql, names) or ()
    columns = tuple(dict.fromkeys(c for r in rules for c in (r.column, getattr(r, "other", None)) if c))
    columns = columns or _columns_in(sql, names)
    message = _message(table, rules) if rules else "A value breaks one of the rules for this record."
    return CheckRules(str(constraint.name), columns, rules, message)


@cache
def table_checks(table: Table) -> tuple[CheckRules, ...]:
    return tuple(read(table, c) for c in table.constraints if isinstance(c, CheckConstraint))


def rules_for(table: Table, column: str) -> list[tuple[CheckRules, Rule]]:
    """(constraint, rule) pairs whose rule constrains `column` (as the left-hand side)."""
    return [(check, rule) for check in table_checks(table) for rule in check.rules if rule.column == column]


def find(name: str, tables: Iterable[Table]) -> tuple[Table, CheckRules] | None:
    for table in tables:
        for check in table_checks(table):
            if check.name == name:
                return table, check
    return None
