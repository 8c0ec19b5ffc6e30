"""The notification outbox (issue #17): written with the change, sent exactly once, logged.

Every SMS goes through the provider's real SDK to a local fake of its API (tests/sms_fake.py).
Times given to the job are in the future (the outbox stamps messages with the real clock), at an
office hour chosen for the test.
"""

from __future__ import annotations

import datetime as dt

import pytest
from sms_fake import SmsFake
from test_jobs_support import OFFICE, new_demand

from jobs import outbox as outbox_job
from jobs.outbox import claim, send_outbox
from models.base import write_transaction
from models.demands import Demand
from models.notify_settings import NotifyTemplate, SmsOptOut
from models.outbox import DeliveryAttempt, OutboxMessage
from models.register import save_record

PHONE = "13912345678"


def office_at(days: int, hour: int, minute: int = 0) -> dt.datetime:
    """`days` from today at hh:mm office time."""
    day = dt.datetime.now(OFFICE).date() + dt.timedelta(days=days)
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=OFFICE)


@pytest.fixture
def fake(app):
    with SmsFake() as fake:
        app.config.update(SMS_PROVIDER="aliyun", SMS_ALIYUN=fake.aliyun_config(),
                          SMS_TENCENT=fake.tencent_config(), OUTBOX_BACKOFF_SECONDS=60)
        yield fake


@pytest.fixture
def templates(conn, estate):
    """The estate's approved SMS templates (codes as the provider's console gives them)."""
    for number, event in enumerate(("demand_received", "demand_dispatched", "demand_replied",
                                    "demand_completed", "demand_reopened", "batch_notice"), 1):
        NotifyTemplate.create(estate=estate, event=event, sms_template=f"SMS_48{number:04d}")


def received(clerk, estate, **fields) -> Demand:
    when = dt.datetime.now(OFFICE) - dt.timedelta(hours=1)
    fields.setdefault("contact_phone", PHONE)
    return new_demand(clerk, estate, when, contact_name="王先生", **fields)


def sms_messages() -> list[OutboxMessage]:
    return list(OutboxMessage.select().where(OutboxMessage.channel == "sms")
                .order_by(OutboxMessage.id))


def run(app, now):
    with app.app_context():
        return send_outbox(now=now)


def outcomes(message) -> list[str]:
    return [a.outcome for a in DeliveryAttempt.select().where(DeliveryAttempt.message == message.id)
            .order_by(DeliveryAttempt.id)]


def test_demand_received_sms_is_queued_with_the_demand_and_sent_once(app, fake, templates,
                                                                     clerk, estate):
    demand = received(clerk, estate)
    (message,) = sms_messages()
    assert message.state == "pending" and message.event == "demand_received"
    assert message.subject_table == "demand" and message.subject_id == demand.id
    outcome = run(app, office_at(1, 10))
    assert "发送 1" in outcome.note
    (sent,) = fake.sent
    assert sent["phone"] == PHONE and sent["template"] == "SMS_480001"
    assert sent["params"]["number"] == demand.number and sent["params"]["deadline"]
    message = OutboxMessage.get_by_id(message.id)
    assert message.state == "sent" and message.provider_id.endswith("^0")
    assert message.provider == "阿里云短信" and outcomes(message) == ["sent"]
    run(app, office_at(1, 11))
    assert len(fake.sent) == 1  # exactly once


def test_a_change_that_rolls_back_leaves_no_message(app, fake, templates, clerk, estate):
    with pytest.raises(RuntimeError), write_transaction():
        received(clerk, estate)
        raise RuntimeError("the desk's save failed after the demand was written")
    assert Demand.select().count() == 0 and OutboxMessage.select().count() == 0


def test_provider_failing_three_times_then_succeeding_sends_once(app, fake, templates, clerk,
                                                                 estate):
    received(clerk, estate)
    fake.script = ["isv.BUSINESS_LIMIT_CONTROL"] * 3
    now = office_at(1, 10)
    waits = []
    for _ in range(4):
        run(app, now)
        (message,) = sms_messages()
        if message.state == "pending":
            waits.append(message.next_attempt_at - now)
            run(app, now + dt.timedelta(seconds=1))  # not due yet: nothing happens
            now = message.next_attempt_at
    assert waits == [dt.timedelta(seconds=60), dt.timedelta(seconds=120),
                     dt.timedelta(seconds=240)]  # exponential backoff
    assert len(fake.requests) == 4 and len(fake.sent) == 1
    assert message.state == "sent" and message.attempts == 4
    assert outcomes(message) == ["retry", "retry", "retry", "sent"]
    codes = [a.code for a in message.tries.order_by(DeliveryAttempt.id)]
    assert codes == ["isv.BUSINESS_LIMIT_CONTROL"] * 3 + ["OK"]


