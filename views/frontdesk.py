"""Front-desk registers with money and validity in the admin: keys, passes and permits,
decoration, and the deposit ledger (R-KEY, R-PASS, R-DECO, R-DEP).

Views only collect input and show results; every rule and state change lives in the models
(models/keys.py, passes.py, decoration.py, deposits.py). Each row's details page offers the
actions its state allows (`row_buttons`), each through a small form (ActionMixin).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import abort, current_app, flash, redirect, request, send_file
from flask_admin import expose
from flask_admin.contrib.peewee.filters import BasePeeweeFilter
from flask_login import current_user
from markupsafe import Markup
from wtforms import (
    BooleanField,
    DateField,
    FileField,
    Form,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Length, Optional

from models.base import RuleError, office_day, to_office, utcnow
from models.decoration import (
    DEFAULT_FLOOR_PLAN_MAX_BYTES,
    Decoration,
    Upload,
    floor_plan_folder,
    in_heating_season,
)
from models.deposits import KINDS, Deposit, amount_in_words, yuan
from models.org import Unit
from models.passes import (
    CANCEL_REASONS,
    CONFIRM_METHODS,
    GoodsRelease,
    HotWorkPermit,
    TemporaryPass,
    WorkerPass,
)
from models.users import DESK, EVERYONE, MANAGERS, User, UserEstate, in_department
from views import keys
from views.base import LocalDateTimeField, SecureModelView, choices
from views.demands import ActionMixin

NOBODY = frozenset()
DESK_AND_DEPT = DESK | {"dept"}
UNIT_LOOKUP = {"fields": ("code",), "page_size": 20,
               "placeholder": "输入房屋编号搜索，如 3-1-502"}
DATE_FORMAT = "%Y-%m-%d"


def _user():
    return current_user._get_current_object()


def _when(label: str) -> LocalDateTimeField:
    return LocalDateTimeField(label, validators=[Optional()], description="留空表示现在")


def _managers(estate_id: int) -> list[SelectChoice]:
    """Supervisors and directors of the estate, for "approved by" pick-lists."""
    linked = UserEstate.select(UserEstate.user).where(UserEstate.estate == estate_id)
    people = User.select().where(User.active == True, User.role.in_(sorted(MANAGERS)),  # noqa: E712
                                 (User.id.in_(linked)) | (User.role == "admin"))
    return choices([(0, "—— 请选择 ——")] + [(u.id, f"{u.display_name}（{u.role_label}）")
                                           for u in people.order_by(User.display_name)])


class QueryFilter(BasePeeweeFilter):
    """A register's named questions (overdue, pending…) as one drop-down grid filter."""

    def __init__(self, model, label: str, queries: dict[str, tuple[str, Callable]]):
        super().__init__(model.id, label, options=[(k, v[0]) for k, v in queries.items()])
        self.model, self.queries = model, queries

    def apply(self, query, value):
        if value not in self.queries:
            return query
        rows = self.queries[value][1](utcnow())
        return query.where(self.model.id.in_(rows.select(self.model.id)))

    def operation(self):
        return "为"


def _money(view, context, model, name):
    return yuan(getattr(model, name))


def _date(view, context, model, name):
    value = getattr(model, name)
    return value.strftime(DATE_FORMAT) if value else ""


# Bookkeeping the details page leaves out (a voided row says so in its own banner).
DETAILS_EXCLUDED = ("id", "version", "updated_at", "voided", "void_reason", "voided_at",
                    "voided_by")


class FrontDeskView(ActionMixin, SecureModelView):
    """What the front-desk registers share: action buttons per row state, forms, printing."""

    details_template = "admin/desk_details.html"
    column_details_exclude_list = DETAILS_EXCLUDED
    print_template = ""
    # (row → show?, label, endpoint, css, permission) for the details page's buttons.
    buttons: tuple = ()

    def row_buttons(self, row) -> list[dict]:
        """The actions this user may take on this row now (the details page renders them)."""
        result = []
        for show, label, endpoint, css, permission in self.buttons:
            if not getattr(row, "voided", False) and show(row) and self.allowed(permission):
                result.append({"label": label, "url": self.get_url(endpoint, id=row.id),
                               "css": css})
        if self.print_template and self.printable(row):
            result.append({"label": "打印", "url": self.get_url(".print_view", id=row.id),
                           "css": "btn-light", "target": "_blank"})
        return result

    def printable(self, row) -> bool:
        """Whether the row's document exists yet (a permit once issued, a receipt once paid)."""
        return True

    def print_args(self, row) -> dict:
        return {}

    @expose("/print/")
    def print_view(self):
        """Print the document with its number, the estate's name and a stamp box."""
        row = self._row_or_404()
        if not self.print_template or not self.printable(row):
            abort(404)
        return self.render(self.print_template, row=row, now=to_office(utcnow()),
                           **self.print_args(row))


