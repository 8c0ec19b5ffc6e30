"""Decoration applications, permits and acceptance (装修申请/许可证/验收, R-PASS-4, R-DECO-1…3).

One row carries a decoration from the owner's application to the refund of the contractor's
deposit: application with a floor plan (the owner deposit 1,000 and contractor deposit 3,000 are
asked for at once) → approval within 3 working days → water-closure and pressure tests within 3
days of approval (the pressure test may be skipped in the heating season) with the owner's
confirmation → the engineering supervisor's signature → the numbered permit → acceptance, which
makes the owner deposit refundable at once and the contractor deposit 3 months later.
Deadlines come from `models.deadlines` and are stored on the row for plain indexed queries.
"""

from __future__ import annotations

import datetime as dt

from peewee import (
    BooleanField,
    CharField,
    DateField,
    ForeignKeyField,
    IntegerField,
    TextField,
    fn,
)

from models import deadlines
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
from models.deposits import Deposit
from models.floor_plans import Upload, floor_plan_folder, stored_plan_path
from models.heating import in_heating_season
from models.org import Resident, Unit, _same_estate
from models.register import RegisterModel, StatefulMixin
from models.users import User, is_manager, supervises

APPROVAL_WORKING_DAYS = 3  # R-PASS-4: approval within 3 working days of the application
TESTS_DAYS = 3  # R-PASS-4: tests within 3 days after approval
CONTRACTOR_HOLD_MONTHS = 3  # R-DECO-3: hidden defects show within 3 months

STATES = [
    ("applied", "待审批"),
    ("approved", "待试验"),
    ("tested", "待工程签字"),
    ("signed", "待发证"),
    ("permitted", "施工中"),
    ("defects", "验收整改中"),
    ("accepted", "已验收"),
    ("rejected", "未批准"),
]
STATE_LABELS = dict(STATES)
# A unit has at most one decoration on the go.
OPEN_STATES = ("applied", "approved", "tested", "signed", "permitted", "defects")
ACCEPTANCE_RESULTS = [("passed", "验收合格"), ("defects", "需整改")]


# --- the register -----------------------------------------------------------------------------


