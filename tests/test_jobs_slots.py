"""#15: every scheduled slot ends with a run row — done, failed or skipped, and why."""

from __future__ import annotations

import datetime as dt

from peewee import OperationalError
from test_jobs_support import at

from jobs import lease, runner
from jobs.models import JobLease, JobRun
from jobs.registry import get_job
from jobs.runner import run_job
from jobs.scheduler import pending_catch_ups


def _stuck_run(job_id: str, now: dt.datetime) -> str:
    """A run of another slot that still holds the job (its scheduler died, lease not expired)."""
    holder = "other-host:4242:dead"  # another machine: only the expiry can free it
    JobLease.create(job=job_id, slot="stuck-slot", slot_time=now, holder=holder, acquired_at=now,
                    expires_at=now + dt.timedelta(minutes=15), state="held")
    JobRun.create(job=job_id, slot="stuck-slot", holder=holder, started_at=now)
    return holder


def test_a_slot_blocked_by_a_dead_schedulers_lease_is_recorded_as_skipped(app, conn):
    job = get_job("mark_overdue")
    now = at(2026, 11, 26, 10, 0)
    _stuck_run(job.id, now)
    fire = now + dt.timedelta(minutes=15)
    skipped = run_job(job, app=app, slot=lease.slot_key(fire), slot_time=fire,
                      trigger="schedule", now=fire)
    assert skipped.status == "skipped" and skipped.status_label == "跳过"
    assert "stuck-slot" in skipped.note and "other-host:4242:dead" in skipped.note
    assert "过期" in skipped.note and skipped.finished_at is not None
    # A second scheduler firing the same slot records no second row.
    assert run_job(job, app=app, slot=lease.slot_key(fire), slot_time=fire,
                   trigger="schedule", now=fire) is None
    assert JobRun.select().where(JobRun.slot == lease.slot_key(fire)).count() == 1
    # A manual "run now" is still refused to the person asking (they see it at once).
    assert run_job(job, app=app, now=fire) is None
    # Once the stuck lease expires, the next slot runs.
    later = now + dt.timedelta(minutes=30)
    run = run_job(job, app=app, slot=lease.slot_key(later), slot_time=later,
                  trigger="schedule", now=later)
    assert run.status == "succeeded"


def test_a_skipped_nightly_slot_is_still_caught_up(app, conn):
    app.config["JOBS_SCHEDULE"] = {"mark_overdue": {"hour": "1", "minute": "0"}}
    job = get_job("mark_overdue")
    night = at(2026, 11, 26, 1, 0)
    _stuck_run(job.id, night - dt.timedelta(minutes=5))
    run_job(job, app=app, slot=lease.slot_key(night), slot_time=night, trigger="schedule",
            now=night)
    assert JobLease.get(JobLease.slot == lease.slot_key(night)).state == "skipped"
    missed = pending_catch_ups(app, at(2026, 11, 26, 8, 0))
    assert "mark_overdue" in [j.id for j, _ in missed]


def test_a_slot_lost_to_a_locked_database_leaves_a_failed_run(app, conn, monkeypatch):
    app.config["JOBS_LOCKED_RETRY_DELAYS"] = (0, 0)
    job = get_job("mark_overdue")
    real = lease.acquire
    calls = []

    def locked(*args, **kwargs):
        calls.append(1)
        raise OperationalError("database is locked")

    monkeypatch.setattr(lease, "acquire", locked)
    fire = at(2026, 11, 26, 10, 15)
    assert run_job(job, app=app, slot=lease.slot_key(fire), slot_time=fire,
                   trigger="schedule", now=fire) is None
    assert len(calls) == 3  # tried, then retried twice
    assert not JobRun.select().exists()  # nothing could be written yet

    monkeypatch.setattr(lease, "acquire", real)
    later = fire + dt.timedelta(minutes=15)
    run = run_job(job, app=app, slot=lease.slot_key(later), slot_time=later,
                  trigger="schedule", now=later)
    assert run.status == "succeeded"
    lost = JobRun.get(JobRun.slot == lease.slot_key(fire))
    assert lost.status == "failed" and "database is locked" in lost.error
    assert runner._PENDING == []


def test_a_briefly_locked_database_only_delays_the_slot(app, conn, monkeypatch):
    app.config["JOBS_LOCKED_RETRY_DELAYS"] = (0, 0, 0)
    real = lease.acquire
    failures = [OperationalError("database is locked")] * 2

    def flaky(*args, **kwargs):
        if failures:
            raise failures.pop()
        return real(*args, **kwargs)

    monkeypatch.setattr(lease, "acquire", flaky)
    fire = at(2026, 11, 26, 10, 15)
    run = run_job(get_job("mark_overdue"), app=app, slot=lease.slot_key(fire), slot_time=fire,
                  trigger="schedule", now=fire)
    assert run.status == "succeeded" and JobRun.select().count() == 1
