"""The monthly review of the demand loop (R-DEM-10): what came in, and how well it was served.

Timeliness counts the original promise and every recorded miss (R-REC-1, issue #11).
The figures behind the review's charts (#12 item 10) come from here too: the rates month on
month, and the assessment (考核) per department and per maintenance worker.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext
from peewee import JOIN, Case, fn

from models.base import utcnow
from models.callbacks import Callback
from models.demands import CATEGORIES, CHANNELS, KINDS, Demand
from models.org import Department
from models.users import User
from models.work_orders import WorkOrder


def _rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def _count_if(condition):
    return fn.COALESCE(fn.SUM(Case(None, [(condition, 1)], 0)), 0)


def on_time_condition():
    """Replied on time against the promise on record (R-REC-1): no miss recorded at any step
    (a miss stays through invalid judgements, revisions and reopens), and answered by the
    original promise — a supervisor's later revision does not turn a late answer into an
    on-time one."""
    return (Demand.replied_at.is_null(False) & (Demand.missed_replies == 0)
            & ((Demand.revision_count == 0) | Demand.original_reply_due.is_null()
               | (Demand.replied_at <= Demand.original_reply_due)))


def received(estate_ids: list[int], start: dt.datetime, end: dt.datetime):
    """The live demands received in [start, end) at the estates."""
    return Demand.live().where(Demand.estate.in_(estate_ids), Demand.received_at >= start,
                               Demand.received_at < end)


def callbacks_made(estate_ids: list[int], start: dt.datetime, end: dt.datetime):
    """The callbacks on demands made in [start, end): satisfaction counts by the call's date."""
    return Callback.select().where(Callback.estate.in_(estate_ids), Callback.voided == False,  # noqa: E712
                                   Callback.called_at >= start, Callback.called_at < end,
                                   Callback.demand.is_null(False))


def monthly_review(estate_ids: list[int], start: dt.datetime, end: dt.datetime) -> dict:
    """R-DEM-10: demands received in [start, end) by category, channel, department and kind,
    with on-time reply, callback, satisfaction and reopen rates."""
    base = received(estate_ids, start, end)

    def grouped(field, labels):
        rows = (base.select(field, fn.COUNT(Demand.id).alias("n")).group_by(field)
                .order_by(fn.COUNT(Demand.id).desc()).tuples())
        return [(labels.get(key, key or gettext("（未派工）")), n) for key, n in rows]

    departments = {d.id: d.name for d in Department.select().where(
        Department.estate.in_(estate_ids))}
    replied = base.where(Demand.replied_at.is_null(False))
    handled = base.where(Demand.status.in_(("completed", "closed")),
                         Demand.answered_at_intake == False,  # noqa: E712
                         (Demand.valid.is_null()) | (Demand.valid == True))  # noqa: E712
    called_back = handled.where(fn.EXISTS(Callback.select(Callback.id).where(
        Callback.demand == Demand.id, Callback.voided == False)))  # noqa: E712
    callbacks = callbacks_made(estate_ids, start, end)
    total, n_replied = base.count(), replied.count()
    on_time = replied.where(on_time_condition()).count()
    revised = base.where(Demand.revision_count > 0).count()
    n_handled, n_called = handled.count(), called_back.count()
    n_callbacks = callbacks.count()
    n_satisfied = callbacks.where(Callback.satisfied == True).count()  # noqa: E712
    reopened = base.where(Demand.reopen_count > 0).count()
    return {
        "total": total,
        "by_category": grouped(Demand.category, dict(CATEGORIES)),
        "by_channel": grouped(Demand.channel, dict(CHANNELS)),
        "by_kind": grouped(Demand.kind, dict(KINDS)),
        "by_department": grouped(Demand.department, departments),
        "replied": n_replied, "on_time": on_time, "on_time_rate": _rate(on_time, n_replied),
        "overdue_now": Demand.overdue(utcnow()).where(Demand.id.in_(base.select(Demand.id)))
        .count(),
        "handled": n_handled, "called_back": n_called,
        "callback_rate": _rate(n_called, n_handled),
        "callbacks": n_callbacks, "satisfied": n_satisfied,
        "satisfaction_rate": _rate(n_satisfied, n_callbacks),
        "reopened": reopened, "reopen_rate": _rate(reopened, total),
        "revised": revised,
    }


