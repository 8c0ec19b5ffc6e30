"""The one secured base for every admin page.

It denies anonymous users everywhere, checks the role per action (list, create, edit, void, export,
reveal), scopes every query to the user's estates, hides voided rows unless asked, routes every
save through `models.register.save_record` (rules, optimistic version check, audit — one
transaction) and replaces delete with void-with-a-reason. CSRF comes from Flask-WTF's CSRFProtect
on the whole app (FINDINGS: Flask-Admin's SecureForm on top of it rejects valid posts).
"""

from __future__ import annotations

import datetime as dt
import itertools

from flask import abort, flash, g, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView, expose
from flask_admin.contrib.peewee import ModelView
from flask_admin.contrib.peewee.ajax import QueryAjaxModelLoader
from flask_admin.contrib.peewee.filters import BasePeeweeFilter, FilterEqual, FilterNotEqual
from flask_admin.contrib.peewee.form import CustomModelConverter
from flask_admin.model.template import EndpointLinkRowAction
from flask_login import current_user
from markupsafe import Markup
from peewee import ForeignKeyField
from wtforms import fields as wtf_fields
from wtforms.fields.choices import SelectChoice
from wtforms.fields.core import UnboundField
from wtforms.validators import InputRequired, Optional, StopValidation
from wtfpeewee.orm import ValueRequired

from models.base import (
    AwareDateTimeField,
    DocumentNumberField,
    RuleError,
    mask_value,
    office_tz,
    to_office,
)
from models.register import audit, save_record, snapshot, void_record
from models.users import DESK, EVERYONE, MANAGERS
from models.validators import neutralise_formula

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


def choices(pairs) -> list[SelectChoice]:
    """wtforms 3.3+ wants SelectChoice objects rather than (value, label) tuples."""
    return [SelectChoice(value, label) for value, label in pairs]


def format_datetime(value: dt.datetime | None) -> str:
    """Show a stored moment in the office's wall time."""
    local = to_office(value)
    return local.strftime("%Y-%m-%d %H:%M") if local else ""


class SecureMixin:
    """Login and role check shared by model views and plain pages."""

    roles: frozenset[str] = EVERYONE

    def is_accessible(self) -> bool:
        return bool(current_user.is_authenticated and current_user.role in self.roles)

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


class LocalDateTimeField(wtf_fields.DateTimeField):
    """A datetime entered and shown in the office's wall time, stored as an aware moment."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("format", ["%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M"])
        super().__init__(*args, **kwargs)

    def _value(self):
        if self.raw_data:
            return " ".join(self.raw_data)
        if self.data:
            return to_office(self.data).strftime("%Y-%m-%d %H:%M")
        return ""

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        if self.data is not None and self.data.tzinfo is None:
            self.data = self.data.replace(tzinfo=office_tz())

    def gettext(self, string):
        return string


class Required(InputRequired):
    """wtf-peewee's "required" (0 and False are values) with a Chinese message.

    Being an InputRequired, Flask-Admin marks the field with a red asterisk.
    """

    def __call__(self, form, field):
        if field.data is None or (isinstance(field.data, str) and not field.data.strip()):
            field.errors[:] = []
            raise StopValidation("此项必填")


class ModelConverter(CustomModelConverter):
    """Flask-Admin's peewee converter plus our field types."""

    def __init__(self, view, additional=None):
        super().__init__(view, additional)
        # wtf-peewee takes the first isinstance match in order: ours must precede DateTimeField.
        self.converters = {AwareDateTimeField: self.handle_aware_datetime, **self.converters}

    def handle_aware_datetime(self, model, field, **kwargs):
        from flask_admin import form as admin_form

        kwargs["widget"] = admin_form.DateTimePickerWidget()
        kwargs.setdefault("description", "格式：2026-11-26 14:30（北京时间）")
        return field.name, LocalDateTimeField(**kwargs)


