"""Decoration, the register's rules: application with its floor plan → tests and the 工程主管's
signature and the approval inside the 3-working-day window → permit → acceptance → the deposits'
refunds (corrected R-PASS-4, R-DECO-1…3, R-REC-2, #11 item 9), at every boundary (#4)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest
from decoration_support import (
    EXE,
    PNG,
    SHANGHAI,
    apply,
    approve,
    at,
    files_context,
    make_staff,
    to_permit,
    to_signed,
)

from models import approvals
from models.attachments import Attachment
from models.base import RuleError, utcnow
from models.decoration import Decoration
from models.deposits import Deposit
from models.heating import in_heating_season
from models.org import Unit
from models.register import save_record
from models.storage import storage


@pytest.fixture
def staff(conn, estate):
    return make_staff(estate)



# -- application ---------------------------------------------------------------------------


def test_application_numbers_and_asks_for_both_deposits(conn, estate, staff, tmp_path):
    decoration = apply(estate, staff["clerk"], tmp_path)
    assert re.fullmatch(r"ZX-\d{4}-00001", decoration.number)
    assert decoration.owner_name == "业主101" and decoration.state == "applied"
    owner, contractor = decoration.deposits()
    assert (owner.kind, owner.amount, owner.state, owner.payer) == (
        "owner_deco", Decimal("1000.00"), "due", "业主101")
    assert (contractor.kind, contractor.amount, contractor.payer) == (
        "contractor_deco", Decimal("3000.00"), "美居装饰公司")
    # The plan is the row's floor-plan attachment, kept by the attachment store.
    plan = decoration.floor_plan()
    assert (plan.kind, plan.name, plan.content_type) == ("floor_plan", "plan.png", "image/png")
    with files_context(tmp_path):
        assert storage().get(plan.key) is not None and plan.thumb_key
    with pytest.raises(RuleError) as refused:
        apply(estate, staff["clerk"], tmp_path)
    assert "已有一份未完结的装修申请" in refused.value.errors["unit"]


@pytest.mark.parametrize("data, filename, message", [
    (EXE, "plan.pdf", "不是可接受的文件"),
    (b"", "plan.png", "是空文件"),
    (PNG + b"\x00" * (10 * 1024 * 1024), "big.png", "超过 10 MB"),
])
def test_bad_floor_plans_are_refused_and_nothing_is_saved(conn, estate, staff, tmp_path,
                                                         data, filename, message):
    with pytest.raises(RuleError) as refused:
        apply(estate, staff["clerk"], tmp_path, data=data, filename=filename)
    assert message in refused.value.errors["floor_plan_upload"]
    assert Decoration.select().count() == 0 and Deposit.select().count() == 0
    assert Attachment.select().count() == 0


def test_an_application_without_a_floor_plan_is_refused(conn, estate, staff):
    """R-DECO-1: the application form plus a floor plan; nothing saved without it."""
    unit = Unit.get(Unit.code == "1-1-101")
    decoration = Decoration(estate=estate.id, unit=unit.id, owner_name="业主101",
                            contractor="美居装饰公司", plan_summary="改水电",
                            works_start=dt.date(2026, 12, 1), works_end=dt.date(2026, 12, 30))
    with pytest.raises(RuleError) as refused:
        save_record(decoration, staff["clerk"])
    assert "请上传装修平面图" in refused.value.errors["floor_plan_upload"]
    assert Decoration.select().count() == 0 and Deposit.select().count() == 0


def test_no_approval_without_a_floor_plan(conn, estate, staff, tmp_path):
    """A row carried over without its plan file (migration 022) cannot be approved."""
    decoration = to_signed(apply(estate, staff["clerk"], tmp_path), staff)
    Attachment.delete().where(Attachment.table == "decoration").execute()
    with pytest.raises(RuleError) as refused:
        approve(Decoration.get_by_id(decoration.id), staff)
    assert "没有装修平面图" in refused.value.errors[""]
    assert Decoration.get_by_id(decoration.id).state == "signed"


# -- deadlines --------------------------------------------------------------------------------


def test_approval_is_due_at_the_end_of_the_third_working_day(conn, estate, staff, tmp_path):
    # Friday 2026-11-20: Mon 23, Tue 24, Wed 25 are the three working days after it.
    decoration = apply(estate, staff["clerk"], tmp_path, applied_at=at(2026, 11, 20, 16))
    due = decoration.approval_due.astimezone(SHANGHAI)
    assert (due.date(), due.hour, due.minute) == (dt.date(2026, 11, 25), 23, 59)
    overdue = Decoration.approval_overdue
    assert not overdue(at(2026, 11, 25, 23, 59)).where(Decoration.id == decoration.id).exists()
    assert overdue(at(2026, 11, 26, 0, 0)).where(Decoration.id == decoration.id).exists()


def test_approval_deadline_skips_the_national_day_holiday(conn, estate, staff, tmp_path):
    # 2026-09-30 (Wed): 1–7 October are off, 9 and 10 October (Fri, Sat make-up) and 12 work.
    decoration = apply(estate, staff["clerk"], tmp_path, applied_at=at(2026, 9, 30, 9),
                       works_start=dt.date(2026, 10, 15), works_end=dt.date(2026, 12, 31))
    assert decoration.approval_due.astimezone(SHANGHAI).date() == dt.date(2026, 10, 10)


def test_tests_fall_due_inside_the_approval_window(conn, estate, staff, tmp_path):
    """Corrected R-PASS-4 (#11 item 9): the tests are due with the approval, 3 working days from
    the application (Fri 20 → Wed 25), not 3 days after an approval."""
    decoration = apply(estate, staff["clerk"], tmp_path, applied_at=at(2026, 11, 20, 9))
    assert decoration.tests_due == decoration.approval_due
    due = decoration.tests_due.astimezone(SHANGHAI)
    assert due.date() == dt.date(2026, 11, 25)
    overdue = Decoration.tests_overdue
    assert not overdue(at(2026, 11, 25, 23, 59)).where(Decoration.id == decoration.id).exists()
    assert overdue(at(2026, 11, 26, 0, 0)).where(Decoration.id == decoration.id).exists()
    # Tested inside the window: no tests flag, but the approval is still due in the window.
    decoration.record_tests(staff["clerk"], water_passed=True, pressure_passed=True,
                            owner_confirmed_name="业主101", tested_at=at(2026, 11, 24, 10))
    assert not overdue(at(2026, 11, 26)).where(Decoration.id == decoration.id).exists()
    assert Decoration.approval_overdue(at(2026, 11, 26)).where(
        Decoration.id == decoration.id).exists()


def test_no_approval_before_the_tests_and_the_signature(conn, estate, staff, tmp_path):
    """The approval comes after the tests and the 工程主管's signature; the permit after it."""
    decoration = apply(estate, staff["clerk"], tmp_path)
    with pytest.raises(RuleError, match="须先完成闭水/打压试验"):
        approve(decoration, staff)
    assert Decoration.get_by_id(decoration.id).state == "applied"
    assert not approvals.ApprovalRequest.of_row(decoration).where(
        approvals.ApprovalRequest.state == "approved").exists()
    to_signed(decoration, staff)
    with pytest.raises(RuleError, match="不能发放装修许可证"):
        decoration.issue_permit(staff["clerk"])
    pending = approvals.ApprovalRequest.pending_for(decoration, "approve")
    assert pending is not None and pending.requested_by_id == staff["clerk"].id


# -- the tests and the heating season -----------------------------------------------------------


@pytest.mark.parametrize("season, day, skippable", [
    ("11-15..03-15", dt.date(2026, 11, 15), True),
    ("11-15..03-15", dt.date(2026, 11, 14), False),
    ("11-15..03-15", dt.date(2027, 3, 15), True),
    ("11-15..03-15", dt.date(2027, 3, 16), False),
    ("", dt.date(2027, 1, 10), False),  # no central heating at all
])
def test_heating_season_bounds(season, day, skippable):
    assert in_heating_season(day, season) is skippable


def test_pressure_test_skippable_only_in_the_heating_season(conn, estate, staff, tmp_path):
    decoration = apply(estate, staff["clerk"], tmp_path)
    with pytest.raises(RuleError) as refused:
        decoration.record_tests(staff["clerk"], water_passed=True, pressure_passed=None,
                                skip_pressure=True, owner_confirmed_name="业主101",
                                heating_season="")
    assert "非供暖期必须做打压试验" in refused.value.errors["skip_pressure"]
    assert Decoration.get_by_id(decoration.id).state == "applied"
    decoration.record_tests(staff["clerk"], water_passed=True, pressure_passed=None,
                            skip_pressure=True, owner_confirmed_name="业主101",
                            heating_season="01-01..12-31")
    fresh = Decoration.get_by_id(decoration.id)
    assert fresh.state == "tested" and fresh.pressure_test_skipped
    assert fresh.pressure_result_label == "供暖期免做"


def test_failed_test_waits_for_a_retest_and_passing_needs_the_owner(conn, estate, staff,
                                                                   tmp_path):
    decoration = apply(estate, staff["clerk"], tmp_path)
    decoration.record_tests(staff["clerk"], water_passed=False, pressure_passed=True,
                            notes="卫生间地漏处渗水")
    assert Decoration.get_by_id(decoration.id).state == "applied"
    with pytest.raises(RuleError) as refused:
        decoration.record_tests(staff["clerk"], water_passed=True, pressure_passed=True)
    assert "业主确认签字" in refused.value.errors["owner_confirmed_name"]
    decoration.record_tests(staff["clerk"], water_passed=True, pressure_passed=True,
                            owner_confirmed_name="业主101")
    assert Decoration.get_by_id(decoration.id).state == "tested"


def test_only_the_engineering_supervisor_signs_and_only_paid_applications_get_a_permit(
        conn, estate, staff, tmp_path):
    """R-DECO-2, R-REC-4 (#11 item 9): the 工程主管 signs, not any engineer; a clerk's name
    is no approval (R-REC-2)."""
    decoration = apply(estate, staff["clerk"], tmp_path)
    decoration.record_tests(staff["clerk"], water_passed=True, pressure_passed=True,
                            owner_confirmed_name="业主101")
    for not_the_head in (staff["supervisor"], staff["engineer"]):
        with pytest.raises(RuleError, match="只有工程主管"):
            decoration.engineering_sign(not_the_head)
    decoration.engineering_sign(staff["enghead"])
    with pytest.raises(RuleError, match="须经客服主管或管理处主任批准"):
        decoration.approve(staff["clerk"])
    with pytest.raises(RuleError, match="无权审批"):
        approvals.apply_now(decoration, "approve", staff["clerk"], staff["clerk"], {})
    approve(decoration, staff)
    assert Decoration.get_by_id(decoration.id).approved_by_id == staff["supervisor"].id
    with pytest.raises(RuleError, match="业主装修押金、装修企业押金 尚未到财务交纳"):
        decoration.issue_permit(staff["clerk"])
    for deposit in decoration.deposits():
        deposit.collect(staff["finance"])
    number = decoration.issue_permit(staff["clerk"])
    assert re.fullmatch(r"XK-\d{4}-00001", number)
    assert Unit.get_by_id(decoration.unit_id).state == "decorating"


# -- acceptance and the deposits ---------------------------------------------------------------


def test_acceptance_with_defects_then_passed_releases_the_deposits(conn, estate, staff,
                                                                  tmp_path):
    decoration = to_permit(apply(estate, staff["clerk"], tmp_path), staff)
    today = utcnow().astimezone(SHANGHAI).date()
    with pytest.raises(RuleError) as refused:
        decoration.accept(staff["supervisor"], passed=False)
    assert set(refused.value.errors) == {"defects", "rectify_by"}
    decoration.accept(staff["supervisor"], passed=False, defects="阳台防水未做",
                      rectify_by=today + dt.timedelta(days=7))
    assert Decoration.get_by_id(decoration.id).state == "defects"
    assert all(d.state == "held" for d in decoration.deposits())
    assert Decoration.acceptance_pending(utcnow() + dt.timedelta(days=8)).where(
        Decoration.id == decoration.id).exists()
    decoration.accept(staff["supervisor"], passed=True)
    owner, contractor = decoration.deposits()
    assert owner.state == contractor.state == "refundable"
    assert owner.refundable_on == today
    assert contractor.refundable_on > today


@pytest.mark.parametrize("accepted, refundable_on", [
    (dt.date(2025, 10, 31), dt.date(2026, 1, 31)),
    (dt.date(2025, 11, 30), dt.date(2026, 2, 28)),
    (dt.date(2025, 8, 31), dt.date(2025, 11, 30)),
    (dt.date(2023, 11, 30), dt.date(2024, 2, 29)),
])
def test_contractor_deposit_refundable_three_months_after_acceptance(
        conn, estate, staff, tmp_path, accepted, refundable_on):
    start = accepted - dt.timedelta(days=40)
    decoration = apply(estate, staff["clerk"], tmp_path, applied_at=at(*start.timetuple()[:3]),
                       works_start=start, works_end=accepted)
    step = at(*start.timetuple()[:3], 11)
    approve(to_signed(decoration, staff, step), staff, step)
    for deposit in decoration.deposits():
        deposit.collect(staff["finance"], collected_at=step)
    decoration.issue_permit(staff["clerk"], issued_at=step)
    decoration.accept(staff["supervisor"], passed=True,
                      accepted_at=at(*accepted.timetuple()[:3], 16))
    contractor = Decoration.get_by_id(decoration.id).contractor_deposit
    assert contractor.refundable_on == refundable_on
    with pytest.raises(RuleError, match=f"须于 {refundable_on:%Y-%m-%d} 起方可退还"):
        contractor.refund(staff["finance"], to="美居装饰公司",
                          refunded_at=at(*(refundable_on - dt.timedelta(days=1)).timetuple()[:3],
                                         23, 59))
    contractor.refund(staff["finance"], to="美居装饰公司",
                      refunded_at=at(*refundable_on.timetuple()[:3], 9))
    assert Deposit.get_by_id(contractor.id).state == "refunded"


def test_overdue_queries_of_the_register(conn, estate, staff, tmp_path):
    applied = apply(estate, staff["clerk"], tmp_path, applied_at=utcnow() - dt.timedelta(days=9))
    running = apply(estate, staff["clerk"], tmp_path, unit_code="1-1-102",
                    works_end=utcnow().astimezone(SHANGHAI).date())
    to_permit(running, staff)
    later = utcnow() + dt.timedelta(days=2)
    assert [d.id for d in Decoration.approval_overdue(utcnow())] == [applied.id]
    assert [d.id for d in Decoration.acceptance_pending(later)] == [running.id]
    assert not Decoration.acceptance_pending(utcnow()).exists()

