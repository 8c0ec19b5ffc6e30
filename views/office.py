"""The office's other registers in the admin (issue #5): printing, emergencies, the service guide,
move-in, batch services, shifts and the duty roster, surveys, the owners' committee, tenancies
and ownership transfers (R-PRINT, R-EMG, R-GUIDE, R-MOVE, R-JOB, R-SVC, R-STAFF-2).

Views only collect input and show results; every rule lives in the models (models/printing.py,
emergencies.py, guide.py, movein.py, batches.py, roster.py, surveys.py, committee.py,
tenancy.py). The grids share the front desk's base (row buttons by state, small action forms,
printing) and add staff pick-lists limited to the user's estates and roles.
"""

from __future__ import annotations

import datetime as dt

from flask import abort, flash, redirect, request
from flask_admin import expose
from markupsafe import Markup
from wtforms import (
    BooleanField,
    DateField,
    Form,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from models.base import RuleError, office_day, to_office, utcnow
from models.batches import NOTICE_METHODS, ServiceBatch, ServiceRegistration, notice_days
from models.committee import DEMAND_KIND, ITEM_KINDS, CommitteeContact, CommitteeItem
from models.demands import CATEGORIES, KINDS
from models.emergencies import CLOSING_ROLES, STEP_KINDS, Emergency, EmergencyStep
from models.guide import GuideCategory, GuideEntry, booklet
from models.movein import STEPS, MoveIn
from models.office import parse_month, staff_of, this_month
from models.org import Unit
from models.printing import PrintJob
from models.register import save_record
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
    month_coverage,
    roster_candidates,
    span_text,
)
from models.surveys import SurveyRound, SurveyVisit
from models.tenancy import OwnershipTransfer, Tenancy
from models.users import DESK, EVERYONE, MANAGERS, User, UserEstate
from models.validators import neutralise_formula
from views.actions import FrontDeskView
from views.actions import current as _user
from views.base import LocalDateTimeField, SecureModelView, SecurePage, choices
from views.fields import DATE_FORMAT, DESK_AND_DEPT, NOBODY, UNIT_LOOKUP
from views.fields import when_field as _when

OFFICE = "办公登记"
DUTY = "值班与沟通"
RESIDENT_LOOKUP = {"fields": ("name", "phone"), "page_size": 20,
                   "placeholder": "输入住户姓名或电话搜索"}


def _people(estate_id: int, roles, empty: str = "—— 请选择 ——"):
    return choices([(0, empty)] + [(u.id, f"{u.display_name}（{u.role_label}）")
                                   for u in staff_of(estate_id, roles)])


def _chosen_estate():
    """The estate a page is about (?estate=), among the user's own; the first by default."""
    estates = list(_user().estates())
    wanted = request.args.get("estate", type=int)
    chosen = next((e for e in estates if e.id == wanted), estates[0] if estates else None)
    return chosen, estates


def _date_cell(view, context, model, name):
    value = getattr(model, name)
    return value.strftime(DATE_FORMAT) if value else ""


class OfficeView(FrontDeskView):
    """A register of the office: row buttons, action forms, printing, staff pick-lists."""

    details_template = "admin/register_details.html"
    # A template shown under the record's fields (its steps, units, items…).
    details_extra = ""
    # Staff pick-lists: field name → roles offered (only people of the user's estates).
    user_fields: dict[str, frozenset[str]] = {}

    def _scope_form(self, form):
        form = super()._scope_form(form)
        if self.user_fields:
            linked = UserEstate.select(UserEstate.user).where(
                UserEstate.estate.in_(_user().estate_ids()))
            for name, roles in self.user_fields.items():
                if name in form and hasattr(form[name], "query"):
                    form[name].query = (User.select()
                                        .where(User.active == True,  # noqa: E712
                                               User.role.in_(sorted(roles)), User.id.in_(linked))
                                        .order_by(User.display_name))
        return form

    def get_export_value(self, model, name):
        # Badges are for the screen; a spreadsheet gets their words.
        value = super().get_export_value(model, name)
        if isinstance(value, Markup):
            value = neutralise_formula(value.striptags())
        return value

    def _apply(self, title: str, form: Form, apply):
        """An action form on this row whose apply(row, form) calls one model method."""
        row = self._row_or_404()
        return self._action(title, form, lambda f: apply(row, f), row=row)


def _state_is(*states):
    return lambda row: row.state in states


# --- service guide ----------------------------------------------------------------------------


class GuideCategoryAdmin(OfficeView):
    """便民服务指南·类别: the chapters of the booklet, in order (R-GUIDE-1)."""

    list_template = "admin/office_guide_list.html"
    column_list = ("name", "sort_order", "intro")
    column_default_sort = ("sort_order", False)
    form_create_columns = ("estate", "name", "sort_order", "intro")
    form_edit_columns = ("name", "sort_order", "intro")


class GuideEntryAdmin(OfficeView):
    """便民服务指南: services with provider, phone, hours, price; shown or hidden (R-GUIDE-1);
    the visible ones print as the new owner's booklet (R-GUIDE-2)."""

    endpoint_actions = {"booklet_view": "list"}
    list_template = "admin/office_guide_list.html"
    column_list = ("category", "name", "provider", "phone", "hours", "price", "visible",
                   "sort_order")
    column_filters = ("category", "visible")
    column_searchable_list = ("name", "provider", "phone")
    column_default_sort = ("sort_order", False)
    form_create_columns = ("estate", "category", "name", "provider", "phone", "hours", "price",
                           "notes", "visible", "sort_order")
    form_edit_columns = ("category", "name", "provider", "phone", "hours", "price", "notes",
                         "visible", "sort_order")

    @expose("/booklet/")
    def booklet_view(self):
        """The A5 booklet of the guide, grouped by category, with the estate's name."""
        estate, _ = _chosen_estate()
        if estate is None:
            abort(404)
        return self.render("admin/office_guide_booklet.html", estate=estate,
                           now=to_office(utcnow()), **booklet(estate.id))