def scope_to_user(query, model, *, include_voided: bool = False):
    """Narrow a query on `model` to the current user's estates (and to rows not voided)."""
    if current_user.role != "admin":
        estate_ids = current_user.estate_ids()
        if model.__name__ == "Estate":
            query = query.where(model.id.in_(estate_ids))
        elif "estate" in model._meta.fields:
            query = query.where(model.estate.in_(estate_ids))
    if "voided" in model._meta.fields and not include_voided:
        query = query.where(model.voided == False)  # noqa: E712
    return query


class ScopedAjaxLoader(QueryAjaxModelLoader):
    """Searchable pick-list (type to search) that only offers rows of the user's estates."""

    def get_one(self, pk):
        try:
            pk = int(pk)
        except (TypeError, ValueError):
            return None
        return scope_to_user(self.model.select(), self.model).where(
            self.model._meta.primary_key == pk).first()

    def get_list(self, term, offset=0, limit=20):
        query = scope_to_user(self.model.select(), self.model)
        if term:
            condition = None
            for field in self._cached_fields:
                clause = field.contains(term)
                condition = clause if condition is None else condition | clause
            query = query.where(condition)
        return list(query.order_by(*self._cached_fields).offset(offset).limit(limit))


class RelationFilter(FilterEqual):
    """Filter by a related row (部门, 楼栋…) chosen from a drop-down of the user's own rows."""

    def __init__(self, column, name):
        super().__init__(column, name, options=())

    def scoped_options(self):
        rel = self.column.rel_model
        return [(str(row.id), str(row)) for row in scope_to_user(rel.select(), rel).limit(500)]


class VoidStateFilter(BasePeeweeFilter):
    """作废状态: valid rows are the default; this filter shows voided ones too or only."""

    def __init__(self, column):
        super().__init__(column, "作废状态",
                         options=(("valid", "有效"), ("voided", "已作废"), ("all", "全部")))

    def apply(self, query, value):
        if value == "voided":
            return query.where(self.column == True)  # noqa: E712
        if value == "valid":
            return query.where(self.column == False)  # noqa: E712
        return query

    def operation(self):
        return "为"


