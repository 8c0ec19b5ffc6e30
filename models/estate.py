"""Company branches (分公司) and the estates (小区/管理处) every register row belongs to."""

from __future__ import annotations

from flask_babel import gettext
from peewee import BooleanField, CharField, ForeignKeyField

from models.base import VersionedModel
from models.i18n import L_


class Branch(VersionedModel):
    """A company branch (分公司); its general manager receives escalated emergencies (R-EMG-2)."""

    name = CharField(max_length=64, unique=True, verbose_name=L_("分公司名称"))
    general_manager = CharField(max_length=32, default="", verbose_name=L_("总经理"))
    phone = CharField(max_length=32, default="", verbose_name=L_("联系电话"))
    # Where an escalated emergency reaches the GM (R-EMG-2, #17; migration 020): the GM need
    # not be a user of this system, so the branch carries the contact itself.
    gm_mobile = CharField(max_length=32, default="", verbose_name=L_("总经理手机"),
                          help_text=L_("紧急事件上报总经理时发短信到此号码（R-EMG-2）"))
    gm_wecom_userid = CharField(max_length=64, default="", verbose_name=L_("总经理企业微信账号"),
                                help_text=L_("企业微信通讯录中的账号（userid），用于发应用消息"))

    class Meta:
        table_name = "branch"

    def __str__(self) -> str:
        return self.name

    def validate(self):
        from models.validators import clean_mobile, wecom_userid_problem

        if (self.gm_mobile or "").strip():
            try:
                self.gm_mobile = clean_mobile(self.gm_mobile)
            except ValueError:
                yield "gm_mobile", gettext("请填写11位手机号（1开头），用于接收紧急事件短信")
        self.gm_wecom_userid = (self.gm_wecom_userid or "").strip()
        problem = wecom_userid_problem(self.gm_wecom_userid)
        if problem:
            yield "gm_wecom_userid", problem


class Estate(VersionedModel):
    """A residential estate and its management office (管理处).

    `code` is the short stable name operators type on the command line (e.g. DEMO).
    """

    branch = ForeignKeyField(Branch, backref="estates", on_delete="RESTRICT",
                             verbose_name=L_("分公司"))
    code = CharField(max_length=16, unique=True, verbose_name=L_("代码"),
                     help_text=L_("命令行和编号中使用的简称，如 DEMO"))
    name = CharField(max_length=64, verbose_name=L_("小区/管理处名称"))
    address = CharField(max_length=128, default="", verbose_name=L_("地址"))
    office_phone = CharField(max_length=32, default="", verbose_name=L_("客服中心电话"))
    active = BooleanField(default=True, verbose_name=L_("在用"))

    class Meta:
        table_name = "estate"

    def __str__(self) -> str:
        return self.name

    def validate(self):
        if self.code and not self.code.replace("-", "").replace("_", "").isalnum():
            yield "code", gettext("代码只能由字母、数字、-、_ 组成")
        if self.code:
            self.code = self.code.upper()
