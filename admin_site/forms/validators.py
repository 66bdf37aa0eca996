"""Form validators derived from the model's metadata, so a form refuses what the database would.

Generic, never per field by hand: NOT NULL → required, String(n) → at most n characters, Integer and
Numeric(p, s) → what the column can hold, CHECK constraints in their simple forms (see
`check_rules`) → number ranges and "x cannot be before y", enums → choices (SQLAdmin's own select),
a string column named as an e-mail address (`naming.is_email`) → an e-mail address (email-validator,
syntax only: no DNS look-up while a form is saved).
The database keeps enforcing all of it; this only makes the refusal friendlier and earlier.

`ConstraintAwareConverter` is SQLAdmin's `form_converter` for every `ShopView`.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from sqladmin.ajax import QueryAjaxModelLoader
from sqladmin.forms import ModelConverter
from sqlalchemy import BigInteger, Boolean, Column, Enum, Integer, Numeric, SmallInteger, String
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlalchemy.orm import ColumnProperty, RelationshipProperty, sessionmaker
from sqlalchemy.types import TypeEngine
from wtforms import Field, Form, SelectField, validators
from wtforms.validators import ValidationError

from admin_site.formatting import country_choices
from admin_site.forms import check_rules
from admin_site.forms.lookup_widget import LookupWidget
from admin_site.naming import is_email

INTEGER_RANGES = {SmallInteger: 2**15, BigInteger: 2**63, Integer: 2**31}


def _range_of(kind: TypeEngine[Any]) -> int | None:
    for type_, half in INTEGER_RANGES.items():
        if isinstance(kind, type_):
            return half
    return None


class NoNulCharacter:
    """PostgreSQL text cannot hold NUL; such input could only fail deeper down."""

    def __call__(self, form: Form, field: Field) -> None:
        if isinstance(field.data, str) and "\x00" in field.data:
            raise ValidationError("Remove the invisible NUL character from this value.")


class EmailAddress(validators.Email):
    """An e-mail address by RFC 5321/6531 syntax (email-validator; no DNS look-up), with its own reason:
    "The part after the @-sign is not valid. It should have a period." """

    def __init__(self) -> None:
        super().__init__(granular_message=True, check_deliverability=False)


class IntegerFits:
    def __init__(self, half: int) -> None:
        self.low, self.high = -half, half - 1

    def __call__(self, form: Form, field: Field) -> None:
        if isinstance(field.data, int) and not self.low <= field.data <= self.high:
            raise ValidationError(f"Enter a number between {self.low} and {self.high}.")


class DecimalFits:
    """A finite number with at most `scale` decimals and `precision - scale` digits before the point.

    PostgreSQL would round extra decimals away silently and accepts NaN in numeric columns (where
    NaN > 0 holds); neither is what anyone typing into a back-office form means.
    """

    def __init__(self, precision: int | None, scale: int | None) -> None:
        self.precision, self.scale = precision, scale

    def __call__(self, form: Form, field: Field) -> None:
        value = field.data
        if value is None:
            return
        if not isinstance(value, Decimal):
            try:
                value = Decimal(str(value))
            except InvalidOperation:
                raise ValidationError("Enter a number.") from None
        if not value.is_finite():
            raise ValidationError("Enter a number.")
        if self.precision is not None:  # first: the checks below must not meet a 400-digit number
            digits = self.precision - (self.scale or 0)
            if abs(value) >= Decimal(10) ** digits:
                raise ValidationError(f"Enter a number with at most {digits} digits before the decimal point.")
        if self.scale is not None:
            try:
                exact = value == value.quantize(Decimal(1).scaleb(-self.scale), rounding="ROUND_DOWN")
            except InvalidOperation:  # more digits than decimal arithmetic carries
                raise ValidationError("Enter a smaller number.") from None
            if not exact:
                raise ValidationError(
                    f"Use at most {self.scale} decimal places." if self.scale else "Enter a whole number."
                )


class WithinBounds:
    """The bounds of the column's CHECK constraints; the message is the one a refusal would give."""

    def __init__(self, bounds: list[check_rules.Bound], message: str) -> None:
        self.bounds, self.message = bounds, message

    def __call__(self, form: Form, field: Field) -> None:
        value = field.data
        if value is None:
            return
        try:
            ok = all(b.holds(value) for b in self.bounds)
        except (InvalidOperation, TypeError, ValueError):
            return  # not a number: the field's own parsing has said so
        if not ok:
            raise ValidationError(self.message)


class InOrderWith:
    """`shipped_at >= placed_at`: checked when both fields are in the form and filled in."""

    def __init__(self, rule: check_rules.ColumnOrder, message: str) -> None:
        self.rule, self.message = rule, message

    def __call__(self, form: Form, field: Field) -> None:
        other = form._fields.get(self.rule.other)
        if other is None or field.data is None or other.data is None:
            return
        try:
            ok = self.rule.holds(field.data, other.data)
        except TypeError:
            return
        if not ok:
            raise ValidationError(self.message)


class RelatedKey:
    """The posted key of a look-up field must be a key the related table could have."""

    def __init__(self, python_type: type, half: int | None) -> None:
        self.python_type, self.half = python_type, half

    def __call__(self, form: Form, field: Field) -> None:
        raw = field.data
        if raw is None or not isinstance(raw, str):
            return
        try:
            value = self.python_type(raw)
        except (TypeError, ValueError):
            raise ValidationError("Choose a record from the list.") from None
        if self.half is not None and not -self.half <= value < self.half:
            raise ValidationError("Choose a record from the list.")


