"""Convenience-service guide (便民服务指南, R-GUIDE-1/2).

Categories (department contacts, emergency numbers, housekeeping, laundry, meals, consulting,
bookings…) and their entries, each shown or hidden; the visible ones print as the A5 booklet a
new owner takes home, grouped by category, with the estate's name and its departments' contacts.
"""

from __future__ import annotations

from flask_babel import gettext
from peewee import BooleanField, CharField, ForeignKeyField, IntegerField

from models.base import PhoneField
from models.i18n import L_
from models.org import Department, _same_estate
from models.register import RegisterModel


class GuideCategory(RegisterModel):
    """A chapter of the guide, in booklet order."""

    name = CharField(max_length=32, verbose_name=L_("类别名称"),
                     help_text=L_("如 紧急求援电话、家政服务"))
    sort_order = IntegerField(default=0, verbose_name=L_("排序"), help_text=L_("小的在前"))
    intro = CharField(max_length=200, default="", verbose_name=L_("说明"),
                      help_text=L_("印在手册该类别标题下"))

    class Meta:
        table_name = "guide_category"
        indexes = ((("estate", "name"), False),)

    def __str__(self) -> str:
        return self.name

    def validate(self):
        if self.name and self.estate_id:
            twin = GuideCategory.select().where(
                GuideCategory.estate == self.estate_id, GuideCategory.name == self.name.strip(),
                GuideCategory.voided == False)  # noqa: E712
            if self.id:
                twin = twin.where(GuideCategory.id != self.id)
            if twin.exists():
                yield "name", gettext("该类别已存在")


class GuideEntry(RegisterModel):
    """One service in the guide: who provides it, how to reach them, when, for how much."""

    category = ForeignKeyField(GuideCategory, backref="entries", on_delete="RESTRICT",
                               verbose_name=L_("类别"))
    name = CharField(max_length=64, verbose_name=L_("服务项目"))
    provider = CharField(max_length=64, default="", verbose_name=L_("服务单位"))
    phone = PhoneField(default="", verbose_name=L_("电话"))
    hours = CharField(max_length=64, default="", verbose_name=L_("服务时间"),
                      help_text=L_("如 每天 8:00–20:00；每月第一个周六上午"))
    price = CharField(max_length=64, default="", verbose_name=L_("收费标准"),
                      help_text=L_("如 免费、40元/小时"))
    notes = CharField(max_length=200, default="", verbose_name=L_("备注"))
    visible = BooleanField(default=True, verbose_name=L_("印入手册"),
                           help_text=L_("不勾选则保留记录但不在手册中显示"))
    sort_order = IntegerField(default=0, verbose_name=L_("排序"))

    class Meta:
        table_name = "guide_entry"
        indexes = ((("estate", "category", "sort_order"), False),)

    def __str__(self) -> str:
        return self.name

    def validate(self):
        yield from _same_estate(self, "estate", ("category",))


def booklet(estate_id: int) -> dict:
    """What the booklet prints: departments' contacts and each category's visible entries."""
    categories = (GuideCategory.select()
                  .where(GuideCategory.estate == estate_id,
                         GuideCategory.voided == False)  # noqa: E712
                  .order_by(GuideCategory.sort_order, GuideCategory.name))
    entries = (GuideEntry.select()
               .where(GuideEntry.estate == estate_id, GuideEntry.voided == False,  # noqa: E712
                      GuideEntry.visible == True)  # noqa: E712
               .order_by(GuideEntry.sort_order, GuideEntry.name))
    by_category: dict[int, list[GuideEntry]] = {}
    for entry in entries:
        by_category.setdefault(entry.category_id, []).append(entry)
    departments = (Department.select()
                   .where(Department.estate == estate_id,
                          Department.voided == False)  # noqa: E712
                   .order_by(Department.kind))
    return {
        "departments": list(departments),
        # A category with nothing visible is left out rather than printed empty.
        "sections": [(c, by_category[c.id]) for c in categories if by_category.get(c.id)],
    }
