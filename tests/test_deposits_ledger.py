"""The deposit ledger balances (R-DEP-1/2): after any sequence of asks, collections,
releases, refunds, forfeits and cancellations; and its grid shows the totals and the
finance-only forms, a forfeit waiting for a manager (R-REC-2, #4)."""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal

import deposits_support as support
from decoration_support import post
from deposits_support import ask
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from test_records import form_data

from models import approvals
from models.approvals import ApprovalRequest
from models.base import RuleError, office_day
from models.deposits import STANDARD_AMOUNTS, Deposit, LedgerTotals
from models.estate import Branch, Estate
from models.users import UserEstate

# The staff, a fixture pytest finds here by name (imported, a test taking it as a parameter
# would read as redefining the import).
staff = support.staff


# -- the ledger balances after any sequence of operations ---------------------------------------

CODES = itertools.count(1)
# Mostly a row the operation fits (so sequences reach refunds), sometimes any row at all.
ROW = st.one_of(st.just(-1), st.just(-1), st.integers(0, 10_000))


class LedgerMachine(RuleBasedStateMachine):
    """Random asks, collections, releases, refunds (too large, partial, twice), forfeits and
    cancellations; every refusal is predicted, and the money always adds up."""

    staff: dict = {}

    def __init__(self):
        super().__init__()
        branch = Branch.create(name=f"账分公司{next(CODES)}")
        self.estate = Estate.create(branch=branch, code=f"L{next(CODES)}", name="账本小区")
        # The approver of forfeits works for the estate (models.approvals checks it).
        UserEstate.create(user=self.staff["supervisor"], estate=self.estate)
        self.rows: dict[int, dict] = {}

    def _pick(self, index: int, *fitting: str) -> tuple[Deposit, dict]:
        """Row `index`, or for -1 the newest row in a state where the operation fits."""
        ids = sorted(self.rows)
        row_id = ids[index % len(ids)]
        if index == -1:
            row_id = max((i for i in ids if self.rows[i]["state"] in fitting), default=row_id)
        return Deposit.get_by_id(row_id), self.rows[row_id]

    def _expect(self, refused: bool, call) -> bool:
        try:
            call()
        except RuleError:
            assert refused, "refused though the rules allow it"
            return False
        assert not refused, "accepted though the rules forbid it"
        return True

    @initialize(stages=st.lists(st.sampled_from(["due", "held", "refundable", "fee"]),
                                min_size=1, max_size=4))
    def start(self, stages):
        """Begin with a few deposits already along their way (through the model, shadowed)."""
        for stage in stages:
            self.ask("card_fee" if stage == "fee" else "contractor_deco", None)
            if stage != "due":
                self.collect(-1, True)
            if stage == "refundable":
                self.release(-1, 0)

    @rule(kind=st.sampled_from(["pass_deposit", "card_fee", "owner_deco", "other_deposit"]),
          cents=st.one_of(st.none(), st.integers(-500, 500_000)))
    def ask(self, kind, cents):
        amount = None if cents is None else Decimal(cents) / 100
        # No amount: the manual's standard one, or refused where there is none.
        refused = amount <= 0 if amount is not None else kind not in STANDARD_AMOUNTS
        before = Deposit.select().count()
        if self._expect(refused, lambda: ask(self.estate, self.staff["clerk"], kind, amount)):
            row = Deposit.select().order_by(Deposit.id.desc()).first()
            self.rows[row.id] = {"state": "due", "amount": row.amount,
                                 "fee": kind == "card_fee"}
        else:
            assert Deposit.select().count() == before

    @precondition(lambda self: self.rows)
    @rule(index=ROW, by_finance=st.sampled_from([True, True, True, False]))
    def collect(self, index, by_finance):
        deposit, row = self._pick(index, "due")
        user = self.staff["finance" if by_finance else "clerk"]
        if self._expect(not by_finance or row["state"] != "due", lambda: deposit.collect(user)):
            row["state"] = "fee" if row["fee"] else "held"

    @precondition(lambda self: self.rows)
    @rule(index=ROW, days=st.integers(-3, 3))
    def release(self, index, days):
        deposit, row = self._pick(index, "held")
        refused = row["state"] not in ("due", "held") or row["fee"] and row["state"] != "due"
        on = office_day() + dt.timedelta(days=days)
        if self._expect(refused, lambda: deposit.make_refundable(
                self.staff["supervisor"], on=on, note="可退")):
            row["state"] = "cancelled" if row["state"] == "due" else "refundable"
            row["on"] = on

    @precondition(lambda self: self.rows)
    @rule(index=ROW, how=st.sampled_from(["all", "all", "part", "more", "any"]),
          cents=st.integers(-100, 600_000), with_reason=st.booleans())
    def refund(self, index, how, cents, with_reason):
        deposit, row = self._pick(index, "refundable")
        amount = {"all": row["amount"], "part": (row["amount"] / 3).quantize(Decimal("0.01")),
                  "more": row["amount"] + Decimal("0.01")}.get(how, Decimal(cents) / 100)
        partial = Decimal("0") < amount < row["amount"]
        refused = (row["state"] != "refundable" or row["on"] > office_day()
                   or amount > row["amount"] or amount <= 0 or partial and not with_reason)
        values = {"amount": amount, "to": "领款人", "forfeit_reason": "扣留" if with_reason else ""}
        if self._expect(refused, lambda: approvals.apply_now(
                deposit, "refund", self.staff["finance"], self.staff["supervisor"], values)
                if with_reason else deposit.refund(self.staff["finance"], **values)):
            row.update(state="refunded", refunded=amount, forfeited=row["amount"] - amount)

    @precondition(lambda self: self.rows)
    @rule(index=ROW)
    def forfeit(self, index):
        deposit, row = self._pick(index, "held", "refundable")
        if self._expect(row["state"] not in ("held", "refundable"), lambda: approvals.apply_now(
                deposit, "forfeit", self.staff["finance"], self.staff["supervisor"],
                {"reason": "损坏"})):
            row.update(state="forfeited", refunded=Decimal("0"), forfeited=row["amount"])

    @precondition(lambda self: self.rows)
    @rule(index=ROW)
    def cancel(self, index):
        deposit, row = self._pick(index, "due")
        if self._expect(row["state"] != "due", lambda: deposit.cancel(
                self.staff["clerk"], reason="未办理")):
            row["state"] = "cancelled"

    @invariant()
    def ledger_balances(self):
        expected = LedgerTotals()
        for row in self.rows.values():
            expected.add(row["state"], row["amount"], row.get("refunded", Decimal("0")),
                         row.get("forfeited", Decimal("0")))
        actual = Deposit.totals([self.estate.id]).get(self.estate.id, LedgerTotals())
        assert actual.balanced
        assert (actual.collected, actual.held, actual.refundable, actual.refunded,
                actual.forfeited, actual.fees, actual.due) == (
            expected.collected, expected.held, expected.refundable, expected.refunded,
            expected.forfeited, expected.fees, expected.due)
        states = dict(Deposit.select(Deposit.id, Deposit.state)
                      .where(Deposit.estate == self.estate.id).tuples())
        assert states == {i: r["state"] for i, r in self.rows.items()}  # nothing ever leaves


