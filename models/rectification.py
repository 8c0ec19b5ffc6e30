"""Rectification register (整改, R-FRONT-2, issue #11 item 10): what an inspection found wrong,
handed to a department or to the developer, done within a deadline, called back, summarised
per unit and building (问题汇总).

Where items come from: the move-in's rectification list (整改单, R-MOVE-1 step 6), a decoration
acceptance with defects (R-DECO-3), an emergency's measures (R-EMG-3/4) and an owner's demand or
complaint (R-DEM-8) — each turned into items by one action on its row (`from_source`), linked
back by a foreign key — and the office's own inspections, entered directly.

States: 待交办 → 整改中 (交办: a department of the estate or 地产遗留, with a deadline in working
days) → 待回访 (完成整改) → 已关闭 (a satisfied callback). A re-inspection that fails (复查不合格)
or a callback where the owner is not satisfied sends the item back to 整改中 with a deadline for
the rework. The first promise (`original_due`) and every miss (`late_count`) stay on the row
(R-REC-1). Every step is a `RectificationStep` with who and when.
"""

from __future__ import annotations

import datetime as dt
import re

from flask_babel import gettext
from peewee import SQL, BooleanField, CharField, ForeignKeyField, IntegerField, TextField

from models import deadlines
from models.base import (
    AwareDateTimeField,
    BaseModel,
    RuleError,
    check_moment,
    to_office,
    utcnow,
)
from models.calendar import next_number
from models.decoration import Decoration
from models.demands import Demand
from models.emergencies import Emergency
from models.i18n import L_, office_text
from models.movein import MoveIn
from models.office import refuse_changes_after
from models.org import Building, Department, Unit, _same_estate
from models.register import RegisterModel, StatefulMixin
from models.steps import gather
from models.users import DESK, User

SOURCES = [
    ("move_in", L_("入伙验房整改单")),
    ("decoration", L_("装修验收")),
    ("emergency", L_("紧急事件措施")),
    ("demand", L_("业户投诉/需求")),
    ("inspection", L_("巡查发现")),
]
SOURCE_LABELS = dict(SOURCES)
# The register each source row lives in (the field of the same name links the item to it).
SOURCE_MODELS = {"move_in": MoveIn, "decoration": Decoration, "emergency": Emergency,
                 "demand": Demand}
STATES = [
    ("registered", L_("已登记（待交办）")),
    ("assigned", L_("已交办（整改中）")),
    ("done", L_("已整改（待回访）")),
    ("closed", L_("已回访关闭")),
]
STATE_LABELS = dict(STATES)
CALLBACK_CHANNELS = [("phone", L_("电话")), ("visit", L_("上门"))]
DEVELOPER = "developer"
DEVELOPER_LABEL = L_("地产遗留（开发商）")
# The manual gives no number: the form starts here, the person handing it out may change it.
DEFAULT_WORKING_DAYS = 5
MAX_WORKING_DAYS = 60
MAX_ITEMS = 50
_SPLIT = re.compile(r"[\n;；]+")
_NUMBERING = re.compile(r"^\s*(?:\d+|[一二三四五六七八九十]+)\s*[.、．)）]\s*")


def split_items(text: str) -> list[str]:
    """One item per line (or per ；), numbering like "1、" dropped, "无" and blanks left out."""
    items = []
    for part in _SPLIT.split(text or ""):
        item = _NUMBERING.sub("", part).strip()
        if item and item != "无":
            items.append(item)
    return items


def clean_working_days(value) -> int:
    try:
        days = int(value)
    except (TypeError, ValueError):
        days = 0
    if not 1 <= days <= MAX_WORKING_DAYS:
        raise RuleError({"working_days": gettext("整改期限应为 1 到 %(MAX_WORKING_DAYS)s 个工作日",
                                                 MAX_WORKING_DAYS=MAX_WORKING_DAYS)})
    return days