def test_a_refusal_is_final_and_attempts_are_bounded(app, fake, templates, clerk, estate):
    received(clerk, estate)
    fake.script = ["isv.MOBILE_NUMBER_ILLEGAL"]
    run(app, office_at(1, 10))
    (message,) = sms_messages()
    assert message.state == "failed" and "不再重试" in message.note
    assert "isv.MOBILE_NUMBER_ILLEGAL" in message.answer
    app.config["OUTBOX_MAX_ATTEMPTS"] = 2
    received(clerk, estate, contact_phone="13700000001")
    fake.script = ["isv.BUSINESS_LIMIT_CONTROL"] * 5
    run(app, office_at(1, 11))
    run(app, office_at(1, 12))
    message = sms_messages()[-1]
    assert message.state == "failed" and message.attempts == 2 and "共尝试 2 次" in message.note


def test_crash_between_send_and_record_sends_at_most_once_more_and_says_so(
        app, fake, templates, clerk, estate, monkeypatch):
    received(clerk, estate)

    def crash(*args, **kwargs):
        raise SystemExit("killed after the provider accepted the SMS")

    with monkeypatch.context() as patch:
        patch.setattr(outbox_job, "record_answer", crash)
        with pytest.raises(SystemExit):
            run(app, office_at(1, 10))
    assert len(fake.sent) == 1
    (message,) = sms_messages()
    assert message.state == "pending" and outcomes(message) == ["sending"]
    run(app, office_at(1, 10, 2))  # the claim (5 minutes) still holds: nobody sends
    assert len(fake.sent) == 1
    run(app, office_at(1, 10, 6))
    assert len(fake.sent) == 2  # once more, no more
    message = OutboxMessage.get_by_id(message.id)
    assert message.state == "sent" and "重发一次" in message.note
    (interrupted, resent) = message.tries.order_by(DeliveryAttempt.id)
    assert interrupted.outcome == "unknown" and "可能已经发出" in interrupted.note
    assert resent.outcome == "sent"
    run(app, office_at(1, 11))
    assert len(fake.sent) == 2


def test_a_second_crash_stops_resending(app, fake, templates, clerk, estate, monkeypatch):
    received(clerk, estate)
    monkeypatch.setattr(outbox_job, "record_answer",
                        lambda *a, **k: (_ for _ in ()).throw(SystemExit("killed")))
    for minute in (0, 6):
        with pytest.raises(SystemExit):
            run(app, office_at(1, 10, minute))
    monkeypatch.undo()
    run(app, office_at(1, 10, 12))
    (message,) = sms_messages()
    assert len(fake.sent) == 2 and message.state == "unknown" and "人工核实" in message.note
    assert outcomes(message) == ["unknown", "unknown"]


def test_two_senders_never_claim_one_message(app, fake, templates, clerk, estate):
    received(clerk, estate)
    (message,) = sms_messages()
    now = office_at(1, 10)
    with app.app_context():
        assert claim(message.id, "scheduler-a", now) is not None
        assert claim(message.id, "scheduler-b", now) is None
        assert claim(message.id, "scheduler-b", now + dt.timedelta(minutes=6)) is not None


def test_quiet_hours_defer_owner_sms_until_morning(app, fake, templates, clerk, estate):
    # Made between 00:00 and 08:00 office time, the message is over 48 hours old at 08:00 two
    # days on and would expire instead (OUTBOX_MAX_AGE_HOURS): this test is about quiet hours.
    app.config["OUTBOX_MAX_AGE_HOURS"] = 72
    received(clerk, estate)
    run(app, office_at(1, 23, 10))
    (message,) = sms_messages()
    assert fake.sent == [] and message.state == "pending"
    assert message.next_attempt_at == office_at(2, 8)
    (deferred,) = message.tries
    assert deferred.outcome == "deferred" and "08:00" in deferred.note
    run(app, office_at(2, 7, 59))
    assert fake.sent == []
    run(app, office_at(2, 8))
    assert len(fake.sent) == 1 and sms_messages()[0].state == "sent"


def test_urgent_owner_sms_is_not_held_by_quiet_hours(app, fake, templates, clerk, estate):
    received(clerk, estate, urgent=True)
    run(app, office_at(1, 2, 30))
    assert len(fake.sent) == 1