def test_ledger_balances_after_random_operations(conn, estate, staff):
    LedgerMachine.staff = staff
    from hypothesis.stateful import run_state_machine_as_test

    # Derandomised: the same 30 sequences on every run. Drawn afresh each run, twice in CI's
    # history none of them reached a refund and the check below failed on unchanged code.
    run_state_machine_as_test(LedgerMachine, settings=settings(
        max_examples=30, stateful_step_count=40, deadline=None, derandomize=True,
        database=None, suppress_health_check=[HealthCheck.too_slow]))
    # The sequences reached the interesting end: money actually went back.
    assert Deposit.select().where(Deposit.state == "refunded").exists()
    assert Deposit.select().where(Deposit.forfeited_amount > 0).exists()


# -- the grid ------------------------------------------------------------------------------------


def test_ledger_grid_totals_and_finance_only_forms(login_as, conn, estate):
    finance = login_as("dept", "finance", department="finance")
    clerk = login_as("clerk")
    assert clerk.get("/admin/deposit/new/").status_code == 403
    data = form_data(finance, "/admin/deposit/new/")
    data.update({"kind": "key_deposit", "payer": "王五", "amount": "-200", "purpose": "借用钥匙"})
    refused = finance.post("/admin/deposit/new/", data=data).get_data(as_text=True)
    assert "金额不能为负数" in refused and Deposit.select().count() == 0
    data["amount"] = "200"
    assert finance.post("/admin/deposit/new/", data=data).status_code == 302
    deposit = Deposit.get()
    assert deposit.state == "held" and deposit.receipt_number.startswith("SJ-")
    assert deposit.collected_by_id == finance.user.id
    grid = clerk.get("/admin/deposit/").get_data(as_text=True)
    assert 'data-total="held">¥200.00' in grid and 'data-total="collected">¥200.00' in grid
    assert "/admin/deposit/edit/" not in grid and "/admin/deposit/void/" not in grid
    receipt = clerk.get(f"/admin/deposit/print/?id={deposit.id}").get_data(as_text=True)
    assert deposit.receipt_number in receipt and "贰佰元整" in receipt and "测试花园" in receipt
    page = finance.get(f"/admin/deposit/details/?id={deposit.id}").get_data(as_text=True)
    assert "/admin/deposit/forfeit/" in page and "/admin/deposit/collect/" not in page
    response = post(clerk, f"/admin/deposit/forfeit/?id={deposit.id}",
                    {"row_version": deposit.version, "forfeit_reason": "x"})
    assert response.status_code == 403
    # Finance asks; the forfeit waits for a manager and the money stays held (R-REC-2).
    login_as("supervisor")
    form = finance.get(f"/admin/deposit/forfeit/?id={deposit.id}").get_data(as_text=True)
    assert 'name="approved_by"' not in form and 'name="approver_username"' in form
    asked = post(finance, f"/admin/deposit/forfeit/?id={deposit.id}",
                 {"row_version": deposit.version, "forfeit_reason": "钥匙遗失"})
    assert asked.status_code == 302
    assert Deposit.get_by_id(deposit.id).state == "held"
    assert ApprovalRequest.get().state == "pending"
    assert clerk.get("/admin/deposit/delete/").status_code in (403, 404, 405)