# --- decoration -------------------------------------------------------------------------------


class ApproveForm(Form):
    note = StringField("审批意见", validators=[Optional(), Length(max=200)])
    approved_at = _when("审批时间")


class RejectForm(Form):
    note = TextAreaField("不批准原因", validators=[InputRequired("不批准时请填写原因"),
                                                Length(max=200)])


RESULT = [("1", "合格"), ("0", "不合格")]


class TestsForm(Form):
    water_passed = RadioField("闭水试验", choices=choices(RESULT),
                              validators=[InputRequired("请登记闭水试验结果")])
    pressure_passed = RadioField("打压试验", choices=choices([*RESULT, ("", "未做")]),
                                 default="", validators=[Optional()])
    skip_pressure = BooleanField("供暖期，暖气免做打压")
    owner_confirmed_name = StringField("业主确认签字", validators=[Optional(), Length(max=32)],
                                       description="试验合格须业主确认签字，填写签字业主姓名")
    tested_at = _when("试验时间")
    notes = StringField("试验说明", validators=[Optional(), Length(max=200)])


class SignForm(Form):
    signed_at = _when("签字时间")


class PermitForm(Form):
    issued_at = _when("发证时间")


class AcceptForm(Form):
    passed = RadioField("验收结果", choices=choices([("1", "验收合格"), ("0", "需整改")]),
                        validators=[InputRequired("请选择验收结果")])
    defects = TextAreaField("整改项目", validators=[Optional(), Length(max=2000)])
    rectify_by = DateField("整改期限", validators=[Optional()], format=DATE_FORMAT)
    accepted_at = _when("验收时间")


class FloorPlanForm(Form):
    floor_plan_upload = FileField("装修平面图", description="图片（JPG/PNG/GIF/WEBP）或 PDF")


def _upload_from(storage) -> Upload | None:
    """Read an uploaded file, never more than the size limit plus one byte."""
    if storage is None or not getattr(storage, "filename", ""):
        return None
    limit = current_app.config.get("FLOOR_PLAN_MAX_BYTES", DEFAULT_FLOOR_PLAN_MAX_BYTES)
    return Upload(storage.filename, storage.stream.read(limit + 1), floor_plan_folder(), limit)


def _deadline_cell(view, context, model, name):
    value = getattr(model, name)
    if value is None:
        return ""
    text = view._shown_value(model, name, value)
    waiting = {"approval_due": "applied", "tests_due": "approved"}[name]
    if model.state == waiting and value < utcnow():
        return Markup('<span class="badge badge-danger">超期</span> {}').format(text)
    return text


