"""The staff side of notifications (issue #17): WeChat Work application messages, warnings
before a deadline, the duty director of a missed one, emergencies to the branch GM (R-EMG-2).

WeChat Work is spoken to over real HTTP: the client (jobs/wecom.py) against a local fake of its
server API (tests/wecom_fake.py), including its error answers; SMS through the provider's SDK to
tests/sms_fake.py. Sweeps and sends are run at chosen moments.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sms_fake import SmsFake
from test_jobs_support import OFFICE
from test_outbox import office_at, outcomes, received, run
from wecom_fake import AGENT_ID, WecomFake

from jobs import wecom
from jobs.overdue import mark_overdue
from models.demands import Demand
from models.emergencies import Emergency
from models.estate import Branch
from models.notify_staff import on_deadlines_near, on_emergencies_unescalated
from models.org import Department
from models.outbox import NotifyTemplate, OutboxMessage
from models.register import save_record, void_record
from models.roster import DutyDirector


@pytest.fixture
def clerk(make_user, estate):
    return make_user("clerk1", "clerk", estate)


@pytest.fixture
def wx(app):
    wecom.forget_tokens()
    with WecomFake(users=("zhangsan", "lisi", "huangzong")) as fake:
        app.config.update(WECOM_APP=fake.config(), OUTBOX_BACKOFF_SECONDS=60)
        yield fake
    wecom.forget_tokens()


@pytest.fixture
def sms(app):
    with SmsFake() as fake:
        app.config.update(SMS_PROVIDER="aliyun", SMS_ALIYUN=fake.aliyun_config())
        yield fake


def engineering(estate):
    return Department.get(Department.estate == estate.id, Department.kind == "engineering")


def with_userid(user, userid: str):
    user.wecom_userid = userid
    user.save()
    return user


def messages(**where) -> list[OutboxMessage]:
    query = OutboxMessage.select().order_by(OutboxMessage.id)
    for name, value in where.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    return list(query)


def dispatched(app, clerk, estate, **fields) -> Demand:
    """A demand received an hour ago and dispatched to engineering, in a request's context."""
    with app.app_context():
        demand = received(clerk, estate, **fields)
        demand.dispatch(clerk, department_id=engineering(estate).id)
    return Demand.get_by_id(demand.id)


# --- WeChat Work application messages ---------------------------------------------------------


def test_a_new_work_order_reaches_the_engineer_on_wechat_work(app, wx, clerk, estate,
                                                              make_user):
    engineer = with_userid(make_user("eng1", "dept", estate), "zhangsan")
    make_user("eng2", "dept", estate)  # no WeChat Work account: in-app only
    demand = dispatched(app, clerk, estate)
    (message,) = messages(channel="wecom")
    assert message.user_id == engineer.id and message.recipient == "zhangsan"
    assert message.event == "work_order_new" and message.state == "pending"
    assert len(messages(channel="inapp", event="work_order_new")) == 2
    run(app, office_at(1, 10))
    (body,) = wx.sent
    assert body["touser"] == "zhangsan" and body["agentid"] == AGENT_ID
    assert body["msgtype"] == "text" and body["text"]["content"].startswith("新维修单WX")
    message = OutboxMessage.get_by_id(message.id)
    assert message.state == "sent" and message.provider_id == "msg0001"
    assert message.provider == "企业微信应用消息" and outcomes(message) == ["sent"]
    assert message.subject_table == "demand" and message.subject_id == demand.id
    # A second message reuses the cached token: one gettoken for both.
    dispatched(app, clerk, estate, contact_phone="13700000001")
    run(app, office_at(1, 11))
    assert len(wx.sent) == 2 and wx.token_requests == 1


def test_an_expired_token_is_fetched_again_and_the_message_sent_in_the_same_try(
        app, wx, clerk, estate, make_user):
    with_userid(make_user("eng1", "dept", estate), "zhangsan")
    dispatched(app, clerk, estate)
    run(app, office_at(1, 10))
    dispatched(app, clerk, estate, contact_phone="13700000001")
    wx.expire_tokens()  # 42001 to the cached token
    run(app, office_at(1, 11))
    assert len(wx.sent) == 2 and wx.token_requests == 2
    second = messages(channel="wecom")[-1]
    assert second.state == "sent" and outcomes(second) == ["sent"]
    wecom.forget_tokens()
    wx.tokens.clear()  # a token the server never issued (restarted): 40014, then a new one
    wecom._tokens[(wx.base_url, "ww0123456789abcdef", str(AGENT_ID))] = ("stale", 1e12)
    dispatched(app, clerk, estate, contact_phone="13700000002")
    run(app, office_at(1, 12))
    assert len(wx.sent) == 3 and messages(channel="wecom")[-1].state == "sent"


