"""The overdue sweep: rules, flags raised and cleared, idempotence, holidays, failures, crashes."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from test_jobs_support import (
    active_flags,
    all_flags,
    at,
    expected_flags,
    new_demand,
    new_work_order,
)

import jobs.overdue as overdue
from jobs.digest import latest_digest
from jobs.flags import active_counts, flag_rules, flagged_ids
from jobs.flags import active_flags as flags_query
from jobs.models import JobLease, JobRun, OverdueDigest, OverdueFlag
from jobs.overdue import callback_cutoff, mark_overdue
from jobs.registry import get_job
from jobs.runner import run_job
from models import deadlines
from models.base import db, utcnow
from models.calendar import CalendarOverride
from models.callbacks import callback_work_order
from models.demands import Demand
from models.estate import Estate
from models.org import Department
from models.register import void_record
from models.work_orders import WorkOrder

ROOT = Path(__file__).resolve().parents[1]
SCORES = {"on_time": 5, "attitude": 5, "skill": 4, "etiquette": 5}


def test_national_day_holiday_is_not_counted(app, clerk, estate):
    """Received the eve of National Day 2026: 2 working days end on Oct 9, not in the break."""
    demand = new_demand(clerk, estate, at(2026, 9, 30, 10, 0))
    # The deadline engine's reasoning: Oct 1-7 are holidays, Oct 8 and 9 the two working days.
    assert not deadlines.is_workday(at(2026, 10, 5))
    assert deadlines.add_working_days(at(2026, 9, 30, 10), 2) == deadlines.end_of_day(
        at(2026, 10, 9))
    assert demand.reply_due == deadlines.end_of_day(at(2026, 10, 9))

    assert mark_overdue(at(2026, 10, 5, 12, 0)).flagged == 0
    assert mark_overdue(at(2026, 10, 9, 23, 59, 59)).flagged == 0
    assert active_flags() == set()

    outcome = mark_overdue(at(2026, 10, 10, 0, 0, 1))
    assert outcome.flagged == 1 and "需求答复超时 +1/-0" in outcome.note
    flag = OverdueFlag.get()
    assert (flag.rule, flag.table, flag.row_id, flag.estate_id) == (
        "demand_reply", "demand", demand.id, estate.id)
    assert flag.raised_at == at(2026, 10, 10, 0, 0, 1) and flag.cleared_at is None


def test_urgent_demand_is_overdue_after_two_hours_even_on_a_holiday(app, clerk, estate):
    demand = new_demand(clerk, estate, at(2026, 10, 2, 22, 30), urgent=True)
    assert mark_overdue(at(2026, 10, 3, 0, 29)).flagged == 0
    assert mark_overdue(at(2026, 10, 3, 0, 31)).flagged == 1
    assert flagged_ids(Demand) == {demand.id}


def test_flag_clears_when_the_owner_is_answered(app, clerk, estate):
    demand = new_demand(clerk, estate, at(2026, 11, 2, 9, 0))
    mark_overdue(at(2026, 11, 5, 10, 0))
    assert active_flags() == {("demand_reply", demand.id)}

    demand.reply(clerk, replied_at=at(2026, 11, 5, 11, 0), content="已安排师傅明天上门",
                 cause="管道老化")
    outcome = mark_overdue(at(2026, 11, 5, 12, 0))
    assert (outcome.flagged, outcome.cleared) == (0, 1)
    flag = OverdueFlag.get()
    assert flag.cleared_at == at(2026, 11, 5, 12, 0)
    assert flag.raised_at == at(2026, 11, 5, 10, 0)  # the history keeps when it was raised
    assert flagged_ids(Demand) == set()


def test_voiding_a_demand_clears_its_flag(app, clerk, estate):
    demand = new_demand(clerk, estate, at(2026, 11, 2, 9, 0))
    mark_overdue(at(2026, 11, 5, 10, 0))
    void_record(Demand.get_by_id(demand.id), clerk, "重复登记")
    assert mark_overdue(at(2026, 11, 5, 10, 15)).cleared == 1
    assert active_flags() == set()


def test_rerun_with_nothing_changed_touches_nothing(app, clerk, estate):
    late = new_demand(clerk, estate, at(2026, 11, 2, 9, 0))
    new_demand(clerk, estate, at(2026, 11, 4, 9, 0))
    mark_overdue(at(2026, 11, 5, 10, 0))
    flags_before = all_flags()
    demands_before = list(Demand.select(Demand.id, Demand.updated_at, Demand.version)
                          .order_by(Demand.id).tuples())
    assert len(flags_before) == 1

    outcome = mark_overdue(at(2026, 11, 5, 10, 15))
    assert (outcome.flagged, outcome.cleared, outcome.note) == (0, 0, "无变化")
    assert all_flags() == flags_before
    assert list(Demand.select(Demand.id, Demand.updated_at, Demand.version)
                .order_by(Demand.id).tuples()) == demands_before
    assert active_flags() == {("demand_reply", late.id)}


def test_invalid_notice_overdue_after_one_working_day(app, clerk, estate):
    demand = new_demand(clerk, estate, at(2026, 11, 20, 9, 0))
    demand.mark_invalid(clerk, reason="非本小区业户", cause="非本小区业户来电")
    due = Demand.get_by_id(demand.id).invalid_notice_due
    mark_overdue(due - dt.timedelta(minutes=1))
    assert active_flags() == set()
    mark_overdue(due + dt.timedelta(seconds=1))
    assert active_flags() == {("demand_invalid_notice", demand.id)}

    Demand.get_by_id(demand.id).reply(clerk, content="已电话告知业户原因")
    mark_overdue(due + dt.timedelta(minutes=5))
    assert active_flags() == set()


def test_callback_pending_too_long_is_flagged_and_configurable(app, clerk, estate):
    demand = new_demand(clerk, estate, at(2026, 11, 16, 9, 0))
    demand.complete(clerk, result="已修好", completed_at=at(2026, 11, 16, 15, 0))
    mark_overdue(at(2026, 11, 18, 14, 59))
    assert active_flags() == set()
    mark_overdue(at(2026, 11, 18, 15, 1))  # 48 hours by default
    assert active_flags() == {("demand_callback", demand.id)}

    Demand.get_by_id(demand.id).record_callback(clerk, channel="phone", satisfied=True,
                                                **SCORES)
    assert mark_overdue(at(2026, 11, 18, 15, 30)).cleared == 1

    other = new_demand(clerk, estate, at(2026, 11, 16, 9, 0))
    other.complete(clerk, result="已修好", completed_at=at(2026, 11, 16, 15, 0))
    app.config["JOBS_CALLBACK_HOURS"] = 24
    with app.app_context():
        mark_overdue(at(2026, 11, 17, 15, 1))
    assert active_flags() == {("demand_callback", other.id)}


def test_demand_rules_state_the_registers_own_queries(app, clerk, estate):
    """The sweep spells Demand.overdue / awaiting_callback out (for the planner): same rows."""
    late = new_demand(clerk, estate, at(2026, 11, 2, 9, 0))
    new_demand(clerk, estate, at(2026, 11, 20, 9, 0), urgent=True)
    void_record(new_demand(clerk, estate, at(2026, 11, 2, 9, 0)), clerk, "重复登记")
    new_demand(clerk, estate, at(2026, 11, 3, 9, 0)).mark_invalid(
        clerk, reason="非本小区", cause="非本小区业户来电")
    for received, completed in ((at(2026, 11, 2, 9), at(2026, 11, 2, 15)),
                                (at(2026, 11, 20, 9), at(2026, 11, 21, 15))):
        new_demand(clerk, estate, received).complete(clerk, result="已修好",
                                                     completed_at=completed)
    late.dispatch(clerk, department_id=Department.get(Department.estate == estate.id,
                                                      Department.kind == "engineering").id)

    def ids(query):
        return {row.id for row in query}

    for now in (at(2026, 11, 3, 12), at(2026, 11, 22, 0), at(2026, 12, 31, 0)):
        assert ids(overdue.demand_reply_overdue(now)) | ids(
            overdue.demand_invalid_notice_overdue(now)) == ids(Demand.overdue(now))
        assert ids(overdue.demand_callback_overdue(now)) == ids(
            Demand.awaiting_callback().where(Demand.completed_at < now - dt.timedelta(hours=48)))
    assert ids(Demand.overdue(at(2026, 12, 31, 0)))  # the comparison saw overdue rows


def test_callback_cutoff_is_the_start_of_the_last_finished_day_shift(app):
    # Before today's shift has ended, yesterday's shift was the last to end.
    assert callback_cutoff(at(2026, 11, 21, 16, 59)) == at(2026, 11, 20, 9, 0)
    assert callback_cutoff(at(2026, 11, 21, 17, 0)) == at(2026, 11, 20, 9, 0)
    assert callback_cutoff(at(2026, 11, 21, 17, 0, 1)) == at(2026, 11, 21, 9, 0)
    assert callback_cutoff(at(2026, 11, 22, 2, 0)) == at(2026, 11, 21, 9, 0)


def test_after_hours_work_order_waits_for_the_next_day_shift(app, clerk, estate):
    evening = new_work_order(clerk, estate, at(2026, 11, 20, 18, 0), at(2026, 11, 20, 20, 30))
    small_hours = new_work_order(clerk, estate, at(2026, 11, 21, 1, 0), at(2026, 11, 21, 3, 0))
    daytime = new_work_order(clerk, estate, at(2026, 11, 20, 10, 0), at(2026, 11, 20, 11, 0))
    assert evening.needs_callback and small_hours.needs_callback
    assert not daytime.needs_callback

    mark_overdue(at(2026, 11, 21, 16, 59))
    assert active_flags() == set()
    mark_overdue(at(2026, 11, 21, 17, 0, 1))  # the day shift of the 21st has ended
    assert active_flags() == {("work_order_callback", evening.id),
                              ("work_order_callback", small_hours.id)}
    assert flag_rules(WorkOrder) == {evening.id: ["work_order_callback"],
                                     small_hours.id: ["work_order_callback"]}

    callback_work_order(evening, clerk, **SCORES, satisfied=True)
    mark_overdue(at(2026, 11, 21, 17, 15))
    assert active_flags() == {("work_order_callback", small_hours.id)}


def test_a_row_overdue_again_gets_a_new_flag(app, clerk, estate):
    demand = new_demand(clerk, estate, at(2026, 11, 2, 9, 0), urgent=True)
    mark_overdue(at(2026, 11, 2, 12, 0))
    # Answered: flag cleared; then not satisfied at callback, and late again.
    demand.complete(clerk, result="已处理", completed_at=at(2026, 11, 2, 13, 0))
    mark_overdue(at(2026, 11, 2, 13, 30))
    Demand.get_by_id(demand.id).record_callback(clerk, channel="phone", satisfied=False,
                                                comments="仍然漏水", **SCORES)
    reopened = Demand.get_by_id(demand.id)
    mark_overdue(reopened.reply_due + dt.timedelta(minutes=1))
    flags = list(OverdueFlag.select().where(OverdueFlag.row_id == demand.id)
                 .order_by(OverdueFlag.id))
    assert [(f.rule, f.cleared_at is None) for f in flags] == [
        ("demand_reply", False), ("demand_reply", True)]


def test_reading_helpers_for_the_grids(app, clerk, estate, other_estate, make_user):
    mine = new_demand(clerk, estate, at(2026, 11, 2, 9, 0))
    outsider = make_user("clerk2", "clerk", other_estate)
    theirs = new_demand(outsider, other_estate, at(2026, 11, 2, 9, 0))
    new_demand(clerk, estate, at(2026, 11, 25, 9, 0))
    mark_overdue(at(2026, 11, 5, 10, 0))

    assert flagged_ids(Demand) == {mine.id, theirs.id}
    assert flagged_ids(Demand, rule="demand_callback") == set()
    assert flagged_ids(Demand, ids=[mine.id]) == {mine.id}
    assert {f.row_id for f in flags_query(Demand, estate_ids=[estate.id])} == {mine.id}
    assert active_counts([estate.id]) == {"demand_reply": 1}
    assert active_counts() == {"demand_reply": 2}


def test_a_failing_rule_fails_the_run_and_leaves_no_partial_flags(app, clerk, estate,
                                                                    monkeypatch):
    demand = new_demand(clerk, estate, at(2026, 11, 2, 9, 0))

    def broken(now):
        raise RuntimeError("业主张三 13800138000 的数据有误")

    monkeypatch.setattr(overdue, "RULES", (*overdue.RULES, overdue.OverdueRule(
        "broken", "故障规则", Demand, broken)))
    run = run_job(get_job("mark_overdue"), app=app, now=at(2026, 11, 5, 10, 0))
    assert run.status == "failed" and run.finished_at is not None
    assert "RuntimeError" in run.error
    assert "张三" not in run.error and "13800138000" not in run.error
    # The rules before the broken one had inserted their flags: rolled back with it.
    assert OverdueFlag.select().count() == 0
    assert JobLease.get(JobLease.job == "mark_overdue").state == "done"

    monkeypatch.undo()
    run = run_job(get_job("mark_overdue"), app=app, now=at(2026, 11, 5, 10, 0))
    assert run.status == "succeeded" and run.flagged == 1
    assert active_flags() == {("demand_reply", demand.id)}


def test_run_loads_the_office_calendar_overrides(app, clerk, estate):
    CalendarOverride.create(day=dt.date(2027, 1, 4), is_workday=False, note="2027年元旦调整")
    deadlines.set_overrides({})
    run = run_job(get_job("mark_overdue"), app=app, now=at(2026, 11, 5, 10, 0))
    assert run.status == "succeeded"
    assert deadlines.get_overrides() == {dt.date(2027, 1, 4): False}


KILLED_RUN = """
import datetime as dt, sys, time
from app import create_app
import jobs.overdue as overdue
from jobs.registry import get_job
from jobs.runner import run_job
from models.demands import Demand

