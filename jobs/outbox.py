"""The `send_outbox` job: send what the outbox holds, exactly once, and log every try (#17).

For each due message (state 待发送, `next_attempt_at` passed):

1. **Claim** it: one UPDATE sets `claimed_by`/`claimed_until` only if nobody holds a live claim,
   so two schedulers (or a manual run beside the scheduled one) never send one message twice.
   In the same transaction a `DeliveryAttempt` row "发送中" is written and committed *before*
   the provider is called.
2. **Send** through the channel (SMS provider, group robot), outside any transaction.
3. **Record** the answer: sent (with the provider's receipt id), retry later with exponential
   backoff (OUTBOX_BACKOFF_SECONDS doubling, at most OUTBOX_MAX_ATTEMPTS tries), or failed.

A process killed between 2 and 3 leaves its attempt "发送中" and its claim; once the claim has
expired the next run marks that attempt "进程中断，结果未知" and sends once more (the message may
have gone out: the log says so). A second interruption of the same message is not retried
blindly: it becomes "结果未知，待人工核实". So a crash costs at most one duplicate.

Owners' non-urgent SMS are not sent in quiet hours (SMS_QUIET_HOURS, default 22:00–08:00 office
time): they are deferred to the end of the quiet period, and the log says so.
"""

from __future__ import annotations

import datetime as dt
import logging
import secrets
import socket

from flask import current_app

from jobs.runner import Outcome
from jobs.sms import PROVIDER_LABELS, ProviderAnswer, SmsNotConfigured, provider_name, send_sms
from jobs.webhook import RobotRefused, post_markdown, webhook_for
from jobs.wecom import WecomNotConfigured, send_app_message, wecom_enabled
from models.base import to_office, utcnow, write_transaction
from models.notify_settings import EVENTS, SECRET_PARAMS, opted_out
from models.outbox import DeliveryAttempt, OutboxMessage, mask_phone

log = logging.getLogger("jobs")

INTERRUPTED = "上次发送后进程中断，未能记录结果：短信可能已经发出"
RESENT = "因上次结果未知，重发一次（可能重复）"
GAVE_UP = "再次中断，结果未知：为免重复不再重发，请人工核实"
BATCH = 200


def _config(name: str, default):
    return current_app.config.get(name, default)


def quiet_until(now: dt.datetime) -> dt.datetime | None:
    """The end of the quiet period `now` falls in (office time), or None outside it."""
    start, end = _config("SMS_QUIET_HOURS", (22, 8))
    local = to_office(now)
    if start == end:
        return None
    in_quiet = (local.hour >= start or local.hour < end) if start > end \
        else start <= local.hour < end
    if not in_quiet:
        return None
    day = local.date() if local.hour < end else local.date() + dt.timedelta(days=1)
    return dt.datetime.combine(day, dt.time(end), tzinfo=local.tzinfo)


def backoff(attempt: int) -> dt.timedelta:
    """Wait before try attempt+1: OUTBOX_BACKOFF_SECONDS × 2^(attempt-1), capped at 6 hours."""
    base = float(_config("OUTBOX_BACKOFF_SECONDS", 60))
    return dt.timedelta(seconds=min(base * 2 ** max(0, attempt - 1), 6 * 3600))


def max_age(message: OutboxMessage) -> dt.timedelta:
    """How long a message is worth sending: a login code 10 minutes, the rest
    OUTBOX_MAX_AGE_HOURS (default 48: a night's quiet hours and a provider's bad day)."""
    if message.event in SECRET_PARAMS:
        return dt.timedelta(minutes=10)
    return dt.timedelta(hours=float(_config("OUTBOX_MAX_AGE_HOURS", 48)))


def _holder() -> str:
    return f"{socket.gethostname()[:60]}:{secrets.token_hex(4)}"