def test_rate_limit_is_retried_with_backoff_then_sent_once(app, wx, clerk, estate, make_user):
    with_userid(make_user("eng1", "dept", estate), "zhangsan")
    dispatched(app, clerk, estate)
    wx.script = [45009, 45009]
    now, waits = office_at(1, 10), []
    for _ in range(3):
        run(app, now)
        (message,) = messages(channel="wecom")
        if message.state == "pending":
            waits.append(message.next_attempt_at - now)
            now = message.next_attempt_at
    assert waits == [dt.timedelta(seconds=60), dt.timedelta(seconds=120)]
    assert message.state == "sent" and len(wx.sent) == 1 and wx.sends == 3
    assert outcomes(message) == ["retry", "retry", "sent"]
    assert [a.code for a in message.tries] == ["45009", "45009", "0"]


def test_an_unknown_account_is_a_permanent_failure(app, wx, clerk, estate, make_user):
    with_userid(make_user("eng1", "dept", estate), "nobody-here")
    dispatched(app, clerk, estate)
    run(app, office_at(1, 10))
    (message,) = messages(channel="wecom")
    assert message.state == "failed" and "81013" in message.answer and "不再重试" in message.note
    run(app, office_at(2, 10))
    assert wx.sends == 1 and wx.sent == []  # never tried again


def test_wrong_secret_is_refused_and_not_retried(app, wx, clerk, estate, make_user):
    app.config["WECOM_APP"] = wx.config(secret="not-the-secret")
    with_userid(make_user("eng1", "dept", estate), "zhangsan")
    dispatched(app, clerk, estate)
    run(app, office_at(1, 10))
    (message,) = messages(channel="wecom")
    assert message.state == "failed" and "40001" in message.answer
    assert "not-the-secret" not in message.answer + message.note
    assert wx.sends == 0


def test_server_busy_and_a_dead_server_are_retried(app, wx, clerk, estate, make_user):
    with_userid(make_user("eng1", "dept", estate), "zhangsan")
    dispatched(app, clerk, estate)
    wx.script = [-1]
    run(app, office_at(1, 10))
    (message,) = messages(channel="wecom")
    assert message.state == "pending" and "-1" in message.answer
    app.config["WECOM_APP"] = wx.config(base_url="http://127.0.0.1:9")  # nothing listens
    run(app, message.next_attempt_at)
    message = OutboxMessage.get_by_id(message.id)
    assert message.state == "pending" and outcomes(message) == ["retry", "retry"]
    app.config["WECOM_APP"] = wx.config()
    run(app, message.next_attempt_at)
    assert OutboxMessage.get_by_id(message.id).state == "sent" and len(wx.sent) == 1


def test_without_wecom_settings_nothing_is_queued_and_queued_messages_wait(
        app, wx, clerk, estate, make_user):
    with_userid(make_user("eng1", "dept", estate), "zhangsan")
    app.config["WECOM_APP"] = {}
    dispatched(app, clerk, estate)
    assert messages(channel="wecom") == [] and len(messages(channel="inapp")) == 1
    app.config["WECOM_APP"] = wx.config()
    dispatched(app, clerk, estate, contact_phone="13700000001")
    app.config["WECOM_APP"] = {}  # switched off after queueing: the message waits, untried
    outcome = run(app, office_at(1, 10))
    (message,) = messages(channel="wecom")
    assert message.state == "pending" and message.attempts == 0
    assert "未配置企业微信应用，1 条应用消息等待发送" in outcome.note
    app.config["WECOM_APP"] = wx.config()
    run(app, office_at(1, 10, 1))
    assert len(wx.sent) == 1