class Decoration(StatefulMixin, RegisterModel):
    """One decoration of a unit, from application to the contractor deposit's refund."""

    voided_message = "该装修申请已作废，不能再办理"

    number = CharField(max_length=20, default="", verbose_name="申请编号")
    unit = ForeignKeyField(Unit, backref="decorations", on_delete="RESTRICT", verbose_name="房屋")
    owner = ForeignKeyField(Resident, null=True, backref="decorations", on_delete="RESTRICT",
                            verbose_name="业主", help_text="选择登记在册的业主，姓名电话自动带出")
    owner_name = CharField(max_length=32, default="", verbose_name="业主姓名")
    owner_phone = PhoneField(default="", verbose_name="业主电话")
    contractor = CharField(max_length=64, verbose_name="装修企业")
    contractor_licence = CharField(max_length=64, default="", verbose_name="资质/执照号")
    contractor_contact = CharField(max_length=32, default="", verbose_name="施工负责人")
    contractor_phone = PhoneField(default="", verbose_name="施工负责人电话")
    plan_summary = TextField(verbose_name="装修方案摘要",
                             help_text="主要项目：改水电、防水、墙地面、吊顶等")
    works_start = DateField(verbose_name="计划开工日期")
    works_end = DateField(verbose_name="计划完工日期", help_text="装修许可证有效至此日")
    floor_plan = CharField(max_length=128, default="", verbose_name="平面图")
    floor_plan_name = CharField(max_length=128, default="", verbose_name="平面图原文件名")
    floor_plan_type = CharField(max_length=32, default="", verbose_name="平面图类型")
    floor_plan_size = IntegerField(default=0, verbose_name="平面图大小(字节)")
    applied_at = AwareDateTimeField(default=utcnow, verbose_name="申请时间")
    approval_due = AwareDateTimeField(null=True, index=True, verbose_name="审批期限",
                                      help_text="申请后 3 个工作日内审批（R-PASS-4）")
    state = CharField(max_length=16, choices=STATES, default="applied", index=True,
                      verbose_name="状态")
    approved_at = AwareDateTimeField(null=True, verbose_name="审批时间")
    approved_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                  verbose_name="审批人")
    approval_note = CharField(max_length=200, default="", verbose_name="审批意见")
    tests_due = AwareDateTimeField(null=True, index=True, verbose_name="试验期限",
                                   help_text="审批后 3 日内完成闭水、打压试验")
    water_test_at = AwareDateTimeField(null=True, verbose_name="闭水试验时间")
    water_test_passed = BooleanField(null=True, verbose_name="闭水合格")
    pressure_test_at = AwareDateTimeField(null=True, verbose_name="打压试验时间")
    pressure_test_passed = BooleanField(null=True, verbose_name="打压合格")
    pressure_test_skipped = BooleanField(default=False, verbose_name="供暖期免打压")
    test_notes = CharField(max_length=200, default="", verbose_name="试验说明")
    owner_confirmed_name = CharField(max_length=32, default="", verbose_name="业主确认签字")
    owner_confirmed_at = AwareDateTimeField(null=True, verbose_name="业主确认时间")
    engineering_signed_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                            verbose_name="工程主管签字")
    engineering_signed_at = AwareDateTimeField(null=True, verbose_name="工程签字时间")
    permit_number = CharField(max_length=20, null=True, verbose_name="许可证编号")
    permit_issued_at = AwareDateTimeField(null=True, verbose_name="发证时间")
    permit_issued_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                       verbose_name="发证人")
    accepted_at = AwareDateTimeField(null=True, verbose_name="验收时间")
    accepted_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                  verbose_name="验收人")
    acceptance_result = CharField(max_length=16, null=True, choices=ACCEPTANCE_RESULTS,
                                  verbose_name="验收结果")
    defects = TextField(default="", verbose_name="整改项目")
    rectify_by = DateField(null=True, verbose_name="整改期限")
    owner_deposit = ForeignKeyField(Deposit, null=True, backref="+", on_delete="RESTRICT",
                                    verbose_name="业主押金")
    contractor_deposit = ForeignKeyField(Deposit, null=True, backref="+", on_delete="RESTRICT",
                                         verbose_name="装修押金")

    # The plan handed in with the application form (not a column: its bytes go to a file).
    floor_plan_upload: Upload | None = None

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
        return f"{self.number or '新装修申请'} {unit} {self.contractor}".strip()

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    @property
    def pressure_result_label(self) -> str:
        if self.pressure_test_skipped:
            return "供暖期免做"
        return {True: "合格", False: "不合格"}.get(self.pressure_test_passed, "未做")

    # -- rules ---------------------------------------------------------------------------

    def validate(self):
        yield from _same_estate(self, "estate", ("unit",))
        if self.applied_at and self.applied_at > utcnow() + dt.timedelta(minutes=5):
            yield "applied_at", "申请时间不能晚于现在"
        if self.owner_id:
            owner = Resident.get_or_none(Resident.id == self.owner_id)
            if owner is not None and self.unit_id and owner.unit_id != self.unit_id:
                yield "owner", "所选业主不是该房屋的住户"
        if not self.owner_id and not (self.owner_name or "").strip():
            yield "owner_name", "请选择业主或填写业主姓名"
        if self.works_start and self.works_end and self.works_end < self.works_start:
            yield "works_end", "计划完工日期不能早于开工日期"
        elif self.id is not None and self.works_end:
            # Shortening the works must not leave worker passes valid beyond the permit. The
            # passes build on this module: they are reached through their backref, not imported.
            passes = self.worker_passes
            worker_pass = passes.model
            longest = (passes.select(fn.MAX(worker_pass.valid_to))
                       .where(worker_pass.state == "issued",
                              worker_pass.voided == False).scalar())  # noqa: E712
            if longest and self.works_end < longest:
                yield "works_end", (f"已有装修工人出入证有效至 {longest:%Y-%m-%d}，"
                                    "完工日期不能早于此日")
        if self.id is None:
            if self.floor_plan_upload is None:
                yield "floor_plan_upload", "请上传装修平面图（R-DECO-1）"
            else:
                problem = self.floor_plan_upload.problem()
                if problem:
                    yield "floor_plan_upload", problem
            if self.unit_id and Decoration.live().where(
                    Decoration.unit == self.unit_id,
                    Decoration.state.in_(OPEN_STATES)).exists():
                yield "unit", "该房屋已有一份未完结的装修申请，请在原申请上办理"

    # -- lifecycle -------------------------------------------------------------------------

    def before_create(self, user) -> None:
        applied = to_office(self.applied_at or utcnow())
        self.number = next_number(self.estate_id, "ZX", applied.year)
        self.approval_due = deadlines.add_working_days(applied, APPROVAL_WORKING_DAYS,
                                                       self.estate_id)
        if self.owner_id:
            owner = Resident.get_by_id(self.owner_id)
            self.owner_name = self.owner_name or owner.name
            self.owner_phone = self.owner_phone or owner.phone
        for name, value in self.floor_plan_upload.plan_fields(self.estate_id).items():
            setattr(self, name, value)
        # R-DECO-1: the application asks for both deposits; finance collects them.
        unit = Unit.get_by_id(self.unit_id).code
        self.owner_deposit = Deposit.ask(
            user, estate_id=self.estate_id, kind="owner_deco", payer=self.owner_name,
            payer_phone=self.owner_phone, purpose=f"装修申请 {self.number}（{unit}）业主押金").id
        self.contractor_deposit = Deposit.ask(
            user, estate_id=self.estate_id, kind="contractor_deco", payer=self.contractor,
            payer_phone=self.contractor_phone,
            purpose=f"装修申请 {self.number}（{unit}）装修押金").id

    def after_create(self, user) -> None:
        # Written inside the row's transaction: an unwritable file undoes the application.
        self.floor_plan_upload.write(self.floor_plan)

    def floor_plan_path(self, folder: str | None = None) -> str | None:
        """The stored plan's path (in `folder`, the app's plan folder by default), if any."""
        return stored_plan_path(self.floor_plan, folder or floor_plan_folder())

    def replace_floor_plan(self, user, upload: Upload | None, *,
                           expected_version: int | None = None) -> None:
        """Hand in a corrected plan before the permit is issued."""
        self.require_state(("applied", "approved", "tested", "signed"),
                           "许可证已发放，不能再更换平面图")
        problem = upload.problem() if upload is not None else "请选择平面图文件"
        if problem:
            raise RuleError({"floor_plan_upload": problem})
        self.floor_plan_upload = upload
        with write_transaction():
            self.transition(user, expected_version=expected_version,
                            **upload.plan_fields(self.estate_id))
            upload.write(self.floor_plan)

    # -- state changes ---------------------------------------------------------------------------

    def approve(self, user, *, note: str = "", approved_at: dt.datetime | None = None,
                expected_version: int | None = None) -> None:
        """审批: the plan is approved; the tests fall due within 3 days (R-PASS-4)."""
        self.require_state(("applied",), "当前状态为“{state}”，不能审批")
        if not is_manager(user):
            raise RuleError({"": "装修申请须由客服主管或管理处主任审批"})
        approved_at = check_moment(approved_at, field_name="approved_at", label="审批时间",
                                   not_before=self.applied_at, before_label="申请时间")
        self.transition(user, "approved", expected_version=expected_version,
                        approved_at=approved_at, approved_by=user.id, approval_note=note[:200],
                        tests_due=deadlines.add_days(to_office(approved_at), TESTS_DAYS))

    def reject(self, user, *, note: str, expected_version: int | None = None) -> None:
        """Not approved: deposits never collected are dropped, collected ones become refundable."""
        self.require_state(("applied",), "当前状态为“{state}”，不能驳回")
        if not is_manager(user):
            raise RuleError({"": "装修申请须由客服主管或管理处主任审批"})
        if not (note or "").strip():
            raise RuleError({"note": "不批准时请填写原因"})
        with write_transaction():
            self.transition(user, "rejected", expected_version=expected_version,
                            approved_at=utcnow(), approved_by=user.id, approval_note=note[:200])
            for deposit in self.deposits():
                if deposit.state in ("due", "held"):
                    deposit.make_refundable(user, note=f"装修申请 {self.number} 未批准")

    def record_tests(self, user, *, water_passed: bool | None, pressure_passed: bool | None,
                     skip_pressure: bool = False, owner_confirmed_name: str = "",
                     tested_at: dt.datetime | None = None, notes: str = "",
                     heating_season: str | None = None,
                     expected_version: int | None = None) -> None:
        """闭水/打压: results and the owner's signature; all passed moves on to engineering."""
        self.require_state(("approved",), "当前状态为“{state}”，不能登记试验结果")
        tested_at = check_moment(tested_at, field_name="tested_at", label="试验时间",
                                 not_before=self.approved_at, before_label="审批时间")
        errors = {}
        if water_passed is None:
            errors["water_passed"] = "请登记闭水试验结果"
        if skip_pressure:
            if not in_heating_season(office_day(tested_at), heating_season):
                errors["skip_pressure"] = "非供暖期必须做打压试验，不能免做"
        elif pressure_passed is None:
            errors["pressure_passed"] = "请登记打压试验结果（供暖期可勾选免做）"
        passed = bool(water_passed) and (skip_pressure or bool(pressure_passed))
        owner_confirmed_name = (owner_confirmed_name or "").strip()
        if passed and not owner_confirmed_name:
            errors["owner_confirmed_name"] = "试验合格须由业主确认签字，请填写签字业主姓名"
        if errors:
            raise RuleError(errors)
        self.transition(
            user, "tested" if passed else "approved", expected_version=expected_version,
            water_test_at=tested_at, water_test_passed=bool(water_passed),
            pressure_test_at=None if skip_pressure else tested_at,
            pressure_test_passed=None if skip_pressure else bool(pressure_passed),
            pressure_test_skipped=bool(skip_pressure), test_notes=notes[:200],
            owner_confirmed_name=owner_confirmed_name[:32] if passed else "",
            owner_confirmed_at=tested_at if passed else None)

    def engineering_sign(self, user, *, signed_at: dt.datetime | None = None,
                         expected_version: int | None = None) -> None:
        """工程主管签字 on the passed tests (R-DECO-2)."""
        self.require_state(("tested",), "当前状态为“{state}”，不能工程签字")
        if not supervises(user, "engineering"):  # 工程主管, not any technician (R-REC-4)
            raise RuleError({"": "只有工程部主管可以在试验结果上签字"})
        signed_at = check_moment(signed_at, field_name="signed_at", label="签字时间",
                                 not_before=self.owner_confirmed_at, before_label="业主确认时间")
        self.transition(user, "signed", expected_version=expected_version,
                        engineering_signed_by=user.id, engineering_signed_at=signed_at)

    def issue_permit(self, user, *, issued_at: dt.datetime | None = None,
                     expected_version: int | None = None) -> str:
        """Issue the numbered permit, once both deposits are collected (R-PASS-4, R-DECO-1)."""
        self.require_state(("signed",), "当前状态为“{state}”，不能发放装修许可证")
        unpaid = [d.kind_label for d in self.deposits() if d.state == "due"]
        if unpaid:
            raise RuleError({"": "、".join(unpaid) + " 尚未到财务交纳，不能发证"})
        issued_at = check_moment(issued_at, field_name="issued_at", label="发证时间",
                                 not_before=self.engineering_signed_at,
                                 before_label="工程签字时间")
        if office_day(issued_at) > self.works_end:
            raise RuleError({"": "计划完工日期已过，请先修改计划工期"})
        with write_transaction():
            number = next_number(self.estate_id, "XK", to_office(issued_at).year)
            self.transition(user, "permitted", expected_version=expected_version,
                            permit_number=number, permit_issued_at=issued_at,
                            permit_issued_by=user.id)
            Unit.update(state="decorating").where(Unit.id == self.unit_id).execute()
        return number

    def accept(self, user, *, passed: bool, defects: str = "", rectify_by: dt.date | None = None,
               accepted_at: dt.datetime | None = None,
               expected_version: int | None = None) -> None:
        """验收 by the approving staff; passing releases the deposits on their dates (R-DECO-3)."""
        self.require_state(("permitted", "defects"), "当前状态为“{state}”，不能验收")
        if not is_manager(user):
            raise RuleError({"": "装修验收须由装修审批人员（客服主管或管理处主任）进行"})
        accepted_at = check_moment(accepted_at, field_name="accepted_at", label="验收时间",
                                   not_before=self.permit_issued_at, before_label="发证时间")
        day = office_day(accepted_at)
        if not passed:
            errors = {}
            if not (defects or "").strip():
                errors["defects"] = "验收不合格时请列出整改项目"
            if rectify_by is None:
                errors["rectify_by"] = "请填写整改期限"
            elif rectify_by < day:
                errors["rectify_by"] = "整改期限不能早于验收日期"
            if errors:
                raise RuleError(errors)
            self.transition(user, "defects", expected_version=expected_version,
                            accepted_at=accepted_at, accepted_by=user.id,
                            acceptance_result="defects", defects=defects.strip(),
                            rectify_by=rectify_by)
            return
        with write_transaction():
            self.transition(user, "accepted", expected_version=expected_version,
                            accepted_at=accepted_at, accepted_by=user.id,
                            acceptance_result="passed", rectify_by=None)
            owner, contractor = self.owner_deposit, self.contractor_deposit
            if owner is not None and owner.state == "held":
                owner.make_refundable(user, on=day, note=f"装修 {self.number} 验收合格")
            if contractor is not None and contractor.state == "held":
                contractor.make_refundable(
                    user, on=deadlines.add_months(day, CONTRACTOR_HOLD_MONTHS),
                    note=f"装修 {self.number} 验收合格，满 3 个月后退还")
            Unit.update(state="occupied").where(Unit.id == self.unit_id,
                                                Unit.state == "decorating").execute()

    def deposits(self) -> list[Deposit]:
        ids = [i for i in (self.owner_deposit_id, self.contractor_deposit_id) if i]
        return list(Deposit.select().where(Deposit.id.in_(ids)).order_by(Deposit.id))

    # -- queries the views and the nightly job share -------------------------------------------

    @classmethod
    def live(cls):
        return cls.select().where(cls.voided == False)  # noqa: E712

    @classmethod
    def permit_for_unit(cls, unit_id: int) -> Decoration | None:
        """The unit's decoration whose permit is in force (issued, not yet accepted)."""
        return cls.live().where(cls.unit == unit_id,
                                cls.state.in_(("permitted", "defects"))).first()

    @classmethod
    def approval_overdue(cls, now: dt.datetime):
        """Applications not approved within 3 working days (R-PASS-4)."""
        return cls.live().where(cls.state == "applied", cls.approval_due < now)

    @classmethod
    def tests_overdue(cls, now: dt.datetime):
        """Approved, tests not passed and signed off within 3 days of approval (R-PASS-4)."""
        return cls.live().where(cls.state == "approved", cls.tests_due < now)

    @classmethod
    def acceptance_pending(cls, now: dt.datetime):
        """Works past their planned end and not accepted, or defects past their deadline."""
        today = office_day(now)
        return cls.live().where(
            ((cls.state == "permitted") & (cls.works_end < today))
            | ((cls.state == "defects") & (cls.rectify_by < today)))