def stall(now):
    print("inside the sweep", flush=True)
    time.sleep(300)

app = create_app({"DATABASE_URL": sys.argv[1], "SECRET_KEY": "x"})
overdue.RULES = (*overdue.RULES, overdue.OverdueRule("stall", "卡住", Demand, stall))
run_job(get_job("mark_overdue"), app=app, now=dt.datetime.fromisoformat(sys.argv[2]))
"""


def test_killed_run_leaves_nothing_and_its_lease_is_taken_over(app, clerk, estate):
    """A scheduler process killed mid-sweep: no partial flags; the next run takes over at
    once (#15: the holder's process is known dead on this machine, no wait for the lease's
    expiry) and ends with the flags a clean run makes."""
    late = new_demand(clerk, estate, at(2026, 11, 2, 9, 0))
    callback = new_demand(clerk, estate, at(2026, 11, 2, 9, 0))
    callback.complete(clerk, result="已修好", completed_at=at(2026, 11, 2, 15, 0))
    new_work_order(clerk, estate, at(2026, 11, 3, 18, 0), at(2026, 11, 3, 20, 0))
    now = at(2026, 11, 5, 10, 0)
    child = subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(KILLED_RUN), app.config["DATABASE_URL"],
         now.isoformat()], cwd=ROOT, stdout=subprocess.PIPE, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)})
    try:
        assert child.stdout.readline().strip() == "inside the sweep"
    finally:
        child.kill()
        child.wait()
        child.stdout.close()

    assert OverdueFlag.select().count() == 0  # the half-done transaction died with it
    held = JobLease.get(JobLease.job == "mark_overdue")
    assert held.state == "held"
    assert JobRun.get(JobRun.holder == held.holder).status == "running"

    job = get_job("mark_overdue")
    later = now + dt.timedelta(minutes=5)
    assert later < held.expires_at  # the lease has not expired: the pid check decides
    run = run_job(job, app=app, now=later)
    assert run.status == "succeeded"
    killed = JobRun.get(JobRun.holder == held.holder)
    assert killed.status == "abandoned" and "运行进程已不存在" in killed.error
    assert JobLease.get_by_id(held.id).state == "expired"
    assert active_flags() == expected_flags(later)
    assert {rule for rule, _ in active_flags()} == {
        "demand_reply", "demand_callback", "work_order_callback"}
    assert ("demand_reply", late.id) in active_flags()


def test_crash_then_rerun_gives_the_flags_of_a_clean_run(app, clerk, estate, monkeypatch):
    first = new_demand(clerk, estate, at(2026, 11, 2, 9, 0))
    second = new_demand(clerk, estate, at(2026, 11, 3, 9, 0))
    mark_overdue(at(2026, 11, 6, 10, 0))
    before = all_flags()
    # The world moves on: one answered, a callback and an after-hours order fall due.
    first.reply(clerk, replied_at=at(2026, 11, 6, 11, 0), content="已处理", cause="管道老化")
    done = new_demand(clerk, estate, at(2026, 11, 6, 9, 0))
    done.complete(clerk, result="已修好", completed_at=at(2026, 11, 6, 15, 0))
    new_work_order(clerk, estate, at(2026, 11, 6, 18, 0), at(2026, 11, 6, 22, 0))
    now = at(2026, 11, 9, 10, 0)

    def crash(_now):
        raise OSError("disk I/O error")

    with monkeypatch.context() as patch:
        patch.setattr(overdue, "RULES", (*overdue.RULES, overdue.OverdueRule(
            "crash", "崩溃", Demand, crash)))
        assert run_job(get_job("mark_overdue"), app=app, now=now).status == "failed"
    assert all_flags() == before

    run = run_job(get_job("mark_overdue"), app=app, now=now)
    assert run.status == "succeeded"
    assert active_flags() == expected_flags(now)
    assert ("demand_reply", first.id) not in active_flags()
    assert ("demand_reply", second.id) in active_flags()
    kept = OverdueFlag.get(OverdueFlag.row_id == second.id, OverdueFlag.cleared_at.is_null())
    assert kept.raised_at == at(2026, 11, 6, 10, 0)


def test_every_register_rule_on_the_demo_estate(app, conn):
    """The demo seed fills every front-desk queue through the registers' own operations: the
    sweep flags each register's overdue rows exactly as its own query lists them."""
    from demo import seed as seed_demo

    app.config["JOBS_DEPOSIT_REFUND_DAYS"] = 0
    with app.app_context():
        seed_demo(units=120)
        now = utcnow()
        outcome = mark_overdue(now)
        expected = expected_flags(now)
        assert active_flags() == expected and outcome.flagged == len(expected)
        assert {"demand_reply", "key_loan", "worker_pass", "temporary_pass",
                "decoration_approval", "deposit_refund"} <= {rule for rule, _ in expected}
        run = run_job(get_job("daily_digest"), app=app, now=now)
    assert run.status == "succeeded"
    digest = latest_digest(Estate.get(Estate.code == "DEMO").id)
    numbers = {item["rule"]: item["numbers"] for item in digest.items}
    assert numbers["deposit_refund"] and all(numbers["deposit_refund"])
    assert digest.new_total == len(expected)


def test_migration_005_matches_the_models(conn):
    """The hand-written migration creates exactly the columns and indexes the models declare."""
    for model in (JobLease, JobRun, OverdueFlag, OverdueDigest):
        columns = {c.name for c in db.get_columns(model._meta.table_name)}
        assert columns == {f.column_name for f in model._meta.sorted_fields}, model
        indexes = {(tuple(i.columns), i.unique) for i in db.get_indexes(model._meta.table_name)}
        for declared in model._meta.indexes:
            if isinstance(declared, tuple):  # the partial index is a ModelIndex, checked below
                fields, unique = declared
                assert (tuple(model._meta.fields[f].column_name for f in fields),
                        unique) in indexes
    active = {i.name: i for i in db.get_indexes("overdue_flag")}["overdue_flag_active"]
    assert active.unique and active.columns == ["rule", "row_id"]
