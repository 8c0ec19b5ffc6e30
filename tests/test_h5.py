"""The owners' H5 (issue #17): sign-in with an SMS code read from the fake provider, no
enumeration of residents, rate limits, submission as a demand, progress, rating and isolation
between units."""

from __future__ import annotations

import re

import pytest
from conftest import csrf_token
from sms_fake import SmsFake

from jobs.outbox import send_outbox
from models.base import utcnow
from models.callbacks import Callback
from models.demands import Demand
from models.notify_settings import NotifyTemplate
from models.org import Department, Resident, Unit
from models.outbox import OutboxMessage
from models.owners import OwnerAttempt, OwnerCode
from models.work_orders import WorkOrder

OWNER_A, OWNER_B, STRANGER = "13911110001", "13911110002", "13911119999"


@pytest.fixture
def owners(conn, estate):
    """Unit 1-1-101 belongs to OWNER_A, 1-1-102 to OWNER_B (each their own number)."""
    for code, phone in (("1-1-101", OWNER_A), ("1-1-102", OWNER_B)):
        unit = Unit.get(Unit.code == code)
        Resident.update(phone=phone).where(Resident.unit == unit.id).execute()
    NotifyTemplate.create(estate=estate, event="owner_login_code", sms_template="SMS_900001")
    NotifyTemplate.create(estate=estate, event="demand_completed", sms_template="SMS_900002")
    return estate


@pytest.fixture
def fake(app):
    with SmsFake() as fake:
        # No quiet hours, whatever the hour the suite runs at (tested in test_outbox).
        app.config.update(SMS_PROVIDER="aliyun", SMS_ALIYUN=fake.aliyun_config(),
                          SMS_QUIET_HOURS=(0, 0))
        yield fake


def ask_code(client, phone, **environ):
    token = csrf_token(client, "/h5/login")
    return client.post("/h5/login", data={"csrf_token": token, "phone": phone},
                       environ_base=environ)


def code_for(app, fake, phone) -> str:
    with app.app_context():
        send_outbox(now=utcnow())  # in case the after-answer send has not run
    return [s for s in fake.sent if s["phone"] == phone][-1]["params"]["code"]


def sign_in(app, fake, phone):
    client = app.test_client()
    assert ask_code(client, phone).status_code == 302
    code = code_for(app, fake, phone)
    token = csrf_token(client, "/h5/verify")
    response = client.post("/h5/verify", data={"csrf_token": token, "code": code})
    assert response.status_code == 302 and response.location.endswith("/h5/"), \
        response.get_data(as_text=True)
    return client


def submit(client, unit_code, **fields):
    unit = Unit.get(Unit.code == unit_code)
    token = csrf_token(client, "/h5/new")
    data = {"csrf_token": token, "unit": unit.id, "kind": "help", "category": "engineering",
            "description": "卫生间天花板漏水", **fields}
    return client.post("/h5/new", data=data)


def test_sign_in_with_a_code_read_from_the_sms_fake(app, fake, owners):
    client = sign_in(app, fake, OWNER_A)
    home = client.get("/h5/").get_data(as_text=True)
    assert "1-1-101" in home and "1-1-102" not in home
    # Stored as digests only; the message's text never held the code, its parameters are wiped.
    (row,) = OwnerCode.select()
    code = fake.sent[-1]["params"]["code"]
    assert code not in row.code and OWNER_A not in row.number and row.used_at is not None
    (message,) = OutboxMessage.select().where(OutboxMessage.event == "owner_login_code")
    assert message.state == "sent" and code not in message.text and code not in message.params
    # The code is used up; the H5 sign-in is not a staff sign-in.
    assert client.get("/admin/").status_code == 302