class DecorationAdmin(FrontDeskView):
    """装修申请/许可: application to acceptance, with deposits and the permit (R-DECO)."""

    permissions = {**SecureModelView.permissions, "approve": MANAGERS, "handle": DESK,
                   "sign": DESK_AND_DEPT}
    endpoint_actions = {"approve_view": "approve", "reject_view": "approve",
                        "tests_view": "handle", "sign_view": "sign", "permit_view": "handle",
                        "accept_view": "approve", "plan_view": "handle",
                        "floor_plan_view": "list", "print_view": "list"}
    details_template = "admin/deco_details.html"
    print_template = "admin/deco_permit_print.html"
    column_list = ("number", "applied_at", "unit", "owner_name", "contractor", "state",
                   "approval_due", "tests_due", "permit_number", "works_end")
    column_filters = ("state", "applied_at", "works_end")
    column_searchable_list = ("number", "permit_number", "owner_name", "contractor", Unit.code)
    column_default_sort = ("applied_at", True)
    column_formatters = {"approval_due": _deadline_cell, "tests_due": _deadline_cell,
                         "works_end": _date}
    column_details_exclude_list = (*DETAILS_EXCLUDED, "floor_plan", "floor_plan_upload")
    form_create_columns = ("estate", "applied_at", "unit", "owner", "owner_name", "owner_phone",
                           "contractor",
                           "contractor_licence", "contractor_contact", "contractor_phone",
                           "plan_summary", "works_start", "works_end", "floor_plan_upload")
    form_edit_columns = ("owner_name", "owner_phone", "contractor_licence", "contractor_contact",
                         "contractor_phone", "plan_summary", "works_start", "works_end")
    form_extra_fields = {"floor_plan_upload": FileField(
        "装修平面图", description="必须上传：图片（JPG/PNG/GIF/WEBP）或 PDF，不超过 10 MB")}
    form_ajax_refs = {"unit": UNIT_LOOKUP,
                      "owner": {"fields": ("name", "phone"), "page_size": 20,
                                "placeholder": "输入业主姓名或电话搜索"}}
    form_widget_args = {"plan_summary": {"rows": 3}}
    buttons = (
        (lambda r: r.state == "applied", "审批通过", ".approve_view", "btn-primary", "approve"),
        (lambda r: r.state == "applied", "不批准", ".reject_view", "btn-outline-secondary",
         "approve"),
        (lambda r: r.state == "approved", "登记闭水/打压试验", ".tests_view", "btn-info",
         "handle"),
        (lambda r: r.state == "tested", "工程主管签字", ".sign_view", "btn-info", "sign"),
        (lambda r: r.state == "signed", "发放装修许可证", ".permit_view", "btn-success",
         "handle"),
        (lambda r: r.state in ("permitted", "defects"), "验收", ".accept_view", "btn-warning",
         "approve"),
        (lambda r: r.state in ("applied", "approved", "tested", "signed"), "更换平面图",
         ".plan_view", "btn-outline-secondary", "handle"),
    )

    def allowed(self, action: str) -> bool:
        if action == "sign" and current_user.is_authenticated \
                and not in_department(current_user, "engineering"):
            return False  # R-DECO-2: the engineering supervisor signs
        return super().allowed(action)

    def printable(self, row) -> bool:
        return bool(row.permit_number)

    def get_filters(self):
        queues = {
            "approval_overdue": ("审批超期", Decoration.approval_overdue),
            "tests_overdue": ("试验超期", Decoration.tests_overdue),
            "acceptance_pending": ("待验收", Decoration.acceptance_pending),
        }
        return [QueryFilter(Decoration, "工作队列", queues), *super().get_filters()]

    def before_save(self, model, *, is_created):
        if is_created:
            model.floor_plan_upload = _upload_from(model.floor_plan_upload)

    def _step(self, title, form, apply_values):
        row = self._row_or_404()

        def apply(f):
            apply_values(row, f)

        return self._action(title, form, apply, row=row)

    @expose("/approve/", methods=("GET", "POST"))
    def approve_view(self):
        """审批通过 within 3 working days; the tests fall due in 3 days (R-PASS-4)."""
        return self._step("审批通过", ApproveForm(request.form), lambda row, f: row.approve(
            _user(), note=f.note.data, approved_at=f.approved_at.data,
            expected_version=self._version(row)))

    @expose("/reject/", methods=("GET", "POST"))
    def reject_view(self):
        """不批准: deposits are dropped or made refundable."""
        return self._step("不批准", RejectForm(request.form), lambda row, f: row.reject(
            _user(), note=f.note.data, expected_version=self._version(row)))

    @expose("/tests/", methods=("GET", "POST"))
    def tests_view(self):
        """闭水/打压试验 results with the owner's signature (R-PASS-4)."""
        form = TestsForm(request.form)
        if request.method == "GET" and in_heating_season(office_day()):
            form.skip_pressure.description = "今天在供暖期内，可免做打压"

        def apply(row, f):
            pressure = {"1": True, "0": False}.get(f.pressure_passed.data)
            row.record_tests(_user(), water_passed=f.water_passed.data == "1",
                             pressure_passed=pressure, skip_pressure=f.skip_pressure.data,
                             owner_confirmed_name=f.owner_confirmed_name.data,
                             tested_at=f.tested_at.data, notes=f.notes.data,
                             expected_version=self._version(row))

        return self._step("登记闭水/打压试验", form, apply)

    @expose("/sign/", methods=("GET", "POST"))
    def sign_view(self):
        """工程主管签字 on the passed tests (R-DECO-2)."""
        return self._step("工程主管签字", SignForm(request.form), lambda row, f:
                          row.engineering_sign(_user(), signed_at=f.signed_at.data,
                                               expected_version=self._version(row)))

    @expose("/permit/", methods=("GET", "POST"))
    def permit_view(self):
        """发放装修许可证 (numbered) once both deposits are paid."""
        return self._step("发放装修许可证", PermitForm(request.form), lambda row, f:
                          row.issue_permit(_user(), issued_at=f.issued_at.data,
                                           expected_version=self._version(row)))

    @expose("/accept/", methods=("GET", "POST"))
    def accept_view(self):
        """验收: passed releases the deposits; defects get a list and a deadline (R-DECO-3)."""
        return self._step("装修验收", AcceptForm(request.form), lambda row, f: row.accept(
            _user(), passed=f.passed.data == "1", defects=f.defects.data or "",
            rectify_by=f.rectify_by.data, accepted_at=f.accepted_at.data,
            expected_version=self._version(row)))

    @expose("/plan/", methods=("GET", "POST"))
    def plan_view(self):
        """更换平面图 before the permit is issued."""
        row = self._row_or_404()
        form = FloorPlanForm()
        if request.method == "POST":
            upload = _upload_from(request.files.get("floor_plan_upload"))
            try:
                if upload is None:
                    raise RuleError({"floor_plan_upload": "请选择平面图文件"})
                row.replace_floor_plan(_user(), upload, expected_version=self._version(row))
            except RuleError as error:
                self.attach_errors(form, error)
            else:
                flash("平面图已更换", "success")
                return redirect(self.get_url(".details_view", id=row.id))
        return self.render("admin/deco_plan_form.html", form=form, row=row,
                           cancel_url=self.get_url(".details_view", id=row.id))

    @expose("/floor-plan/")
    def floor_plan_view(self):
        """The floor plan, only to logged-in staff of the estate (never a static file)."""
        row = self._row_or_404()
        path = row.floor_plan_path(floor_plan_folder())
        if path is None:
            abort(404)
        response = send_file(path, mimetype=row.floor_plan_type,
                             download_name=row.floor_plan_name or row.floor_plan.rsplit("/")[-1],
                             as_attachment=False, max_age=0)
        # A PDF could carry scripts: shown sandboxed, never as part of the site.
        response.headers["Content-Security-Policy"] = "sandbox"
        return response