# --- printing log -----------------------------------------------------------------------------


# The action forms leave choice checking to the models (validate_choice=False): the model's
# Chinese message then sits next to the field instead of wtforms' English "Not a valid choice".


class ApprovePrintForm(Form):
    decision = RadioField("审批", choices=choices([("1", "同意打印"), ("0", "不同意")]),
                          default="1", validators=[InputRequired("请选择是否同意")],
                          validate_choice=False)
    note = StringField("审批意见", validators=[Optional(), Length(max=200)],
                       description="不同意时请填写原因")
    at = _when("审批时间")


class PrintedForm(Form):
    signed_name = StringField("签收人", validators=[Optional(), Length(max=32)],
                              description="领取文件的人")
    confirmed = BooleanField("签收人已在打印登记簿上签名")
    printed_at = _when("打印时间")


class PrintJobAdmin(OfficeView):
    """文件打印登记: a department's job, approved by its supervisor, printed and signed for
    (R-PRINT-1); monthly pages per department."""

    permissions = {**SecureModelView.permissions, "create": DESK_AND_DEPT,
                   "edit": DESK_AND_DEPT, "approve": MANAGERS, "print_job": DESK_AND_DEPT}
    endpoint_actions = {"approve_view": "approve", "printed_view": "print_job",
                        "monthly_view": "list", "month_print_view": "list"}
    list_template = "admin/office_print_list.html"
    column_list = ("number", "requested_at", "department", "title", "copies", "pages",
                   "total_pages", "requested_by", "state", "approved_by", "printed_at",
                   "signed_name")
    column_filters = ("state", "department", "requested_at", "printed_at")
    column_searchable_list = ("number", "title", "signed_name")
    column_default_sort = ("requested_at", True)
    form_create_columns = ("estate", "department", "title", "copies", "pages", "notes")
    form_edit_columns = ("department", "title", "copies", "pages", "notes")
    buttons = (
        (_state_is("requested"), "审批", ".approve_view", "btn-primary", "approve"),
        (_state_is("approved"), "登记打印并签收", ".printed_view", "btn-success", "print_job"),
    )

    @expose("/approve/", methods=("GET", "POST"))
    def approve_view(self):
        """审批: the department's supervisor or above, never the requester."""
        return self._apply("打印审批", ApprovePrintForm(request.form), lambda row, f: row.approve(
            _user(), approved=f.decision.data == "1", note=f.note.data, at=f.at.data,
            expected_version=self._version(row)))

    @expose("/printed/", methods=("GET", "POST"))
    def printed_view(self):
        """打印并签收: only an approved job."""
        return self._apply("登记打印", PrintedForm(request.form), lambda row, f: row.mark_printed(
            _user(), signed_name=f.signed_name.data, confirmed=f.confirmed.data,
            printed_at=f.printed_at.data, expected_version=self._version(row)))

    @expose("/monthly/")
    def monthly_view(self):
        """Pages printed per month and department in a year."""
        estate, estates = _chosen_estate()
        if estate is None:
            abort(404)
        year = request.args.get("year", type=int) or office_day().year
        return self.render("admin/office_print_monthly.html", estate=estate, estates=estates,
                           year=year, report=PrintJob.monthly_pages([estate.id], year))

    @expose("/monthly/print/")
    def month_print_view(self):
        """The month's printing log by department, for the file (A4)."""
        estate, _ = _chosen_estate()
        if estate is None:
            abort(404)
        year, month = parse_month(request.args.get("month")) or this_month()
        groups = PrintJob.month_log(estate.id, year, month)
        return self.render("admin/office_print_month_print.html", estate=estate, year=year,
                           month=month, groups=groups, total=sum(g[2] for g in groups),
                           now=to_office(utcnow()))


# --- emergencies ------------------------------------------------------------------------------


class EmergencyStepForm(Form):
    kind = SelectField("环节", choices=choices(STEP_KINDS), validate_choice=False)
    who = StringField("人员", validators=[Optional(), Length(max=32)],
                      description="报告给谁、由谁处理，或求援的单位（如 119 消防）")
    note = TextAreaField("内容/结果", validators=[Optional(), Length(max=2000)])
    at = _when("时间")
    consent_by = SelectField("同意的主任", coerce=int, validators=[Optional()],
                             validate_choice=False,
                             description="社会求援必须经管理处主任同意（R-EMG-2）")
    consent_at = LocalDateTimeField("主任同意时间", validators=[Optional()])


class CloseForm(Form):
    at = _when("结案时间")


def _emergency_state_cell(view, context, model, name):
    if model.state == "open":
        return Markup('<span class="badge badge-danger">{}</span>').format(model.state_label)
    return model.state_label


