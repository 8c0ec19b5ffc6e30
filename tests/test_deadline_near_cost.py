"""The deadline-near warnings on a sweep where nothing changed (#15's bench, #17): the demands
already warned of their present deadline are left out in SQL, so an unchanged sweep reads no
demand rows and runs one statement, however many demands are near their deadline."""

from __future__ import annotations

import datetime as dt

from sql_support import statements_of
from test_jobs_support import OFFICE, new_demand

from models.demands import Demand
from models.notify_staff import on_deadlines_near
from models.outbox import OutboxMessage

NOW = dt.datetime(2026, 11, 26, 10, 0, tzinfo=OFFICE)


def test_warned_demands_cost_one_statement_whatever_their_number(conn, estate, make_user):
    make_user("sup1", "supervisor", estate)
    clerk = make_user("clerk1", "clerk", estate)
    # Urgent demands: R-DEM-7's 2 hours; warned 30 minutes before.
    demands = [new_demand(clerk, estate, NOW + dt.timedelta(minutes=i), urgent=True)
               for i in range(6)]
    moment = max(d.reply_due for d in Demand.select()) - dt.timedelta(minutes=20)
    assert on_deadlines_near(moment) == len(demands)
    told = OutboxMessage.select().where(OutboxMessage.event == "deadline_near").count()
    assert told == len(demands)  # one supervisor, in-app

    sql, warned = statements_of(lambda: on_deadlines_near(moment))
    assert warned == 0
    assert len(sql) == 1, sql  # the candidates' query, which finds none left

    # A revised (later) deadline is a new promise: warned of again (R-REC-1).
    revised = demands[0]
    Demand.update(reply_due=revised.reply_due + dt.timedelta(minutes=5)).where(
        Demand.id == revised.id).execute()
    assert on_deadlines_near(moment) == 1
    assert on_deadlines_near(moment) == 0
