"""Staff notifications about deadlines (issue #17): warnings before a demand's or a
stand-alone work order's deadline, the duty director of a missed one, and the daily overdue
digest posted through the outbox. Sweeps and sends are run at chosen moments."""

from __future__ import annotations

import datetime as dt

import notify_staff_support
from conftest import engineering
from notify_staff_support import (
    dispatched,
    engineering_head,
    messages,
    people_told,
    with_userid,
)
from test_jobs_support import OFFICE
from test_outbox import office_at, outcomes, received, run

from jobs.overdue import mark_overdue
from models.demands import Demand
from models.notify_settings import NotifyTemplate
from models.notify_staff import on_deadlines_near
from models.register import save_record, void_record
from models.roster import DutyDirector

# The local WeChat Work server, a fixture pytest finds here by name (imported, a test taking
# it as a parameter would read as redefining the import).
wx = notify_staff_support.wx


# --- a deadline about to be missed ------------------------------------------------------------


def test_a_two_hour_deadline_warns_the_handler_and_supervisors_30_minutes_ahead(
        app, clerk, estate, make_user):
    supervisor = make_user("sup1", "supervisor", estate)
    head = engineering_head(make_user, estate)
    engineer = make_user("eng1", "dept", estate)
    with app.app_context():
        demand = received(clerk, estate, urgent=True)
        demand.dispatch(clerk, department_id=engineering(estate).id, assignee_id=engineer.id)
    demand = Demand.get_by_id(demand.id)
    due = demand.reply_due
    with app.app_context():
        assert on_deadlines_near(due - dt.timedelta(minutes=30, seconds=1)) == 0
        assert people_told("deadline_near") == set()
        assert on_deadlines_near(due - dt.timedelta(minutes=30)) == 1
    assert people_told("deadline_near") == {clerk.id, engineer.id, supervisor.id, head.id}
    (notice,) = messages(event="deadline_near", user=supervisor.id)
    assert demand.number in notice.text and "尚未答复" in notice.text
    assert f"{due.astimezone(OFFICE):%H:%M}" in notice.text
    with app.app_context():
        assert on_deadlines_near(due - dt.timedelta(minutes=5)) == 0  # once per deadline
        assert on_deadlines_near(due + dt.timedelta(seconds=1)) == 0  # missed: not "near"
    assert len(messages(event="deadline_near")) == 4


def test_a_working_day_deadline_warns_half_a_day_ahead(app, clerk, estate, make_user):
    supervisor = make_user("sup1", "supervisor", estate)
    demand = dispatched(app, clerk, estate)
    due = demand.reply_due
    assert f"{due.astimezone(OFFICE):%H:%M}" in ("00:00", "23:59")  # end of a working day
    with app.app_context():
        assert on_deadlines_near(due - dt.timedelta(hours=12, seconds=1)) == 0
        assert on_deadlines_near(due - dt.timedelta(hours=12)) == 1
    assert people_told("deadline_near") == {clerk.id, supervisor.id}


def test_the_leads_are_settings(app, clerk, estate, make_user):
    make_user("sup1", "supervisor", estate)
    app.config.update(NOTIFY_WARN_LEAD_MINUTES=60, NOTIFY_WARN_LEAD_DAY_HOURS=4)
    urgent = dispatched(app, clerk, estate, urgent=True)
    routine = dispatched(app, clerk, estate, contact_phone="13700000001")
    with app.app_context():
        assert on_deadlines_near(urgent.reply_due - dt.timedelta(minutes=60)) == 1
        assert on_deadlines_near(routine.reply_due - dt.timedelta(hours=4, seconds=1)) == 0
        assert on_deadlines_near(routine.reply_due - dt.timedelta(hours=4)) == 1


