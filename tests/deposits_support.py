"""The deposit ledger's shared fixture and steps (#10 split test_deposits.py): the staff the
manual names, a deposit asked of a payer, and one collected and made refundable (R-DEP-1/2)."""

from __future__ import annotations

import pytest
from decoration_support import make_staff

from models.deposits import Deposit


@pytest.fixture
def staff(conn, estate):
    return make_staff(estate)


def ask(estate, user, kind="pass_deposit", amount=None, payer="张三") -> Deposit:
    return Deposit.ask(user, estate_id=estate.id, kind=kind, payer=payer, purpose="测试",
                       amount=amount)


def refundable(estate, staff, amount=None, kind="contractor_deco") -> Deposit:
    deposit = ask(estate, staff["clerk"], kind, amount)
    deposit.collect(staff["finance"])
    deposit.make_refundable(staff["supervisor"], note="验收合格")
    return Deposit.get_by_id(deposit.id)

