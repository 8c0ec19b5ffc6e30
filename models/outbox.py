"""The durable outbox: every message the product sends, written with the change that causes it.

A message (`OutboxMessage`) is inserted in the same transaction as the demand step, emergency or
notice that causes it (`enqueue`), so a change that rolls back sends nothing and a change that
commits is never forgotten. The `send_outbox` job (jobs/outbox.py) sends it later, with retries
and backoff, and writes every try into `DeliveryAttempt` (the delivery log shown on the row's
page). Each message has an idempotency key: the same event enqueued twice is one message.

Owners' SMS respect quiet hours (22:00–08:00 office time, not for urgent messages: deferred) and
the per-resident opt-out (`SmsOptOut`: suppressed, and the log says so). Phone numbers are kept
in clear only in `recipient` (they must be sent); everything shown or logged masks them.
What is sent, per event, is `NotifyTemplate` (admin-editable, switchable per estate; issue #17).
"""

from __future__ import annotations

import datetime as dt
import json

from peewee import BooleanField, CharField, ForeignKeyField, IntegerField, TextField, fn

from models.base import AwareDateTimeField, BaseModel, office_tz, to_office, utcnow
from models.estate import Estate
from models.i18n import L_
from models.notify_settings import (
    EVENT_CHOICES,
    EVENT_LABELS,
    EVENTS,
    SECRET_PARAMS,
    NotifyTemplate,
    opted_out,
    render_text,
    template_for,
)
from models.org import Resident
from models.users import User
from models.validators import mask_phone

CHANNELS = [
    ("sms", L_("短信")),
    ("robot", L_("群机器人")),
    ("inapp", L_("站内通知")),
    ("wecom", L_("企业微信应用消息")),
]
CHANNEL_LABELS = dict(CHANNELS)
AUDIENCES = [("owner", L_("业户")), ("staff", L_("员工"))]

STATES = [
    ("pending", L_("待发送")),
    ("sent", L_("已发送")),
    ("failed", L_("发送失败")),
    ("suppressed", L_("未发送（已退订）")),
    ("disabled", L_("未发送（本小区已关闭）")),
    ("unknown", L_("结果未知，待人工核实")),
    ("expired", L_("过期未发送")),
]
STATE_LABELS = dict(STATES)

ATTEMPT_OUTCOMES = [
    ("sending", L_("发送中")),
    ("sent", L_("成功")),
    ("retry", L_("失败，稍后重试")),
    ("failed", L_("失败")),
    ("deferred", L_("静默时段，顺延")),
    ("unknown", L_("进程中断，结果未知")),
]
ATTEMPT_LABELS = dict(ATTEMPT_OUTCOMES)

class OutboxMessage(BaseModel):
    """One message to one recipient on one channel, from enqueue to the provider's answer."""

    estate = ForeignKeyField(Estate, backref="+", on_delete="RESTRICT", verbose_name=L_("小区"))
    key = CharField(max_length=160, unique=True, verbose_name=L_("幂等键"))
    event = CharField(max_length=32, choices=EVENT_CHOICES, verbose_name=L_("通知事项"))
    channel = CharField(max_length=16, choices=CHANNELS, verbose_name=L_("渠道"))
    audience = CharField(max_length=8, choices=AUDIENCES, verbose_name=L_("对象"))
    # The number for SMS (in clear: it must be sent; shown masked), the estate code for a
    # robot; the staff member for in-app notices.
    recipient = CharField(max_length=64, default="", verbose_name=L_("接收方"))
    user = ForeignKeyField(User, null=True, backref="+", on_delete="CASCADE",
                           verbose_name=L_("接收员工"))
    resident = ForeignKeyField(Resident, null=True, backref="+", on_delete="SET NULL",
                               verbose_name=L_("业户"))
    # The row it is about (the delivery log of a demand, an emergency…).
    subject_table = CharField(max_length=64, default="", verbose_name=L_("关联表"))
    subject_id = IntegerField(null=True, verbose_name=L_("关联记录"))
    sms_template = CharField(max_length=32, default="", verbose_name=L_("短信模板"))
    params = TextField(default="{}", verbose_name=L_("参数"))
    text = TextField(default="", verbose_name=L_("内容"))
    urgent = BooleanField(default=False, verbose_name=L_("紧急"))
    state = CharField(max_length=16, choices=STATES, default="pending", verbose_name=L_("状态"))
    attempts = IntegerField(default=0, verbose_name=L_("尝试次数"))
    next_attempt_at = AwareDateTimeField(default=utcnow, verbose_name=L_("下次发送"))
    # The claim: whoever set it until `claimed_until` sends it; nobody else may meanwhile.
    claimed_by = CharField(max_length=96, default="", verbose_name=L_("发送进程"))
    claimed_until = AwareDateTimeField(null=True, verbose_name=L_("占用至"))
    provider = CharField(max_length=16, default="", verbose_name=L_("服务商"))
    provider_id = CharField(max_length=64, default="", verbose_name=L_("回执编号"))
    answer = CharField(max_length=255, default="", verbose_name=L_("服务商答复"))
    note = CharField(max_length=255, default="", verbose_name=L_("说明"))
    sent_at = AwareDateTimeField(null=True, verbose_name=L_("发送时间"))
    read_at = AwareDateTimeField(null=True, verbose_name=L_("已读时间"))

    class Meta:
        table_name = "outbox_message"
        indexes = (
            # The sender's question: what is due now.
            (("state", "next_attempt_at"), False),
            # A row's delivery log.
            (("subject_table", "subject_id"), False),
            # A staff member's 通知 list.
            (("user", "channel", "created_at"), False),
            # The jobs page's monthly SMS count per estate.
            (("estate", "channel", "sent_at"), False),
        )

    def __str__(self) -> str:
        return f"{EVENT_LABELS.get(self.event, self.event)} → {self.recipient_label}"

    @property
    def recipient_label(self) -> str:
        if self.channel == "sms":
            return mask_phone(self.recipient)
        if self.channel in ("inapp", "wecom") and self.user_id:
            return self.user.display_name
        return self.recipient

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    @property
    def channel_label(self) -> str:
        return CHANNEL_LABELS.get(self.channel, self.channel)

    @property
    def event_label(self) -> str:
        return EVENT_LABELS.get(self.event, self.event)

    @property
    def param_values(self) -> dict:
        try:
            return json.loads(self.params or "{}")
        except ValueError:
            return {}


