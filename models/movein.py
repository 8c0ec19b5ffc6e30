"""Move-in (入伙, R-MOVE-1/2): one record per unit hand-over, six steps as a checklist.

Each step is recorded with who and when, in the manual's order (a step follows the one before
it, in time too): the fees and the maintenance fund with their receipt numbers at step 5, the
inspection, rectification list and keys at step 6. Step 3 registers the owner as a resident of
the unit; step 6 hands over the unit's key sets through the keys register (models/keys.py,
R-KEY-1) and completes the move-in. `current_step` says where each hand-over is stuck.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from flask_babel import gettext
from peewee import SQL, BooleanField, CharField, ForeignKeyField, IntegerField, TextField

from models.base import (
    AwareDateTimeField,
    MoneyField,
    PhoneField,
    RuleError,
    check_moment,
    office_day,
    to_office,
    utcnow,
    write_transaction,
)
from models.calendar import next_number
from models.i18n import L_, N_, LazyText
from models.keys import KeySet
from models.org import Resident, Unit, _same_estate
from models.register import RegisterModel, StatefulMixin, change_record, save_record
from models.steps import gather
from models.users import User, in_department
from models.validators import clean_money

# (number, short name, what the manual asks) — R-MOVE-1.
STEPS = [
    (1, N_("地产手续"), N_("业主持入住会签单和入住通知书到地产办理第一步手续")),
    (2, N_("发放手册"), N_("发放业户手册和装修指南，业主签收，复印身份证")),
    (3, N_("住户登记"), N_("业主填写住户登记表，签订消防安全协议书和精神文明公约")),
    (4, N_("受理签章"), N_("完成以上工作后受理人签字并盖章")),
    (5, N_("财务缴费"), N_("到财务缴纳物业费和维修基金并盖章")),
    (6, N_("验房交钥匙"), N_("专人带业主验房，填写收楼书和整改单，交钥匙并填写回执")),
]
STEP_NAMES = {n: name for n, name, _ in STEPS}
DONE = 7  # current_step after the sixth: the move-in is complete
FINANCE_STEP = 5  # fees and maintenance fund: finance's step (R-MOVE-1, R-REC-3)


def may_do_step(user, n: int) -> bool:
    """Step 5 is finance's; the others belong to the desk and the departments."""
    return in_department(user, "finance") if n == FINANCE_STEP else True
def _stuck_at(n: int, name: str) -> str:
    return gettext("卡在第%(n)s步：%(name)s", n=n, name=gettext(name))


PROGRESS = [(n, LazyText(_stuck_at, n, name)) for n, name, _ in STEPS] + [(DONE, L_("已完成"))]


def step_label(n: int) -> str:
    return dict(PROGRESS).get(n, "")


