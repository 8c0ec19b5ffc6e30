"""The scheduler: one job per id, one run per slot across schedulers, catch-up, leases, CLI."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest
from apscheduler.events import EVENT_JOB_EXECUTED
from apscheduler.schedulers.background import BackgroundScheduler
from test_jobs_support import at, new_demand

from jobs import lease
from jobs.digest import latest_digest
from jobs.models import JobLease, JobRun
from jobs.registry import JOBS, get_job
from jobs.runner import run_job
from jobs.scheduler import (
    build_scheduler,
    describe_schedule,
    last_fire_time,
    pending_catch_ups,
    queue_catch_ups,
    schedule_jobs,
    trigger_for,
)
from models.base import db

ROOT = Path(__file__).resolve().parents[1]
EVERY_SECOND = {"mark_overdue": {"second": "*"}, "sheets_sync": None, "daily_digest": None,
                "send_outbox": None}


def wait_for(condition, timeout: float = 60.0) -> None:
    """Poll until `condition()` holds (a liveness bound, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached")
        time.sleep(0.05)


def runs_per_slot(job_id: str = "mark_overdue") -> Counter:
    with db.connection_context():
        return Counter(slot for (slot,) in JobRun.select(JobRun.slot)
                       .where(JobRun.job == job_id).tuples())


def test_scheduling_twice_yields_one_job_per_id(app):
    scheduler = BackgroundScheduler()
    schedule_jobs(scheduler, app)
    schedule_jobs(scheduler, app)
    assert sorted(j.id for j in scheduler.get_jobs()) == sorted(j.id for j in JOBS)

    scheduler.start(paused=True)
    try:
        schedule_jobs(scheduler, app)
        jobs = scheduler.get_jobs()
        assert sorted(j.id for j in jobs) == sorted(j.id for j in JOBS)
        for job in jobs:
            assert job.coalesce is True and job.max_instances == 1
            assert job.misfire_grace_time >= 600
    finally:
        scheduler.shutdown(wait=False)


def test_schedule_can_be_changed_or_disabled_in_config(app):
    app.config["JOBS_SCHEDULE"] = {"mark_overdue": {"hour": "1", "minute": "0"},
                                   "sheets_sync": None}
    scheduler = BackgroundScheduler()
    assert schedule_jobs(scheduler, app) == ["mark_overdue", "daily_digest", "nightly_backup",
                                             "send_outbox", "review_figures", "db_statistics"]
    assert describe_schedule(get_job("mark_overdue"), app.config).startswith("每天 01:00")
    assert describe_schedule(get_job("sheets_sync"), app.config) == "未启用"
    app.config["JOBS_SCHEDULE"] = {"no_such_job": None}
    with pytest.raises(ValueError, match="no_such_job"):
        schedule_jobs(scheduler, app)


def test_last_fire_time_is_the_slot_that_just_fired(app):
    every_quarter = trigger_for(get_job("mark_overdue"), app.config)
    assert last_fire_time(every_quarter, at(2026, 11, 26, 10, 7, 30)) == at(2026, 11, 26, 10, 0)
    assert last_fire_time(every_quarter, at(2026, 11, 26, 10, 15)) == at(2026, 11, 26, 10, 15)
    digest = trigger_for(get_job("daily_digest"), app.config)
    assert last_fire_time(digest, at(2026, 11, 26, 8, 0)) == at(2026, 11, 25, 8, 30)


def test_concurrent_attempts_at_one_slot_run_it_once(app, conn):
    job = get_job("mark_overdue")
    slots = [at(2026, 11, 26, 1, 0) + dt.timedelta(minutes=15 * i) for i in range(3)]
    results = []

    def attempt(barrier, slot_time):
        barrier.wait()
        run = run_job(job, app=app, slot=lease.slot_key(slot_time), slot_time=slot_time,
                      trigger="schedule")
        results.append((slot_time, run is not None))

    for slot_time in slots:
        barrier = threading.Barrier(4)
        threads = [threading.Thread(target=attempt, args=(barrier, slot_time))
                   for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert Counter(slot for slot, ran in results if ran) == Counter(slots)
    assert runs_per_slot() == Counter({lease.slot_key(s): 1 for s in slots})


def test_two_schedulers_on_one_database_run_each_slot_once(app):
    app.config["JOBS_SCHEDULE"] = EVERY_SECOND
    executed = Counter()
    schedulers = []
    for name in ("a", "b"):
        scheduler = build_scheduler(app, BackgroundScheduler)
        scheduler.add_listener(lambda event, name=name: executed.update([name]),
                               EVENT_JOB_EXECUTED)
        schedulers.append(scheduler)
    for scheduler in schedulers:
        scheduler.start()
    try:
        wait_for(lambda: len(runs_per_slot()) >= 4 and min(executed.values(), default=0) >= 3
                 and len(executed) == 2)
    finally:
        for scheduler in schedulers:
            scheduler.shutdown(wait=True)
    counts = runs_per_slot()
    assert set(counts.values()) == {1}
    # Both fired the same slots; the losers stood down without a run row.
    assert sum(executed.values()) > len(counts)
    with db.connection_context():
        assert not JobLease.select().where(JobLease.state == "held").exists()


def test_two_scheduler_processes_never_double_a_run(app, conn):
    """`flask jobs run` twice on one database (make run plus a second process)."""
    env = {**os.environ, "FLASK_DATABASE_URL": app.config["DATABASE_URL"],
           "FLASK_SECRET_KEY": "x", "FLASK_JOBS_SCHEDULE": json.dumps(EVERY_SECOND),
           "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "flask", "--app", "app", "jobs", "run"]
    processes = [subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True) for _ in range(2)]
    try:
        wait_for(lambda: len(runs_per_slot()) >= 4 or any(p.poll() is not None
                                                          for p in processes))
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        outputs = [process.communicate(timeout=60)[0] for process in processes]
    for process, output in zip(processes, outputs, strict=True):
        assert process.returncode == 0, output
        assert "调度器已启动" in output and "调度器已停止" in output
    counts = runs_per_slot()
    assert len(counts) >= 4 and set(counts.values()) == {1}
    statuses = Counter(status for (status,) in JobRun.select(JobRun.status).tuples())
    # A sweep still running when the next second's slot fires (the other process, a slow CI
    # machine) makes that slot "skipped", naming the run that held the job; nothing else.
    assert statuses["succeeded"] >= 1 and set(statuses) <= {"succeeded", "skipped"}
    for run in JobRun.select().where(JobRun.status == "skipped"):
        assert "仍持有租约" in run.note
    # Stopped with SIGTERM, each let its running job finish: no lease is left to expire.
    assert not JobLease.select().where(JobLease.state == "held").exists()


def test_catch_up_runs_the_missed_nightly_slot(app, conn):
    app.config["JOBS_SCHEDULE"] = {"mark_overdue": {"hour": "1", "minute": "0"},
                                   "sheets_sync": None, "daily_digest": None,
                                   "nightly_backup": None, "db_statistics": None}
    job = get_job("mark_overdue")
    two_nights_ago = at(2026, 11, 24, 1, 0)
    run_job(job, app=app, slot=lease.slot_key(two_nights_ago), slot_time=two_nights_ago,
            trigger="schedule", now=two_nights_ago)
    # Started at 08:00 on the 26th: the 01:00 slot of the 26th (and of the 25th) was missed.
    started = at(2026, 11, 26, 8, 0)
    assert [(j.id, s) for j, s in pending_catch_ups(app, started)] == [
        ("mark_overdue", at(2026, 11, 26, 1, 0))]

    scheduler = BackgroundScheduler()
    queued = queue_catch_ups(scheduler, app, started)
    assert [j.id for j, _ in queued] == ["mark_overdue"]
    scheduler.start()
    try:
        wait_for(lambda: JobRun.select().where(JobRun.trigger == "catch_up",
                                               JobRun.finished_at.is_null(False)).exists())
    finally:
        scheduler.shutdown(wait=True)
    caught = JobRun.get(JobRun.trigger == "catch_up")
    assert caught.status == "succeeded"
    assert caught.slot == lease.slot_key(at(2026, 11, 26, 1, 0))
    assert caught.slot_time == at(2026, 11, 26, 1, 0)
    assert pending_catch_ups(app, started) == []
    # The same night seen from a scheduler that ran it: nothing to catch up.
    assert pending_catch_ups(app, at(2026, 11, 26, 23, 0)) == []


def test_catch_up_sweeps_before_the_digest_summarises(app, conn, make_user, estate):
    clerk = make_user("clerk1", "clerk", estate)
    new_demand(clerk, estate, at(2026, 11, 2, 9, 0))
    started = at(2026, 11, 26, 8, 0)
    scheduler = BackgroundScheduler()
    queued = queue_catch_ups(scheduler, app, started)
    # The nightly backup (#13) and the planner's statistics (#14) are caught up too, after the
    # digest (JOBS order).
    assert [j.id for j, _ in queued] == ["mark_overdue", "daily_digest", "nightly_backup",
                                         "db_statistics"]
    scheduler.start()
    try:
        wait_for(lambda: JobRun.select().where(JobRun.trigger == "catch_up",
                                               JobRun.finished_at.is_null(False)).count() == 4)
    finally:
        scheduler.shutdown(wait=True)
    runs = list(JobRun.select().order_by(JobRun.id))
    assert [(r.job, r.status) for r in runs] == [("mark_overdue", "succeeded"),
                                                 ("daily_digest", "succeeded"),
                                                 ("nightly_backup", "succeeded"),
                                                 ("db_statistics", "succeeded")]
    assert latest_digest(estate.id).new_total == 1


def test_no_catch_up_when_the_night_ran(app, conn):
    app.config["JOBS_SCHEDULE"] = {"mark_overdue": {"hour": "1", "minute": "0"}}
    night = at(2026, 11, 26, 1, 0)
    run_job(get_job("mark_overdue"), app=app, slot=lease.slot_key(night), slot_time=night,
            trigger="schedule", now=night)
    assert "mark_overdue" not in [j.id for j, _ in pending_catch_ups(app, at(2026, 11, 26, 8))]


def test_a_live_run_blocks_other_slots_until_its_lease_expires(app, conn):
    job = get_job("mark_overdue")
    now = at(2026, 11, 26, 10, 0)
    holder = lease.acquire(job.id, "crashed-slot", now, dt.timedelta(minutes=15), now)
    JobRun.create(job=job.id, slot="crashed-slot", holder=holder, started_at=now)
    assert run_job(job, app=app, now=now + dt.timedelta(minutes=14)) is None
    # The same slot, once expired, is taken over rather than skipped.
    run = run_job(job, app=app, slot="crashed-slot", slot_time=now,
                  now=now + dt.timedelta(minutes=16))
    assert run.status == "succeeded"
    lease_row = JobLease.get(JobLease.slot == "crashed-slot")
    assert lease_row.state == "done" and lease_row.holder == run.holder
    assert JobRun.get(JobRun.holder == holder).status == "abandoned"
    # A finished slot never runs again.
    assert run_job(job, app=app, slot="crashed-slot", slot_time=now,
                   now=now + dt.timedelta(hours=2)) is None


def test_cli_list_run_once_and_unlock(app, conn):
    runner = app.test_cli_runner()
    listed = runner.invoke(args=["jobs", "list"])
    assert listed.exit_code == 0
    assert "mark_overdue" in listed.output and "每 15 分钟" in listed.output
    assert "从未运行" in listed.output

    once = runner.invoke(args=["jobs", "run-once", "mark_overdue"])
    assert once.exit_code == 0, once.output
    assert "标记超时事项：成功" in once.output
    assert JobRun.get(JobRun.trigger == "manual").status == "succeeded"

    unknown = runner.invoke(args=["jobs", "run-once", "nope"])
    assert unknown.exit_code != 0 and "没有编号为 nope 的任务" in unknown.output

    now = dt.datetime.now(dt.UTC)
    holder = lease.acquire("daily_digest", "stuck", now, dt.timedelta(hours=1), now)
    JobRun.create(job="daily_digest", slot="stuck", holder=holder, started_at=now)
    assert "正在运行" in runner.invoke(args=["jobs", "list"]).output
    refused = runner.invoke(args=["jobs", "run-once", "daily_digest"])
    assert refused.exit_code != 0 and "jobs unlock daily_digest" in refused.output
    unlocked = runner.invoke(args=["jobs", "unlock", "daily_digest"])
    assert unlocked.exit_code == 0 and "释放 1 个租约" in unlocked.output
    assert JobRun.get(JobRun.holder == holder).status == "abandoned"
    assert runner.invoke(args=["jobs", "run-once", "daily_digest"]).exit_code == 0
    assert "没有被锁定" in runner.invoke(args=["jobs", "unlock", "daily_digest"]).output
