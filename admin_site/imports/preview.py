"""What the staged rows would do, decided by PostgreSQL for all rows at once: a handful of UPDATEs on the
staging table, never one round trip per row, and nothing written to the shop's tables.

In order: the same key on several rows (all of them refused: which one is meant?); the record each row
matches, with the version it has now; each relation's label resolved to its key (an unknown or ambiguous
label refused); a unique value used twice in the file or by another record; the role's rights (a new record
needs `create`, a changed one `edit`, a value a bulk action sets needs that action, as on the forms); then
each remaining row is a create, an update (some field differs) or unchanged.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Text, and_, case, cast, exists, func, literal, null, or_, select, type_coerce, update
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from admin_site.imports.plan import ImportField, ImportPlan
from admin_site.imports.staging import CREATE, PENDING, REFUSED, UNCHANGED, UPDATE
from models import ImportRow

R = ImportRow.__table__
LABELS_IN_MEMORY = 200_000  # a related table this small has its labels resolved while the file is read


@dataclass(frozen=True)
class Rights:
    """What the role may do here, besides importing: make records, change them, and which values it may not give."""

    noun: str  # "product"
    may_create: bool
    may_edit: bool
    # field → (the values it may not give, as text; the actions that give them; a new record's default, as text)
    withheld: dict[str, tuple[set[str], str, str | None]] = field(default_factory=dict)


def data_key(f: ImportField) -> str:
    """Where a field's value sits in a staged row's `data`: its name, or for a relation its resolved key's column."""
    return f.column.name if f.is_relation else f.name


def staged_value(f: ImportField) -> ColumnElement[Any]:
    """A field's staged text cast to its column's type (what the record would hold)."""
    return cast(R.c.data[data_key(f)].astext, f.column.type)


def _problem(column: str, reason: ColumnElement[str]) -> ColumnElement[Any]:
    """The staged row's problems with one more: {"column": …, "reason": …}."""
    added = func.jsonb_build_array(func.jsonb_build_object("column", literal(column, Text), "reason", reason))
    return type_coerce(func.coalesce(R.c.problems, func.jsonb_build_array()).op("||")(added), JSONB)


def _refuse(session: Session, batch_id: int, column: str, reason: ColumnElement[str], *where: Any) -> None:
    stmt = update(R).where(R.c.batch_id == batch_id, *where).values(outcome=REFUSED, problems=_problem(column, reason))
    session.execute(stmt)


def _reason(*parts: Any) -> ColumnElement[str]:
    """Text made of fixed words (bound parameters) and the row's own values, concatenated in SQL."""
    out: ColumnElement[str] = literal("", Text)
    for part in parts:
        out = out + (literal(part, Text) if isinstance(part, str) else cast(part, Text))
    return out


def classify(
    session: Session, batch_id: int, plan: ImportPlan, rights: Rights, resolved: AbstractSet[str] = frozenset()
) -> dict[str, int]:
    """Decide every staged row's outcome; the counts by outcome (and `rows`). `resolved`: the relations whose
    labels the rows were staged with their keys already (`labels_in_memory`)."""
    table = plan.table
    pk = next(iter(table.primary_key.columns))
    key = plan.key
    _duplicates(session, batch_id, key.name, R.c.key, "", rights)
    key_value = cast(R.c.key, key.column.type)
    # Rows are staged as creates (or refused); the few that match a record are decided below.
    session.execute(
        update(R)
        .where(R.c.batch_id == batch_id, R.c.key.isnot(None), key.column == key_value)
        .values(
            target_pk=pk,
            seen_version=table.c.version if "version" in table.c else null(),
            outcome=case((R.c.outcome == REFUSED, REFUSED), else_=PENDING),
        )
    )
    if plan.key_is_primary:
        _refuse(session, batch_id, key.name, _reason(f"No {rights.noun} has {key.label.lower()} ", R.c.key, "."),
                R.c.key.isnot(None), R.c.target_pk.is_(None))  # fmt: skip
    for f in plan.fields:
        if f.is_relation and f.name not in resolved:
            _resolve_labels(session, batch_id, f)
    for f in plan.unique_fields:
        _duplicates(session, batch_id, f.name, R.c.data[f.name].astext, f"{f.label} ", rights)
        clash = exists().where(f.column == staged_value(f), pk.is_distinct_from(R.c.target_pk))
        _refuse(session, batch_id, f.name,
                _reason(f"Another {rights.noun} already has {f.label.lower()} ", R.c.data[f.name].astext, "."), clash)  # fmt: skip
    _rights(session, batch_id, plan, rights)
    differs = or_(*(f.column.is_distinct_from(staged_value(f)) for f in plan.fields))
    session.execute(
        update(R)
        .where(R.c.batch_id == batch_id, R.c.outcome == PENDING, pk == R.c.target_pk)
        .values(outcome=case((differs, UPDATE), else_=UNCHANGED))
    )
    if not rights.may_edit:
        _refuse(session, batch_id, key.name, literal(f"Your role may not change {rights.noun} records.", Text),
                R.c.outcome == UPDATE)  # fmt: skip
    counted = session.execute(
        select(R.c.outcome, func.count()).where(R.c.batch_id == batch_id).group_by(R.c.outcome)
    ).all()
    counts = dict.fromkeys((CREATE, UPDATE, UNCHANGED, REFUSED), 0)
    counts.update({outcome: int(n) for outcome, n in counted})
    counts["rows"] = sum(counts[o] for o in (CREATE, UPDATE, UNCHANGED, REFUSED))
    return counts


