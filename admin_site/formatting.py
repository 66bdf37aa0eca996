"""How values look on the admin's pages: money, times, statuses and yes/no, in one place.

Money has its currency and thousands separators (Babel, CLDR's rules for the locale); times are
shown in the configured time zone to the minute, the exact value on hover; enumerations (statuses,
roles) and booleans are coloured badges. Exports never go through here: they keep exact values.
Every method returns escaped HTML.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from zoneinfo import ZoneInfo

import pycountry
from babel.numbers import format_currency

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

    def money(self, value: Decimal | int | None) -> str:
        if value is None:
            return ""
        shown = format_currency(value, self.currency, locale=self.locale)
        return f'<span class="money" data-value="{value}">{html.escape(shown)}</span>'

    def local(self, value: datetime) -> datetime:
        return value.astimezone(self.time_zone) if value.tzinfo is not None else value

    def time(self, value: datetime | None) -> str:
        """To the minute; the exact time (seconds, zone) on hover and in the `datetime` attribute."""
        if value is None:
            return ""
        local = self.local(value)
        exact = f"{local:%Y-%m-%d %H:%M:%S} {local.tzname() or ''}".strip()
        stamp = value.replace(microsecond=0).isoformat()
        return f'<time datetime="{stamp}" title="{html.escape(exact)}">{local:%Y-%m-%d %H:%M}</time>'

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


def country_choices() -> list[tuple[str, str]]:
    """ISO 3166-1 countries as (alpha-2 code, name) by name: pycountry's list, not typed by hand here."""
    return sorted(((c.alpha_2, f"{c.name} ({c.alpha_2})") for c in pycountry.countries), key=lambda choice: choice[1])


def country_name(code: str | None) -> str:
    found = pycountry.countries.get(alpha_2=code) if code else None
    return found.name if found is not None else (code or "")
