"""Staff accounts (admin only) and the audit log (supervisors and above)."""

from __future__ import annotations

from functools import cached_property

from flask import flash, g, redirect, request
from flask_admin import expose
from flask_babel import gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from peewee import fn
from wtforms import PasswordField, SelectMultipleField
from wtforms.validators import DataRequired, Length, Optional

from models.base import RuleError, write_transaction
from models.demands import Demand
from models.estate import Estate
from models.i18n import L_
from models.register import AuditLog, audit
from models.search import number_clause
from models.users import MANAGERS, MIN_PASSWORD_LENGTH, User, UserEstate, check_user_estates
from views.base import SecureModelView, SecurePage
from views.forms import choices, format_datetime

ADMIN_ONLY = frozenset({"admin"})


class UserAdmin(SecureModelView):
    """Create and edit staff accounts, their role, department and estates."""

    permissions = {"list": ADMIN_ONLY, "create": ADMIN_ONLY, "edit": ADMIN_ONLY,
                   "export": ADMIN_ONLY, "void": frozenset(), "reveal": frozenset()}
    column_list = ("username", "display_name", "role", "department", "dept_supervisor",
                   "wecom_userid", "active", "last_login_at")
    column_searchable_list = ("username", "display_name")
    column_filters = ("role", "active")
    column_details_exclude_list = ("password_hash", "approval_pin_hash", "version",
                                   "session_generation")
    form_excluded_columns = ("password_hash", "approval_pin_hash", "created_at", "updated_at",
                             "version", "last_login_at", "session_generation")
    form_extra_fields = {
        # The length is checked with the other fields (#12 item 3), beside this field.
        "new_password": PasswordField(L_("设置新密码"), validators=[
            Optional(), Length(min=MIN_PASSWORD_LENGTH,
                               message=L_("密码至少 %(MIN_PASSWORD_LENGTH)s 位",
                                          MIN_PASSWORD_LENGTH=MIN_PASSWORD_LENGTH))],
                                      description=L_(
                                          "新建用户必填；修改时留空表示不变（至少 8 位）")),
        "estate_ids": SelectMultipleField(L_("所属小区"), coerce=int),
    }

    form_error_fields = {"password": "new_password", "password_hash": "new_password"}

    def _with_estates(self, form, obj=None):
        form.estate_ids.choices = choices((e.id, f"{e.code} {e.name}") for e in Estate.select()
                                          .order_by(Estate.code))
        if obj is not None and not form.estate_ids.data:
            form.estate_ids.data = [link.estate_id for link in obj.estate_links]
        return form

    def create_form(self, obj=None):
        return self._with_estates(super().create_form(obj))

    def edit_form(self, obj=None):
        return self._with_estates(super().edit_form(obj), obj)

    # The typed password and estates travel to before_save in the request's `g`, never on the
    # view: one view object serves every request and thread (gthread workers), so two admins
    # saving users at once must not see each other's values.
    def before_save(self, model, *, is_created):
        password, estates = g.user_form
        check_user_estates(model.role, estates)
        if password:
            model.set_password(password)
        elif is_created:
            raise RuleError({"new_password": gettext("新建用户必须设置密码")})

    def create_model(self, form):
        g.user_form = (form.new_password.data, form.estate_ids.data)
        return super().create_model(form)

    def update_model(self, form, model):
        g.user_form = (form.new_password.data, form.estate_ids.data)
        return super().update_model(form, model)

    def after_model_change(self, form, model, is_created):
        wanted = set(form.estate_ids.data or [])
        have = {link.estate_id for link in model.estate_links}
        if wanted != have:
            UserEstate.delete().where(UserEstate.user == model,
                                      UserEstate.estate.not_in(wanted)).execute()
            for estate_id in wanted - have:
                UserEstate.create(user=model, estate=estate_id)


