"""The one scheduler process: APScheduler 3 firing the JOBS table's cron slots.

Only `flask --app app jobs run` builds one; web workers never do. Whatever number of schedulers
end up pointed at one database, the lease table (jobs/lease.py) lets each slot run once.

APScheduler does not tell a job which slot fired it, so a job works its slot out from its own
trigger: the latest fire time not after now. Every scheduler computes the same answer for the
same cron, which is what makes the slot a shared name.
"""

from __future__ import annotations

import datetime as dt

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask
from flask_babel import gettext

from jobs import lease
from jobs.registry import JOBS, JOBS_BY_ID
from jobs.runner import Job, own_connection, run_job
from models.base import office_tz, utcnow
from models.i18n import office_text

JOB_DEFAULTS = {
    # A backlog of missed slots (the machine slept) runs once, not once per slot.
    "coalesce": True,
    "max_instances": 1,
    # APScheduler's default of 1 s drops a slot whenever the process is briefly busy.
    "misfire_grace_time": 3600,
}


def schedule_for(job: Job, config) -> dict | None:
    """The job's cron fields: config JOBS_SCHEDULE[job id] if set (None disables), else JOBS."""
    overrides = config.get("JOBS_SCHEDULE") or {}
    unknown = sorted(set(overrides) - set(JOBS_BY_ID))
    if unknown:
        raise ValueError(f"JOBS_SCHEDULE 中有未知的任务编号：{', '.join(unknown)}")
    if job.id in overrides:
        return dict(overrides[job.id]) if overrides[job.id] else None
    return dict(job.cron)


def trigger_for(job: Job, config) -> CronTrigger | None:
    cron = schedule_for(job, config)
    return CronTrigger(timezone=office_tz(), **cron) if cron else None


def describe_schedule(job: Job, config) -> str:
    """The schedule in words for `jobs list` and the runs page."""
    cron = schedule_for(job, config)
    if not cron:
        return gettext("未启用")
    hour, minute = str(cron.get("hour", "")), str(cron.get("minute", ""))
    if set(cron) == {"minute"} and minute.startswith("*/"):
        text = gettext("每 %(minutes)s 分钟", minutes=minute[2:])
    elif set(cron) == {"hour", "minute"} and hour.isdigit() and minute.isdigit():
        text = gettext("每天 %(time)s", time=f"{int(hour):02d}:{int(minute):02d}")
    else:
        text = "cron " + " ".join(f"{key}={value}" for key, value in cron.items())
    return text + (gettext("（启动时补跑错过的时段）") if job.catch_up else "")


def last_fire_time(trigger: CronTrigger, now: dt.datetime) -> dt.datetime | None:
    """The trigger's latest fire time at or before `now` (None if none within ~a year)."""
    lookback = dt.timedelta(hours=1)
    while lookback <= dt.timedelta(days=400):
        fire = trigger.get_next_fire_time(None, now - lookback)
        if fire is not None and fire <= now:
            while True:
                following = trigger.get_next_fire_time(fire, fire)
                if following is None or following > now:
                    return fire
                fire = following
        lookback *= 2
    return None


def run_scheduled(app: Flask, job_id: str, trigger: CronTrigger) -> None:
    """What APScheduler calls: run the slot that just fired, if no other scheduler has."""
    now = utcnow()
    fire = last_fire_time(trigger, now) or now
    run_job(JOBS_BY_ID[job_id], app=app, slot=lease.slot_key(fire), slot_time=fire,
            trigger="schedule", now=now)


def run_catch_ups(app: Flask, missed: list[tuple[str, dt.datetime]]) -> None:
    """Run the missed slots one after another, in JOBS order: the digest after the sweep."""
    for job_id, slot_time in missed:
        run_job(JOBS_BY_ID[job_id], app=app, slot=lease.slot_key(slot_time),
                slot_time=slot_time, trigger="catch_up")


def schedule_jobs(scheduler: BaseScheduler, app: Flask) -> list[str]:
    """Add every enabled job under its stable id; calling it again replaces, never duplicates."""
    scheduled = []
    for job in JOBS:
        # Before start() APScheduler only queues jobs, and replace_existing is not applied
        # until then: remove an earlier copy explicitly.
        if scheduler.get_job(job.id) is not None:
            scheduler.remove_job(job.id)
        trigger = trigger_for(job, app.config)
        if trigger is None:
            continue
        scheduler.add_job(run_scheduled, trigger, args=(app, job.id, trigger), id=job.id,
                          name=office_text(job.label), replace_existing=True, **JOB_DEFAULTS)
        scheduled.append(job.id)
    return scheduled


def pending_catch_ups(app: Flask, now: dt.datetime | None = None) -> list[tuple[Job, dt.datetime]]:
    """Jobs whose latest slot was missed (nothing ran at or after it): (job, that slot)."""
    now = now or utcnow()
    missed = []
    with app.app_context(), own_connection():
        for job in JOBS:
            trigger = trigger_for(job, app.config) if job.catch_up else None
            slot_time = last_fire_time(trigger, now) if trigger else None
            if slot_time is not None and not lease.ran_since(job.id, slot_time):
                missed.append((job, slot_time))
    return missed


def queue_catch_ups(scheduler: BaseScheduler, app: Flask,
                    now: dt.datetime | None = None) -> list[tuple[Job, dt.datetime]]:
    """Queue the missed slots, to run (in order) as soon as the scheduler starts."""
    missed = pending_catch_ups(app, now)
    if missed:
        scheduler.add_job(run_catch_ups, args=(app, [(job.id, slot) for job, slot in missed]),
                          id="catch_up", name="补跑错过的时段", replace_existing=True,
                          **JOB_DEFAULTS)
    return missed


def build_scheduler(app: Flask, scheduler_class: type[BaseScheduler] = BlockingScheduler,
                    **options) -> BaseScheduler:
    """A scheduler with every job scheduled (not started)."""
    scheduler = scheduler_class(
        timezone=office_tz(), job_defaults=JOB_DEFAULTS,
        # A thread per job: a slow robot in the digest never delays the overdue sweep.
        executors={"default": ThreadPoolExecutor(max_workers=2 * len(JOBS))}, **options)
    schedule_jobs(scheduler, app)
    return scheduler