class EmergencyAdmin(OfficeView):
    """紧急事件处理登记表: report, escalation steps with who/when, aftermath, closing (R-EMG)."""

    permissions = {**SecureModelView.permissions, "step": DESK_AND_DEPT,
                   "close": frozenset(CLOSING_ROLES)}
    endpoint_actions = {"step_view": "step", "close_view": "close", "print_view": "list"}
    details_extra = "admin/office_emergency_steps.html"
    print_template = "admin/office_emergency_print.html"
    column_list = ("number", "occurred_at", "kind", "place", "reported_by", "state",
                   "stabilised_at", "responsible_person", "closed_at")
    column_filters = ("state", "kind", "occurred_at")
    column_searchable_list = ("number", "place", "description")
    column_default_sort = ("occurred_at", True)
    column_formatters = {"state": _emergency_state_cell}
    form_create_columns = ("estate", "occurred_at", "place", "kind", "description",
                           "reported_by", "first_reported_to", "reported_at", "casualties",
                           "rescue", "technician", "technician_notified_at")
    form_edit_columns = ("occurred_at", "place", "kind", "description", "reported_by",
                         "first_reported_to", "reported_at", "casualties", "rescue",
                         "technician", "technician_notified_at", "stabilised_at", "cause",
                         "responsible_person", "remedial_measures", "preventive_measures")
    form_widget_args = {name: {"rows": 3} for name in (
        "description", "casualties", "rescue", "cause", "remedial_measures",
        "preventive_measures")}
    buttons = (
        (lambda r: r.state != "closed", "登记处理过程", ".step_view", "btn-primary", "step"),
        (lambda r: r.state != "closed", "社会求援（须主任同意）", ".step_view", "btn-warning",
         "step"),
        (_state_is("closed"), "登记措施落实结果", ".step_view", "btn-info", "step"),
        (lambda r: r.state != "closed", "结案", ".close_view", "btn-success", "close"),
    )

    # Buttons that open the step form on a given kind of step.
    step_kinds = {"社会求援（须主任同意）": "outside_help", "登记措施落实结果": "result"}

    def row_buttons(self, row):
        buttons = super().row_buttons(row)
        for button in buttons:
            if button["label"] == "打印":
                button["label"] = "打印登记表"
            if button["label"] in self.step_kinds:
                button["url"] = self.get_url(".step_view", id=row.id,
                                             kind=self.step_kinds[button["label"]])
        return buttons

    def create_form(self, obj=None):
        form = super().create_form(obj)
        if request.method == "GET":
            for name in ("occurred_at", "reported_at"):
                if name in form and not form[name].data:
                    form[name].data = utcnow()
        return form

    @expose("/step/", methods=("GET", "POST"))
    def step_view(self):
        """处理过程: who was told or did what, when; outside help needs the director (R-EMG-2)."""
        row = self._row_or_404()
        form = EmergencyStepForm(request.form)
        form.consent_by.choices = _people(row.estate_id, {"director"}, "（非社会求援不填）")
        if request.method == "GET":
            form.kind.data = request.args.get("kind") or "reported"
            if form.kind.data == "gm":
                form.who.data = row.estate.branch.general_manager
        title = "社会求援" if form.kind.data == "outside_help" else "登记处理过程"

        def apply(f):
            row.add_step(_user(), kind=f.kind.data, who=f.who.data, note=f.note.data,
                         at=f.at.data, consent_by_id=f.consent_by.data or None,
                         consent_at=f.consent_at.data)

        return self._action(title, form, apply, row=row)

    @expose("/close/", methods=("GET", "POST"))
    def close_view(self):
        """结案: only with the cause, the responsible person and the measures (R-EMG-3)."""
        return self._apply("紧急事件结案", CloseForm(request.form), lambda row, f: row.close(
            _user(), at=f.at.data, expected_version=self._version(row)))


class EmergencyStepAdmin(OfficeView):
    """紧急事件处理过程: every step of every incident; entered from the incident (read only)."""

    permissions = {**SecureModelView.permissions, "create": NOBODY, "edit": NOBODY}
    column_list = ("emergency", "kind", "at", "who", "note", "consent_by", "consent_at",
                   "created_by")
    column_filters = ("kind", "at")
    column_default_sort = ("at", True)


# --- move-in ----------------------------------------------------------------------------------


class StepForm(Form):
    at = _when("办理时间")


class Step2Form(StepForm):
    id_copied = BooleanField("已复印业主身份证")


class Step3Form(StepForm):
    agreements_signed = BooleanField("业主已签消防安全协议书和精神文明公约")


class Step5Form(StepForm):
    property_fee = StringField("物业费(元)", validators=[Optional()])
    property_fee_receipt = StringField("物业费收据号", validators=[Optional(), Length(max=32)])
    maintenance_fund = StringField("维修基金(元)", validators=[Optional()])
    maintenance_fund_receipt = StringField("维修基金收据号",
                                           validators=[Optional(), Length(max=32)])


class Step6Form(StepForm):
    inspection_notes = TextAreaField("验房情况（收楼书）", validators=[Optional()])
    rectification_items = TextAreaField("整改单", validators=[Optional()],
                                        description="没有整改项目可留空")
    keys_count = StringField("交付钥匙(把)", validators=[Optional()])
    key_receipt_signed = BooleanField("业主已在钥匙回执上签字")


STEP_FORMS = {1: StepForm, 2: Step2Form, 3: Step3Form, 4: StepForm, 5: Step5Form, 6: Step6Form}


def _progress_cell(view, context, model, name):
    if model.current_step > 6:
        return Markup('<span class="badge badge-success">已完成</span>')
    return Markup('<span class="badge badge-warning">{}</span>').format(model.progress_label)


