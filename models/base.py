"""Declarative base, constraint naming convention and the mixins shared by the shop's tables."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

from sqlalchemy import DateTime, Enum, Integer, MetaData, Table, func
from sqlalchemy.orm import DeclarativeBase, InspectionAttrInfo, Mapped, declared_attr, mapped_column

# Every constraint and index gets a stable, predictable name, so migrations can
# refer to it and error messages can be mapped back to the form field concerned.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Base of every model; its metadata is what Alembic compares against.

    Reverse one-to-many collections are declared with passive_deletes="all": deleting a parent
    leaves the children alone, so the database's foreign key refuses it instead of the ORM
    silently nulling the children's keys.
    """

    metadata = MetaData(naming_convention=NAMING_CONVENTION)

    if TYPE_CHECKING:  # every model here maps one table (SQLAlchemy types it as any FROM clause)
        __table__: ClassVar[Table]

    # Optional: the attribute whose value labels a row in look-ups, titles and related columns.
    __admin_label__: str | None = None
    __admin_view__: ClassVar[bool] = True  # False: no admin view of its own (rows kept for another page)

    def __str__(self) -> str:
        label_attr = type(self).__admin_label__
        if label_attr:
            return str(getattr(self, label_attr))
        return f"{type(self).__name__} #{getattr(self, 'id', '?')}"


def utcnow_column(*, onupdate: bool = False) -> Mapped[datetime]:
    """A timezone-aware timestamp filled in by the database."""
    return mapped_column(
        DateTime(timezone=True),
        nullable=False,
        server_default=func.now(),
        onupdate=func.now() if onupdate else None,
    )


class CreatedAtMixin:
    """Rows that remember when they were created."""

    created_at: Mapped[datetime] = utcnow_column()


class TimestampsMixin(CreatedAtMixin):
    """Rows that remember when they were created and last changed."""

    updated_at: Mapped[datetime] = utcnow_column(onupdate=True)


class VersionedMixin:
    """Rows edited by people: every UPDATE and DELETE names the version it read.

    SQLAlchemy adds `AND version = :seen` to the statement and bumps the number, so a save based on
    a stale read matches no row (StaleDataError) instead of silently overwriting someone's change.
    The admin's forms carry the version they showed (see admin_site/writes.py).
    """

    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")

    @declared_attr.directive
    def __mapper_args__(cls: type[Base]) -> dict[str, Any]:
        return {"version_id_col": cls.__table__.c.version}


def string_enum(enum_class: type[enum.Enum], name: str) -> Enum:
    """An enum stored as VARCHAR with a named CHECK: adding a value is a plain migration, no PG type."""
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


MONEY = {"money": True}  # `info` of a column holding an amount of money: the admin shows it with its currency
COUNTRY = {"country": True}  # `info` of an ISO 3166 alpha-2 code: the admin offers the list of countries
# `info` of a column the database itself writes (a trigger keeps it): shown, never edited through a form.
KEPT_BY_DATABASE = {"kept_by_database": True}

_Attribute = TypeVar("_Attribute", bound=InspectionAttrInfo)


def money(attribute: _Attribute) -> _Attribute:
    """Mark a hybrid as an amount of money, as `info=MONEY` marks a column."""
    attribute.info.update(MONEY)
    return attribute
