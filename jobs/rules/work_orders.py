"""Work orders (维修单, R-DEM-8): the department arrives in time and finishes in time.

The manual gives no numbers, so the defaults are ours (settings, README):

* arrival — within JOBS_WORK_ORDER_ARRIVAL_URGENT_MINUTES (30) of dispatch for an order of an
  urgent demand (R-DEM-7's 2-hour answer leaves no room for a slower visit), within
  JOBS_WORK_ORDER_ARRIVAL_HOURS (4) otherwise;
* completion — by the reply deadline of the order's demand (the promise made to the owner,
  R-DEM-6/7) when that deadline was still ahead at dispatch; otherwise (no demand, or the
  deadline already behind) within JOBS_WORK_ORDER_COMPLETION_HOURS (48) of dispatch.

Both read only orders not yet arrived / not yet completed (the `state` index): the cost follows
the open orders, not the register's history. The urgency and the deadline are read through a
correlated lookup of the order's own demand by primary key.
"""

from __future__ import annotations

import datetime as dt

from peewee import Value, fn

from jobs.rules import hours_setting, not_voided, setting
from models.demands import Demand
from models.work_orders import WorkOrder

DEFAULT_ARRIVAL_URGENT_MINUTES = 30
DEFAULT_ARRIVAL_HOURS = 4
DEFAULT_COMPLETION_HOURS = 48


def _own_demand():
    return Demand.select(Value(1)).where(Demand.id == WorkOrder.demand)


def work_order_arrival_overdue(now: dt.datetime):
    """Dispatched and nobody arrived within the SLA of the order's urgency."""
    urgent_minutes = float(setting("JOBS_WORK_ORDER_ARRIVAL_URGENT_MINUTES",
                                   DEFAULT_ARRIVAL_URGENT_MINUTES))
    urgent_cutoff = now - dt.timedelta(minutes=urgent_minutes)
    cutoff = now - hours_setting("JOBS_WORK_ORDER_ARRIVAL_HOURS", DEFAULT_ARRIVAL_HOURS)
    urgent = fn.EXISTS(_own_demand().where(Demand.urgent == True))  # noqa: E712
    return WorkOrder.select().where(
        not_voided(WorkOrder), WorkOrder.state == "open", WorkOrder.arrived_at.is_null(),
        (WorkOrder.dispatched_at < cutoff)
        | ((WorkOrder.dispatched_at < urgent_cutoff) & urgent))


def work_order_completion_overdue(now: dt.datetime):
    """Not completed by the demand's reply deadline, or within the default hours without one."""
    cutoff = now - hours_setting("JOBS_WORK_ORDER_COMPLETION_HOURS", DEFAULT_COMPLETION_HOURS)
    promised = _own_demand().where(Demand.reply_due > WorkOrder.dispatched_at)
    return WorkOrder.select().where(
        not_voided(WorkOrder), WorkOrder.state.in_(("open", "arrived")),
        WorkOrder.completed_at.is_null(),
        fn.EXISTS(promised.where(Demand.reply_due < now))
        | (~fn.EXISTS(promised) & (WorkOrder.dispatched_at < cutoff)))
