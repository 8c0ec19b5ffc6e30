"""Keys (钥匙管理, R-KEY-1…4): key sets per unit, every movement, and where each set is now.

A key set starts at the office (handed over by the developer). Movements:

* issue (交付业主): after the inspection the set goes to the owner (R-KEY-1);
* keep (留存整改): with the owner's consent the office keeps a set for rectification work and
  gives the owner a numbered, stamped receipt (R-KEY-1);
* collect (凭收条领取): when decoration starts the owner takes it back against that receipt
  (R-KEY-2);
* lend (借出): to developer sales staff or the owner, registered and signed; anyone else only
  once a supervisor has approved in their own login or at the desk (R-KEY-3, R-REC-2);
* return (归还): the loan is struck off and the set goes back where it was.

Each movement is an append-only `KeyMovement` row written in the same transaction as the set's
whereabouts (location, holder, since), so "where is every key and who has held it" (R-KEY-4) is
one indexed query and its history one more.
"""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext
from peewee import BooleanField, CharField, ForeignKeyField, IntegerField

from models.approvals import MANAGER, Approval, Grant, not_before_grant, require_grant
from models.base import (
    AwareDateTimeField,
    PhoneField,
    RuleError,
    VersionedModel,
    check_moment,
    to_office,
    utcnow,
    write_transaction,
)
from models.calendar import next_number
from models.estate import Estate
from models.i18n import L_, N_
from models.org import Unit, _same_estate
from models.register import RegisterModel, StatefulMixin, change_record, save_record
from models.steps import gather
from models.users import User

LOCATIONS = [
    ("office", L_("管理处保管")),
    ("kept", L_("管理处留存(整改)")),
    ("owner", L_("业主持有")),
    ("lent", L_("借出")),
]
LOCATION_LABELS = dict(LOCATIONS)
# Where the office physically holds the set (the hook or box means something).
AT_OFFICE = ("office", "kept")

MOVEMENT_KINDS = [
    ("register", L_("登记入柜")),
    ("issue", L_("交付业主")),
    ("keep", L_("留存整改")),
    ("collect", L_("凭收条领取")),
    ("lend", L_("借出")),
    ("return", L_("归还")),
]
MOVEMENT_LABELS = dict(MOVEMENT_KINDS)
BORROWER_TYPES = [("sales", L_("地产销售")), ("owner", L_("业主")), ("other", L_("其他人员"))]
BORROWER_LABELS = dict(BORROWER_TYPES)
OFFICE = "管理处"


def _describe_loan(row, values: dict) -> str:
    return f"借给 {values.get('borrower_name', '')}，事由：{values.get('purpose', '')}"


