"""Deadline arithmetic for the customer-service desk (SPEC "Deadline arithmetic", R-DEM-6, R-DEM-7).

Pure module: standard library plus ``chinese_calendar``; no Flask, no database.

Definitions (SPEC "Deadline arithmetic"):

* "Within N hours" -- received time + N hours, round the clock (``add_hours``).
* "Within N working days" -- end of day (24:00) of the N-th working day *after* the start day;
  the start day never counts, whatever the time (``add_working_days``).
* Working days follow China's official calendar, including public holidays and make-up working
  weekends (调休补班), via ``chinese_calendar``. The company-wide overrides win over the package
  (``set_overrides``), and an estate's own dated closures win for that estate alone
  (``set_estate_overrides``; every working-day function takes an optional ``estate`` id, #11).
  A web request does not read them up front: ``load_overrides_when_used`` defers the reading
  to the request's first working-day question (most pages ask none; #14 throughput).
  For a year the package has no data for, fall back to Monday-Friday and
  never fail (``is_workday``); ``years_without_data``/``fallback_warning`` let a page say so.
* "Within N days" -- calendar days, end of the N-th day after the start day (``add_days``).
* "Valid for N months" -- same day-of-month N months later, clamped to month end, inclusive
  (``add_months``).
* "Valid for N days" counting the issue day -- issue + N - 1 (``valid_through``).
* R-DEM-6 invalid demand: tell the owner why within 1 working day (``invalid_notice_due``).
* R-DEM-7 reply deadline when the owner named no time: urgent -> 2 hours; not urgent ->
  2 working days; seriousness does not change it (``reply_due``).

"End of day (24:00)" is represented as the same calendar day at ``time.max``
(23:59:59.999999), so ``due.date()`` is the due day and ``now <= due`` means "on time".

Time zones: the office zone is ``OFFICE_TZ`` (Asia/Shanghai unless ``set_office_timezone`` is
called). A naive datetime is taken as office-local wall time and results are naive. An aware
datetime is first converted to the office zone -- the working day is the office's day, not
UTC's -- and results are aware datetimes in the office zone.
"""

from __future__ import annotations

import calendar
import functools
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

__all__ = [
    "OFFICE_TZ",
    "add_days",
    "add_hours",
    "add_months",
    "add_working_days",
    "end_of_day",
    "fallback_warning",
    "get_overrides",
    "has_official_data",
    "invalid_notice_due",
    "is_workday",
    "load_overrides_when_used",
    "office_timezone",
    "reply_due",
    "set_estate_overrides",
    "set_office_timezone",
    "set_overrides",
    "valid_through",
    "years_without_data",
]

OFFICE_TZ: ZoneInfo = ZoneInfo("Asia/Shanghai")

# R-DEM-7 / R-DEM-6 periods, named so the rule text and the code can be compared at a glance.
URGENT_REPLY_HOURS = 2
NORMAL_REPLY_WORKING_DAYS = 2
INVALID_NOTICE_WORKING_DAYS = 1

# Office overrides (True = working day, False = day off). Replaced wholesale, never mutated in
# place, so a reader holding the old reference always sees one consistent map.
_overrides: dict[date, bool] = {}
# Per estate id, its own dated closures (or other exceptions), which win for that estate only.
_estate_overrides: dict[int, dict[date, bool]] = {}
# A loader this thread runs before its next working-day question (a web request's: each request
# is served by one thread, and the maps above are replaced wholesale, so threads do not mix).
_pending = threading.local()


def set_office_timezone(name: str) -> None:
    """Set the office time zone by IANA name (raises ``ZoneInfoNotFoundError`` if unknown)."""
    global OFFICE_TZ
    OFFICE_TZ = ZoneInfo(name)


def office_timezone() -> ZoneInfo:
    """Return the current office zone (``from ... import OFFICE_TZ`` would freeze the value)."""
    return OFFICE_TZ