class MoveInAdmin(OfficeView):
    """入伙: the six steps as a checklist, each with who and when; the 进度 filter shows who is
    stuck at which step (R-MOVE-1/2)."""

    permissions = {**SecureModelView.permissions, "step": DESK_AND_DEPT}
    endpoint_actions = {"step_view": "step"}
    details_extra = "admin/office_movein_steps.html"
    column_list = ("number", "unit", "owner_name", "current_step", "step1_at", "completed_at",
                   "keys_count")
    column_filters = ("current_step", "completed_at")
    column_searchable_list = ("number", "owner_name", Unit.code)
    column_default_sort = ("created_at", True)
    column_formatters = {"current_step": _progress_cell}
    column_labels = {"current_step": "进度（卡在第几步）"}
    form_create_columns = ("estate", "unit", "owner", "owner_name", "owner_phone", "notes")
    form_edit_columns = ("owner_name", "owner_phone", "notes")
    form_ajax_refs = {"unit": UNIT_LOOKUP, "owner": RESIDENT_LOOKUP}

    def row_buttons(self, row):
        buttons = super().row_buttons(row)
        if not row.voided and row.current_step <= 6 and self.allowed("step"):
            name = dict((n, s) for n, s, _ in STEPS)[row.current_step]
            buttons.insert(0, {"label": f"登记第{row.current_step}步：{name}",
                               "url": self.get_url(".step_view", id=row.id), "css": "btn-primary"})
        return buttons

    @expose("/step/", methods=("GET", "POST"))
    def step_view(self):
        """The next step of the checklist, with its own details (fees at 5, keys at 6)."""
        row = self._row_or_404()
        n = min(row.current_step, 6)
        form = STEP_FORMS[n](request.form)
        _, name, text = STEPS[n - 1]

        def apply(f):
            details = {k: v for k, v in f.data.items() if k != "at"}
            row.do_step(_user(), n, at=f.at.data, expected_version=self._version(row), **details)

        return self._action(f"第{n}步 {name}：{text}", form, apply, row=row)


# --- batch services ---------------------------------------------------------------------------


class AddToBatchForm(Form):
    registrations = SelectMultipleField("加入的登记", coerce=int, validate_choice=False,
                                        description="只列出同一服务项目、尚未安排的登记")


class NoticeForm(Form):
    notice_method = SelectField("通知方式", choices=choices([("", "—— 请选择 ——"),
                                                          *NOTICE_METHODS]),
                                validate_choice=False)
    notice_at = _when("通知时间")
    notice_content = StringField("通知内容", validators=[Optional(), Length(max=200)])


class CompleteUnitForm(Form):
    done = RadioField("结果", choices=choices([("1", "已完成"), ("0", "未完成（退回待安排）")]),
                      default="1", validators=[InputRequired("请选择结果")],
                      validate_choice=False)
    result = StringField("完成情况/未完成原因", validators=[Optional(), Length(max=200)])
    at = _when("完成时间")


class ServiceBatchAdmin(OfficeView):
    """其他工作·批次: lock/peephole and intercom on Saturdays and Sundays, gas with the gas
    company's appointment; owners notified in advance; results per unit (R-JOB-1/2)."""

    permissions = {**SecureModelView.permissions, "handle": DESK}
    endpoint_actions = {"add_view": "handle", "notice_view": "handle"}
    details_extra = "admin/office_batch_units.html"
    column_list = ("number", "kind", "day", "team", "state", "notice_method", "notice_at",
                   "gas_company", "gas_appointment")
    column_filters = ("kind", "state", "day")
    column_searchable_list = ("number", "team", "gas_appointment")
    column_default_sort = ("day", True)
    column_formatters = {"day": _date_cell}
    form_create_columns = ("estate", "kind", "day", "team", "gas_company", "gas_appointment",
                           "gas_contact", "notes")
    form_edit_columns = ("day", "team", "gas_company", "gas_appointment", "gas_contact",
                         "notes")
    buttons = (
        (_state_is("planned", "notified"), "加入登记", ".add_view", "btn-primary", "handle"),
        (_state_is("planned"), "登记提前通知", ".notice_view", "btn-info", "handle"),
    )

    def create_form(self, obj=None):
        form = super().create_form(obj)
        if "day" in form:
            form.day.description = ("锁芯/猫眼和可视对讲只能安排在周六、周日；"
                                    f"须至少提前 {notice_days()} 天通知业户")
        return form

    @expose("/add/", methods=("GET", "POST"))
    def add_view(self):
        """加入登记: registrations of the same service not yet in a batch."""
        row = self._row_or_404()
        form = AddToBatchForm(request.form)
        pending = (ServiceRegistration.select().join(Unit)
                   .where(ServiceRegistration.estate == row.estate_id,
                          ServiceRegistration.kind == row.kind,
                          ServiceRegistration.state == "registered",
                          ServiceRegistration.voided == False)  # noqa: E712
                   .order_by(Unit.code))
        form.registrations.choices = choices([(r.id, f"{r.unit.code} {r.contact_name}")
                                              for r in pending])
        return self._action(f"加入批次 {row}", form,
                            lambda f: row.add(_user(), f.registrations.data), row=row)

    @expose("/notice/", methods=("GET", "POST"))
    def notice_view(self):
        """提前通知业户: how and when, at least the configured number of days before."""
        form = NoticeForm(request.form)
        return self._apply("登记提前通知", form, lambda row, f: row.record_notice(
            _user(), method=f.notice_method.data, at=f.notice_at.data,
            content=f.notice_content.data, expected_version=self._version(row)))