class Rectification(StatefulMixin, RegisterModel):
    """One item to put right, from where it was found to the owner's callback."""

    number = CharField(max_length=20, default="", index=True, verbose_name=L_("编号"))
    source = CharField(max_length=16, choices=SOURCES, default="inspection", index=True,
                       verbose_name=L_("来源"))
    move_in = ForeignKeyField(MoveIn, null=True, backref="rectifications", on_delete="RESTRICT",
                              verbose_name=L_("入伙记录"))
    decoration = ForeignKeyField(Decoration, null=True, backref="rectifications",
                                 on_delete="RESTRICT", verbose_name=L_("装修记录"))
    emergency = ForeignKeyField(Emergency, null=True, backref="rectifications",
                                on_delete="RESTRICT", verbose_name=L_("紧急事件"))
    demand = ForeignKeyField(Demand, null=True, backref="rectifications", on_delete="RESTRICT",
                             verbose_name=L_("业户需求"))
    building = ForeignKeyField(Building, null=True, backref="rectifications",
                               on_delete="RESTRICT", verbose_name=L_("楼栋"),
                               help_text=L_("选了房屋可不填，按房屋所在楼栋"))
    unit = ForeignKeyField(Unit, null=True, backref="rectifications", on_delete="RESTRICT",
                           verbose_name=L_("房屋"))
    location = CharField(max_length=100, default="", verbose_name=L_("部位"),
                         help_text=L_("如 主卧窗框、5栋地下车库；公共部位不选房屋时必填"))
    description = TextField(verbose_name=L_("整改内容"))
    state = CharField(max_length=16, choices=STATES, default="registered", index=True,
                      verbose_name=L_("状态"))
    department = ForeignKeyField(Department, null=True, backref="rectifications",
                                 on_delete="RESTRICT", verbose_name=L_("责任部门"))
    developer = BooleanField(default=False, verbose_name=L_("地产遗留"),
                             help_text=L_("交由开发商整改"))
    assigned_at = AwareDateTimeField(null=True, verbose_name=L_("交办时间"))
    assigned_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                  verbose_name=L_("交办人"))
    due_days = IntegerField(default=0, verbose_name=L_("期限(工作日)"))
    due = AwareDateTimeField(null=True, verbose_name=L_("整改期限"),
                             help_text=L_("交办（或返工）之日起的第 N 个工作日结束"))
    original_due = AwareDateTimeField(null=True, verbose_name=L_("首次承诺期限"),
                                      help_text=L_("第一次交办时的期限，返工不改变它（R-REC-1）"))
    completed_at = AwareDateTimeField(null=True, verbose_name=L_("完成时间"))
    completed_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                   verbose_name=L_("完成登记人"))
    result = TextField(default="", verbose_name=L_("整改结果"))
    rework_count = IntegerField(default=0, verbose_name=L_("返工次数"))
    late_count = IntegerField(default=0, verbose_name=L_("超期次数"),
                              help_text=L_("完成晚于当时期限的次数，关闭后也保留"))
    callback_at = AwareDateTimeField(null=True, verbose_name=L_("回访时间"))
    callback_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                  verbose_name=L_("回访人"))
    callback_channel = CharField(max_length=8, null=True, choices=CALLBACK_CHANNELS,
                                 verbose_name=L_("回访方式"))
    satisfied = BooleanField(null=True, verbose_name=L_("业主满意"))
    callback_comments = TextField(default="", verbose_name=L_("回访意见"))
    closed_at = AwareDateTimeField(null=True, verbose_name=L_("关闭时间"))

    class Meta:
        table_name = "rectification"
        indexes = (
            # The overdue sweep and the 已超期 queue: items in work past their deadline.
            (("state", "due"), False),
            # 问题汇总: an estate's items by building.
            (("estate", "building"), False),
        )

    def __str__(self) -> str:
        number = self.number or gettext("新整改")
        return f"{number} {self.place()}".strip()

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.state, self.state)

    @property
    def source_label(self) -> str:
        return SOURCE_LABELS.get(self.source, self.source)

    @property
    def responsible_label(self) -> str:
        if self.developer:
            return DEVELOPER_LABEL
        return self.department.name if self.department_id else ""

    def place(self) -> str:
        """Where it is, in words: 1-1-101 主卧窗框, 5栋 外墙, 地下车库."""
        where = self.unit.code if self.unit_id else (self.building.name if self.building_id
                                                     else "")
        return f"{where} {self.location}".strip()

    def source_row(self):
        """The register row the item came from (None for an inspection)."""
        return getattr(self, self.source) if self.source in SOURCE_MODELS else None

    def is_overdue(self, now: dt.datetime | None = None) -> bool:
        return self.state == "assigned" and self.due is not None and self.due < (now or utcnow())

    # -- the rules ------------------------------------------------------------------------

    def validate(self):
        yield from _same_estate(self, "estate", ("unit", "building", "department", *SOURCE_MODELS))
        if self.source not in SOURCE_LABELS:
            yield "source", gettext("请选择来源")
        elif self.source in SOURCE_MODELS and not self.__data__.get(self.source):
            yield "source", gettext("该来源的整改项目请在原登记上用“转整改”生成")
        if not (self.unit_id or self.building_id or (self.location or "").strip()):
            yield "unit", gettext("请选择房屋或楼栋，公共部位请填写部位")
        if self.unit_id and self.building_id:
            unit = Unit.get_or_none(Unit.id == self.unit_id)
            if unit is not None and unit.building_id != self.building_id:
                yield "building", gettext("所选房屋不在该楼栋")
        if not (self.description or "").strip():
            yield "description", gettext("请填写整改内容")

    def _derive_building(self) -> None:
        if self.unit_id and not self.building_id:
            self.building = Unit.get_by_id(self.unit_id).building_id

    def before_create(self, user) -> None:
        self._derive_building()
        self.number = next_number(self.estate_id, "ZG", to_office(utcnow()).year)

    def before_update(self) -> None:
        # R-REC-1: what was handed out is what the department is held to.
        refuse_changes_after(self, ("unit", "building", "location", "description"),
                             lambda stored: stored.state != "registered",
                             gettext("已交办的整改项目不能修改内容；登记有误请作废后重新登记"))
        self._derive_building()

    def after_create(self, user) -> None:
        RectificationStep.record(self, user, "create", None, self.source_label)

    def record_transition(self, user, action: str, from_state, note: str) -> None:
        RectificationStep.record(self, user, action, from_state, note)

    def history(self):
        return self.steps.order_by(RectificationStep.created_at, RectificationStep.id)

    # -- the steps ------------------------------------------------------------------------

    def _responsible(self, responsible: str) -> tuple[dict, str]:
        """"developer" or a department id of the item's estate → the row's values, in words."""
        if responsible == DEVELOPER:
            return {"developer": True, "department": None}, office_text(DEVELOPER_LABEL)
        department = None
        if str(responsible or "").isdigit():
            department = Department.get_or_none(Department.id == int(responsible),
                                                Department.estate == self.estate_id,
                                                Department.voided == False)  # noqa: E712
        if department is None:
            raise RuleError({"responsible": gettext("请选择本小区的责任部门，或地产遗留")})
        return {"developer": False, "department": department.id}, department.name

    def assign(self, user, *, responsible: str, working_days: int = DEFAULT_WORKING_DAYS,
               note: str = "", at: dt.datetime | None = None,
               expected_version: int | None = None) -> None:
        """交办: to a department or the developer, due in N working days (R-FRONT-2)."""
        self.require_state(("registered",), gettext("当前状态为“{state}”，不能交办"),
                           doing=gettext("交办"))
        errors = {}
        responsible = gather(errors, self._responsible, responsible)
        days = gather(errors, clean_working_days, working_days)
        at = gather(errors, check_moment, at, field_name="at", label=gettext("交办时间"),
                    not_before=self.created_at, before_label=gettext("登记时间"))
        if errors:
            raise RuleError(errors)
        values, whom = responsible
        due = deadlines.add_working_days(at, days)
        self.transition(user, "assigned", action="assign",
                        note="；".join(t for t in (f"交{whom}", (note or "").strip()) if t),
                        expected_version=expected_version, assigned_at=at,
                        assigned_by=user.id if user else None, due_days=days, due=due,
                        original_due=due, **values)

    def complete(self, user, *, result: str, at: dt.datetime | None = None,
                 expected_version: int | None = None) -> None:
        """完成整改, by the responsible department (R-REC-4) or the desk for the developer."""
        self.require_state(("assigned",), gettext("当前状态为“{state}”，不能登记完成"),
                           doing=gettext("登记完成"))
        if not self.may_complete(user):
            raise RuleError({"": gettext("只有责任部门的人员或客服中心可以登记完成整改")})
        errors = {}
        if not (result or "").strip():
            errors["result"] = gettext("请填写整改结果")
        at = gather(errors, check_moment, at, field_name="at", label=gettext("完成时间"),
                    not_before=self.assigned_at, before_label=gettext("交办时间"))
        if errors:
            raise RuleError(errors)
        late = self.due is not None and at > self.due
        self.transition(user, "done", action="complete", note=result.strip(),
                        expected_version=expected_version, completed_at=at,
                        completed_by=user.id if user else None, result=result.strip(),
                        late_count=self.late_count + (1 if late else 0))

    def may_complete(self, user) -> bool:
        if user is None:
            return False
        if user.role in DESK:
            return True
        return (user.role == "dept" and not self.developer and self.department_id is not None
                and self.department.kind == user.department)

    def _rework(self, user, action: str, note: str, days, at: dt.datetime,
                expected_version: int | None, **values) -> None:
        """Back to 整改中 with a deadline for the rework; the first promise stays."""
        days = clean_working_days(days)
        self.transition(user, "assigned", action=action, note=note,
                        expected_version=expected_version, due_days=days,
                        due=deadlines.add_working_days(at, days),
                        rework_count=self.rework_count + 1, completed_at=None,
                        completed_by=None, **values)

    def reject(self, user, *, reason: str, working_days: int = DEFAULT_WORKING_DAYS,
               at: dt.datetime | None = None, expected_version: int | None = None) -> None:
        """复查不合格: the work is not right; back to the department with a new deadline."""
        self.require_state(("done",), gettext("当前状态为“{state}”，不能复查"),
                           doing=gettext("复查"))
        errors = {}
        if not (reason or "").strip():
            errors["reason"] = gettext("请填写复查不合格的原因")
        days = gather(errors, clean_working_days, working_days)
        at = gather(errors, check_moment, at, field_name="at", label=gettext("复查时间"),
                    not_before=self.completed_at, before_label=gettext("完成时间"))
        if errors:
            raise RuleError(errors)
        self._rework(user, "reject", reason.strip(), days, at, expected_version)

    def callback(self, user, *, satisfied: bool | None, channel: str = "phone", comments: str = "",
                 reason: str = "", working_days: int = DEFAULT_WORKING_DAYS,
                 at: dt.datetime | None = None, expected_version: int | None = None) -> None:
        """回访 (R-FRONT-2, as R-DEM-9): satisfied closes; not satisfied reopens the work."""
        self.require_state(("done",), gettext("当前状态为“{state}”，不能回访"),
                           doing=gettext("回访"))
        errors = {}
        if channel not in dict(CALLBACK_CHANNELS):
            errors["channel"] = gettext("请选择回访方式")
        # Not satisfied says why and when the rework is due. None (not chosen, or a value the
        # radio does not offer) is refused here too, whatever the form checked.
        if satisfied is None:
            errors["satisfied"] = gettext("请选择业主是否满意")
        elif satisfied is False:
            if not (reason or "").strip():
                errors["reason"] = gettext("业主不满意时请记录业主说明的原因")
            working_days = gather(errors, clean_working_days, working_days)
        at = gather(errors, check_moment, at, field_name="at", label=gettext("回访时间"),
                    not_before=self.completed_at, before_label=gettext("完成时间"))
        if errors:
            raise RuleError(errors)
        heard = {"callback_at": at, "callback_by": user.id if user else None,
                 "callback_channel": channel, "satisfied": bool(satisfied),
                 "callback_comments": "；".join(t.strip() for t in (comments, reason)
                                               if (t or "").strip())}
        if satisfied:
            self.transition(user, "closed", action="callback", note="业主满意",
                            expected_version=expected_version, closed_at=at, **heard)
        else:
            self._rework(user, "reopen", f"业主不满意：{reason.strip()}", working_days, at,
                         expected_version, **heard)

    # -- queues ---------------------------------------------------------------------------

    @classmethod
    def live(cls):
        return cls.select().where(cls.voided == False)  # noqa: E712

    @classmethod
    def in_state(cls, state: str):
        return cls.live().where(cls.state == state)

    @classmethod
    def overdue(cls, now: dt.datetime):
        """In work past the deadline in force (the sweep's rule and the 已超期 queue)."""
        return cls.select().where(cls.voided != True, cls.state == "assigned",  # noqa: E712
                                  cls.due < now)


