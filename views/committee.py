"""The owners' committee log in the admin (R-SVC-4): every month's contact, attendees, topics,
the committee's opinions and follow-ups; the owners' suggestions and complaints raised in it,
each of which can become a demand (channel 业委会).

The rules live in models/committee.py; the row actions are 登记业主建议/投诉 on a contact and
the shared 转为业户需求 on an item (views/demand_source.py).
"""

from __future__ import annotations

import datetime as dt

from flask_admin import expose
from wtforms import Form, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length, Optional

from models.base import office_day
from models.committee import ITEM_KINDS, CommitteeContact, CommitteeItem
from models.i18n import L_
from models.users import DESK
from views.actions import RegisterView, RowAction, add_views, current
from views.base import SecureModelView
from views.demand_source import TO_DEMAND, demand_cell
from views.fields import UNIT_LOOKUP, date_cell
from views.forms import choices


class CommitteeItemForm(Form):
    kind = SelectField(L_("类型"), choices=choices(ITEM_KINDS), validate_choice=False)
    content = TextAreaField(L_("内容"), validators=[InputRequired(L_("请填写业主提出的内容")),
                                              Length(max=2000)])
    unit_code = StringField(L_("涉及房屋"), validators=[Optional(), Length(max=32)],
                            description=L_("房屋编号，如 3-1-502；不涉及具体房屋可留空"))


class CommitteeContactAdmin(RegisterView):
    """业委会沟通: every month's contact, attendees, topics, owners' suggestions and complaints,
    the committee's opinions and follow-ups (R-SVC-4)."""

    permissions = {**SecureModelView.permissions, "item": DESK}
    list_template = "admin/office_committee_list.html"
    details_extra = "admin/office_committee_items.html"
    column_list = ("held_at", "kind", "attendees", "topics", "follow_up", "follow_up_due",
                   "follow_up_done_at")
    column_filters = ("kind", "held_at", "follow_up_due")
    column_searchable_list = ("topics", "attendees", "committee_opinions")
    column_default_sort = ("held_at", True)
    column_formatters = {"topics": lambda v, c, m, n: (m.topics or "")[:30],
                         "attendees": lambda v, c, m, n: (m.attendees or "")[:20],
                         "follow_up_due": date_cell}
    form_create_columns = ("estate", "held_at", "kind", "place", "attendees", "topics",
                           "committee_opinions", "follow_up", "follow_up_due")
    form_edit_columns = ("held_at", "kind", "place", "attendees", "topics",
                         "committee_opinions", "follow_up", "follow_up_due",
                         "follow_up_done_at", "follow_up_result")
    form_widget_args = {name: {"rows": 3} for name in (
        "attendees", "topics", "committee_opinions", "follow_up", "follow_up_result")}
    row_actions = (
        # An owners' suggestion, complaint or opinion raised in this contact.
        RowAction("item", L_("登记业主建议/投诉"), "add_item", form=CommitteeItemForm,
                  permission="item", versioned=False),
    )

    @expose("/")
    def index_view(self):
        today = office_day()
        first = (today.replace(day=1) - dt.timedelta(days=150)).replace(day=1)
        self._template_args["missed"] = [
            (estate, CommitteeContact.months_without_contact(estate.id, first, today))
            for estate in current().estates()]
        return super().index_view()


class CommitteeItemAdmin(RegisterView):
    """业委会反映事项: each suggestion or complaint can become a demand (channel 业委会)."""

    permissions = {**SecureModelView.permissions, "demand": DESK}
    column_list = ("contact", "kind", "content", "unit", "demand")
    column_filters = ("kind", "contact")
    column_searchable_list = ("content",)
    column_formatters = {"demand": demand_cell,
                         "content": lambda v, c, m, n: (m.content or "")[:40]}
    form_create_columns = ("estate", "contact", "kind", "content", "unit")
    form_edit_columns = ("kind", "content")
    form_ajax_refs = {"unit": UNIT_LOOKUP}
    row_actions = (TO_DEMAND,)


def register(admin, category: str) -> None:
    add_views(admin, category,
              (CommitteeContactAdmin, CommitteeContact, "业委会沟通", "committee_contact"),
              (CommitteeItemAdmin, CommitteeItem, "业委会反映事项", "committee_item"))
