"""A decoration's steps in the manual's order (corrected R-PASS-4, R-DECO-1…3, R-REC-2/4).

Within the 3 working days counted from the application: the water-closure and pressure tests
(the pressure test may be skipped in the heating season) with the owner's confirmation, the
engineering supervisor's signature (工程主管: `supervises(user, "engineering")`, not any
engineer), and the approval by a manager — given in the approver's own login or at the desk
(`models.approvals`). Only then the numbered permit, once both deposits are paid; acceptance
releases the owner deposit at once and the contractor deposit 3 months later (R-DECO-3,
unchanged). Changing a permitted decoration's planned dates is a re-approval.

`DecorationSteps` is mixed into `models.decoration.Decoration` (the register's fields and its
application live there); the queries the views and the overdue sweep share are here too.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext

from models import deadlines
from models.approvals import Grant, not_before_grant, request, require_grant, settle
from models.base import (
    RuleError,
    check_moment,
    office_day,
    to_office,
    utcnow,
    write_transaction,
)
from models.calendar import next_number
from models.deposits import Deposit
from models.heating import in_heating_season
from models.notify_owner import on_decoration_decided
from models.org import Unit
from models.steps import gather
from models.users import User, is_manager, supervises

CONTRACTOR_HOLD_MONTHS = 3  # R-DECO-3: hidden defects show within 3 months
# The approval's window, in which the tests and the signature also happen (R-PASS-4).
BEFORE_APPROVAL = ("applied", "tested", "signed")
# Approved: its planned dates change only by a re-approval (#11 item 5).
APPROVED_STATES = ("approved", "permitted", "defects", "accepted")


def check_dates(row, values: dict) -> None:
    """The new planned dates of a re-approval, checked before the request is queued."""
    start, end = values.get("works_start"), values.get("works_end")
    errors = {}
    if start is None:
        errors["works_start"] = gettext("请填写计划开工日期")
    if end is None:
        errors["works_end"] = gettext("请填写计划完工日期")
    elif start is not None and end < start:
        errors["works_end"] = gettext("计划完工日期不能早于开工日期")
    elif (start, end) == (row.works_start, row.works_end):
        errors["works_end"] = gettext("工期没有变化")
    if not (values.get("reason") or "").strip():
        errors["reason"] = gettext("请填写变更工期的原因")
    if errors:
        raise RuleError(errors)


class DecorationSteps:
    """The state changes of a decoration, from its tests to its acceptance."""

    def record_tests(self, user, *, water_passed: bool | None, pressure_passed: bool | None,
                     skip_pressure: bool = False, owner_confirmed_name: str = "",
                     tested_at: dt.datetime | None = None, notes: str = "",
                     heating_season: str | None = None,
                     expected_version: int | None = None) -> None:
        """闭水/打压 within the approval window: results and the owner's signature (R-PASS-4)."""
        self.require_state(("applied",), gettext("当前状态为“{state}”，不能登记试验结果"))
        errors = {}
        tested_at = gather(errors, check_moment, tested_at, field_name="tested_at",
                           label=gettext("试验时间"), not_before=self.applied_at,
                           before_label=gettext("申请时间"))
        if water_passed is None:
            errors["water_passed"] = gettext("请登记闭水试验结果")
        if skip_pressure:
            if tested_at is not None \
                    and not in_heating_season(office_day(tested_at), heating_season):
                errors["skip_pressure"] = gettext("非供暖期必须做打压试验，不能免做")
        elif pressure_passed is None:
            errors["pressure_passed"] = gettext("请登记打压试验结果（供暖期可勾选免做）")
        passed = bool(water_passed) and (skip_pressure or bool(pressure_passed))
        owner_confirmed_name = (owner_confirmed_name or "").strip()
        if passed and not owner_confirmed_name:
            errors["owner_confirmed_name"] = gettext("试验合格须由业主确认签字，请填写签字业主姓名")
        if errors:
            raise RuleError(errors)
        self.transition(
            user, "tested" if passed else "applied", expected_version=expected_version,
            water_test_at=tested_at, water_test_passed=bool(water_passed),
            pressure_test_at=None if skip_pressure else tested_at,
            pressure_test_passed=None if skip_pressure else bool(pressure_passed),
            pressure_test_skipped=bool(skip_pressure), test_notes=notes[:200],
            owner_confirmed_name=owner_confirmed_name[:32] if passed else "",
            owner_confirmed_at=tested_at if passed else None)

    def engineering_sign(self, user, *, signed_at: dt.datetime | None = None,
                         expected_version: int | None = None) -> None:
        """工程主管签字 on the passed tests (R-DECO-2, R-REC-4); the application then waits in
        the approvers' queue (R-REC-2)."""
        self.require_state(("tested",), gettext("当前状态为“{state}”，不能工程签字"))
        if not supervises(user, "engineering"):
            raise RuleError({"": gettext(
                "只有工程主管（工程维修部的部门主管）可以在试验结果上签字")})
        signed_at = check_moment(signed_at, field_name="signed_at", label=gettext("签字时间"),
                                 not_before=self.owner_confirmed_at,
                                 before_label=gettext("业主确认时间"))
        # A decoration approved before the corrected order (legacy rows) needs no second one.
        approved = self.approved_at is not None
        with write_transaction():
            self.transition(user, "approved" if approved else "signed",
                            expected_version=expected_version,
                            engineering_signed_by=user.id, engineering_signed_at=signed_at)
            if not approved:
                requester = User.get_or_none(User.id == self.created_by_id) or user
                request(self, "approve", requester)

    def approve(self, user, *, grant: Grant | None = None, note: str = "",
                approved_at: dt.datetime | None = None,
                expected_version: int | None = None) -> None:
        """审批 by a manager in their own login or at the desk, after the tests and the
        engineering signature, within the window (R-PASS-4, R-REC-2)."""
        self.require_state(("signed",),
                           gettext("当前状态为“{state}”，不能审批（须先完成闭水/打压试验并经工程主"
                                   "管签字）"))
        if self.floor_plan() is None:
            # R-DECO-1: no approval of an application without its floor plan (a row carried
            # over from before attachments whose plan file was missing).
            raise RuleError({"": gettext("该申请没有装修平面图（R-DECO-1），"
                                         "请先在“附件”中上传平面图再审批")})
        approver = require_grant(self, "approve", grant)
        approved_at = check_moment(not_before_grant(approved_at, grant),
                                   field_name="approved_at", label=gettext("审批时间"),
                                   not_before=self.engineering_signed_at,
                                   before_label=gettext("工程签字时间"))
        with write_transaction():
            self.transition(user, "approved", expected_version=expected_version,
                            approved_at=approved_at, approved_by=approver.id,
                            approval_note=(note or "")[:200])
            on_decoration_decided(self, approved=True)  # the owner is told (#17)

    def reject(self, user, *, note: str, expected_version: int | None = None) -> None:
        """不批准 by a manager: deposits never collected are dropped, collected ones become
        refundable; a pending approval request is closed with the reason."""
        self.require_state(BEFORE_APPROVAL, gettext("当前状态为“{state}”，不能驳回"))
        if not is_manager(user):
            raise RuleError({"": gettext("装修申请须由客服主管或管理处主任审批")})
        if not (note or "").strip():
            raise RuleError({"note": gettext("不批准时请填写原因")})
        with write_transaction():
            settle(self, "approve", user, "rejected", note)
            self.transition(user, "rejected", expected_version=expected_version,
                            approved_at=utcnow(), approved_by=user.id, approval_note=note[:200])
            on_decoration_decided(self, approved=False)  # the owner is told why (#17)
            for deposit in self.deposits():
                if deposit.state in ("due", "held"):
                    deposit.make_refundable(user, note=f"装修申请 {self.number} 未批准")

    def change_dates(self, user, *, works_start: dt.date, works_end: dt.date, reason: str,
                     grant: Grant | None = None, expected_version: int | None = None) -> None:
        """更改工期 of an approved decoration: a re-approval by a manager (#11 item 5)."""
        self.require_state(APPROVED_STATES[:3], gettext("当前状态为“{state}”，不能变更工期"))
        check_dates(self, {"works_start": works_start, "works_end": works_end,
                           "reason": reason})
        approver = require_grant(self, "change_dates", grant)
        self._reapproved = True  # the frozen dates may change in this one save
        try:
            self.transition(user, expected_version=expected_version, works_start=works_start,
                            works_end=works_end,
                            approval_note=f"{to_office(grant.at):%Y-%m-%d} 工期变更经"
                                          f"{approver.display_name}批准：{reason.strip()}"[:200])
        finally:
            self._reapproved = False

    def refuse_frozen_dates(self) -> None:
        """Called before an update: an approved decoration's dates change only by re-approval."""
        if self._pk is None or getattr(self, "_reapproved", False):
            return
        stored = type(self).get_or_none(type(self).id == self._pk)
        if stored is None or stored.state not in APPROVED_STATES:
            return
        for name in ("works_start", "works_end"):
            if getattr(stored, name) != getattr(self, name):
                raise RuleError({name: gettext("已批准的装修变更计划工期须重新审批，请使用“变更工"
                                               "期（重新审批）”")})

    def issue_permit(self, user, *, issued_at: dt.datetime | None = None,
                     expected_version: int | None = None) -> str:
        """Issue the numbered permit, only after the approval and once both deposits are
        collected (R-PASS-4, R-DECO-1)."""
        self.require_state(("approved",), gettext("当前状态为“{state}”，不能发放装修许可证"))
        unpaid = [d.kind_label for d in self.deposits() if d.state == "due"]
        if unpaid:
            raise RuleError({"": gettext("%(unpaid)s 尚未到财务交纳，不能发证",
                                         unpaid="、".join(map(str, unpaid)))})
        issued_at = check_moment(issued_at, field_name="issued_at", label=gettext("发证时间"),
                                 not_before=max(self.engineering_signed_at, self.approved_at),
                                 before_label=gettext("审批时间"))
        if office_day(issued_at) > self.works_end:
            raise RuleError({"": gettext("计划完工日期已过，请先变更计划工期（须重新审批）")})
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
        self.require_state(("permitted", "defects"), gettext("当前状态为“{state}”，不能验收"))
        if not is_manager(user):
            raise RuleError({"": gettext("装修验收须由装修审批人员（客服主管或管理处主任）进行")})
        accepted_at = check_moment(accepted_at, field_name="accepted_at", label=gettext("验收时间"),
                                   not_before=self.permit_issued_at,
                                   before_label=gettext("发证时间"))
        day = office_day(accepted_at)
        if not passed:
            errors = {}
            if not (defects or "").strip():
                errors["defects"] = gettext("验收不合格时请列出整改项目")
            if rectify_by is None:
                errors["rectify_by"] = gettext("请填写整改期限")
            elif rectify_by < day:
                errors["rectify_by"] = gettext("整改期限不能早于验收日期")
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
    def permit_for_unit(cls, unit_id: int):
        """The unit's decoration whose permit is in force (issued, not yet accepted)."""
        return cls.live().where(cls.unit == unit_id,
                                cls.state.in_(("permitted", "defects"))).first()

    @classmethod
    def approval_overdue(cls, now: dt.datetime):
        """Not approved within 3 working days of the application (R-PASS-4)."""
        return cls.live().where(cls.state.in_(BEFORE_APPROVAL), cls.approval_due < now)

    @classmethod
    def tests_overdue(cls, now: dt.datetime):
        """Tests not passed within the same window (corrected R-PASS-4: not after approval)."""
        return cls.live().where(cls.state == "applied", cls.tests_due < now)

    @classmethod
    def acceptance_pending(cls, now: dt.datetime):
        """Works past their planned end and not accepted, or defects past their deadline."""
        today = office_day(now)
        return cls.live().where(
            ((cls.state == "permitted") & (cls.works_end < today))
            | ((cls.state == "defects") & (cls.rectify_by < today)))
