"""Leases: a row per job per slot in the database, so one slot runs once however many ask.

Two schedulers pointed at one database (`make run` plus a `jobs run` in a second process, or two
machines) both fire the same cron slot; whoever inserts the lease row first runs it, the other
finds the row and stands down. A lease also says "this job is running": a second slot of the
same job waits until the first finishes (max_instances=1 across processes). A run that is
killed never releases its lease; once `expires_at` has passed, the next attempt marks it
expired, its run "abandoned", and carries on.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
import zlib

from jobs.models import JobLease, JobRun
from models.base import db, is_sqlite, to_office, write_transaction

ABANDONED_EXPIRED = "运行中断：租约已过期，由后续运行接管"
ABANDONED_UNLOCKED = "运行中断：已手动解锁"
ABANDONED_DEAD = "运行中断：运行进程已不存在（如被 kill -9），由后续运行立即接管"


def new_holder() -> str:
    """Who is asking: host and process (computed per call, so a forked worker differs)."""
    return f"{socket.gethostname()[:60]}:{os.getpid()}:{secrets.token_hex(4)}"


def holder_is_dead(holder: str) -> bool:
    """Whether a holder token names a process of this machine that no longer runs.

    Only this host's processes can be checked; elsewhere the lease's expiry decides.
    """
    host, _, rest = holder.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname()[:60] or not pid_text.isdigit():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, under another user
    return False


def slot_key(moment: dt.datetime) -> str:
    """A scheduled slot's stable name: its UTC time, the same in every scheduler process."""
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def manual_slot(now: dt.datetime) -> str:
    """A manual run's own slot: never shared, so "run now" always runs (unless one is running)."""
    return f"manual-{now.astimezone(dt.UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"


def _serialise(job_id: str) -> None:
    """Make lease decisions for one job one at a time.

    SQLite's BEGIN IMMEDIATE (write_transaction) already does; on PostgreSQL two transactions
    could both see "no live lease" and both insert different slots, so take a transaction-scoped
    advisory lock keyed by the job id.
    """
    if not is_sqlite():
        key = zlib.crc32(f"jobs.lease:{job_id}".encode())
        db.execute_sql("SELECT pg_advisory_xact_lock(%s)", (key,))


def _abandon(leases, now: dt.datetime, reason: str) -> int:
    """Mark leases expired and their still-"running" runs abandoned."""
    count = 0
    for lease in leases:  # one per crashed run: a handful at most
        JobRun.update(status="abandoned", finished_at=now, error=reason, updated_at=now).where(
            JobRun.job == lease.job, JobRun.slot == lease.slot, JobRun.holder == lease.holder,
            JobRun.status == "running").execute()
        count += JobLease.update(state="expired", updated_at=now).where(
            JobLease.id == lease.id, JobLease.state == "held").execute()
    return count


def acquire(job_id: str, slot: str, slot_time: dt.datetime, ttl: dt.timedelta,
            now: dt.datetime) -> str | None:
    """Take the lease for (job, slot); return the holder token, or None if someone else runs it.

    Refused when the slot already ran (or is running), or while another slot of the same job is
    still running and its lease has not expired.
    """
    holder = new_holder()
    with write_transaction():
        _serialise(job_id)
        stale = list(JobLease.select().where(JobLease.job == job_id, JobLease.state == "held",
                                             JobLease.expires_at < now))
        _abandon(stale, now, ABANDONED_EXPIRED)
        # A holder killed on this machine is known dead now: no need to wait for its expiry.
        dead = [held for held in JobLease.select().where(JobLease.job == job_id,
                                                         JobLease.state == "held")
                if holder_is_dead(held.holder)]
        _abandon(dead, now, ABANDONED_DEAD)
        if JobLease.select().where(JobLease.job == job_id, JobLease.state == "held").exists():
            return None
        existing = JobLease.get_or_none(JobLease.job == job_id, JobLease.slot == slot)
        if existing is None:
            JobLease.create(job=job_id, slot=slot, slot_time=slot_time, holder=holder,
                            acquired_at=now, expires_at=now + ttl, state="held",
                            created_at=now, updated_at=now)
            return holder
        if existing.state != "expired":
            return None  # this slot has run already: never twice
        # A crashed run of this very slot: take it over.
        JobLease.update(holder=holder, acquired_at=now, expires_at=now + ttl, state="held",
                        updated_at=now).where(JobLease.id == existing.id).execute()
        return holder


def record_skip(job_id: str, slot: str, slot_time: dt.datetime, trigger: str,
                now: dt.datetime) -> JobRun | None:
    """A scheduled slot that cannot run because another slot's run holds the job: keep a
    "skipped" run saying which run, since when and until when (#15), exactly once per slot.

    None when the slot is not lost after all: it ran or runs elsewhere, or the blocker is gone
    (then the caller tries to run it).
    """
    with write_transaction():
        _serialise(job_id)
        if JobLease.select().where(JobLease.job == job_id, JobLease.slot == slot).exists():
            return None
        blocker = JobLease.select().where(JobLease.job == job_id, JobLease.state == "held",
                                          JobLease.expires_at >= now).first()
        if blocker is None:
            return None
        # The lease row claims the slot, so a second scheduler records no second skip.
        JobLease.create(job=job_id, slot=slot, slot_time=slot_time, holder="", acquired_at=now,
                        expires_at=now, state="skipped", created_at=now, updated_at=now)
        note = (f"上一时段 {blocker.slot} 的运行（进程 {blocker.holder}，"
                f"{format_moment(blocker.acquired_at)} 开始）仍持有租约，至 "
                f"{format_moment(blocker.expires_at)} 过期；本时段跳过")
        return JobRun.create(job=job_id, slot=slot, slot_time=slot_time, trigger=trigger,
                             holder="", started_at=now, finished_at=now, status="skipped",
                             note=note[:255], created_at=now, updated_at=now)


def ran_or_running(job_id: str, slot: str) -> bool:
    """Whether this very slot has a lease (it ran, runs, or was recorded as skipped)."""
    return JobLease.select().where(JobLease.job == job_id, JobLease.slot == slot,
                                   JobLease.state != "expired").exists()


def format_moment(moment: dt.datetime) -> str:
    return f"{to_office(moment):%m-%d %H:%M}"


def release(job_id: str, slot: str, holder: str, now: dt.datetime) -> bool:
    """Mark our lease done; False if it was taken from us (we ran past its expiry)."""
    return JobLease.update(state="done", updated_at=now).where(
        JobLease.job == job_id, JobLease.slot == slot, JobLease.holder == holder,
        JobLease.state == "held").execute() == 1


def unlock(job_id: str, now: dt.datetime) -> int:
    """Release every lease the job holds (a run killed before its lease expired); return count."""
    with write_transaction():
        _serialise(job_id)
        held = list(JobLease.select().where(JobLease.job == job_id, JobLease.state == "held"))
        return _abandon(held, now, ABANDONED_UNLOCKED)


def ran_since(job_id: str, moment: dt.datetime) -> bool:
    """Whether any slot of the job at or after `moment` has run or is running."""
    return JobLease.select().where(JobLease.job == job_id, JobLease.slot_time >= moment,
                                   JobLease.state.not_in(("expired", "skipped"))).exists()
