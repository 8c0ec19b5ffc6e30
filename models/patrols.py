"""Decoration patrols (装修巡查, issue #16): security or engineering staff walk the works.

A patrol is recorded (usually from the phone page) against a decoration whose permit is in
force: when, by whom, what was found, which violations (破坏承重墙, 违规动火, 噪音超时 …) and the
photos (attachments of the patrol, views/patrols.py). A violation is followed up as

* 限期整改: a deadline for the owner and contractor, shown on the decoration's page; or
* 申请扣押金: a deduction request from the contractor deposit, with the amount asked. Nothing
  moves money here: the deduction is made where every forfeit is, on the deposit, by finance
  with the approver's own login (R-DEP-2, R-REC-2), at the refund.

A decoration under works with no patrol in JOBS_DECORATION_PATROL_DAYS (default 7) days is
flagged by the sweep (jobs/overdue.py, rule decoration_patrol).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_babel import gettext
from peewee import JOIN, CharField, DateField, ForeignKeyField, TextField, Value, fn

from models.base import AwareDateTimeField, MoneyField, RuleError, utcnow, write_transaction
from models.decoration import Decoration
from models.i18n import L_
from models.register import RegisterModel, save_record
from models.users import User

# Works under way: the permit is issued and acceptance not passed yet.
PATROLLED_STATES = ("permitted", "defects")
DEFAULT_PATROL_DAYS = 7

VIOLATIONS = [
    ("load_wall", L_("破坏承重墙")),
    ("hot_work", L_("违规动火")),
    ("noise", L_("噪音超时")),
    ("debris", L_("装修垃圾乱堆")),
    ("facade", L_("擅改外立面/门窗")),
    ("pipes", L_("擅改水电燃气管线")),
    ("other", L_("其他违规")),
]
VIOLATION_LABELS = dict(VIOLATIONS)
FOLLOW_UPS = [("none", L_("无需处理")), ("rectify", L_("限期整改")),
              ("deduction", L_("申请扣押金"))]


class DecorationPatrol(RegisterModel):
    """One patrol of a decoration's works, with what was found."""

    decoration = ForeignKeyField(Decoration, backref="patrols", on_delete="RESTRICT",
                                 verbose_name=L_("装修申请"))
    patrolled_at = AwareDateTimeField(default=utcnow, index=True, verbose_name=L_("巡查时间"))
    patrolled_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                   verbose_name=L_("巡查人"))
    findings = TextField(verbose_name=L_("巡查情况"))
    # Codes of VIOLATIONS, comma-separated ("" when all was in order).
    violations = CharField(max_length=200, default="", verbose_name=L_("违规行为"))
    follow_up = CharField(max_length=16, choices=FOLLOW_UPS, default="none",
                          verbose_name=L_("处理"))
    rectify_by = DateField(null=True, verbose_name=L_("整改期限"))
    deduction_amount = MoneyField(null=True, verbose_name=L_("申请扣押金(元)"))

    class Meta:
        table_name = "decoration_patrol"
        # The decoration's patrols, newest first, and the sweep's "last patrol" question.
        indexes = ((("decoration", "patrolled_at"), False),)

    def __str__(self) -> str:
        return gettext("巡查 %(number)s", number=self.decoration.number
                       if self.decoration_id else "").strip()

    @property
    def violation_labels(self) -> list[str]:
        return [VIOLATION_LABELS.get(code, code) for code in self.violation_codes]

    @property
    def violation_codes(self) -> list[str]:
        return [code for code in (self.violations or "").split(",") if code]

    def validate(self):
        if not (self.findings or "").strip():
            yield "findings", gettext("请填写巡查情况")
        unknown = [c for c in self.violation_codes if c not in VIOLATION_LABELS]
        if unknown:
            yield "violations", gettext("违规行为选择无效")
        decoration = Decoration.get_or_none(Decoration.id == self.decoration_id)
        if decoration is None or decoration.estate_id != self.estate_id:
            yield "decoration", gettext("所选装修申请不属于该小区")
            return
        if self.id is None and (decoration.voided or decoration.state not in PATROLLED_STATES):
            yield "decoration", gettext("只有已发证、施工中的装修才需要巡查")
        if self.patrolled_at and self.patrolled_at > utcnow() + dt.timedelta(minutes=5):
            yield "patrolled_at", gettext("巡查时间不能晚于现在")
        if self.follow_up != "none" and not self.violation_codes:
            yield "follow_up", gettext("没有违规行为时无需整改或扣押金")
        if self.follow_up == "rectify" and not self.rectify_by:
            yield "rectify_by", gettext("限期整改须填写整改期限")
        if self.follow_up == "deduction":
            yield from self._deduction_problems(decoration)

    def _deduction_problems(self, decoration):
        amount = self.deduction_amount
        if amount is None or Decimal(amount) <= 0:
            yield "deduction_amount", gettext("申请扣押金须填写金额")
            return
        deposit = decoration.contractor_deposit
        if deposit is None or deposit.state not in ("held", "refundable"):
            yield "deduction_amount", gettext("该装修的装修押金未收取或已退，不能申请扣除")
        elif Decimal(amount) > deposit.amount:
            yield "deduction_amount", gettext("申请扣除金额不能超过装修押金 %(amount)s 元",
                                              amount=deposit.amount)


def record_patrol(user, decoration: Decoration, *, key: str = "", files=(), **values):
    """Record a patrol with its photos in one transaction, once per submission key."""
    from models.attachments import attach
    from models.field import Submission, remember

    values = {**values, "violations": ",".join(values.get("violations") or ())}
    with write_transaction():
        earlier = Submission.done(key, user)
        if earlier is not None:
            return DecorationPatrol.get_by_id(earlier.row_id)
        patrol = save_record(DecorationPatrol(estate=decoration.estate_id,
                                              decoration=decoration.id,
                                              patrolled_by=user.id, **values), user)
        for kind, checked in files:
            attach(patrol, user, kind, checked)
        remember(key, user, patrol, "patrol")
    return patrol


def patrol_missing(now: dt.datetime, days: int = DEFAULT_PATROL_DAYS):
    """Decorations under works (permit issued over `days` ago) with no patrol in `days` days."""
    since = now - dt.timedelta(days=days)
    recent = DecorationPatrol.select(Value(1)).where(
        DecorationPatrol.decoration == Decoration.id, DecorationPatrol.voided != True,  # noqa: E712
        DecorationPatrol.patrolled_at >= since)
    return Decoration.select().where(
        Decoration.voided != True, Decoration.state.in_(PATROLLED_STATES),  # noqa: E712
        Decoration.permit_issued_at < since, ~fn.EXISTS(recent))


def under_works(estate_ids):
    """Decorations to patrol in these estates, least recently patrolled first (with `last`)."""
    last = fn.MAX(DecorationPatrol.patrolled_at)
    return (Decoration.select(Decoration, last.alias("last_patrol"))
            .join(DecorationPatrol, JOIN.LEFT_OUTER,
                  on=((DecorationPatrol.decoration == Decoration.id)
                      & (DecorationPatrol.voided == False)))  # noqa: E712
            .where(Decoration.voided == False,  # noqa: E712
                   Decoration.state.in_(PATROLLED_STATES),
                   Decoration.estate.in_(list(estate_ids)))
            .group_by(Decoration.id)
            .order_by(fn.COALESCE(last, Decoration.permit_issued_at), Decoration.id))


def require_patrol_kind(user) -> None:
    """Security and engineering staff patrol; the desk and managers may record one too."""
    if user.role == "dept" and user.department not in ("security", "engineering"):
        raise RuleError({"": gettext("装修巡查由保安或工程人员登记")})
