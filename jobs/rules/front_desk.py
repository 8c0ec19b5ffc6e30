"""Front-desk registers left open by someone outside the office (R-PASS-5, R-DEP-1).

* A goods release slip (物品放行条) waits for the owner's confirmation of contents and quantity
  before the goods leave; the bearer is usually waiting at the gate. Past
  JOBS_GOODS_CONFIRM_HOURS (2, the register's own `GoodsRelease.awaiting_confirmation`) nobody
  has reached the owner: flagged until confirmed, refused or voided.
* A deposit or fee asked for (待收款) and not collected by finance within
  JOBS_DEPOSIT_COLLECT_DAYS days (3, `Deposit.uncollected`): flagged until collected or
  cancelled. (Money before paper, R-REC-3: the pass or permit waiting for it is not issued.)
"""

from __future__ import annotations

import datetime as dt

from jobs.rules import days_setting, hours_setting, not_voided
from models.deposits import Deposit
from models.permits import GoodsRelease

DEFAULT_GOODS_CONFIRM_HOURS = 2
DEFAULT_DEPOSIT_COLLECT_DAYS = 3


def goods_release_unconfirmed(now: dt.datetime):
    """Slips still waiting for the owner's confirmation after the configured hours."""
    cutoff = now - hours_setting("JOBS_GOODS_CONFIRM_HOURS", DEFAULT_GOODS_CONFIRM_HOURS)
    return GoodsRelease.select().where(not_voided(GoodsRelease), GoodsRelease.state == "pending",
                                       GoodsRelease.created_at < cutoff)


def deposit_uncollected(now: dt.datetime):
    """Deposits and fees asked for and not collected after the configured days."""
    days = days_setting("JOBS_DEPOSIT_COLLECT_DAYS", DEFAULT_DEPOSIT_COLLECT_DAYS)
    return Deposit.select().where(Deposit.state == "due",
                                  Deposit.created_at < now - dt.timedelta(days=days))
