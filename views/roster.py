"""Shifts, the duty roster, duty directors and the shift log in the admin (R-SVC-1/2,
R-STAFF-1).

The rules live in models/roster.py (a month as the page shows it: models/roster_month.py). The
排班表 page and its fill form, and the default shifts, are pages of their own; the shift log's
接班确认 is its one row action.
"""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, request
from flask_admin import expose
from flask_babel import gettext
from markupsafe import Markup
from wtforms import Form, SelectMultipleField, StringField
from wtforms.validators import InputRequired, Length, Optional

from models.base import RuleError, office_day, to_office, utcnow
from models.i18n import L_
from models.office import parse_month, this_month
from models.roster import (
    DUTY_DIRECTOR_ROLES,
    ROSTER_ROLES,
    DutyDirector,
    RosterEntry,
    Shift,
    ShiftLog,
    definition_gaps,
    ensure_default_shifts,
    fill_month,
    span_text,
)
from models.roster_month import month_coverage, roster_candidates
from models.users import DESK, EVERYONE, MANAGERS
from views.actions import RegisterView, RowAction, add_views, current
from views.base import SecureModelView, SecurePage
from views.fields import chosen_estate, date_cell, when_field
from views.forms import choices
from views.i18n import FORM_META


class ShiftAdmin(RegisterView):
    """班次: the desk's shifts as data (R-SVC-1); uncovered hours are shown, not accepted
    silently."""

    permissions = {**SecureModelView.permissions, "create": MANAGERS, "edit": MANAGERS}
    endpoint_actions = {"defaults_view": "create"}
    list_template = "admin/office_shift_list.html"
    column_list = ("name", "starts", "min_staff")
    column_default_sort = ("starts", False)
    column_formatters = {"starts": lambda v, c, m, n: m.hours}
    column_labels = {"starts": L_("时段")}
    form_create_columns = ("estate", "name", "starts", "ends", "min_staff")
    form_edit_columns = ("name", "starts", "ends", "min_staff")

    @expose("/")
    def index_view(self):
        self._template_args["coverage"] = [
            (estate, [span_text(*g) for g in definition_gaps(Shift.live(estate.id))],
             Shift.live(estate.id).exists())
            for estate in current().estates()]
        return super().index_view()

    @expose("/defaults/", methods=("POST",))
    def defaults_view(self):
        """Create the manual's three shifts (09–17, 17–24, 00–08) for an estate without any."""
        estate, _ = chosen_estate()
        if estate is None:
            abort(404)
        ensure_default_shifts(estate.id, current())
        flash(gettext("%(name)s：已设置默认班次", name=estate.name), "success")
        return redirect(self.get_url(".index_view"))


class RosterEntryAdmin(RegisterView):
    """排班: one clerk on one shift of one day (the month is shown on the 排班表 page)."""

    permissions = {**SecureModelView.permissions, "create": MANAGERS, "edit": MANAGERS}
    user_fields = {"staff": ROSTER_ROLES}
    column_list = ("day", "shift", "staff", "notes")
    column_filters = ("day", "shift", "staff")
    column_default_sort = ("day", True)
    column_formatters = {"day": date_cell}
    form_columns = ("estate", "day", "shift", "staff", "notes")


class DutyDirectorAdmin(RegisterView):
    """值班主任: one per day, never two (R-SVC-2)."""

    permissions = {**SecureModelView.permissions, "create": MANAGERS, "edit": MANAGERS}
    user_fields = {"director": DUTY_DIRECTOR_ROLES}
    column_list = ("day", "director", "phone", "notes")
    column_filters = ("day", "director")
    column_default_sort = ("day", True)
    column_formatters = {"day": date_cell}
    form_columns = ("estate", "day", "director", "phone", "notes")


class FillMonthForm(Form):
    month = StringField(L_("月份"), validators=[InputRequired(L_("请填写月份"))],
                        description=L_("如 2026-12"))
    clerks = SelectMultipleField(L_("轮班客服员"), coerce=int, validate_choice=False)
    per_shift = StringField(L_("每班人数"), default="3")
    directors = SelectMultipleField(L_("轮值的值班主任"), coerce=int, validators=[Optional()],
                                    validate_choice=False)