# --- passes and permits -----------------------------------------------------------------------


class ReturnPassForm(Form):
    returned_at = _when("交回时间")


class CancelPassForm(Form):
    reason = SelectField("注销原因", choices=choices(CANCEL_REASONS))
    note = StringField("说明", validators=[Optional(), Length(max=200)])


def _valid_to_cell(view, context, model, name):
    text = _date(view, context, model, name)
    if model.state == "issued" and model.is_expired():
        return Markup('{} <span class="badge badge-danger">已过期未交回</span>').format(text)
    return text


def _state_is(*states):
    return lambda row: row.state in states


class PassAdmin(FrontDeskView):
    """Access passes: issue, return, cancel, print; expired ones not returned stand out."""

    permissions = {**SecureModelView.permissions, "handle": DESK}
    endpoint_actions = {"return_view": "handle", "cancel_view": "handle", "print_view": "list"}
    details_template = "admin/pass_details.html"
    column_searchable_list = ("number", "holder_name")
    column_default_sort = ("issued_at", True)
    column_formatters = {"valid_to": _valid_to_cell, "valid_from": _date}
    column_filters = ("state", "valid_to", "issued_at")
    buttons = (
        (_state_is("issued"), "交回", ".return_view", "btn-success", "handle"),
        (_state_is("issued"), "注销（遗失等）", ".cancel_view", "btn-outline-secondary",
         "handle"),
    )

    def get_filters(self):
        queue = {"expired": ("已过期未交回", self.model.expired_not_returned)}
        return [QueryFilter(self.model, "工作队列", queue), *super().get_filters()]

    @expose("/return/", methods=("GET", "POST"))
    def return_view(self):
        """交回: the pass is struck off (a worker's card makes its deposit refundable)."""
        row = self._row_or_404()
        return self._action("证件交回", ReturnPassForm(request.form), lambda f: row.return_pass(
            _user(), returned_at=f.returned_at.data, expected_version=self._version(row)),
            row=row)

    @expose("/cancel/", methods=("GET", "POST"))
    def cancel_view(self):
        """注销: lost or otherwise not coming back."""
        row = self._row_or_404()
        return self._action("注销证件", CancelPassForm(request.form), lambda f: row.cancel(
            _user(), reason=f.reason.data, note=f.note.data,
            expected_version=self._version(row)), row=row)


