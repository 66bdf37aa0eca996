"""The period a dashboard shows, read from its URL (`?period=30d`, `?period=custom&from=…&to=…`).

A period is whole calendar days in the admin's time zone, [start, end) with `end` exclusive; presets end
today. The previous period is the same number of days just before it (the same number of months for the
12-month preset), so ▲/▼ compares like with like. The chart's bars are days, ISO weeks (Monday) from 90 days
on, months for a year; a bar at an edge covers only the period's days.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from starlette.datastructures import QueryParams

DAY, WEEK, MONTH = "day", "week", "month"
PRESETS = {  # key → label, days (None: 12 calendar months, this one included)
    "today": ("Today", 1),
    "7d": ("Last 7 days", 7),
    "30d": ("Last 30 days", 30),
    "90d": ("Last 90 days", 90),
    "12m": ("Last 12 months", None),
}
DEFAULT = "7d"
CUSTOM = "custom"
MAX_DAYS = 3 * 366
MONTH_IN_DAYS = 3  # a month's summary row per product weighs about this many days' rows (products sold a day)  # a custom range longer than this is cut to its last MAX_DAYS days


def add_months(day: date, months: int) -> date:
    """The first of the month `months` after (or before) `day`'s month."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


@dataclass(frozen=True)
class Period:
    key: str  # a PRESETS key or CUSTOM
    start: date
    end: date  # exclusive
    label: str
    months: int = 0  # the 12-month preset: its previous period is the 12 months before

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def grain(self) -> str:
        if self.months or self.days > 200:
            return MONTH
        return WEEK if self.days >= 90 else DAY

    def previous(self) -> Period:
        if self.months:
            start = add_months(self.start, -self.months)
            return Period(self.key, start, self.start, "the 12 months before", self.months)
        return Period(self.key, self.start - timedelta(days=self.days), self.start, f"the {self.days} days before")

    def bucket_of(self, day: date) -> date:
        """The first day of the bar `day` falls in (not clipped to the period)."""
        if self.grain == MONTH:
            return day.replace(day=1)
        if self.grain == WEEK:
            return day - timedelta(days=day.weekday())
        return day

    def bucket_days(self, first: date) -> tuple[date, date]:
        """The period's first and last day inside the bar starting `first`."""
        if self.grain == MONTH:
            after = add_months(first, 1)
        else:
            after = first + timedelta(days=7 if self.grain == WEEK else 1)
        return max(first, self.start), min(after, self.end) - timedelta(days=1)

    def buckets(self) -> list[date]:
        """Every bar's first day, in order, empty ones included."""
        found, day = [], self.bucket_of(self.start)
        while day < self.end:
            found.append(day)
            _, high = self.bucket_days(day)
            day = high + timedelta(days=1)
        return found

    def full_months(self) -> tuple[date, date]:
        """[first, after) months wholly inside the period (first == after: none), for the monthly summary."""
        first = self.start if self.start.day == 1 else add_months(self.start, 1)
        after = self.end.replace(day=1)
        return (first, after) if first < after else (first, first)

    def month_plan(self) -> tuple[list[date], list[tuple[date, date]], list[tuple[date, date]]]:
        """The period's days as whole months to add, day ranges [low, high) to add, and day ranges to take away:
        a month cut by the period is its days inside, or, when fewer, the whole month less its days outside
        (a month's row per product weighs about MONTH_IN_DAYS days' rows)."""
        months, add, take = [], [], []
        month = self.start.replace(day=1)
        while month < self.end:
            after = add_months(month, 1)
            low, high = max(month, self.start), min(after, self.end)
            inside, outside = (high - low).days, (after - month).days - (high - low).days
            if outside and outside + MONTH_IN_DAYS >= inside:
                add.append((low, high))
            else:
                months.append(month)
                take += [(a, b) for a, b in ((month, low), (high, after)) if a < b]
            month = after
        return months, add, take

    def bounds(self, zone: ZoneInfo) -> tuple[datetime, datetime]:
        """The period as instants: midnight at its start and end in `zone` (DST included)."""
        return (datetime.combine(self.start, time.min, tzinfo=zone), datetime.combine(self.end, time.min, tzinfo=zone))


def preset(key: str, today: date) -> Period:
    label, days = PRESETS[key]
    if days is None:
        return Period(key, add_months(today, -11), today + timedelta(days=1), label, months=12)
    return Period(key, today - timedelta(days=days - 1), today + timedelta(days=1), label)


def _day(raw: str | None) -> date | None:
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


def period_from(params: QueryParams, today: date) -> tuple[Period, str | None]:
    """The period the URL asks for, and a sentence when it asked for something that could not be (then a
    preset or a shortened range is shown instead): a bad URL is never an error page."""
    key = params.get("period") or DEFAULT
    if key in PRESETS:
        return preset(key, today), None
    if key != CUSTOM:
        return preset(DEFAULT, today), f"No period called “{key}”: showing the last 7 days."
    low, high = _day(params.get("from")), _day(params.get("to"))
    if low is None or high is None:
        return preset(DEFAULT, today), "A custom range needs a first and a last day: showing the last 7 days."
    if high < low:
        low, high = high, low
    problem = None
    if (high - low).days >= MAX_DAYS:
        low, problem = high - timedelta(days=MAX_DAYS - 1), f"A range is at most {MAX_DAYS} days: showing its end."
    label = f"{low:%-d %b %Y} – {high:%-d %b %Y}" if low != high else f"{low:%-d %b %Y}"
    return Period(CUSTOM, low, high + timedelta(days=1), label), problem
