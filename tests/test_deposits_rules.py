"""The deposit ledger's rules (R-DEP-1/2): standard amounts in Decimal and numbered receipts,
bad amounts refused, finance only, one refund at its boundaries, not before its date, a forfeit
with a reason and a manager, the table's own checks, overdue queries and amounts in words (#4).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import deposits_support as support
import pytest
from deposits_support import ask, refundable
from peewee import IntegrityError

from models import approvals
from models.base import RuleError, db, office_day, utcnow
from models.deposits import Deposit
from models.money import amount_in_words
from models.register import AuditLog

# The staff, a fixture pytest finds here by name (imported, a test taking it as a parameter
# would read as redefining the import).
staff = support.staff


def test_standard_amounts_are_decimal_and_a_receipt_is_numbered(conn, estate, staff):
    deposit = ask(estate, staff["clerk"])
    assert deposit.amount == Decimal("50.00") and isinstance(deposit.amount, Decimal)
    assert Deposit.get_by_id(deposit.id).amount == Decimal("50.00")
    assert deposit.state == "due" and deposit.receipt_number is None
    deposit.collect(staff["finance"])
    fresh = Deposit.get_by_id(deposit.id)
    assert fresh.state == "held" and fresh.receipt_number.startswith("SJ-")
    assert fresh.collected_by_id == staff["finance"].id
    fee = ask(estate, staff["clerk"], "card_fee")
    fee.collect(staff["finance"])
    assert Deposit.get_by_id(fee.id).state == "fee"
    with pytest.raises(RuleError, match="费用不退还"):
        fee.make_refundable(staff["supervisor"])


@pytest.mark.parametrize("amount, message", [
    ("-50", "金额不能为负数"), ("0", "金额必须大于 0"), ("12.345", "两位小数"),
])
def test_bad_amounts_are_refused_and_nothing_saved(conn, estate, staff, amount, message):
    with pytest.raises(RuleError) as refused:
        ask(estate, staff["clerk"], "other_deposit", amount)
    assert message in refused.value.errors["amount"]
    assert Deposit.select().count() == 0


def test_only_finance_collects_and_refunds(conn, estate, staff):
    deposit = ask(estate, staff["clerk"])
    for who in ("clerk", "supervisor", "engineer"):
        with pytest.raises(RuleError, match="只有财务人员可以登记收款"):
            deposit.collect(staff[who])
    deposit = refundable(estate, staff)
    with pytest.raises(RuleError, match="只有财务人员可以办理退款"):
        deposit.refund(staff["supervisor"], to="美居装饰公司")
    assert Deposit.get_by_id(deposit.id).state == "refundable"


def test_refund_rules_at_their_boundaries(conn, estate, staff):
    finance = staff["finance"]
    held = ask(estate, staff["clerk"], "contractor_deco")
    held.collect(finance)
    with pytest.raises(RuleError, match="尚未到可退状态"):
        held.refund(finance, to="美居装饰公司")
    deposit = refundable(estate, staff)
    with pytest.raises(RuleError) as refused:
        deposit.refund(finance, amount="3000.01", to="美居装饰公司")
    assert refused.value.errors["amount"] == "退款金额 ¥3,000.01 超过押金金额 ¥3,000.00"
    with pytest.raises(RuleError, match="金额不能为负数"):
        deposit.refund(finance, amount="-1", to="美居装饰公司")
    with pytest.raises(RuleError) as refused:
        deposit.refund(finance, amount="2500", to="美居装饰公司")
    assert set(refused.value.errors) == {"forfeit_reason"}
    keep_part = {"amount": "2500", "to": "美居装饰公司", "forfeit_reason": "损坏公共墙面"}
    # R-DEP-2, R-REC-2 (#11 item 3): the part kept needs a manager's own approval.
    with pytest.raises(RuleError, match="部分退款（扣留押金）须经客服主管或管理处主任批准"):
        deposit.refund(finance, **keep_part)
    with pytest.raises(RuleError, match="无权审批"):
        approvals.apply_now(deposit, "refund", finance, staff["engineer"], keep_part)
    assert Deposit.get_by_id(deposit.id).state == "refundable"  # nothing half-saved
    approvals.apply_now(deposit, "refund", finance, staff["supervisor"], keep_part)
    fresh = Deposit.get_by_id(deposit.id)
    assert fresh.forfeit_approved_by_id == staff["supervisor"].id
    assert (fresh.state, fresh.refunded_amount, fresh.forfeited_amount) == (
        "refunded", Decimal("2500.00"), Decimal("500.00"))
    assert fresh.refunded_by_id == finance.id and fresh.refunded_to == "美居装饰公司"
    with pytest.raises(RuleError, match="不能重复退款"):
        fresh.refund(finance, amount="1", to="美居装饰公司")
    assert AuditLog.select().where(AuditLog.table == "deposit",
                                   AuditLog.row_id == deposit.id).count() == 4


def test_not_refundable_before_its_date(conn, estate, staff):
    deposit = ask(estate, staff["clerk"], "contractor_deco")
    deposit.collect(staff["finance"])
    tomorrow = office_day() + dt.timedelta(days=1)
    deposit.make_refundable(staff["supervisor"], on=tomorrow, note="验收满 3 个月")
    with pytest.raises(RuleError, match=f"须于 {tomorrow:%Y-%m-%d} 起方可退还"):
        Deposit.get_by_id(deposit.id).refund(staff["finance"], to="美居装饰公司")


def test_forfeit_needs_reason_and_manager(conn, estate, staff):
    deposit = ask(estate, staff["clerk"])
    deposit.collect(staff["finance"])
    with pytest.raises(RuleError) as refused:
        deposit.forfeit(staff["finance"], reason="")
    assert set(refused.value.errors) == {"forfeit_reason"}
    with pytest.raises(RuleError) as refused:
        deposit.forfeit(staff["finance"], reason="出入证遗失")
    assert refused.value.errors == {"approver": "没收押金须经客服主管或管理处主任批准"}
    approvals.apply_now(deposit, "forfeit", staff["finance"], staff["supervisor"],
                        {"reason": "出入证遗失"})
    fresh = Deposit.get_by_id(deposit.id)
    assert fresh.forfeit_approved_by_id == staff["supervisor"].id
    assert fresh.state == "forfeited" and fresh.forfeited_amount == Decimal("50.00")
    with pytest.raises(RuleError, match="已没收"):
        fresh.refund(staff["finance"], to="张三")


def test_the_table_itself_refuses_money_that_does_not_add_up(conn, estate, staff):
    deposit = refundable(estate, staff)
    with pytest.raises(IntegrityError), db.atomic():
        Deposit.update(state="refunded", refunded_amount=Decimal("2000.00")).where(
            Deposit.id == deposit.id).execute()
    with pytest.raises(IntegrityError), db.atomic():
        Deposit.update(amount=Decimal("-1.00")).where(Deposit.id == deposit.id).execute()


def test_overdue_queries(conn, estate, staff):
    now = utcnow()
    today = office_day(now)
    on_the_day = refundable(estate, staff)
    Deposit.update(refundable_on=today - dt.timedelta(days=30)).where(
        Deposit.id == on_the_day.id).execute()
    late = refundable(estate, staff)
    Deposit.update(refundable_on=today - dt.timedelta(days=31)).where(
        Deposit.id == late.id).execute()
    assert [d.id for d in Deposit.refundable_not_refunded(now, 30)] == [late.id]
    assert {d.id for d in Deposit.refundable_not_refunded(now, 29)} == {late.id, on_the_day.id}
    waiting = ask(estate, staff["clerk"])
    assert not Deposit.uncollected(now, 3).exists()
    assert [d.id for d in Deposit.uncollected(now + dt.timedelta(days=3, seconds=1), 3)] == [
        waiting.id]


@pytest.mark.parametrize("amount, words", [
    ("1000", "壹仟元整"), ("3000.00", "叁仟元整"), ("50", "伍拾元整"), ("5", "伍元整"),
    ("1050.50", "壹仟零伍拾元伍角"), ("10001.05", "壹万零壹元零伍分"), ("0.30", "叁角"),
    ("120000", "壹拾贰万元整"), ("100010", "壹拾万零壹拾元整"), ("0", "零元整"),
])
def test_amount_in_words(amount, words):
    assert amount_in_words(Decimal(amount)) == words