def test_the_answer_is_the_same_whether_or_not_the_number_is_registered(app, fake, owners):
    app.config["H5_CODE_INTERVAL_SECONDS"] = 0
    answers = []
    for phone in (OWNER_A, STRANGER):
        client = app.test_client()
        response = ask_code(client, phone)
        page = client.get(response.location).get_data(as_text=True)
        # Only the masked number itself and the form's token differ.
        page = re.sub(r"\d{3}\*\*\*\*\d{4}", "…", page)
        page = re.sub(r'name="csrf_token" value="[^"]+"', "", page)
        answers.append((response.status_code, response.location, page))
    assert answers[0] == answers[1]
    code_for(app, fake, OWNER_A)
    assert {s["phone"] for s in fake.sent} == {OWNER_A}  # the stranger got nothing
    client = app.test_client()
    ask_code(client, STRANGER)
    token = csrf_token(client, "/h5/verify")
    page = client.post("/h5/verify", data={"csrf_token": token, "code": "123456"})
    assert "验证码错误或已过期" in page.get_data(as_text=True)


def test_code_requests_are_limited_per_number_and_per_address(app, fake, owners):
    app.config.update(H5_CODE_INTERVAL_SECONDS=0, H5_CODES_PER_NUMBER=3,
                      H5_CODES_PER_ADDRESS=6)
    for phone in (OWNER_A, STRANGER):  # the same limit, registered or not
        client = app.test_client()
        for _ in range(3):
            assert ask_code(client, phone).status_code == 302
        refused = ask_code(client, phone)
        assert refused.status_code == 200 and "操作过于频繁" in refused.get_data(as_text=True)
    # Six requests came from 127.0.0.1; other numbers from there are refused too now…
    assert "操作过于频繁" in ask_code(app.test_client(), OWNER_B).get_data(as_text=True)
    # …but not from another address.
    other = ask_code(app.test_client(), OWNER_B, REMOTE_ADDR="10.0.0.9")
    assert other.status_code == 302
    assert OwnerAttempt.select().where(OwnerAttempt.remote_addr == "10.0.0.9").count() == 1


def test_a_second_code_within_the_interval_is_refused(app, fake, owners):
    client = app.test_client()
    assert ask_code(client, OWNER_A).status_code == 302
    assert "操作过于频繁" in ask_code(client, OWNER_A).get_data(as_text=True)


def test_wrong_codes_burn_the_code_and_are_limited_per_address(app, fake, owners):
    app.config.update(H5_FAILURES_PER_ADDRESS=6)
    client = app.test_client()
    ask_code(client, OWNER_A)
    code = code_for(app, fake, OWNER_A)
    wrong = f"{(int(code) + 1) % 10 ** 6:06d}"
    for _ in range(5):
        token = csrf_token(client, "/h5/verify")
        client.post("/h5/verify", data={"csrf_token": token, "code": wrong})
    token = csrf_token(client, "/h5/verify")
    page = client.post("/h5/verify", data={"csrf_token": token, "code": code})
    assert "验证码错误或已过期" in page.get_data(as_text=True)  # 5 wrong guesses killed it
    token = csrf_token(client, "/h5/verify")
    page = client.post("/h5/verify", data={"csrf_token": token, "code": code})
    assert "操作过于频繁" in page.get_data(as_text=True)


def test_csrf_and_headers_on_the_public_pages(app, fake, owners):
    client = app.test_client()
    assert client.post("/h5/login", data={"phone": OWNER_A}).status_code == 400
    response = client.get("/h5/login")
    assert "default-src 'self'" in response.headers["Content-Security-Policy"]
    assert client.get("/h5/demands").status_code == 302  # not signed in


def test_submission_becomes_a_numbered_demand_with_its_deadline(app, fake, owners):
    client = sign_in(app, fake, OWNER_A)
    response = submit(client, "1-1-101")
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    (demand,) = Demand.select()
    assert demand.channel == "owner_self" and demand.contact_phone == OWNER_A
    assert demand.number and demand.reply_due and demand.unit.code == "1-1-101"
    assert f"已受理，编号 {demand.number}" in page and 'id="reply-due"' in page
    assert "已受理" in page


def test_owner_cannot_submit_for_another_unit(app, fake, owners):
    client = sign_in(app, fake, OWNER_A)
    response = submit(client, "1-1-102")
    assert "请选择房屋" in response.get_data(as_text=True)
    assert Demand.select().count() == 0


