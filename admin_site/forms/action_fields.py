"""Fields that follow their action's permission: giving a field the value a bulk action gives it is that
action, whichever way it is done.

A bulk action declares what it sets, next to itself: `@bulk_action("cancel", …, sets={"status":
OrderStatus.cancelled})`. For a role without that action the value is *withheld*, here, for every way a
row is written through the admin:

- the forms (`limit_form`, per request): a drop-down loses the withheld values (keeping the row's
  current one); a field left with one possible value — a checkbox whose other value is withheld — is
  shown read-only, saying which action sets it;
- the write path (`refuse_withheld`, forms/writes.py): a create or edit that gives a field a withheld
  value it did not have is refused next to that field (`ChangeRefused`), nothing written, whatever the
  request posted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, ClassVar, Protocol, TypeVar

from sqladmin.authorization import custom_action
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.orm import Mapper
from starlette.requests import Request
from wtforms import BooleanField, Form

from admin_site.forms.bulk_actions import actions_of
from admin_site.refusals import ChangeRefused

FormT = TypeVar("FormT", bound=Form)


class FieldsView(Protocol):
    """What this asks of a view (a ShopView): its model, its labels, the role's permissions."""

    model: ClassVar[type]
    _column_labels: dict[str, Any]

    def has_permission(self, request: Request, action: str) -> bool: ...


@dataclass
class Withheld:
    """The values of one field that this request may not give it, and the actions that give them."""

    values: set[Any] = field(default_factory=set)
    actions: list[str] = field(default_factory=list)  # their labels ("Cancel")

    @property
    def named_by(self) -> str:
        return " or ".join(f"“{label}”" for label in self.actions)


def plain(value: Any) -> Any:
    """A value as forms post it and actions declare it: an enum member is its value."""
    return value.value if isinstance(value, Enum) else value


def withheld(view: FieldsView, request: Request) -> dict[str, Withheld]:
    """Field → what the request's role may not set it to: the `sets` of the view's actions it may not run."""
    found: dict[str, Withheld] = {}
    for spec in actions_of(type(view)).values():
        if not spec.sets or view.has_permission(request, custom_action(spec.slug)):
            continue
        for name, value in spec.sets.items():
            entry = found.setdefault(name, Withheld())
            entry.values.add(plain(value))
            entry.actions.append(spec.label)
    return found


def defaults(model: type) -> dict[str, Any]:
    """What a new row holds where the form leaves a column alone: the columns' scalar defaults."""
    found: dict[str, Any] = {}
    mapper: Mapper[Any] = sa_inspect(model)
    for attribute in mapper.column_attrs:
        default = getattr(attribute.columns[0], "default", None)
        if default is not None and default.is_scalar:
            found[attribute.key] = default.arg
    return found


def current_values(model: type, row: Any | None) -> dict[str, Any]:
    """The values a form starts from: the row's (an edit) or the defaults (a new row)."""
    if row is None:
        return defaults(model)
    mapper: Mapper[Any] = sa_inspect(model)
    return {attribute.key: getattr(row, attribute.key) for attribute in mapper.column_attrs}


def refuse_withheld(view: FieldsView, request: Request, before: Mapping[str, Any], data: Mapping[str, Any]) -> None:
    """Raise ChangeRefused when `data` gives a field a value withheld from this request's role."""
    for name, entry in withheld(view, request).items():
        if name not in data:
            continue
        new = plain(data[name])
        if new in entry.values and new != plain(before.get(name)):
            label = view._column_labels.get(name, name)
            shown = str(new).lower() if isinstance(new, bool) else new
            raise ChangeRefused(
                f"{label} cannot be set to {shown} here: that is what {entry.named_by} does, which your role "
                "may not do. Nothing was saved.",
                field_names=(name,),
            )


def limit_form(
    form: FormT, view: FieldsView, request: Request, row: Any | None = None, posted: Mapping[str, Any] | None = None
) -> FormT:
    """Offer only the values this role may give (per request, on the form instance).

    A field left with one possible value is disabled, so the browser does not post it: a POST (`posted`)
    without it keeps the value the row has, rather than reading the missing checkbox as "no"."""
    current = current_values(view.model, row)
    for name, entry in withheld(view, request).items():
        bound = form._fields.get(name)
        if bound is None:
            continue
        now = plain(current.get(name))
        if isinstance(bound, BooleanField):
            possible = ({True, False} - entry.values) | {bool(now)}
        else:  # a drop-down (SelectField): its choices on this instance only
            kept = [
                c for c in getattr(bound, "choices", None) or [] if _value(c) not in entry.values or _value(c) == now
            ]
            bound.choices = kept
            possible = {_value(c) for c in kept}
        if len(possible) > 1:
            continue
        bound.render_kw = {**(bound.render_kw or {}), "disabled": True}
        bound.description = f"Set by {entry.named_by}, which your role may not use."
        if posted is not None and name not in posted:
            bound.data = now
    return form


def _value(choice: Any) -> Any:
    """A drop-down choice's value: `(value, label)` or the value itself."""
    return plain(choice[0] if isinstance(choice, tuple) else choice)
