"""Emergency register (紧急事件处理登记表, R-EMG-1…5).

An incident is written down as it happens (what, where, who reported it to whom, casualties and
rescue), its escalation is a list of steps each with who and when (director informed, branch GM
informed, outside help — only with the director's consent recorded), then the director's
aftermath: cause, responsible person, remedial and preventive measures. It cannot be closed
before those are filled; the measures' implementation results are added as further steps, also
after closing (R-EMG-4). Equipment failures and building-quality problems name the on-duty
maintenance technician who was told first (R-EMG-5). The register prints as the paper sheet.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext
from peewee import CharField, ForeignKeyField, TextField

from models.approvals import DIRECTOR, Approval, Grant, not_before_grant, require_grant
from models.base import AwareDateTimeField, RuleError, check_moment, to_office, utcnow
from models.calendar import next_number
from models.i18n import L_
from models.notify import on_emergency
from models.notify_staff import on_emergency_step
from models.office import refuse_changes_after, user_or_none, works_for
from models.register import RegisterModel, StatefulMixin, save_record
from models.users import User

KINDS = [
    ("fire", L_("火灾")),
    ("water", L_("水浸/爆管")),
    ("power", L_("停电")),
    ("lift", L_("电梯困人")),
    ("injury", L_("人员受伤")),
    ("security", L_("治安事件")),
    ("equipment", L_("设备故障")),
    ("building", L_("房屋质量")),
    ("other", L_("其他")),
]
KIND_LABELS = dict(KINDS)
# R-EMG-5: these go first to the on-duty maintenance technician.
TECHNICAL_KINDS = ("equipment", "building")
STATES = [("open", L_("处置中")), ("stabilised", L_("已稳定")), ("closed", L_("已结案"))]
STATE_LABELS = dict(STATES)

STEP_KINDS = [
    ("reported", L_("报告上级/值班人员")),
    ("director", L_("报告管理处主任")),
    ("technician", L_("通知当值维修技术人员")),
    ("onsite", L_("上报领导现场处理")),
    ("gm", L_("主任上报分公司总经理")),
    ("outside_help", L_("社会求援")),
    ("result", L_("措施落实结果")),
    ("other", L_("其他")),
]
STEP_LABELS = dict(STEP_KINDS)
# Who may consent to outside help (R-EMG-2: the office director).
CONSENTING_ROLES = ("director",)
# The director closes the case (R-EMG-3); the system admin may stand in.
CLOSING_ROLES = ("director", "admin")

# What the director must have found and decided before the case closes (R-EMG-3).
AFTERMATH = (
    ("stabilised_at", L_("结案前请登记事态稳定时间")),
    ("cause", L_("结案前请查明并填写事发原因")),
    ("responsible_person", L_("结案前请填写事故负责人")),
    ("remedial_measures", L_("结案前请填写补救措施")),
    ("preventive_measures", L_("结案前请填写预防措施")),
)
# Fields of the register itself; frozen once the case is closed.
REGISTER_FIELDS = (
    "occurred_at", "place", "kind", "description", "reported_by", "first_reported_to",
    "reported_at", "casualties", "rescue", "technician", "technician_notified_at",
    "stabilised_at", "cause", "responsible_person", "remedial_measures", "preventive_measures",
)


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _describe_step(row, values: dict) -> str:
    return f"社会求援：{values.get('who', '')} {values.get('note', '')}".strip()


class Emergency(StatefulMixin, RegisterModel):
    """One incident on the emergency register, from the first report to closing."""

    # R-EMG-2: outside help only with the office director's consent (the director alone).
    approvals = {"add_step": Approval(
        "add_step", "社会求援（主任同意）", rule=lambda row: DIRECTOR,
        needed=lambda row, values: values.get("kind") == "outside_help", moment="at",
        describe=_describe_step)}

    number = CharField(max_length=20, default="", index=True, verbose_name=L_("编号"))
    occurred_at = AwareDateTimeField(verbose_name=L_("发生时间"))
    place = CharField(max_length=100, verbose_name=L_("地点"))
    kind = CharField(max_length=16, choices=KINDS, verbose_name=L_("事件类型"))
    description = TextField(verbose_name=L_("事件经过"))
    reported_by = CharField(max_length=32, verbose_name=L_("报告人"),
                            help_text=L_("当事人或目击者"))
    first_reported_to = CharField(max_length=32, verbose_name=L_("首先报告给"),
                                  help_text=L_("上级或管理处值班人员（R-EMG-1）"))
    reported_at = AwareDateTimeField(default=utcnow, verbose_name=L_("报告时间"))
    casualties = TextField(default="", verbose_name=L_("人员伤亡"), help_text=L_("无伤亡请填“无”"))
    rescue = TextField(default="", verbose_name=L_("救护情况"),
                       help_text=L_("有人员伤亡时全力救护"))
    technician = CharField(max_length=32, default="", verbose_name=L_("当值维修技术人员"),
                           help_text=L_("设备故障或房屋质量问题必填（R-EMG-5）"))
    technician_notified_at = AwareDateTimeField(null=True, verbose_name=L_("通知维修技术人员时间"))
    stabilised_at = AwareDateTimeField(null=True, verbose_name=L_("事态稳定时间"))
    cause = TextField(default="", verbose_name=L_("事发原因"))
    responsible_person = CharField(max_length=32, default="", verbose_name=L_("事故负责人"))
    remedial_measures = TextField(default="", verbose_name=L_("补救措施"))
    preventive_measures = TextField(default="", verbose_name=L_("预防措施"))
    state = CharField(max_length=16, choices=STATES, default="open", index=True,
                      verbose_name=L_("状态"))
    closed_at = AwareDateTimeField(null=True, verbose_name=L_("结案时间"))
    closed_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                verbose_name=L_("结案人"))

    class Meta:
        table_name = "emergency"
        indexes = ((("estate", "occurred_at"), False),)

    def __str__(self) -> str:
        number = self.number or gettext("新事件")
        return f"{number} {KIND_LABELS.get(self.kind, '')} {self.place}".strip()

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    def missing_for_close(self) -> dict[str, str]:
        return {name: message for name, message in AFTERMATH if _blank(getattr(self, name))}

    def validate(self):
        now = utcnow() + dt.timedelta(minutes=5)
        occurred = self.occurred_at
        if occurred and occurred > now:
            yield "occurred_at", gettext("发生时间不能晚于现在")
        for name, label in (("reported_at", L_("报告时间")), ("stabilised_at", L_("事态稳定时间")),
                            ("technician_notified_at", L_("通知维修技术人员时间"))):
            value = getattr(self, name)
            if value and occurred and value < occurred:
                yield name, gettext("%(label)s不能早于发生时间", label=label)
            elif value and value > now:
                yield name, gettext("%(label)s不能晚于现在", label=label)
        if self.kind in TECHNICAL_KINDS:
            # R-EMG-5: equipment and building problems go first to the technician on duty.
            if _blank(self.technician):
                yield "technician", gettext("设备故障或房屋质量问题须登记通知的当值维修技术人员")
            if self.technician_notified_at is None:
                yield "technician_notified_at", gettext("请填写通知当值维修技术人员的时间")
        if self.state == "closed":
            yield from self.missing_for_close().items()

    def _derive_state(self) -> None:
        self.state = ("closed" if self.closed_at else
                      "stabilised" if self.stabilised_at else "open")

    def before_create(self, user) -> None:
        self.number = next_number(self.estate_id, "JJ", to_office(self.occurred_at).year)
        self._derive_state()

    def after_create(self, user) -> None:
        on_emergency(self)  # to the director at once (R-EMG-1, #17)

    def before_update(self) -> None:
        refuse_changes_after(self, REGISTER_FIELDS, lambda stored: stored.state == "closed",
                             gettext("已结案的紧急事件不能修改；措施落实结果请在处理过程中登记"))
        self._derive_state()

    # -- steps ----------------------------------------------------------------------------

    def history(self):
        return (self.steps.where(EmergencyStep.voided == False)  # noqa: E712
                .order_by(EmergencyStep.at, EmergencyStep.id))

    def add_step(self, user, *, kind: str, who: str, note: str = "",
                 at: dt.datetime | None = None, grant: Grant | None = None) -> EmergencyStep:
        """One escalation step with who and when (R-EMG-1/2), or an implementation result.

        Outside help only once the director has consented, in the director's own login or at
        the desk (R-EMG-2, R-REC-2); the call is recorded at or after the consent.
        """
        self.require_state(doing=gettext("登记处理过程"))
        if self.state == "closed" and kind != "result":
            raise RuleError({"kind": gettext("已结案的事件只能登记措施落实结果")})
        consent_by = consent_at = None
        if kind == "outside_help":
            consent_by, consent_at = require_grant(self, "add_step", grant).id, grant.at
            at = not_before_grant(at, grant)
        step = EmergencyStep(estate=self.estate_id, emergency=self.id, kind=kind,
                             who=(who or "").strip(), note=(note or "").strip(),
                             at=at or utcnow(), consent_by=consent_by, consent_at=consent_at)
        return save_record(step, user)

    def close(self, user, *, at: dt.datetime | None = None,
              expected_version: int | None = None) -> None:
        """结案: only with cause, responsible person and measures filled (R-EMG-3)."""
        self.require_state(("open", "stabilised"), gettext("该事件已经结案"), doing=gettext("结案"))
        if user is None or user.role not in CLOSING_ROLES:
            raise RuleError({"": gettext("紧急事件须由管理处主任结案")})
        missing = self.missing_for_close()
        if missing:
            raise RuleError(missing)
        at = check_moment(at, field_name="at", label=gettext("结案时间"),
                          not_before=self.stabilised_at,
                          before_label=gettext("事态稳定时间"))
        self.transition(user, "closed", expected_version=expected_version, closed_at=at,
                        closed_by=user.id)


class EmergencyStep(RegisterModel):
    """One step of an incident's handling: who, when, what (append-only; voided if wrong)."""

    emergency = ForeignKeyField(Emergency, backref="steps", on_delete="RESTRICT",
                                verbose_name=L_("紧急事件"))
    kind = CharField(max_length=16, choices=STEP_KINDS, verbose_name=L_("环节"))
    at = AwareDateTimeField(default=utcnow, verbose_name=L_("时间"))
    who = CharField(max_length=32, verbose_name=L_("人员"),
                    help_text=L_("报告给谁、由谁处理，或求援的单位"))
    note = TextField(default="", verbose_name=L_("内容/结果"))
    consent_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                 verbose_name=L_("同意的主任"),
                                 help_text=L_("社会求援须经管理处主任同意"))
    consent_at = AwareDateTimeField(null=True, verbose_name=L_("主任同意时间"))

    class Meta:
        table_name = "emergency_step"
        indexes = ((("emergency", "at"), False),)

    def __str__(self) -> str:
        return f"{STEP_LABELS.get(self.kind, self.kind)} {self.who}"

    def after_create(self, user) -> None:
        on_emergency_step(self)  # 主任上报分公司总经理: the GM is told too (R-EMG-2, #17)

    @property
    def kind_label(self) -> str:
        return STEP_LABELS.get(self.kind, self.kind)

    def validate(self):
        if self.kind not in STEP_LABELS:
            yield "kind", gettext("请选择处理环节")
        incident = Emergency.get_or_none(Emergency.id == self.emergency_id)
        if incident is not None and incident.estate_id != self.estate_id:
            yield "emergency", gettext("所选事件不属于该小区")
        if self.at and self.at > utcnow() + dt.timedelta(minutes=5):
            yield "at", gettext("时间不能晚于现在")
        elif incident is not None and self.at and self.at < incident.occurred_at:
            yield "at", gettext("时间不能早于事件发生时间")
        if self.kind == "outside_help":
            yield from self._check_consent(incident)

    def _check_consent(self, incident):
        """R-EMG-2: outside help only with the director's consent, recorded before the call."""
        director = user_or_none(self.consent_by_id)
        if director is None:
            yield "consent_by", gettext("向社会求援须经管理处主任本人同意（本人登录或在前台输入密"
                                        "码）")
            return
        if director.role not in CONSENTING_ROLES or (
                incident is not None and not works_for(director, incident.estate_id)):
            yield "consent_by", gettext("同意社会求援的须为本管理处主任")
        if self.consent_at is None:
            yield "consent_at", gettext("请填写主任同意的时间")
        elif self.at and self.consent_at > self.at:
            yield "consent_at", gettext("须先经主任同意，再向社会求援：同意时间不能晚于求援时间")
        elif incident is not None and self.consent_at < incident.occurred_at:
            yield "consent_at", gettext("主任同意时间不能早于事件发生时间")