class RosterView(SecurePage):
    """排班表: a month of shifts and duty directors with its warnings (R-SVC-1/2)."""

    roles = EVERYONE

    def _month(self):
        estate, estates = chosen_estate()
        if estate is None:
            abort(404)
        year, month = parse_month(request.args.get("month")) or this_month()
        return estate, estates, month_coverage(estate.id, year, month)

    @expose("/")
    def index(self):
        estate, estates, coverage = self._month()
        first = dt.date(coverage["year"], coverage["month"], 1)
        previous = first - dt.timedelta(days=1)
        following = first + dt.timedelta(days=32)
        return self.render("admin/office_roster.html", estate=estate, estates=estates,
                           coverage=coverage, first=first, can_fill=current().role in MANAGERS,
                           previous=f"{previous:%Y-%m}", following=f"{following:%Y-%m}",
                           weekdays=gettext("一二三四五六日"))

    @expose("/print/")
    def print_view(self):
        """The month's roster on one A4 landscape page, with its warnings."""
        estate, _, coverage = self._month()
        return self.render("admin/office_roster_print.html", estate=estate, coverage=coverage,
                           now=to_office(utcnow()), weekdays=gettext("一二三四五六日"))

    @staticmethod
    def _fill_choices(form, estate_id):
        clerks, directors = roster_candidates(estate_id)
        form.clerks.choices = choices([(u.id, u.display_name) for u in clerks])
        form.directors.choices = choices([(u.id, f"{u.display_name}（{u.role_label}）")
                                          for u in directors])

    @expose("/fill/", methods=("GET", "POST"))
    def fill_view(self):
        """按轮换排满一个月: clerks in turn on every shift, duty directors in turn by day."""
        if current().role not in MANAGERS:
            abort(403)
        estate, _ = chosen_estate()
        if estate is None:
            abort(404)
        form = FillMonthForm(request.form, meta=FORM_META)
        self._fill_choices(form, estate.id)
        if request.method == "GET":
            form.month.data = request.args.get("month") or "{}-{:02d}".format(*this_month())
        if request.method == "POST" and form.validate():
            try:
                parsed = parse_month(form.month.data)
                if parsed is None:
                    raise RuleError({"month": gettext("月份格式应为 2026-12")})
                year, month = parsed
                added = fill_month(current(), estate.id, year, month,
                                   clerk_ids=form.clerks.data, per_shift=form.per_shift.data,
                                   director_ids=form.directors.data)
            except RuleError as error:
                SecureModelView.attach_errors(form, error)
            else:
                flash(gettext("已排班 %(added)s 条", added=added), "success")
                return redirect(self.get_url(".index", estate=estate.id,
                                             month=f"{year}-{month:02d}"))
        return self.render("admin/action_form.html", form=form, title=L_("按轮换排满一个月"),
                           row=estate, cancel_url=self.get_url(".index", estate=estate.id))


class AcknowledgeForm(Form):
    note = StringField(L_("接班意见"), validators=[Optional(), Length(max=200)])
    at = when_field(L_("确认时间"))


def _ack_cell(view, context, model, name):
    if model.acknowledged_at is None:
        return Markup(gettext('<span class="badge badge-warning">待接班确认</span>'))
    who = model.acknowledged_by.display_name if model.acknowledged_by_id else ""
    return f"{who} {view._shown_value(model, 'acknowledged_at', model.acknowledged_at)}"


class ShiftLogAdmin(RegisterView):
    """交接班记录: the outgoing shift's hand-over note, the incoming shift's acknowledgement."""

    permissions = {**SecureModelView.permissions, "ack": DESK}
    column_list = ("day", "shift", "written_by", "written_at", "handover_note",
                   "incoming_shift", "acknowledged_by")
    column_filters = ("day", "shift")
    column_default_sort = ("written_at", True)
    column_formatters = {"day": date_cell, "acknowledged_by": _ack_cell,
                         "handover_note": lambda v, c, m, n: (m.handover_note or "")[:40]}
    form_create_columns = ("estate", "day", "shift", "handover_note")
    form_edit_columns = ("handover_note",)
    form_widget_args = {"handover_note": {"rows": 5}}
    create_defaults = {"day": office_day}
    row_actions = (
        # 接班确认 by the incoming shift (not the writer).
        RowAction("ack", L_("接班确认"), "acknowledge", form=AcknowledgeForm,
                  when=lambda row: row.acknowledged_at is None, permission="ack"),
    )


def register(admin, category: str) -> None:
    admin.add_view(RosterView(name="排班表", category=category, endpoint="roster"))
    add_views(admin, category,
              (ShiftLogAdmin, ShiftLog, "交接班记录", "shift_log"),
              (DutyDirectorAdmin, DutyDirector, "值班主任", "duty_director"),
              (RosterEntryAdmin, RosterEntry, "排班明细", "roster_entry"),
              (ShiftAdmin, Shift, "班次", "shift"))
