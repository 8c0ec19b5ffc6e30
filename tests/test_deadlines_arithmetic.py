"""Behavioural tests for models/deadlines.py: the arithmetic (SPEC "Deadline arithmetic").

Calendar days and hours, months clamped to the month's end, pass validity counting the issue
day, n == 0 and negative n, aware and naive times in the office zone, the working-days
property, and the module's purity (standard library and chinese_calendar only).
"""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import deadlines_support as support
import pytest
from deadlines_support import SHANGHAI, SOURCE, dl, eod
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# Every test starts with no overrides and the Shanghai zone: the autouse fixture, which
# pytest finds here by name.
clean_module_state = support.clean_module_state


def test_module_is_pure_stdlib_plus_chinese_calendar() -> None:
    """No Flask, peewee or database: only the standard library and chinese_calendar."""
    allowed = {"__future__", "calendar", "functools", "collections", "datetime", "zoneinfo"}
    allowed.add("chinese_calendar")
    imported: set[str] = set()
    for node in ast.walk(ast.parse(SOURCE.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert imported <= allowed


# --- Calendar days, months, passes ---------------------------------------------------------


def test_add_days_is_end_of_nth_calendar_day() -> None:
    """SPEC "Within N days": calendar days, holidays included."""
    assert dl.add_days(datetime(2026, 3, 10, 10, 0), 3) == eod(2026, 3, 13)
    assert dl.add_days(datetime(2026, 9, 30, 23, 59), 3) == eod(2026, 10, 3)
    assert dl.add_days(datetime(2026, 3, 10, 10, 0), 0) == eod(2026, 3, 10)


def test_add_hours_round_the_clock() -> None:
    assert dl.add_hours(datetime(2026, 2, 16, 23, 0), 2) == datetime(2026, 2, 17, 1, 0)


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (date(2026, 1, 31), 1, date(2026, 2, 28)),  # non-leap February
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap February
        (date(2024, 1, 31), 1, date(2024, 2, 29)),  # leap February
        (date(2026, 3, 31), 1, date(2026, 4, 30)),
        (date(2026, 8, 31), 3, date(2026, 11, 30)),  # R-PASS-1 3-month pass
        (date(2026, 11, 30), 3, date(2027, 2, 28)),  # across the year end into February
        (date(2028, 2, 29), 12, date(2029, 2, 28)),  # leap day, next year not leap
        (date(2027, 2, 28), 12, date(2028, 2, 28)),  # Feb 28 stays the 28th, not month end
        (date(2026, 2, 28), 1, date(2026, 3, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 5, 31), 0, date(2026, 5, 31)),
    ],
)
def test_add_months_clamps_to_month_end(start: date, months: int, expected: date) -> None:
    """SPEC "Valid for N months": same day-of-month, clamped, inclusive."""
    assert dl.add_months(start, months) == expected


@pytest.mark.parametrize(
    ("issued", "days", "expected"),
    [
        (date(2026, 3, 9), 3, date(2026, 3, 11)),  # R-PASS-2: Monday -> through Wednesday
        (date(2026, 2, 27), 3, date(2026, 3, 1)),
        (date(2026, 3, 9), 1, date(2026, 3, 9)),
    ],
)
def test_valid_through_counts_issue_day(issued: date, days: int, expected: date) -> None:
    assert dl.valid_through(issued, days) == expected


def test_valid_through_rejects_zero_days() -> None:
    with pytest.raises(ValueError):
        dl.valid_through(date(2026, 3, 9), 0)


# --- n == 0 and negative n -----------------------------------------------------------------


def test_add_working_days_zero_is_end_of_start_day_even_on_holiday() -> None:
    assert dl.add_working_days(datetime(2026, 10, 3, 9, 0), 0) == eod(2026, 10, 3)


@pytest.mark.parametrize("func", [dl.add_working_days, dl.add_days, dl.add_hours])
def test_negative_n_raises(func) -> None:
    with pytest.raises(ValueError):
        func(datetime(2026, 3, 10, 10, 0), -1)


def test_add_months_negative_raises() -> None:
    with pytest.raises(ValueError):
        dl.add_months(date(2026, 3, 10), -1)


# --- Time zones ----------------------------------------------------------------------------

UTC_EVE = datetime(2026, 9, 30, 17, 0, tzinfo=UTC)  # = 2026-10-01 01:00 in Shanghai


def test_aware_utc_uses_the_shanghai_day() -> None:
    assert dl.end_of_day(UTC_EVE) == eod(2026, 10, 1, SHANGHAI)
    # Calendar days from Shanghai Oct 1, not UTC Sep 30.
    assert dl.add_days(UTC_EVE, 1) == eod(2026, 10, 2, SHANGHAI)
    due = dl.add_working_days(UTC_EVE, 2)
    assert due == eod(2026, 10, 9, SHANGHAI)
    assert due.tzinfo == SHANGHAI
    assert due.utcoffset() == timedelta(hours=8)


def test_aware_shanghai_day_changes_the_working_day_count() -> None:
    """Tue 16:30Z is Wed 00:30 in Shanghai: 2 working days are Thu, Fri (not Wed, Thu)."""
    received = datetime(2026, 3, 10, 16, 30, tzinfo=UTC)
    assert dl.reply_due(received, serious=False, urgent=False) == eod(2026, 3, 13, SHANGHAI)
    assert dl.is_workday(datetime(2026, 10, 10, 20, 0, tzinfo=UTC)) is False  # Sun 10-11 local


def test_aware_add_hours_returns_office_zone() -> None:
    due = dl.reply_due(UTC_EVE, serious=True, urgent=True)
    assert due == datetime(2026, 10, 1, 3, 0, tzinfo=SHANGHAI)
    assert due.tzinfo == SHANGHAI


def test_naive_in_naive_out() -> None:
    assert dl.add_working_days(datetime(2026, 9, 30, 17, 0), 2).tzinfo is None
    assert dl.add_hours(datetime(2026, 9, 30, 17, 0), 2).tzinfo is None
    assert dl.end_of_day(date(2026, 9, 30)) == eod(2026, 9, 30)


def test_set_office_timezone_changes_the_local_day() -> None:
    dl.set_office_timezone("UTC")
    assert dl.end_of_day(UTC_EVE) == eod(2026, 9, 30, ZoneInfo("UTC"))


# --- Property ------------------------------------------------------------------------------


@settings(
    deadline=None,  # no timing assertions
    # The autouse fixture only resets module state, which no example here changes.
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    start=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 12, 31)),
    zone=st.sampled_from([None, UTC, SHANGHAI, ZoneInfo("America/New_York")]),
    n=st.integers(min_value=1, max_value=15),
)
def test_add_working_days_property(start: datetime, zone: ZoneInfo | None, n: int) -> None:
    """SPEC "Deadline arithmetic": result is the end of a working day, strictly after start, exactly
    n working days after the start's office day, and monotone in n."""
    if zone is not None:
        start = start.replace(tzinfo=zone)
    due = dl.add_working_days(start, n)
    assert due > start
    assert due.time() == time.max
    assert dl.is_workday(due.date())
    start_day = dl.end_of_day(start).date()
    between = [start_day + timedelta(days=i) for i in range(1, (due.date() - start_day).days + 1)]
    assert sum(dl.is_workday(d) for d in between) == n
    assert dl.add_working_days(start, n + 1) > due
    if zone is not None:
        assert due.tzinfo == SHANGHAI