class ServiceRegistrationAdmin(OfficeView):
    """其他工作·业主登记: who registered for which service; its batch and result per unit."""

    permissions = {**SecureModelView.permissions, "handle": DESK}
    endpoint_actions = {"complete_view": "handle"}
    column_list = ("kind", "unit", "contact_name", "contact_phone", "registered_at", "state",
                   "batch", "done_at", "result")
    column_filters = ("kind", "state", "batch", "registered_at")
    column_searchable_list = ("contact_name", "contact_phone", Unit.code)
    column_default_sort = ("registered_at", True)
    form_create_columns = ("estate", "kind", "unit", "resident", "contact_name",
                           "contact_phone", "registered_at", "notes")
    form_edit_columns = ("contact_name", "contact_phone", "notes")
    form_ajax_refs = {"unit": UNIT_LOOKUP, "resident": RESIDENT_LOOKUP}
    buttons = (
        (_state_is("scheduled"), "登记完成情况", ".complete_view", "btn-success", "handle"),
    )

    def create_form(self, obj=None):
        form = super().create_form(obj)
        if request.method == "GET" and "registered_at" in form and not form.registered_at.data:
            form.registered_at.data = utcnow()
        return form

    @expose("/complete/", methods=("GET", "POST"))
    def complete_view(self):
        """完成情况 of this unit on the batch day (not done: back to the queue)."""
        return self._apply("登记完成情况", CompleteUnitForm(request.form), lambda row, f:
                           row.complete(_user(), done=f.done.data == "1", result=f.result.data,
                                        at=f.at.data, expected_version=self._version(row)))


# --- shifts, roster, shift log ----------------------------------------------------------------


class ShiftAdmin(OfficeView):
    """班次: the desk's shifts as data (R-SVC-1); uncovered hours are shown, not accepted
    silently."""

    permissions = {**SecureModelView.permissions, "create": MANAGERS, "edit": MANAGERS}
    endpoint_actions = {"defaults_view": "create"}
    list_template = "admin/office_shift_list.html"
    column_list = ("name", "starts", "min_staff")
    column_default_sort = ("starts", False)
    column_formatters = {"starts": lambda v, c, m, n: m.hours}
    column_labels = {"starts": "时段"}
    form_create_columns = ("estate", "name", "starts", "ends", "min_staff")
    form_edit_columns = ("name", "starts", "ends", "min_staff")

    @expose("/")
    def index_view(self):
        self._template_args["coverage"] = [
            (estate, [span_text(*g) for g in definition_gaps(Shift.live(estate.id))],
             Shift.live(estate.id).exists())
            for estate in _user().estates()]
        return super().index_view()

    @expose("/defaults/", methods=("POST",))
    def defaults_view(self):
        """Create the manual's three shifts (09–17, 17–24, 00–08) for an estate without any."""
        estate, _ = _chosen_estate()
        if estate is None:
            abort(404)
        ensure_default_shifts(estate.id, _user())
        flash(f"{estate.name}：已设置默认班次", "success")
        return redirect(self.get_url(".index_view"))


class RosterEntryAdmin(OfficeView):
    """排班: one clerk on one shift of one day (the month is shown on the 排班表 page)."""

    permissions = {**SecureModelView.permissions, "create": MANAGERS, "edit": MANAGERS}
    user_fields = {"staff": ROSTER_ROLES}
    column_list = ("day", "shift", "staff", "notes")
    column_filters = ("day", "shift", "staff")
    column_default_sort = ("day", True)
    column_formatters = {"day": _date_cell}
    form_columns = ("estate", "day", "shift", "staff", "notes")


class DutyDirectorAdmin(OfficeView):
    """值班主任: one per day, never two (R-SVC-2)."""

    permissions = {**SecureModelView.permissions, "create": MANAGERS, "edit": MANAGERS}
    user_fields = {"director": DUTY_DIRECTOR_ROLES}
    column_list = ("day", "director", "phone", "notes")
    column_filters = ("day", "director")
    column_default_sort = ("day", True)
    column_formatters = {"day": _date_cell}
    form_columns = ("estate", "day", "director", "phone", "notes")


class FillMonthForm(Form):
    month = StringField("月份", validators=[InputRequired("请填写月份")],
                        description="如 2026-12")
    clerks = SelectMultipleField("轮班客服员", coerce=int, validate_choice=False)
    per_shift = StringField("每班人数", default="3")
    directors = SelectMultipleField("轮值的值班主任", coerce=int, validators=[Optional()],
                                    validate_choice=False)


class RosterView(SecurePage):
    """排班表: a month of shifts and duty directors with its warnings (R-SVC-1/2)."""

    roles = EVERYONE

    def _month(self):
        estate, estates = _chosen_estate()
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
                           coverage=coverage, first=first, can_fill=_user().role in MANAGERS,
                           previous=f"{previous:%Y-%m}", following=f"{following:%Y-%m}",
                           weekdays="一二三四五六日")

    @expose("/print/")
    def print_view(self):
        """The month's roster on one A4 landscape page, with its warnings."""
        estate, _, coverage = self._month()
        return self.render("admin/office_roster_print.html", estate=estate, coverage=coverage,
                           now=to_office(utcnow()), weekdays="一二三四五六日")

    @staticmethod
    def _fill_choices(form, estate_id):
        clerks, directors = roster_candidates(estate_id)
        form.clerks.choices = choices([(u.id, u.display_name) for u in clerks])
        form.directors.choices = choices([(u.id, f"{u.display_name}（{u.role_label}）")
                                          for u in directors])

    @expose("/fill/", methods=("GET", "POST"))
    def fill_view(self):
        """按轮换排满一个月: clerks in turn on every shift, duty directors in turn by day."""
        if _user().role not in MANAGERS:
            abort(403)
        estate, _ = _chosen_estate()
        if estate is None:
            abort(404)
        form = FillMonthForm(request.form)
        self._fill_choices(form, estate.id)
        if request.method == "GET":
            form.month.data = request.args.get("month") or "{}-{:02d}".format(*this_month())
        if request.method == "POST" and form.validate():
            try:
                parsed = parse_month(form.month.data)
                if parsed is None:
                    raise RuleError({"month": "月份格式应为 2026-12"})
                year, month = parsed
                added = fill_month(_user(), estate.id, year, month, clerk_ids=form.clerks.data,
                                   per_shift=form.per_shift.data,
                                   director_ids=form.directors.data)
            except RuleError as error:
                SecureModelView.attach_errors(form, error)
            else:
                flash(f"已排班 {added} 条", "success")
                return redirect(self.get_url(".index", estate=estate.id,
                                             month=f"{year}-{month:02d}"))
        return self.render("admin/action_form.html", form=form, title="按轮换排满一个月",
                           row=estate, cancel_url=self.get_url(".index", estate=estate.id))