class WorkerPassAdmin(PassAdmin):
    """装修工人出入证: ≤ 3 months, within the decoration permit, 50 deposit + 5 fee (R-PASS-1)."""

    print_template = "admin/pass_worker_print.html"
    column_list = ("number", "holder_name", "id_number", "unit", "employer", "trade",
                   "valid_from", "valid_to", "state", "deposit")
    column_searchable_list = ("number", "holder_name", "employer", Unit.code)
    form_create_columns = ("estate", "unit", "holder_name", "doc_type", "id_number", "phone",
                           "trade", "checked_construction_permit", "checked_id",
                           "checked_residence_permit", "valid_from", "valid_to")
    form_edit_columns = ("phone", "trade")
    form_ajax_refs = {"unit": UNIT_LOOKUP}
    form_args = {"valid_from": {"description": "留空为今天"},
                 "valid_to": {"description": "留空则取 3 个月与装修许可证到期日中较早者"}}
    column_formatters = {**PassAdmin.column_formatters,
                         "deposit": lambda v, c, m, n: m.deposit.state_label if m.deposit else ""}


class TemporaryPassAdmin(PassAdmin):
    """临时出入证: ID registered, valid 3 days counting the issue day (R-PASS-2)."""

    print_template = "admin/pass_temporary_print.html"
    column_list = ("number", "holder_name", "id_number", "purpose", "unit", "valid_from",
                   "valid_to", "state")
    form_create_columns = ("estate", "holder_name", "doc_type", "id_number", "phone", "purpose",
                           "unit")
    form_edit_columns = ("phone", "purpose")
    form_ajax_refs = {"unit": UNIT_LOOKUP}


class CloseHotWorkForm(Form):
    closed_at = _when("完工时间")


class CancelNoteForm(Form):
    note = StringField("注销说明", validators=[InputRequired("请填写注销说明"), Length(max=200)])


def _work_to_cell(view, context, model, name):
    text = view._shown_value(model, name, model.work_to)
    if model.state == "issued" and model.work_to < utcnow():
        return Markup('{} <span class="badge badge-danger">已过期未完工</span>').format(text)
    return text


class HotWorkPermitAdmin(FrontDeskView):
    """动火证: operator's certificate and ID copied and archived, red stamp (R-PASS-3)."""

    permissions = {**SecureModelView.permissions, "handle": DESK}
    endpoint_actions = {"close_view": "handle", "cancel_view": "handle", "print_view": "list"}
    details_template = "admin/pass_details.html"
    print_template = "admin/pass_hot_work_print.html"
    column_list = ("number", "operator_name", "certificate_number", "location", "work_from",
                   "work_to", "state", "stamped_by")
    column_filters = ("state", "work_from")
    column_searchable_list = ("number", "operator_name", "location")
    column_default_sort = ("work_from", True)
    column_formatters = {"work_to": _work_to_cell}
    form_create_columns = ("estate", "operator_name", "doc_type", "id_number", "phone",
                           "certificate_number", "certificate_copy_kept", "id_copy_kept", "unit",
                           "location", "work_from", "work_to", "fire_watch")
    form_edit_columns = ("phone", "fire_watch")
    form_ajax_refs = {"unit": UNIT_LOOKUP}
    buttons = (
        (_state_is("issued"), "完工", ".close_view", "btn-success", "handle"),
        (_state_is("issued"), "注销", ".cancel_view", "btn-outline-secondary", "handle"),
    )

    def get_filters(self):
        queue = {"expired": ("已过期未完工", HotWorkPermit.expired_not_closed)}
        return [QueryFilter(HotWorkPermit, "工作队列", queue), *super().get_filters()]

    @expose("/close/", methods=("GET", "POST"))
    def close_view(self):
        """完工: the hot work is over and the site checked."""
        row = self._row_or_404()
        return self._action("动火完工", CloseHotWorkForm(request.form), lambda f: row.close(
            _user(), closed_at=f.closed_at.data, expected_version=self._version(row)), row=row)

    @expose("/cancel/", methods=("GET", "POST"))
    def cancel_view(self):
        row = self._row_or_404()
        return self._action("注销动火证", CancelNoteForm(request.form), lambda f: row.cancel(
            _user(), note=f.note.data, expected_version=self._version(row)), row=row)


