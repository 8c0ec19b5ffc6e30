"""Worker passes (R-PASS-1, 2, 5): three months at most and never beyond the permit, the
documents checked, money before paper (deposit and card fee at finance, R-REC-3), returned,
lost and expired cards (#4, #11 item 4)."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import passes_support as support
import pytest
from decoration_support import SHANGHAI, apply, to_permit
from passes_support import apply_for_card, worker

from models import approvals, deadlines
from models.base import RuleError, office_day
from models.deposits import Deposit
from models.passes import WorkerPass
from models.register import save_record

# The staff and the permit, fixtures pytest finds here by name (imported, a test taking them
# as parameters would read as redefining the imports).
staff, permit = support.staff, support.permit


# -- worker passes -----------------------------------------------------------------------------


def test_worker_pass_may_run_exactly_three_months(conn, estate, staff, permit):
    start = office_day() + dt.timedelta(days=1)
    latest = deadlines.add_months(start, 3)
    issued = worker(estate, staff["clerk"], valid_from=start, valid_to=latest)
    assert re.fullmatch(r"CR-\d{4}-00001", issued.number)
    assert issued.decoration_id == permit.id and issued.employer == "美居装饰公司"
    with pytest.raises(RuleError) as refused:
        worker(estate, staff["clerk"], valid_from=start, valid_to=latest + dt.timedelta(days=1))
    assert refused.value.errors["valid_to"].startswith("出入证有效期最长 3 个月")
    assert WorkerPass.select().count() == 1


@pytest.mark.parametrize("start, latest", [
    (dt.date(2027, 1, 31), dt.date(2027, 4, 30)),
    (dt.date(2027, 3, 31), dt.date(2027, 6, 30)),
    (dt.date(2027, 11, 30), dt.date(2028, 2, 29)),
])
def test_three_months_clamp_at_the_month_end(conn, estate, staff, tmp_path, start, latest):
    to_permit(apply(estate, staff["clerk"], tmp_path,
                    works_end=dt.date(2028, 12, 31)), staff)
    assert worker(estate, staff["clerk"], valid_from=start, valid_to=latest).valid_to == latest
    with pytest.raises(RuleError, match=f"最晚至 {latest:%Y-%m-%d}"):
        worker(estate, staff["clerk"], valid_from=start, valid_to=latest + dt.timedelta(days=1))


def test_worker_pass_never_outlives_the_permit(conn, estate, staff, tmp_path):
    today = office_day()
    permit = to_permit(apply(estate, staff["clerk"], tmp_path,
                             works_end=today + dt.timedelta(days=20)), staff)
    with pytest.raises(RuleError) as refused:
        worker(estate, staff["clerk"], valid_to=today + dt.timedelta(days=21))
    assert refused.value.errors["valid_to"] == (
        f"不能超过装修许可证 {permit.permit_number} 的有效期 {permit.works_end:%Y-%m-%d}")
    defaulted = worker(estate, staff["clerk"])  # no dates: today to the permit's end
    assert (defaulted.valid_from, defaulted.valid_to) == (today, permit.works_end)


def test_works_cannot_be_shortened_below_a_pass(conn, estate, staff, permit):
    card = worker(estate, staff["clerk"], valid_to=office_day() + dt.timedelta(days=60))
    from models.decoration import Decoration
    from models.register import snapshot

    decoration = Decoration.get_by_id(permit.id)
    before = snapshot(decoration)
    # A permitted decoration's dates change only by a re-approval (#11 item 5).
    decoration.works_end = office_day() + dt.timedelta(days=90)
    with pytest.raises(RuleError, match="须重新审批"):
        save_record(decoration, staff["supervisor"], before=before)
    decoration = Decoration.get_by_id(permit.id)
    change = {"works_start": decoration.works_start, "reason": "业主要求"}
    with pytest.raises(RuleError) as refused:
        approvals.apply_now(decoration, "change_dates", staff["clerk"], staff["supervisor"],
                            {**change, "works_end": office_day() + dt.timedelta(days=59)})
    assert f"有效至 {card.valid_to:%Y-%m-%d}" in refused.value.errors["works_end"]
    approvals.apply_now(Decoration.get_by_id(permit.id), "change_dates", staff["clerk"],
                        staff["supervisor"],
                        {**change, "works_end": office_day() + dt.timedelta(days=90)})
    assert Decoration.get_by_id(permit.id).works_end == office_day() + dt.timedelta(days=90)


def test_no_permit_no_pass_and_nothing_half_saved(conn, estate, staff, tmp_path):
    apply(estate, staff["clerk"], tmp_path, unit_code="1-1-102")  # applied, not permitted
    deposits = Deposit.select().count()
    for unit_code in ("1-1-102", "1-1-201"):
        with pytest.raises(RuleError) as refused:
            worker(estate, staff["clerk"], unit_code=unit_code)
        assert refused.value.errors["unit"] == "该房屋没有有效的装修许可证，不能办理装修工人出入证"
    assert WorkerPass.select().count() == 0 and Deposit.select().count() == deposits


def test_documents_must_be_checked(conn, estate, staff, permit):
    with pytest.raises(RuleError) as refused:
        worker(estate, staff["clerk"], checked_residence_permit=False, checked_id=False)
    assert set(refused.value.errors) == {"checked_residence_permit", "checked_id"}
    assert "暂住证" in refused.value.errors["checked_residence_permit"]


def test_issuing_asks_deposit_and_fee_and_return_makes_the_deposit_refundable(
        conn, estate, staff, permit):
    card = apply_for_card(estate, staff["clerk"])
    deposit, fee = card.deposit, card.card_fee
    assert (deposit.kind, deposit.amount, deposit.state) == ("pass_deposit", Decimal("50.00"),
                                                             "due")
    assert (fee.kind, fee.amount, fee.payer) == ("card_fee", Decimal("5.00"), "王师傅")
    assert "王师傅" in deposit.purpose and card.number is None and card.state == "applied"
    deposit.collect(staff["finance"])
    fee.collect(staff["finance"])
    card = WorkerPass.get_by_id(card.id)
    card.issue(staff["clerk"])
    card = WorkerPass.get_by_id(card.id)
    card.return_pass(staff["clerk"])
    card = WorkerPass.get_by_id(card.id)
    assert card.state == "returned" and card.returned_by_id == staff["clerk"].id
    assert card.deposit.state == "refundable" and card.deposit.refundable_on == office_day()
    assert card.card_fee.state == "fee"
    with pytest.raises(RuleError, match="已交回"):
        card.return_pass(staff["clerk"])
    # An application never paid is withdrawn, not returned: its money requests are dropped.
    unpaid = apply_for_card(estate, staff["clerk"], holder_name="赵师傅")
    with pytest.raises(RuleError, match="待缴费"):
        unpaid.return_pass(staff["clerk"])
    unpaid.cancel(staff["clerk"], reason="other", note="工人未来交费")
    assert WorkerPass.get_by_id(unpaid.id).state == "cancelled"
    assert {d.state for d in (Deposit.get_by_id(unpaid.deposit_id),
                              Deposit.get_by_id(unpaid.card_fee_id))} == {"cancelled"}


def test_money_before_paper_no_number_until_finance_has_both(conn, estate, staff, permit):
    """R-REC-3, R-PASS-1 (#11 item 4): an application is not issued, numbered or printable
    until finance has recorded the deposit and the card fee in the ledger."""
    card = apply_for_card(estate, staff["clerk"])
    with pytest.raises(RuleError, match="押金.*工本费.*尚未由财务收款登记"):
        card.issue(staff["clerk"])
    card.deposit.collect(staff["finance"])
    card = WorkerPass.get_by_id(card.id)
    with pytest.raises(RuleError, match="工本费 尚未由财务收款登记"):
        card.issue(staff["clerk"])
    assert WorkerPass.get_by_id(card.id).number is None
    with pytest.raises(RuleError, match="财务"):  # only finance records money (R-DEP-1)
        card.card_fee.collect(staff["clerk"])
    card.card_fee.collect(staff["finance"])
    card = WorkerPass.get_by_id(card.id)
    card.issue(staff["clerk"])
    card = WorkerPass.get_by_id(card.id)
    assert card.state == "issued" and re.fullmatch(r"CR-\d{4}-00001", card.number)


def test_lost_pass_is_cancelled_and_its_deposit_stays_for_finance(conn, estate, staff, permit):
    card = worker(estate, staff["clerk"])
    with pytest.raises(RuleError) as refused:
        card.cancel(staff["clerk"], reason="other")
    assert "note" in refused.value.errors
    card.cancel(staff["clerk"], reason="lost")
    card = WorkerPass.get_by_id(card.id)
    assert card.state == "cancelled" and card.deposit.state == "held"


def test_expired_but_not_returned(conn, estate, staff, permit):
    card = worker(estate, staff["clerk"], valid_to=office_day() + dt.timedelta(days=10))
    last_day = dt.datetime.combine(card.valid_to, dt.time(23, 59), tzinfo=SHANGHAI)
    assert not WorkerPass.expired_not_returned(last_day).exists()
    assert [p.id for p in WorkerPass.expired_not_returned(last_day + dt.timedelta(minutes=1))
            ] == [card.id]
    card.return_pass(staff["clerk"])
    assert not WorkerPass.expired_not_returned(last_day + dt.timedelta(days=1)).exists()