def send_outbox(now: dt.datetime | None = None) -> Outcome:
    """Send due notifications (SMS, robots, WeChat Work) with retries; record every answer."""
    now = now or utcnow()
    holder = _holder()
    due = OutboxMessage.select(OutboxMessage.id).where(
        OutboxMessage.state == "pending", OutboxMessage.next_attempt_at <= now)
    waiting = 0
    if not provider_name():
        # No provider chosen yet: SMS wait (untried) until the office configures one.
        waiting = due.where(OutboxMessage.channel == "sms").count()
        due = due.where(OutboxMessage.channel != "sms")
    if not wecom_enabled():
        # WeChat Work switched off (WECOM_APP): its messages wait, untried, likewise.
        waiting_wecom = due.where(OutboxMessage.channel == "wecom").count()
        due = due.where(OutboxMessage.channel != "wecom")
    else:
        waiting_wecom = 0
    due = [m.id for m in due.order_by(OutboxMessage.urgent.desc(), OutboxMessage.id)
           .limit(BATCH)]
    counts = {"sent": 0, "retry": 0, "failed": 0, "deferred": 0, "unknown": 0, "skipped": 0}
    for message_id in due:
        counts[process(message_id, holder, now)] += 1
    note = (f"发送 {counts['sent']}，稍后重试 {counts['retry']}，失败 {counts['failed']}，"
            f"静默顺延 {counts['deferred']}")
    if counts["unknown"]:
        note += f"，结果未知 {counts['unknown']}"
    if waiting:
        note += f"；未配置短信服务商，{waiting} 条短信等待发送"
    if waiting_wecom:
        note += f"；未配置企业微信应用，{waiting_wecom} 条应用消息等待发送"
    status = "partial" if counts["failed"] or counts["unknown"] else "succeeded"
    return Outcome(note=note, status=status)


def send_now(app, message_id: int) -> str:
    """Send one message at once, outside a request's transaction (a login code the owner is
    waiting for); the same claim and log as the job, which picks it up if this fails."""
    from jobs.runner import own_connection

    with app.app_context(), own_connection():
        try:
            return process(message_id, _holder(), utcnow())
        except Exception:  # the job will try again; the owner may ask for another code
            log.exception("通知 %s 即时发送失败", message_id)
            return "retry"


def claim(message_id: int, holder: str, now: dt.datetime) -> OutboxMessage | None:
    """Take the message for this run if nobody holds a live claim on it (one UPDATE)."""
    lease = dt.timedelta(seconds=int(_config("OUTBOX_CLAIM_SECONDS", 300)))
    taken = OutboxMessage.update(claimed_by=holder, claimed_until=now + lease,
                                 updated_at=now).where(
        OutboxMessage.id == message_id, OutboxMessage.state == "pending",
        OutboxMessage.next_attempt_at <= now,
        OutboxMessage.claimed_until.is_null() | (OutboxMessage.claimed_until < now)).execute()
    return OutboxMessage.get_by_id(message_id) if taken == 1 else None


def process(message_id: int, holder: str, now: dt.datetime) -> str:
    """Claim, check, send and record one message; return what became of it."""
    with write_transaction():
        message = claim(message_id, holder, now)
        if message is None:
            return "skipped"
        verdict = _before_sending(message, now)
        if verdict is not None:
            return verdict
        attempt = DeliveryAttempt.create(message=message.id, number=message.attempts + 1,
                                         started_at=now, outcome="sending", created_at=now,
                                         updated_at=now)
    # The attempt row is committed: a crash from here on is seen by the next run.
    try:
        answer = deliver(message)
    except (SmsNotConfigured, WecomNotConfigured) as exc:
        answer = ProviderAnswer(sent=False, retry=True, code="NotConfigured", message=str(exc))
    record_answer(message, attempt, answer, now)
    if answer.sent:
        return "sent"
    return "retry" if message.state == "pending" else "failed"


def _before_sending(message: OutboxMessage, now: dt.datetime) -> str | None:
    """Interrupted tries, opt-outs and quiet hours: a verdict when nothing is to be sent now."""
    interrupted = list(DeliveryAttempt.select().where(DeliveryAttempt.message == message.id,
                                                      DeliveryAttempt.outcome == "sending"))
    earlier_unknown = DeliveryAttempt.select().where(DeliveryAttempt.message == message.id,
                                                     DeliveryAttempt.outcome == "unknown").exists()
    for attempt in interrupted:
        DeliveryAttempt.update(outcome="unknown", finished_at=now, note=INTERRUPTED,
                               updated_at=now).where(DeliveryAttempt.id == attempt.id).execute()
    if interrupted:
        message.attempts += len(interrupted)
        if earlier_unknown:
            _finish(message, now, state="unknown", note=GAVE_UP)
            log.warning("通知 %s 再次中断，停止重发", message.id)
            return "unknown"
        message.note = RESENT
    if now - message.created_at > max_age(message):
        # News delivered days late (or a login code after it expired) helps nobody.
        _finish(message, now, state="expired", note="超过有效期仍未能发出，不再发送")
        return "failed"
    owner_sms = message.channel == "sms" and message.audience == "owner"
    if owner_sms and message.event not in SECRET_PARAMS \
            and opted_out(message.estate_id, message.recipient, message.resident_id):
        _finish(message, now, state="suppressed", note="业户已退订短信，未发送")
        return "skipped"
    until = quiet_until(now) if owner_sms and not message.urgent else None
    if until is not None:
        note = f"静默时段（不发业户短信），顺延至 {to_office(until):%m-%d %H:%M}"
        DeliveryAttempt.create(message=message.id, number=message.attempts, started_at=now,
                               finished_at=now, outcome="deferred", note=note,
                               created_at=now, updated_at=now)
        OutboxMessage.update(next_attempt_at=until, claimed_by="", claimed_until=None,
                             attempts=message.attempts, note=message.note, updated_at=now).where(
            OutboxMessage.id == message.id).execute()
        return "deferred"
    return None


