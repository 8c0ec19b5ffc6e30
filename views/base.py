"""The one secured base for every admin page.

It denies anonymous users everywhere, checks the role per action (list, create, edit, void, export,
reveal), scopes every query to the user's estates, hides voided rows unless asked, routes every
save through `models.register.save_record` (rules, optimistic version check, audit — one
transaction) and replaces delete with void-with-a-reason. CSRF comes from Flask-WTF's CSRFProtect
on the whole app (FINDINGS: Flask-Admin's SecureForm on top of it rejects valid posts).
"""

from __future__ import annotations

from urllib.parse import quote

from flask import abort, flash, g, redirect, request, url_for
from flask_admin import AdminIndexView, BaseView, expose
from flask_admin.contrib.peewee import ModelView
from flask_admin.contrib.peewee.filters import FilterEqual, FilterNotEqual
from flask_admin.helpers import is_form_submitted
from flask_admin.model.template import BaseListRowAction, EditRowAction, ViewRowAction
from flask_babel import gettext
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup, escape
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
from views.display import DisplayMixin, shown_relations
from views.form_bounds import fits_filter, harden, parse_bounded_int
from views.forms import (
    ModelConverter,
    Required,
    attach_rule_errors,
    offer_newer_version,
    rule_errors,
)
from views.i18n import DeskForm
from views.scoping import RelationFilter, ScopedAjaxLoader, VoidStateFilter, scope_to_user
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


class CappedCount(int):
    """A grid's count past its cap: the cap as a number, "1000+" on the page."""

    def __str__(self) -> str:
        return f"{int(self)}+"


class PageLink(BaseListRowAction):
    """A grid row's icon link (details, edit, void). Its URL is built once per page with a
    stand-in id and the row's id put in its place: url_for per row and icon was a sixth of a
    50-row grid's CPU (#14 item 1). The HTML is Flask-Admin's row_actions.link macro's."""

    STAND_IN = "0ROWID0"

    def __init__(self, endpoint: str, icon_class: str, title, return_url: bool = True):
        super().__init__(title=title)
        self.endpoint, self.icon_class, self.return_url = endpoint, icon_class, return_url

    def html_around_id(self, context) -> tuple[str, str]:
        """The link's HTML before and after the row's id, escaped, made once per page."""
        view = context.resolve("admin_view")
        args = {"id": self.STAND_IN}
        if self.return_url:
            args["url"] = context.resolve("return_url")
        key = (view.endpoint, self.endpoint, args.get("url"))
        made = g.setdefault("page_link_html", {})
        if key not in made:
            # The id comes first in the query string, before the (encoded) return URL.
            head, _sep, tail = view.get_url(self.endpoint, **args).partition(self.STAND_IN)
            made[key] = (f'<a class="icon" href="{escape(head)}',
                         f'{escape(tail)}" title="{escape(self.title or "")}">\n'
                         f'  <span class="{escape(self.icon_class)}"></span>\n</a>')
        return made[key]

    def render(self, context, row_id, row):
        head, tail = self.html_around_id(context)
        return Markup(head + quote(str(row_id), safe="") + tail)


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


class SecureModelView(SecureMixin, DisplayMixin, ModelView):
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
        # Flask-Admin's own (details, edit: a Jinja macro and url_for per row and icon) give
        # way to PageLink, which builds each icon's URL once per page (#14 item 1).
        actions = []
        if self.can_view_details:
            actions.append(PageLink(".details_view", "fa fa-eye glyphicon glyphicon-eye-open",
                                    ViewRowAction().title))  # Flask-Admin's own words
        if self.can_edit:
            actions.append(PageLink(".edit_view", "fa fa-pencil glyphicon glyphicon-pencil",
                                    EditRowAction().title))
        if self.can_void:
            actions.append(PageLink(".void_view", "fa fa-ban", gettext("作废"), return_url=False))
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
        filters = [f for f in (filters or []) if fits_filter(self._filters[f[0]], f[2])]
        g.void_filter_active = any(isinstance(self._filters[f[0]], VoidStateFilter)
                                   for f in filters)
        _none, rows = super().get_list(page, sort_column, sort_desc, search, filters,
                                       execute=False, page_size=page_size)
        count = self.capped_count(rows) if execute and self.list_counted else None
        if execute:
            rows = list(rows.execute())
            # The page's ids, so per-row lookups (the 超时 badge, mark_rows) ask for these rows
            # only, in one query per page (#14 item 2).
            g.setdefault("page_row_ids", {})[self.model] = [row.id for row in rows]
            # The related names the page shows, one query per column (#14 item 4).
            self.prepare_rows(rows, shown_relations(self))
        return count, rows

    # -- drawing a grid's rows (#14 item 1) ------------------------------------------------------

    @pass_context
    def row_html(self, context, row):
        """One grid row's cells as one string, the HTML of Flask-Admin's list_row block (its
        icons, then each column's value escaped as Jinja would), or None where that block is
        still needed: bulk actions' checkboxes, editable cells, another kind of row action.
        Drawn in Jinja, the cells of a 50-row page were a quarter of its CPU."""
        actions = context.resolve("list_row_actions")
        if context.resolve("actions") or self.column_editable_list \
                or not all(isinstance(a, PageLink) for a in actions):
            return None
        pk = self.get_pk_value(row)
        parts = []
        if self.column_display_actions:
            parts.append('<td class="list-buttons-column">')
            parts.extend(action.render(context, pk, row) for action in actions)
            parts.append("</td>")
        formatters, type_formatters = self.column_formatters, self.column_type_formatters
        for name, _label in context.resolve("list_columns"):
            value = self._get_list_value(context, row, name, formatters, type_formatters)
            parts.append(f'<td class="col-{escape(name)}">{escape(value)}</td>')
        return Markup("".join(parts))

    # -- counting (#14 item 2) -----------------------------------------------------------------

    # A grid counts its matching rows up to count_cap and shows "1000+" beyond, with the
    # previous/next pager: the count stops after count_cap + 1 rows instead of scanning a
    # million on every page view. list_counted = False (the demand grid): no count at all.
    count_cap = 1000
    list_counted = True

    @property
    def simple_list_pager(self) -> bool:
        # Flask-Admin's own exact COUNT(*) never runs; get_list counts, capped.
        return True

    def capped_count(self, page_query) -> int:
        """The rows the page's query matches, counted up to count_cap + 1 (one statement:
        SELECT COUNT(1) FROM (SELECT 1 … LIMIT cap + 1))."""
        found = page_query.order_by().limit(self.count_cap + 1).offset(None).count()
        return CappedCount(self.count_cap) if found > self.count_cap else found

    def render(self, template, **kwargs):
        if isinstance(kwargs.get("count"), CappedCount):
            kwargs["num_pages"] = None  # past the cap: the previous/next pager
        return super().render(template, **kwargs)

    def get_one(self, id):
        pk = parse_bounded_int(id)
        if pk is None:
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
