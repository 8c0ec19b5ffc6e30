"""Satisfaction surveys in the admin (R-SVC-3): one round a month with its coverage and
satisfaction; each visit's scores and needs, and a need turned into a demand.

The rules live in models/surveys.py; the visit's one row action is the shared 转为业户需求
(views/demand_source.py).
"""

from __future__ import annotations

from flask_babel import gettext

from models.base import utcnow
from models.i18n import L_
from models.org import Unit
from models.surveys import SurveyRound, SurveyVisit
from models.users import DESK
from views.actions import RegisterView, add_views
from views.base import SecureModelView
from views.demand_source import TO_DEMAND, demand_cell
from views.fields import RESIDENT_LOOKUP, UNIT_LOOKUP


def _percent(value) -> str:
    return "" if value is None else f"{value}%"


def _stats(survey: SurveyRound) -> dict:
    # One round's figures fill four columns of its grid row; the page's (or the export
    # batch's) rounds get theirs together in prepare_rows.
    if not hasattr(survey, "_stats"):
        survey._stats = survey.stats()
    return survey._stats


class SurveyRoundAdmin(RegisterView):
    """满意度访问（按月）: one round per month, with its coverage and satisfaction (R-SVC-3)."""

    permissions = {**SecureModelView.permissions, "create": DESK, "edit": DESK}
    details_extra = "admin/office_survey_stats.html"
    column_list = ("month", "title", "visits", "coverage", "satisfaction", "needs")
    column_default_sort = ("month", True)
    column_labels = {"visits": L_("访问户数"), "coverage": L_("覆盖率"),
                     "satisfaction": L_("满意率"),
                     "needs": L_("需求(已转)")}
    column_formatters = {
        "month": lambda v, c, m, n: f"{m.month:%Y-%m}",
        "visits": lambda v, c, m, n: _stats(m)["visits"],
        "coverage": lambda v, c, m, n: _percent(_stats(m)["coverage"]),
        "satisfaction": lambda v, c, m, n: _percent(_stats(m)["satisfaction"]),
        "needs": lambda v, c, m, n: gettext("%(needs)s（已转 %(demands)s）", **_stats(m)),
    }
    form_create_columns = ("estate", "month", "title", "notes")
    form_edit_columns = ("title", "notes")

    def prepare_rows(self, rows, related) -> None:
        """The rounds' figures in two queries for the page, not seven per row (#14 item 2)."""
        super().prepare_rows(rows, related)
        figures = SurveyRound.stats_for(rows)
        for row in rows:
            row._stats = figures[row.id]


class SurveyVisitAdmin(RegisterView):
    """满意度访问记录: one unit per round, scores, needs; a need becomes a demand (R-SVC-3)."""

    permissions = {**SecureModelView.permissions, "demand": DESK}
    column_list = ("round", "visited_at", "unit", "channel", "service_score",
                   "environment_score", "security_score", "engineering_score", "satisfied",
                   "needs", "demand")
    column_filters = ("round", "satisfied", "channel", "visited_at")
    column_searchable_list = ("needs", Unit.code)
    column_default_sort = ("visited_at", True)
    column_formatters = {"demand": demand_cell,
                         "needs": lambda v, c, m, n: (m.needs or "")[:30]}
    form_create_columns = ("estate", "round", "unit", "resident", "visited_at", "channel",
                           "service_score", "environment_score", "security_score",
                           "engineering_score", "satisfied", "needs")
    form_edit_columns = ("visited_at", "channel", "service_score", "environment_score",
                         "security_score", "engineering_score", "satisfied", "needs")
    form_ajax_refs = {"unit": UNIT_LOOKUP, "resident": RESIDENT_LOOKUP}
    create_defaults = {"visited_at": utcnow}
    row_actions = (TO_DEMAND,)


def register(admin, category: str) -> None:
    add_views(admin, category,
              (SurveyRoundAdmin, SurveyRound, "满意度访问（按月）", "survey_round"),
              (SurveyVisitAdmin, SurveyVisit, "满意度访问记录", "survey_visit"))
