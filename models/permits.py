"""Permits and slips of the front desk (登记办证, R-PASS-3, R-PASS-5, R-PASS-6); the access
passes are in models/passes.py.

Each document gets a unique number per estate and year from `models.calendar.next_number`
(DH-2026-00007) and prints on paper.

* 动火证 (HotWorkPermit): operator, certificate and copies kept, location, work window, stamp;
  closed when the work is over and the site checked, or cancelled.
* 物品放行条 (GoodsRelease): bearer, goods lines, the owner's confirmation before release.
"""

from __future__ import annotations

import datetime as dt
import re

from flask_babel import gettext
from peewee import BooleanField, CharField, Check, ForeignKeyField, IntegerField

from models.base import (
    AwareDateTimeField,
    BaseModel,
    DocTypeField,
    DocumentNumberField,
    PhoneField,
    RuleError,
    check_moment,
    to_office,
    utcnow,
)
from models.calendar import next_number
from models.i18n import L_, N_
from models.org import Unit, _same_estate
from models.register import RegisterModel, StatefulMixin
from models.steps import gather
from models.users import User

HOT_WORK_STATES = [("issued", L_("有效")), ("closed", L_("已完工")), ("cancelled", L_("已注销"))]
ISSUED_ONLY = N_("该动火证已是“{state}”状态")


class HotWorkPermit(StatefulMixin, RegisterModel):
    """动火证 (R-PASS-3): welding/gas-cutting operator, copies kept, red stamp, archived."""

    voided_message = N_("该动火证已作废")

    number = CharField(max_length=20, default="", verbose_name=L_("动火证编号"))
    operator_name = CharField(max_length=32, verbose_name=L_("动火人"))
    doc_type = DocTypeField()
    id_number = DocumentNumberField(verbose_name=L_("证件号码"),
                                    help_text=L_("列表、导出和日志中只显示部分号码"))
    phone = PhoneField(default="", verbose_name=L_("联系电话"))
    certificate_number = CharField(max_length=32, verbose_name=L_("电气焊操作证号"))
    certificate_copy_kept = BooleanField(default=False, verbose_name=L_("操作证复印件已存档"))
    id_copy_kept = BooleanField(default=False, verbose_name=L_("身份证复印件已存档"))
    unit = ForeignKeyField(Unit, null=True, backref="+", on_delete="RESTRICT",
                           verbose_name=L_("房屋"))
    location = CharField(max_length=100, verbose_name=L_("动火地点"))
    work_from = AwareDateTimeField(verbose_name=L_("动火开始"))
    work_to = AwareDateTimeField(index=True, verbose_name=L_("动火结束"))
    fire_watch = CharField(max_length=32, default="", verbose_name=L_("监护人"))
    stamped_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                 verbose_name=L_("盖章人"))
    stamped_at = AwareDateTimeField(null=True, verbose_name=L_("盖章时间"))
    state = CharField(max_length=16, choices=HOT_WORK_STATES, default="issued", index=True,
                      verbose_name=L_("状态"))
    closed_at = AwareDateTimeField(null=True, verbose_name=L_("完工时间"))
    closed_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                verbose_name=L_("完工确认人"))
    cancel_note = CharField(max_length=200, default="", verbose_name=L_("注销说明"))

    class Meta:
        table_name = "hot_work_permit"
        indexes = ((("estate", "number"), True), (("estate", "state", "work_to"), False))

    def __str__(self) -> str:
        number = self.number or gettext("新动火证")
        return f"{number} {self.operator_name} {self.location}"

    @property
    def state_label(self) -> str:
        return dict(HOT_WORK_STATES).get(self.state, self.state)

    def validate(self):
        yield from _same_estate(self, "estate", ("unit",))
        if self.work_from and self.work_to and self.work_to <= self.work_from:
            yield "work_to", gettext("动火结束时间必须晚于开始时间")
        if self.id is None:
            if not self.certificate_copy_kept:
                yield "certificate_copy_kept", gettext("须复印电气焊操作证并存档（R-PASS-3）")
            if not self.id_copy_kept:
                yield "id_copy_kept", gettext("须复印身份证并存档（R-PASS-3）")
            if self.work_to and self.work_to < utcnow():
                yield "work_to", gettext("动火结束时间已经过去")

    def before_create(self, user) -> None:
        self.number = next_number(self.estate_id, "DH",
                                  to_office(self.work_from or utcnow()).year)
        # The office's red stamp goes on at issue, by whoever issues it.
        self.stamped_by = self.stamped_by_id or (user.id if user else None)
        self.stamped_at = utcnow()

    def close(self, user, *, closed_at: dt.datetime | None = None,
              expected_version: int | None = None) -> None:
        """The hot work is over and the site checked."""
        self.require_state(("issued",), ISSUED_ONLY)
        closed_at = check_moment(closed_at, field_name="closed_at", label=gettext("完工时间"),
                                 not_before=self.work_from, before_label=gettext("动火开始时间"))
        self.transition(user, "closed", expected_version=expected_version,
                        closed_at=closed_at, closed_by=user.id if user else None)

    def cancel(self, user, *, note: str, expected_version: int | None = None) -> None:
        self.require_state(("issued",), ISSUED_ONLY)
        if not (note or "").strip():
            raise RuleError({"note": gettext("请填写注销说明")})
        self.transition(user, "cancelled", expected_version=expected_version,
                        cancel_note=note.strip()[:200])

    @classmethod
    def expired_not_closed(cls, now: dt.datetime):
        """Past the end of the work window and not closed (the site was never checked)."""
        return cls.select().where(cls.voided == False, cls.state == "issued",  # noqa: E712
                                  cls.work_to < now)


