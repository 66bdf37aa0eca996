"""What the import's pages show: the columns a file may have, and the preview read back from the staging table
(counts, the refused rows with their row, column and reason, the first changes before → after, the first new
records), in a few statements whatever the file's size."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Text, func, select, true
from sqlalchemy import column as sql_column
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Session

from admin_site.export.spreadsheet_safety import neutralise_formula
from admin_site.formatting import money_formatter
from admin_site.forms.writes import show
from admin_site.imports.plan import ImportField, ImportPlan
from admin_site.imports.preview import R, staged_value
from admin_site.imports.staging import CREATE, REFUSED, UPDATE
from models import ImportBatch

SHOWN_REFUSALS = 200  # refused rows listed; the count says how many in all
SHOWN_CHANGES = 20
SHOWN_NEW = 10


@dataclass(frozen=True)
class Refusal:
    row: int
    column: str
    reason: str


@dataclass(frozen=True)
class Change:
    field: str
    before: str
    after: str


@dataclass(frozen=True)
class ChangedRow:
    row: int
    key: str
    changes: list[Change]


def now() -> datetime:
    return datetime.now(UTC)


def when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def expected_columns(view: Any) -> list[str]:
    """The columns an import reads: the key, then the form's fields (in the order an export writes them)."""
    pk_name = sa_inspect(view.model).get_property_by_column(sa_inspect(view.model).primary_key[0]).key
    listed = [n for n in view._list_prop_names if n in view._form_prop_names]
    rest = [n for n in view._form_prop_names if n not in listed]
    return [pk_name, *listed, *rest]


def summary(view: Any, done: Any) -> str:
    """The confirmation's message, e.g. Imported: 3 created, 12 updated, 85 unchanged (products)."""
    noun = str(view.name_plural).lower() if done.created + done.updated != 1 else str(view.name).lower()
    return f"Imported: {done.created:,} created, {done.updated:,} updated, {done.unchanged:,} unchanged ({noun})."


def preview_context(session: Session, batch: ImportBatch, plan: ImportPlan, view: Any) -> dict[str, Any]:
    counts = dict(batch.counts)
    context: dict[str, Any] = {
        "counts": counts,
        "ignored": counts.get("ignored", []),
        "key": batch.key_column,
        "applied_at": when(batch.applied_at) if batch.applied_at else None,
        "refusals": [],
        "changed_rows": [],
        "new_rows": [],
        "fields": [f.name for f in plan.fields],
    }
    if batch.applied_at is not None:
        return context
    context["refusals"] = _refusals(session, batch.id)
    money = money_formatter(view.formats.currency, view.formats.locale)
    context["changed_rows"] = _changes(session, batch.id, plan, money)
    context["new_rows"] = _new_rows(session, batch.id, plan, money)
    return context


def _refusals(session: Session, batch_id: int) -> list[Refusal]:
    rows = session.execute(
        select(R.c.row_number, R.c.problems)
        .where(R.c.batch_id == batch_id, R.c.outcome == REFUSED)
        .order_by(R.c.row_number)
        .limit(SHOWN_REFUSALS)
    ).all()
    return [
        Refusal(number, p.get("column", ""), p.get("reason", "")) for number, problems in rows for p in problems or []
    ]


def _text(f: ImportField, value: Any, money: Callable[[Decimal], str]) -> str:
    """A value as the preview shows it: amounts of money in the admin's currency, the rest as the conflict table does."""
    if value not in (None, "") and f.column.info.get("money"):
        with suppress(ArithmeticError):  # not an amount: shown as it is
            return money(Decimal(str(value)))
    return show(value)


def _changes(session: Session, batch_id: int, plan: ImportPlan, money: Callable[[Decimal], str]) -> list[ChangedRow]:
    pk = next(iter(plan.table.primary_key.columns))
    columns: list[Any] = []
    for f in plan.fields:
        before: Any
        if f.is_relation:
            assert f.label_column is not None and f.related_key is not None
            before = select(f.label_column).where(f.related_key == f.column).scalar_subquery()
            after = R.c.data[f.name].astext
        else:
            before, after = f.column, staged_value(f)
        columns += [before, after, f.column.is_distinct_from(staged_value(f))]
    rows = session.execute(
        select(R.c.row_number, R.c.key, *columns)
        .join(plan.table, pk == R.c.target_pk)
        .where(R.c.batch_id == batch_id, R.c.outcome == UPDATE)
        .order_by(R.c.row_number)
        .limit(SHOWN_CHANGES)
    ).all()
    out = []
    for number, key, *values in rows:
        changes = [
            Change(f.name, _text(f, values[3 * i], money), _text(f, values[3 * i + 1], money))
            for i, f in enumerate(plan.fields)
            if values[3 * i + 2]
        ]
        out.append(ChangedRow(number, key or "", changes))
    return out


def _new_rows(
    session: Session, batch_id: int, plan: ImportPlan, money: Callable[[Decimal], str]
) -> list[tuple[int, list[str]]]:
    rows = session.execute(
        select(R.c.row_number, R.c.data)
        .where(R.c.batch_id == batch_id, R.c.outcome == CREATE)
        .order_by(R.c.row_number)
        .limit(SHOWN_NEW)
    ).all()
    return [(number, [_text(f, data.get(f.name), money) for f in plan.fields]) for number, data in rows]


def refusal_csv(session_maker: Any, batch_id: int) -> Iterator[bytes]:
    """Every refused row of the batch as CSV (row, column, reason), read in chunks: the preview lists the first
    200, this gives them all. Reasons quote the file's values: text a spreadsheet would run is neutralised."""
    problem = (
        func.jsonb_to_recordset(R.c.problems)
        .table_valued(sql_column("column", Text), sql_column("reason", Text))
        .render_derived(with_types=True)
    )
    stmt = (
        select(R.c.row_number, problem.c.column, problem.c.reason)
        .select_from(R.join(problem, true()))
        .where(R.c.batch_id == batch_id, R.c.outcome == REFUSED)
        .order_by(R.c.row_number)
        .execution_options(yield_per=2000)
    )
    yield b"row,column,reason\r\n"
    with session_maker() as session:
        for rows in session.execute(stmt).partitions():
            out = io.StringIO()
            writer = csv.writer(out)
            writer.writerows(
                [number, neutralise_formula(column or ""), neutralise_formula(reason or "")]
                for number, column, reason in rows
            )
            yield out.getvalue().encode()