class AcknowledgeForm(Form):
    note = StringField("接班意见", validators=[Optional(), Length(max=200)])
    at = _when("确认时间")


def _ack_cell(view, context, model, name):
    if model.acknowledged_at is None:
        return Markup('<span class="badge badge-warning">待接班确认</span>')
    who = model.acknowledged_by.display_name if model.acknowledged_by_id else ""
    return f"{who} {view._shown_value(model, 'acknowledged_at', model.acknowledged_at)}"


class ShiftLogAdmin(OfficeView):
    """交接班记录: the outgoing shift's hand-over note, the incoming shift's acknowledgement."""

    permissions = {**SecureModelView.permissions, "ack": DESK}
    endpoint_actions = {"ack_view": "ack"}
    column_list = ("day", "shift", "written_by", "written_at", "handover_note",
                   "incoming_shift", "acknowledged_by")
    column_filters = ("day", "shift")
    column_default_sort = ("written_at", True)
    column_formatters = {"day": _date_cell, "acknowledged_by": _ack_cell,
                         "handover_note": lambda v, c, m, n: (m.handover_note or "")[:40]}
    form_create_columns = ("estate", "day", "shift", "handover_note")
    form_edit_columns = ("handover_note",)
    form_widget_args = {"handover_note": {"rows": 5}}
    buttons = (
        (lambda r: r.acknowledged_at is None, "接班确认", ".ack_view", "btn-primary", "ack"),
    )

    def create_form(self, obj=None):
        form = super().create_form(obj)
        if request.method == "GET" and "day" in form and not form.day.data:
            form.day.data = office_day()
        return form

    @expose("/ack/", methods=("GET", "POST"))
    def ack_view(self):
        """接班确认 by the incoming shift (not the writer)."""
        return self._apply("接班确认", AcknowledgeForm(request.form), lambda row, f:
                           row.acknowledge(_user(), note=f.note.data, at=f.at.data,
                                           expected_version=self._version(row)))


# --- surveys and the owners' committee --------------------------------------------------------


class ToDemandForm(Form):
    kind = SelectField("需求类型", choices=choices(KINDS), validate_choice=False)
    category = SelectField("需求类别", choices=choices([("", "—— 请选择 ——"), *CATEGORIES]),
                           validate_choice=False)
    description = TextAreaField("需求内容", validators=[Optional(), Length(max=2000)])


class ToDemandMixin:
    """转为业户需求: one action creates the demand and links it back (models.office)."""

    @expose("/demand/", methods=("GET", "POST"))
    def demand_view(self):
        """Turn what the owner raised here into a demand of the closed loop (R-DEM)."""
        row = self._row_or_404()
        form = ToDemandForm(request.form)
        if request.method == "GET":
            form.description.data = row.demand_text()
            form.kind.data = DEMAND_KIND.get(getattr(row, "kind", ""), "suggestion")

        def apply(f):
            demand = row.to_demand(_user(), kind=f.kind.data, category=f.category.data,
                                   description=f.description.data,
                                   expected_version=self._version(row))
            flash(f"已转为业户需求 {demand.number}", "success")

        return self._action("转为业户需求", form, apply, row=row)


def _demand_cell(view, context, model, name):
    if not model.demand_id:
        return ""
    return Markup('<a href="{}">{}</a>').format(
        view.get_url("demand.details_view", id=model.demand_id), model.demand.number)


def _can_become_demand(row) -> bool:
    return not row.demand_id and bool(row.demand_text())


class SurveyRoundAdmin(OfficeView):
    """满意度访问（按月）: one round per month, with its coverage and satisfaction (R-SVC-3)."""

    permissions = {**SecureModelView.permissions, "create": DESK, "edit": DESK}
    details_extra = "admin/office_survey_stats.html"
    column_list = ("month", "title", "visits", "coverage", "satisfaction", "needs")
    column_default_sort = ("month", True)
    column_labels = {"visits": "访问户数", "coverage": "覆盖率", "satisfaction": "满意率",
                     "needs": "需求(已转)"}
    column_formatters = {
        "month": lambda v, c, m, n: f"{m.month:%Y-%m}",
        "visits": lambda v, c, m, n: _stats(m)["visits"],
        "coverage": lambda v, c, m, n: _percent(_stats(m)["coverage"]),
        "satisfaction": lambda v, c, m, n: _percent(_stats(m)["satisfaction"]),
        "needs": lambda v, c, m, n: "{needs}（已转 {demands}）".format(**_stats(m)),
    }
    form_create_columns = ("estate", "month", "title", "notes")
    form_edit_columns = ("title", "notes")


