"""Behavioural tests for models/deadlines.py: reply deadlines over the official calendar.

Reply deadlines (R-DEM-6, R-DEM-7) over official holidays and make-up working days (SPEC
"Deadline arithmetic"), the office's overrides, and years the calendar package has no data for.

Expected dates are literals taken from the State Council holiday notices (2025: 国办发明电
〔2024〕12号; 2026: 国办发明电〔2025〕7号), checked against chinesecalendar 1.11.0's data, so a
wrong package or a wrong rule shows up as a failure rather than being computed into the answer.

Calendar facts used below:
* 2025 National Day + Mid-Autumn: off Wed 10-01 .. Wed 10-08; make-up work Sun 09-28, Sat 10-11.
* 2026 Spring Festival: off Sun 02-15 .. Mon 02-23; make-up work Sat 02-14, Sat 02-28.
* 2026 Mid-Autumn: off Fri 09-25 .. Sun 09-27.
* 2026 National Day: off Thu 10-01 .. Wed 10-07; make-up work Sun 09-20, Sat 10-10.
* 2027: not in chinesecalendar 1.11.0 -> Monday-Friday fallback.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import deadlines_support as support
import pytest
from deadlines_support import SHANGHAI, dl, eod

# Every test starts with no overrides and the Shanghai zone: the autouse fixture, which
# pytest finds here by name.
clean_module_state = support.clean_module_state


# --- R-DEM-7: the 2x2 of seriousness x urgency ---------------------------------------------

RECEIVED = datetime(2026, 3, 10, 10, 0)  # Tuesday, an ordinary working week


@pytest.mark.parametrize(
    ("serious", "urgent", "expected"),
    [
        (True, True, datetime(2026, 3, 10, 12, 0)),  # serious & urgent -> 2 hours
        (False, True, datetime(2026, 3, 10, 12, 0)),  # not serious but urgent -> 2 hours
        (True, False, eod(2026, 3, 12)),  # serious not urgent -> 2 working days (Thu)
        (False, False, eod(2026, 3, 12)),  # neither -> 2 working days (Thu)
    ],
)
def test_r_dem_7_reply_due_2x2(serious: bool, urgent: bool, expected: datetime) -> None:
    assert dl.reply_due(RECEIVED, serious=serious, urgent=urgent) == expected


def test_r_dem_7_spec_example_tuesday_to_end_of_thursday() -> None:
    due = dl.reply_due(RECEIVED, serious=False, urgent=False)
    assert due.date() == date(2026, 3, 12)
    assert due.time() == time.max


@pytest.mark.parametrize(("serious", "urgent"), [(True, True), (False, True), (True, False)])
def test_r_dem_6_requested_time_wins(serious: bool, urgent: bool) -> None:
    """R-DEM-6: reply within the time the owner asked for, whatever the R-DEM-7 cell."""
    requested = datetime(2026, 3, 20, 9, 30)
    assert dl.reply_due(RECEIVED, serious=serious, urgent=urgent, requested=requested) == requested


def test_r_dem_6_requested_time_aware_is_shown_in_office_zone() -> None:
    requested = datetime(2026, 3, 20, 1, 30, tzinfo=UTC)
    due = dl.reply_due(RECEIVED, serious=True, urgent=False, requested=requested)
    assert due == requested
    assert due.tzinfo == SHANGHAI
    assert due.replace(tzinfo=None) == datetime(2026, 3, 20, 9, 30)


def test_r_dem_7_urgent_runs_round_the_clock_over_a_holiday() -> None:
    received = datetime(2026, 10, 1, 22, 30)  # National Day, late evening
    assert dl.reply_due(received, serious=False, urgent=True) == datetime(2026, 10, 2, 0, 30)


# --- Working days across official holidays ("Deadline arithmetic") -------------------------


@pytest.mark.parametrize(
    ("day", "working"),
    [
        (date(2025, 9, 28), True),  # Sunday, make-up working day (National Day 2025)
        (date(2025, 10, 1), False),
        (date(2025, 10, 6), False),  # Mid-Autumn 2025
        (date(2025, 10, 8), False),  # Wednesday, still National Day 2025
        (date(2025, 10, 11), True),  # Saturday, make-up working day
        (date(2026, 2, 14), True),  # Saturday, make-up working day (Spring Festival 2026)
        (date(2026, 2, 16), False),  # Monday, Spring Festival
        (date(2026, 2, 23), False),  # Monday, last day of Spring Festival
        (date(2026, 2, 28), True),  # Saturday, make-up working day
        (date(2026, 9, 20), True),  # Sunday, make-up working day (National Day 2026)
        (date(2026, 9, 25), False),  # Friday, Mid-Autumn 2026
        (date(2026, 10, 7), False),  # Wednesday, National Day 2026
        (date(2026, 10, 10), True),  # Saturday, make-up working day
        (date(2026, 3, 14), False),  # ordinary Saturday
        (date(2026, 3, 11), True),  # ordinary Wednesday
    ],
)
def test_is_workday_official_calendar(day: date, working: bool) -> None:
    assert dl.is_workday(day) is working


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        # 2026 National Day: Wed 09-30 -> Thu 10-08 (1), Fri 10-09 (2).
        (datetime(2026, 9, 30, 10, 0), eod(2026, 10, 9)),
        # 2025 National Day + Mid-Autumn: Tue 09-30 -> Thu 10-09 (1), Fri 10-10 (2).
        (datetime(2025, 9, 30, 16, 0), eod(2025, 10, 10)),
        # 2026 Mid-Autumn: Thu 09-24 -> Mon 09-28 (1), Tue 09-29 (2).
        (datetime(2026, 9, 24, 10, 0), eod(2026, 9, 29)),
    ],
)
def test_two_working_days_across_national_day(received: datetime, expected: datetime) -> None:
    """R-DEM-7 not urgent: 2 working days skip the whole Golden Week."""
    assert dl.reply_due(received, serious=True, urgent=False) == expected


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        # Fri 02-13 -> Sat 02-14 make-up (1), 02-15..02-23 off, Tue 02-24 (2).
        (datetime(2026, 2, 13, 10, 0), eod(2026, 2, 24)),
        # Fri 02-27 -> Sat 02-28 make-up (1), Sun 03-01 off, Mon 03-02 (2).
        (datetime(2026, 2, 27, 10, 0), eod(2026, 3, 2)),
        # Received on the make-up Saturday itself: it is the start day, so it never counts.
        (datetime(2026, 2, 14, 10, 0), eod(2026, 2, 25)),
    ],
)
def test_two_working_days_across_spring_festival(received: datetime, expected: datetime) -> None:
    """R-DEM-7 not urgent across Spring Festival 2026, make-up Saturdays counting."""
    assert dl.reply_due(received, serious=False, urgent=False) == expected


@pytest.mark.parametrize(
    ("received", "expected"),
    [
        (datetime(2026, 9, 18, 15, 0), eod(2026, 9, 20)),  # Fri -> make-up Sunday 09-20
        (datetime(2026, 10, 9, 15, 0), eod(2026, 10, 10)),  # Fri -> make-up Saturday 10-10
        (datetime(2025, 9, 26, 15, 0), eod(2025, 9, 28)),  # Fri -> make-up Sunday 2025-09-28
        (datetime(2025, 10, 10, 15, 0), eod(2025, 10, 11)),  # Fri -> make-up Saturday 10-11
        (datetime(2026, 2, 13, 15, 0), eod(2026, 2, 14)),  # Fri -> make-up Saturday 02-14
    ],
)
def test_r_dem_6_invalid_notice_lands_on_make_up_weekend(
    received: datetime, expected: datetime
) -> None:
    """R-DEM-6: 1 working day; a make-up weekend day (调休补班) is that working day."""
    assert dl.invalid_notice_due(received) == expected


def test_r_dem_6_invalid_notice_over_national_day() -> None:
    assert dl.invalid_notice_due(datetime(2026, 9, 30, 17, 0)) == eod(2026, 10, 8)


def test_r_dem_6_invalid_notice_ordinary_day() -> None:
    assert dl.invalid_notice_due(datetime(2026, 3, 10, 15, 0)) == eod(2026, 3, 11)


def test_received_on_a_holiday_start_day_not_counted() -> None:
    """R-DEM-7: received Sat 2026-10-03 (National Day) -> Thu 10-08 (1), Fri 10-09 (2)."""
    received = datetime(2026, 10, 3, 9, 0)
    assert dl.reply_due(received, serious=False, urgent=False) == eod(2026, 10, 9)


def test_received_on_first_day_of_spring_festival() -> None:
    received = datetime(2026, 2, 15, 8, 0)  # Sunday, 除夕 eve of the break
    assert dl.add_working_days(received, 2) == eod(2026, 2, 25)


@pytest.mark.parametrize(
    "received",
    [datetime(2026, 3, 10, 0, 0), datetime(2026, 3, 10, 23, 59), datetime(2026, 3, 10, 23, 59, 59)],
)
def test_start_day_never_counts_whatever_the_time(received: datetime) -> None:
    """SPEC "Deadline arithmetic": Tue 00:00 and Tue 23:59 both give end of Thursday."""
    assert dl.reply_due(received, serious=False, urgent=False) == eod(2026, 3, 12)


def test_midnight_belongs_to_the_new_day() -> None:
    """Wed 00:00 starts Wednesday, so the 2 working days are Thu and Fri."""
    assert dl.add_working_days(datetime(2026, 3, 11, 0, 0), 2) == eod(2026, 3, 13)


def test_urgent_at_23_59_crosses_midnight() -> None:
    due = dl.reply_due(datetime(2026, 3, 10, 23, 59), serious=True, urgent=True)
    assert due == datetime(2026, 3, 11, 1, 59)


# --- Office overrides ----------------------------------------------------------------------


def test_override_makes_a_normal_workday_a_day_off() -> None:
    dl.set_overrides({date(2026, 3, 11): False})  # Wednesday closed by the office
    assert dl.is_workday(date(2026, 3, 11)) is False
    # Tue -> Thu 03-12 (1), Fri 03-13 (2)
    assert dl.reply_due(RECEIVED, serious=False, urgent=False) == eod(2026, 3, 13)


def test_override_makes_a_weekend_a_workday() -> None:
    dl.set_overrides({date(2026, 3, 14): True})  # Saturday worked
    assert dl.is_workday(date(2026, 3, 14)) is True
    # Thu 03-12 -> Fri 03-13 (1), Sat 03-14 (2)
    assert dl.add_working_days(datetime(2026, 3, 12, 9, 0), 2) == eod(2026, 3, 14)


def test_override_wins_over_official_holiday() -> None:
    dl.set_overrides({date(2026, 10, 5): True})
    assert dl.is_workday(date(2026, 10, 5)) is True
    # Wed 09-30 -> Mon 10-05 override (1), Thu 10-08 (2)
    assert dl.add_working_days(datetime(2026, 9, 30, 10, 0), 2) == eod(2026, 10, 8)


def test_set_overrides_replaces_whole_map_and_get_returns_copy() -> None:
    dl.set_overrides({date(2026, 3, 11): False})
    dl.set_overrides({date(2026, 3, 14): True})
    assert dl.get_overrides() == {date(2026, 3, 14): True}
    copy = dl.get_overrides()
    copy[date(2026, 3, 16)] = False
    assert dl.is_workday(date(2026, 3, 16)) is True


def test_set_overrides_rejects_datetime_keys() -> None:
    with pytest.raises(TypeError):
        dl.set_overrides({datetime(2026, 3, 11, 0, 0): False})


# --- Years without official data -----------------------------------------------------------


def test_2027_falls_back_to_monday_to_friday_without_exception() -> None:
    """SPEC "Deadline arithmetic": no data for 2027 -> Mon-Fri, never fail."""
    assert dl.is_workday(date(2027, 1, 1)) is True  # Friday (no 2027 notice in the package)
    assert dl.is_workday(date(2027, 1, 2)) is False  # Saturday
    assert dl.is_workday(date(2027, 1, 4)) is True  # Monday
    # Thu 2026-12-31 -> Fri 2027-01-01 (1), Mon 01-04 (2)
    assert dl.add_working_days(datetime(2026, 12, 31, 10, 0), 2) == eod(2027, 1, 4)


def test_2027_overrides_fill_the_missing_schedule() -> None:
    dl.set_overrides({date(2027, 1, 1): False, date(2027, 1, 9): True})
    assert dl.add_working_days(datetime(2026, 12, 31, 10, 0), 2) == eod(2027, 1, 5)
    assert dl.add_working_days(datetime(2027, 1, 8, 10, 0), 1) == eod(2027, 1, 9)


def test_years_without_data() -> None:
    assert dl.years_without_data([2026, 2027]) == [2027]
    assert dl.years_without_data([2028, 2025, 2027, 2027]) == [2027, 2028]
    assert dl.has_official_data(2025) is True
    assert dl.has_official_data(2026) is True
    assert dl.has_official_data(2027) is False


def test_fallback_warning_in_chinese() -> None:
    assert dl.fallback_warning([2026]) is None
    assert dl.fallback_warning([2026, 2027]) == (
        "2027年无官方节假日数据，按周一至周五计算；请在节假日调整表中录入"
    )


