"""What is sent when the registers change (issue #17), and where staff see it.

Owners: each step of a demand (R-DEM-4); a batch noticed by SMS (R-JOB-1/2). Staff: a new work
order to its department, a missed deadline to the supervisors, a new emergency to the director
at once (R-EMG-1) — in-app, by SMS and to the estate's group robot. Pages: the delivery log
on the demand (numbers masked), the 通知 list, the settings, the jobs page's monthly count.
"""

from __future__ import annotations

import datetime as dt

import pytest
from conftest import engineering
from test_jobs_support import OFFICE, Robot
from test_outbox import PHONE, office_at, received, run, sms_messages

from jobs.overdue import mark_overdue
from models.batches import ServiceBatch, ServiceRegistration
from models.demands import Demand
from models.emergencies import Emergency
from models.notify_settings import NotifyTemplate
from models.org import Unit
from models.outbox import OutboxMessage
from models.register import save_record
from models.work_orders import WorkOrder


@pytest.fixture
def templates(conn, estate):
    for number, event in enumerate(("demand_received", "demand_dispatched", "demand_replied",
                                    "demand_completed", "demand_reopened", "batch_notice",
                                    "emergency_new"), 1):
        NotifyTemplate.create(estate=estate, event=event, sms_template=f"SMS_48{number:04d}")


def events(**where) -> list[str]:
    query = OutboxMessage.select().order_by(OutboxMessage.id)
    for name, value in where.items():
        query = query.where(getattr(OutboxMessage, name) == value)
    return [m.event for m in query]


def test_owner_hears_of_every_step_of_the_loop(app, sms_fake, templates, clerk, estate, make_user):
    engineer = make_user("eng1", "dept", estate, department="engineering")
    demand = received(clerk, estate)
    demand.dispatch(clerk, department_id=engineering(estate).id)
    demand.reply(clerk, content="明天上午上门维修", cause="水管老化（R-DEM-6）")
    # The department completes its own order; the last one completes the demand (R-DEM-8, #11).
    WorkOrder.get(WorkOrder.demand == demand.id).complete(engineer, result="已更换水管")
    demand = Demand.get_by_id(demand.id)
    demand.record_callback(clerk, channel="phone", on_time=5, attitude=5, skill=2, etiquette=5,
                           satisfied=False, comments="还在渗水")
    assert events(channel="sms") == ["demand_received", "demand_dispatched", "demand_replied",
                                     "demand_completed", "demand_reopened"]
    run(app, office_at(1, 10))
    assert [s["template"] for s in sms_fake.sent] == [f"SMS_48{n:04d}" for n in range(1, 6)]
    assert sms_fake.sent[1]["params"]["department"] == "工程维修部"
    assert sms_fake.sent[2]["params"]["reply"] == "明天上午上门维修"
    # The engineering department heard of its new work order, in its 通知 list.
    (notice,) = OutboxMessage.select().where(OutboxMessage.channel == "inapp",
                                             OutboxMessage.user == engineer.id)
    assert notice.event == "work_order_new" and notice.text.startswith("新维修单WX")


def test_answered_at_the_desk_sends_nothing(app, sms_fake, templates, clerk, estate):
    received(clerk, estate, answered_at_intake=True, reply_content="物业费可在前台缴纳")
    assert events() == []


def test_missed_deadline_goes_to_the_supervisors(app, clerk, estate, make_user):
    supervisor = make_user("sup1", "supervisor", estate)
    head = make_user("enghead", "dept", estate, department="engineering")
    head.dept_supervisor = True
    head.save()
    make_user("eng2", "dept", estate, department="engineering")  # not a supervisor
    demand = received(clerk, estate, urgent=True)
    demand.dispatch(clerk, department_id=engineering(estate).id)
    now = dt.datetime.now(OFFICE) + dt.timedelta(hours=3)
    mark_overdue(now)
    told = {m.user_id for m in OutboxMessage.select().where(
        OutboxMessage.event == "deadline_missed", OutboxMessage.channel == "inapp")}
    assert told == {supervisor.id, head.id}
    mark_overdue(now + dt.timedelta(minutes=15))  # still overdue: nobody is told twice
    assert len(events(event="deadline_missed", channel="inapp")) == 2
    (robot,) = OutboxMessage.select().where(OutboxMessage.event == "deadline_missed",
                                            OutboxMessage.channel == "robot")
    assert robot.recipient == "TEST" and demand.number in robot.text


def test_new_emergency_reaches_the_director_at_once_even_at_night(app, sms_fake, templates, clerk,
                                                                  estate, make_user):
    director = make_user("dir1", "director", estate)
    director.phone = "13600000009"
    director.save()
    incident = save_record(Emergency(
        estate=estate.id, occurred_at=dt.datetime.now(OFFICE) - dt.timedelta(minutes=10),
        place="3栋电梯", kind="lift", description="电梯困人", reported_by="业主",
        first_reported_to="值班客服"), clerk)
    assert sorted(events()) == ["emergency_new"] * 3  # in-app, SMS, robot
    with Robot() as robot:
        app.config["JOBS_DIGEST_WEBHOOKS"] = {"TEST": robot.url}
        run(app, office_at(1, 2, 30))  # quiet hours do not hold an emergency
    (sent,) = sms_fake.sent
    assert sent["phone"] == "13600000009" and sent["params"]["number"] == incident.number
    ((_, body),) = robot.requests
    assert incident.number in body["markdown"]["content"]
    assert all(m.state == "sent" for m in OutboxMessage.select())