# 通知发送记录 filtered by a channel or an event: each one's messages newest first (migration
# 036, #14).
OutboxMessage.add_index(OutboxMessage.index(OutboxMessage.channel, OutboxMessage.id,
                                            name="outbox_message_channel"))
OutboxMessage.add_index(OutboxMessage.index(OutboxMessage.event, OutboxMessage.id,
                                            name="outbox_message_event"))


class DeliveryAttempt(BaseModel):
    """One try to send a message: when, the outcome and the provider's answer (the log)."""

    message = ForeignKeyField(OutboxMessage, backref="tries", on_delete="CASCADE")
    number = IntegerField(verbose_name=L_("第几次"))
    started_at = AwareDateTimeField(verbose_name=L_("开始"))
    finished_at = AwareDateTimeField(null=True, verbose_name=L_("结束"))
    outcome = CharField(max_length=16, choices=ATTEMPT_OUTCOMES, default="sending",
                        verbose_name=L_("结果"))
    code = CharField(max_length=64, default="", verbose_name=L_("服务商代码"))
    note = CharField(max_length=255, default="", verbose_name=L_("说明"))

    class Meta:
        table_name = "delivery_attempt"

    @property
    def outcome_label(self) -> str:
        return ATTEMPT_LABELS.get(self.outcome, self.outcome)


def _message_values(event: str, *, estate_id: int, channel: str, key: str, recipient: str = "",
                    user_id: int | None = None, resident_id: int | None = None,
                    subject=None, params: dict | None = None, urgent: bool = False,
                    now: dt.datetime, setting: NotifyTemplate | None) -> dict:
    """One message's row: its state (and why), its words from the estate's setting."""
    params = {name: str(value) for name, value in (params or {}).items()}
    state, note = "pending", ""
    if setting is not None and not setting.enabled:
        state, note = "disabled", "本小区已关闭该通知事项"
    elif channel == "sms" and EVENTS[event][0] == "owner" and event not in SECRET_PARAMS \
            and opted_out(estate_id, recipient, resident_id):
        state, note = "suppressed", "业户已退订短信，未发送"
    elif channel == "inapp":
        # The row is the delivery: it is in the staff member's 通知 list at once.
        state, note = "sent", "已送达通知列表"
    return dict(
        estate=estate_id, key=key[:160], event=event, channel=channel,
        audience=EVENTS[event][0], recipient=recipient, user=user_id, resident=resident_id,
        subject_table=subject._meta.table_name if subject is not None else "",
        subject_id=subject._pk if subject is not None else None,
        sms_template=setting.sms_template if setting is not None else "",
        params=json.dumps(params, ensure_ascii=False), text=render_text(event, setting, params),
        urgent=urgent, state=state, note=note, next_attempt_at=now,
        sent_at=now if state == "sent" else None, created_at=now, updated_at=now)


