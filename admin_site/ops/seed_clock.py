"""The seed's clock: timestamps as seconds from an origin, written as COPY text by list look-ups.

Orders fall in the ORDER_DAYS up to the window's end (`--until`, else this hour); customers and products are
created in the HISTORY_DAYS before them (a customer may also join during them).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache

DAY = 86_400
HISTORY_DAYS = 730
ORDER_DAYS = 730


def window_end(until: date | None = None, now: datetime | None = None) -> datetime:
    """Where the orders' two years end: the end of `until` (UTC), but never after `now` truncated to the hour,
    so a demo seeded today has orders up to this hour and none in the future."""
    now = now or datetime.now(UTC)
    until = until or now.date()
    return min(datetime.combine(until + timedelta(days=1), time.min, tzinfo=UTC), now.replace(minute=0, second=0))


@cache
def clock(origin: datetime) -> tuple[list[str], list[str]]:
    """Day and time-of-day strings, so a timestamp cell is two list look-ups, not a strftime."""
    days = [f"{origin + timedelta(days=d):%Y-%m-%d} " for d in range(HISTORY_DAYS + ORDER_DAYS + 10)]
    times = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}+00" for s in range(DAY)]
    return days, times


@dataclass(frozen=True)
class Window:
    """Timestamps as seconds from `origin` (HISTORY_DAYS + ORDER_DAYS before the window's end): orders fall in
    [orders_from, end)."""

    origin: datetime
    end: int  # seconds from origin

    @classmethod
    def ending(cls, end: datetime) -> Window:
        origin = (end - timedelta(days=HISTORY_DAYS + ORDER_DAYS)).replace(hour=0, minute=0, second=0)
        return cls(origin, int((end - origin).total_seconds()))

    @property
    def orders_from(self) -> int:
        return self.end - ORDER_DAYS * DAY

    def timestamp(self, second: int) -> str:
        days, times = clock(self.origin)
        return days[second // DAY] + times[second % DAY]