def column_validators(column: Column[Any]) -> list[Any]:
    """Everything the column's type, nullability and CHECK constraints say about a form value."""
    found: list[Any] = []
    kind = column.type
    table = column.table
    if not column.nullable and not isinstance(kind, Boolean):
        found.append(validators.InputRequired(message=f"{check_rules.label(table, column.name)} is required."))
    if isinstance(kind, String):
        found.append(NoNulCharacter())
        if kind.length and not isinstance(kind, Enum):
            found.append(validators.Length(max=kind.length, message=f"Use at most {kind.length} characters."))
        if is_email(column.name) and not isinstance(kind, Enum):
            found.extend([validators.Optional()] if column.nullable else [])
            found.append(EmailAddress())
    half = _range_of(kind)
    if half is not None:
        found.append(IntegerFits(half))
    elif isinstance(kind, Numeric) and kind.asdecimal:
        found.append(DecimalFits(kind.precision, kind.scale))
    bounds: list[check_rules.Bound] = []
    for _check, rule in check_rules.rules_for(table, column.name):
        if isinstance(rule, check_rules.Bound):
            bounds.append(rule)
        elif isinstance(rule, check_rules.ColumnOrder):
            found.append(InOrderWith(rule, check_rules.order_message(table, rule)))
        elif isinstance(rule, check_rules.OneOf) and not isinstance(kind, Enum):
            found.append(validators.AnyOf(rule.values, message=check_rules.choice_message(table, rule)))
    if bounds:
        found.append(WithinBounds(bounds, check_rules.bound_message(table, column.name, bounds)))
    return found


def relation_validators(prop: RelationshipProperty[Any]) -> list[Any]:
    remote_pk = list(prop.mapper.primary_key)
    if len(remote_pk) != 1:
        return []
    try:
        python_type = remote_pk[0].type.python_type
    except NotImplementedError:
        return []
    return [RelatedKey(python_type, _range_of(remote_pk[0].type))]


def _merge(existing: list[Any], derived: list[Any]) -> list[Any]:
    """Derived validators after the declared ones, one of each kind (no message shown twice)."""
    kinds = {type(v) for v in existing}
    return [*existing, *(v for v in derived if type(v) not in kinds)]


class ConstraintAwareConverter(ModelConverter):
    """SQLAdmin's converter, plus the validators the model's metadata implies."""

    async def _prepare_kwargs(
        self,
        prop: ColumnProperty[Any] | RelationshipProperty[Any],
        session_maker: sessionmaker[Any] | async_sessionmaker[Any],
        field_args: dict[str, Any],
        field_widget_args: dict[str, Any],
        form_include_pk: bool,
        label: str | None = None,
        loader: QueryAjaxModelLoader | None = None,
    ) -> dict[str, Any] | None:
        # SQLAdmin appends to the `validators` list it is given: a view's `form_args` list would grow
        # by one validator on every request. Work on copies.
        field_args = {
            **field_args,
            "validators": list(field_args.get("validators") or []),
            "filters": list(field_args.get("filters") or []),
        }
        return await super()._prepare_kwargs(
            prop, session_maker, field_args, dict(field_widget_args), form_include_pk, label=label, loader=loader
        )

    def _prepare_column(self, prop: ColumnProperty[Any], form_include_pk: bool, kwargs: dict) -> dict | None:
        prepared = super()._prepare_column(prop=prop, form_include_pk=form_include_pk, kwargs=kwargs)
        if prepared is not None:
            column = prop.columns[0]
            assert isinstance(column, Column)  # a form field edits a table's column
            prepared["validators"] = _merge(prepared["validators"], column_validators(column))
        return prepared

    async def _prepare_relationship(
        self,
        prop: RelationshipProperty[Any],
        kwargs: dict,
        session_maker: sessionmaker[Any] | async_sessionmaker[Any],
        loader: QueryAjaxModelLoader | None = None,
    ) -> dict:
        kwargs = await super()._prepare_relationship(prop=prop, kwargs=kwargs, session_maker=session_maker,
                                                     loader=loader)  # fmt: skip
        if prop.direction.name == "MANYTOONE" and not any(c.nullable for c in prop.local_columns):
            # A NOT NULL key: the form marks the field required and says so before the database would.
            kwargs["validators"] = [validators.InputRequired("Choose one."), *kwargs["validators"]]
        if loader is not None:  # a look-up posts a raw key; a drop-down checks its own choices
            kwargs["validators"] = _merge(kwargs["validators"], relation_validators(prop))
            many = prop.direction.name in ("ONETOMANY", "MANYTOMANY") and bool(prop.uselist)  # as SQLAdmin decides
            kwargs["widget"] = LookupWidget(multiple=many)  # renders without awaiting (admin_site/lookup_widget.py)
        return kwargs

    @staticmethod
    def _string_common(prop: ColumnProperty[Any]) -> list[Any]:
        return []  # the length rule comes from `column_validators`, with the others

    async def convert(self, model: type, prop: Any, *args: Any, **kwargs: Any) -> Any:
        """A column marked as a country code (`info=COUNTRY`) is a drop-down of ISO 3166 countries."""
        columns = getattr(prop, "columns", None)
        if kwargs.get("override") is None and columns and columns[0].info.get("country"):
            kwargs["override"] = CountrySelectField
        return await super().convert(model, prop, *args, **kwargs)


class CountrySelectField(SelectField):
    """ISO 3166-1 countries by name; the value is the alpha-2 code the column holds."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("choices", [("", "Choose a country…"), *country_choices()])
        super().__init__(*args, **kwargs)