def set_overrides(mapping: Mapping[date, bool]) -> None:
    """Replace the whole override map: ``{date: True}`` working day, ``{date: False}`` day off."""
    new: dict[date, bool] = {}
    for day, working in mapping.items():
        # A datetime key would never match the date lookups below, so refuse it loudly.
        if isinstance(day, datetime) or not isinstance(day, date):
            raise TypeError(f"override keys must be datetime.date, got {type(day).__name__}")
        new[day] = bool(working)
    global _overrides
    _overrides = new


def load_overrides_when_used(loader: Callable[[], object] | None) -> None:
    """Have this thread run `loader` (which calls the two setters) before its next override
    lookup, once; None forgets a loader not needed (the request ended without asking)."""
    _pending.loader = loader


def _refresh() -> None:
    loader = getattr(_pending, "loader", None)
    if loader is not None:
        _pending.loader = None
        loader()


def get_overrides() -> dict[date, bool]:
    """Return a copy of the current override map."""
    _refresh()
    return dict(_overrides)


def set_estate_overrides(mapping: Mapping[int, Mapping[date, bool]]) -> None:
    """Replace every estate's own map wholesale: ``{estate id: {date: working?}}``."""
    new: dict[int, dict[date, bool]] = {}
    for estate, days in mapping.items():
        for day in days:
            if isinstance(day, datetime) or not isinstance(day, date):
                raise TypeError(f"override keys must be datetime.date, got {type(day).__name__}")
        new[int(estate)] = {day: bool(working) for day, working in days.items()}
    global _estate_overrides
    _estate_overrides = new


def _estate_id(estate) -> int | None:
    """An estate given as its id or as a row with an ``id`` (None: no estate)."""
    if estate is None:
        return None
    return int(getattr(estate, "id", estate))


@functools.cache
def has_official_data(year: int) -> bool:
    """True if ``chinese_calendar`` has the State Council schedule for ``year``.

    Found by probing the package rather than a hard-coded range, so upgrading the package
    extends coverage without touching this module.
    """
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except (NotImplementedError, ValueError, OverflowError):
        return False
    return True


# The reader's language for the warning (#12 item 2): models.i18n plugs in the app's gettext,
# so this module stays standard library plus chinese_calendar (no Flask here).
translator = None


def _(message: str) -> str:
    return translator(message) if translator is not None else message


def years_without_data(years: Iterable[int]) -> list[int]:
    """Sorted, de-duplicated years among ``years`` that fall back to Monday-Friday."""
    return sorted({y for y in years if not has_official_data(y)})


def fallback_warning(years: Iterable[int]) -> str | None:
    """User-facing warning for years without official data, or None if all are covered."""
    missing = years_without_data(years)
    if not missing:
        return None
    listed = "、".join(str(y) for y in missing)
    message = _("%(years)s年无官方节假日数据，按周一至周五计算；请在节假日调整表中录入")
    return message % {"years": listed}


def _office_local(dt: datetime) -> datetime:
    """Aware -> the same instant in the office zone; naive is already office wall time."""
    return dt.astimezone(OFFICE_TZ) if dt.tzinfo is not None else dt


def _local_day(value: date | datetime) -> date:
    if isinstance(value, datetime):
        return _office_local(value).date()
    return value


def _end_of(day: date, like: date | datetime) -> datetime:
    """End of ``day``; aware (office zone) only if ``like`` is an aware datetime."""
    aware = isinstance(like, datetime) and like.tzinfo is not None
    return datetime.combine(day, time.max, tzinfo=OFFICE_TZ if aware else None)


def _check_non_negative(n: float) -> None:
    if n < 0:
        raise ValueError(f"n must be >= 0, got {n}")


def end_of_day(d_or_dt: date | datetime) -> datetime:
    """End (23:59:59.999999) of the office-local day of a date or datetime.

    A date or naive datetime gives a naive result; an aware datetime gives an aware result in
    the office zone.
    """
    return _end_of(_local_day(d_or_dt), d_or_dt)


