"""Batch services (其他工作, R-JOB-1/2): lock cylinder + peephole, video intercom, gas pipes.

Owners register after decoration (`ServiceRegistration`); staff group the registrations into a
batch (`ServiceBatch`) on one day — a Saturday or Sunday for locks and intercoms, as the manual
says; gas work on the day the gas company gave, with its appointment recorded. The owners are
notified in advance (how, when — at least BATCH_NOTICE_DAYS days before, configurable), and the
result is recorded per unit: done, or not done and back in the queue for the next batch.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext
from peewee import CharField, DateField, ForeignKeyField, TextField

from models.base import (
    AwareDateTimeField,
    PhoneField,
    RuleError,
    check_moment,
    office_day,
    to_office,
    utcnow,
    write_transaction,
)
from models.calendar import next_number
from models.i18n import L_
from models.notify import on_batch_notice
from models.notify_owner import on_gas_appointment
from models.office import setting
from models.org import Resident, Unit, _same_estate
from models.register import RegisterModel, StatefulMixin
from models.steps import gather
from models.users import User

SERVICES = [
    ("lock", L_("更换锁芯及猫眼")),
    ("intercom", L_("安装可视对讲")),
    ("gas", L_("燃气改管")),
]
SERVICE_LABELS = dict(SERVICES)
# R-JOB-1: these are done in batches on Saturdays and Sundays.
WEEKEND_SERVICES = ("lock", "intercom")
DEFAULT_NOTICE_DAYS = 3  # BATCH_NOTICE_DAYS: owners are told at least this many days before
WEEKDAYS = (L_("星期一"), L_("星期二"), L_("星期三"), L_("星期四"), L_("星期五"), L_("星期六"),
            L_("星期日"))
NOTICE_METHODS = [("sms", L_("短信")), ("phone", L_("电话")), ("notice", L_("公告张贴")),
                  ("visit", L_("上门告知"))]

REGISTRATION_STATES = [
    ("registered", L_("待安排")),
    ("scheduled", L_("已安排")),
    ("done", L_("已完成")),
]
BATCH_STATES = [
    ("planned", L_("待通知")),
    ("notified", L_("已通知")),
    ("done", L_("已完成")),
]


def notice_days() -> int:
    return int(setting("BATCH_NOTICE_DAYS", DEFAULT_NOTICE_DAYS))


def weekday_name(day: dt.date) -> str:
    return str(WEEKDAYS[day.weekday()])


class ServiceBatch(StatefulMixin, RegisterModel):
    """One day's batch of one service, with its advance notice (and the gas appointment)."""

    number = CharField(max_length=20, default="", index=True, verbose_name=L_("批次编号"))
    kind = CharField(max_length=16, choices=SERVICES, verbose_name=L_("服务项目"))
    day = DateField(verbose_name=L_("施工日期"))
    team = CharField(max_length=64, default="", verbose_name=L_("施工单位/人员"))
    notice_method = CharField(max_length=16, null=True, choices=NOTICE_METHODS,
                              verbose_name=L_("通知方式"))
    notice_at = AwareDateTimeField(null=True, verbose_name=L_("通知时间"),
                                   help_text=L_("须至少提前规定天数通知业户"))
    notice_content = CharField(max_length=200, default="", verbose_name=L_("通知内容"))
    gas_company = CharField(max_length=64, default="", verbose_name=L_("燃气公司"),
                            help_text=L_("燃气改管必填（R-JOB-2）"))
    gas_appointment = CharField(max_length=32, default="", verbose_name=L_("燃气公司预约单号"))
    gas_contact = CharField(max_length=64, default="", verbose_name=L_("燃气公司联系人/电话"))
    state = CharField(max_length=16, choices=BATCH_STATES, default="planned", index=True,
                      verbose_name=L_("状态"))
    notes = CharField(max_length=200, default="", verbose_name=L_("备注"))
    # The registrations grid's 批次 filter offers the newest 50 batches, newest first
    # (views.scoping.RelationFilter): its page stays flat as the batches grow (#14).
    filter_recent_options = 50

    class Meta:
        table_name = "service_batch"
        indexes = ((("estate", "day"), False),)

    def __str__(self) -> str:
        day = f"{self.day:%Y-%m-%d}" if self.day else ""
        number = self.number or gettext("新批次")
        return f"{number} {SERVICE_LABELS.get(self.kind, '')} {day}".strip()

    @property
    def kind_label(self) -> str:
        return SERVICE_LABELS.get(self.kind, self.kind)

    def notice_deadline(self) -> dt.date | None:
        """The last day the owners may be told (BATCH_NOTICE_DAYS before the work)."""
        return self.day - dt.timedelta(days=notice_days()) if self.day else None

    def validate(self):
        if self.kind not in SERVICE_LABELS:
            yield "kind", gettext("请选择服务项目")
        if self.day and self.kind in WEEKEND_SERVICES and self.day.weekday() < 5:
            yield "day", (gettext("%(value)s统一安排在周六、周日，%(day)s 是%(value2)s，请改选周六"
                                  "或周日",
                                  value=SERVICE_LABELS[self.kind], day=format(self.day, '%Y-%m-%d'),
                                  value2=weekday_name(self.day)))
        if self.kind == "gas":
            if not (self.gas_company or "").strip():
                yield "gas_company", gettext("燃气改管须由物业联系燃气公司，请填写燃气公司")
            if not (self.gas_appointment or "").strip():
                yield "gas_appointment", gettext("请填写燃气公司的预约单号")
        if self.notice_at is not None:
            yield from self._check_notice()
        if self.id and self.day and self.kind:
            clash = self.registrations.where(ServiceRegistration.kind != self.kind,
                                             ServiceRegistration.voided == False)  # noqa: E712
            if clash.exists():
                yield "kind", gettext("批次中已有其他项目的登记，不能更改服务项目")

    def _check_notice(self):
        if self.notice_method not in dict(NOTICE_METHODS):
            yield "notice_method", gettext("请选择通知方式")
        if self.notice_at > utcnow() + dt.timedelta(minutes=5):
            yield "notice_at", gettext("通知时间不能晚于现在")
        elif self.day and office_day(self.notice_at) > self.notice_deadline():
            yield "notice_at", (gettext("须至少提前 %(value)s 天通知业户：施工日期 %(day)s，最晚 "
                                        "%(value2)s 通知",
                                        value=notice_days(), day=format(self.day, '%Y-%m-%d'),
                                        value2=format(self.notice_deadline(), '%Y-%m-%d')))

    def before_create(self, user) -> None:
        self.number = next_number(self.estate_id, "PL", self.day.year)
        self._derive_state()

    def before_update(self) -> None:
        self._derive_state()

    def _derive_state(self) -> None:
        if self.state != "done":
            self.state = "notified" if self.notice_at else "planned"

    # -- operations -----------------------------------------------------------------------

    def live_registrations(self):
        return (self.registrations.where(ServiceRegistration.voided == False)  # noqa: E712
                .join(Unit).order_by(Unit.code))

    def add(self, user, registration_ids) -> int:
        """Put registrations of the same service into this batch; returns how many."""
        self.require_state(("planned", "notified"), gettext("该批次已完成，不能再加入登记"),
                           doing=gettext("安排"))
        ids = [int(i) for i in registration_ids or []]
        if not ids:
            raise RuleError({"registrations": gettext("请选择要加入批次的登记")})
        rows = list(ServiceRegistration.select().where(ServiceRegistration.id.in_(ids)))
        problems = []
        for row in rows:
            unit = row.unit.code
            if row.estate_id != self.estate_id:
                problems.append(gettext("%(unit)s 不属于该小区", unit=unit))
            elif row.voided:
                problems.append(gettext("%(unit)s 的登记已作废", unit=unit))
            elif row.kind != self.kind:
                problems.append(gettext("%(unit)s 登记的是%(kind_label)s，与批次项目不符",
                                        unit=unit, kind_label=row.kind_label))
            elif row.state != "registered":
                problems.append(gettext("%(unit)s 已安排或已完成", unit=unit))
        if problems or len(rows) != len(set(ids)):
            raise RuleError({"registrations": "；".join(problems) or gettext("所选登记不存在")})
        with write_transaction():
            for row in rows:
                row.transition(user, "scheduled", batch=self.id)
            if self.kind == "gas":
                on_gas_appointment(self, rows)  # each owner hears of the appointment (R-JOB-2)
        return len(rows)

    def record_notice(self, user, *, method: str, at: dt.datetime | None = None,
                      content: str = "", expected_version: int | None = None) -> None:
        """提前通知业户: how and when, at least the configured days before."""
        self.require_state(doing=gettext("登记通知"))
        # No target state: the row derives planned/notified from notice_at itself.
        with write_transaction():
            self.transition(user, expected_version=expected_version, notice_method=method or None,
                            notice_at=at or utcnow(), notice_content=(content or "").strip()[:200])
            if method == "sms":
                on_batch_notice(self)  # each unit's owner gets the SMS (R-JOB-1/2, #17)

    def refresh_done(self, user) -> None:
        """A batch is done when every unit in it has its result."""
        rows = list(self.live_registrations())
        if rows and all(r.state == "done" for r in rows) and self.state != "done":
            self.transition(user, "done")


