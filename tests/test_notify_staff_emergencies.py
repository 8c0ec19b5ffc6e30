"""Emergencies reach the branch GM and the duty director (R-EMG-2, issue #17): the directors'
escalation step by SMS and WeChat Work, an unescalated incident after its limit, the GM's
contacts recorded by the admin and hidden from the desk.

SMS goes through the provider's SDK to tests/sms_fake.py; WeChat Work to tests/wecom_fake.py.
"""

from __future__ import annotations

import datetime as dt

import notify_staff_support
from notify_staff_support import messages, people_told, with_userid
from test_jobs_support import OFFICE
from test_outbox import office_at, run

from models.emergencies import Emergency
from models.estate import Branch
from models.notify_settings import NotifyTemplate
from models.notify_staff import on_emergencies_unescalated
from models.register import save_record
from models.roster import DutyDirector

# The local WeChat Work server, a fixture pytest finds here by name (imported, a test taking it
# as a parameter would read as redefining the import); the SMS fake is conftest's sms_fake.
wx = notify_staff_support.wx


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
        app, wx, sms_fake, clerk, estate, make_user):
    director = make_user("dir1", "director", estate)
    gm_branch(estate)
    NotifyTemplate.create(estate=estate, event="emergency_gm", sms_template="SMS_490001")
    fire = incident(app, clerk, estate)
    with app.app_context():
        fire.add_step(director, kind="gm", who="黄总")
    gm_messages = messages(event="emergency_gm")
    assert sorted(m.channel for m in gm_messages) == ["inapp", "sms", "wecom"]
    run(app, office_at(1, 2, 30))  # at night too: an emergency is urgent
    (text,) = sms_fake.sent
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


