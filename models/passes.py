"""Passes and permits (登记办证, R-PASS-1…3, R-PASS-5, R-PASS-6).

Each document gets a unique number per estate and year from `models.calendar.next_number`
(CR-2026-00042) and prints on paper. Passes are valid through a day; past it and not handed back
they are "expired but not returned". A pass can be returned or cancelled (lost, or otherwise).

* 装修工人出入证 (WorkerPass): belongs to a unit's decoration permit, at most 3 months and never
  beyond the permit; issuing asks for the 50-yuan deposit and 5-yuan card fee; handing the card
  back makes the deposit refundable.
* 临时出入证 (TemporaryPass): 3 days counting the issue day.
* 动火证 (HotWorkPermit): operator, certificate and copies kept, location, work window, stamp.
* 物品放行条 (GoodsRelease): bearer, goods lines, the owner's confirmation before release.
"""

from __future__ import annotations

import datetime as dt
import re

from peewee import BooleanField, CharField, Check, DateField, ForeignKeyField, IntegerField

from models import deadlines
from models.base import (
    AwareDateTimeField,
    BaseModel,
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
from models.org import Unit, _same_estate
from models.register import RegisterModel, change_record
from models.users import User

WORKER_PASS_MONTHS = 3  # R-PASS-1: valid at most 3 months
TEMPORARY_PASS_DAYS = 3  # R-PASS-2: valid 3 days, counting the issue day

PASS_STATES = [
    ("issued", "有效"),
    ("returned", "已交回"),
    ("cancelled", "已注销"),
]
PASS_STATE_LABELS = dict(PASS_STATES)
CANCEL_REASONS = [("lost", "遗失"), ("other", "其他")]


class IssuedPass(RegisterModel):
    """What every access pass has: number, holder and ID, validity, return or cancellation."""

    number = CharField(max_length=20, default="", verbose_name="证件编号")
    holder_name = CharField(max_length=32, verbose_name="姓名")
    doc_type = DocTypeField()
    id_number = DocumentNumberField(verbose_name="证件号码",
                                    help_text="列表、导出和日志中只显示部分号码")
    phone = PhoneField(default="", verbose_name="联系电话")
    issued_at = AwareDateTimeField(default=utcnow, verbose_name="办证时间")
    valid_from = DateField(null=True, verbose_name="有效期自")
    valid_to = DateField(null=True, index=True, verbose_name="有效期至")
    state = CharField(max_length=16, choices=PASS_STATES, default="issued", index=True,
                      verbose_name="状态")
    returned_at = AwareDateTimeField(null=True, verbose_name="交回时间")
    returned_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                  verbose_name="收回人")
    cancel_reason = CharField(max_length=16, null=True, choices=CANCEL_REASONS,
                              verbose_name="注销原因")
    cancel_note = CharField(max_length=200, default="", verbose_name="注销说明")

    PREFIX = ""

    def __str__(self) -> str:
        return f"{self.number or '新证件'} {self.holder_name}"

    @property
    def state_label(self) -> str:
        return PASS_STATE_LABELS.get(self.state, self.state)

    def is_expired(self, now: dt.datetime | None = None) -> bool:
        return bool(self.valid_to and office_day(now) > self.valid_to)

    def validate(self):
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            yield "valid_to", "有效期至不能早于有效期自"
        if self.issued_at and self.issued_at > utcnow() + dt.timedelta(minutes=5):
            yield "issued_at", "办证时间不能晚于现在"

    def before_create(self, user) -> None:
        self.number = next_number(self.estate_id, self.PREFIX,
                                  to_office(self.issued_at or utcnow()).year)

    def _require_issued(self) -> None:
        if self.voided:
            raise RuleError({"": "该证件已作废"})
        if self.state != "issued":
            raise RuleError({"": f"该证件已是“{self.state_label}”状态"})

    def return_pass(self, user, *, returned_at: dt.datetime | None = None,
                    expected_version: int | None = None) -> None:
        """The holder hands the pass back (on time, early or late) and it is struck off."""
        self._require_issued()
        returned_at = check_moment(returned_at, field_name="returned_at", label="交回时间",
                                   not_before=self.issued_at, before_label="办证时间")
        change_record(self, user, expected_version=expected_version, state="returned",
                      returned_at=returned_at, returned_by=user.id if user else None)

    def cancel(self, user, *, reason: str, note: str = "",
               expected_version: int | None = None) -> None:
        """注销 a pass that will not come back (lost, …)."""
        self._require_issued()
        if reason not in dict(CANCEL_REASONS):
            raise RuleError({"reason": "请选择注销原因"})
        if reason == "other" and not (note or "").strip():
            raise RuleError({"note": "请填写注销说明"})
        change_record(self, user, expected_version=expected_version, state="cancelled",
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

    unit = ForeignKeyField(Unit, backref="worker_passes", on_delete="RESTRICT",
                           verbose_name="施工房屋")
    decoration = ForeignKeyField(Decoration, null=True, backref="worker_passes",
                                 on_delete="RESTRICT", verbose_name="装修许可证",
                                 help_text="按房屋自动关联施工中的装修许可证")
    employer = CharField(max_length=64, default="", verbose_name="装修企业")
    trade = CharField(max_length=16, default="", verbose_name="工种",
                      help_text="如 水电、木工、油漆")
    checked_construction_permit = BooleanField(default=False, verbose_name="已验施工许可证")
    checked_id = BooleanField(default=False, verbose_name="已验身份证并留复印件")
    checked_residence_permit = BooleanField(default=False, verbose_name="已验暂住证")
    deposit = ForeignKeyField(Deposit, null=True, backref="+", on_delete="RESTRICT",
                              verbose_name="押金")
    card_fee = ForeignKeyField(Deposit, null=True, backref="+", on_delete="RESTRICT",
                               verbose_name="工本费")

    class Meta:
        table_name = "worker_pass"
        indexes = (
            # R-PASS-6: one number, one pass, per estate.
            (("estate", "number"), True),
            (("estate", "state", "valid_to"), False),
        )

    DOCUMENTS = (("checked_construction_permit", "施工许可证"), ("checked_id", "身份证"),
                 ("checked_residence_permit", "暂住证"))

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
                    yield name, f"须查验{label}后才能办证（R-PASS-1）"
        if not self.unit_id:
            return
        permit = self._permit()
        if self.id is None and (permit is None or permit.voided
                                or permit.state not in ("permitted", "defects")):
            yield "unit", "该房屋没有有效的装修许可证，不能办理装修工人出入证"
            return
        if permit is None:
            return
        if permit.unit_id != self.unit_id:
            yield "decoration", "所选装修许可证不属于该房屋"
            return
        start = self.valid_from or office_day(self.issued_at)
        if self.valid_to:
            latest = deadlines.add_months(start, WORKER_PASS_MONTHS)
            if self.valid_to > latest:
                yield "valid_to", (f"出入证有效期最长 3 个月：自 {start:%Y-%m-%d} 起最晚至 "
                                   f"{latest:%Y-%m-%d}")
            elif self.valid_to > permit.works_end:
                yield "valid_to", (f"不能超过装修许可证 {permit.permit_number} 的有效期 "
                                   f"{permit.works_end:%Y-%m-%d}")
        if permit.permit_issued_at and start < office_day(permit.permit_issued_at):
            yield "valid_from", "有效期不能早于装修许可证的发证日期"

    def before_create(self, user) -> None:
        super().before_create(user)
        permit = self._permit()
        self.decoration = permit.id
        self.employer = self.employer or permit.contractor
        self.valid_from = self.valid_from or office_day(self.issued_at)
        if not self.valid_to:
            # Unless told otherwise: as long as the rules allow.
            self.valid_to = min(deadlines.add_months(self.valid_from, WORKER_PASS_MONTHS),
                                permit.works_end)
        # R-PASS-1: finance takes a 50-yuan deposit and a 5-yuan card fee for the card.
        what = f"装修工人出入证 {self.number}（{permit.unit.code}）"
        self.deposit = Deposit.ask(user, estate_id=self.estate_id, kind="pass_deposit",
                                   payer=self.holder_name, payer_phone=self.phone,
                                   purpose=f"{what}押金").id
        self.card_fee = Deposit.ask(user, estate_id=self.estate_id, kind="card_fee",
                                    payer=self.holder_name, payer_phone=self.phone,
                                    purpose=f"{what}工本费").id

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

    purpose = CharField(max_length=100, verbose_name="事由", help_text="如 送货、探访、维修")
    unit = ForeignKeyField(Unit, null=True, backref="+", on_delete="RESTRICT",
                           verbose_name="前往房屋")

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


HOT_WORK_STATES = [("issued", "有效"), ("closed", "已完工"), ("cancelled", "已注销")]


class HotWorkPermit(RegisterModel):
    """动火证 (R-PASS-3): welding/gas-cutting operator, copies kept, red stamp, archived."""

    number = CharField(max_length=20, default="", verbose_name="动火证编号")
    operator_name = CharField(max_length=32, verbose_name="动火人")
    doc_type = DocTypeField()
    id_number = DocumentNumberField(verbose_name="证件号码",
                                    help_text="列表、导出和日志中只显示部分号码")
    phone = PhoneField(default="", verbose_name="联系电话")
    certificate_number = CharField(max_length=32, verbose_name="电气焊操作证号")
    certificate_copy_kept = BooleanField(default=False, verbose_name="操作证复印件已存档")
    id_copy_kept = BooleanField(default=False, verbose_name="身份证复印件已存档")
    unit = ForeignKeyField(Unit, null=True, backref="+", on_delete="RESTRICT",
                           verbose_name="房屋")
    location = CharField(max_length=100, verbose_name="动火地点")
    work_from = AwareDateTimeField(verbose_name="动火开始")
    work_to = AwareDateTimeField(index=True, verbose_name="动火结束")
    fire_watch = CharField(max_length=32, default="", verbose_name="监护人")
    stamped_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                 verbose_name="盖章人")
    stamped_at = AwareDateTimeField(null=True, verbose_name="盖章时间")
    state = CharField(max_length=16, choices=HOT_WORK_STATES, default="issued", index=True,
                      verbose_name="状态")
    closed_at = AwareDateTimeField(null=True, verbose_name="完工时间")
    closed_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                verbose_name="完工确认人")
    cancel_note = CharField(max_length=200, default="", verbose_name="注销说明")

    class Meta:
        table_name = "hot_work_permit"
        indexes = ((("estate", "number"), True), (("estate", "state", "work_to"), False))

    def __str__(self) -> str:
        return f"{self.number or '新动火证'} {self.operator_name} {self.location}"

    @property
    def state_label(self) -> str:
        return dict(HOT_WORK_STATES).get(self.state, self.state)

    def validate(self):
        yield from _same_estate(self, "estate", ("unit",))
        if self.work_from and self.work_to and self.work_to <= self.work_from:
            yield "work_to", "动火结束时间必须晚于开始时间"
        if self.id is None:
            if not self.certificate_copy_kept:
                yield "certificate_copy_kept", "须复印电气焊操作证并存档（R-PASS-3）"
            if not self.id_copy_kept:
                yield "id_copy_kept", "须复印身份证并存档（R-PASS-3）"
            if self.work_to and self.work_to < utcnow():
                yield "work_to", "动火结束时间已经过去"

    def before_create(self, user) -> None:
        self.number = next_number(self.estate_id, "DH",
                                  to_office(self.work_from or utcnow()).year)
        # The office's red stamp goes on at issue, by whoever issues it.
        self.stamped_by = self.stamped_by_id or (user.id if user else None)
        self.stamped_at = utcnow()

    def close(self, user, *, closed_at: dt.datetime | None = None,
              expected_version: int | None = None) -> None:
        """The hot work is over and the site checked."""
        self._require_issued()
        closed_at = check_moment(closed_at, field_name="closed_at", label="完工时间",
                                 not_before=self.work_from, before_label="动火开始时间")
        change_record(self, user, expected_version=expected_version, state="closed",
                      closed_at=closed_at, closed_by=user.id if user else None)

    def cancel(self, user, *, note: str, expected_version: int | None = None) -> None:
        self._require_issued()
        if not (note or "").strip():
            raise RuleError({"note": "请填写注销说明"})
        change_record(self, user, expected_version=expected_version, state="cancelled",
                      cancel_note=note.strip()[:200])

    def _require_issued(self) -> None:
        if self.voided:
            raise RuleError({"": "该动火证已作废"})
        if self.state != "issued":
            raise RuleError({"": f"该动火证已是“{self.state_label}”状态"})

    @classmethod
    def expired_not_closed(cls, now: dt.datetime):
        """Past the end of the work window and not closed (the site was never checked)."""
        return cls.select().where(cls.voided == False, cls.state == "issued",  # noqa: E712
                                  cls.work_to < now)


