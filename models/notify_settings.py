"""What the product may send, per event: the catalogue of events (audience, default words, the
parameters in the order the SMS providers take them), each estate's setting for an event
(`NotifyTemplate`: on or off, its words, the provider's template; issue #17) and the residents
who asked for no SMS (`SmsOptOut`). The outbox (models/outbox.py) reads these when it writes a
message."""

from __future__ import annotations

from flask_babel import gettext
from peewee import BooleanField, CharField, ForeignKeyField

from models.i18n import L_
from models.org import Resident
from models.register import RegisterModel
from models.validators import clean_mobile

# Every event the product notifies, with its audience, default text and the names of its
# parameters in the order Tencent's TemplateParamSet takes them ({name} in the text).
EVENTS = {
    "demand_received": ("owner", L_("业户：报事已受理"),
                        "您的报事已受理，编号{number}，我们将在{deadline}前答复。",
                        ("number", "deadline")),
    "demand_dispatched": ("owner", L_("业户：已派工"),
                          "您的报事{number}已派{department}处理。", ("number", "department")),
    "demand_replied": ("owner", L_("业户：已答复"), "您的报事{number}已答复：{reply}",
                       ("number", "reply")),
    "demand_completed": ("owner", L_("业户：已完成"),
                         "您的报事{number}已处理完成，欢迎评价。", ("number",)),
    "demand_reopened": ("owner", L_("业户：重新处理"),
                        "您的报事{number}将重新处理，我们将在{deadline}前答复。",
                        ("number", "deadline")),
    "batch_notice": ("owner", L_("业户：批量服务通知"),
                     "{service}定于{day}上门施工，请届时安排家中有人。", ("service", "day")),
    "work_order_new": ("staff", L_("员工：新维修单"),
                       "新维修单{number}：{unit} {what}", ("number", "unit", "what")),
    "deadline_missed": ("staff", L_("员工：答复超时"),
                        "报事{number}已超过答复期限{deadline}，尚未答复。",
                        ("number", "deadline")),
    "emergency_new": ("staff", L_("员工：紧急事件"),
                      "紧急事件{number}：{kind}，{place}。请立即处置（R-EMG-1）。",
                      ("number", "kind", "place")),
    # The staff side (models/notify_staff.py): warnings before a deadline, the branch GM,
    # the daily digest to the group robots.
    "deadline_near": ("staff", L_("员工：答复即将超时"),
                      "报事{number}的答复期限为{deadline}，尚未答复，请抓紧处理。",
                      ("number", "deadline")),
    "work_order_near": ("staff", L_("员工：维修单即将超时"),
                        "维修单{number}（{unit}）应于{deadline}前完工，尚未完工，请抓紧处理。",
                        ("number", "unit", "deadline")),
    "emergency_gm": ("staff", L_("员工：紧急事件上报总经理"),
                     "{estate}紧急事件{number}：{kind}，{place}。{reason}（R-EMG-2）",
                     ("estate", "number", "kind", "place", "reason")),
    "daily_digest": ("staff", L_("员工：每日超时摘要"), "{summary}", ("title", "summary")),
    # The owners' other news (issue #17 item 3, models/notify_owner.py).
    "gas_appointment": ("owner", L_("业户：燃气改管预约"),
                        "您登记的燃气改管已预约{company}于{day}上门施工，预约单号{appointment}，"
                        "请届时安排家中有人。", ("company", "day", "appointment")),
    "pass_expiring": ("owner", L_("业户：出入证明天到期"),
                      "您房屋{unit}装修工人{holder}的出入证{number}将于{day}到期，"
                      "请及时续办或交回。", ("unit", "holder", "number", "day")),
    "deposit_refundable": ("owner", L_("业户：押金可退"),
                           "您交纳的{kind}{amount}元（收据{receipt}）自{day}起可以退还，"
                           "请携收据到管理处办理。", ("kind", "amount", "receipt", "day")),
    "decoration_approved": ("owner", L_("业户：装修申请已批准"),
                            "您房屋{unit}的装修申请{number}已批准，请到管理处办理装修许可证。",
                            ("unit", "number")),
    "decoration_rejected": ("owner", L_("业户：装修申请未批准"),
                            "您房屋{unit}的装修申请{number}未获批准，原因：{reason}",
                            ("unit", "number", "reason")),
    # The owner asked for it on the H5: no opt-out applies, and the code itself is never in
    # the text and is wiped from the parameters once sent (models/owners.py).
    "owner_login_code": ("owner", L_("业户：登录验证码"),
                         "您的登录验证码为{code}，5分钟内有效，请勿告诉他人。", ("code",)),
}
SECRET_PARAMS = {"owner_login_code": ("code",)}
EVENT_CHOICES = [(key, label) for key, (_, label, _, _) in EVENTS.items()]
EVENT_LABELS = dict(EVENT_CHOICES)


