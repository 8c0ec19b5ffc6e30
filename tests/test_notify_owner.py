"""The owners' other messages (issue #17 item 3), sent through the real SDK to the SMS fake:
gas-pipe appointments (R-JOB-2), a worker's pass ending tomorrow (R-PASS-1), a deposit becoming
refundable (R-DEP-2, R-DECO-3) and the decoration application's result (R-DECO-2). Each is in
the outbox with the change that causes it (nothing when the change is refused), or found by the
sweep once per row and day; the estate's switch, quiet hours and the opt-out apply."""

from __future__ import annotations

import datetime as dt

import pytest
from decoration_support import apply, approve, make_staff, to_permit, to_signed
from passes_support import worker
from test_outbox import office_at, run

from jobs.overdue import mark_overdue
from models.base import RuleError, office_day, utcnow
from models.batches import ServiceBatch, ServiceRegistration
from models.decoration import Decoration
from models.notify_owner import owner_reminders
from models.notify_settings import NotifyTemplate, SmsOptOut
from models.org import Resident, Unit
from models.outbox import OutboxMessage
from models.register import save_record

OWNER = "13800138000"  # every resident of the TEST estate (conftest)
CONTRACTOR = "13912345678"  # the contractor's phone in decoration_support.apply
EVENTS = ("gas_appointment", "pass_expiring", "deposit_refundable", "decoration_approved",
          "decoration_rejected")


@pytest.fixture
def staff(conn, estate):
    return make_staff(estate)


@pytest.fixture
def templates(conn, estate):
    """The estate's approved templates for the five events, SMS_6100001…"""
    for number, event in enumerate(EVENTS, 1):
        NotifyTemplate.create(estate=estate, event=event, sms_template=f"SMS_61{number:05d}")


def owner_sms(event=None):
    query = OutboxMessage.select().where(OutboxMessage.channel == "sms",
                                         OutboxMessage.event.in_(EVENTS))
    if event:
        query = query.where(OutboxMessage.event == event)
    return list(query.order_by(OutboxMessage.id))


def test_decoration_result_approved_or_rejected_reaches_the_owner(
        app, sms_fake, templates, staff, estate, tmp_path):
    decoration = approve(to_signed(apply(estate, staff["clerk"], tmp_path), staff), staff)
    (message,) = owner_sms()
    assert (message.event, message.recipient, message.subject_id) == (
        "decoration_approved", OWNER, decoration.id)
    refused = apply(estate, staff["clerk"], tmp_path, unit_code="1-1-102")
    with pytest.raises(RuleError):
        refused.reject(staff["supervisor"], note="")  # refused: nothing is written
    assert len(owner_sms()) == 1
    refused.reject(staff["supervisor"], note="拆改承重墙，不符合规定")
    run(app, office_at(1, 10))
    assert [(s["template"], s["phone"]) for s in sms_fake.sent] == [
        ("SMS_6100004", OWNER), ("SMS_6100005", OWNER)]
    assert sms_fake.sent[0]["params"] == {"unit": "1-1-101", "number": decoration.number}
    assert sms_fake.sent[1]["params"]["reason"] == "拆改承重墙，不符合规定"
    assert "未获批准，原因：拆改承重墙" in owner_sms("decoration_rejected")[0].text


def test_deposits_refundable_today_at_once_and_later_ones_on_their_day(
        app, sms_fake, templates, staff, estate, tmp_path):
    decoration = to_permit(apply(estate, staff["clerk"], tmp_path), staff)
    # A rejection made none refundable here; the approval's message is not this test's.
    decoration.accept(staff["supervisor"], passed=True)
    (message,) = owner_sms("deposit_refundable")
    owner_deposit, contractor_deposit = Decoration.get_by_id(decoration.id).deposits()
    assert (message.recipient, message.subject_id) == (OWNER, owner_deposit.id)
    assert "业主装修押金1000.00元" in message.text and owner_deposit.receipt_number in message.text
    # The contractor's deposit is refundable 3 months after acceptance (R-DECO-3): the sweep
    # says nothing before that day, tells the contractor on it, once.
    day = contractor_deposit.refundable_on
    assert day > office_day()
    assert owner_reminders(utcnow()) == 0
    on_the_day = dt.datetime.combine(day, dt.time(9), tzinfo=office_at(0, 9).tzinfo)
    assert owner_reminders(on_the_day) == 1
    assert owner_reminders(on_the_day + dt.timedelta(days=1)) == 0
    later = owner_sms("deposit_refundable")[-1]
    assert (later.recipient, later.subject_id) == (CONTRACTOR, contractor_deposit.id)
    run(app, office_at(1, 10))
    assert [(s["template"], s["phone"]) for s in sms_fake.sent
            if s["template"] == "SMS_6100003"] == [("SMS_6100003", OWNER),
                                                   ("SMS_6100003", CONTRACTOR)]


