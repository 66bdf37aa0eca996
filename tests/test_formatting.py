"""How values look: money as Babel writes it (the fast path is checked against Babel), times in the zone."""

from __future__ import annotations

import random
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from babel.numbers import format_currency

from admin_site.formatting import Formats, money_formatter

LOCALES = ["en", "de", "fr", "nl", "ar", "ja", "pt_BR", "en_IN", "de_CH"]


@pytest.mark.parametrize("currency", ["EUR", "JPY", "BHD"])  # 2, 0 and 3 decimal places
@pytest.mark.parametrize("locale", LOCALES)
def test_money_is_written_exactly_as_babel_writes_it(locale: str, currency: str) -> None:
    chance = random.Random(f"{locale}{currency}")
    amounts = [Decimal(chance.randint(-(10**11), 10**11)) / 100 for _ in range(500)]
    amounts += [Decimal("0.00"), Decimal("-0.00"), Decimal("0.005"), Decimal("1234.565"), 0, 42, -7]
    shown = money_formatter(currency, locale)
    assert [shown(amount) for amount in amounts] == [format_currency(a, currency, locale=locale) for a in amounts]


def test_locales_babel_groups_differently_keep_calling_babel() -> None:
    assert money_formatter("EUR", "en").__name__ == "fast"
    assert money_formatter("EUR", "en_IN").__name__ == "babel"  # 12,34,567.89: not groups of three
    assert money_formatter("EUR", "en_IN")(Decimal("1234567.89")) == "€12,34,567.89"


def test_money_cell_keeps_the_exact_value_and_escapes_nothing_twice() -> None:
    cell = Formats(currency="EUR").money(Decimal("-1234.50"))
    assert cell == '<span class="money" data-value="-1234.50">-€1,234.50</span>'
    assert Formats().money(None) == ""


def test_times_are_shown_in_the_configured_zone_to_the_minute() -> None:
    berlin = Formats(time_zone=ZoneInfo("Europe/Berlin"))
    summer = datetime(2025, 7, 1, 22, 30, 59, 999999, tzinfo=UTC)
    assert berlin.time(summer) == (
        '<time datetime="2025-07-01T22:30:59+00:00" title="2025-07-02 00:30:59 CEST">2025-07-02 00:30</time>'
    )
    winter = datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    assert 'title="2025-01-01 13:00:00 CET">2025-01-01 13:00<' in berlin.time(winter)
    naive = datetime(2025, 1, 1, 12, 0, 5)
    assert (
        berlin.time(naive) == '<time datetime="2025-01-01T12:00:05" title="2025-01-01 12:00:05">2025-01-01 12:00</time>'
    )
    assert berlin.time(None) == ""
