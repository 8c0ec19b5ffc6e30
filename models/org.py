"""The estate's shape: departments, clusters (组团), buildings, units (房号) and residents.

Every row carries its estate directly (not only through its parent) so every query a user makes
is scoped with one indexed condition.
"""

from __future__ import annotations

from flask_babel import gettext
from peewee import Case, CharField, DateField, ForeignKeyField, IntegerField, TextField

from models.base import (
    DocTypeField,
    DocumentNumberField,
    MoneyField,
    PhoneField,
)
from models.i18n import L_
from models.register import RegisterModel
from models.users import DEPARTMENTS
from models.validators import check_date_order


class Department(RegisterModel):
    """A department of the office that receives dispatched work (R-DEM-4)."""

    kind = CharField(max_length=16, choices=DEPARTMENTS, verbose_name=L_("部门类别"))
    name = CharField(max_length=32, verbose_name=L_("部门名称"))
    supervisor = CharField(max_length=32, default="", verbose_name=L_("负责人"))
    phone = PhoneField(default="", verbose_name=L_("电话"))

    class Meta:
        table_name = "department"
        # One department of each kind per estate: dispatch picks it by kind.
        indexes = ((("estate", "kind"), True),)

    def __str__(self) -> str:
        return self.name


class Cluster(RegisterModel):
    """A cluster of buildings (组团); each has its own three clerks (R-STAFF-1)."""

    name = CharField(max_length=32, verbose_name=L_("组团名称"))
    sort_order = IntegerField(default=0, verbose_name=L_("排序"))

    class Meta:
        table_name = "cluster"
        indexes = ((("estate", "name"), True),)

    def __str__(self) -> str:
        return self.name


class Building(RegisterModel):
    cluster = ForeignKeyField(Cluster, backref="buildings", on_delete="RESTRICT",
                              verbose_name=L_("组团"))
    name = CharField(max_length=32, verbose_name=L_("楼栋"), help_text=L_("如 3栋"))
    floors = IntegerField(default=1, verbose_name=L_("层数"))

    class Meta:
        table_name = "building"
        indexes = ((("estate", "name"), True),)

    def __str__(self) -> str:
        return self.name

    def validate(self):
        if self.floors is not None and not 1 <= self.floors <= 200:
            yield "floors", gettext("层数应在 1 到 200 之间")
        yield from _same_estate(self, "estate", ("cluster",))


UNIT_STATES = [
    ("vacant", L_("未入伙")),
    ("occupied", L_("已入住")),
    ("decorating", L_("装修中")),
    ("let", L_("出租")),
]


class Unit(RegisterModel):
    """A flat (房号). `code` is what clerks type: building-entrance-room, e.g. 3-1-502."""

    building = ForeignKeyField(Building, backref="units", on_delete="RESTRICT",
                               verbose_name=L_("楼栋"))
    entrance = CharField(max_length=8, default="1", verbose_name=L_("单元"))
    room = CharField(max_length=16, verbose_name=L_("房号"))
    code = CharField(max_length=32, verbose_name=L_("房屋编号"),
                     help_text=L_("楼栋-单元-房号，如 3-1-502"))
    floor = IntegerField(null=True, verbose_name=L_("楼层"))
    area = MoneyField(null=True, verbose_name=L_("建筑面积(㎡)"))
    state = CharField(max_length=16, choices=UNIT_STATES, default="vacant", verbose_name=L_("状态"))

    class Meta:
        table_name = "unit"
        # A unit code names one flat in its estate.
        indexes = ((("estate", "code"), True),)

    def __str__(self) -> str:
        return self.code

    def validate(self):
        yield from _same_estate(self, "estate", ("building",))


RESIDENT_KINDS = [
    ("owner", L_("业主")),
    ("tenant", L_("租户")),
    ("family", L_("家庭成员")),
]


# The grid sorted by code or room across the user's estates, stopped after the page
# (migration 037, #14).
Unit.add_index(Unit.index(Unit.voided, Unit.code, name="unit_code_order"))
Unit.add_index(Unit.index(Unit.voided, Unit.room, name="unit_room_order"))


class Resident(RegisterModel):
    """An owner, tenant or family member living in (or owning) a unit."""

    unit = ForeignKeyField(Unit, backref="residents", on_delete="RESTRICT", verbose_name=L_("房屋"))
    name = CharField(max_length=32, verbose_name=L_("姓名"))
    kind = CharField(max_length=16, choices=RESIDENT_KINDS, default="owner",
                     verbose_name=L_("身份"))
    phone = PhoneField(default="", verbose_name=L_("联系电话"))
    doc_type = DocTypeField()
    id_number = DocumentNumberField(null=True, verbose_name=L_("证件号码"),
                                    help_text=L_("列表、导出和日志中只显示部分号码"))
    moved_in = DateField(null=True, verbose_name=L_("入住日期"))
    moved_out = DateField(null=True, verbose_name=L_("迁出日期"))
    notes = TextField(default="", verbose_name=L_("备注"))

    class Meta:
        table_name = "resident"
        indexes = ((("estate", "name"), False), (("estate", "phone"), False))

    def __str__(self) -> str:
        return f"{self.name}（{self.get_kind_display()}）"

    def get_kind_display(self) -> str:
        return dict(RESIDENT_KINDS).get(self.kind, self.kind)

    def validate(self):
        try:
            check_date_order(self.moved_in, self.moved_out, gettext("入住日期"),
                             gettext("迁出日期"))
        except ValueError as exc:
            yield "moved_out", str(exc)
        yield from _same_estate(self, "estate", ("unit",))

    @classmethod
    def find_callers(cls, residents, term: str, limit: int = 10) -> list[Resident]:
        """Phone intake (#12 item 8): the residents among `residents` (a query already scoped
        to the user's estates) whose phone number or flat is `term` — the exact phone or flat
        first (3-1-502 before 13-1-502), then those starting with it, then those holding it;
        owners before tenants and family, people still living there before those moved out.
        Each comes with its unit (one query)."""
        term = (term or "").strip()
        if not term:
            return []
        exact = (cls.phone == term) | (Unit.code == term)
        starts = cls.phone.startswith(term) | Unit.code.startswith(term)
        rank = Case(None, ((exact, 0), (starts, 1)), 2)
        kind = Case(cls.kind, (("owner", 0),), 1)
        return list(residents.select_extend(Unit.id, Unit.code).join_from(cls, Unit)
                    .where(cls.voided == False,  # noqa: E712
                           cls.phone.contains(term) | Unit.code.contains(term))
                    .order_by(rank, cls.moved_out.is_null(False), kind, Unit.code, cls.name)
                    .limit(limit))


def _same_estate(instance, estate_field: str, parents: tuple[str, ...]):
    """A row and the rows it hangs from must be in the same estate."""
    estate_id = instance.__data__.get(estate_field)
    for name in parents:
        parent_id = instance.__data__.get(name)
        if parent_id is None or estate_id is None:
            continue
        parent_model = instance._meta.fields[name].rel_model
        parent = parent_model.get_or_none(parent_model.id == parent_id)
        if parent is not None and parent.estate_id != estate_id:
            yield name, gettext("所选%(verbose_name)s不属于该小区",
                                verbose_name=instance._meta.fields[name].verbose_name)