def test_a_revised_deadline_warns_again(app, clerk, estate, make_user):
    supervisor = make_user("sup1", "supervisor", estate)
    demand = dispatched(app, clerk, estate, urgent=True)
    with app.app_context():
        assert on_deadlines_near(demand.reply_due - dt.timedelta(minutes=10)) == 1
        later = dt.datetime.now(OFFICE) + dt.timedelta(hours=5)
        demand.revise_deadline(supervisor, serious=False, urgent=True, reason="业主同意延后答复",
                               requested_reply_at=later)
        demand = Demand.get_by_id(demand.id)
        assert demand.reply_due == later
        assert on_deadlines_near(later - dt.timedelta(minutes=40)) == 0
        assert on_deadlines_near(later - dt.timedelta(minutes=20)) == 1
    assert len(messages(event="deadline_near", user=supervisor.id)) == 2


def test_a_deadline_in_the_last_half_millisecond_of_its_second_is_warned_once(
        app, clerk, estate, make_user):
    """The warning's key holds the deadline's whole seconds (Python truncates); SQLite's
    strftime('%s') rounded .9996 s up to the next second, so such a deadline never counted
    as warned and was warned again at every sweep."""
    make_user("sup1", "supervisor", estate)
    demand = dispatched(app, clerk, estate, urgent=True)
    due = demand.reply_due.replace(microsecond=999_600)
    Demand.update(reply_due=due).where(Demand.id == demand.id).execute()
    with app.app_context():
        assert on_deadlines_near(due - dt.timedelta(minutes=10)) == 1
        assert on_deadlines_near(due - dt.timedelta(minutes=5)) == 0


def test_answered_or_voided_demands_are_never_warned(app, clerk, estate, make_user):
    make_user("sup1", "supervisor", estate)
    replied = dispatched(app, clerk, estate, urgent=True)
    voided = dispatched(app, clerk, estate, urgent=True, contact_phone="13700000001")
    with app.app_context():
        replied.reply(clerk, content="已安排维修", cause="管道老化")
        void_record(voided, clerk, "重复登记")
        assert on_deadlines_near(replied.reply_due - dt.timedelta(minutes=10)) == 0
    assert messages(event="deadline_near") == []


def test_the_sweep_sends_warnings_once_and_by_wechat_work_too(app, wx, clerk, estate,
                                                              make_user):
    with_userid(make_user("sup1", "supervisor", estate), "lisi")
    demand = dispatched(app, clerk, estate, urgent=True)
    with app.app_context():
        mark_overdue(demand.reply_due - dt.timedelta(minutes=20))
        mark_overdue(demand.reply_due - dt.timedelta(minutes=5))
    (message,) = messages(event="deadline_near", channel="wecom")
    run(app, office_at(1, 10))
    (body,) = wx.sent
    assert body["touser"] == "lisi" and demand.number in body["text"]["content"]


# --- a missed deadline: the supervisors and the duty director ---------------------------------


def test_a_missed_deadline_reaches_the_duty_director_of_the_day(app, clerk, estate, make_user):
    supervisor = make_user("sup1", "supervisor", estate)
    on_duty = make_user("dir1", "director", estate)
    make_user("dir2", "director", estate)  # not on duty that day
    demand = dispatched(app, clerk, estate, urgent=True)
    late = demand.reply_due + dt.timedelta(minutes=10)
    save_record(DutyDirector(estate=estate.id, day=late.astimezone(OFFICE).date(),
                             director=on_duty.id), supervisor)
    with app.app_context():
        mark_overdue(late)
    assert people_told("deadline_missed") == {supervisor.id, on_duty.id}


def test_a_stand_alone_work_order_warns_its_assignee_half_a_day_before_its_limit(
        app, clerk, estate, make_user):
    from models.notify_staff import on_work_orders_near
    from models.work_orders import WorkOrder

    engineer = make_user("eng1", "dept", estate)
    head = engineering_head(make_user, estate)
    dispatched_at = dt.datetime.now(OFFICE) - dt.timedelta(hours=1)
    with app.app_context():
        order = save_record(WorkOrder(estate=estate.id, department=engineering(estate).id,
                                      what="更换门锁", location="1-1-101", assignee=engineer.id,
                                      dispatched_at=dispatched_at), clerk)
        limit = dispatched_at + dt.timedelta(hours=48)
        assert on_work_orders_near(limit - dt.timedelta(hours=12, seconds=1)) == 0
        assert on_work_orders_near(limit - dt.timedelta(hours=12)) == 1
        assert on_work_orders_near(limit - dt.timedelta(hours=1)) == 0  # once
        assert on_work_orders_near(limit + dt.timedelta(seconds=1)) == 0  # overdue now
    assert people_told("work_order_near") == {engineer.id, head.id}
    (notice,) = messages(event="work_order_near", user=engineer.id)
    assert order.number in notice.text and "1-1-101" in notice.text