def test_opt_out_suppresses_owner_sms(app, fake, templates, clerk, estate):
    from models.org import Resident

    resident = Resident.get(Resident.estate == estate.id)
    save_record(SmsOptOut(estate=estate.id, resident=resident.id, reason="业户来电要求"), clerk)
    received(clerk, estate, resident=resident.id, contact_phone="")
    (message,) = sms_messages()
    assert message.state == "suppressed" and "退订" in message.note
    run(app, office_at(1, 10))
    assert fake.requests == []


def test_opt_out_after_queueing_still_suppresses(app, fake, templates, clerk, estate):
    from models.org import Resident

    resident = Resident.get(Resident.estate == estate.id)
    received(clerk, estate, resident=resident.id, contact_phone="")
    save_record(SmsOptOut(estate=estate.id, resident=resident.id), clerk)
    run(app, office_at(1, 10))
    assert fake.requests == [] and sms_messages()[0].state == "suppressed"


def test_event_switched_off_for_the_estate_is_not_sent(app, fake, templates, clerk, estate):
    NotifyTemplate.update(enabled=False).where(
        NotifyTemplate.event == "demand_received").execute()
    received(clerk, estate)
    assert sms_messages()[0].state == "disabled"
    run(app, office_at(1, 10))
    assert fake.requests == []


def test_tencent_provider_through_its_sdk_including_errors(app, fake, conn, clerk, estate):
    app.config["SMS_PROVIDER"] = "tencent"
    NotifyTemplate.create(estate=estate, event="demand_received", sms_template="1100001")
    demand = received(clerk, estate)
    run(app, office_at(1, 10))
    (sent,) = fake.sent
    assert sent["provider"] == "tencent" and sent["phone"] == PHONE
    assert sent["template"] == "1100001" and sent["params"][0] == demand.number
    message = sms_messages()[0]
    assert message.state == "sent" and message.provider == "腾讯云短信"
    assert message.provider_id.startswith("2640:")
    # A per-number daily limit is retried later; a wrong number is final.
    fake.script = ["LimitExceeded.PhoneNumberDailyLimit",
                   "InvalidParameterValue.IncorrectPhoneNumber"]
    received(clerk, estate, contact_phone="13700000002")
    run(app, office_at(1, 11))
    message = sms_messages()[-1]
    assert message.state == "pending" and "LimitExceeded.PhoneNumberDailyLimit" in message.answer
    run(app, message.next_attempt_at)
    message = OutboxMessage.get_by_id(message.id)
    assert message.state == "failed" and "IncorrectPhoneNumber" in message.answer


def test_wrong_keys_are_refused_by_the_provider_and_not_retried(app, fake, templates, clerk,
                                                                 estate):
    app.config["SMS_ALIYUN"] = fake.aliyun_config(access_key_secret="not-the-secret")
    received(clerk, estate)
    run(app, office_at(1, 10))
    message = sms_messages()[0]
    assert message.state == "failed" and "SignatureDoesNotMatch" in message.answer
    app.config.update(SMS_PROVIDER="tencent",
                      SMS_TENCENT=fake.tencent_config(secret_key="not-the-key"))
    received(clerk, estate, contact_phone="13700000003")
    run(app, office_at(1, 10))
    message = sms_messages()[-1]
    assert message.state == "failed" and "AuthFailure.SignatureFailure" in message.answer
    assert fake.sent == []


def test_no_provider_configured_keeps_messages_waiting(app, fake, templates, clerk, estate):
    app.config["SMS_PROVIDER"] = ""
    received(clerk, estate)
    outcome = run(app, office_at(1, 10))
    message = sms_messages()[0]
    assert message.state == "pending" and message.attempts == 0 and list(message.tries) == []
    assert "未配置短信服务商，1 条短信等待发送" in outcome.note
    app.config["SMS_PROVIDER"] = "aliyun"
    run(app, office_at(1, 11))
    assert len(fake.sent) == 1


def test_news_too_old_to_matter_is_not_sent(app, fake, templates, clerk, estate):
    app.config["SMS_PROVIDER"] = ""
    received(clerk, estate)
    run(app, office_at(1, 10))  # no provider yet: it waits
    app.config["SMS_PROVIDER"] = "aliyun"
    outcome = run(app, office_at(3, 10))  # configured two days later
    message = sms_messages()[0]
    assert message.state == "expired" and "不再发送" in message.note and fake.requests == []
    assert "失败 1" in outcome.note
