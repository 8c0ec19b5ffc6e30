"""Decoration applications, permits and acceptance (装修申请/许可证/验收, R-PASS-4, R-DECO-1…3).

One row carries a decoration from the owner's application to the refund of the contractor's
deposit: application with a floor plan (the owner deposit 1,000 and contractor deposit 3,000 are
asked for at once) → within 3 working days of the application: the water-closure and pressure
tests (the pressure test may be skipped in the heating season) with the owner's confirmation,
the engineering supervisor's signature and the approval (corrected R-PASS-4 / R-DECO-2) → the
numbered permit → acceptance, which makes the owner deposit refundable at once and the
contractor deposit 3 months later. The steps live in `models.decoration_steps`; deadlines come
from `models.deadlines` and are stored on the row for plain indexed queries.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext
from peewee import (
    SQL,
    BooleanField,
    CharField,
    DateField,
    ForeignKeyField,
    TextField,
    fn,
)

from models import deadlines
from models.approvals import MANAGER, Approval
from models.attachments import Attachment, CheckedFile, attach, scans
from models.base import (
    AwareDateTimeField,
    PhoneField,
    to_office,
    utcnow,
)
from models.calendar import next_number
from models.decoration_steps import DecorationSteps, check_dates
from models.deposits import Deposit
from models.i18n import L_, N_
from models.org import Resident, Unit, _same_estate
from models.register import RegisterModel, StatefulMixin
from models.users import User

# R-PASS-4: approval within 3 working days of the application, the tests inside that window.
APPROVAL_WORKING_DAYS = 3

# The manual's order (corrected R-PASS-4 / R-DECO-2): tests, signature and approval inside the
# window, then the permit.
STATES = [
    ("applied", L_("待试验")),
    ("tested", L_("待工程签字")),
    ("signed", L_("待审批")),
    ("approved", L_("待发证")),
    ("permitted", L_("施工中")),
    ("defects", L_("验收整改中")),
    ("accepted", L_("已验收")),
    ("rejected", L_("未批准")),
]
STATE_LABELS = dict(STATES)
# A unit has at most one decoration on the go.
OPEN_STATES = ("applied", "tested", "signed", "approved", "permitted", "defects")
ACCEPTANCE_RESULTS = [("passed", L_("验收合格")), ("defects", L_("需整改"))]
# R-DECO-1: the application's floor plan is an attachment of the decoration register (a picture
# or a PDF scan), handed in with the application and replaced — a newer one added, the older
# kept — only until the permit is issued. The newest is the plan in force.
PLAN_STATES = ("applied", "tested", "signed", "approved")
FLOOR_PLAN = scans("floor_plan", L_("装修平面图"), permission="handle", states=PLAN_STATES,
                   closed_message=L_("许可证已发放，不能再更换装修平面图"))


# --- the register -----------------------------------------------------------------------------


def _describe_approval(row, values: dict) -> str:
    return f"{row.owner_name} / {row.contractor}，工期 {row.works_start} 至 {row.works_end}"


def _describe_dates(row, values: dict) -> str:
    return (f"工期 {row.works_start} 至 {row.works_end} 改为 {values.get('works_start')} 至 "
            f"{values.get('works_end')}，原因：{values.get('reason', '')}")


class Decoration(DecorationSteps, StatefulMixin, RegisterModel):
    """One decoration of a unit, from application to the contractor deposit's refund."""

    voided_message = N_("该装修申请已作废，不能再办理")
    # R-DECO-2, R-REC-2: a manager approves (a rejection records 不批准 on the row); changing
    # an approved decoration's planned dates is a re-approval (#11 item 5).
    approvals = {
        "approve": Approval("approve", "装修审批", rule=lambda row: MANAGER, reject="reject",
                            moment="approved_at", describe=_describe_approval),
        "change_dates": Approval("change_dates", "装修工期变更（重新审批）",
                                 rule=lambda row: MANAGER, check=check_dates,
                                 describe=_describe_dates),
    }

    number = CharField(max_length=20, default="", verbose_name=L_("申请编号"))
    unit = ForeignKeyField(Unit, backref="decorations", on_delete="RESTRICT",
                           verbose_name=L_("房屋"))
    owner = ForeignKeyField(Resident, null=True, backref="decorations", on_delete="RESTRICT",
                            verbose_name=L_("业主"),
                            help_text=L_("选择登记在册的业主，姓名电话自动带出"))
    owner_name = CharField(max_length=32, default="", verbose_name=L_("业主姓名"))
    owner_phone = PhoneField(default="", verbose_name=L_("业主电话"))
    contractor = CharField(max_length=64, verbose_name=L_("装修企业"))
    contractor_licence = CharField(max_length=64, default="", verbose_name=L_("资质/执照号"))
    contractor_contact = CharField(max_length=32, default="", verbose_name=L_("施工负责人"))
    contractor_phone = PhoneField(default="", verbose_name=L_("施工负责人电话"))
    plan_summary = TextField(verbose_name=L_("装修方案摘要"),
                             help_text=L_("主要项目：改水电、防水、墙地面、吊顶等"))
    works_start = DateField(verbose_name=L_("计划开工日期"))
    works_end = DateField(verbose_name=L_("计划完工日期"), help_text=L_("装修许可证有效至此日"))
    applied_at = AwareDateTimeField(default=utcnow, verbose_name=L_("申请时间"))
    approval_due = AwareDateTimeField(null=True, index=True, verbose_name=L_("审批期限"),
                                      help_text=L_("申请后 3 个工作日内审批（R-PASS-4）"))
    state = CharField(max_length=16, choices=STATES, default="applied", index=True,
                      verbose_name=L_("状态"))
    approved_at = AwareDateTimeField(null=True, verbose_name=L_("审批时间"))
    approved_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                  verbose_name=L_("审批人"))
    approval_note = CharField(max_length=200, default="", verbose_name=L_("审批意见"))
    tests_due = AwareDateTimeField(null=True, index=True, verbose_name=L_("试验期限"),
                                   help_text=L_("闭水、打压试验在申请后 3 个工作日的审批期内完成"))
    water_test_at = AwareDateTimeField(null=True, verbose_name=L_("闭水试验时间"))
    water_test_passed = BooleanField(null=True, verbose_name=L_("闭水合格"))
    pressure_test_at = AwareDateTimeField(null=True, verbose_name=L_("打压试验时间"))
    pressure_test_passed = BooleanField(null=True, verbose_name=L_("打压合格"))
    pressure_test_skipped = BooleanField(default=False, verbose_name=L_("供暖期免打压"))
    test_notes = CharField(max_length=200, default="", verbose_name=L_("试验说明"))
    owner_confirmed_name = CharField(max_length=32, default="", verbose_name=L_("业主确认签字"))
    owner_confirmed_at = AwareDateTimeField(null=True, verbose_name=L_("业主确认时间"))
    engineering_signed_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                            verbose_name=L_("工程主管签字"))
    engineering_signed_at = AwareDateTimeField(null=True, verbose_name=L_("工程签字时间"))
    permit_number = CharField(max_length=20, null=True, verbose_name=L_("许可证编号"))
    permit_issued_at = AwareDateTimeField(null=True, verbose_name=L_("发证时间"))
    permit_issued_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                       verbose_name=L_("发证人"))
    accepted_at = AwareDateTimeField(null=True, verbose_name=L_("验收时间"))
    accepted_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                  verbose_name=L_("验收人"))
    acceptance_result = CharField(max_length=16, null=True, choices=ACCEPTANCE_RESULTS,
                                  verbose_name=L_("验收结果"))
    defects = TextField(default="", verbose_name=L_("整改项目"))
    rectify_by = DateField(null=True, verbose_name=L_("整改期限"))
    owner_deposit = ForeignKeyField(Deposit, null=True, backref="+", on_delete="RESTRICT",
                                    verbose_name=L_("业主押金"))
    contractor_deposit = ForeignKeyField(Deposit, null=True, backref="+", on_delete="RESTRICT",
                                         verbose_name=L_("装修押金"))

    # The plan handed in with the application form, checked (models.attachments.check_file);
    # not a column: it is kept as the row's first FLOOR_PLAN attachment.
    floor_plan_file: CheckedFile | None = None

    class Meta:
        table_name = "decoration"
        indexes = (
            # Application and permit numbers each name one document of their estate.
            (("estate", "number"), True),
            (("estate", "permit_number"), True),
            (("estate", "state"), False),
            (("unit", "state"), False),
        )

    def __str__(self) -> str:
        unit = self.unit.code if self.unit_id else ""
        number = self.number or gettext("新装修申请")
        return f"{number} {unit} {self.contractor}".strip()

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    @property
    def pressure_result_label(self) -> str:
        if self.pressure_test_skipped:
            return "供暖期免做"
        return {True: L_("合格"), False: L_("不合格")}.get(self.pressure_test_passed, L_("未做"))

    # -- rules ---------------------------------------------------------------------------

    def validate(self):
        yield from _same_estate(self, "estate", ("unit",))
        if self.applied_at and self.applied_at > utcnow() + dt.timedelta(minutes=5):
            yield "applied_at", gettext("申请时间不能晚于现在")
        if self.owner_id:
            owner = Resident.get_or_none(Resident.id == self.owner_id)
            if owner is not None and self.unit_id and owner.unit_id != self.unit_id:
                yield "owner", gettext("所选业主不是该房屋的住户")
        if not self.owner_id and not (self.owner_name or "").strip():
            yield "owner_name", gettext("请选择业主或填写业主姓名")
        if self.works_start and self.works_end and self.works_end < self.works_start:
            yield "works_end", gettext("计划完工日期不能早于开工日期")
        elif self.id is not None and self.works_end:
            # Shortening the works must not leave worker passes valid beyond the permit. The
            # passes build on this module: they are reached through their backref, not imported.
            passes = self.worker_passes
            worker_pass = passes.model
            longest = (passes.select(fn.MAX(worker_pass.valid_to))
                       .where(worker_pass.state == "issued",
                              worker_pass.voided == False).scalar())  # noqa: E712
            if longest and self.works_end < longest:
                yield "works_end", (gettext("已有装修工人出入证有效至 %(longest)s，完工日期不能早"
                                            "于此日",
                                            longest=format(longest, '%Y-%m-%d')))
        if self.id is None:
            if self.floor_plan_file is None:
                yield "floor_plan_upload", gettext("请上传装修平面图（R-DECO-1）")
            if self.unit_id and Decoration.live().where(
                    Decoration.unit == self.unit_id,
                    Decoration.state.in_(OPEN_STATES)).exists():
                yield "unit", gettext("该房屋已有一份未完结的装修申请，请在原申请上办理")

    # -- lifecycle -------------------------------------------------------------------------

    def before_create(self, user) -> None:
        applied = to_office(self.applied_at or utcnow())
        self.number = next_number(self.estate_id, "ZX", applied.year)
        self.approval_due = deadlines.add_working_days(applied, APPROVAL_WORKING_DAYS,
                                                       self.estate_id)
        # The tests happen inside the same window, not after the approval (R-PASS-4).
        self.tests_due = self.approval_due
        if self.owner_id:
            owner = Resident.get_by_id(self.owner_id)
            self.owner_name = self.owner_name or owner.name
            self.owner_phone = self.owner_phone or owner.phone
        # R-DECO-1: the application asks for both deposits; finance collects them.
        unit = Unit.get_by_id(self.unit_id).code
        self.owner_deposit = Deposit.ask(
            user, estate_id=self.estate_id, kind="owner_deco", payer=self.owner_name,
            payer_phone=self.owner_phone, purpose=f"装修申请 {self.number}（{unit}）业主押金").id
        self.contractor_deposit = Deposit.ask(
            user, estate_id=self.estate_id, kind="contractor_deco", payer=self.contractor,
            payer_phone=self.contractor_phone,
            purpose=f"装修申请 {self.number}（{unit}）装修押金").id

    def before_update(self) -> None:
        self.refuse_frozen_dates()

    def after_create(self, user) -> None:
        # Inside the row's transaction: a store that refuses the file (StorageError) undoes the
        # application, so no application is ever saved without its plan.
        attach(self, user, FLOOR_PLAN, self.floor_plan_file)

    def floor_plan(self) -> Attachment | None:
        """The plan in force: the newest floor-plan attachment (R-DECO-1), or None."""
        return (Attachment.of(self, (FLOOR_PLAN.name,))
                .order_by(Attachment.created_at.desc(), Attachment.id.desc()).first())


# The grid's default order (newest application first) and its state filter, stopped after the
# page (migration 025, #14).
Decoration.add_index(Decoration.index(Decoration.voided, Decoration.applied_at,
                                      name="decoration_list_order"))
Decoration.add_index(Decoration.index(Decoration.voided, Decoration.state, Decoration.applied_at,
                                      name="decoration_state_order"))
# A deposit's page names the decoration it belongs to (views.deposits linked_record): among the
# decorations that have a deposit. Most have none, and ANALYZE (the db_statistics job) rates
# the plain indexes at every row, so SQLite scanned every decoration (migration 032, #14).
Decoration.add_index(Decoration.index(Decoration.owner_deposit, name="decoration_owner_deposit",
                                      where=SQL("owner_deposit_id IS NOT NULL")))
Decoration.add_index(Decoration.index(Decoration.contractor_deposit,
                                      name="decoration_contractor_deposit",
                                      where=SQL("contractor_deposit_id IS NOT NULL")))
# The grid sorted by 计划完工日期 (the permit's end), stopped after the page (migration 033, #14).
Decoration.add_index(Decoration.index(Decoration.voided, Decoration.works_end,
                                      name="decoration_works_end_order"))