def test_a_completed_or_demand_bound_work_order_is_not_warned_on_its_own(app, clerk, estate,
                                                                         make_user):
    from test_jobs_support import new_work_order

    from models.notify_staff import on_work_orders_near

    make_user("eng1", "dept", estate)
    start = dt.datetime.now(OFFICE) - dt.timedelta(hours=3)
    with app.app_context():
        new_work_order(clerk, estate, start, completed_at=start + dt.timedelta(hours=1))
        dispatched(app, clerk, estate)  # its order follows the demand's deadline
        assert on_work_orders_near(start + dt.timedelta(hours=40)) == 0
    assert messages(event="work_order_near") == []


# --- the daily digest through the outbox ------------------------------------------------------


def test_the_daily_digest_is_an_outbox_message_retried_until_the_robot_takes_it(app, clerk,
                                                                                estate):
    from test_jobs_support import Robot, at, new_demand

    from jobs.digest import latest_digest
    from jobs.registry import get_job
    from jobs.runner import run_job

    app.config.update(JOBS_WEBHOOK_TIMEOUT=5, JOBS_WEBHOOK_ATTEMPTS=1, JOBS_WEBHOOK_BACKOFF=0)
    NotifyTemplate.create(estate=estate, event="daily_digest", text="【每日摘要】\n{summary}")
    demand = new_demand(clerk, estate, at(2026, 11, 2, 9, 0))
    mark_overdue(at(2026, 11, 5, 8, 0))
    with Robot("fail") as robot:
        app.config["JOBS_DIGEST_WEBHOOKS"] = {"TEST": robot.url}
        result = run_job(get_job("daily_digest"), app=app, now=at(2026, 11, 5, 8, 30))
        assert result.status == "partial" and "HTTP 500" in result.error
        digest = latest_digest(estate.id)
        assert digest.webhook_status == "failed"
        (message,) = messages(event="daily_digest")
        assert message.key == f"digest:{digest.id}" and message.state == "pending"
        assert message.subject_table == "overdue_digest" and message.channel == "robot"
        robot.behaviour = "ok"
        run(app, message.next_attempt_at)
        run(app, message.next_attempt_at + dt.timedelta(hours=1))  # sent: never again
    assert latest_digest(estate.id).webhook_status == "sent"
    assert outcomes(message) == ["retry", "sent"]
    (first, _), (second, body) = robot.requests
    content = body["markdown"]["content"]
    assert content.startswith("【每日摘要】\n**测试花园 超时摘要**") and demand.number in content


def test_a_digest_switched_off_for_the_estate_is_not_posted(app, clerk, estate):
    from test_jobs_support import Robot, at, new_demand

    from jobs.digest import latest_digest
    from jobs.registry import get_job
    from jobs.runner import run_job

    NotifyTemplate.create(estate=estate, event="daily_digest", enabled=False)
    new_demand(clerk, estate, at(2026, 11, 2, 9, 0))
    mark_overdue(at(2026, 11, 5, 8, 0))
    with Robot() as robot:
        app.config["JOBS_DIGEST_WEBHOOKS"] = {"TEST": robot.url}
        result = run_job(get_job("daily_digest"), app=app, now=at(2026, 11, 5, 8, 30))
    assert result.status == "succeeded" and "推送 0 份" in result.note
    assert robot.requests == [] and latest_digest(estate.id).webhook_status == "disabled"