def _percent(value) -> str:
    return "" if value is None else f"{value}%"


def _stats(survey: SurveyRound) -> dict:
    # One round's figures fill four columns of its grid row: computed once per row.
    if not hasattr(survey, "_stats"):
        survey._stats = survey.stats()
    return survey._stats


class SurveyVisitAdmin(ToDemandMixin, OfficeView):
    """满意度访问记录: one unit per round, scores, needs; a need becomes a demand (R-SVC-3)."""

    permissions = {**SecureModelView.permissions, "demand": DESK}
    endpoint_actions = {"demand_view": "demand"}
    column_list = ("round", "visited_at", "unit", "channel", "service_score",
                   "environment_score", "security_score", "engineering_score", "satisfied",
                   "needs", "demand")
    column_filters = ("round", "satisfied", "channel", "visited_at")
    column_searchable_list = ("needs", Unit.code)
    column_default_sort = ("visited_at", True)
    column_formatters = {"demand": _demand_cell,
                         "needs": lambda v, c, m, n: (m.needs or "")[:30]}
    form_create_columns = ("estate", "round", "unit", "resident", "visited_at", "channel",
                           "service_score", "environment_score", "security_score",
                           "engineering_score", "satisfied", "needs")
    form_edit_columns = ("visited_at", "channel", "service_score", "environment_score",
                         "security_score", "engineering_score", "satisfied", "needs")
    form_ajax_refs = {"unit": UNIT_LOOKUP, "resident": RESIDENT_LOOKUP}
    buttons = (
        (_can_become_demand, "转为业户需求", ".demand_view", "btn-primary", "demand"),
    )

    def create_form(self, obj=None):
        form = super().create_form(obj)
        if request.method == "GET" and "visited_at" in form and not form.visited_at.data:
            form.visited_at.data = utcnow()
        return form


class CommitteeItemForm(Form):
    kind = SelectField("类型", choices=choices(ITEM_KINDS), validate_choice=False)
    content = TextAreaField("内容", validators=[InputRequired("请填写业主提出的内容"),
                                              Length(max=2000)])
    unit_code = StringField("涉及房屋", validators=[Optional(), Length(max=32)],
                            description="房屋编号，如 3-1-502；不涉及具体房屋可留空")


class CommitteeContactAdmin(OfficeView):
    """业委会沟通: every month's contact, attendees, topics, owners' suggestions and complaints,
    the committee's opinions and follow-ups (R-SVC-4)."""

    permissions = {**SecureModelView.permissions, "item": DESK}
    endpoint_actions = {"item_view": "item"}
    list_template = "admin/office_committee_list.html"
    details_extra = "admin/office_committee_items.html"
    column_list = ("held_at", "kind", "attendees", "topics", "follow_up", "follow_up_due",
                   "follow_up_done_at")
    column_filters = ("kind", "held_at", "follow_up_due")
    column_searchable_list = ("topics", "attendees", "committee_opinions")
    column_default_sort = ("held_at", True)
    column_formatters = {"topics": lambda v, c, m, n: (m.topics or "")[:30],
                         "attendees": lambda v, c, m, n: (m.attendees or "")[:20],
                         "follow_up_due": _date_cell}
    form_create_columns = ("estate", "held_at", "kind", "place", "attendees", "topics",
                           "committee_opinions", "follow_up", "follow_up_due")
    form_edit_columns = ("held_at", "kind", "place", "attendees", "topics",
                         "committee_opinions", "follow_up", "follow_up_due",
                         "follow_up_done_at", "follow_up_result")
    form_widget_args = {name: {"rows": 3} for name in (
        "attendees", "topics", "committee_opinions", "follow_up", "follow_up_result")}
    buttons = (
        (lambda r: True, "登记业主建议/投诉", ".item_view", "btn-primary", "item"),
    )

    @expose("/")
    def index_view(self):
        today = office_day()
        first = (today.replace(day=1) - dt.timedelta(days=150)).replace(day=1)
        self._template_args["missed"] = [
            (estate, CommitteeContact.months_without_contact(estate.id, first, today))
            for estate in _user().estates()]
        return super().index_view()

    @expose("/item/", methods=("GET", "POST"))
    def item_view(self):
        """An owners' suggestion, complaint or opinion raised in this contact."""
        row = self._row_or_404()
        form = CommitteeItemForm(request.form)

        def apply(f):
            unit = None
            if (f.unit_code.data or "").strip():
                unit = Unit.get_or_none(Unit.estate == row.estate_id,
                                        Unit.code == f.unit_code.data.strip())
                if unit is None:
                    raise RuleError({"unit_code": "该小区没有这个房屋编号"})
            save_record(CommitteeItem(estate=row.estate_id, contact=row.id, kind=f.kind.data,
                                      content=f.content.data, unit=unit), _user())

        return self._action("登记业主建议/投诉", form, apply, row=row)


class CommitteeItemAdmin(ToDemandMixin, OfficeView):
    """业委会反映事项: each suggestion or complaint can become a demand (channel 业委会)."""

    permissions = {**SecureModelView.permissions, "demand": DESK}
    endpoint_actions = {"demand_view": "demand"}
    column_list = ("contact", "kind", "content", "unit", "demand")
    column_filters = ("kind", "contact")
    column_searchable_list = ("content",)
    column_formatters = {"demand": _demand_cell,
                         "content": lambda v, c, m, n: (m.content or "")[:40]}
    form_create_columns = ("estate", "contact", "kind", "content", "unit")
    form_edit_columns = ("kind", "content")
    form_ajax_refs = {"unit": UNIT_LOOKUP}
    buttons = (
        (_can_become_demand, "转为业户需求", ".demand_view", "btn-primary", "demand"),
    )