class ServiceRegistration(StatefulMixin, RegisterModel):
    """An owner's registration for a batch service, and its result for that unit."""

    kind = CharField(max_length=16, choices=SERVICES, verbose_name=L_("服务项目"))
    unit = ForeignKeyField(Unit, backref="service_registrations", on_delete="RESTRICT",
                           verbose_name=L_("房屋"))
    resident = ForeignKeyField(Resident, null=True, backref="+", on_delete="RESTRICT",
                               verbose_name=L_("登记业户"))
    contact_name = CharField(max_length=32, default="", verbose_name=L_("联系人"),
                             help_text=L_("留空则为所选业户"))
    contact_phone = PhoneField(default="", verbose_name=L_("联系电话"),
                               help_text=L_("留空则为业户电话"))
    registered_at = AwareDateTimeField(default=utcnow, verbose_name=L_("登记时间"))
    batch = ForeignKeyField(ServiceBatch, null=True, backref="registrations",
                            on_delete="RESTRICT", verbose_name=L_("批次"))
    state = CharField(max_length=16, choices=REGISTRATION_STATES, default="registered",
                      index=True, verbose_name=L_("状态"))
    done_at = AwareDateTimeField(null=True, verbose_name=L_("完成时间"))
    done_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                              verbose_name=L_("登记完成人"))
    result = TextField(default="", verbose_name=L_("完成情况"))
    notes = CharField(max_length=200, default="", verbose_name=L_("备注"))

    class Meta:
        table_name = "service_registration"
        indexes = ((("estate", "kind", "state"), False),)

    def __str__(self) -> str:
        unit = self.unit.code if self.unit_id else ""
        return f"{unit} {SERVICE_LABELS.get(self.kind, '')}".strip()

    @property
    def kind_label(self) -> str:
        return SERVICE_LABELS.get(self.kind, self.kind)

    def validate(self):
        if self.kind not in SERVICE_LABELS:
            yield "kind", gettext("请选择服务项目")
        if not self.resident_id:
            if not self.contact_name:
                yield "contact_name", gettext("请填写联系人或选择登记业户")
            if not self.contact_phone:
                yield "contact_phone", gettext("请填写联系电话或选择登记业户")
        yield from _same_estate(self, "estate", ("unit", "batch"))
        if self.resident_id and self.unit_id:
            resident = Resident.get_or_none(Resident.id == self.resident_id)
            if resident is not None and resident.unit_id != self.unit_id:
                yield "resident", gettext("所选业户不住在该房屋")
        if self.unit_id and self.kind and self.state != "done":
            twin = ServiceRegistration.select().where(
                ServiceRegistration.unit == self.unit_id, ServiceRegistration.kind == self.kind,
                ServiceRegistration.state != "done",
                ServiceRegistration.voided == False)  # noqa: E712
            if self.id:
                twin = twin.where(ServiceRegistration.id != self.id)
            if twin.exists():
                yield "unit", gettext("该房屋已登记%(value)s，尚未完成，不能重复登记",
                                      value=SERVICE_LABELS[self.kind])

    def before_create(self, user) -> None:
        if self.resident_id:
            resident = Resident.get_by_id(self.resident_id)
            self.contact_name = self.contact_name or resident.name
            self.contact_phone = self.contact_phone or resident.phone

    def complete(self, user, *, done: bool | None, result: str = "", at: dt.datetime | None = None,
                 expected_version: int | None = None) -> None:
        """The unit's result on the batch day: done, or not (owner absent…) back to the queue."""
        not_scheduled = gettext("只有已安排批次的登记可以登记完成情况")
        self.require_state(("scheduled",), not_scheduled, doing=gettext("登记完成情况"))
        if self.batch_id is None:
            raise RuleError({"": not_scheduled})
        batch = self.batch
        if batch.notice_at is None:
            raise RuleError({"": gettext("该批次尚未登记提前通知业户，不能登记完成情况")})
        errors = {}
        if done is None:  # not chosen, or a value the radio does not offer
            errors["done"] = gettext("请选择结果")
        elif done is False and not (result or "").strip():
            errors["result"] = gettext("未完成时请填写原因，如业主不在家")
        at = gather(errors, check_moment, at, field_name="at", label=gettext("完成时间"))
        if at is not None and office_day(at) < batch.day:
            errors["at"] = gettext("完成时间不能早于施工日期 %(day)s",
                                   day=format(batch.day, '%Y-%m-%d'))
        if errors:
            raise RuleError(errors)
        with write_transaction():
            if done:
                self.transition(user, "done", expected_version=expected_version,
                                done_at=at, done_by=user.id if user else None,
                                result=(result or "").strip() or "已完成")
            else:
                note = f"{to_office(at):%Y-%m-%d} 未完成：{result.strip()}"
                self.transition(user, "registered", expected_version=expected_version,
                                batch=None, result=note[:500])
            batch.refresh_done(user)