RELEASE_STATES = [
    ("pending", "待业主确认"),
    ("confirmed", "业主已确认"),
    ("released", "已放行"),
    ("refused", "业主未确认"),
]
CONFIRM_METHODS = [("phone", "电话"), ("in_person", "当面"), ("video", "视频"), ("written", "书面")]
# "item [separator] quantity [unit]": 沙发 1 / 纸箱 × 5 个 / 冰箱，1台
GOODS_LINE_RE = re.compile(
    r"^(?P<item>.+?)\s*(?:[x×*＊:：,，]\s*)?(?P<qty>\d+)\s*(?P<unit>[^\d\s]{0,4})$")


def parse_goods(text: str) -> list[tuple[str, int, str]]:
    """One item per line, "沙发 1", "纸箱 × 5 个", "冰箱，1台" → [(item, quantity, unit)].

    Raises ValueError naming the first line it cannot read.
    """
    lines = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        match = GOODS_LINE_RE.match(line)
        if not match:
            raise ValueError(f"第 {number} 行“{line[:20]}”没有数量，"
                             "请按“物品 数量”填写，如：沙发 1")
        quantity = int(match["qty"])
        if not 1 <= quantity <= 9999:
            raise ValueError(f"第 {number} 行的数量应在 1 到 9999 之间")
        lines.append((match["item"].strip()[:64], quantity, match["unit"][:4]))
    return lines


