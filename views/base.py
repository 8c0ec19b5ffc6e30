"""The one secured base for every admin page.

It denies anonymous users everywhere, checks the role per action (list, create, edit, void, export,
reveal), scopes every query to the user's estates, hides voided rows unless asked, routes every
save through `models.register.save_record` (rules, optimistic version check, audit — one
transaction) and replaces delete with void-with-a-reason. CSRF comes from Flask-WTF's CSRFProtect
on the whole app (FINDINGS: Flask-Admin's SecureForm on top of it rejects valid posts).
"""

from __future__ import annotations

from flask import abort, flash, g, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView, expose
from flask_admin.contrib.peewee import ModelView
from flask_admin.helpers import is_form_submitted
from flask_babel import gettext
from flask_login import current_user
from peewee import ForeignKeyField
from wtforms import fields as wtf_fields
from wtforms.fields.core import UnboundField
from wtforms.validators import Optional
from wtfpeewee.orm import ValueRequired

from models.base import (
    RuleError,
    StaleRecordError,
)
from models.i18n import L_
from models.register import save_record, snapshot, void_record
from models.users import DESK, EVERYONE, MANAGERS
from views.blanks import blank_required_choices
from views.display import DisplayMixin
from views.form_bounds import harden, parse_bounded_int
from views.forms import (
    ModelConverter,
    Required,
    attach_rule_errors,
    hide_document_numbers,
    offer_newer_version,
    rule_errors,
)
from views.grid import GridMixin
from views.i18n import DeskForm
from views.scoping import ScopedAjaxLoader, scope_to_user
from views.security import safe_return_url

# Bookkeeping columns no form ever edits directly.
BOOKKEEPING = (
    "created_at", "updated_at", "version", "created_by",
    "voided", "void_reason", "voided_at", "voided_by",
)

# Which action each exposed Flask-Admin endpoint performs, for the role check.
ENDPOINT_ACTIONS = {
    "index_view": "list",
    "details_view": "list",
    "ajax_lookup": "list",
    "create_view": "create",
    "edit_view": "edit",
    "ajax_update": "edit",
    "void_view": "void",
    "export": "export",
    "reveal_view": "reveal",
    "action_view": "edit",
    "delete_view": "delete",
}


def current_role() -> str | None:
    """The logged-in user's role, None for anonymous. The menu asks every view (about 70,
    twice each) on every page: one proxy lookup instead of two (#14 item 1)."""
    user = current_user._get_current_object()
    return user.role if user.is_authenticated else None


class SecureMixin:
    """Login and role check shared by model views and plain pages."""

    roles: frozenset[str] = EVERYONE

    def is_accessible(self) -> bool:
        return current_role() in self.roles

    def inaccessible_callback(self, name, **kwargs):
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path))
        abort(403)

    def is_visible(self) -> bool:
        return self.is_accessible()


class SecureIndexView(SecureMixin, AdminIndexView):
    """The admin home: only for logged-in staff."""


class SecurePage(SecureMixin, BaseView):
    """A plain secured admin page (dashboards, reports)."""


