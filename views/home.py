"""The front-desk screen (R-FRONT-1): the first page a clerk sees after logging in."""

from __future__ import annotations

import datetime as dt

from flask import current_app, url_for
from flask_admin import expose
from flask_login import current_user

from models import deadlines
from models.base import to_office, utcnow
from models.calendar import years_lacking_data
from models.demands import Demand
from models.work_orders import WorkOrder
from views.base import SecureIndexView
from views.demands import QUEUES, queue_query
from views.fields import QueryFilter


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
    return [deadlines.fallback_warning(missing) + "，录入完毕后在「节假日年度」中标记该年已完整"]


def queue_url(name: str) -> str:
    """The demand grid filtered to one queue (the 工作队列 filter, wherever it sits)."""
    view = next(v for v in current_app.extensions["admin"][0]._views
                if getattr(v, "endpoint", "") == "demand")
    index = next(i for i, f in enumerate(view._filters) if isinstance(f, QueryFilter))
    return url_for("demand.index_view", **{f"flt0_{index}": name})


def overdue_flags(estate_ids) -> list[tuple[str, int]]:
    """What the nightly job has flagged as overdue now, per rule, in the rules' order."""
    from jobs.flags import active_counts
    from jobs.overdue import RULES

    counts = active_counts(estate_ids)
    return [(rule.label, counts[rule.id]) for rule in RULES if counts.get(rule.id)]


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
            count = queue_query(name, now).where(Demand.estate.in_(estate_ids)).count()
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
            "after_hours": WorkOrder.select().where(
                WorkOrder.estate.in_(estate_ids), WorkOrder.needs_callback == True,  # noqa: E712
                WorkOrder.voided == False).count(),  # noqa: E712
        }
        today = to_office(now).date()
        estates = list(current_user.estates())
        return self.render("admin/home.html", queues=queues, shift=shift, today=today,
                           estates=estates, warnings=calendar_warnings(today),
                           flags=overdue_flags(estate_ids),
                           directors=duty_directors(estate_ids, today),
                           digests=[(e, latest_digest(e.id)) for e in estates])