class GoodsRelease(RegisterModel):
    """物品放行条 (R-PASS-5): goods leave only after the owner confirmed contents and quantity."""

    number = CharField(max_length=20, default="", verbose_name="放行条编号")
    bearer_name = CharField(max_length=32, verbose_name="办理人")
    doc_type = DocTypeField()
    id_number = DocumentNumberField(verbose_name="证件号码",
                                    help_text="列表、导出和日志中只显示部分号码")
    phone = PhoneField(default="", verbose_name="联系电话")
    unit = ForeignKeyField(Unit, backref="+", on_delete="RESTRICT", verbose_name="搬出房屋")
    state = CharField(max_length=16, choices=RELEASE_STATES, default="pending", index=True,
                      verbose_name="状态")
    confirmed_with = CharField(max_length=32, default="", verbose_name="确认业主")
    confirm_method = CharField(max_length=16, null=True, choices=CONFIRM_METHODS,
                               verbose_name="确认方式")
    confirmed_at = AwareDateTimeField(null=True, verbose_name="确认时间")
    confirmed_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                   verbose_name="联系业主的客服")
    confirm_note = CharField(max_length=200, default="", verbose_name="确认说明")
    released_at = AwareDateTimeField(null=True, verbose_name="放行时间")
    released_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                  verbose_name="放行人")

    # The goods typed on the form, one per line; stored as GoodsLine rows.
    goods_text: str = ""

    class Meta:
        table_name = "goods_release"
        indexes = ((("estate", "number"), True), (("estate", "state"), False))

    def __str__(self) -> str:
        return f"{self.number or '新放行条'} {self.bearer_name}"

    @property
    def state_label(self) -> str:
        return dict(RELEASE_STATES).get(self.state, self.state)

    def validate(self):
        yield from _same_estate(self, "estate", ("unit",))
        if self.id is None:
            try:
                if not parse_goods(self.goods_text):
                    yield "goods_text", "请填写放行物品及数量，每行一种"
            except ValueError as exc:
                yield "goods_text", str(exc)

    def before_create(self, user) -> None:
        self.number = next_number(self.estate_id, "FX", to_office(utcnow()).year)

    def after_create(self, user) -> None:
        for position, (item, quantity, unit) in enumerate(parse_goods(self.goods_text), 1):
            GoodsLine.create(release=self.id, position=position, item=item, quantity=quantity,
                             unit_label=unit)

    def _require(self, states: tuple[str, ...], message: str) -> None:
        if self.voided:
            raise RuleError({"": "该放行条已作废"})
        if self.state not in states:
            raise RuleError({"": message.format(state=self.state_label)})

    def confirm(self, user, *, confirmed: bool, owner_name: str, method: str,
                confirmed_at: dt.datetime | None = None, note: str = "",
                expected_version: int | None = None) -> None:
        """The handler reached the owner: contents and quantity confirmed, or not."""
        self._require(("pending",), "当前状态为“{state}”，不能再登记业主确认")
        errors = {}
        if not (owner_name or "").strip():
            errors["owner_name"] = "请填写确认的业主姓名"
        if method not in dict(CONFIRM_METHODS):
            errors["method"] = "请选择确认方式"
        if not confirmed and not (note or "").strip():
            errors["note"] = "业主未确认时请说明情况"
        if errors:
            raise RuleError(errors)
        confirmed_at = check_moment(confirmed_at, field_name="confirmed_at", label="确认时间",
                                    not_before=self.created_at, before_label="登记时间")
        change_record(self, user, expected_version=expected_version,
                      state="confirmed" if confirmed else "refused",
                      confirmed_with=owner_name.strip()[:32], confirm_method=method,
                      confirmed_at=confirmed_at, confirmed_by=user.id if user else None,
                      confirm_note=(note or "").strip()[:200])

    def release(self, user, *, released_at: dt.datetime | None = None,
                expected_version: int | None = None) -> None:
        """Stamp, number, register and let the goods out — only after the owner confirmed."""
        if self.state in ("pending", "refused"):
            raise RuleError({"": "业主尚未确认物品内容和数量，不能放行（R-PASS-5）"})
        self._require(("confirmed",), "当前状态为“{state}”，不能放行")
        released_at = check_moment(released_at, field_name="released_at", label="放行时间",
                                   not_before=self.confirmed_at, before_label="业主确认时间")
        change_record(self, user, expected_version=expected_version, state="released",
                      released_at=released_at, released_by=user.id if user else None)

    @classmethod
    def awaiting_confirmation(cls, now: dt.datetime, hours: int = 2):
        """Bearers waiting at the gate for more than `hours` while nobody reached the owner."""
        return cls.select().where(cls.voided == False, cls.state == "pending",  # noqa: E712
                                  cls.created_at < now - dt.timedelta(hours=hours))


class GoodsLine(BaseModel):
    """One line of a goods release slip: what and how many (R-PASS-5)."""

    release = ForeignKeyField(GoodsRelease, backref="lines", on_delete="CASCADE",
                              verbose_name="放行条")
    position = IntegerField(default=1, verbose_name="序号")
    item = CharField(max_length=64, verbose_name="物品")
    quantity = IntegerField(verbose_name="数量")
    unit_label = CharField(max_length=4, default="", verbose_name="单位")

    class Meta:
        table_name = "goods_line"
        constraints = [Check("quantity > 0")]  # a line lists something that leaves

    def __str__(self) -> str:
        return f"{self.item} {self.quantity}{self.unit_label}"
