"""Running one job once: its lease, its run row, its app context and its own connection.

Every way a job starts — the scheduler, the catch-up at start, `jobs run-once`, the runs page's
"run now" — goes through `run_job`, so they all record a run and respect the same leases.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import Flask, current_app
from peewee import OperationalError

from jobs import lease
from jobs.models import JobRun
from models.base import db, utcnow, write_transaction
from models.calendar import load_overrides

log = logging.getLogger("jobs")


class JobError(Exception):
    """A failure whose message is safe to keep on the runs page (Chinese, no personal data)."""


@dataclass
class Outcome:
    """What a job reports back: counts for the runs page and how it ended."""

    flagged: int = 0
    cleared: int = 0
    note: str = ""
    status: str = "succeeded"  # or "partial", "skipped" (see jobs.models.RUN_STATUSES)
    error: str = ""


@dataclass(frozen=True)
class Job:
    """One row of the JOBS table (jobs/registry.py)."""

    id: str
    label: str
    func: Callable[..., Outcome]
    # APScheduler CronTrigger fields, in the office time zone; config JOBS_SCHEDULE overrides.
    cron: Mapping[str, str] = field(default_factory=dict)
    # At scheduler start, run the latest slot now if nothing ran at or after it (a missed night).
    catch_up: bool = False
    # Longer than the slowest plausible run: a live run is never taken over.
    lease_seconds: int = 900


@contextmanager
def own_connection() -> Iterator[None]:
    """Use this thread's connection, opening (and later closing) one only if none is open.

    peewee's connection_context would close a connection a caller (a test, a request) opened.
    """
    if db.is_closed():
        with db.connection_context():
            yield
    else:
        yield


def describe(exc: BaseException) -> str:
    """An error for the runs page: our own messages in full, anything else by its kind only.

    Database errors quote the offending values, which may be a resident's details.
    """
    if isinstance(exc, JobError):
        return str(exc)[:500]
    return f"{type(exc).__name__}（详情见服务器日志）"


def run_job(job: Job, *, app: Flask | None = None, slot: str | None = None,
            slot_time: dt.datetime | None = None, trigger: str = "manual",
            now: dt.datetime | None = None) -> JobRun | None:
    """Run `job` once for `slot` (a manual slot if none).

    Returns the run; a "skipped" run when a scheduled slot is blocked by another slot's run;
    None when the slot ran or runs elsewhere, a manual run is refused, or the database stayed
    locked (then the slot's failed run is written by the next run that gets through).
    """
    app = app or current_app._get_current_object()
    now = now or utcnow()
    if slot is None:
        slot, slot_time = lease.manual_slot(now), now
    with app.app_context(), own_connection():
        _write_pending_traces()
        delays = app.config.get("JOBS_LOCKED_RETRY_DELAYS", LOCKED_RETRY_DELAYS)
        try:
            holder, run = _retrying(delays, lambda: _start(job, slot, slot_time or now,
                                                           trigger, now))
        except OperationalError as exc:
            # The slot is lost to a locked database: its trace is kept until it can be written.
            log.error("任务 %s 时段 %s：数据库被锁定，未能运行（%s）", job.id, slot, exc)
            _PENDING.append(dict(job=job.id, slot=slot, slot_time=slot_time, trigger=trigger,
                                 holder="", started_at=now, finished_at=now, status="failed",
                                 error=LOCKED_ERROR, created_at=now, updated_at=now))
            return None
        if holder is None:
            log.info("任务 %s 时段 %s 已由其他进程运行或正在运行，跳过", job.id, slot)
            return run
        started = time.monotonic()
        try:
            # Deadlines computed during the run see the office's latest calendar overrides.
            load_overrides()
            outcome = job.func(now=now)
        except Exception as exc:  # any failure is recorded on the run, never lost
            log.exception("任务 %s 运行失败", job.id)
            outcome = Outcome(status="failed", error=describe(exc))
        finished = now + dt.timedelta(seconds=time.monotonic() - started)

        def finish() -> None:
            with write_transaction():
                JobRun.update(finished_at=finished, status=outcome.status,
                              flagged=outcome.flagged, cleared=outcome.cleared,
                              note=outcome.note[:255], error=outcome.error[:500],
                              updated_at=finished).where(JobRun.id == run.id).execute()
                if not lease.release(job.id, slot, holder, finished):
                    log.warning("任务 %s 时段 %s 运行超过租约期限，已被接管", job.id, slot)

        _retrying(delays, finish)
        return JobRun.get_by_id(run.id)


# A write that meets "database is locked" is tried again after these waits (seconds); a slot
# whose start still cannot be written leaves a trace that the next run writes (#15).
LOCKED_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0)
LOCKED_ERROR = "数据库被锁定（database is locked），本时段未能开始运行"
_PENDING: list[dict] = []


def _retrying(delays, action):
    for delay in (*delays, None):
        try:
            return action()
        except OperationalError as exc:
            if "locked" not in str(exc).lower() or delay is None:
                raise
            log.warning("数据库被锁定，%.1f 秒后重试", delay)
            time.sleep(delay)
    raise AssertionError("unreachable")


def _start(job: Job, slot: str, slot_time: dt.datetime, trigger: str,
           now: dt.datetime) -> tuple[str | None, JobRun | None]:
    """Take the slot's lease and open its run; (None, skipped run or None) when refused.

    A scheduled slot refused because another slot's run still holds the job (a scheduler
    killed mid-run whose lease has not expired) gets a "skipped" run saying so (#15); a manual
    run is refused to the person asking, who sees it at once.
    """
    with write_transaction():  # the lease and its run, or neither (a retry starts clean)
        return _start_in_transaction(job, slot, slot_time, trigger, now)


def _start_in_transaction(job: Job, slot: str, slot_time: dt.datetime, trigger: str,
                          now: dt.datetime) -> tuple[str | None, JobRun | None]:
    holder = lease.acquire(job.id, slot, slot_time, dt.timedelta(seconds=job.lease_seconds),
                           now)
    if holder is None:
        if trigger == "manual":
            return None, None
        skipped = lease.record_skip(job.id, slot, slot_time, trigger, now)
        if skipped is not None or lease.ran_or_running(job.id, slot):
            return None, skipped
        holder = lease.acquire(job.id, slot, slot_time,
                               dt.timedelta(seconds=job.lease_seconds), now)
        if holder is None:
            return None, None
    run = JobRun.create(job=job.id, slot=slot, slot_time=slot_time, trigger=trigger,
                        holder=holder, started_at=now, status="running",
                        created_at=now, updated_at=now)
    return holder, run


def _write_pending_traces() -> None:
    """Write the run rows of slots lost to a locked database, once it answers again."""
    while _PENDING:
        trace = _PENDING[0]
        try:
            with write_transaction():
                if not JobRun.select().where(JobRun.job == trace["job"],
                                             JobRun.slot == trace["slot"]).exists():
                    JobRun.create(**trace)
        except OperationalError:
            return  # still locked: next time
        _PENDING.pop(0)
