"""转整改: the one row action that turns what another register found wrong (a move-in's 整改单,
a decoration's acceptance defects, an emergency's measures, an owner's demand) into
rectification items (R-FRONT-2), prefilled from the row and linked back to it.

The rule lives in models.rectification_sources.from_source; a register offers the action by
listing `TO_RECTIFICATION` in its row_actions (permission "edit": the desk).
"""

from __future__ import annotations

from flask import request
from wtforms import Form, StringField, TextAreaField
from wtforms.validators import Length, Optional

from models.i18n import L_
from models.rectification_sources import (
    can_transfer,
    from_source,
    suggested_location,
    suggested_text,
)
from views.actions import RowAction


class ToRectificationForm(Form):
    items = TextAreaField(L_("整改项目"), validators=[Optional(), Length(max=5000)],
                          description=L_("一行一项，每项生成一条整改登记"))
    location = StringField(L_("部位"), validators=[Optional(), Length(max=100)],
                           description=L_("没有房屋时必填，如 5栋地下车库"))


def _suggest(view, row, form):
    """Open the form on what the row itself lists as needing work."""
    if request.method == "GET":
        form.items.data = suggested_text(row)
        form.location.data = "" if getattr(row, "unit_id", None) else suggested_location(row)


def _transfer(row, user, **values) -> str:
    return "、".join(item.number for item in from_source(row, user, **values))


TO_RECTIFICATION = RowAction("rectify", L_("转整改"), _transfer, form=ToRectificationForm,
                             when=can_transfer, permission="edit", css="btn-outline-warning",
                             prepare=_suggest, versioned=False, title=L_("转整改"),
                             done=L_("已转整改：{result}"))
