"""The monthly review's figures, kept per estate and month (R-DEM-10, issue #14).

The review counts a month's demands, their work orders and the callbacks made. Counted on every
visit, that work grows with the month: at 1,000,000 demands a month of ten estates holds 43,000
demands, and the page took 117 ms on SQLite and 618 ms on PostgreSQL (×4–7 of 100,000). Every
figure is a count that adds up across estates, so each (estate, month) keeps its own counts in
one row of this table and the page adds up the rows it shows: a few rows per estate and month
shown, whatever the registers hold.

Kept fresh by the writes themselves: every demand, callback and work order is written through
`save_record` / `void_record`, which call the row's `after_write` inside the write's transaction,
and the row marks the (estate, month) rows it can change by raising their `change_seq` (`mark`).
A row whose `computed_seq` is behind its `change_seq` is stale. The review page recounts stale
months that are small enough itself (a bounded number of rows read per visit) and says when the
others were counted; the review_figures job (jobs/registry.py) recounts every stale month.

A sequence, not a time: a recount reads `change_seq` before it reads the registers and stores the
number it read. A write that commits after that read raised the sequence past it (its mark is in
its own transaction), so the month stays stale; a write committed before it is in what the
recount read. No clock of any host enters it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable

from peewee import DateField, ForeignKeyField, IntegerField, TextField

from models.base import AwareDateTimeField, BaseModel, office_tz, to_office, utcnow
from models.estate import Estate
from models.i18n import L_
from models.validators.values import DATE_RANGE


class ReviewMonth(BaseModel):
    """One estate's monthly-review counts for one office-local month (R-DEM-10)."""

    estate = ForeignKeyField(Estate, backref="+", on_delete="CASCADE", verbose_name=L_("小区"))
    month = DateField(verbose_name=L_("月份"))  # the month's first day, office-local
    # Raised by every write that can change the month's counts; the recount stores the value it
    # read before reading the registers. Stale while computed_seq < change_seq, or never counted.
    change_seq = IntegerField(default=0)
    computed_seq = IntegerField(default=0)
    computed_at = AwareDateTimeField(null=True, verbose_name=L_("统计时间"))
    # Demands, callbacks and work orders the last count read: what a recount would cost.
    counted_rows = IntegerField(default=0)
    figures = TextField(default="")  # JSON of models.review.count_months, "" never counted

    class Meta:
        table_name = "review_month"
        indexes = ((("estate", "month"), True),)

    @property
    def stale(self) -> bool:
        return not self.figures or self.computed_seq < self.change_seq

    @property
    def counts(self) -> dict:
        return json.loads(self.figures) if self.figures else {}


def month_of(moment: dt.datetime | None) -> dt.date | None:
    """The office-local month (its first day) a moment falls in."""
    return None if moment is None else to_office(moment).date().replace(day=1)


def month_span(first: dt.date) -> tuple[dt.date, dt.datetime, dt.datetime]:
    """The month starting on `first` as [start, end) office-local moments."""
    following = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    start = dt.datetime.combine(first, dt.time(), tzinfo=office_tz())
    end = dt.datetime.combine(following, dt.time(), tzinfo=office_tz())
    return first, start, end


def months_ending(first: dt.date, count: int) -> list[tuple[dt.date, dt.datetime, dt.datetime]]:
    """`count` months ending with the one starting on `first`, oldest first, within range."""
    months, month = [], first
    for _ in range(count):
        months.append(month_span(month))
        if month <= DATE_RANGE[0]:
            break
        month = (month - dt.timedelta(days=1)).replace(day=1)
    return months[::-1]


def mark(pairs: Iterable[tuple[int | None, dt.date | None]]) -> None:
    """Mark the (estate id, month) rows a write changes as stale: one upsert each, in the
    caller's transaction (R-DEM-10, #14). Pairs with no estate or month are skipped."""
    now = utcnow()
    for estate_id, month in sorted({p for p in pairs if p[0] is not None and p[1] is not None}):
        (ReviewMonth.insert(estate=estate_id, month=month, change_seq=1, created_at=now,
                            updated_at=now)
         .on_conflict(conflict_target=[ReviewMonth.estate, ReviewMonth.month],
                      update={ReviewMonth.change_seq: ReviewMonth.change_seq + 1,
                              ReviewMonth.updated_at: now})
         .execute())


def callback_months(demand_ids: Iterable[int | None]) -> set[tuple[int, dt.date]]:
    """The (estate, month) rows of the callbacks made on these demands: a demand's responsible
    department and its work orders' workers are credited with its callbacks in the month of
    each call."""
    from models.callbacks import Callback

    ids = [i for i in set(demand_ids) if i is not None]
    if not ids:
        return set()
    return {(estate_id, month_of(called_at)) for estate_id, called_at in
            Callback.select(Callback.estate, Callback.called_at)
            .where(Callback.demand.in_(ids)).tuples()}


def demand_months(demand_ids: Iterable[int | None]) -> set[tuple[int, dt.date]]:
    """The (estate, month received) rows of these demands."""
    from models.demands import Demand

    ids = [i for i in set(demand_ids) if i is not None]
    if not ids:
        return set()
    return {(estate_id, month_of(received_at)) for estate_id, received_at in
            Demand.select(Demand.estate, Demand.received_at).where(Demand.id.in_(ids)).tuples()}