class KeySet(StatefulMixin, RegisterModel):
    """One set of keys of a unit, and where it is now."""

    state_field = "location"
    # R-KEY-3: anyone but sales staff or the owner borrows only with a supervisor's approval.
    approvals = {"lend": Approval(
        "lend", "借钥匙给其他人员", rule=lambda row: MANAGER,
        needed=lambda row, values: values.get("borrower_type") == "other",
        moment="at", describe=_describe_loan)}
    voided_message = N_("该钥匙登记已作废")

    unit = ForeignKeyField(Unit, backref="key_sets", on_delete="RESTRICT", verbose_name=L_("房屋"))
    label = CharField(max_length=32, default="入户门钥匙", verbose_name=L_("钥匙名称"),
                      help_text=L_("如 入户门钥匙、信箱钥匙"))
    count = IntegerField(default=1, verbose_name=L_("把数"))
    hook = CharField(max_length=16, default="", verbose_name=L_("钥匙柜位置"),
                     help_text=L_("挂钩或钥匙箱编号，如 A-12"))
    location = CharField(max_length=16, choices=LOCATIONS, default="office", index=True,
                         verbose_name=L_("当前位置"))
    holder = CharField(max_length=64, default=OFFICE, verbose_name=L_("持有人"))
    since = AwareDateTimeField(default=utcnow, verbose_name=L_("持有自"))
    notes = CharField(max_length=200, default="", verbose_name=L_("备注"))

    class Meta:
        table_name = "key_set"
        indexes = ((("estate", "location"), False),)

    def __str__(self) -> str:
        unit = self.unit.code if self.unit_id else ""
        return f"{unit} {self.label}".strip()

    @property
    def location_label(self) -> str:
        return LOCATION_LABELS.get(self.location, self.location)

    def whereabouts(self) -> str:
        """In words: 借出（张三，地产销售）自 2026-11-20 14:00."""
        where = self.location_label
        if self.location in AT_OFFICE and self.hook:
            where += f"（{self.hook}）"
        elif self.location not in AT_OFFICE:
            where += f"（{self.holder}）"
        return f"{where} 自 {to_office(self.since):%Y-%m-%d %H:%M}"

    def validate(self):
        yield from _same_estate(self, "estate", ("unit",))
        if self.count is not None and not 1 <= int(self.count) <= 50:
            yield "count", gettext("把数应在 1 到 50 之间")

    def after_create(self, user) -> None:
        KeyMovement.record(self, user, "register", to_location="office", person=OFFICE,
                           at=self.since)

    def history(self):
        return self.movements.order_by(KeyMovement.at, KeyMovement.id)

    def open_loan(self) -> KeyMovement | None:
        return self.movements.where(KeyMovement.kind == "lend",
                                    KeyMovement.returned_at.is_null()).first()

    # -- movements -------------------------------------------------------------------------

    def _require(self, locations: tuple[str, ...], doing: str) -> None:
        self.require_state(locations,
                           gettext("钥匙当前%(value)s，不能%(doing)s",
                                   value=self.whereabouts(), doing=doing))

    def _move(self, user, kind: str, to_location: str, holder: str, at: dt.datetime,
              expected_version: int | None, **details) -> KeyMovement:
        """One movement: the history row and the set's new whereabouts, together."""
        with write_transaction():
            movement = KeyMovement.record(self, user, kind, to_location=to_location,
                                          person=details.pop("person", holder), at=at,
                                          **details)
            self.transition(user, to_location, expected_version=expected_version,
                            holder=holder[:64], since=at)
        return movement

    def _moment(self, at: dt.datetime | None) -> dt.datetime:
        return check_moment(at, field_name="at", label=gettext("时间"), not_before=self.since,
                            before_label=gettext("上一次流转时间"))

    def issue_to_owner(self, user, *, owner_name: str, at: dt.datetime | None = None,
                       expected_version: int | None = None) -> KeyMovement:
        """交付业主 after the inspection (R-KEY-1, R-MOVE-1 step 6)."""
        self._require(("office",), gettext("交付业主"))
        errors = {}
        if not (owner_name or "").strip():
            errors["owner_name"] = gettext("请填写领取钥匙的业主姓名")
        at = gather(errors, self._moment, at)
        if errors:
            raise RuleError(errors)
        return self._move(user, "issue", "owner", owner_name.strip(), at, expected_version)

    def keep_for_rectification(self, user, *, consent_by: str, at: dt.datetime | None = None,
                               expected_version: int | None = None) -> KeyMovement:
        """留存整改 with the owner's consent; the owner gets a numbered receipt (R-KEY-1)."""
        self._require(("office", "owner"), gettext("留存"))
        errors = {}
        if not (consent_by or "").strip():
            errors["consent_by"] = gettext("留存钥匙须经业主同意，请填写同意的业主姓名")
        at = gather(errors, self._moment, at)
        if errors:
            raise RuleError(errors)
        number = next_number(self.estate_id, "YS", to_office(at).year)
        return self._move(user, "keep", "kept", OFFICE, at, expected_version,
                          person=consent_by.strip(), consent_by=consent_by.strip()[:32],
                          number=number)

    def collect(self, user, *, receipt_number: str, collector_name: str,
                at: dt.datetime | None = None,
                expected_version: int | None = None) -> KeyMovement:
        """凭收条领取: the owner takes the kept set back against the stamped receipt (R-KEY-2)."""
        self._require(("kept",), gettext("凭收条领取"))
        errors = {}
        receipt = (self.movements.where(KeyMovement.kind == "keep")
                   .order_by(KeyMovement.id.desc()).first())
        if not (receipt_number or "").strip():
            errors["receipt_number"] = gettext("请填写业主出示的收条编号")
        elif receipt is None or receipt.number != receipt_number.strip().upper():
            errors["receipt_number"] = gettext("收条编号与留存登记不符，请核对业主出示的收条")
        if not (collector_name or "").strip():
            errors["collector_name"] = gettext("请填写领取人姓名")
        at = gather(errors, self._moment, at)
        if errors:
            raise RuleError(errors)
        return self._move(user, "collect", "owner", collector_name.strip(), at,
                          expected_version, receipt_number=receipt.number)

    def lend(self, user, *, borrower_name: str, borrower_type: str, purpose: str,
             expected_return: dt.datetime | None, signed: bool, borrower_phone: str = "",
             at: dt.datetime | None = None, grant: Grant | None = None,
             expected_version: int | None = None) -> KeyMovement:
        """借出, registered and signed; "other" borrowers only once a supervisor has approved
        (R-KEY-3, R-REC-2: the approval is a `Grant` from models.approvals, never a name)."""
        self._require(AT_OFFICE, gettext("借出"))
        approver = None
        if borrower_type == "other":
            approver = require_grant(self, "lend", grant)
        errors = {}
        at = gather(errors, self._moment, not_before_grant(at, grant))
        if not (borrower_name or "").strip():
            errors["borrower_name"] = gettext("请填写借用人姓名")
        if borrower_type not in BORROWER_LABELS:
            errors["borrower_type"] = gettext("请选择借用人类别")
        if not (purpose or "").strip():
            errors["purpose"] = gettext("请填写借用事由")
        if expected_return is None:
            errors["expected_return"] = gettext("请填写预计归还时间")
        elif at is not None and expected_return <= at:
            errors["expected_return"] = gettext("预计归还时间必须晚于借出时间")
        if not signed:
            errors["signed"] = gettext("借用人须在登记簿上签名确认")
        if errors:
            raise RuleError(errors)
        number = next_number(self.estate_id, "JY", to_office(at).year)
        return self._move(user, "lend", "lent", borrower_name.strip(), at, expected_version,
                          number=number, borrower_type=borrower_type,
                          person_phone=borrower_phone or "", purpose=purpose.strip()[:100],
                          expected_return=expected_return, signed=True,
                          approved_by=approver.id if approver else None,
                          approved_at=grant.at if approver else None)

    def return_loan(self, user, *, at: dt.datetime | None = None, returned_by_name: str = "",
                    expected_version: int | None = None) -> KeyMovement:
        """归还: the loan is struck off and the set goes back where it came from (R-KEY-3)."""
        self._require(("lent",), gettext("登记归还"))
        loan = self.open_loan()
        at = self._moment(at)
        with write_transaction():
            back_to = loan.from_location if loan and loan.from_location in AT_OFFICE else "office"
            movement = self._move(user, "return", back_to, OFFICE, at, expected_version,
                                  person=(returned_by_name or (loan.person if loan else ""))
                                  .strip(), loan=loan.id if loan else None)
            if loan is not None:
                change_record(loan, user, returned_at=at, returned_by=user.id if user else None)
        return movement