def test_owner_of_unit_a_cannot_read_or_rate_unit_b(app, fake, owners, make_user, estate):
    client_b = sign_in(app, fake, OWNER_B)
    submit(client_b, "1-1-102")
    (demand_b,) = Demand.select()
    clerk = make_user("clerk1", "clerk", estate)
    demand_b.complete(clerk, result="已修好")
    client_a = sign_in(app, fake, OWNER_A)
    assert client_a.get(f"/h5/demands/{demand_b.id}").status_code == 404
    token = csrf_token(client_a, "/h5/new")
    rated = client_a.post(f"/h5/demands/{demand_b.id}/rate", data={
        "csrf_token": token, "on_time": "1", "attitude": "1", "skill": "1", "etiquette": "1",
        "satisfied": "0"})
    assert rated.status_code == 404
    assert demand_b.number not in client_a.get("/h5/demands").get_data(as_text=True)
    assert Demand.get_by_id(demand_b.id).status == "completed" and Callback.select().count() == 0


def test_progress_and_a_not_satisfied_rating_reopen_the_demand(app, fake, owners, make_user,
                                                               estate, login_as):
    owner = sign_in(app, fake, OWNER_A)
    submit(owner, "1-1-101")
    (demand,) = Demand.select()
    clerk = make_user("clerk1", "clerk", estate)
    department = Department.get(Department.kind == "engineering")
    demand.dispatch(clerk, department_id=department.id)
    assert "已派工" in owner.get(f"/h5/demands/{demand.id}").get_data(as_text=True)
    # The department completes its own order; the last one completes the demand (R-DEM-8, #11).
    engineer = make_user("eng1", "dept", estate, department="engineering")
    WorkOrder.get(WorkOrder.demand == demand.id).complete(engineer, result="已更换防水层")
    page = owner.get(f"/h5/demands/{demand.id}").get_data(as_text=True)
    assert "已更换防水层" in page and 'id="rate-form"' in page
    with app.app_context():
        send_outbox(now=utcnow())
    assert any(s["template"] == "SMS_900002" and s["phone"] == OWNER_A for s in fake.sent)
    token = csrf_token(owner, f"/h5/demands/{demand.id}")
    response = owner.post(f"/h5/demands/{demand.id}/rate", data={
        "csrf_token": token, "on_time": "4", "attitude": "5", "skill": "2", "etiquette": "5",
        "satisfied": "0", "comments": "还在漏"})
    assert response.status_code == 302
    demand = Demand.get_by_id(demand.id)
    assert demand.status == "open" and demand.reopen_count == 1
    (callback,) = Callback.select()
    assert callback.channel == "owner" and not callback.satisfied and callback.skill == 2
    desk = login_as("supervisor")
    html = desk.get(f"/admin/demand/details/?id={demand.id}").get_data(as_text=True)
    assert "业主自评" in html and "还在漏" in html


def test_the_code_is_sent_once_the_answer_has_gone_out(app, fake, owners):
    response = ask_code(app.test_client(), OWNER_A)
    assert fake.sent == []  # nothing is sent while the owner waits for the page…
    response.close()  # …the server closes the answer, then the SMS goes out at once
    (sent,) = fake.sent
    assert sent["phone"] == OWNER_A and sent["template"] == "SMS_900001"
    with app.app_context():
        send_outbox(now=utcnow())
    assert len(fake.sent) == 1  # the job finds it sent already


def test_submissions_are_limited_per_owner_per_day(app, fake, owners):
    app.config["H5_DEMANDS_PER_DAY"] = 2
    client = sign_in(app, fake, OWNER_A)
    assert submit(client, "1-1-101").status_code == 302
    assert submit(client, "1-1-101").status_code == 302
    refused = submit(client, "1-1-101")
    assert "每天最多提交 2 条" in refused.get_data(as_text=True)
    assert Demand.select().count() == 2