class AuditLogAdmin(SecureModelView):
    """Read-only audit trail: who did what, when, with field-level before/after."""

    permissions = {"list": MANAGERS, "export": MANAGERS, "create": frozenset(),
                   "edit": frozenset(), "void": frozenset(), "reveal": frozenset()}
    column_list = ("created_at", "username", "action", "table", "row_id", "estate", "summary")
    # The base view hides bookkeeping columns, created_at among them: here it is the time of
    # the change, the column an auditor reads first (#12 item 9).
    column_exclude_list = ()
    column_details_list = ("created_at", "username", "action", "table", "row_id", "estate",
                           "summary", "changes")
    column_searchable_list = ("username", "summary", "table")
    column_filters = ("action", "table", "username", "estate", "created_at")
    # The trail grows with every write (three rows a demand and more): newest first by its
    # time, and sorted only by what an index reads in order; a 时间 range or a user's rows are
    # read in that order too (migration 036, #14).
    column_default_sort = ("created_at", True)
    column_sortable_list = ("created_at", "username", "action", "table", "estate")
    column_labels = {"created_at": L_("时间")}
    column_formatters = {
        "action": lambda v, c, m, n: AuditLog.ACTION_LABELS.get(m.action, m.action),
    }

    def scoped_query(self):
        # Supervisors and directors: their estates' rows, including exports, logins (failed
        # ones too), account and calendar changes; admins all (#11 item 7).
        return AuditLog.visible_to(current_user._get_current_object())

    # A register number typed into the search (XQ-B-00012345, WX-2026-001…) is the trail of
    # that record: looked up in its register by the number index its own grid searches with
    # (column_number_search), then the rows about it by (table, row_id) (migration 036). As a
    # substring of every summary it read the whole trail: 1.4 s at three million rows (#14).
    # Digits alone stay a text search here (a serial names no register).
    serial_search = False

    @property
    def column_number_search(self) -> dict[str, str]:
        return dict.fromkeys(self._numbered, "row_id")

    @cached_property
    def _numbered(self) -> dict[str, list]:
        """{prefix: [(model, number field)]}: what every register's grid declares, and the
        demand's number (its grid searches its own text index)."""
        found = {"XQ": [(Demand, Demand.number)]}
        for view in self.admin._views if self.admin else ():
            declared = getattr(type(view), "column_number_search", None)
            for prefix, name in declared.items() if isinstance(declared, dict) else ():
                found.setdefault(prefix, []).append((view.model, getattr(view.model, name)))
        return found

    def number_condition(self, word: str):
        estate_ids = current_user.estate_ids()
        about = None
        for model, field in self._numbered[word[:2]]:
            ids = [row.id for row in model.select(model.id).where(
                model.estate.in_(estate_ids), number_clause(field, word))
                .limit(self.NUMBERED_ROWS)]
            if ids:
                rows = (AuditLog.table == model._meta.table_name) & AuditLog.row_id.in_(ids)
                about = rows if about is None else about | rows
        return about

    # The records one number (or the start of one) names at most: a start such as XQ-2026
    # names a year of them, whose trail is better reached by the filters.
    NUMBERED_ROWS = 200

    # Words of text (a name, 派工) are a substring of every summary, name and table: read
    # newest first until a page matches, so a word few rows hold read the whole trail (2.4 s
    # at three million rows). Without a 时间 filter they are looked for among the newest
    # SEARCH_WINDOW rows, and the page says since when; with one, within its range (#14).
    SEARCH_WINDOW = 50_000
    # No count above the grid (previous/next only, as the demand grid): a word few rows hold
    # would read the window twice, once to count and once for the page.
    list_counted = False

    def search_window(self, rows, text: str, filters, *, shown: bool):
        timed = any(getattr(self._filters[f[0]].column, "name", None) == "created_at"
                    for f in filters)
        # An export streams whatever it reads: it searches the whole trail (nothing left out
        # of a file without a word about it).
        if not text.strip() or timed or not shown:
            return rows
        newest = AuditLog.select(fn.MAX(AuditLog.id)).scalar()
        if newest is None or newest <= self.SEARCH_WINDOW:
            return rows
        first = (AuditLog.select(AuditLog.created_at)
                 .where(AuditLog.id > newest - self.SEARCH_WINDOW)
                 .order_by(AuditLog.id).first())  # by the primary key: one row read
        if first is None:
            return rows
        flash(gettext("文字只在最近 %(rows)s 条记录中查找（%(since)s 以来）；"
                      "更早的记录请先用「时间」筛选，再搜索。",
                      rows=f"{self.SEARCH_WINDOW:,}", since=format_datetime(first.created_at)),
              "info")
        return rows.where(AuditLog.created_at >= first.created_at)


class PinForm(FlaskForm):
    password = PasswordField(L_("当前登录密码"), validators=[DataRequired(L_("请输入当前登录密码")),
                                                   Length(max=128)])
    pin = PasswordField(L_("新的审批PIN"),
                        validators=[DataRequired(L_("请输入审批PIN")), Length(max=12)],
                        description=L_(
                            "6 到 12 位数字；在前台现场审批时代替密码输入，只有本人知道"))
    confirm = PasswordField(L_("再输入一次"), validators=[DataRequired(L_("请再输入一次审批PIN")),
                                                  Length(max=12)])


class PinView(SecurePage):
    """Set my own approval PIN, to approve at the desk on a clerk's screen (R-REC-2)."""

    roles = frozenset({"admin", "director", "supervisor", "dept"})

    @expose("/", methods=("GET", "POST"))
    def index(self):
        form = PinForm()
        if form.validate_on_submit():
            user = User.get_by_id(current_user.id)
            if not user.check_password(form.password.data):
                form.password.errors = [gettext("当前登录密码不正确")]
            elif form.pin.data != form.confirm.data:
                form.confirm.errors = [gettext("两次输入的审批PIN不一致")]
            else:
                try:
                    user.set_pin(form.pin.data)
                except RuleError as error:
                    form.pin.errors = list(error.errors.values())
                else:
                    with write_transaction():
                        User.update(approval_pin_hash=user.approval_pin_hash).where(
                            User.id == user.id).execute()
                        audit(user, "pin", table="app_user", row_id=user.id,
                              summary="设置审批PIN")
                    flash(gettext("审批PIN 已设置"), "success")
                    return redirect(request.path)
        return self.render("admin/approval_pin.html", form=form,
                           has_pin=bool(User.get_by_id(current_user.id).approval_pin_hash))