class MoveIn(StatefulMixin, RegisterModel):
    """One unit's hand-over to its owner, step by step."""

    # The checklist's position is the row's state: step n moves it to n + 1 (DONE after 6).
    state_field = "current_step"

    number = CharField(max_length=20, default="", index=True, verbose_name=L_("编号"))
    unit = ForeignKeyField(Unit, backref="move_ins", on_delete="RESTRICT", verbose_name=L_("房屋"))
    owner = ForeignKeyField(Resident, null=True, backref="move_ins", on_delete="RESTRICT",
                            verbose_name=L_("业主"),
                            help_text=L_("已登记的业主；未登记的在第3步登记"))
    owner_name = CharField(max_length=32, default="", verbose_name=L_("业主姓名"))
    owner_phone = PhoneField(default="", verbose_name=L_("业主电话"))
    current_step = IntegerField(default=1, choices=PROGRESS, index=True, verbose_name=L_("进度"))
    step1_at = AwareDateTimeField(null=True, verbose_name=L_("1 地产手续时间"))
    step1_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                               verbose_name=L_("1 经办人"))
    step2_at = AwareDateTimeField(null=True, verbose_name=L_("2 发放手册时间"))
    step2_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                               verbose_name=L_("2 经办人"))
    id_copied = BooleanField(default=False, verbose_name=L_("已复印身份证"))
    step3_at = AwareDateTimeField(null=True, verbose_name=L_("3 住户登记时间"))
    step3_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                               verbose_name=L_("3 经办人"))
    agreements_signed = BooleanField(default=False, verbose_name=L_("已签消防协议和文明公约"))
    step4_at = AwareDateTimeField(null=True, verbose_name=L_("4 受理签章时间"))
    step4_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                               verbose_name=L_("4 受理人"))
    step5_at = AwareDateTimeField(null=True, verbose_name=L_("5 财务缴费时间"))
    step5_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                               verbose_name=L_("5 经办人"))
    property_fee = MoneyField(null=True, verbose_name=L_("物业费(元)"))
    property_fee_receipt = CharField(max_length=32, default="", verbose_name=L_("物业费收据号"))
    maintenance_fund = MoneyField(null=True, verbose_name=L_("维修基金(元)"))
    maintenance_fund_receipt = CharField(max_length=32, default="",
                                         verbose_name=L_("维修基金收据号"))
    step6_at = AwareDateTimeField(null=True, verbose_name=L_("6 验房交钥匙时间"))
    step6_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                               verbose_name=L_("6 经办人"))
    inspection_notes = TextField(default="", verbose_name=L_("验房情况(收楼书)"))
    rectification_items = TextField(default="", verbose_name=L_("整改单"))
    keys_count = IntegerField(default=0, verbose_name=L_("交付钥匙(把)"))
    key_receipt_signed = BooleanField(default=False, verbose_name=L_("业主已签钥匙回执"))
    key_sets_issued = IntegerField(default=0, verbose_name=L_("钥匙台账交付(套)"),
                                   help_text=L_("钥匙登记中本房屋的钥匙同时登记为交付业主"))
    completed_at = AwareDateTimeField(null=True, verbose_name=L_("完成时间"))
    notes = CharField(max_length=200, default="", verbose_name=L_("备注"))

    class Meta:
        table_name = "move_in"

    def __str__(self) -> str:
        unit = self.unit.code if self.unit_id else ""
        number = self.number or gettext("新入伙")
        return f"{number} {unit} {self.owner_name}".strip()

    @property
    def progress_label(self) -> str:
        return step_label(self.current_step)

    def steps(self) -> list[dict]:
        """The checklist as the details page and the print show it."""
        rows = []
        for n, name, text in STEPS:
            by = getattr(self, f"step{n}_by")
            rows.append({"n": n, "name": name, "text": text, "at": getattr(self, f"step{n}_at"),
                         "by": by.display_name if by else "", "current": n == self.current_step})
        return rows

    def validate(self):
        yield from _same_estate(self, "estate", ("unit",))
        if self.owner_id:
            owner = Resident.get_or_none(Resident.id == self.owner_id)
            if owner is not None and self.unit_id and owner.unit_id != self.unit_id:
                yield "owner", gettext("所选业主不是该房屋的住户")
        if self.unit_id and self.estate_id:
            twin = MoveIn.select().where(MoveIn.unit == self.unit_id,
                                         MoveIn.voided == False)  # noqa: E712
            if self.id:
                twin = twin.where(MoveIn.id != self.id)
            other = twin.first()
            if other is not None:
                yield "unit", gettext("该房屋已有入伙记录 %(number)s，不能重复登记",
                                      number=other.number)
        previous = None
        for n in range(1, 7):
            at = getattr(self, f"step{n}_at")
            if at is not None and n > 1 and previous is None:
                yield f"step{n}_at", gettext("请先完成第%(value)s步", value=n - 1)
            if at is not None and previous is not None and at < previous:
                yield f"step{n}_at", gettext("第%(n)s步的时间不能早于第%(value)s步",
                                             n=n, value=n - 1)
            previous = at

    def before_create(self, user) -> None:
        self.number = next_number(self.estate_id, "RH", to_office(utcnow()).year)
        if self.owner_id and not self.owner_name:
            owner = Resident.get_by_id(self.owner_id)
            self.owner_name, self.owner_phone = owner.name, self.owner_phone or owner.phone

    # -- the checklist --------------------------------------------------------------------

    def do_step(self, user, n: int, *, at: dt.datetime | None = None,
                expected_version: int | None = None, **details) -> None:
        """Record step n as done by `user` at `at` (now if empty), with its own details."""
        self.require_state(doing=gettext("登记"))
        if n not in STEP_NAMES:
            raise RuleError({"": gettext("没有这一步")})
        if self.current_step == DONE or getattr(self, f"step{n}_at") is not None:
            raise RuleError({"": gettext("第%(n)s步已经完成", n=n)})
        if n != self.current_step:
            current = self.current_step
            raise RuleError({"": gettext("请先完成第%(current)s步：%(value)s",
                                         current=current, value=STEP_NAMES[current])})
        if not may_do_step(user, n):
            # R-MOVE-1 (5), R-REC-3: finance collects the fees and stamps, nobody else.
            raise RuleError({"": gettext("第5步（收取物业费和维修基金）由财务人员办理")})
        previous = getattr(self, f"step{n - 1}_at") if n > 1 else None
        errors = {}
        at = gather(errors, check_moment, at, field_name="at", label=gettext("办理时间"),
                    not_before=previous,
                    before_label=gettext("第%(value)s步的时间", value=n - 1))
        handler = getattr(self, f"_step{n}_values", None)
        values = (gather(errors, handler, user, at, **details) if handler else None) or {}
        if errors:
            raise RuleError(errors)
        values.update({f"step{n}_at": at, f"step{n}_by": user.id if user else None})
        if n == 6:
            values["completed_at"] = at
        with write_transaction():
            if n == 3 and not self.owner_id:
                values["owner"] = self._register_owner(user, at)
            if n == 6:
                values["key_sets_issued"] = self._issue_key_sets(user, at)
                self._mark_unit_occupied(user)
            self.transition(user, n + 1, expected_version=expected_version, **values)

    def _step2_values(self, user, at, *, id_copied: bool = False, **_) -> dict:
        if not id_copied:
            raise RuleError({"id_copied": gettext("发放手册时须复印业主身份证，请复印后勾选")})
        return {"id_copied": True}

    def _step3_values(self, user, at, *, agreements_signed: bool = False, **_) -> dict:
        errors = {}
        if not agreements_signed:
            errors["agreements_signed"] = gettext("业主须签订消防安全协议书和精神文明公约")
        if not self.owner_id and not (self.owner_name or "").strip():
            errors["owner_name"] = gettext("请先填写业主姓名，住户登记时登记为该房屋业主")
        if errors:
            raise RuleError(errors)
        return {"agreements_signed": True}

    def _step5_values(self, user, at, *, property_fee=None, property_fee_receipt: str = "",
                      maintenance_fund=None, maintenance_fund_receipt: str = "", **_) -> dict:
        """R-MOVE-1 (5): the property fee and the maintenance fund, each with its receipt."""
        errors, values = {}, {}
        for name, label, receipt_name, receipt in (
                ("property_fee", "物业费", "property_fee_receipt", property_fee_receipt),
                ("maintenance_fund", "维修基金", "maintenance_fund_receipt",
                 maintenance_fund_receipt)):
            amount = {"property_fee": property_fee, "maintenance_fund": maintenance_fund}[name]
            try:
                values[name] = clean_money(amount) if amount not in (None, "") else None
            except (TypeError, ValueError) as exc:
                errors[name] = str(exc)
            else:
                if values[name] is None or values[name] <= Decimal("0"):
                    errors[name] = gettext("请填写缴纳的%(label)s金额", label=label)
            if not (receipt or "").strip():
                errors[receipt_name] = gettext("请填写%(label)s的收据号", label=label)
            values[receipt_name] = (receipt or "").strip()[:32]
        if errors:
            raise RuleError(errors)
        return values

    def _step6_values(self, user, at, *, inspection_notes: str = "",
                      rectification_items: str = "", keys_count=None,
                      key_receipt_signed: bool = False, **_) -> dict:
        errors = {}
        if not (inspection_notes or "").strip():
            errors["inspection_notes"] = gettext("请填写验房情况（收楼书）")
        try:
            keys = int(keys_count or 0)
        except (TypeError, ValueError):
            keys = 0
        if not 1 <= keys <= 50:
            errors["keys_count"] = gettext("请填写交付的钥匙把数（1 到 50）")
        if not key_receipt_signed:
            errors["key_receipt_signed"] = gettext("业主须在钥匙回执上签字")
        if errors:
            raise RuleError(errors)
        return {"inspection_notes": inspection_notes.strip(),
                "rectification_items": (rectification_items or "").strip() or "无",
                "keys_count": keys, "key_receipt_signed": True}

    def _register_owner(self, user, at) -> int:
        """Step 3's resident registration form makes the owner a resident of the unit."""
        owner = Resident(estate=self.estate_id, unit=self.unit_id, name=self.owner_name,
                         kind="owner", phone=self.owner_phone or "", moved_in=office_day(at))
        return save_record(owner, user).id

    def _issue_key_sets(self, user, at) -> int:
        """Step 6 hands the keys over: every set the office holds for the unit goes to the owner
        through the keys register, so R-KEY-4 can still say where each key is."""
        sets = KeySet.select().where(KeySet.unit == self.unit_id, KeySet.location == "office",
                                     KeySet.voided == False)  # noqa: E712
        issued = 0
        for key_set in sets:
            key_set.issue_to_owner(user, owner_name=self.owner_name or "业主", at=at)
            issued += 1
        return issued

    def _mark_unit_occupied(self, user) -> None:
        unit = Unit.get_by_id(self.unit_id)
        if unit.state == "vacant":
            change_record(unit, user, state="occupied")

    @classmethod
    def stuck_at(cls, n: int):
        return cls.select().where(cls.current_step == n, cls.voided == False)  # noqa: E712


# One live move-in per unit: a unit is handed over once (a wrong record is voided first).
MoveIn.add_index(MoveIn.unit, unique=True, where=SQL("NOT voided"), name="move_in_once_per_unit")