def is_workday(d: date | datetime, estate=None) -> bool:
    """Whether ``d`` (a datetime: its office-local day) is a working day (for ``estate``).

    Order: the estate's own override; the company-wide override; else the official calendar
    (holidays and 调休补班 weekends); else, for a year without data, Monday-Friday. Never
    raises for lack of data.
    """
    day = _local_day(d)
    _refresh()
    override = _estate_overrides.get(_estate_id(estate), {}).get(day)
    if override is None:
        override = _overrides.get(day)
    if override is not None:
        return override
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        # No schedule published/packaged for this year: SPEC says fall back, never fail a save.
        return day.weekday() < 5


def add_working_days(start: datetime, n: int, estate=None) -> datetime:
    """End of day of the n-th working day after ``start``'s office-local day.

    The start day itself never counts, even at 23:59 or if it is a holiday. ``n == 0`` gives
    the end of the start day; negative ``n`` raises ValueError.
    """
    _check_non_negative(n)
    day = _local_day(start)
    remaining = n
    while remaining:
        day += timedelta(days=1)
        if is_workday(day, estate):
            remaining -= 1
    return _end_of(day, start)


def add_hours(start: datetime, n: float) -> datetime:
    """``start`` + n elapsed hours, round the clock (holidays and nights count)."""
    _check_non_negative(n)
    if start.tzinfo is None:
        return start + timedelta(hours=n)
    # Add in UTC so the result is elapsed time even in a zone with DST, then show it office-local.
    return (start.astimezone(UTC) + timedelta(hours=n)).astimezone(OFFICE_TZ)


def add_days(start: datetime, n: int) -> datetime:
    """End of day of the n-th calendar day after ``start``'s office-local day (n == 0: same day)."""
    _check_non_negative(n)
    return _end_of(_local_day(start) + timedelta(days=n), start)


def add_months(start_date: date, n: int) -> date:
    """Same day-of-month ``n`` months later, clamped to that month's last day.

    Jan 31 + 1 month -> Feb 28 (Feb 29 in a leap year). The result is valid *through* that
    date, inclusive. A datetime argument is reduced to its office-local day.
    """
    _check_non_negative(n)
    start_day = _local_day(start_date)
    months = start_day.year * 12 + (start_day.month - 1) + n
    year, month = divmod(months, 12)
    month += 1
    last = calendar.monthrange(year, month)[1]
    return date(year, month, min(start_day.day, last))


def valid_through(issue_date: date, days: int) -> date:
    """Last valid day of something valid ``days`` days counting the issue day (issue + days - 1).

    A 3-day temporary pass (R-PASS-2) issued Monday is valid through Wednesday.
    """
    if days < 1:
        raise ValueError(f"days must be >= 1, got {days}")
    return _local_day(issue_date) + timedelta(days=days - 1)


def reply_due(
    received_at: datetime,
    *,
    serious: bool,
    urgent: bool,
    requested: datetime | None = None,
    estate=None,
) -> datetime:
    """R-DEM-6/R-DEM-7 reply deadline.

    A time the owner asked for (``requested``) wins. Otherwise, per the R-DEM-7 2x2:
    urgent (serious or not) -> received + 2 hours; not urgent (serious or not) -> 2 working
    days. ``serious`` is taken so callers state the whole 2x2 and a future rule change that
    depends on it stays in this one place; today it does not change the result.
    """
    del serious  # Deliberately unused under the current R-DEM-7 table (see docstring).
    if requested is not None:
        return _office_local(requested)
    if urgent:
        return add_hours(received_at, URGENT_REPLY_HOURS)
    return add_working_days(received_at, NORMAL_REPLY_WORKING_DAYS, estate)


def invalid_notice_due(decided_at: datetime, estate=None) -> datetime:
    """R-DEM-6: an invalid demand's owner is told why by end of the next working day."""
    return add_working_days(decided_at, INVALID_NOTICE_WORKING_DAYS, estate)
