"""The front-desk screen (R-FRONT-1): the first page a clerk sees after logging in."""

from __future__ import annotations

import datetime as dt

from flask import current_app, url_for
from flask_admin import expose
from flask_babel import gettext
from flask_login import current_user

from jobs.backup import backup_warning
from models import deadlines
from models.base import to_office, utcnow
from models.calendar import years_lacking_data
from models.demands import Demand
from models.users import MANAGERS
from models.work_orders import WorkOrder
from views.base import SecureIndexView
from views.demands import QUEUES, queue_query
from views.fields import QueryFilter
from views.grid import capped_count

# The front desk's queue cards count up to this many rows and show "1000+" beyond, like the
# grids they link to (#14): at 1,000,000 demands counting 80,000 overdue ones took 0.3–2.5 s
# on every visit; a count that stops after the cap takes milliseconds whatever the backlog.
QUEUE_COUNT_CAP = 1000


def shift_start(now=None):
    """The start of the current shift (R-SVC-1: 09–17, 17–24, 00–08; 08–09 counts as night)."""
    local = to_office(now or utcnow())
    if 9 <= local.hour < 17:
        hour = 9
    elif local.hour >= 17:
        hour = 17
    else:
        hour = 0
    return local.replace(hour=hour, minute=0, second=0, microsecond=0)


def calendar_warnings(today: dt.date) -> list[str]:
    """Years around today whose working days fall back to Monday–Friday (R-DEM-7 deadlines)."""
    # One 2027 override is not the 2027 schedule: warn until the office marks the year complete
    # on 节假日年度 (#12 item 1), naming the years still lacking data.
    missing = years_lacking_data([today.year, today.year + 1])
    if not missing:
        return []
    return [gettext("%(warning)s，录入完毕后在「节假日年度」中标记该年已完整",
                    warning=deadlines.fallback_warning(missing))]


def queue_url(name: str) -> str:
    """The demand grid filtered to one queue (the 工作队列 filter, wherever it sits)."""
    view = next(v for v in current_app.extensions["admin"][0]._views
                if getattr(v, "endpoint", "") == "demand")
    index = next(i for i, f in enumerate(view._filters) if isinstance(f, QueryFilter))
    return url_for("demand.index_view", **{f"flt0_{index}": name})


def overdue_grid_url(rule) -> str | None:
    """The rule's register grid filtered by its 超时 filter, if this user may open it."""
    from jobs.views import OverdueFilter

    for view in current_app.extensions["admin"][0]._views:
        if getattr(view, "model", None) is not rule.model or not view.is_accessible():
            continue
        for index, row_filter in enumerate(view._filters or ()):
            if isinstance(row_filter, OverdueFilter):
                return url_for(f"{view.endpoint}.index_view", **{f"flt0_{index}": rule.id})
    return None


def overdue_flags(estates, now: dt.datetime) -> list[dict]:
    """What the sweep has flagged as overdue now, per rule, in the rules' order.

    Each line: label, count, the grid filtered to it, and for the rules that flag the estate
    itself (no duty director on a day, a month without a survey…) the gap in words.
    """
    from jobs.flags import active_flags, flagged_ids
    from jobs.overdue import RULES

    by_id = {e.id: e for e in estates}
    lines = []
    for rule in RULES:
        # Counted per rule up to the cap, like the queue cards (#14 item 3): one GROUP BY over
        # every active flag of the estates read 119,468 flags at 1M on every visit (0.1 s).
        count = capped_count(active_flags(rule=rule.id, estate_ids=list(by_id)),
                             QUEUE_COUNT_CAP)
        if not count:
            continue
        words = []
        if rule.words is not None:
            for estate_id in sorted(flagged_ids(rule.model, rule.id) & set(by_id)):
                gap = "、".join(rule.words(estate_id, now))
                words.append(f"{by_id[estate_id].name} {gap}" if len(by_id) > 1 else gap)
        lines.append({"label": rule.label, "count": count, "words": "；".join(words),
                      "url": overdue_grid_url(rule)})
    return lines


def duty_directors(estate_ids, day: dt.date) -> list:
    """Today's duty director of each estate (R-SVC-2), for the night shifts to call."""
    from models.roster import DutyDirector

    return list(DutyDirector.select().where(DutyDirector.estate.in_(estate_ids),
                                            DutyDirector.day == day,
                                            DutyDirector.voided == False))  # noqa: E712


def latest_digest(estate_id: int):
    from jobs.digest import latest_digest as latest

    return latest(estate_id)


class HomeView(SecureIndexView):
    @expose("/")
    def index(self):
        now = utcnow()
        estate_ids = [e.id for e in current_user.estates()]
        queues = []
        for name, label in QUEUES:
            count = capped_count(queue_query(name, now).where(Demand.estate.in_(estate_ids)),
                                 QUEUE_COUNT_CAP, keep_order=True)
            queues.append({"name": name, "label": label, "count": count, "url": queue_url(name)})
        started = shift_start(now)
        mine = Demand.live().where(Demand.estate.in_(estate_ids))
        shift = {
            "start": started,
            "received": mine.where(Demand.received_at >= started).count(),
            "closed": mine.where(Demand.closed_at >= started).count(),
            "orders_done": WorkOrder.select().where(
                WorkOrder.estate.in_(estate_ids), WorkOrder.completed_at >= started,
                WorkOrder.voided == False).count(),  # noqa: E712
            # Not bounded by the shift: every after-hours order still waiting for its callback,
            # counted up to the cap like the queue cards ("1000+", #14 item 3, R-DEM-9).
            "after_hours": capped_count(WorkOrder.select().where(
                WorkOrder.estate.in_(estate_ids), WorkOrder.needs_callback == True,  # noqa: E712
                WorkOrder.voided == False), QUEUE_COUNT_CAP),  # noqa: E712
        }
        today = to_office(now).date()
        estates = list(current_user.estates())
        # A failed or missing nightly backup (#13) is the managers' business, not the clerks'.
        backup = backup_warning(now) if current_user.role in MANAGERS else None
        return self.render("admin/home.html", backup_warning=backup, queues=queues,
                           shift=shift, today=today, estates=estates,
                           warnings=calendar_warnings(today),
                           flags=overdue_flags(estates, now),
                           directors=duty_directors(estate_ids, today),
                           digests=[(e, latest_digest(e.id)) for e in estates])