class ConfirmGoodsForm(Form):
    confirmed = RadioField("业主确认", choices=choices([("1", "内容数量无误，同意放行"),
                                                      ("0", "业主不同意或联系不上")]),
                           validators=[InputRequired("请选择业主确认结果")])
    owner_name = StringField("确认业主", validators=[Optional(), Length(max=32)])
    method = SelectField("确认方式", choices=choices(CONFIRM_METHODS))
    confirmed_at = _when("确认时间")
    note = StringField("说明", validators=[Optional(), Length(max=200)])


class ReleaseGoodsForm(Form):
    released_at = _when("放行时间")


class GoodsReleaseAdmin(FrontDeskView):
    """物品放行条: goods lines; the owner confirms before release (R-PASS-5)."""

    permissions = {**SecureModelView.permissions, "handle": DESK}
    endpoint_actions = {"confirm_view": "handle", "release_view": "handle", "print_view": "list"}
    details_template = "admin/pass_details.html"
    print_template = "admin/pass_goods_print.html"
    column_list = ("number", "created_at", "unit", "bearer_name", "state", "confirmed_with",
                   "released_at")
    column_filters = ("state", "created_at")
    column_searchable_list = ("number", "bearer_name", Unit.code)
    column_default_sort = ("created_at", True)
    form_create_columns = ("estate", "unit", "bearer_name", "doc_type", "id_number", "phone",
                           "goods_text")
    form_edit_columns = ("phone",)
    form_extra_fields = {"goods_text": TextAreaField(
        "物品清单", description="每行一种：物品 数量，如：沙发 1、纸箱 × 5 个")}
    form_ajax_refs = {"unit": UNIT_LOOKUP}
    form_widget_args = {"goods_text": {"rows": 5}}
    buttons = (
        (_state_is("pending"), "联系业主确认", ".confirm_view", "btn-primary", "handle"),
        (_state_is("confirmed"), "放行", ".release_view", "btn-success", "handle"),
    )

    def get_edit_form(self):
        form = super().get_edit_form()
        del form.goods_text  # the goods are fixed once the slip is written
        return form

    @expose("/confirm/", methods=("GET", "POST"))
    def confirm_view(self):
        """联系业主: contents and quantity confirmed (who, how, when) — or not."""
        row = self._row_or_404()
        return self._action("业主确认", ConfirmGoodsForm(request.form), lambda f: row.confirm(
            _user(), confirmed=f.confirmed.data == "1", owner_name=f.owner_name.data,
            method=f.method.data, confirmed_at=f.confirmed_at.data, note=f.note.data,
            expected_version=self._version(row)), row=row)

    @expose("/release/", methods=("GET", "POST"))
    def release_view(self):
        """放行: stamped, numbered, registered — only after the owner confirmed."""
        row = self._row_or_404()
        return self._action("放行", ReleaseGoodsForm(request.form), lambda f: row.release(
            _user(), released_at=f.released_at.data, expected_version=self._version(row)),
            row=row)


# --- deposits ---------------------------------------------------------------------------------


class CollectForm(Form):
    collected_at = _when("收款时间")


class RefundForm(Form):
    amount = StringField("退还金额(元)", validators=[InputRequired("请填写退还金额")],
                         description="默认全额；少退的部分作为扣留，须填写原因并经主管批准")
    to = StringField("领款人", validators=[InputRequired("请填写领款人"), Length(max=64)])
    refunded_at = _when("退款时间")
    forfeit_reason = StringField("扣留原因", validators=[Optional(), Length(max=200)])
    approved_by = SelectField("扣留批准主管", coerce=int, validators=[Optional()])


