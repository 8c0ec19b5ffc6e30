"""Staff notifications over WeChat Work application messages (issue #17): a new work order
reaches the engineer, the token, rate-limit, account and server errors of the API, the
settings and the estate's switch, and the admin that records a staff member's account.

WeChat Work is spoken to over real HTTP: the client (jobs/wecom.py) against a local fake of its
server API (tests/wecom_fake.py), including its error answers. Sends are run at chosen moments.
"""

from __future__ import annotations

import datetime as dt

import notify_staff_support
from notify_staff_support import dispatched, messages, with_userid
from test_outbox import office_at, outcomes, run
from wecom_fake import AGENT_ID

from jobs import wecom
from models.notify_settings import NotifyTemplate
from models.outbox import OutboxMessage

# The local WeChat Work server, a fixture pytest finds here by name (imported, a test taking
# it as a parameter would read as redefining the import).
wx = notify_staff_support.wx


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


