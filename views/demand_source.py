"""转为业户需求: the one row action that turns what an owner raised in another register (a
survey visit's need, a committee item) into a demand of the closed loop (R-DEM), linked back.

The rule lives in models.office.DemandSource.to_demand; a register offers the action by
listing `TO_DEMAND` in its row_actions (permission "demand") and shows the link with
`demand_cell`.
"""

from __future__ import annotations

from flask import request
from markupsafe import Markup
from wtforms import Form, SelectField, TextAreaField
from wtforms.validators import Length, Optional

from models.committee import DEMAND_KIND
from models.demands import CATEGORIES, KINDS
from models.i18n import L_
from views.actions import RowAction
from views.forms import choices


class ToDemandForm(Form):
    kind = SelectField(L_("需求类型"), choices=choices(KINDS), validate_choice=False)
    category = SelectField(L_("需求类别"), choices=choices([("", L_("—— 请选择 ——")), *CATEGORIES]),
                           validate_choice=False)
    description = TextAreaField(L_("需求内容"), validators=[Optional(), Length(max=2000)])


def _suggest(view, row, form):
    """Open the form on what the owner said, as the kind of demand it naturally is."""
    if request.method == "GET":
        form.description.data = row.demand_text()
        form.kind.data = DEMAND_KIND.get(getattr(row, "kind", ""), "suggestion")


def can_become_demand(row) -> bool:
    return not row.demand_id and bool(row.demand_text())


TO_DEMAND = RowAction("demand", L_("转为业户需求"), "to_demand", form=ToDemandForm,
                      when=can_become_demand, permission="demand", prepare=_suggest,
                      done=L_("已转为业户需求 {result.number}"))


def demand_cell(view, context, model, name):
    if not model.demand_id:
        return ""
    return Markup('<a href="{}">{}</a>').format(
        view.get_url("demand.details_view", id=model.demand_id), model.demand.number)
