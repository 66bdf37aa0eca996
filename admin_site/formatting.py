"""How values look on the admin's pages: money, times, statuses and yes/no, in one place.

Money has its currency and thousands separators (Babel, CLDR's rules for the locale); times are
shown in the configured time zone to the minute, the exact value on hover; enumerations (statuses,
roles) and booleans are coloured badges. Exports never go through here: they keep exact values.
Every method returns escaped HTML.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from functools import cached_property
from zoneinfo import ZoneInfo

import pycountry
from babel.numbers import format_currency, get_currency_precision, get_decimal_symbol, get_group_symbol

MONEY, TIME, DAY, BADGE, YES_NO, COUNTRY = "money", "time", "day", "badge", "yes/no", "country"

# Badge colours by value, for the states a back-office sees most; anything else is grey.
BADGE_COLOURS = {
    "pending": "yellow",
    "paid": "blue",
    "shipped": "azure",
    "delivered": "green",
    "cancelled": "secondary",
    "refunded": "red",
    "admin": "purple",
    "manager": "indigo",
    "support": "cyan",
    "viewer": "secondary",
}


@dataclass(frozen=True)
class Formats:
    currency: str = "EUR"
    time_zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("UTC"))
    locale: str = "en"

    @property
    def zone_name(self) -> str:
        return self.time_zone.key

    @cached_property
    def _money_text(self) -> Callable[[Decimal | int], str]:
        return money_formatter(self.currency, self.locale)

    def money(self, value: Decimal | int | None) -> str:
        if value is None:
            return ""
        return f'<span class="money" data-value="{value}">{html.escape(self._money_text(value))}</span>'

    def local(self, value: datetime) -> datetime:
        return value.astimezone(self.time_zone) if value.tzinfo is not None else value

    def time(self, value: datetime | None) -> str:
        """To the minute; the exact time (seconds, zone) on hover and in the `datetime` attribute."""
        if value is None:
            return ""
        local = self.local(value)
        seconds = local.isoformat(sep=" ", timespec="seconds")  # "2025-03-01 13:00:00+01:00": cheaper than strftime
        zone = local.tzname()
        exact = f"{seconds[:19]} {html.escape(zone)}" if zone else seconds[:19]
        return f'<time datetime="{value.isoformat(timespec="seconds")}" title="{exact}">{seconds[:16]}</time>'

    def day(self, value: date | None) -> str:
        return "" if value is None else f'<time datetime="{value.isoformat()}">{value:%Y-%m-%d}</time>'

    def badge(self, value: Enum | str | None) -> str:
        if value is None:
            return ""
        raw = str(value.value if isinstance(value, Enum) else value)
        colour = BADGE_COLOURS.get(raw, "secondary")
        label = html.escape(raw.replace("_", " ").capitalize())
        return f'<span class="badge bg-{colour}-lt" data-value="{html.escape(raw)}">{label}</span>'

    def yes_no(self, value: bool | None) -> str:
        if value is None:
            return ""
        return (
            '<span class="badge bg-green-lt" data-value="true">Yes</span>'
            if value
            else '<span class="badge bg-secondary-lt" data-value="false">No</span>'
        )

    def cell(self, kind: str | None, value: object) -> str | None:
        """`value` shown as `kind`, or None when the kind does not apply (the caller shows it plainly)."""
        if kind == MONEY and isinstance(value, Decimal | int | type(None)):
            return self.money(value)
        if kind == TIME and isinstance(value, datetime | type(None)):
            return self.time(value)
        if kind == DAY and isinstance(value, date | type(None)):
            return self.day(value)
        if kind == BADGE:
            return self.badge(value if isinstance(value, Enum | str) else None)
        if kind == YES_NO and isinstance(value, bool | type(None)):
            return self.yes_no(value)
        if kind == COUNTRY and isinstance(value, str):
            return f'<abbr title="{html.escape(country_name(value))}">{html.escape(value)}</abbr>'
        return None


# Amounts the fast formatter must write exactly as Babel does before it is used: grouping (and a locale's
# minimum grouping), the sign's place, negative zero, rounding to the currency's digits.
MONEY_SAMPLES: tuple[Decimal | int, ...] = (
    *(
        Decimal(text)
        for text in ("0", "0.5", "12.5", "999.99", "1234.5", "-1234.5", "12345.67", "1234567.891", "-0.00")
    ),
    7,
    -1234567,
)


def money_formatter(currency: str, locale: str) -> Callable[[Decimal | int], str]:
    """Babel's `format_currency` for one currency and locale, made once.

    Babel parses the locale's pattern and looks up its symbols on every call: on a list of orders that was
    most of the page's rendering. Where the locale's pattern is "prefix, digits grouped by three, suffix",
    the same text is a format string; it is checked against Babel on MONEY_SAMPLES, and any locale where it
    differs (Indian grouping, a minimum grouping) keeps calling Babel.
    """

    def babel(value: Decimal | int) -> str:
        return format_currency(value, currency, locale=locale)

    digits = get_currency_precision(currency)
    separators = str.maketrans({",": get_group_symbol(locale), ".": get_decimal_symbol(locale)})
    probe = Decimal("1234567.89")
    number = f"{probe:,.{digits}f}".translate(separators)
    positive, negative = babel(probe), babel(-probe)
    if positive.count(number) != 1 or negative.count(number) != 1:
        return babel
    before, after = positive.split(number)
    before_negative, after_negative = negative.split(number)

    def fast(value: Decimal | int) -> str:
        number = f"{abs(value):,.{digits}f}".translate(separators)
        signed = value.is_signed() if isinstance(value, Decimal) else value < 0
        return f"{before_negative}{number}{after_negative}" if signed else f"{before}{number}{after}"

    return fast if all(fast(sample) == babel(sample) for sample in MONEY_SAMPLES) else babel


def country_choices() -> list[tuple[str, str]]:
    """ISO 3166-1 countries as (alpha-2 code, name) by name: pycountry's list, not typed by hand here."""
    return sorted(((c.alpha_2, f"{c.name} ({c.alpha_2})") for c in pycountry.countries), key=lambda choice: choice[1])


def country_name(code: str | None) -> str:
    found = pycountry.countries.get(alpha_2=code) if code else None
    return found.name if found is not None else (code or "")