def mobile_or_empty(phone: str | None) -> str:
    """The 11 digits of a mainland mobile number, or "" for a landline or nothing."""
    try:
        return clean_mobile(phone)
    except ValueError:
        return ""


class NotifyTemplate(RegisterModel):
    """One estate's setting for one event: on or off, its text and the provider's template."""

    event = CharField(max_length=32, choices=EVENT_CHOICES, verbose_name=L_("通知事项"))
    enabled = BooleanField(default=True, verbose_name=L_("启用"))
    text = CharField(max_length=300, default="", verbose_name=L_("内容"),
                     help_text=L_("站内通知和群机器人用此文字；可用参数见事项说明，如 {number}。"
                               "留空用默认文字"))
    sms_template = CharField(max_length=32, default="", verbose_name=L_("短信模板编号"),
                             help_text=L_("在短信服务商处审核通过的模板：阿里云如 SMS_123456789，"
                                       "腾讯云如 1234567。未填则该事项不发短信"))

    class Meta:
        table_name = "notify_template"
        # One setting per event per estate.
        indexes = ((("estate", "event"), True),)

    def __str__(self) -> str:
        return str(EVENT_LABELS.get(self.event, self.event))

    def validate(self):
        if self.event not in EVENTS:
            yield "event", gettext("请选择通知事项")
            return
        names = EVENTS[self.event][3]
        try:
            (self.text or "").format(**{name: "" for name in names})
        except (KeyError, IndexError, ValueError):
            yield "text", gettext("内容中的参数只能是：%(names)s",
                                  names="、".join("{" + n + "}" for n in names))


class SmsOptOut(RegisterModel):
    """A resident who asked for no SMS (per-resident opt-out); voiding it opts back in."""

    resident = ForeignKeyField(Resident, backref="+", on_delete="RESTRICT",
                               verbose_name=L_("业户"))
    reason = CharField(max_length=200, default="", verbose_name=L_("说明"))

    class Meta:
        table_name = "sms_opt_out"

    def __str__(self) -> str:
        if self.resident_id:
            return gettext("%(name)s 退订短信", name=self.resident.name)
        return gettext("退订短信")

    def validate(self):
        if self.resident_id and self.estate_id:
            resident = Resident.get_or_none(Resident.id == self.resident_id)
            if resident is not None and resident.estate_id != self.estate_id:
                yield "resident", gettext("所选业户不属于该小区")


def opted_out(estate_id: int, phone: str, resident_id: int | None = None) -> bool:
    """Whether the resident (or any resident of the estate with this number) opted out."""
    residents = Resident.select(Resident.id).where(Resident.estate == estate_id,
                                                   Resident.phone == phone)
    query = SmsOptOut.select().where(SmsOptOut.voided == False,  # noqa: E712
                                     SmsOptOut.estate == estate_id)
    if resident_id:
        query = query.where((SmsOptOut.resident == resident_id)
                            | SmsOptOut.resident.in_(residents))
    else:
        query = query.where(SmsOptOut.resident.in_(residents))
    return query.exists()


def template_for(estate_id: int, event: str) -> NotifyTemplate | None:
    return NotifyTemplate.get_or_none(NotifyTemplate.estate == estate_id,
                                      NotifyTemplate.event == event,
                                      NotifyTemplate.voided == False)  # noqa: E712


def render_text(event: str, setting: NotifyTemplate | None, params: dict) -> str:
    """The message's words: the estate's text, else the default, with the parameters."""
    text = (setting.text if setting is not None and setting.text else EVENTS[event][2])
    values = {name: params.get(name, "") for name in EVENTS[event][3]}
    values.update({name: "******" for name in SECRET_PARAMS.get(event, ())})
    try:
        return text.format(**values)
    except (KeyError, IndexError, ValueError):
        return EVENTS[event][2].format(**values)
