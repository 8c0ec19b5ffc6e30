"""Decoration patrols in the admin (装修巡查, issue #16): the list, each patrol with its photos.

Patrols are recorded on the phone page (views/field_patrols.py), where staff on the estate are;
here the office reads them, adds photos, and voids a mistaken one. The decoration's own page
lists its patrols (admin/deco_patrols.html).
"""

from __future__ import annotations

from flask_babel import gettext
from markupsafe import Markup

from models.attachments import photos
from models.i18n import L_
from models.patrols import DecorationPatrol
from models.users import MANAGERS
from views.actions import RegisterView
from views.base import SecureModelView
from views.fields import DESK_AND_DEPT, NOBODY


def _violations_cell(view, context, model, name):
    labels = model.violation_labels
    if not labels:
        return gettext("无")
    return Markup(" ").join(Markup('<span class="badge badge-danger">{}</span>').format(label)
                            for label in labels)


class DecorationPatrolAdmin(RegisterView):
    """装修巡查: who walked which works when, what was found, and the follow-up."""

    permissions = {**SecureModelView.permissions, "create": NOBODY, "edit": NOBODY,
                   "void": MANAGERS, "patrol": DESK_AND_DEPT}
    attachment_kinds = (photos("photos", L_("巡查照片"), permission="patrol"),)  # #16
    column_list = ("patrolled_at", "decoration", "patrolled_by", "violations", "follow_up",
                   "rectify_by", "deduction_amount")
    column_filters = ("patrolled_at", "follow_up")
    column_default_sort = ("patrolled_at", True)
    column_formatters = {"violations": _violations_cell}
    column_formatters_detail = {"violations": _violations_cell}


def register(admin, category: str) -> None:
    admin.add_view(DecorationPatrolAdmin(DecorationPatrol, name="装修巡查", category=category,
                                         endpoint="decoration_patrol"))