def test_pass_ending_tomorrow_tells_the_decorations_owner_once_per_day(
        app, sms_fake, templates, staff, estate, tmp_path):
    today = office_day()
    to_permit(apply(estate, staff["clerk"], tmp_path, works_end=today + dt.timedelta(days=400)),
              staff)
    card = worker(estate, staff["clerk"], valid_to=today + dt.timedelta(days=1))
    worker(estate, staff["clerk"], holder_name="赵师傅", valid_to=today + dt.timedelta(days=2))
    # A pass handed back early is not reminded of.
    worker(estate, staff["clerk"], holder_name="钱师傅",
           valid_to=today + dt.timedelta(days=1)).return_pass(staff["clerk"])
    # The overdue sweep runs every 15 minutes: one message for the row and day.
    for _ in range(3):
        mark_overdue(utcnow())
    (message,) = owner_sms("pass_expiring")
    assert (message.recipient, message.subject_table, message.subject_id) == (
        OWNER, "worker_pass", card.id)
    assert "王师傅" in message.text and card.number in message.text
    run(app, office_at(1, 10))
    (sent,) = [s for s in sms_fake.sent if s["template"] == "SMS_6100002"]
    assert sent["params"]["holder"] == "王师傅" and sent["phone"] == OWNER
    # The next day it is 赵师傅's turn.
    assert owner_reminders(utcnow() + dt.timedelta(days=1)) == 1
    assert "赵师傅" in owner_sms("pass_expiring")[-1].text


def test_gas_appointment_with_the_batch_and_nothing_when_it_is_refused(
        app, sms_fake, templates, staff, estate):
    clerk = staff["clerk"]
    rows = {}
    for code, kind in (("1-1-101", "gas"), ("1-1-102", "gas"), ("1-1-201", "lock")):
        unit = Unit.get(Unit.code == code)
        rows[code] = save_record(ServiceRegistration(
            estate=estate.id, kind=kind, unit=unit.id,
            resident=Resident.get(Resident.unit == unit.id).id,
            contact_phone="13700002222" if code == "1-1-102" else ""), clerk)
    batch = save_record(ServiceBatch(
        estate=estate.id, kind="gas", day=office_day() + dt.timedelta(days=6),
        gas_company="深圳燃气", gas_appointment="RQ-88"), clerk)
    with pytest.raises(RuleError):
        batch.add(clerk, [rows["1-1-101"].id, rows["1-1-201"].id])  # a lock registration
    assert owner_sms() == []
    batch.add(clerk, [rows["1-1-101"].id, rows["1-1-102"].id])
    messages = owner_sms("gas_appointment")
    # The registration's own contact number first, else the resident's.
    assert [m.recipient for m in messages] == [OWNER, "13700002222"]
    run(app, office_at(1, 10))
    assert sms_fake.sent[0]["params"] == {
        "company": "深圳燃气", "day": messages[0].param_values["day"], "appointment": "RQ-88"}
    # A lock batch tells nobody of a gas appointment.
    lock = save_record(ServiceBatch(estate=estate.id, kind="lock",
                                    day=_next_saturday(office_day() + dt.timedelta(days=7))),
                       clerk)
    lock.add(clerk, [rows["1-1-201"].id])
    assert len(owner_sms()) == 2


def _next_saturday(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(5 - day.weekday()) % 7)


def test_switched_off_opted_out_and_quiet_hours(app, sms_fake, templates, staff, estate, tmp_path):
    NotifyTemplate.update(enabled=False).where(
        NotifyTemplate.event == "decoration_approved").execute()
    approve(to_signed(apply(estate, staff["clerk"], tmp_path), staff), staff)
    (off,) = owner_sms("decoration_approved")
    assert off.state == "disabled"
    # 1-1-102's owner opted out: the message is logged, suppressed, never sent.
    resident = Resident.get(Resident.unit == Unit.get(Unit.code == "1-1-102").id)
    SmsOptOut.create(estate=estate, resident=resident, reason="电话告知即可")
    apply(estate, staff["clerk"], tmp_path, unit_code="1-1-102").reject(
        staff["supervisor"], note="资料不全")
    (opted,) = owner_sms("decoration_rejected")
    assert opted.state == "suppressed"
    SmsOptOut.delete().execute()
    apply(estate, staff["clerk"], tmp_path, unit_code="1-1-201").reject(
        staff["supervisor"], note="资料不全")
    waiting = owner_sms("decoration_rejected")[-1]
    assert waiting.state == "pending"
    # 23:00 is quiet for owners: deferred to the morning, then sent. A message made between
    # 00:00 and 08:30 is over 48 hours old by then and would expire instead (jobs.outbox.max_age).
    app.config["OUTBOX_MAX_AGE_HOURS"] = 72
    run(app, office_at(1, 23))
    assert sms_fake.sent == [] and OutboxMessage.get_by_id(waiting.id).state == "pending"
    run(app, office_at(2, 8, 30))
    assert [s["template"] for s in sms_fake.sent] == ["SMS_6100005"]


def test_the_desk_sees_what_was_sent_on_the_rows_page(app, sms_fake, templates, staff, estate,
                                                      tmp_path, login_as):
    decoration = to_permit(apply(estate, staff["clerk"], tmp_path), staff)
    decoration.accept(staff["supervisor"], passed=True)
    owner_deposit = Decoration.get_by_id(decoration.id).deposits()[0]
    run(app, office_at(1, 10))
    desk = login_as("supervisor", "desk_sup")
    for url, event in ((f"/admin/decoration/details/?id={decoration.id}", "业户：装修申请已批准"),
                       (f"/admin/deposit/details/?id={owner_deposit.id}", "业户：押金可退")):
        html = desk.get(url).get_data(as_text=True)
        log = html[html.index('id="delivery-log"'):]
        assert event in log and "138****8000" in log and OWNER not in log
