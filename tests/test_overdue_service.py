"""The service routines (R-SVC-2/3/4) at their boundaries: a day without a duty director, a
hand-over nobody acknowledged, a month without a survey or a committee contact. The day and
month gaps flag the estate row, and say the gap in words."""

from __future__ import annotations

import datetime as dt

import pytest
from overdue_support import (
    committee_contact,
    duty_directors,
    handover,
    midnight,
    staff_of,
    survey,
    survey_round,
)
from test_overdue_rules import SECOND, flagged, history

from jobs.overdue import RULES
from jobs.rules.service import checked_month, duty_director_words, month_words
from models.estate import Estate
from models.register import void_record
from models.roster import DutyDirector, ShiftLog

RULE = {rule.id: rule for rule in RULES}


@pytest.fixture
def staff(conn, estate):
    return staff_of(estate)


def days(first: dt.date, count: int) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range(count)]


def test_a_day_without_a_duty_director_in_the_next_week(app, staff, estate, other_estate):
    first = dt.date(2026, 11, 10)
    # An estate that never named one is not held to it (the front desk warns daily instead).
    assert flagged("duty_director_missing", midnight(first)) == set()
    duty_directors(estate, staff["boss"], days(first, 7))  # the 10th to the 16th
    assert flagged("duty_director_missing", midnight(first + dt.timedelta(days=1)) - SECOND) \
        == set()
    # At midnight the window moves on to the 17th, which nobody is named for.
    turn = midnight(first + dt.timedelta(days=1))
    assert flagged("duty_director_missing", turn + SECOND) == {estate.id}
    assert duty_director_words(estate.id, turn + SECOND) == ["11月17日"]
    assert RULE["duty_director_missing"].model is Estate

    duty_directors(estate, staff["lead"], [dt.date(2026, 11, 17)])
    assert flagged("duty_director_missing", turn + 2 * SECOND) == set()
    assert history("duty_director_missing") == [(turn + SECOND, turn + 2 * SECOND)]
    # A voided director leaves the day open again; the window length is a setting.
    void_record(DutyDirector.get(DutyDirector.day == dt.date(2026, 11, 13)), staff["boss"],
                "临时出差")
    assert flagged("duty_director_missing", turn + 3 * SECOND) == {estate.id}
    assert duty_director_words(estate.id, turn + 3 * SECOND) == ["11月13日"]
    app.config["JOBS_DUTY_DIRECTOR_DAYS"] = 2
    with app.app_context():
        assert flagged("duty_director_missing", turn + 4 * SECOND) == set()


def test_hand_over_not_acknowledged(app, staff, estate):
    written = dt.datetime(2026, 11, 10, 16, 50, tzinfo=dt.UTC)
    log = handover(estate, staff["desk"], written)
    limit = written + dt.timedelta(hours=2)
    assert flagged("handover_unacknowledged", limit - SECOND) == set()
    assert flagged("handover_unacknowledged", limit + SECOND) == {log.id}
    ShiftLog.get_by_id(log.id).acknowledge(staff["lead"], note="已接班",
                                           at=limit + SECOND)
    assert flagged("handover_unacknowledged", limit + 2 * SECOND) == set()


@pytest.fixture
def long_running(estate):
    """The estate has used the product since January: every month since is owed."""
    Estate.update(created_at=midnight(dt.date(2026, 1, 1))).where(
        Estate.id == estate.id).execute()
    return estate


def test_month_without_a_satisfaction_survey(app, staff, long_running):
    estate = long_running
    survey(estate, staff["desk"], midnight(dt.date(2026, 9, 15)) + dt.timedelta(hours=10))
    october_over = midnight(dt.date(2026, 11, 1))
    # Until October is over, September (surveyed) is the month looked at.
    assert checked_month(october_over - SECOND) == dt.date(2026, 9, 1)
    assert flagged("survey_missing", october_over - SECOND) == set()
    assert flagged("survey_missing", october_over + SECOND) == {estate.id}
    assert month_words(estate.id, october_over + SECOND) == ["2026年10月"]
    # A round with no visit is not a survey; recording the visit (dated in October) is.
    survey_round(estate, staff["desk"], dt.date(2026, 10, 1))
    assert flagged("survey_missing", october_over + 2 * SECOND) == {estate.id}
    survey(estate, staff["desk"], midnight(dt.date(2026, 10, 28)) + dt.timedelta(hours=15))
    assert flagged("survey_missing", october_over + 3 * SECOND) == set()


def test_warning_days_before_the_month_ends(app, staff, long_running):
    estate = long_running
    survey(estate, staff["desk"], midnight(dt.date(2026, 10, 15)))
    app.config["JOBS_MONTHLY_CHECK_DAYS_BEFORE_END"] = 5
    warn = midnight(dt.date(2026, 11, 26))  # five days before December
    with app.app_context():
        assert flagged("survey_missing", warn - SECOND) == set()
        assert flagged("survey_missing", warn + SECOND) == {estate.id}
        assert month_words(estate.id, warn + SECOND) == ["2026年11月"]


def test_month_without_a_committee_contact(app, staff, long_running, other_estate):
    estate = long_running
    october_over = midnight(dt.date(2026, 11, 1))
    september_30 = midnight(dt.date(2026, 9, 30)) + dt.timedelta(hours=10)
    committee_contact(estate, staff["boss"], september_30)
    assert flagged("committee_missing", october_over - SECOND) == set()
    # The other estate was set up today: no month of it is over yet.
    assert flagged("committee_missing", october_over + SECOND) == {estate.id}
    committee_contact(estate, staff["boss"], october_over - dt.timedelta(minutes=5))  # Oct 31
    assert flagged("committee_missing", october_over + 2 * SECOND) == set()