def _duplicates(session: Session, batch_id: int, column: str, value: ColumnElement[Any], what: str, rights: Rights) -> None:  # fmt: skip
    """Every row whose `value` another row of the file has too: refused, naming how many and the first."""
    groups = (
        select(value.label("value"), func.count().label("n"), func.min(R.c.row_number).label("first"))
        .where(R.c.batch_id == batch_id, value.isnot(None))
        .group_by(value)
        .having(func.count() > 1)
        .subquery()
    )
    reason = _reason(what, groups.c.value, " is on ", groups.c.n, " rows of the file (first on row ", groups.c.first,
                     "): only one of them can set it.")  # fmt: skip
    _refuse(session, batch_id, column, reason, value == groups.c.value)


def labels_in_memory(session: Session, plan: ImportPlan) -> dict[str, dict[str, int]]:
    """Each relation's labels → keys, read once, for related tables small enough to hold (categories): the rows
    are then staged with their keys, which spares PostgreSQL rewriting every staged row. A label several rows
    share is left out (refused as ambiguous)."""
    found: dict[str, dict[str, int]] = {}
    for f in plan.fields:
        if not f.is_relation:
            continue
        assert f.label_column is not None and f.related_key is not None
        size = session.execute(select(func.count()).select_from(f.related_key.table)).scalar_one()
        if size > LABELS_IN_MEMORY:
            continue
        pairs = session.execute(
            select(f.label_column, func.min(f.related_key)).group_by(f.label_column).having(func.count() == 1)
        ).all()
        found[f.name] = {str(label): key for label, key in pairs}
    return found


def _resolve_labels(session: Session, batch_id: int, f: ImportField) -> None:
    """`data.category` (a label) → `data.category_id` (its key); an unknown or ambiguous label is refused."""
    assert f.label_column is not None and f.related_key is not None
    resolved = data_key(f)
    labels = (
        select(f.label_column.label("label"), func.min(f.related_key).label("key"))
        .group_by(f.label_column)
        .having(func.count() == 1)
        .subquery()
    )
    given = R.c.data[f.name].astext
    add_key = R.c.data.op("||")(func.jsonb_build_object(literal(resolved), cast(labels.c.key, Text)))
    session.execute(update(R).where(R.c.batch_id == batch_id, given == labels.c.label).values(data=add_key))
    no_key = R.c.data.op("||")(func.jsonb_build_object(literal(resolved), null()))
    session.execute(
        update(R).where(R.c.batch_id == batch_id, R.c.data.has_key(f.name), given.is_(None)).values(data=no_key)
    )
    related = f.label.lower()
    _refuse(session, batch_id, f.name, _reason(f"No {related} is named “", given, "” (or several are)."),
            given.isnot(None), ~R.c.data.has_key(resolved))  # fmt: skip


def _rights(session: Session, batch_id: int, plan: ImportPlan, rights: Rights) -> None:
    """New records need `create` and every required field; values a bulk action sets need that action."""
    table = plan.table
    pk = next(iter(table.primary_key.columns))
    new = and_(R.c.target_pk.is_(None), R.c.key.is_(None) if plan.key_is_primary else R.c.key.isnot(None))
    if not rights.may_create:
        _refuse(session, batch_id, plan.key.name,
                _reason(f"No {rights.noun} has {plan.key.label.lower()} ", func.coalesce(R.c.key, "(empty)"),
                        f", and your role may not create {rights.noun} records."), new)  # fmt: skip
    elif plan.missing_for_create:
        names = ", ".join(plan.missing_for_create)
        _refuse(session, batch_id, plan.key.name,
                literal(f"A new {rights.noun} needs {names}: the file has no such column.", Text), new)  # fmt: skip
    for f in plan.fields:
        if f.name not in rights.withheld:
            continue
        values, named_by, default = rights.withheld[f.name]
        given = R.c.data[f.name].astext
        changed = or_(
            and_(new, given.is_distinct_from(default)),
            exists().where(pk == R.c.target_pk, f.column.is_distinct_from(staged_value(f))),
        )
        reason = _reason(f"{f.label} cannot be set to ", given, f" here: that is what {named_by} does, which your "
                         "role may not do.")  # fmt: skip
        _refuse(session, batch_id, f.name, reason, given.in_(sorted(values)), changed)