class SecureModelView(SecureMixin, ModelView):
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
    can_view_details = True
    can_set_page_size = True
    page_size = 50
    export_types = ["csv", "xlsx"]
    export_max_rows = 100_000
    details_template = "admin/desk_details.html"
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

    # Filters added from outside the view (the nightly job's 超时 filter; see mark_rows).
    extra_filters: list = []

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

    def get_list_row_actions(self):
        actions = super().get_list_row_actions()
        if self.can_void:
            actions.append(EndpointLinkRowAction("fa fa-ban", ".void_view", title="作废"))
        return actions

    # -- scoping ------------------------------------------------------------------------------

    def scoped_query(self):
        """Every row this user may see, voided or not."""
        return scope_to_user(self.model.select(), self.model, include_voided=True)

    def get_query(self):
        query = self.scoped_query()
        if self.has_void and not g.get("void_filter_active"):
            query = query.where(self.model.voided == False)  # noqa: E712
        return query

    def get_list(self, page, sort_column, sort_desc, search, filters, execute=True,
                 page_size=None):
        g.void_filter_active = any(isinstance(self._filters[f[0]], VoidStateFilter)
                                   for f in (filters or []))
        count, rows = super().get_list(page, sort_column, sort_desc, search, filters,
                                       execute=execute, page_size=page_size)
        if execute:
            # The page's ids, so per-row lookups (the 超时 badge, mark_rows) ask for these rows
            # only, in one query per page (#14 item 2).
            g.setdefault("page_row_ids", {})[self.model] = [row.id for row in rows]
        return count, rows

    def get_one(self, id):
        try:
            pk = int(id)
        except (TypeError, ValueError):
            return None
        return self.scoped_query().where(self.model._meta.primary_key == pk).first()

    def scaffold_filters(self, name):
        if name == "voided":
            return [VoidStateFilter(self.model.voided)]
        attr = getattr(self.model, name, None) if isinstance(name, str) else name
        if attr is not None and getattr(attr, "choices", None):
            # A choice field filters by its labels from a drop-down, not by free text.
            label = self.get_column_name(attr.name)
            return [FilterEqual(attr, label, options=attr.choices),
                    FilterNotEqual(attr, label, options=attr.choices)]
        if isinstance(attr, ForeignKeyField):
            return [RelationFilter(attr, self.get_column_name(attr.name))]
        if attr is not None and getattr(attr, "model", None) is self.model:
            # Our field subclasses (AwareDateTimeField, MoneyField…) filter like their base.
            for klass in type(attr).__mro__:
                if klass.__name__.lower() in self.filter_converter.converters:
                    return self.filter_converter.convert(klass.__name__, attr,
                                                         self.get_column_name(attr.name))
        return super().scaffold_filters(name)

    def _get_filter_groups(self):
        # Flask-Admin computes filter options once at start-up; a relation's options depend on
        # who is looking (their estates), so they are filled in per request.
        groups = super()._get_filter_groups()
        for items in (groups or {}).values():
            for item in items:
                flt = self._filters[int(item["index"])]
                if isinstance(flt, RelationFilter):
                    item["options"] = flt.scoped_options()
        return groups

    def mark_rows(self, row_filter, badge_for) -> None:
        """Add a filter, and a badge before the first column's value of each marked row
        (`badge_for(row)` -> Markup or None): the nightly job's 超时 flags."""
        self.extra_filters = [*self.extra_filters, row_filter]
        first = next(iter(self.column_list or self.scaffold_list_columns()))
        earlier = (self.column_formatters or {}).get(first)

        def marked(view, context, row, name):
            value = earlier(view, context, row, name) if earlier else getattr(row, name)
            value = view._shown_value(row, name, value)
            badge = badge_for(row)
            return Markup("{} {}").format(badge, value) if badge else value

        self.column_formatters = {**(self.column_formatters or {}), first: marked}
        self._refresh_cache()

    def get_filters(self):
        filters = [*self.extra_filters, *(super().get_filters() or [])]
        if self.has_void and not any(isinstance(f, VoidStateFilter) for f in filters):
            filters.append(VoidStateFilter(self.model.voided))
        return filters

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
        if "version" in self.model._meta.fields:
            form_class.row_version = wtf_fields.HiddenField(validators=[Optional()])
        return form_class

    def _create_ajax_loader(self, name, options):
        options = {"placeholder": "输入关键字搜索", "minimum_input_length": 1, **options}
        return ScopedAjaxLoader(name, getattr(self.model, name).rel_model, **options)

    def search_placeholder(self):
        if not self.column_searchable_list:
            return None
        names = [self.get_column_name(c) for c in self.column_searchable_list
                 if isinstance(c, str)]
        return "搜索：" + "、".join(names)

    def _scope_form(self, form):
        """Offer only the user's estates, and related rows of those estates, in pick-lists."""
        for name, field in self.model._meta.fields.items():
            if isinstance(field, ForeignKeyField) and name in form \
                    and hasattr(form[name], "query"):
                form[name].query = scope_to_user(field.rel_model.select(), field.rel_model)
        return form

    def create_form(self, obj=None):
        form = self._scope_form(super().create_form(obj))
        if "estate" in form and not form.estate.data:
            estates = list(form.estate.query.limit(2))
            if len(estates) == 1:
                form.estate.data = estates[0]
        return form

    def edit_form(self, obj=None):
        form = self._scope_form(super().edit_form(obj))
        if obj is not None and "row_version" in form and not form.row_version.data:
            form.row_version.data = str(obj.version)
        return form

    @staticmethod
    def attach_errors(form, error: RuleError) -> None:
        """Put each rule message next to its field; the rest go to the top of the page."""
        for name, message in error.errors.items():
            if name and name in form:
                form[name].errors = [*form[name].errors, message]
            else:
                flash(message, "error")

    def create_model(self, form):
        model = self.model()
        form.populate_obj(model)
        try:
            self.before_save(model, is_created=True)
            save_record(model, current_user._get_current_object())
        except RuleError as error:
            self.attach_errors(form, error)
            return False
        self.after_model_change(form, model, True)
        return model

    def update_model(self, form, model):
        before = snapshot(model)
        expected = None
        if "row_version" in form:
            try:
                expected = int(form.row_version.data)
            except (TypeError, ValueError):
                expected = None
        form.populate_obj(model)
        try:
            self.before_save(model, is_created=False)
            save_record(model, current_user._get_current_object(), before=before,
                        expected_version=expected)
        except RuleError as error:
            self.attach_errors(form, error)
            return False
        self.after_model_change(form, model, False)
        return True

    def before_save(self, model, *, is_created: bool) -> None:
        """Hook for a view to fill derived values before the rules run (no rules here)."""

    # -- void ---------------------------------------------------------------------------------

    @expose("/void/", methods=("GET", "POST"))
    def void_view(self):
        """Void a record with a reason (作废); it stays in the register."""
        return_url = request.args.get("url") or self.get_url(".index_view")
        if not return_url.startswith("/"):
            return_url = self.get_url(".index_view")
        row = self.get_one(request.args.get("id"))
        if row is None or not self.has_void:
            abort(404)
        error = None
        if request.method == "POST":
            try:
                expected = int(request.form.get("row_version", row.version))
            except ValueError:
                expected = row.version
            try:
                void_record(row, current_user._get_current_object(),
                            request.form.get("reason", ""), expected_version=expected)
            except RuleError as exc:
                error = "；".join(exc.errors.values())
            else:
                flash(f"已作废：{row}", "success")
                return redirect(return_url)
        return self.render("admin/void.html", row=row, error=error, return_url=return_url)

    # -- showing values -----------------------------------------------------------------------

    def _sensitive_columns(self) -> set[str]:
        return {name for name, field in self.model._meta.fields.items()
                if isinstance(field, DocumentNumberField)}

    def get_column_name(self, field):
        """Column headers come from the field's verbose_name (Chinese), as forms' labels do."""
        if self.column_labels and field in self.column_labels:
            return self.column_labels[field]
        model_field = self.model._meta.fields.get(field)
        if model_field is not None and model_field.verbose_name:
            return model_field.verbose_name
        return super().get_column_name(field)

    def _shown_value(self, model, name, value):
        field = self.model._meta.fields.get(name)
        if field is not None and name in self._sensitive_columns():
            return mask_value(field, value)
        if field is not None and field.choices and not isinstance(value, Markup):
            return dict(field.choices).get(value, value)
        if isinstance(value, dt.datetime):
            return format_datetime(value)
        if isinstance(value, bool):
            return "是" if value else "否"
        return value

    def _get_list_value(self, context, model, name, column_formatters, column_type_formatters):
        value = super()._get_list_value(context, model, name, column_formatters,
                                        column_type_formatters)
        if isinstance(value, Markup):
            return value
        return self._shown_value(model, name, value)

    def get_export_value(self, model, name):
        value = super().get_export_value(model, name)
        return neutralise_formula(value) if isinstance(value, str) else value

    def _export_csv(self, return_url):
        # A byte-order mark lets Excel on a Chinese Windows desk open UTF-8 CSV correctly.
        response = super()._export_csv(return_url)
        response.response = itertools.chain(["\ufeff"], response.response)
        return response

    def _export_data(self):
        count, data = super()._export_data()
        view_args = self._get_list_extra_args()
        audit(current_user._get_current_object(), "export", table=self.model._meta.table_name,
              changes={"search": view_args.search,
                       "filters": [list(map(str, f)) for f in (view_args.filters or [])],
                       "rows": len(data)},
              summary=f"导出 {self.name} {len(data)} 行")
        return count, data

    # -- reveal -------------------------------------------------------------------------------

    @expose("/reveal/", methods=("POST",))
    def reveal_view(self):
        """Show one full document number to a permitted user; every reveal is audited."""
        row = self.get_one(request.args.get("id"))
        name = request.form.get("field", "")
        if row is None or name not in self._sensitive_columns():
            abort(404)
        audit(current_user._get_current_object(), "reveal", instance=row,
              changes={"field": name}, summary=f"查看 {row} 的完整证件号")
        field = self.model._meta.fields[name]
        return self.render("admin/reveal.html", row=row, label=field.verbose_name,
                           value=getattr(row, name) or "",
                           return_url=self.get_url(".details_view", id=row._pk))