RELEASE_STATES = [
    ("pending", L_("待业主确认")),
    ("confirmed", L_("业主已确认")),
    ("released", L_("已放行")),
    ("refused", L_("业主未确认")),
]
CONFIRM_METHODS = [("phone", L_("电话")), ("in_person", L_("当面")), ("video", L_("视频")),
                   ("written", L_("书面"))]
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


class GoodsRelease(StatefulMixin, RegisterModel):
    """物品放行条 (R-PASS-5): goods leave only after the owner confirmed contents and quantity."""

    voided_message = N_("该放行条已作废")

    number = CharField(max_length=20, default="", verbose_name=L_("放行条编号"))
    bearer_name = CharField(max_length=32, verbose_name=L_("办理人"))
    doc_type = DocTypeField()
    id_number = DocumentNumberField(verbose_name=L_("证件号码"),
                                    help_text=L_("列表、导出和日志中只显示部分号码"))
    phone = PhoneField(default="", verbose_name=L_("联系电话"))
    unit = ForeignKeyField(Unit, backref="+", on_delete="RESTRICT", verbose_name=L_("搬出房屋"))
    state = CharField(max_length=16, choices=RELEASE_STATES, default="pending", index=True,
                      verbose_name=L_("状态"))
    confirmed_with = CharField(max_length=32, default="", verbose_name=L_("确认业主"))
    confirm_method = CharField(max_length=16, null=True, choices=CONFIRM_METHODS,
                               verbose_name=L_("确认方式"))
    confirmed_at = AwareDateTimeField(null=True, verbose_name=L_("确认时间"))
    confirmed_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                   verbose_name=L_("联系业主的客服"))
    confirm_note = CharField(max_length=200, default="", verbose_name=L_("确认说明"))
    released_at = AwareDateTimeField(null=True, verbose_name=L_("放行时间"))
    released_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                  verbose_name=L_("放行人"))

    # The goods typed on the form, one per line; stored as GoodsLine rows.
    goods_text: str = ""

    class Meta:
        table_name = "goods_release"
        indexes = ((("estate", "number"), True), (("estate", "state"), False))

    def __str__(self) -> str:
        number = self.number or gettext("新放行条")
        return f"{number} {self.bearer_name}"

    @property
    def state_label(self) -> str:
        return dict(RELEASE_STATES).get(self.state, self.state)

    def validate(self):
        yield from _same_estate(self, "estate", ("unit",))
        if self.id is None:
            try:
                if not parse_goods(self.goods_text):
                    yield "goods_text", gettext("请填写放行物品及数量，每行一种")
            except ValueError as exc:
                yield "goods_text", str(exc)

    def before_create(self, user) -> None:
        self.number = next_number(self.estate_id, "FX", to_office(utcnow()).year)

    def after_create(self, user) -> None:
        for position, (item, quantity, unit) in enumerate(parse_goods(self.goods_text), 1):
            GoodsLine.create(release=self.id, position=position, item=item, quantity=quantity,
                             unit_label=unit)

    def confirm(self, user, *, confirmed: bool, owner_name: str, method: str,
                confirmed_at: dt.datetime | None = None, note: str = "",
                expected_version: int | None = None) -> None:
        """The handler reached the owner: contents and quantity confirmed, or not."""
        self.require_state(("pending",), gettext("当前状态为“{state}”，不能再登记业主确认"))
        errors = {}
        if not (owner_name or "").strip():
            errors["owner_name"] = gettext("请填写确认的业主姓名")
        if method not in dict(CONFIRM_METHODS):
            errors["method"] = gettext("请选择确认方式")
        if not confirmed and not (note or "").strip():
            errors["note"] = gettext("业主未确认时请说明情况")
        confirmed_at = gather(errors, check_moment, confirmed_at, field_name="confirmed_at",
                              label=gettext("确认时间"),
                              not_before=self.created_at, before_label=gettext("登记时间"))
        if errors:
            raise RuleError(errors)
        self.transition(user, "confirmed" if confirmed else "refused",
                        expected_version=expected_version,
                        confirmed_with=owner_name.strip()[:32], confirm_method=method,
                        confirmed_at=confirmed_at, confirmed_by=user.id if user else None,
                        confirm_note=(note or "").strip()[:200])

    def release(self, user, *, released_at: dt.datetime | None = None,
                expected_version: int | None = None) -> None:
        """Stamp, number, register and let the goods out — only after the owner confirmed."""
        if self.state in ("pending", "refused"):
            raise RuleError({"": gettext("业主尚未确认物品内容和数量，不能放行（R-PASS-5）")})
        self.require_state(("confirmed",), gettext("当前状态为“{state}”，不能放行"))
        released_at = check_moment(released_at, field_name="released_at", label=gettext("放行时间"),
                                   not_before=self.confirmed_at,
                                   before_label=gettext("业主确认时间"))
        self.transition(user, "released", expected_version=expected_version,
                        released_at=released_at, released_by=user.id if user else None)

    @classmethod
    def awaiting_confirmation(cls, now: dt.datetime, hours: int = 2):
        """Bearers waiting at the gate for more than `hours` while nobody reached the owner."""
        return cls.select().where(cls.voided == False, cls.state == "pending",  # noqa: E712
                                  cls.created_at < now - dt.timedelta(hours=hours))


# The grid sorted by number or bearer across the user's estates, stopped after the page
# (migration 037, #14).
GoodsRelease.add_index(GoodsRelease.index(GoodsRelease.voided, GoodsRelease.number,
                                          name="goods_release_number_order"))
GoodsRelease.add_index(GoodsRelease.index(GoodsRelease.voided, GoodsRelease.bearer_name,
                                          name="goods_release_bearer_order"))


class GoodsLine(BaseModel):
    """One line of a goods release slip: what and how many (R-PASS-5)."""

    release = ForeignKeyField(GoodsRelease, backref="lines", on_delete="CASCADE",
                              verbose_name=L_("放行条"))
    position = IntegerField(default=1, verbose_name=L_("序号"))
    item = CharField(max_length=64, verbose_name=L_("物品"))
    quantity = IntegerField(verbose_name=L_("数量"))
    unit_label = CharField(max_length=4, default="", verbose_name=L_("单位"))

    class Meta:
        table_name = "goods_line"
        constraints = [Check("quantity > 0")]  # a line lists something that leaves

    def __str__(self) -> str:
        return f"{self.item} {self.quantity}{self.unit_label}"