# --- tenancies and transfers ------------------------------------------------------------------


class EndTenancyForm(Form):
    on = DateField("退租日期", validators=[Optional()], format=DATE_FORMAT,
                   description="留空为今天")


class TenancyAdmin(OfficeView):
    """租户/出租登记: tenant, unit, period, contract; the tenant joins the unit's residents
    (R-STAFF-2)."""

    permissions = {**SecureModelView.permissions, "handle": DESK}
    endpoint_actions = {"end_view": "handle"}
    column_list = ("unit", "tenant_name", "tenant_phone", "id_number", "starts", "ends",
                   "contract_number", "ended_on")
    column_filters = ("starts", "ends", "ended_on")
    column_searchable_list = ("tenant_name", "contract_number", Unit.code)
    column_default_sort = ("starts", True)
    column_formatters = {"starts": _date_cell, "ends": _date_cell, "ended_on": _date_cell}
    form_create_columns = ("estate", "unit", "landlord", "tenant_name", "tenant_phone",
                           "doc_type", "id_number", "starts", "ends", "contract_number", "notes")
    form_edit_columns = ("tenant_phone", "ends", "contract_number", "notes")
    form_ajax_refs = {"unit": UNIT_LOOKUP, "landlord": RESIDENT_LOOKUP}
    buttons = (
        (lambda r: r.ended_on is None, "登记退租", ".end_view", "btn-warning", "handle"),
    )

    @expose("/end/", methods=("GET", "POST"))
    def end_view(self):
        """退租: the tenant moves out of the unit's residents."""
        return self._apply("登记退租", EndTenancyForm(request.form), lambda row, f: row.end(
            _user(), on=f.on.data, expected_version=self._version(row)))


class OwnershipTransferAdmin(OfficeView):
    """过户登记: from, to, date, documents; the old owner moves out and the new one is
    registered (R-STAFF-2)."""

    column_list = ("unit", "from_owner", "to_name", "to_phone", "transfer_date", "documents",
                   "new_owner")
    column_filters = ("transfer_date",)
    column_searchable_list = ("to_name", Unit.code)
    column_default_sort = ("transfer_date", True)
    column_formatters = {"transfer_date": _date_cell,
                         "documents": lambda v, c, m, n: (m.documents or "")[:30]}
    form_create_columns = ("estate", "unit", "from_owner", "to_name", "to_phone", "doc_type",
                           "id_number", "transfer_date", "documents", "notes")
    form_edit_columns = ("to_phone", "documents", "notes")
    form_ajax_refs = {"unit": UNIT_LOOKUP, "from_owner": RESIDENT_LOOKUP}


def register_views(admin) -> None:
    """Add the office's other registers to the admin (called once from views.build_admin)."""
    add = admin.add_view
    add(PrintJobAdmin(PrintJob, name="文件打印登记", category=OFFICE, endpoint="print_job"))
    add(EmergencyAdmin(Emergency, name="紧急事件登记", category=OFFICE, endpoint="emergency"))
    add(EmergencyStepAdmin(EmergencyStep, name="紧急事件处理过程", category=OFFICE,
                           endpoint="emergency_step"))
    add(MoveInAdmin(MoveIn, name="入伙登记", category=OFFICE, endpoint="move_in"))
    add(ServiceRegistrationAdmin(ServiceRegistration, name="锁芯/对讲/燃气登记",
                                 category=OFFICE, endpoint="service_registration"))
    add(ServiceBatchAdmin(ServiceBatch, name="统一施工批次", category=OFFICE,
                          endpoint="service_batch"))
    add(TenancyAdmin(Tenancy, name="租户/出租登记", category=OFFICE, endpoint="tenancy"))
    add(OwnershipTransferAdmin(OwnershipTransfer, name="过户登记", category=OFFICE,
                               endpoint="ownership_transfer"))
    add(GuideEntryAdmin(GuideEntry, name="便民服务指南", category=OFFICE, endpoint="guide_entry"))
    add(GuideCategoryAdmin(GuideCategory, name="服务指南类别", category=OFFICE,
                           endpoint="guide_category"))
    add(RosterView(name="排班表", category=DUTY, endpoint="roster"))
    add(ShiftLogAdmin(ShiftLog, name="交接班记录", category=DUTY, endpoint="shift_log"))
    add(DutyDirectorAdmin(DutyDirector, name="值班主任", category=DUTY, endpoint="duty_director"))
    add(RosterEntryAdmin(RosterEntry, name="排班明细", category=DUTY, endpoint="roster_entry"))
    add(ShiftAdmin(Shift, name="班次", category=DUTY, endpoint="shift"))
    add(SurveyRoundAdmin(SurveyRound, name="满意度访问（按月）", category=DUTY,
                         endpoint="survey_round"))
    add(SurveyVisitAdmin(SurveyVisit, name="满意度访问记录", category=DUTY,
                         endpoint="survey_visit"))
    add(CommitteeContactAdmin(CommitteeContact, name="业委会沟通", category=DUTY,
                              endpoint="committee_contact"))
    add(CommitteeItemAdmin(CommitteeItem, name="业委会反映事项", category=DUTY,
                           endpoint="committee_item"))