def test_an_event_switched_off_for_the_estate_sends_no_app_message(app, wx, clerk, estate,
                                                                    make_user):
    with_userid(make_user("eng1", "dept", estate), "zhangsan")
    NotifyTemplate.create(estate=estate, event="work_order_new", enabled=False)
    dispatched(app, clerk, estate)
    (message,) = messages(channel="wecom")
    assert message.state == "disabled"
    run(app, office_at(1, 10))
    assert wx.sends == 0


def test_admin_edits_a_staff_wecom_account_and_a_bad_one_is_refused(app, estate, login_as,
                                                                    make_user):
    from conftest import csrf_token

    from models.users import User

    client = login_as("admin")
    engineer = make_user("eng1", "dept", estate)
    url = f"/admin/user/edit/?id={engineer.id}"
    form = {"csrf_token": csrf_token(client, url), "username": "eng1", "display_name": "工程一",
            "role": "dept", "department": "engineering", "phone": "", "active": "y",
            "estate_ids": str(estate.id), "wecom_userid": "zhang san<script>"}
    html = client.post(url, data=form).get_data(as_text=True)
    assert "企业微信账号只能由字母、数字" in html and "zhang san<script>" not in html
    assert User.get_by_id(engineer.id).wecom_userid == ""
    form["wecom_userid"] = "ZhangSan"
    assert client.post(url, data=form).status_code == 302
    assert User.get_by_id(engineer.id).wecom_userid == "ZhangSan"


# --- a deadline about to be missed ------------------------------------------------------------


def people_told(event: str) -> set[int]:
    return {m.user_id for m in messages(event=event, channel="inapp")}


def test_a_two_hour_deadline_warns_the_handler_and_supervisors_30_minutes_ahead(
        app, clerk, estate, make_user):
    supervisor = make_user("sup1", "supervisor", estate)
    head = make_user("enghead", "dept", estate)
    head.dept_supervisor = True
    head.save()
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


# --- emergencies to the branch GM (R-EMG-2) ---------------------------------------------------


def gm_branch(estate, mobile="13600000001", userid="huangzong"):
    branch = Branch.get_by_id(estate.branch_id)
    branch.general_manager, branch.gm_mobile, branch.gm_wecom_userid = "黄总", mobile, userid
    branch.save()


def incident(app, clerk, estate, *, kind="fire", minutes_ago=10, casualties="无"):
    with app.app_context():
        return save_record(Emergency(
            estate=estate.id, occurred_at=dt.datetime.now(OFFICE) - dt.timedelta(
                minutes=minutes_ago), place="3栋地下车库", kind=kind, description="车辆起火",
            reported_by="保安", first_reported_to="值班客服", casualties=casualties,
            technician="李工" if kind in ("equipment", "building") else "",
            technician_notified_at=dt.datetime.now(OFFICE) - dt.timedelta(minutes=5)
            if kind in ("equipment", "building") else None), clerk)


def test_the_directors_escalation_step_reaches_the_gm_by_sms_and_wechat_work(
        app, wx, sms, clerk, estate, make_user):
    director = make_user("dir1", "director", estate)
    gm_branch(estate)
    NotifyTemplate.create(estate=estate, event="emergency_gm", sms_template="SMS_490001")
    fire = incident(app, clerk, estate)
    with app.app_context():
        fire.add_step(director, kind="gm", who="黄总")
    gm_messages = messages(event="emergency_gm")
    assert sorted(m.channel for m in gm_messages) == ["inapp", "sms", "wecom"]
    run(app, office_at(1, 2, 30))  # at night too: an emergency is urgent
    (text,) = sms.sent
    assert text["phone"] == "13600000001" and text["params"]["number"] == fire.number
    (body,) = wx.sent
    assert body["touser"] == "huangzong" and fire.number in body["text"]["content"]
    assert "测试花园" in body["text"]["content"] and "主任已上报" in body["text"]["content"]
    (notice,) = messages(event="emergency_gm", channel="inapp")
    assert notice.user_id == director.id