class ForfeitForm(Form):
    forfeit_reason = StringField("没收原因", validators=[InputRequired("没收押金时请填写原因"),
                                                     Length(max=200)])
    approved_by = SelectField("批准主管", coerce=int, validators=[Optional()])
    forfeited_at = _when("没收时间")


class CancelDepositForm(Form):
    reason = StringField("取消原因", validators=[InputRequired("请填写取消原因"),
                                               Length(max=200)])


class RefundableForm(Form):
    on = DateField("可退日期", validators=[Optional()], format=DATE_FORMAT,
                   description="留空为今天")
    note = StringField("原因", validators=[InputRequired("请填写可退原因"), Length(max=200)])


FINANCE_ACTIONS = frozenset({"create", "collect", "refund"})


class DepositAdmin(FrontDeskView):
    """押金/费用台账: one ledger; only finance collects and refunds; nothing leaves (R-DEP)."""

    permissions = {**SecureModelView.permissions, "create": EVERYONE, "edit": NOBODY,
                   "collect": EVERYONE, "refund": EVERYONE, "release": EVERYONE,
                   "receipt": EVERYONE}
    endpoint_actions = {"collect_view": "collect", "refund_view": "refund",
                        "forfeit_view": "refund", "cancel_view": "release",
                        "refundable_view": "release", "print_view": "receipt"}
    list_template = "admin/deposit_list.html"
    details_template = "admin/deposit_details.html"
    print_template = "admin/deposit_receipt_print.html"
    column_list = ("receipt_number", "created_at", "kind", "payer", "amount", "purpose",
                   "state", "refundable_on", "collected_by", "refunded_at", "refunded_amount")
    column_filters = ("state", "kind", "created_at", "refundable_on")
    column_searchable_list = ("receipt_number", "payer", "purpose")
    column_default_sort = ("created_at", True)
    column_formatters = {"amount": _money, "refunded_amount": _money, "refundable_on": _date}
    form_create_columns = ("estate", "kind", "payer", "payer_phone", "amount", "purpose", "note")
    form_args = {"kind": {"choices": choices(KINDS)}}
    buttons = (
        (_state_is("due"), "财务收款", ".collect_view", "btn-primary", "collect"),
        (_state_is("refundable"), "退款", ".refund_view", "btn-success", "refund"),
        (_state_is("held", "refundable"), "没收", ".forfeit_view", "btn-outline-danger",
         "refund"),
        (lambda r: r.state == "held" and not r.is_fee, "改为可退", ".refundable_view",
         "btn-outline-secondary", "release"),
        (_state_is("due"), "取消（未收款）", ".cancel_view", "btn-outline-secondary", "release"),
    )

    def allowed(self, action: str) -> bool:
        if not current_user.is_authenticated:
            return False
        finance = in_department(current_user, "finance")
        if action in FINANCE_ACTIONS:
            return finance and super().allowed(action)  # R-DEP-1: only finance takes/refunds
        if action == "release":
            return finance or current_user.role in MANAGERS
        return super().allowed(action)

    def linked_record(self, row) -> tuple[str, str] | None:
        """The pass or decoration a deposit belongs to: (label, details URL)."""
        decoration = Decoration.get_or_none((Decoration.owner_deposit == row.id)
                                            | (Decoration.contractor_deposit == row.id))
        if decoration is not None:
            return f"装修申请 {decoration.number}", self.get_url("decoration.details_view",
                                                               id=decoration.id)
        card = WorkerPass.get_or_none((WorkerPass.deposit == row.id)
                                      | (WorkerPass.card_fee == row.id))
        if card is not None:
            return f"装修工人出入证 {card.number}", self.get_url("worker_pass.details_view",
                                                            id=card.id)
        return None

    def printable(self, row) -> bool:
        return bool(row.receipt_number)

    def print_args(self, row) -> dict:
        return {"amount_words": amount_in_words(row.amount)}

    def get_filters(self):
        queues = {
            "refundable_late": ("可退超过 30 天未退", lambda now:
                                Deposit.refundable_not_refunded(now, 30)),
            "uncollected": ("超过 3 天未收款", lambda now: Deposit.uncollected(now, 3)),
        }
        return [QueryFilter(Deposit, "工作队列", queues), *super().get_filters()]

    @expose("/")
    def index_view(self):
        """The ledger with its totals per estate (held, refundable, refunded, forfeited, fees)."""
        estates = list(_user().estates())
        totals = Deposit.totals([e.id for e in estates])
        self._template_args["ledger_totals"] = [(e, totals[e.id]) for e in estates
                                                if e.id in totals]
        return super().index_view()

    def create_model(self, form):
        model = self.model()
        form.populate_obj(model)
        try:
            model.save_collected(_user())
        except RuleError as error:
            self.attach_errors(form, error)
            return False
        self.after_model_change(form, model, True)
        return model

    def _deposit_action(self, title, form, apply):
        row = self._row_or_404()
        if "approved_by" in form:
            form.approved_by.choices = _managers(row.estate_id)
        return self._action(title, form, lambda f: apply(row, f), row=row)

    @expose("/collect/", methods=("GET", "POST"))
    def collect_view(self):
        """财务收款: the numbered receipt is issued."""
        return self._deposit_action("财务收款", CollectForm(request.form), lambda row, f:
                                    row.collect(_user(), collected_at=f.collected_at.data,
                                                expected_version=self._version(row)))

    @expose("/refund/", methods=("GET", "POST"))
    def refund_view(self):
        """退款: when, to whom, by whom; once."""
        form = RefundForm(request.form)
        row = self._row_or_404()
        if request.method == "GET":
            form.amount.data = str(row.amount)
            form.to.data = row.payer
        return self._deposit_action("退还押金", form, lambda row, f: row.refund(
            _user(), amount=f.amount.data, to=f.to.data, refunded_at=f.refunded_at.data,
            forfeit_reason=f.forfeit_reason.data or "",
            approved_by_id=f.approved_by.data or None, expected_version=self._version(row)))

    @expose("/forfeit/", methods=("GET", "POST"))
    def forfeit_view(self):
        """没收 with a reason and a manager's approval."""
        return self._deposit_action("没收押金", ForfeitForm(request.form), lambda row, f:
                                    row.forfeit(_user(), reason=f.forfeit_reason.data,
                                                approved_by_id=f.approved_by.data or None,
                                                forfeited_at=f.forfeited_at.data,
                                                expected_version=self._version(row)))

    @expose("/cancel/", methods=("GET", "POST"))
    def cancel_view(self):
        """取消 money asked for but never collected."""
        return self._deposit_action("取消未收款项", CancelDepositForm(request.form),
                                    lambda row, f: row.cancel(
                                        _user(), reason=f.reason.data,
                                        expected_version=self._version(row)))

    @expose("/refundable/", methods=("GET", "POST"))
    def refundable_view(self):
        """改为可退 (e.g. a key deposit whose key came back)."""
        return self._deposit_action("改为可退", RefundableForm(request.form), lambda row, f:
                                    row.make_refundable(_user(), on=f.on.data, note=f.note.data,
                                                        expected_version=self._version(row)))


FRONT_DESK = "前台登记"
DECORATION = "装修与押金"


def register_views(admin) -> None:
    """Add the front-desk registers to the admin (called once from views.build_admin)."""
    keys.register(admin, FRONT_DESK)
    admin.add_view(TemporaryPassAdmin(TemporaryPass, name="临时出入证", category=FRONT_DESK,
                                      endpoint="temporary_pass"))
    admin.add_view(GoodsReleaseAdmin(GoodsRelease, name="物品放行条", category=FRONT_DESK,
                                     endpoint="goods_release"))
    admin.add_view(HotWorkPermitAdmin(HotWorkPermit, name="动火证", category=FRONT_DESK,
                                      endpoint="hot_work"))
    admin.add_view(DecorationAdmin(Decoration, name="装修申请/许可", category=DECORATION,
                                   endpoint="decoration"))
    admin.add_view(WorkerPassAdmin(WorkerPass, name="装修工人出入证", category=DECORATION,
                                   endpoint="worker_pass"))
    admin.add_view(DepositAdmin(Deposit, name="押金/费用台账", category=DECORATION,
                                endpoint="deposit"))

