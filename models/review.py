"""The monthly review of the demand loop (R-DEM-10): what came in, and how well it was served.

Timeliness counts the original promise and every recorded miss (R-REC-1, issue #11).
The figures behind the review's charts (#12 item 10) come from here too: the rates month on
month, and the assessment (考核) per department and per maintenance worker.

Every figure is a count that adds up across estates and months: `count_window` counts a window
per estate in four grouped queries, `add_up` adds estates together, and the review, the trend and
the assessment are read off the sum. The page reads each (estate, month)'s counts as kept in
models/review_months.py (`kept_months`) instead of counting the month on every visit (#14).
"""

from __future__ import annotations

import datetime as dt
import json

from flask_babel import gettext
from peewee import Case, fn

from models.base import utcnow, write_transaction
from models.callbacks import Callback
from models.demands import CATEGORIES, CHANNELS, KINDS, Demand
from models.estate import Estate
from models.org import Department
from models.review_months import ReviewMonth, month_of, month_span
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



DEMAND_FIGURES = ("total", "replied", "on_time", "revised", "reopened", "handled", "called_back")
CALLBACK_FIGURES = ("callbacks", "satisfied")
GROUPINGS = ("category", "channel", "kind")
# Per department: [total, replied, on_time, completed, callbacks, satisfied];
# per worker: [orders, completed, callbacks, satisfied].
DEPARTMENT_SLOTS, WORKER_SLOTS = 6, 4


def empty_counts() -> dict:
    counts: dict = {name: 0 for name in (*DEMAND_FIGURES, *CALLBACK_FIGURES)}
    counts.update({name: {} for name in (*GROUPINGS, "departments", "workers")})
    counts["rows"] = 0
    return counts


def _key(value) -> str:
    return "" if value is None else str(value)


def _credit(table: dict, key, size: int, first: int, *values: int) -> None:
    """Add values to a department's or worker's slots, from slot `first` on."""
    slot = table.setdefault(_key(key), [0] * size)
    for index, value in enumerate(values, first):
        slot[index] += value


def count_window(estate_ids: list[int], start: dt.datetime, end: dt.datetime) -> dict:
    """{estate id: counts} of the demands received in [start, end) at the estates, their work
    orders, and the callbacks made in [start, end) (R-DEM-10). Four grouped queries, whatever
    the window; every figure is a count, so estates and months add up (`add_up`)."""
    counts = {estate_id: empty_counts() for estate_id in estate_ids}
    done = Demand.status.in_(("completed", "closed"))
    handled = (done & (Demand.answered_at_intake == False)  # noqa: E712
               & ((Demand.valid.is_null()) | (Demand.valid == True)))  # noqa: E712
    called_back = handled & fn.EXISTS(Callback.select(Callback.id).where(
        Callback.demand == Demand.id, Callback.voided == False))  # noqa: E712
    groups = (Demand.estate, Demand.category, Demand.channel, Demand.kind, Demand.department)
    for (estate_id, category, channel, kind, department, total, replied, on_time, revised,
         reopened, n_handled, n_called, completed) in received(estate_ids, start, end).select(
            *groups, fn.COUNT(Demand.id), _count_if(Demand.replied_at.is_null(False)),
            _count_if(on_time_condition()), _count_if(Demand.revision_count > 0),
            _count_if(Demand.reopen_count > 0), _count_if(handled), _count_if(called_back),
            _count_if(done)).group_by(*groups).tuples():
        row = counts[estate_id]
        for name, value in zip(DEMAND_FIGURES, (total, replied, on_time, revised, reopened,
                                                n_handled, n_called), strict=True):
            row[name] += value
        for name, key in zip(GROUPINGS, (category, channel, kind), strict=True):
            row[name][_key(key)] = row[name].get(_key(key), 0) + total
        _credit(row["departments"], department, DEPARTMENT_SLOTS, 0, total, replied, on_time,
                completed)
        row["rows"] += total
    for estate_id, department, calls, satisfied in (
            callbacks_made(estate_ids, start, end)
            .select(Callback.estate, Demand.department, fn.COUNT(Callback.id),
                    _count_if(Callback.satisfied == True))  # noqa: E712
            .join(Demand).group_by(Callback.estate, Demand.department).tuples()):
        row = counts[estate_id]
        row["callbacks"] += calls
        row["satisfied"] += satisfied
        _credit(row["departments"], department, DEPARTMENT_SLOTS, 4, calls, satisfied)
        row["rows"] += calls
    for estate_id, assignee, total, completed in (
            received(estate_ids, start, end)
            .select(Demand.estate, WorkOrder.assignee, fn.COUNT(WorkOrder.id),
                    _count_if(WorkOrder.state == "completed"))
            .join(WorkOrder, on=(WorkOrder.demand == Demand.id))
            .where(WorkOrder.voided == False)  # noqa: E712
            .group_by(Demand.estate, WorkOrder.assignee).tuples()):
        _credit(counts[estate_id]["workers"], assignee, WORKER_SLOTS, 0, total, completed)
        counts[estate_id]["rows"] += total
    for estate_id, assignee, calls, satisfied in (
            callbacks_made(estate_ids, start, end)
            .select(Callback.estate, WorkOrder.assignee, fn.COUNT(Callback.id),
                    _count_if(Callback.satisfied == True))  # noqa: E712
            .join(WorkOrder, on=(WorkOrder.demand == Callback.demand))
            .where(WorkOrder.voided == False)  # noqa: E712
            .group_by(Callback.estate, WorkOrder.assignee).tuples()):
        _credit(counts[estate_id]["workers"], assignee, WORKER_SLOTS, 2, calls, satisfied)
    return counts


