"""The sync lock on a spreadsheet: one sync at a time, a heartbeat, and prompt takeover (#15).

A sync takes the lock for its whole time budget plus a margin (it can never run longer: the
HTTP client stops at the deadline, sync/http.py) and beats while it works. The lock is free
when it has run out, when its holder stopped beating for STALE, or — at once — when its holder
is a process on this machine that no longer exists (kill -9 during a write). A sync that finds
the lock taken is skipped, and the skip is kept with since-when and why (never "success").
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass

from jobs.lease import holder_is_dead, new_holder
from models.base import to_office, utcnow
from sync.state import SheetTarget

log = logging.getLogger(__name__)

# Longer than the longest quiet spell of a live sync: one HTTP timeout (30 s) or one backoff
# wait (at most 60 s); a holder silent for longer has died somewhere we cannot see.
STALE = dt.timedelta(minutes=2)
BEAT_EVERY = 10.0  # seconds
# The lock outlives the sync's budget by this much (the last request's answer, the state).
MARGIN = dt.timedelta(seconds=60)


class LockLost(Exception):
    """Our lock was taken over (we were silent past STALE): stop writing at once."""


@dataclass
class Busy:
    """Why a sync could not start."""

    holder: str
    since: dt.datetime | None
    heartbeat: dt.datetime | None
    until: dt.datetime | None

    def reason(self) -> str:
        when = f"{to_office(self.since):%Y-%m-%d %H:%M:%S} 开始" if self.since else "开始时间不明"
        beat = (f"，最后心跳 {to_office(self.heartbeat):%H:%M:%S}" if self.heartbeat else "")
        takeover = ""
        if self.heartbeat is not None:
            takeover = f"；若它已停止，{to_office(self.heartbeat + STALE):%H:%M:%S} 起可接管"
        return (f"上一次同步仍在进行（进程 {self.holder or '未知'}，{when}{beat}）"
                f"{takeover}")


def acquire(target: SheetTarget, now: dt.datetime, budget: float) -> str | Busy:
    """Take the lock for `budget` seconds (+ MARGIN); the holder token, or why not."""
    holder = new_holder()
    until = now + dt.timedelta(seconds=budget) + MARGIN
    take = {SheetTarget.locked_until: until, SheetTarget.lock_holder: holder,
            SheetTarget.heartbeat_at: now}
    free = ((SheetTarget.locked_until.is_null()) | (SheetTarget.locked_until < now)
            | (SheetTarget.heartbeat_at < now - STALE))
    if SheetTarget.update(take).where(SheetTarget.id == target.id, free).execute() == 1:
        return holder
    current = SheetTarget.get_by_id(target.id)
    if current.lock_holder and holder_is_dead(current.lock_holder):
        taken = SheetTarget.update(take).where(
            SheetTarget.id == target.id,
            SheetTarget.lock_holder == current.lock_holder).execute() == 1
        if taken:
            log.warning("Sheets mirror %s: lock of dead process %s taken over",
                        target.spreadsheet_id, current.lock_holder)
            return holder
    started = None
    if current.locked_until is not None:  # taken for (budget + MARGIN) from its start
        started = current.locked_until - MARGIN - dt.timedelta(seconds=budget)
    return Busy(current.lock_holder, started, current.heartbeat_at, current.locked_until)


class Heartbeat:
    """Called before every request of a sync: renew the heartbeat, notice a lost lock."""

    def __init__(self, target: SheetTarget, holder: str, clock=time.monotonic) -> None:
        self.target_id, self.holder, self.clock = target.id, holder, clock
        self.last = clock()

    def __call__(self) -> None:
        if self.clock() - self.last < BEAT_EVERY:
            return
        self.beat()

    def beat(self) -> None:
        self.last = self.clock()
        renewed = SheetTarget.update(heartbeat_at=utcnow()).where(
            SheetTarget.id == self.target_id, SheetTarget.lock_holder == self.holder).execute()
        if renewed != 1:
            raise LockLost()


def release(target: SheetTarget, holder: str) -> None:
    SheetTarget.update(locked_until=None, lock_holder="", heartbeat_at=None).where(
        SheetTarget.id == target.id, SheetTarget.lock_holder == holder).execute()


def record_skip(target: SheetTarget, now: dt.datetime, reason: str) -> dt.datetime:
    """Keep that syncs are being skipped (since when, why); returns since when."""
    current = SheetTarget.get_by_id(target.id)
    since = current.skipped_since or now
    SheetTarget.update(skipped_since=since, skip_reason=reason[:300]).where(
        SheetTarget.id == target.id).execute()
    return since


def clear_skip(target: SheetTarget) -> None:
    SheetTarget.update(skipped_since=None, skip_reason="").where(
        SheetTarget.id == target.id, SheetTarget.skipped_since.is_null(False)).execute()