class SecureModelView(SecureMixin, DisplayMixin, GridMixin, ModelView):
    """Base of every register grid (see the module docstring)."""

    # Who may do what; a view narrows these.
    permissions: dict[str, frozenset[str]] = {
        "list": EVERYONE,
        "create": DESK,
        "edit": DESK,
        "void": MANAGERS,
        "export": MANAGERS | {"viewer"},
        "reveal": frozenset({"admin", "director"}),
    }

    model_form_converter = ModelConverter
    form_base_class = DeskForm  # WTForms' messages in the user's language (#12 item 2)
    can_view_details = True
    can_set_page_size = True
    page_size = 50
    export_types = ["csv", "xlsx"]  # streamed, no row cap unless EXPORT_MAX_ROWS (#14 item 4)
    details_template = "admin/desk_details.html"
    list_template = "admin/desk_list.html"  # the table drawn as one string (#14 item 1)
    form_excluded_columns = BOOKKEEPING
    column_exclude_list = ("created_at", "updated_at", "version", "void_reason", "voided_at",
                           "voided_by", "created_by")
    column_details_exclude_list = ("version",)
    column_display_pk = False

    # -- permissions --------------------------------------------------------------------------

    def allowed(self, action: str) -> bool:
        if not current_user.is_authenticated:
            return False
        if action == "reveal" and getattr(current_user, "can_reveal_id", False):
            return True
        if action == "export" and self.clerk_exports():
            return True
        return current_user.role in self.permissions.get(action, frozenset())

    @property
    def roles(self):  # who may open the view at all
        return self.permissions["list"]

    @property
    def can_create(self):
        return self.allowed("create")

    @property
    def can_edit(self):
        return self.allowed("edit")

    @property
    def can_export(self):
        return self.allowed("export")

    @property
    def can_void(self):
        return self.has_void and self.allowed("void")

    can_delete = False  # rows are voided, never deleted (FINDINGS: recursive delete)

    # A view's own exposed endpoints and the action (permission) each performs.
    endpoint_actions: dict[str, str] = {}

    # Creation and later edits may show different fields: a register's states change only
    # through its actions, never by editing the status columns. Empty: form_columns for both.
    form_create_columns: tuple = ()
    form_edit_columns: tuple = ()

    @property
    def has_void(self) -> bool:
        return "voided" in self.model._meta.fields

    def _handle_view(self, name, **kwargs):
        response = super()._handle_view(name, **kwargs)
        if response is not None:
            return response
        action = {**ENDPOINT_ACTIONS, **self.endpoint_actions}.get(name, "list")
        if action == "delete" or not self.allowed(action):
            abort(403)
        return None

    # -- scoping ------------------------------------------------------------------------------

    def scoped_query(self):
        """Every row this user may see, voided or not."""
        return scope_to_user(self.model.select(), self.model, include_voided=True)

    def get_query(self):
        query = self.scoped_query()
        if self.has_void and not g.get("void_filter_active"):
            query = query.where(self.model.voided == False)  # noqa: E712
        return query

    def get_one(self, id):
        pk = parse_bounded_int(id)
        if pk is None:
            return None
        return self.scoped_query().where(self.model._meta.primary_key == pk).first()

    # -- forms --------------------------------------------------------------------------------

    def get_create_form(self):
        return self._scaffold_with(self.form_create_columns or self.form_columns)

    def get_edit_form(self):
        return self._scaffold_with(self.form_edit_columns or self.form_columns)

    def _scaffold_with(self, columns):
        saved = self.form_columns
        self.form_columns = columns
        try:
            return self.scaffold_form()
        finally:
            self.form_columns = saved

    def scaffold_form(self):
        form_class = super().scaffold_form()
        for name in dir(form_class):
            unbound = getattr(form_class, name)
            if isinstance(unbound, UnboundField) and unbound.kwargs.get("validators"):
                unbound.kwargs["validators"] = [
                    Required() if isinstance(v, ValueRequired) else v
                    for v in unbound.kwargs["validators"]]
        harden(form_class, self.model)
        if "version" in self.model._meta.fields:
            form_class.row_version = wtf_fields.HiddenField(validators=[Optional()])
        return form_class

    def _create_ajax_loader(self, name, options):
        options = {"placeholder": L_("输入关键字搜索"), "minimum_input_length": 1, **options}
        return ScopedAjaxLoader(name, getattr(self.model, name).rel_model, **options)

    def search_placeholder(self):
        if not self.column_searchable_list:
            return None
        names = [self.get_column_name(c) for c in self.column_searchable_list
                 if isinstance(c, str)]
        return gettext("搜索：%(columns)s", columns="、".join(map(str, names)))

    def _scope_form(self, form):
        """Offer only the user's estates, and related rows of those estates, in pick-lists."""
        for name, field in self.model._meta.fields.items():
            if isinstance(field, ForeignKeyField) and name in form \
                    and hasattr(form[name], "query"):
                form[name].query = scope_to_user(field.rel_model.select(), field.rel_model)
        return form

    def create_form(self, obj=None):
        form = self._scope_form(super().create_form(obj))
        blank_required_choices(form, self.model)  # #12 item 6: no risky pre-selection
        if "estate" in form and not form.estate.data:
            estates = list(form.estate.query.limit(2))
            if len(estates) == 1:
                form.estate.data = estates[0]
        return form

    def edit_form(self, obj=None):
        form = self._scope_form(super().edit_form(obj))
        if obj is not None and "row_version" in form and not form.row_version.data:
            form.row_version.data = str(obj.version)
        if obj is not None and not self.allowed("reveal"):
            hide_document_numbers(form, obj)  # #12 item 5: masked unless revealed
        return form

    # A model field whose rule messages belong next to another form field (the password's
    # length next to 设置新密码), model field name -> form field name.
    form_error_fields: dict[str, str] = {}

    # Put each rule message next to its field; the rest go to the top of the page.
    attach_errors = staticmethod(attach_rule_errors)

    def validate_form(self, form) -> bool:
        """The form's checks, and on a refused create or edit the model's rules too, so every
        problem of the form shows at once, each next to its field (#12 item 3)."""
        valid = super().validate_form(form)
        endpoint = (request.endpoint or "").rsplit(".", 1)[-1]
        if not valid and is_form_submitted() and endpoint in ("create_view", "edit_view"):
            errors = rule_errors(form, self.model, getattr(form, "_obj", None))
            # Only what belongs to a field of this form: values the save itself derives
            # (numbers, a password's hash) are not missing yet.
            errors = {name: message for name, message in errors.items()
                      if self.form_error_fields.get(name, name) in form}
            if errors:
                self.attach_errors(form, RuleError(errors), renames=self.form_error_fields,
                                   keep_first=True)
        return valid

    def create_model(self, form):
        model = self.model()
        form.populate_obj(model)
        try:
            self.before_save(model, is_created=True)
            save_record(model, current_user._get_current_object())
        except RuleError as error:
            self.attach_errors(form, error, renames=self.form_error_fields)
            return False
        self.after_model_change(form, model, True)
        return model

    def update_model(self, form, model):
        before = snapshot(model)
        expected = None
        if "row_version" in form and form.row_version.data:
            # A version no column holds is a stale form, never an overflow (#13 item 7).
            expected = parse_bounded_int(form.row_version.data)
            if expected is None:
                offer_newer_version(self, form, model)
                return False
        form.populate_obj(model)
        try:
            self.before_save(model, is_created=False)
            save_record(model, current_user._get_current_object(), before=before,
                        expected_version=expected)
        except StaleRecordError:
            offer_newer_version(self, form, model)
            return False
        except RuleError as error:
            self.attach_errors(form, error, renames=self.form_error_fields)
            return False
        self.after_model_change(form, model, False)
        return True

    def before_save(self, model, *, is_created: bool) -> None:
        """Hook for a view to fill derived values before the rules run (no rules here)."""

    # -- void ---------------------------------------------------------------------------------

    @expose("/void/", methods=("GET", "POST"))
    def void_view(self):
        """Void a record with a reason (作废); it stays in the register."""
        return_url = safe_return_url(request.args.get("url")) or self.get_url(".index_view")
        row = self.get_one(request.args.get("id"))
        if row is None or not self.has_void:
            abort(404)
        error = None
        if request.method == "POST":
            expected = parse_bounded_int(request.form.get("row_version", row.version))
            if expected is None:
                expected = -1  # no row has it: refused as stale
            try:
                void_record(row, current_user._get_current_object(),
                            request.form.get("reason", ""), expected_version=expected)
            except RuleError as exc:
                error = "；".join(exc.errors.values())
            else:
                flash(gettext("已作废：%(row)s", row=row), "success")
                return redirect(return_url)
        return self.render("admin/void.html", row=row, error=error, return_url=return_url)
