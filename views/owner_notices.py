"""公告 in the admin (issue #17 item 2): the estate's notices to owners, posted by the desk and
read by signed-in owners on the H5 (views/h5_info.py). The rules are in models/notices.py."""

from __future__ import annotations

from models.i18n import L_
from models.notices import Notice
from views.actions import RegisterView, add_views
from views.base import SecureModelView


class NoticeAdmin(RegisterView):
    """公告: title, text, the estate (and buildings) it is for, from its publish day to expiry."""

    permissions = {**SecureModelView.permissions, "void": SecureModelView.permissions["edit"]}
    column_list = ("estate", "title", "buildings", "publish_on", "expire_on", "created_at")
    column_labels = {"created_at": L_("登记时间")}
    column_searchable_list = ("title",)
    column_filters = ("publish_on", "expire_on")
    column_default_sort = ("publish_on", True)
    form_create_columns = ("estate", "title", "body", "buildings", "publish_on", "expire_on")
    form_edit_columns = ("title", "body", "buildings", "publish_on", "expire_on")


def register(admin, category: str) -> None:
    add_views(admin, category, (NoticeAdmin, Notice, "公告", "notice"))
