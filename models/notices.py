"""The estate's notices to owners (公告, issue #17 item 2): what the desk posts on the notice
board, also readable by signed-in owners on the H5.

A notice belongs to an estate and, optionally, to some of its buildings (by name, as the desk
writes them: "1栋、3栋"); it is shown from its publish day through its expiry day (office days),
as plain text — never as HTML. Voiding takes it down.
"""

from __future__ import annotations

import datetime as dt
import re

from flask_babel import gettext
from peewee import CharField, DateField, TextField

from models.base import office_day
from models.i18n import L_
from models.org import Building
from models.register import RegisterModel

BUILDING_SEPARATORS = re.compile(r"[,，、;；\s]+")


def building_names(text: str | None) -> list[str]:
    """The building names written in a notice's 楼栋 field, in order, without repeats."""
    names: list[str] = []
    for name in BUILDING_SEPARATORS.split(text or ""):
        if name and name not in names:
            names.append(name)
    return names


class Notice(RegisterModel):
    """公告: a title and a text for the estate's owners (or some buildings'), for a while."""

    title = CharField(max_length=60, verbose_name=L_("标题"))
    body = TextField(verbose_name=L_("内容"), help_text=L_("纯文字，按原样显示（不支持网页格式）"))
    buildings = CharField(max_length=200, default="", verbose_name=L_("楼栋"),
                          help_text=L_("留空为全小区；只发给部分楼栋时填写楼栋名称，用顿号或逗号"
                                       "分隔，如 1栋、3栋"))
    publish_on = DateField(default=office_day, verbose_name=L_("发布日期"))
    expire_on = DateField(null=True, verbose_name=L_("截止日期"),
                          help_text=L_("此日之后不再显示；留空为长期"))

    class Meta:
        table_name = "notice"
        # The H5's question: the estate's notices current today.
        indexes = ((("estate", "publish_on"), False),)

    def __str__(self) -> str:
        return self.title or gettext("公告")

    @property
    def building_list(self) -> list[str]:
        return building_names(self.buildings)

    def validate(self):
        if not (self.title or "").strip():
            yield "title", gettext("请填写标题")
        if not (self.body or "").strip():
            yield "body", gettext("请填写内容")
        elif len(self.body) > 5000:
            yield "body", gettext("内容不能超过 5000 个字")
        if self.publish_on and self.expire_on and self.expire_on < self.publish_on:
            yield "expire_on", gettext("截止日期不能早于发布日期")
        names = self.building_list
        if names and self.estate_id:
            known = {b.name for b in Building.select(Building.name).where(
                Building.estate == self.estate_id, Building.voided == False)}  # noqa: E712
            unknown = [name for name in names if name not in known]
            if unknown:
                yield "buildings", gettext("本小区没有楼栋：%(unknown)s。可选：%(known)s",
                                           unknown="、".join(unknown),
                                           known="、".join(sorted(known)))
            else:
                self.buildings = "、".join(names)

    @classmethod
    def current(cls, estate_id: int, building: str | None, today: dt.date | None = None):
        """The notices an owner of `building` in the estate sees today, newest first."""
        today = today or office_day()
        rows = (cls.select().where(cls.estate == estate_id, cls.voided == False,  # noqa: E712
                                   cls.publish_on <= today,
                                   cls.expire_on.is_null() | (cls.expire_on >= today))
                .order_by(cls.publish_on.desc(), cls.id.desc()))
        return [row for row in rows if not row.building_list or building in row.building_list]
