"""Access passes (出入证, R-PASS-1, R-PASS-2, R-PASS-6); the hot-work permit and the goods
release slip are in models/permits.py.

Each pass gets a unique number per estate and year from `models.calendar.next_number`
(CR-2026-00042) and prints on paper. Passes are valid through a day; past it and not handed back
they are "expired but not returned". A pass can be returned or cancelled (lost, or otherwise).

* 装修工人出入证 (WorkerPass): belongs to a unit's decoration permit, at most 3 months and never
  beyond the permit. Money before paper (R-REC-3, R-PASS-1): the desk registers an application
  (待缴费), which asks the ledger for the 50-yuan deposit and the 5-yuan card fee; only once
  finance has collected both is the card issued, numbered and printable. Handing the card back
  makes the deposit refundable.
* 临时出入证 (TemporaryPass): 3 days counting the issue day.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext
from peewee import SQL, BooleanField, CharField, DateField, ForeignKeyField

from models import deadlines
from models.base import (
    AwareDateTimeField,
    DocTypeField,
    DocumentNumberField,
    PhoneField,
    RuleError,
    check_moment,
    office_day,
    to_office,
    utcnow,
    write_transaction,
)
from models.calendar import next_number
from models.decoration import Decoration
from models.deposits import Deposit
from models.i18n import L_, N_
from models.org import Unit, _same_estate
from models.register import RegisterModel, StatefulMixin
from models.users import User

WORKER_PASS_MONTHS = 3  # R-PASS-1: valid at most 3 months
TEMPORARY_PASS_DAYS = 3  # R-PASS-2: valid 3 days, counting the issue day

PASS_STATES = [
    ("applied", L_("待缴费")),  # a worker pass before finance has the money (R-REC-3)
    ("issued", L_("有效")),
    ("returned", L_("已交回")),
    ("cancelled", L_("已注销")),
]
PASS_STATE_LABELS = dict(PASS_STATES)
CANCEL_REASONS = [("lost", L_("遗失")), ("other", L_("其他"))]
ISSUED_ONLY = N_("该证件已是“{state}”状态")


class IssuedPass(StatefulMixin, RegisterModel):
    """What every access pass has: number, holder and ID, validity, return or cancellation."""

    voided_message = N_("该证件已作废")

    number = CharField(max_length=20, default="", verbose_name=L_("证件编号"))
    holder_name = CharField(max_length=32, verbose_name=L_("姓名"))
    doc_type = DocTypeField()
    id_number = DocumentNumberField(verbose_name=L_("证件号码"),
                                    help_text=L_("列表、导出和日志中只显示部分号码"))
    phone = PhoneField(default="", verbose_name=L_("联系电话"))
    issued_at = AwareDateTimeField(default=utcnow, verbose_name=L_("办证时间"))
    valid_from = DateField(null=True, verbose_name=L_("有效期自"))
    valid_to = DateField(null=True, index=True, verbose_name=L_("有效期至"))
    state = CharField(max_length=16, choices=PASS_STATES, default="issued", index=True,
                      verbose_name=L_("状态"))
    returned_at = AwareDateTimeField(null=True, verbose_name=L_("交回时间"))
    returned_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                  verbose_name=L_("收回人"))
    cancel_reason = CharField(max_length=16, null=True, choices=CANCEL_REASONS,
                              verbose_name=L_("注销原因"))
    cancel_note = CharField(max_length=200, default="", verbose_name=L_("注销说明"))

    PREFIX = ""

    def __str__(self) -> str:
        number = self.number or gettext("出入证申请")
        return f"{number} {self.holder_name}"

    @property
    def state_label(self) -> str:
        return PASS_STATE_LABELS.get(self.state, self.state)

    def is_expired(self, now: dt.datetime | None = None) -> bool:
        return bool(self.valid_to and office_day(now) > self.valid_to)

    def validate(self):
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            yield "valid_to", gettext("有效期至不能早于有效期自")
        if self.issued_at and self.issued_at > utcnow() + dt.timedelta(minutes=5):
            yield "issued_at", gettext("办证时间不能晚于现在")

    def before_create(self, user) -> None:
        self.number = self.next_number(self.issued_at)

    def next_number(self, moment) -> str:
        return next_number(self.estate_id, self.PREFIX, to_office(moment or utcnow()).year)

    def return_pass(self, user, *, returned_at: dt.datetime | None = None,
                    expected_version: int | None = None) -> None:
        """The holder hands the pass back (on time, early or late) and it is struck off."""
        self.require_state(("issued",), ISSUED_ONLY)
        returned_at = check_moment(returned_at, field_name="returned_at", label=gettext("交回时间"),
                                   not_before=self.issued_at, before_label=gettext("办证时间"))
        self.transition(user, "returned", expected_version=expected_version,
                        returned_at=returned_at, returned_by=user.id if user else None)

    def cancel(self, user, *, reason: str, note: str = "",
               expected_version: int | None = None) -> None:
        """注销 a pass that will not come back (lost, …)."""
        self.require_state(("issued",), ISSUED_ONLY)
        if reason not in dict(CANCEL_REASONS):
            raise RuleError({"reason": gettext("请选择注销原因")})
        if reason == "other" and not (note or "").strip():
            raise RuleError({"note": gettext("请填写注销说明")})
        self.transition(user, "cancelled", expected_version=expected_version,
                        cancel_reason=reason, cancel_note=(note or "").strip()[:200])

    @classmethod
    def live(cls):
        return cls.select().where(cls.voided == False)  # noqa: E712

    @classmethod
    def expired_not_returned(cls, now: dt.datetime):
        """Past the last valid day and still not handed back."""
        return cls.live().where(cls.state == "issued", cls.valid_to < office_day(now))


class WorkerPass(IssuedPass):
    """装修工人出入证 (R-PASS-1)."""

    PREFIX = "CR"

    # No number until the card is issued (R-REC-3): an application is not a pass.
    number = CharField(max_length=20, null=True, verbose_name=L_("证件编号"))
    state = CharField(max_length=16, choices=PASS_STATES, default="applied", index=True,
                      verbose_name=L_("状态"))
    unit = ForeignKeyField(Unit, backref="worker_passes", on_delete="RESTRICT",
                           verbose_name=L_("施工房屋"))
    decoration = ForeignKeyField(Decoration, null=True, backref="worker_passes",
                                 on_delete="RESTRICT", verbose_name=L_("装修许可证"),
                                 help_text=L_("按房屋自动关联施工中的装修许可证"))
    employer = CharField(max_length=64, default="", verbose_name=L_("装修企业"))
    trade = CharField(max_length=16, default="", verbose_name=L_("工种"),
                      help_text=L_("如 水电、木工、油漆"))
    checked_construction_permit = BooleanField(default=False, verbose_name=L_("已验施工许可证"))
    checked_id = BooleanField(default=False, verbose_name=L_("已验身份证并留复印件"))
    checked_residence_permit = BooleanField(default=False, verbose_name=L_("已验暂住证"))
    deposit = ForeignKeyField(Deposit, null=True, backref="+", on_delete="RESTRICT",
                              verbose_name=L_("押金"))
    card_fee = ForeignKeyField(Deposit, null=True, backref="+", on_delete="RESTRICT",
                               verbose_name=L_("工本费"))

    class Meta:
        table_name = "worker_pass"
        indexes = (
            # R-PASS-6: one number, one pass, per estate.
            (("estate", "number"), True),
            (("estate", "state", "valid_to"), False),
        )

    DOCUMENTS = (("checked_construction_permit", L_("施工许可证")), ("checked_id", L_("身份证")),
                 ("checked_residence_permit", L_("暂住证")))

    def _permit(self) -> Decoration | None:
        if self.decoration_id:
            return Decoration.get_or_none(Decoration.id == self.decoration_id)
        return Decoration.permit_for_unit(self.unit_id) if self.unit_id else None

    def validate(self):
        yield from super().validate()
        yield from _same_estate(self, "estate", ("unit",))
        if self.id is None:
            for name, label in self.DOCUMENTS:
                if not getattr(self, name):
                    yield name, gettext("须查验%(label)s后才能办证（R-PASS-1）", label=label)
        if not self.unit_id:
            return
        permit = self._permit()
        if self.id is None and (permit is None or permit.voided
                                or permit.state not in ("permitted", "defects")):
            yield "unit", gettext("该房屋没有有效的装修许可证，不能办理装修工人出入证")
            return
        if permit is None:
            return
        if permit.unit_id != self.unit_id:
            yield "decoration", gettext("所选装修许可证不属于该房屋")
            return
        start = self.valid_from or office_day(self.issued_at)
        if self.valid_to:
            latest = deadlines.add_months(start, WORKER_PASS_MONTHS)
            if self.valid_to > latest:
                yield "valid_to", (gettext("出入证有效期最长 3 个月：自 %(start)s 起最晚至 "
                                           "%(latest)s",
                                           start=format(start, '%Y-%m-%d'),
                                           latest=format(latest, '%Y-%m-%d')))
            elif self.valid_to > permit.works_end:
                yield "valid_to", (gettext("不能超过装修许可证 %(permit_number)s 的有效期 "
                                           "%(works_end)s",
                                           permit_number=permit.permit_number,
                                           works_end=format(permit.works_end, '%Y-%m-%d')))
        if permit.permit_issued_at and start < office_day(permit.permit_issued_at):
            yield "valid_from", gettext("有效期不能早于装修许可证的发证日期")

    def before_create(self, user) -> None:
        # The application: no number yet, the money asked of the ledger (R-REC-3, R-DEP-1).
        permit = self._permit()
        self.state = "applied"
        self.decoration = permit.id
        self.employer = self.employer or permit.contractor
        self.valid_from = self.valid_from or office_day(self.issued_at)
        if not self.valid_to:
            # Unless told otherwise: as long as the rules allow.
            self.valid_to = min(deadlines.add_months(self.valid_from, WORKER_PASS_MONTHS),
                                permit.works_end)
        # R-PASS-1: finance takes a 50-yuan deposit and a 5-yuan card fee for the card.
        what = f"装修工人出入证申请（{permit.unit.code} {self.holder_name}）"
        self.deposit = Deposit.ask(user, estate_id=self.estate_id, kind="pass_deposit",
                                   payer=self.holder_name, payer_phone=self.phone,
                                   purpose=f"{what}押金").id
        self.card_fee = Deposit.ask(user, estate_id=self.estate_id, kind="card_fee",
                                    payer=self.holder_name, payer_phone=self.phone,
                                    purpose=f"{what}工本费").id

    def unpaid(self) -> list[str]:
        """What finance has not yet recorded as paid (the deposit, the card fee)."""
        return [money.kind_label for money in (self.deposit, self.card_fee)
                if money is None or money.state not in ("held", "fee")]

    def issue(self, user, *, issued_at: dt.datetime | None = None,
              expected_version: int | None = None) -> None:
        """Issue the numbered card once finance has recorded the deposit and the card fee in
        the ledger (R-REC-3, R-PASS-1, R-PASS-6); until then it stays an application."""
        self.require_state(("applied",), gettext("该出入证已是“{state}”状态"))
        unpaid = self.unpaid()
        if unpaid:
            raise RuleError({"": gettext("%(unpaid)s 尚未由财务收款登记，"
                                         "不能发证（先交费，后发证）",
                                         unpaid="、".join(map(str, unpaid)))})
        paid_at = max(m.collected_at for m in (self.deposit, self.card_fee))
        issued_at = check_moment(issued_at, field_name="issued_at", label=gettext("发证时间"),
                                 not_before=max(paid_at, self.issued_at or paid_at),
                                 before_label=gettext("申请及收款时间"))
        day = office_day(issued_at)
        values = {"issued_at": issued_at, "number": self.next_number(issued_at)}
        if self.valid_from and self.valid_from < day:
            values["valid_from"] = day
            if self.valid_to and self.valid_to < day:
                raise RuleError({"": gettext("申请的有效期已过，请注销该申请后重新办理")})
        with write_transaction():
            self.transition(user, "issued", expected_version=expected_version, **values)

    def cancel(self, user, *, reason: str, note: str = "",
               expected_version: int | None = None) -> None:
        """注销 a card (lost, …) or withdraw an application: money never collected is dropped,
        a deposit already held stays in the ledger for finance (R-DEP-2)."""
        if self.state != "applied":
            return super().cancel(user, reason=reason, note=note,
                                  expected_version=expected_version)
        self.require_state(("applied",), ISSUED_ONLY)
        if reason not in dict(CANCEL_REASONS):
            raise RuleError({"reason": gettext("请选择注销原因")})
        with write_transaction():
            self.transition(user, "cancelled", expected_version=expected_version,
                            cancel_reason=reason, cancel_note=(note or "").strip()[:200])
            for money in (self.deposit, self.card_fee):
                if money is not None and money.state == "due":
                    money.cancel(user, reason="出入证申请已注销，未收款")
                elif money is not None and money.state == "held":
                    money.make_refundable(user, on=office_day(), note="出入证申请已注销")

    def return_pass(self, user, *, returned_at: dt.datetime | None = None,
                    expected_version: int | None = None) -> None:
        """The card comes back: its deposit becomes refundable that day (R-DEP-2)."""
        with write_transaction():
            super().return_pass(user, returned_at=returned_at,
                                expected_version=expected_version)
            if self.deposit is not None and self.deposit.state in ("due", "held"):
                self.deposit.make_refundable(user, on=office_day(self.returned_at),
                                             note=f"出入证 {self.number} 已交回")
            if self.card_fee is not None and self.card_fee.state == "due":
                self.card_fee.cancel(user, reason=f"出入证 {self.number} 已交回，未收工本费")

    @property
    def paid(self) -> bool:
        return self.deposit is not None and self.deposit.state != "due"


class TemporaryPass(IssuedPass):
    """临时出入证 (R-PASS-2): ID shown and registered; valid 3 days counting the issue day."""

    PREFIX = "LS"

    purpose = CharField(max_length=100, verbose_name=L_("事由"),
                        help_text=L_("如 送货、探访、维修"))
    unit = ForeignKeyField(Unit, null=True, backref="+", on_delete="RESTRICT",
                           verbose_name=L_("前往房屋"))

    class Meta:
        table_name = "temporary_pass"
        indexes = (
            (("estate", "number"), True),
            (("estate", "state", "valid_to"), False),
        )

    def validate(self):
        yield from super().validate()
        yield from _same_estate(self, "estate", ("unit",))

    def before_create(self, user) -> None:
        super().before_create(user)
        # The validity is the rule's, not the clerk's: issue day plus two.
        self.valid_from = office_day(self.issued_at)
        self.valid_to = deadlines.valid_through(self.valid_from, TEMPORARY_PASS_DAYS)


# The overdue sweep's "temporary pass expired, not handed back" (R-PASS-2), from the index
# alone, without skipping through every estate of (estate, state, valid_to) (migration 023, #15).
TemporaryPass.add_index(TemporaryPass.index(TemporaryPass.state, TemporaryPass.valid_to,
                                            TemporaryPass.voided, TemporaryPass.estate,
                                            TemporaryPass.id, name="temporary_pass_sweep"))
# The grid's newest-first page for a user of several estates (migration 024, #14).
TemporaryPass.add_index(TemporaryPass.index(TemporaryPass.voided, TemporaryPass.issued_at,
                                            name="temporary_pass_list_order"))
# A deposit's page names the worker pass it belongs to, among the passes with a deposit or card
# fee (migration 032, #14; as decoration_owner_deposit).
WorkerPass.add_index(WorkerPass.index(WorkerPass.deposit, name="worker_pass_deposit",
                                      where=SQL("deposit_id IS NOT NULL")))
WorkerPass.add_index(WorkerPass.index(WorkerPass.card_fee, name="worker_pass_card_fee",
                                      where=SQL("card_fee_id IS NOT NULL")))
# The grid sorted by number (the order of issue) across the user's estates, stopped after the
# page (migration 034, #14).
TemporaryPass.add_index(TemporaryPass.index(TemporaryPass.voided, TemporaryPass.number,
                                            name="temporary_pass_number_order"))
