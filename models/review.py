"""The monthly review of the demand loop (R-DEM-10): what came in, and how well it was served.

Timeliness counts the original promise and every recorded miss (R-REC-1, issue #11).
"""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext
from peewee import fn

from models.base import utcnow
from models.callbacks import Callback
from models.demands import CATEGORIES, CHANNELS, KINDS, Demand
from models.org import Department


def _rate(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 1) if whole else None


def monthly_review(estate_ids: list[int], start: dt.datetime, end: dt.datetime) -> dict:
    """R-DEM-10: demands received in [start, end) by category, channel, department and kind,
    with on-time reply, callback, satisfaction and reopen rates."""
    base = Demand.live().where(Demand.estate.in_(estate_ids), Demand.received_at >= start,
                               Demand.received_at < end)

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
    callbacks = Callback.select().where(Callback.estate.in_(estate_ids), Callback.voided == False,  # noqa: E712
                                        Callback.called_at >= start, Callback.called_at < end,
                                        Callback.demand.is_null(False))
    total, n_replied = base.count(), replied.count()
    # On time against the promise on record (R-REC-1): no miss recorded at any step (a miss
    # stays through invalid judgements, revisions and reopens), and answered by the original
    # promise — a supervisor's later revision does not turn a late answer into an on-time one.
    on_time = replied.where(Demand.missed_replies == 0,
                            (Demand.revision_count == 0) | Demand.original_reply_due.is_null()
                            | (Demand.replied_at <= Demand.original_reply_due)).count()
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
