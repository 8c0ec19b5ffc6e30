"""The service model's routines (R-SVC-2/3/4): duty directors, hand-overs, monthly contacts.

Three of these have no register row to flag — a day nobody was named for, a month nobody
visited. Their flag is on the estate itself (小区/管理处: its grid shows the 超时 badge and the
filter), one flag per estate and rule while the gap lasts, and the front desk and the digest say
in words what is missing (`*_words(estate_id, now)`: the days, or the month). An estate is held
to them from when it uses the product:

* duty directors — once the estate has named one (before that the front desk already warns,
  every day, that none is set): any day from today through the next JOBS_DUTY_DIRECTOR_DAYS − 1
  days (7 days in all by default) without a duty director is a gap (R-SVC-2).
* the satisfaction survey (R-SVC-3: a round with at least one visit) and the contact with the
  owners' committee (R-SVC-4), every month the estate was set up for in full: a month is checked
  once it is over — or JOBS_MONTHLY_CHECK_DAYS_BEFORE_END days before its end (0 by default),
  to warn while there is still time. Until the next month's check falls due, the last checked
  month stays the one shown (a miss stays visible for a month; recording the visit or the
  contact, even afterwards with its real date, clears it).

The hand-over (交接班) does have a row: a ShiftLog written and not acknowledged by the incoming
shift within JOBS_HANDOVER_ACK_HOURS (2) hours.
"""

from __future__ import annotations

import datetime as dt

from peewee import Value, fn

from jobs.rules import days_setting, hours_setting, not_voided, office_midnight, office_today
from models.committee import CommitteeContact
from models.estate import Estate
from models.roster import DutyDirector, ShiftLog
from models.surveys import SurveyRound, SurveyVisit

DEFAULT_DUTY_DIRECTOR_DAYS = 7
DEFAULT_HANDOVER_ACK_HOURS = 2
DEFAULT_MONTHLY_CHECK_DAYS_BEFORE_END = 0


# --- duty directors ------------------------------------------------------------------------


def duty_window(now: dt.datetime) -> list[dt.date]:
    """Today and the following days that must each have a duty director."""
    today = office_today(now)
    days = max(1, days_setting("JOBS_DUTY_DIRECTOR_DAYS", DEFAULT_DUTY_DIRECTOR_DAYS))
    return [today + dt.timedelta(days=i) for i in range(days)]


def _live_directors():
    # `NOT voided` as written in the one-per-day partial index, so SQLite can use it.
    return DutyDirector.select(Value(1)).where(DutyDirector.estate == Estate.id,
                                               ~DutyDirector.voided)


def duty_director_missing(now: dt.datetime):
    """Estates (that name duty directors) with a day in the window and nobody named."""
    window = duty_window(now)
    named = (DutyDirector.select(fn.COUNT(DutyDirector.id))
             .where(DutyDirector.estate == Estate.id, ~DutyDirector.voided,
                    DutyDirector.day >= window[0], DutyDirector.day <= window[-1]))
    # One live director per estate and day (a unique index): fewer rows than days is a gap.
    return Estate.select().where(Estate.active == True,  # noqa: E712
                                 fn.EXISTS(_live_directors()),
                                 fn.COALESCE(named, 0) < len(window))


def duty_director_words(estate_id: int, now: dt.datetime) -> list[str]:
    """The days of the window without a duty director, e.g. ["12月03日", "12月05日"]."""
    window = duty_window(now)
    named = {day for (day,) in DutyDirector.select(DutyDirector.day).where(
        DutyDirector.estate == estate_id, ~DutyDirector.voided,
        DutyDirector.day >= window[0], DutyDirector.day <= window[-1]).tuples()}
    return [f"{day:%m月%d日}" for day in window if day not in named]


# --- hand-overs ----------------------------------------------------------------------------


def handover_unacknowledged(now: dt.datetime):
    """Hand-over notes the incoming shift has not acknowledged within the configured hours."""
    cutoff = now - hours_setting("JOBS_HANDOVER_ACK_HOURS", DEFAULT_HANDOVER_ACK_HOURS)
    return ShiftLog.select().where(not_voided(ShiftLog), ShiftLog.acknowledged_at.is_null(),
                                   ShiftLog.written_at < cutoff)


# --- the monthly survey and committee contact ----------------------------------------------


def _next_month(first: dt.date) -> dt.date:
    return (first + dt.timedelta(days=32)).replace(day=1)


def checked_month(now: dt.datetime) -> dt.date:
    """The first day of the latest month whose check has fallen due at `now`."""
    before_end = days_setting("JOBS_MONTHLY_CHECK_DAYS_BEFORE_END",
                              DEFAULT_MONTHLY_CHECK_DAYS_BEFORE_END)
    this = office_today(now).replace(day=1)
    if now >= office_midnight(_next_month(this)) - dt.timedelta(days=before_end):
        return this
    return (this - dt.timedelta(days=1)).replace(day=1)


def _estates_owing(month: dt.date):
    """Active estates set up before `month` began (held to that whole month)."""
    return Estate.select().where(Estate.active == True,  # noqa: E712
                                 Estate.created_at <= office_midnight(month))


def survey_missing(now: dt.datetime):
    """Estates without a satisfaction survey (a round with a visit) in the checked month."""
    month = checked_month(now)
    visited = SurveyVisit.select(Value(1)).where(SurveyVisit.round == SurveyRound.id,
                                                 ~SurveyVisit.voided)
    done = SurveyRound.select(Value(1)).where(SurveyRound.estate == Estate.id,
                                              ~SurveyRound.voided, SurveyRound.month == month,
                                              fn.EXISTS(visited))
    return _estates_owing(month).where(~fn.EXISTS(done))


def committee_missing(now: dt.datetime):
    """Estates without a recorded contact with the owners' committee in the checked month."""
    month = checked_month(now)
    held = CommitteeContact.select(Value(1)).where(
        CommitteeContact.estate == Estate.id, not_voided(CommitteeContact),
        CommitteeContact.held_at >= office_midnight(month),
        CommitteeContact.held_at < office_midnight(_next_month(month)))
    return _estates_owing(month).where(~fn.EXISTS(held))


def month_words(estate_id: int, now: dt.datetime) -> list[str]:
    """The month the survey / committee rules looked at, e.g. ["2026年11月"]."""
    return [f"{checked_month(now):%Y年%m月}"]