def add_up(many) -> dict:
    """The sum of several estates' or months' counts."""
    total = empty_counts()
    for counts in many:
        for name in (*DEMAND_FIGURES, *CALLBACK_FIGURES, "rows"):
            total[name] += counts.get(name, 0)
        for name in GROUPINGS:
            for key, value in counts.get(name, {}).items():
                total[name][key] = total[name].get(key, 0) + value
        for name, size in (("departments", DEPARTMENT_SLOTS), ("workers", WORKER_SLOTS)):
            for key, values in counts.get(name, {}).items():
                slot = total[name].setdefault(key, [0] * size)
                for index, value in enumerate(values):
                    slot[index] += value
    return total


def _ranked(table: dict, labels: dict, missing: str) -> list[tuple[str, int]]:
    named = [(labels.get(key, key) if key else missing, n) for key, n in table.items() if n]
    return sorted(named, key=lambda pair: (-pair[1], pair[0]))


def _department_names(keys) -> dict[str, str]:
    ids = [int(key) for key in keys if key]
    return {str(i): name for i, name in
            Department.select(Department.id, Department.name).where(Department.id.in_(ids))
            .tuples()} if ids else {}


def review_of(counts: dict) -> dict:
    """R-DEM-10: the month's demands by category, channel, kind and department, with on-time
    reply, callback, satisfaction and reopen rates (from `count_window` / `add_up`)."""
    departments = _department_names(counts["departments"])
    unassigned = gettext("（未派工）")
    total, replied, on_time = counts["total"], counts["replied"], counts["on_time"]
    handled, called = counts["handled"], counts["called_back"]
    calls, satisfied, reopened = counts["callbacks"], counts["satisfied"], counts["reopened"]
    return {
        "total": total,
        "by_category": _ranked(counts["category"], dict(CATEGORIES), unassigned),
        "by_channel": _ranked(counts["channel"], dict(CHANNELS), unassigned),
        "by_kind": _ranked(counts["kind"], dict(KINDS), unassigned),
        "by_department": _ranked({key: slot[0] for key, slot in counts["departments"].items()},
                                 departments, unassigned),
        "replied": replied, "on_time": on_time, "on_time_rate": _rate(on_time, replied),
        "handled": handled, "called_back": called, "callback_rate": _rate(called, handled),
        "callbacks": calls, "satisfied": satisfied, "satisfaction_rate": _rate(satisfied, calls),
        "reopened": reopened, "reopen_rate": _rate(reopened, total),
        "revised": counts["revised"],
    }


def trend_of(first: dt.date, counts: dict) -> dict:
    """One month of the month-on-month chart (#12 item 10)."""
    replied, on_time = counts["replied"], counts["on_time"]
    calls, satisfied = counts["callbacks"], counts["satisfied"]
    return {"month": first, "total": counts["total"], "replied": replied, "on_time": on_time,
            "on_time_rate": _rate(on_time, replied), "callbacks": calls,
            "satisfied": satisfied, "satisfaction_rate": _rate(satisfied, calls)}


def _assessed(name: str, total=0, replied=0, on_time=0, completed=0, callbacks=0,
              satisfied=0) -> dict:
    return {"name": name, "total": total, "replied": replied, "on_time": on_time,
            "completed": completed, "callbacks": callbacks, "satisfied": satisfied,
            "on_time_rate": _rate(on_time, replied),
            "satisfaction_rate": _rate(satisfied, callbacks)}


def assessment_of(counts: dict) -> dict:
    """考核 (#12 item 10, R-DEM-10): per responsible department, the month's demands with their
    replies on time and their completion; per maintenance worker, the work orders of those
    demands and their completion; for both, the satisfaction of the callbacks made in the
    month. Names are read as they are now (one query each)."""
    names = _department_names(counts["departments"])
    unassigned = gettext("（未派工）")
    departments = [_assessed(names.get(key, unassigned) if key else unassigned, *slot)
                   for key, slot in counts["departments"].items()]
    ids = [int(key) for key in counts["workers"] if key]
    people = {str(i): name for i, name in User.select(User.id, User.display_name)
              .where(User.id.in_(ids)).tuples()} if ids else {}
    workers = [_assessed(people.get(key) or gettext("（未指定人员）"), total, 0, 0, completed,
                         calls, satisfied)
               for key, (total, completed, calls, satisfied) in counts["workers"].items()]
    ranked = {"key": lambda r: (-r["total"], r["name"])}
    return {"departments": sorted(departments, **ranked), "workers": sorted(workers, **ranked)}


