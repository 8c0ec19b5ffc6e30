"""The deposit and fee ledger (押金/费用台账, R-DEP-1/2).

Every deposit or fee the office takes is one row: created "due" by the register that asks for it
(a decoration application, a worker's access pass) or by finance directly, collected by finance
against a numbered receipt, then held → refundable (from a date) → refunded (when, to whom, by
whom; any part kept is forfeited with a reason and an approver) or forfeited as a whole. Fees
(the pass card's 工本费) are collected and kept. Rows are never deleted or voided — the table has
no void columns (its state changes go through `StatefulMixin` all the same) — so the ledger
always balances:

    held + refundable + refunded + forfeited + fees = collected

The registers own the links (Decoration.owner_deposit, WorkerPass.deposit, …); this module sits
below them and imports none of them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from flask_babel import gettext
from peewee import CharField, Check, DateField, ForeignKeyField, Table, fn

from models.approvals import MANAGER, Approval, Grant, not_before_grant, require_grant
from models.base import (
    AwareDateTimeField,
    MoneyField,
    PhoneField,
    RuleError,
    VersionedModel,
    check_moment,
    db,
    office_day,
    to_office,
    write_transaction,
)
from models.calendar import next_number
from models.estate import Estate
from models.i18n import L_
from models.money import CENT, yuan
from models.notify_owner import on_deposit_refundable
from models.register import StatefulMixin, save_record
from models.steps import gather
from models.users import User, in_department

KINDS = [
    ("pass_deposit", L_("出入证押金")),
    ("card_fee", L_("出入证工本费")),
    ("owner_deco", L_("业主装修押金")),
    ("contractor_deco", L_("装修企业押金")),
    ("key_deposit", L_("钥匙押金")),
    ("other_deposit", L_("其他押金")),
    ("other_fee", L_("其他费用")),
]
KIND_LABELS = dict(KINDS)
# Standard amounts of the manual (R-PASS-1, R-DECO-1); others are entered by finance.
STANDARD_AMOUNTS = {
    "pass_deposit": Decimal("50.00"),
    "card_fee": Decimal("5.00"),
    "owner_deco": Decimal("1000.00"),
    "contractor_deco": Decimal("3000.00"),
}
# Fees are kept once collected; everything else is a deposit that ends refunded or forfeited.
FEE_KINDS = frozenset({"card_fee", "other_fee"})

STATES = [
    ("due", L_("待收款")),
    ("held", L_("在押")),
    ("refundable", L_("可退")),
    ("refunded", L_("已退")),
    ("forfeited", L_("已没收")),
    ("fee", L_("已收费用")),
    ("cancelled", L_("未收取消")),
]
STATE_LABELS = dict(STATES)
COLLECTED_STATES = ("held", "refundable", "refunded", "forfeited", "fee")


def _keeps_part(row, values: dict) -> bool:
    """A refund of less than the deposit keeps the rest: that part needs approval (R-DEP-2)."""
    amount = values.get("amount")
    if amount in (None, ""):
        return False
    try:
        return Decimal(str(amount).replace(",", "").strip()) < row.amount
    except ArithmeticError:
        return False  # the refund itself refuses it next to the field


def _describe_forfeit(row, values: dict) -> str:
    kept = f"扣留 {yuan(row.amount - Decimal(str(values['amount'])))}" \
        if values.get("amount") not in (None, "") else f"没收 {yuan(row.amount)}"
    return f"{kept}，原因：{values.get('forfeit_reason') or values.get('reason') or ''}"


class Deposit(StatefulMixin, VersionedModel):
    """One deposit or fee: who paid, for what, how much, its receipt and where the money is now."""

    # R-DEP-2, R-REC-2: money kept (all of it, or the part a refund keeps) needs a manager.
    approvals = {
        "forfeit": Approval("forfeit", "没收押金", rule=lambda row: MANAGER,
                            moment="forfeited_at", describe=_describe_forfeit),
        "refund": Approval("refund", "部分退款（扣留押金）", rule=lambda row: MANAGER,
                           needed=_keeps_part, moment="refunded_at", describe=_describe_forfeit),
    }

    estate = ForeignKeyField(Estate, backref="+", on_delete="RESTRICT", verbose_name=L_("小区"))
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                 verbose_name=L_("登记人"))
    kind = CharField(max_length=20, choices=KINDS, verbose_name=L_("款项"))
    purpose = CharField(max_length=200, default="", verbose_name=L_("用途"),
                        help_text=L_("对应的证件或装修，如：出入证 CR-2026-00042"))
    payer = CharField(max_length=64, verbose_name=L_("交款人"))
    payer_phone = PhoneField(default="", verbose_name=L_("交款人电话"))
    amount = MoneyField(verbose_name=L_("金额(元)"))
    state = CharField(max_length=16, choices=STATES, default="due", index=True,
                      verbose_name=L_("状态"))
    receipt_number = CharField(max_length=20, null=True, verbose_name=L_("收据号"),
                               help_text=L_("财务收款时生成，如 SJ-2026-00001"))
    collected_at = AwareDateTimeField(null=True, verbose_name=L_("收款时间"))
    collected_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                   verbose_name=L_("收款人(财务)"))
    refundable_on = DateField(null=True, index=True, verbose_name=L_("可退日期"),
                              help_text=L_("自该日起可以退还"))
    refundable_note = CharField(max_length=200, default="", verbose_name=L_("可退原因"))
    refunded_at = AwareDateTimeField(null=True, verbose_name=L_("退款时间"))
    refunded_to = CharField(max_length=64, default="", verbose_name=L_("领款人"))
    refunded_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                  verbose_name=L_("退款人(财务)"))
    refunded_amount = MoneyField(default=Decimal("0.00"), verbose_name=L_("退还金额(元)"))
    forfeited_amount = MoneyField(default=Decimal("0.00"), verbose_name=L_("没收金额(元)"))
    forfeit_reason = CharField(max_length=200, default="", verbose_name=L_("没收/扣留原因"))
    forfeit_approved_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                          verbose_name=L_("没收批准人"))
    forfeited_at = AwareDateTimeField(null=True, verbose_name=L_("没收时间"))
    note = CharField(max_length=200, default="", verbose_name=L_("备注"))

    class Meta:
        table_name = "deposit"
        indexes = (
            # A receipt number names one receipt of its estate (NULL until collected).
            (("estate", "receipt_number"), True),
            (("estate", "state"), False),
        )
        constraints = [
            # Money is never negative, and a settled deposit accounts for every cent of it:
            # what went back plus what was kept is what was taken (compared in cents, exact on
            # SQLite's REAL storage as on PostgreSQL's NUMERIC).
            Check("amount >= 0 AND refunded_amount >= 0 AND forfeited_amount >= 0"),
            Check("state NOT IN ('refunded', 'forfeited') OR "
                  "ROUND((refunded_amount + forfeited_amount) * 100) = ROUND(amount * 100)"),
        ]

    def __str__(self) -> str:
        number = self.receipt_number or gettext("未收款")
        return f"{number} {self.kind_label} {yuan(self.amount)} {self.payer}"

    @property
    def kind_label(self) -> str:
        return KIND_LABELS.get(self.kind, self.kind)

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    @property
    def is_fee(self) -> bool:
        return self.kind in FEE_KINDS

    # -- rules ---------------------------------------------------------------------------

    def validate(self):
        if self.kind not in KIND_LABELS:
            yield "kind", gettext("请选择款项")
        if isinstance(self.amount, Decimal) and self.amount <= 0:
            yield "amount", gettext("金额必须大于 0")

    # -- creation -----------------------------------------------------------------------------

    @classmethod
    def ask(cls, user, *, estate_id: int, kind: str, payer: str, purpose: str,
            payer_phone: str = "", amount: Decimal | None = None) -> Deposit:
        """Open a due row for money a register asks for (collected later by finance)."""
        deposit = cls(estate=estate_id, kind=kind, payer=payer, purpose=purpose[:200],
                      payer_phone=payer_phone or "",
                      amount=STANDARD_AMOUNTS.get(kind) if amount is None else amount)
        return save_record(deposit, user)

    def save_collected(self, user, *, collected_at: dt.datetime | None = None) -> Deposit:
        """Finance takes money nobody asked for beforehand (key or other deposits): record and
        collect it in one transaction."""
        self._require_finance(user, "amount", gettext("只有财务人员可以登记收款"))
        with write_transaction():
            save_record(self, user)
            self.collect(user, collected_at=collected_at)
        return self

    # -- state changes ---------------------------------------------------------------------------

    @staticmethod
    def _require_finance(user, field_name: str, message: str) -> None:
        if not in_department(user, "finance"):
            raise RuleError({field_name: message})

    def collect(self, user, *, collected_at: dt.datetime | None = None,
                expected_version: int | None = None) -> Deposit:
        """Finance records the money received and issues the numbered receipt (R-DEP-1)."""
        self._require_finance(user, "", gettext("只有财务人员可以登记收款"))
        self.require_state(("due",), gettext("该款项已是“{state}”，不能再次收款"))
        collected_at = check_moment(collected_at, field_name="collected_at",
                                    label=gettext("收款时间"))
        with write_transaction():
            number = next_number(self.estate_id, "SJ", to_office(collected_at).year)
            return self.transition(
                user, "fee" if self.is_fee else "held", expected_version=expected_version,
                receipt_number=number, collected_at=collected_at, collected_by=user.id)

    def make_refundable(self, user, *, on: dt.date | None = None, note: str = "",
                        expected_version: int | None = None) -> Deposit:
        """The deposit may be returned from `on` (R-DEP-2: acceptance, card returned…).

        A deposit never collected has nothing to return: it is cancelled instead.
        """
        if self.state == "due":
            return self.cancel(user, reason=note or "未收款，无需退还",
                               expected_version=expected_version)
        if self.is_fee:
            raise RuleError({"": gettext("费用不退还")})
        self.require_state(("held",), gettext("该押金当前为“{state}”，不能改为可退"))
        with write_transaction():
            row = self.transition(user, "refundable", expected_version=expected_version,
                                  refundable_on=on or office_day(), refundable_note=note[:200])
            on_deposit_refundable(self)  # the payer is told, today or on the day (#17)
        return row

    def refund(self, user, *, amount: Decimal | str | None = None, to: str,
               refunded_at: dt.datetime | None = None, forfeit_reason: str = "",
               grant: Grant | None = None,
               expected_version: int | None = None) -> Deposit:
        """Finance pays the deposit back, once; a part kept is forfeited with a reason, once a
        manager has approved in their own login or at the desk (R-DEP-2, R-REC-2)."""
        self._require_finance(user, "", gettext("只有财务人员可以办理退款"))
        if self.state == "refunded":
            raise RuleError({"": gettext("该押金已于 %(value)s 退还给%(refunded_to)s，不能重复退款",
                                         value=format(office_day(self.refunded_at), '%Y-%m-%d'),
                                         refunded_to=self.refunded_to)})
        if self.state == "forfeited":
            raise RuleError({"": gettext("该押金已没收，不能退款")})
        if self.is_fee or self.state == "fee":
            raise RuleError({"": gettext("费用不退还")})
        if self.state in ("due", "cancelled"):
            raise RuleError({"": gettext("该押金尚未收款，无款可退")})
        self.require_state(("refundable",),
                           gettext("该押金尚未到可退状态（如装修未验收、出入证未交回）"))
        # Every problem of the refund form at once, each next to its field (#12 item 3).
        errors: dict[str, str] = {}
        try:
            refunded_at = check_moment(refunded_at, field_name="refunded_at",
                                       label=gettext("退款时间"),
                                       not_before=self.collected_at,
                                       before_label=gettext("收款时间"))
        except RuleError as error:
            errors.update(error.errors)
        else:
            if office_day(refunded_at) < self.refundable_on:
                errors["refunded_at"] = (gettext("%(kind_label)s须于 %(refundable_on)s 起方可退还",
                                                 kind_label=self.kind_label,
                                                 refundable_on=format(self.refundable_on,
                                                                      '%Y-%m-%d')))
        try:
            amount = self.amount if amount in (None, "") else MoneyField().clean(amount)
        except (TypeError, ValueError) as exc:
            errors["amount"], amount = str(exc), None
        if amount is not None and amount > self.amount:
            errors["amount"] = gettext("退款金额 %(value)s 超过押金金额 %(value2)s",
                                       value=yuan(amount), value2=yuan(self.amount))
        elif amount is not None and amount <= 0:
            errors["amount"] = gettext("退款金额必须大于 0；全部不退请使用“没收”")
        to = (to or "").strip()
        if not to:
            errors["to"] = gettext("请填写领款人")
        kept = self.amount - amount if "amount" not in errors else Decimal("0")
        if kept > 0 and not (forfeit_reason or "").strip():
            errors["forfeit_reason"] = gettext("部分退款时扣留押金请填写原因")
        # The kept part waits for a manager's own approval (R-REC-2), once the form is right.
        approver = require_grant(self, "refund", grant) if kept > 0 and not errors else None
        if errors:
            raise RuleError(errors)
        values = {"refunded_at": refunded_at, "refunded_to": to[:64], "refunded_by": user.id,
                  "refunded_amount": amount, "forfeited_amount": kept}
        if kept > 0:
            values.update(forfeit_reason=forfeit_reason.strip()[:200],
                          forfeit_approved_by=approver.id, forfeited_at=refunded_at)
        return self.transition(user, "refunded", expected_version=expected_version, **values)

    def forfeit(self, user, *, reason: str, grant: Grant | None = None,
                forfeited_at: dt.datetime | None = None,
                expected_version: int | None = None) -> Deposit:
        """Keep the whole deposit (damage, lost card) — with a reason, once a manager has
        approved in their own login or at the desk (R-DEP-2, R-REC-2)."""
        self._require_finance(user, "", gettext("只有财务人员可以登记没收"))
        self.require_state(("held", "refundable"), gettext("该款项当前为“{state}”，不能没收"))
        errors = {} if (reason or "").strip() else {
            "forfeit_reason": gettext("没收押金时请填写原因")}
        forfeited_at = gather(errors, check_moment, not_before_grant(forfeited_at, grant),
                              field_name="forfeited_at", label=gettext("没收时间"),
                              not_before=self.collected_at, before_label=gettext("收款时间"))
        if errors:
            raise RuleError(errors)
        approver = require_grant(self, "forfeit", grant)
        return self.transition(user, "forfeited", expected_version=expected_version,
                               forfeited_amount=self.amount, refunded_amount=Decimal("0.00"),
                               forfeit_reason=reason.strip()[:200],
                               forfeit_approved_by=approver.id, forfeited_at=forfeited_at)

    def cancel(self, user, *, reason: str, expected_version: int | None = None) -> Deposit:
        """Drop money that was asked for but never collected (the pass or application ended)."""
        self.require_state(("due",), gettext("只有未收款的款项可以取消；已收的押金只能退还或没收"))
        if not (reason or "").strip():
            raise RuleError({"reason": gettext("请填写取消原因")})
        return self.transition(user, "cancelled", expected_version=expected_version,
                               note=reason.strip()[:200])

    # -- queries the views and the nightly job share -------------------------------------------

    @classmethod
    def refundable_not_refunded(cls, now: dt.datetime, days: int = 30):
        """Refundable for more than `days` days and still not paid back (R-DEP-2)."""
        cutoff = office_day(now) - dt.timedelta(days=days)
        return cls.select().where(cls.state == "refundable", cls.refundable_on < cutoff)

    @classmethod
    def uncollected(cls, now: dt.datetime, days: int = 3):
        """Asked for more than `days` days ago and still not collected by finance."""
        return cls.select().where(cls.state == "due",
                                  cls.created_at < now - dt.timedelta(days=days))

    @classmethod
    def totals(cls, estate_ids) -> dict[int, LedgerTotals]:
        """Per estate: collected, held, refundable (and due now), refunded, forfeited, fees.

        From the totals kept per estate and state (deposit_total, kept by triggers in the
        deposit's own transaction, migration 028): a few rows per estate, not every deposit
        (#14). What is refundable today is summed from the refundable deposits alone."""
        today = office_day()
        result: dict[int, LedgerTotals] = {}
        rows = (DEPOSIT_TOTAL.select(DEPOSIT_TOTAL.estate_id, DEPOSIT_TOTAL.state,
                                     DEPOSIT_TOTAL.amount_cents, DEPOSIT_TOTAL.refunded_cents,
                                     DEPOSIT_TOTAL.forfeited_cents)
                .where(DEPOSIT_TOTAL.estate_id.in_(list(estate_ids)),
                       DEPOSIT_TOTAL.deposits > 0).tuples())
        for estate_id, state, *cents in rows:
            result.setdefault(estate_id, LedgerTotals()).add(state, *map(_from_cents, cents))
        # SQLite keeps money as REAL: sum whole cents so the totals stay exact.
        due_now = (cls.select(cls.estate, fn.COALESCE(fn.SUM(fn.ROUND(cls.amount * 100)), 0)
                              .alias("amount"))
                   .where(cls.estate.in_(list(estate_ids)), cls.state == "refundable",
                          cls.refundable_on <= today).group_by(cls.estate).dicts())
        for row in due_now:
            result.setdefault(row["estate"], LedgerTotals()).refundable_now = \
                _from_cents(row["amount"])
        return result


def _from_cents(value) -> Decimal:
    return (Decimal(int(round(value))) / 100).quantize(CENT)


@dataclass
class LedgerTotals:
    """Where the money of one estate is; `balanced` is the ledger's invariant."""

    collected: Decimal = field(default_factory=lambda: Decimal("0.00"))
    held: Decimal = field(default_factory=lambda: Decimal("0.00"))
    refundable: Decimal = field(default_factory=lambda: Decimal("0.00"))
    refundable_now: Decimal = field(default_factory=lambda: Decimal("0.00"))
    refunded: Decimal = field(default_factory=lambda: Decimal("0.00"))
    forfeited: Decimal = field(default_factory=lambda: Decimal("0.00"))
    fees: Decimal = field(default_factory=lambda: Decimal("0.00"))
    due: Decimal = field(default_factory=lambda: Decimal("0.00"))

    def add(self, state: str, amount: Decimal, refunded: Decimal, forfeited: Decimal) -> None:
        if state in COLLECTED_STATES:
            self.collected += amount
        if state == "held":
            self.held += amount
        elif state == "refundable":
            self.refundable += amount
        elif state == "fee":
            self.fees += amount
        elif state == "due":
            self.due += amount
        elif state in ("refunded", "forfeited"):
            self.refunded += refunded
            self.forfeited += forfeited

    @property
    def balanced(self) -> bool:
        return (self.held + self.refundable + self.refunded + self.forfeited + self.fees
                == self.collected)


# The ledger's default order (newest first), its state filter and its sort by amount, stopped
# after the page instead of sorting every deposit of the estates (migration 025, #14).
Deposit.add_index(Deposit.index(Deposit.created_at, name="deposit_list_order"))
Deposit.add_index(Deposit.index(Deposit.state, Deposit.created_at, name="deposit_state_order"))
Deposit.add_index(Deposit.index(Deposit.amount, name="deposit_amount_order"))
# The ledger's totals per estate (Deposit.totals) summed from the index alone (migration 025).
Deposit.add_index(Deposit.index(Deposit.estate, Deposit.state, Deposit.amount,
                                Deposit.refunded_amount, Deposit.forfeited_amount,
                                Deposit.refundable_on, name="deposit_ledger_totals"))
# The ledger's totals per estate and state, kept by triggers on deposit (migration 028, #14):
# deposits, and their amount, refunded and forfeited parts in whole cents.
DEPOSIT_TOTAL = Table("deposit_total", ("estate_id", "state", "deposits", "amount_cents",
                                        "refunded_cents", "forfeited_cents")).bind(db)