def enqueue(event: str, *, estate_id: int, channel: str, key: str, recipient: str = "",
            user_id: int | None = None, resident_id: int | None = None,
            subject=None, params: dict | None = None, urgent: bool = False,
            now: dt.datetime | None = None) -> OutboxMessage | None:
    """Write one message in the caller's transaction; None when the key is already queued.

    An event switched off for the estate, an SMS without an approved template or to an owner
    who opted out is still written (state says why, nothing is sent): the log shows it.
    """
    values = _message_values(event, estate_id=estate_id, channel=channel, key=key,
                             recipient=recipient, user_id=user_id, resident_id=resident_id,
                             subject=subject, params=params, urgent=urgent,
                             now=now or utcnow(), setting=template_for(estate_id, event))
    inserted = OutboxMessage.insert(**values).on_conflict_ignore().execute()
    if not inserted:
        return None
    return OutboxMessage.get(OutboxMessage.key == key[:160])


def enqueue_many(messages, now: dt.datetime | None = None, chunk: int = 2000) -> int:
    """`enqueue` for many messages at once (e.g. the sweep's missed deadlines, #15's bench:
    tens of thousands on a first sweep): the same rows, states and texts, each estate's
    setting read once, written with one prepared statement per chunk; a key already queued
    is skipped. `messages` are dicts of enqueue's keyword arguments (with `event`). Returns
    how many were written."""
    from models.base import db, is_sqlite

    now = now or utcnow()
    settings: dict[tuple[int, str], NotifyTemplate | None] = {}
    # Every column but the id.
    fields = [f for f in OutboxMessage._meta.sorted_fields if f is not OutboxMessage.id]
    placeholders = ", ".join([db.param] * len(fields))
    sql = (f'INSERT INTO "{OutboxMessage._meta.table_name}" '
           f'({", ".join(chr(34) + f.column_name + chr(34) for f in fields)}) '
           f"VALUES ({placeholders}) ON CONFLICT DO NOTHING")
    # A column a message does not set takes the field's default; the moment is converted once.
    defaults = {f.name: f.db_value(f.default() if callable(f.default) else f.default)
                for f in fields}
    stamp = OutboxMessage.created_at.db_value(now)

    def cell(field, values):
        if field.name not in values:
            return defaults[field.name]
        value = values[field.name]
        if value is None:
            return None
        return stamp if value is now else field.db_value(value)

    rows, written = [], 0

    def flush():
        nonlocal written
        if not rows:
            return
        cursor = db.cursor()
        if is_sqlite():
            cursor.executemany(sql, rows)
            written += max(cursor.rowcount, 0)
        else:  # psycopg2's executemany is a round trip per row: many rows per statement
            from psycopg2.extras import execute_values

            written += len(execute_values(
                cursor, sql.replace(f"VALUES ({placeholders})", "VALUES %s") + " RETURNING 1",
                rows, page_size=500, fetch=True))
        rows.clear()

    for message in messages:
        message = dict(message)
        event, estate_id = message.pop("event"), message["estate_id"]
        if (estate_id, event) not in settings:
            settings[estate_id, event] = template_for(estate_id, event)
        values = _message_values(event, now=now, setting=settings[estate_id, event], **message)
        rows.append(tuple(cell(f, values) for f in fields))
        if len(rows) >= chunk:
            flush()
    flush()
    return written


def delivery_log(subject) -> list[OutboxMessage]:
    """What was sent to whom about this row, newest first (its tries in `.tries`)."""
    return list(OutboxMessage.select().where(
        OutboxMessage.subject_table == subject._meta.table_name,
        OutboxMessage.subject_id == subject._pk).order_by(OutboxMessage.id.desc()))


def month_start(now: dt.datetime) -> dt.datetime:
    local = to_office(now)
    return dt.datetime(local.year, local.month, 1, tzinfo=office_tz())


def monthly_sms_counts(now: dt.datetime | None = None, estate_ids=None) -> list[dict]:
    """Per estate: SMS sent this calendar month (office time), for the jobs page."""
    start = month_start(now or utcnow())
    query = (OutboxMessage.select(OutboxMessage.estate, fn.COUNT(OutboxMessage.id))
             .where(OutboxMessage.channel == "sms", OutboxMessage.state == "sent",
                    OutboxMessage.sent_at >= start)
             .group_by(OutboxMessage.estate))
    if estate_ids is not None:
        query = query.where(OutboxMessage.estate.in_(list(estate_ids)))
    counts = dict(query.tuples())
    estates = Estate.select().where(Estate.id.in_(list(counts))).order_by(Estate.code)
    return [{"estate": estate, "count": counts[estate.id], "month": f"{start:%Y-%m}"}
            for estate in estates]