class KeyMovement(VersionedModel):
    """One movement of a key set (append-only history; a loan is struck off on return)."""

    estate = ForeignKeyField(Estate, backref="+", on_delete="RESTRICT", verbose_name=L_("小区"))
    key_set = ForeignKeyField(KeySet, backref="movements", on_delete="RESTRICT",
                              verbose_name=L_("钥匙"))
    kind = CharField(max_length=16, choices=MOVEMENT_KINDS, verbose_name=L_("流转"))
    number = CharField(max_length=20, null=True, verbose_name=L_("单据编号"),
                       help_text=L_("留存收条（YS）或借用登记（JY）编号"))
    at = AwareDateTimeField(default=utcnow, verbose_name=L_("时间"))
    from_location = CharField(max_length=16, null=True, choices=LOCATIONS,
                              verbose_name=L_("原位置"))
    to_location = CharField(max_length=16, choices=LOCATIONS, verbose_name=L_("去向"))
    person = CharField(max_length=64, default="", verbose_name=L_("经手人/借用人"))
    person_phone = PhoneField(default="", verbose_name=L_("电话"))
    borrower_type = CharField(max_length=16, null=True, choices=BORROWER_TYPES,
                              verbose_name=L_("借用人类别"))
    purpose = CharField(max_length=100, default="", verbose_name=L_("事由"))
    expected_return = AwareDateTimeField(null=True, index=True, verbose_name=L_("预计归还"))
    signed = BooleanField(default=False, verbose_name=L_("已签名"))
    consent_by = CharField(max_length=32, default="", verbose_name=L_("同意留存的业主"))
    receipt_number = CharField(max_length=20, default="", verbose_name=L_("所凭收条"))
    approved_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                  verbose_name=L_("批准主管"))
    approved_at = AwareDateTimeField(null=True, verbose_name=L_("批准时间"))
    loan = ForeignKeyField("self", null=True, backref="returns", on_delete="RESTRICT",
                           verbose_name=L_("对应借出"))
    returned_at = AwareDateTimeField(null=True, verbose_name=L_("归还时间"),
                                     help_text=L_("借出登记在归还时消项"))
    returned_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                  verbose_name=L_("收回人"))
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                 verbose_name=L_("经办客服"))

    class Meta:
        table_name = "key_movement"
        indexes = (
            # Receipt and loan-slip numbers name one document of their estate (others NULL).
            (("estate", "number"), True),
            (("key_set", "at"), False),
            (("kind", "returned_at", "expected_return"), False),
        )

    def __str__(self) -> str:
        return f"{self.number or ''} {self.kind_label} {self.person}".strip()

    @property
    def kind_label(self) -> str:
        return MOVEMENT_LABELS.get(self.kind, self.kind)

    @property
    def borrower_type_label(self) -> str:
        return BORROWER_LABELS.get(self.borrower_type or "", "")

    def is_overdue(self, now: dt.datetime | None = None) -> bool:
        return (self.kind == "lend" and self.returned_at is None
                and self.expected_return is not None and self.expected_return < (now or utcnow()))

    @classmethod
    def record(cls, key_set: KeySet, user, kind: str, *, to_location: str, person: str,
               at: dt.datetime, **details) -> KeyMovement:
        details.setdefault("from_location", key_set.location if kind != "register" else None)
        movement = cls(estate=key_set.estate_id, key_set=key_set.id, kind=kind, at=at,
                       to_location=to_location, person=(person or "")[:64], **details)
        return save_record(movement, user)

    @classmethod
    def overdue_loans(cls, now: dt.datetime):
        """Keys lent and not back by their expected return (R-KEY-3)."""
        return cls.select().where(cls.kind == "lend", cls.returned_at.is_null(),
                                  cls.expected_return < now)


# The movements grid's newest-first page for a user of several estates (migration 024, #14).
KeyMovement.add_index(KeyMovement.index(KeyMovement.at, name="key_movement_list_order"))
