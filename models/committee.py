"""Owners' committee log (业委会沟通, R-SVC-4).

The office communicates with the owners' committee every month. Each contact records when and
how, who attended, the topics, the owners' suggestions and complaints raised (items — each can
become a demand with one action, channel 业委会), the committee's opinions and the follow-ups.
`months_without_contact` shows a month that was missed.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext
from peewee import CharField, DateField, ForeignKeyField, TextField

from models.base import AwareDateTimeField, RuleError, to_office, utcnow
from models.demands import Demand
from models.i18n import L_
from models.office import DemandSource, month_range, month_start
from models.org import Unit, _same_estate
from models.register import RegisterModel, save_record

CONTACT_KINDS = [
    ("meeting", L_("例会")),
    ("visit", L_("走访")),
    ("phone", L_("电话沟通")),
    ("written", L_("书面函件")),
]
ITEM_KINDS = [
    ("suggestion", L_("建议")),
    ("complaint", L_("投诉")),
    ("opinion", L_("意见")),
    ("consultation", L_("咨询")),
]
ITEM_LABELS = dict(ITEM_KINDS)
# The demand kind an item naturally becomes (R-DEM-2); the clerk may choose another.
DEMAND_KIND = {"suggestion": "suggestion", "complaint": "complaint", "opinion": "suggestion",
               "consultation": "consultation"}


class CommitteeContact(RegisterModel):
    """One meeting or contact with the owners' committee."""

    held_at = AwareDateTimeField(default=utcnow, verbose_name=L_("时间"))
    kind = CharField(max_length=16, choices=CONTACT_KINDS, default="meeting",
                     verbose_name=L_("沟通方式"))
    place = CharField(max_length=64, default="", verbose_name=L_("地点"))
    attendees = TextField(verbose_name=L_("参加人员"), help_text=L_("业委会成员和管理处人员"))
    topics = TextField(verbose_name=L_("沟通议题"))
    committee_opinions = TextField(default="", verbose_name=L_("业委会意见"))
    follow_up = TextField(default="", verbose_name=L_("跟进事项"))
    follow_up_due = DateField(null=True, verbose_name=L_("跟进期限"))
    follow_up_done_at = AwareDateTimeField(null=True, verbose_name=L_("跟进完成时间"))
    follow_up_result = TextField(default="", verbose_name=L_("跟进结果"))
    # The items grid's 沟通 filter offers the newest 50 meetings, newest first
    # (views.scoping.RelationFilter): its page stays flat as the meetings grow (#14).
    filter_recent_options = 50

    class Meta:
        table_name = "committee_contact"
        indexes = ((("estate", "held_at"), False),)

    def __str__(self) -> str:
        if not self.held_at:
            return gettext("业委会沟通")
        return gettext("%(day)s 业委会沟通", day=f"{to_office(self.held_at):%Y-%m-%d}")

    def validate(self):
        now = utcnow() + dt.timedelta(minutes=5)
        if self.held_at and self.held_at > now:
            yield "held_at", gettext("沟通时间不能晚于现在")
        if self.follow_up_due and self.held_at \
                and self.follow_up_due < to_office(self.held_at).date():
            yield "follow_up_due", gettext("跟进期限不能早于沟通日期")
        if self.follow_up_done_at and self.held_at and self.follow_up_done_at < self.held_at:
            yield "follow_up_done_at", gettext("跟进完成时间不能早于沟通时间")
        if self.follow_up_done_at and not (self.follow_up_result or "").strip():
            yield "follow_up_result", gettext("请填写跟进结果")
        if (self.follow_up_due or self.follow_up_done_at) and not (self.follow_up or "").strip():
            yield "follow_up", gettext("请填写跟进事项")

    def add_item(self, user, *, kind: str, content: str, unit_code: str = ""):
        """An owners' suggestion, complaint or opinion raised in this contact (R-SVC-4); the
        unit, if named, by its code among the estate's units."""
        unit = None
        if (unit_code or "").strip():
            unit = Unit.get_or_none(Unit.estate == self.estate_id, Unit.code == unit_code.strip())
            if unit is None:
                raise RuleError({"unit_code": gettext("该小区没有这个房屋编号")})
        return save_record(CommitteeItem(estate=self.estate_id, contact=self.id, kind=kind,
                                         content=content, unit=unit), user)

    def live_items(self):
        return (self.items.where(CommitteeItem.voided == False)  # noqa: E712
                .order_by(CommitteeItem.id))

    @classmethod
    def months_without_contact(cls, estate_id: int, first: dt.date, last: dt.date) -> list:
        """Months in [first, last] with no contact recorded (R-SVC-4 asks for every month).
        Only the contacts of those months are read (committeecontact_estate_id_held_at): the
        list's warning read every contact the estate ever had, on every page (#14)."""
        start, end = month_range(first.year, first.month)[0], month_range(last.year, last.month)[1]
        held = {month_start(to_office(c.held_at).date()) for c in cls.select(cls.held_at).where(
            cls.estate == estate_id, cls.held_at >= start, cls.held_at < end,
            cls.voided == False)}  # noqa: E712
        missing, month = [], month_start(first)
        while month <= last:
            if month not in held:
                missing.append(month)
            month = (month + dt.timedelta(days=32)).replace(day=1)
        return missing


class CommitteeItem(DemandSource, RegisterModel):
    """A suggestion, complaint or opinion of owners brought up with the committee."""

    demand_channel = "committee"

    contact = ForeignKeyField(CommitteeContact, backref="items", on_delete="RESTRICT",
                              verbose_name=L_("业委会沟通"))
    kind = CharField(max_length=16, choices=ITEM_KINDS, default="suggestion",
                     verbose_name=L_("类型"))
    content = TextField(verbose_name=L_("内容"))
    unit = ForeignKeyField(Unit, null=True, backref="+", on_delete="RESTRICT",
                           verbose_name=L_("涉及房屋"))
    demand = ForeignKeyField(Demand, null=True, backref="+", on_delete="RESTRICT",
                             verbose_name=L_("转入需求"))

    class Meta:
        table_name = "committee_item"

    def __str__(self) -> str:
        return f"{ITEM_LABELS.get(self.kind, '')}：{(self.content or '')[:20]}"

    @property
    def kind_label(self) -> str:
        return ITEM_LABELS.get(self.kind, self.kind)

    def demand_text(self) -> str:
        return f"业委会沟通中提出的{self.kind_label}：{self.content.strip()}"

    def demand_unit_ids(self):
        return self.unit_id, None

    def validate(self):
        if self.kind not in ITEM_LABELS:
            yield "kind", gettext("请选择类型")
        yield from _same_estate(self, "estate", ("contact", "unit"))