def deliver(message: OutboxMessage) -> ProviderAnswer:
    """Hand the message to its channel; the channel's answer, never an exception."""
    if message.channel == "sms":
        if not message.sms_template:
            return ProviderAnswer(sent=False, code="NoTemplate",
                                  message="本小区未填写该事项的短信模板编号")
        return send_sms(message.recipient, message.sms_template, message.param_values,
                        EVENTS[message.event][3], message.key)
    if message.channel == "robot":
        from jobs.runner import JobError

        hook = webhook_for(message.recipient)
        if hook is None:
            return ProviderAnswer(sent=False, code="NoRobot", message="本小区未配置群机器人")
        title = message.param_values.get("title") or message.event_label
        try:
            post_markdown(hook, title, message.text)
        except JobError as exc:
            # A robot that refused the message (a bad key, a malformed body) refuses it again.
            return ProviderAnswer(sent=False, retry=not isinstance(exc, RobotRefused),
                                  code="RobotError", message=str(exc))
        return ProviderAnswer(sent=True, code="ok", message=hook.label)
    if message.channel == "wecom":
        return send_app_message(message.recipient, message.text)
    return ProviderAnswer(sent=False, code="NoChannel", message="未知渠道")


def record_answer(message: OutboxMessage, attempt: DeliveryAttempt, answer: ProviderAnswer,
                  now: dt.datetime) -> None:
    """Write the provider's answer on the try and the message, in one transaction."""
    number = attempt.number
    limit = int(_config("OUTBOX_MAX_ATTEMPTS", 6))
    if answer.sent:
        outcome, state, note = "sent", "sent", message.note
    elif answer.retry and number < limit:
        outcome, state, note = "retry", "pending", f"第 {number} 次失败，稍后重试"
    else:
        outcome, state = "failed", "failed"
        note = f"共尝试 {number} 次，未能发送" if answer.retry else "服务商拒绝，不再重试"
    with write_transaction():
        DeliveryAttempt.update(outcome=outcome, finished_at=now, code=answer.code[:64],
                               note=answer.message[:255], updated_at=now).where(
            DeliveryAttempt.id == attempt.id).execute()
        values = dict(attempts=number, answer=f"{answer.code} {answer.message}".strip()[:255],
                      provider=_provider_label(message), note=note[:255], claimed_by="",
                      claimed_until=None, state=state, updated_at=now)
        if answer.sent:
            values.update(sent_at=now, provider_id=answer.provider_id[:64])
        elif state == "pending":
            values["next_attempt_at"] = now + backoff(number)
        if state != "pending" and message.event in SECRET_PARAMS:
            values["params"] = "{}"  # a login code is kept only until it is sent
        OutboxMessage.update(**values).where(OutboxMessage.id == message.id).execute()
    message.state = state
    if message.event == "daily_digest":
        from jobs.digest import digest_delivery

        digest_delivery(message.id)  # the front desk's digest says whether it reached the robot
    where = mask_phone(message.recipient) if message.channel == "sms" else message.recipient
    log.info("通知 %s（%s → %s）第 %s 次：%s %s", message.id, message.channel, where, number,
             outcome, answer.code)


def _provider_label(message: OutboxMessage) -> str:
    if message.channel == "sms":
        return PROVIDER_LABELS.get(provider_name(), provider_name())[:16]
    return message.channel_label[:16]


def _finish(message: OutboxMessage, now: dt.datetime, *, state: str, note: str) -> None:
    scrub = {"params": "{}"} if message.event in SECRET_PARAMS else {}
    OutboxMessage.update(state=state, note=note, attempts=message.attempts, claimed_by="",
                         claimed_until=None, updated_at=now, **scrub).where(
        OutboxMessage.id == message.id).execute()
    message.state = state
