"""What a file's header means for a view: the column rows are matched by, the fields it sets, what it ignores.

The header names the view's form fields, as an export writes them (`price`, `category`), so an export
edited in a spreadsheet imports again. A relation (`category`) is given by the related row's label, as the
export shows it (the category's name). Rows are matched by the view's `import_key` (a unique column:
products by `sku`) when the file has that column, else by the primary key (`id`: an empty id makes a new
record). Listed columns that are not form fields (`margin`, `created_at`) are read-only: ignored, and the
preview says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Table, UniqueConstraint
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import RelationshipDirection

from admin_site.forms.check_rules import label as column_label
from admin_site.imports.problems import FileRefused
from admin_site.lists.query import resolve


@dataclass(frozen=True)
class ImportField:
    name: str  # the form field, as the header names it
    index: int  # its position in each row
    column: Column[Any]  # the table column it writes (a relation: its foreign key)
    label: str  # as messages name it: "Price", "Category"
    label_column: Column[Any] | None = None  # a relation: the related row's label column …
    related_key: Column[Any] | None = None  # … and its primary key

    @property
    def is_relation(self) -> bool:
        return self.label_column is not None


@dataclass(frozen=True)
class ImportPlan:
    table: Table
    key: ImportField  # what rows are matched by
    key_is_primary: bool
    fields: tuple[ImportField, ...]  # what the file sets (the key too, when it is a unique column)
    ignored: tuple[str, ...]  # header names that set nothing
    missing_for_create: tuple[str, ...]  # required fields the file lacks: a new record cannot be made

    @property
    def unique_fields(self) -> tuple[ImportField, ...]:
        """Fields whose column is unique on its own, besides the key: checked within the file and the table."""
        single = {
            c.columns[0].name for c in self.table.constraints if isinstance(c, UniqueConstraint) and len(c.columns) == 1
        }
        single |= {c.name for c in self.table.columns if c.unique}
        return tuple(f for f in self.fields if f.column.name in single and f.column is not self.key.column)


class PlannedView:
    """What a plan reads from a view (a ShopView): its model, form fields and import key."""

    model: Any
    import_key: str | None
    _form_prop_names: list[str]


def plan_for(view: Any, header: list[str]) -> ImportPlan:
    """The plan for a file with this header; FileRefused when rows could not be matched or nothing is set."""
    mapper = sa_inspect(view.model)
    table: Table = view.model.__table__
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise FileRefused(f"The column “{name}” appears twice in the header: which one is meant?")
        seen.add(name)
    pk = mapper.primary_key[0]
    pk_name = mapper.get_property_by_column(pk).key
    fields: list[ImportField] = []
    ignored: list[str] = []
    for index, name in enumerate(header):
        field = _field(view, mapper, table, name, index)
        if field is not None:
            fields.append(field)
        elif name != pk_name:
            ignored.append(name)
    key_name = view.import_key if view.import_key in header else pk_name
    if key_name not in header:
        wanted = f"“{view.import_key}” or “{pk_name}”" if view.import_key else f"“{pk_name}”"
        raise FileRefused(f"The file has no {wanted} column, so its rows cannot be matched to records.")
    key_is_primary = key_name == pk_name
    if key_is_primary:
        key = ImportField(pk_name, header.index(pk_name), pk, column_label(table, pk.name))
    else:
        key = next(f for f in fields if f.name == key_name)
    if not [f for f in fields if f.name != key_name]:
        raise FileRefused("The file has no column this import can set: its header should name the form's fields.")
    given = {f.name for f in fields}
    missing = tuple(name for name in view._form_prop_names if name not in given and _required(mapper, name))
    return ImportPlan(table, key, key_is_primary, tuple(fields), tuple(ignored), missing)


def _field(view: Any, mapper: Any, table: Table, name: str, index: int) -> ImportField | None:
    if name not in view._form_prop_names:
        return None
    relation = mapper.relationships.get(name)
    if relation is None:
        column = table.c.get(mapper.get_property(name).columns[0].name)
        return ImportField(name, index, column, column_label(table, column.name)) if column is not None else None
    if relation.direction is not RelationshipDirection.MANYTOONE or len(relation.local_columns) != 1:
        return None  # collections are not imported
    local = next(iter(relation.local_columns))
    _, label_attribute = resolve(view.model, name)
    related_pk = relation.mapper.primary_key[0]
    return ImportField(
        name, index, local, column_label(table, local.name), label_attribute.property.columns[0], related_pk
    )


def _required(mapper: Any, name: str) -> bool:
    """A new record needs this field: NOT NULL, and neither the model nor the database fills it in."""
    relation = mapper.relationships.get(name)
    columns = list(relation.local_columns) if relation is not None else list(mapper.get_property(name).columns)
    return any(not c.nullable and c.default is None and c.server_default is None for c in columns)