def test_batch_notice_by_sms_tells_every_unit(app, sms_fake, templates, clerk, estate):
    day = dt.date.today() + dt.timedelta(days=(5 - dt.date.today().weekday()) % 7 + 7)
    batch = save_record(ServiceBatch(estate=estate.id, kind="lock", day=day), clerk)
    units = list(Unit.select().where(Unit.estate == estate.id).order_by(Unit.id))[:2]
    rows = [save_record(ServiceRegistration(estate=estate.id, kind="lock", unit=u.id,
                                            contact_name="业主", contact_phone=f"1370000001{i}"),
                        clerk) for i, u in enumerate(units)]
    batch.add(clerk, [r.id for r in rows])
    batch = ServiceBatch.get_by_id(batch.id)
    batch.record_notice(clerk, method="sms", content="周六更换锁芯")
    run(app, office_at(1, 10))
    assert sorted(s["phone"] for s in sms_fake.sent) == ["13700000010", "13700000011"]
    assert sms_fake.sent[0]["params"]["service"] == batch.kind_label


def test_delivery_log_on_the_demand_page_masks_the_number(app, sms_fake, templates, estate,
                                                          login_as):
    client = login_as("supervisor")
    demand = received(client.user, estate)
    sms_fake.script = ["isv.BUSINESS_LIMIT_CONTROL"]
    run(app, office_at(1, 10))
    html = client.get(f"/admin/demand/details/?id={demand.id}").get_data(as_text=True)
    log = html[html.index('id="delivery-log"'):]  # the demand's own fields show its phone
    assert "139****5678" in log and PHONE not in log
    assert "isv.BUSINESS_LIMIT_CONTROL" in log and "失败，稍后重试" in log
    grid = client.get("/admin/outbox/").get_data(as_text=True)
    assert "139****5678" in grid and PHONE not in grid


def test_staff_see_their_notices_and_mark_them_read(app, clerk, estate, login_as):
    client = login_as("dept", "eng9", department="engineering")
    demand = received(clerk, estate)
    demand.dispatch(clerk, department_id=engineering(estate).id)
    html = client.get("/admin/notices/").get_data(as_text=True)
    assert "新维修单" in html and "1 条未读" in html
    from conftest import csrf_token

    token = csrf_token(client, "/admin/notices/")
    assert client.post("/admin/notices/read/", data={"csrf_token": token}).status_code == 302
    assert "条未读" not in client.get("/admin/notices/").get_data(as_text=True)
    assert client.post("/admin/notices/read/").status_code == 400  # CSRF


def test_jobs_page_counts_this_months_sms_per_estate(app, sms_fake, templates, estate, login_as):
    client = login_as("supervisor")
    received(client.user, estate, urgent=True)
    received(client.user, estate, urgent=True, contact_phone="13700000005")
    run(app, dt.datetime.now(OFFICE))
    assert [m.state for m in sms_messages()] == ["sent", "sent"]
    html = client.get("/admin/jobs/").get_data(as_text=True)
    table = html[html.index('id="sms-count-table"'):]
    assert "测试花园" in table and "<td>2</td>" in table


def test_settings_refuse_unknown_parameters(app, estate, login_as):
    client = login_as("supervisor")
    from conftest import csrf_token

    token = csrf_token(client, "/admin/notify_template/new/")
    response = client.post("/admin/notify_template/new/", data={
        "csrf_token": token, "estate": estate.id, "event": "demand_received",
        "enabled": "y", "sms_template": "SMS_1", "text": "您的报事{numbr}已受理"})
    assert "内容中的参数只能是" in response.get_data(as_text=True)
    assert NotifyTemplate.select().count() == 0


def test_h5_posters_print_a_qr_code_per_estate_and_building(app, estate, login_as):
    client = login_as("clerk")
    app.config["H5_BASE_URL"] = "https://wuye.example.com"
    listing = client.get("/admin/h5_poster/").get_data(as_text=True)
    assert "测试花园（全小区）" in listing and "1栋" in listing
    from models.org import Building

    building = Building.get(Building.estate == estate.id)
    page = client.get(f"/admin/h5_poster/?estate={estate.id}&building={building.id}&print=1")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "测试花园 · 1栋" in html
    assert 'src="data:image/svg+xml' in html and "https://wuye.example.com/h5/login" in html
    assert login_as("viewer", "viewer1").get("/admin/h5_poster/").status_code == 403


def test_a_stand_alone_work_order_is_announced_to_its_department(app, clerk, estate, make_user):
    from test_jobs_support import new_work_order

    engineer = make_user("eng1", "dept", estate, department="engineering")
    make_user("guard1", "dept", estate, department="security")
    order = new_work_order(clerk, estate, dt.datetime.now(OFFICE) - dt.timedelta(hours=1))
    (notice,) = OutboxMessage.select().where(OutboxMessage.event == "work_order_new")
    assert notice.user_id == engineer.id and notice.subject_table == "work_order"
    assert notice.subject_id == order.id and order.number in notice.text