# The demand's page asks whether an item came from it (转整改): found among the items that have a
# demand, whose statistics are of those alone; most items come from inspections, and ANALYZE
# rated the plain demand_id index at every row (migration 029, #14 item 2).
Rectification.add_index(Rectification.index(Rectification.demand, name="rectification_demand",
                                            where=SQL("demand_id IS NOT NULL")))


class RectificationStep(BaseModel):
    """Append-only history of an item: every step with who and when (R-FRONT-2)."""

    ACTIONS = {"create": L_("登记"), "assign": L_("交办"), "complete": L_("完成整改"),
               "reject": L_("复查不合格"),
               "callback": L_("回访"), "reopen": L_("回访不满意，返工")}

    rectification = ForeignKeyField(Rectification, backref="steps", on_delete="CASCADE")
    user = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL")
    username = CharField(max_length=32, default="")
    action = CharField(max_length=16)
    from_state = CharField(max_length=16, null=True)
    to_state = CharField(max_length=16)
    note = CharField(max_length=255, default="")

    class Meta:
        table_name = "rectification_step"

    @classmethod
    def record(cls, item: Rectification, user, action: str, from_state, note: str = ""):
        return cls.create(rectification=item.id, user=user.id if user else None,
                          username=user.display_name if user else "系统", action=action,
                          from_state=from_state, to_state=item.state, note=(note or "")[:255])

    @property
    def action_label(self) -> str:
        return self.ACTIONS.get(self.action, self.action)

    @property
    def state_label(self) -> str:
        return STATE_LABELS.get(self.to_state, self.to_state)