def month_on_month(estate_ids: list[int], months: list[tuple[dt.date, dt.datetime, dt.datetime]]
                   ) -> list[dict]:
    """For each (first day, start, end) month: demands received, the on-time reply rate of
    those replied and the satisfaction rate of the callbacks made that month (#12 item 10).
    Two aggregate queries a month, whatever the number of demands."""
    trend = []
    for first, start, end in months:
        total, replied, on_time = received(estate_ids, start, end).select(
            fn.COUNT(Demand.id), _count_if(Demand.replied_at.is_null(False)),
            _count_if(on_time_condition())).tuples().get()
        calls, satisfied = callbacks_made(estate_ids, start, end).select(
            fn.COUNT(Callback.id), _count_if(Callback.satisfied == True)).tuples().get()  # noqa: E712
        trend.append({"month": first, "total": total, "replied": replied, "on_time": on_time,
                      "on_time_rate": _rate(on_time, replied), "callbacks": calls,
                      "satisfied": satisfied, "satisfaction_rate": _rate(satisfied, calls)})
    return trend


def _assessed(rows: dict, key, name: str) -> dict:
    return rows.setdefault(key, {"name": name, "total": 0, "replied": 0, "on_time": 0,
                                 "completed": 0, "callbacks": 0, "satisfied": 0})


def _finish(rows: dict) -> list[dict]:
    for row in rows.values():
        row["on_time_rate"] = _rate(row["on_time"], row["replied"])
        row["satisfaction_rate"] = _rate(row["satisfied"], row["callbacks"])
    return sorted(rows.values(), key=lambda r: (-r["total"], r["name"]))


def assessment(estate_ids: list[int], start: dt.datetime, end: dt.datetime) -> dict:
    """考核 (#12 item 10, R-DEM-10): per responsible department, the demands received in the
    month with their replies on time and their completion; per maintenance worker, the work
    orders of those demands and their completion; for both, the satisfaction of the callbacks
    made in the month. Four grouped queries."""
    base = received(estate_ids, start, end)
    departments: dict = {}
    names = {d.id: d.name for d in Department.select(Department.id, Department.name)
             .where(Department.estate.in_(estate_ids))}
    done = Demand.status.in_(("completed", "closed"))
    for key, total, replied, on_time, completed in base.select(
            Demand.department, fn.COUNT(Demand.id), _count_if(Demand.replied_at.is_null(False)),
            _count_if(on_time_condition()), _count_if(done)).group_by(Demand.department).tuples():
        row = _assessed(departments, key, names.get(key, gettext("（未派工）")))
        row.update(total=total, replied=replied, on_time=on_time, completed=completed)
    for key, calls, satisfied in (callbacks_made(estate_ids, start, end)
                                  .select(Demand.department, fn.COUNT(Callback.id),
                                          _count_if(Callback.satisfied == True))  # noqa: E712
                                  .join(Demand).group_by(Demand.department).tuples()):
        row = _assessed(departments, key, names.get(key, gettext("（未派工）")))
        row.update(callbacks=calls, satisfied=satisfied)

    workers: dict = {}
    orders = (WorkOrder.select(WorkOrder.assignee, User.display_name, fn.COUNT(WorkOrder.id),
                               _count_if(WorkOrder.state == "completed"))
              .join_from(WorkOrder, User, JOIN.LEFT_OUTER,
                         on=(WorkOrder.assignee == User.id))
              .where(WorkOrder.voided == False,  # noqa: E712
                     WorkOrder.demand.in_(base.select(Demand.id)))
              .group_by(WorkOrder.assignee, User.display_name))
    for key, name, total, completed in orders.tuples():
        row = _assessed(workers, key, name or gettext("（未指定人员）"))
        row.update(total=total, completed=completed)
    rated = (callbacks_made(estate_ids, start, end)
             .select(WorkOrder.assignee, User.display_name, fn.COUNT(Callback.id),
                     _count_if(Callback.satisfied == True))  # noqa: E712
             .join(WorkOrder, on=(WorkOrder.demand == Callback.demand))
             .join_from(WorkOrder, User, JOIN.LEFT_OUTER, on=(WorkOrder.assignee == User.id))
             .where(WorkOrder.voided == False)  # noqa: E712
             .group_by(WorkOrder.assignee, User.display_name))
    for key, name, calls, satisfied in rated.tuples():
        row = _assessed(workers, key, name or gettext("（未指定人员）"))
        row.update(callbacks=calls, satisfied=satisfied)
    return {"departments": _finish(departments), "workers": _finish(workers)}