def monthly_review(estate_ids: list[int], start: dt.datetime, end: dt.datetime) -> dict:
    """R-DEM-10 for any window [start, end), counted now (the page reads kept months)."""
    return review_of(add_up(count_window(estate_ids, start, end).values()))


def assessment(estate_ids: list[int], start: dt.datetime, end: dt.datetime) -> dict:
    """考核 for any window [start, end), counted now (the page reads kept months)."""
    return assessment_of(add_up(count_window(estate_ids, start, end).values()))


# -- the kept months (models/review_months.py) --------------------------------------------------

# A visit recounts stale months itself while the rows they last read stay within this many;
# larger ones are left to the review_figures job and the page says when they were counted.
INLINE_ROWS = 2000


def recount(months: dict[dt.date, tuple[dt.datetime, dt.datetime, list[int]]]) -> int:
    """Count each month [start, end) afresh for its estates and keep the counts (#14). For
    each month: read the change sequences, then count, then store the counts with the sequence
    read, never going back past a newer count. Returns the (estate, month) rows written."""
    written = 0
    for first, (start, end, estate_ids) in sorted(months.items()):
        now = utcnow()
        with write_transaction():
            for estate_id in estate_ids:
                (ReviewMonth.insert(estate=estate_id, month=first, created_at=now,
                                    updated_at=now)
                 .on_conflict_ignore().execute())
            seqs = dict(ReviewMonth.select(ReviewMonth.estate, ReviewMonth.change_seq)
                        .where(ReviewMonth.estate.in_(estate_ids), ReviewMonth.month == first)
                        .tuples())
        counted = count_window(estate_ids, start, end)
        with write_transaction():
            for estate_id, counts in counted.items():
                seq = seqs[estate_id]
                written += (ReviewMonth.update(
                    figures=json.dumps(counts, ensure_ascii=False, sort_keys=True),
                    computed_seq=seq, computed_at=now, counted_rows=counts["rows"],
                    updated_at=now)
                    .where(ReviewMonth.estate == estate_id, ReviewMonth.month == first,
                           (ReviewMonth.computed_seq < seq) | (ReviewMonth.figures == ""))
                    .execute())
    return written


def kept_months(estate_ids: list[int], months: list[tuple[dt.date, dt.datetime, dt.datetime]],
                *, inline_rows: int | None = None) -> tuple[dict, dt.datetime | None, bool]:
    """The kept counts of each (estate, month): ({(estate id, first day): counts}, when the
    oldest of them was counted, whether any shown is behind a later change). Months never
    counted are counted now; stale ones are recounted now while the rows their last count read
    stay within `inline_rows` (the chosen month first), the others wait for the job."""
    spans = {first: (start, end) for first, start, end in months}
    kept = {(row.estate_id, row.month): row for row in ReviewMonth.select().where(
        ReviewMonth.estate.in_(estate_ids), ReviewMonth.month.in_(list(spans)))}
    todo: dict = {}
    budget = INLINE_ROWS if inline_rows is None else inline_rows
    for first in sorted(spans, reverse=True):
        for estate_id in estate_ids:
            row = kept.get((estate_id, first))
            if row is not None and not row.stale:
                continue
            if row is not None and row.figures:
                if row.counted_rows > budget:
                    continue
                budget -= row.counted_rows
            todo.setdefault(first, (*spans[first], []))[2].append(estate_id)
    if todo:
        recount(todo)
        kept = {(row.estate_id, row.month): row for row in ReviewMonth.select().where(
            ReviewMonth.estate.in_(estate_ids), ReviewMonth.month.in_(list(spans)))}
    counted = [row.computed_at for row in kept.values() if row.computed_at]
    return ({key: row.counts for key, row in kept.items()}, min(counted, default=None),
            any(row.stale for row in kept.values()))


def recount_stale(*, batch: int = 200) -> int:
    """The review_figures job: recount every (estate, month) behind a change, and every month
    of an estate whose months were never counted (an upgrade, data loaded in bulk), oldest
    first. Returns the (estate, month) rows written."""
    stale = (ReviewMonth.select(ReviewMonth.estate, ReviewMonth.month)
             .where((ReviewMonth.figures == "")
                    | (ReviewMonth.computed_seq < ReviewMonth.change_seq))
             .order_by(ReviewMonth.month, ReviewMonth.estate).limit(batch).tuples())
    todo: dict = {}
    for estate_id, first in stale:
        todo.setdefault(first, (*month_span(first)[1:], []))[2].append(estate_id)
    counted = ReviewMonth.select(ReviewMonth.estate).distinct()
    this_month = month_of(utcnow())
    for estate in Estate.select(Estate.id).where(Estate.id.not_in(counted)):
        earliest = [row.received_at for row in (
            Demand.select(Demand.received_at)
            .where(Demand.estate == estate.id, Demand.voided == voided)
            .order_by(Demand.received_at).first() for voided in (False, True)) if row]
        month = month_of(min(earliest)) if earliest else this_month
        while month <= this_month:
            todo.setdefault(month, (*month_span(month)[1:], []))[2].append(estate.id)
            month = (month + dt.timedelta(days=32)).replace(day=1)
    return recount(todo)
