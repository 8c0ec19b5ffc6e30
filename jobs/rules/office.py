"""The office's registers (issue #5): emergencies, printing, move-ins, batch services, tenancies.

Defaults where the manual gives no number (settings, README):

* JOBS_EMERGENCY_OPEN_HOURS (24): an incident still 处置中 (not stabilised) this long after it
  occurred is flagged (R-EMG-1: limit the damage at once).
* JOBS_EMERGENCY_AFTERMATH_DAYS (3): stabilised (or closed) and still without cause,
  responsible person, remedial or preventive measures this many days later (R-EMG-3).
* JOBS_PRINT_APPROVAL_HOURS (4): a print job waiting for its supervisor (R-PRINT-1).
* JOBS_MOVEIN_STEP_DAYS (7): a move-in that has not moved on from its current step for this
  many days since the previous step was done (or since it was recorded, at step 1) (R-MOVE-2).
* BATCH_NOTICE_DAYS (3, the batch register's own setting): owners are told at least this many
  days before a batch day (R-JOB-1/2); a batch not notified by then is flagged from the first
  day after its notice deadline, until notified, moved, done or voided.
* Rectification items (R-FRONT-2) still in work after the deadline in force (set at 交办 or
  at a rework, in working days): flagged from the first second after it.
* Tenancies past their end date (the day after `ends`, office time) and not ended (退租) nor
  renewed (a later end date).
"""

from __future__ import annotations

import datetime as dt

from peewee import fn

from jobs.rules import days_setting, hours_setting, not_voided, office_today
from models.batches import ServiceBatch, notice_days
from models.emergencies import Emergency
from models.movein import DONE, MoveIn
from models.printing import PrintJob
from models.rectification import Rectification
from models.tenancy import Tenancy

DEFAULT_EMERGENCY_OPEN_HOURS = 24
DEFAULT_EMERGENCY_AFTERMATH_DAYS = 3
DEFAULT_PRINT_APPROVAL_HOURS = 4
DEFAULT_MOVEIN_STEP_DAYS = 7
# R-EMG-3: what the director must have found and decided after the incident.
AFTERMATH_FIELDS = ("cause", "responsible_person", "remedial_measures", "preventive_measures")


def _blank(field):
    return field.is_null() | (fn.TRIM(field) == "")


def emergency_open_too_long(now: dt.datetime):
    """Incidents not stabilised JOBS_EMERGENCY_OPEN_HOURS after they occurred."""
    cutoff = now - hours_setting("JOBS_EMERGENCY_OPEN_HOURS", DEFAULT_EMERGENCY_OPEN_HOURS)
    return Emergency.select().where(not_voided(Emergency), Emergency.state == "open",
                                    Emergency.occurred_at < cutoff)


def emergency_aftermath_missing(now: dt.datetime):
    """Stabilised or closed, and cause / responsible person / measures still blank (R-EMG-3)."""
    days = days_setting("JOBS_EMERGENCY_AFTERMATH_DAYS", DEFAULT_EMERGENCY_AFTERMATH_DAYS)
    missing = _blank(getattr(Emergency, AFTERMATH_FIELDS[0]))
    for name in AFTERMATH_FIELDS[1:]:
        missing = missing | _blank(getattr(Emergency, name))
    return Emergency.select().where(
        not_voided(Emergency), Emergency.state.in_(("stabilised", "closed")),
        Emergency.stabilised_at < now - dt.timedelta(days=days), missing)


def print_job_unapproved(now: dt.datetime):
    """Print jobs still waiting for their supervisor's approval (R-PRINT-1)."""
    cutoff = now - hours_setting("JOBS_PRINT_APPROVAL_HOURS", DEFAULT_PRINT_APPROVAL_HOURS)
    return PrintJob.select().where(not_voided(PrintJob), PrintJob.state == "requested",
                                   PrintJob.requested_at < cutoff)


def move_in_stuck(now: dt.datetime):
    """Move-ins that have not passed their current step for JOBS_MOVEIN_STEP_DAYS days.

    The steps are done in order, so "since when at this step" is the previous step's time
    (the record's own time at step 1): one indexed comparison per step, no per-row arithmetic.
    """
    cutoff = now - dt.timedelta(days=days_setting("JOBS_MOVEIN_STEP_DAYS",
                                                  DEFAULT_MOVEIN_STEP_DAYS))
    stuck = (MoveIn.current_step == 1) & (MoveIn.created_at < cutoff)
    for step in range(2, DONE):
        since = getattr(MoveIn, f"step{step - 1}_at")
        stuck = stuck | ((MoveIn.current_step == step) & (since < cutoff))
    return MoveIn.select().where(not_voided(MoveIn), MoveIn.current_step < DONE, stuck)


def batch_notice_late(now: dt.datetime):
    """Batches whose owners were not told by the notice deadline (day − BATCH_NOTICE_DAYS).

    Past the deadline means today > day − N, i.e. day < today + N.
    """
    last_day = office_today(now) + dt.timedelta(days=notice_days())
    # Not notified and not done is the state 待通知 (the `state` index).
    return ServiceBatch.select().where(not_voided(ServiceBatch), ServiceBatch.state == "planned",
                                       ServiceBatch.notice_at.is_null(),
                                       ServiceBatch.day < last_day)


def tenancy_past_end(now: dt.datetime):
    """Leases whose last day is behind us and that nobody ended (退租) or renewed."""
    return Tenancy.select().where(not_voided(Tenancy), Tenancy.ended_on.is_null(),
                                  Tenancy.ends < office_today(now))


def rectification_overdue(now: dt.datetime):
    """整改 items handed out and not done by their deadline (R-FRONT-2, issue #15)."""
    return Rectification.overdue(now)