def test_an_unescalated_fire_goes_to_the_gm_after_the_limit_once(app, wx, clerk, estate,
                                                                 make_user):
    make_user("dir1", "director", estate)
    gm_branch(estate, mobile="")
    fire = incident(app, clerk, estate, minutes_ago=59)
    now = dt.datetime.now(OFFICE)
    with app.app_context():
        assert on_emergencies_unescalated(now) == 0
        assert on_emergencies_unescalated(now + dt.timedelta(minutes=2)) == 1
        assert on_emergencies_unescalated(now + dt.timedelta(minutes=20)) == 0
    (message,) = messages(event="emergency_gm", channel="wecom")
    assert "系统自动通知" in message.text and fire.number in message.text
    assert messages(event="emergency_gm", channel="sms") == []  # no GM mobile on the branch


def test_which_incidents_go_up_on_their_own(app, wx, clerk, estate, make_user):
    make_user("dir1", "director", estate)
    gm_branch(estate)
    lift = incident(app, clerk, estate, kind="lift", minutes_ago=90)
    hurt = incident(app, clerk, estate, kind="lift", minutes_ago=90, casualties="一人擦伤")
    reported = incident(app, clerk, estate, minutes_ago=90)
    calmed = incident(app, clerk, estate, minutes_ago=90)
    with app.app_context():
        reported.add_step(clerk, kind="gm", who="黄总")
        calmed.stabilised_at = dt.datetime.now(OFFICE) - dt.timedelta(minutes=1)
        save_record(calmed, clerk)
        assert on_emergencies_unescalated(dt.datetime.now(OFFICE)) == 1
    auto = {m.subject_id for m in messages(event="emergency_gm") if ":gm:auto" in m.key}
    assert auto == {hurt.id} and lift.id not in auto


def test_without_gm_contacts_the_director_is_told_to_phone(app, clerk, estate, make_user):
    director = make_user("dir1", "director", estate)
    incident(app, clerk, estate, minutes_ago=90)
    with app.app_context():
        on_emergencies_unescalated(dt.datetime.now(OFFICE))
    (notice,) = messages(event="emergency_gm")
    assert notice.user_id == director.id and "请电话报告" in notice.text


def test_admin_records_the_gm_contacts_and_a_bad_mobile_is_refused(app, estate, login_as):
    from conftest import csrf_token

    client = login_as("admin")
    url = f"/admin/branch/edit/?id={estate.branch_id}"
    form = {"csrf_token": csrf_token(client, url), "name": "测试分公司", "general_manager": "黄总",
            "phone": "", "gm_mobile": "12345", "gm_wecom_userid": "huangzong"}
    html = client.post(url, data=form).get_data(as_text=True)
    assert "请填写11位手机号" in html
    assert Branch.get_by_id(estate.branch_id).gm_mobile == ""
    form["gm_mobile"] = "136-0000-0001"
    assert client.post(url, data=form).status_code == 302
    branch = Branch.get_by_id(estate.branch_id)
    assert (branch.gm_mobile, branch.gm_wecom_userid) == ("13600000001", "huangzong")


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


def test_the_gm_contacts_are_not_shown_to_the_desk(app, estate, login_as):
    gm_branch(estate)
    client = login_as("clerk")
    for url in ("/admin/branch/", f"/admin/branch/details/?id={estate.branch_id}"):
        html = client.get(url).get_data(as_text=True)
        assert "测试分公司" in html and "13600000001" not in html and "huangzong" not in html


def test_a_new_emergency_reaches_the_duty_director_too(app, wx, clerk, estate, make_user):
    director = with_userid(make_user("dir1", "director", estate), "zhangsan")
    on_duty = with_userid(make_user("sup1", "supervisor", estate), "lisi")
    make_user("sup2", "supervisor", estate)  # not on duty
    save_record(DutyDirector(estate=estate.id, day=dt.datetime.now(OFFICE).date(),
                             director=on_duty.id), director)
    fire = incident(app, clerk, estate)
    assert people_told("emergency_new") == {director.id, on_duty.id}
    run(app, office_at(1, 3))
    assert sorted(body["touser"] for body in wx.sent) == ["lisi", "zhangsan"]
    assert all(fire.number in body["text"]["content"] for body in wx.sent)


def test_a_stand_alone_work_order_warns_its_assignee_half_a_day_before_its_limit(
        app, clerk, estate, make_user):
    from models.notify_staff import on_work_orders_near
    from models.work_orders import WorkOrder

    engineer = make_user("eng1", "dept", estate)
    head = make_user("enghead", "dept", estate)
    head.dept_supervisor = True
    head.save()
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
