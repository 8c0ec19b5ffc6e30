"""Required pick-lists start empty on a new record (issue #12 item 6).

A drop-down whose field has no default used to show its first choice as if chosen: 类别=保安 on a
demand, 事件类型=火灾, 角色=系统管理员 (an admin was created by accident), the guide's 紧急求援电话,
scores of 5, the oldest survey month. Now it shows 「—— 请选择 ——」 and the required check asks
for a real choice. A field whose default is right for nearly every case keeps it (its model
field declares that default).
"""

from __future__ import annotations

from wtfpeewee.fields import SelectChoicesField, SelectQueryField

from models.i18n import L_

PLEASE_CHOOSE = L_("—— 请选择 ——")


def blank_required_choices(form, model) -> None:
    """Offer an empty first option on every required pick-list without a model default."""
    for name, column in model._meta.fields.items():
        if name not in form or column.null or column.default is not None:
            continue
        field = form[name]
        if isinstance(field, (SelectChoicesField, SelectQueryField)):
            field.allow_blank, field.blank_text = True, PLEASE_CHOOSE
