"""Row actions as declarations, and the register view that runs them.

A register's state changes (issue a key, approve a decoration, collect a deposit, dispatch a
demand…) are declared on its view as `RowAction`s:

    row_actions = (
        RowAction("issue", "交付业主", "issue_to_owner", form=IssueKeyForm,
                  when=("office",), permission="move"),
        ...
    )

One mechanism (`RegisterView`) turns each declaration into

* an exposed endpoint `.<name>_view` at `/<url>/` (GET shows the form, POST applies it; an
  action without a form is a one-click POST),
* the permission check (the action's `permission` is one of the view's `permissions` keys),
* a button on the row's details page, shown only when the row's state allows it and the user may,
* the call of the model method with the form's values, the user and the version the user saw
  (the model enforces the rule and writes the row, its audit entry and its history in one
  transaction; see `models.register.StatefulMixin`),
* every problem at once, each next to its field (the rest on top), the typed input kept: a
  form its own checks refused is tried against the step's rules too, nothing kept (#12 item 3),
* the redirect back to the row with a confirmation, and
* for a step its model declares in `approvals` (`approval="lend"`, R-REC-2): done at once when
  the user is the approver (own login) or when an approver standing at the desk types their
  own username and password or PIN into the form's 现场审批 fields; otherwise the step waits,
  unchanged, in the approver's queue (待我审批) — see views/approval_steps.py and
  models/approvals.py.

Adding an action to a register is a declaration here plus a model method; nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import abort, flash, redirect, request
from flask_admin import expose
from flask_babel import gettext
from flask_login import current_user
from wtforms import Form

from models import approvals
from models.base import RuleError, StaleRecordError, to_office, utcnow
from models.i18n import L_, office_text
from models.users import User, UserEstate
from views.approval_steps import DESK_FIELDS, ApprovalStepsMixin
from views.attachments import AttachmentsMixin
from views.base import SecureModelView
from views.fields import QueryFilter
from views.forms import newer_version, passed_values, refused_form_rules
from views.i18n import FORM_META
from views.scoping import scope_to_department


def current():
    """The logged-in user as a model instance (what model methods take)."""
    return current_user._get_current_object()


@dataclass(frozen=True)
class RowAction:
    """One state change a row offers: its button, its form, who may, and the model method."""

    # The endpoint is `.<name>_view`, served at `/<name>/` (or `url`).
    name: str
    # The button; a callable(row) gives a label that depends on the row.
    label: str | Callable[[Any], str]
    # The model method's name (called row.<call>(user, **values)) or a callable(row, user,
    # **values). Empty for a button that only links to another action (see `target`).
    call: str | Callable[..., Any] = ""
    # The form (a wtforms Form class, or callable(row) -> class); None: a one-click POST.
    form: type[Form] | Callable[[Any], type[Form]] | None = None
    # The states it applies to (values of the model's `state_field`) or a predicate on the row.
    when: tuple[str, ...] | Callable[[Any], bool] | None = None
    # The key of the view's `permissions` that allows it.
    permission: str = "edit"
    # A per-row check on top of the role (row, user) -> bool, e.g. a department's own work
    # (R-REC-4); False hides the button and answers 403 to a crafted request.
    allowed: Callable[[Any, Any], bool] | None = None
    css: str = "btn-primary"
    # The form page's heading (callable(row, form) for one that depends on them); the label by
    # default.
    title: str | Callable[[Any, Any], str] = ""
    # form -> keyword arguments of the model method (default: the form's fields as they are).
    values: Callable[[Any], dict] | None = None
    # (view, row, form) -> None | response: fill per-row choices and defaults on GET, or answer
    # with a redirect instead of the form.
    prepare: Callable[[Any, Any, Any], Any] | None = None
    # Pass the version the user saw (optimistic check) to the model method.
    versioned: bool = True
    # The confirmation shown after success ({title} and {row} are filled in).
    done: str = "{title}：已保存"
    # A button that opens another action of the row with query arguments (no endpoint of its
    # own), e.g. the emergency's 社会求援 button opens the step form on kind=outside_help.
    target: str = ""
    args: dict = field(default_factory=dict)
    url: str = ""
    # The key of the model's `approvals` this step needs when its values call for it (R-REC-2).
    approval: str = ""

    @property
    def endpoint(self) -> str:
        return f"{self.target or self.name}_view"

    def applies_to(self, row, state_field: str) -> bool:
        if self.when is None:
            return True
        if callable(self.when):
            return bool(self.when(row))
        return getattr(row, state_field) in self.when

    def allows(self, row, user) -> bool:
        return self.allowed is None or bool(self.allowed(row, user))

    def label_for(self, row) -> str:
        return self.label(row) if callable(self.label) else self.label

    def title_for(self, row, form) -> str:
        if callable(self.title):
            return self.title(row, form)
        return self.title or self.label_for(row)

    def form_class(self, row):
        if self.form is None or isinstance(self.form, type):
            return self.form
        return self.form(row)


def take_step(action: RowAction, row, user, values: dict):
    """Call the action's model method (or callable) on the row."""
    if callable(action.call):
        return action.call(row, user, **values)
    return getattr(row, action.call)(user, **values)


def _action_endpoint(action: RowAction):
    def view(self):
        return self.run_action(action)

    view.__name__ = action.endpoint
    view.__doc__ = office_text(action.label) if not callable(action.label) else action.name
    methods = ("GET", "POST") if action.form is not None else ("POST",)
    return expose(f"/{action.url or action.name}/", methods=methods)(view)


class RegisterView(ApprovalStepsMixin, AttachmentsMixin, SecureModelView):
    """A register's grid with its declared row actions, attachments (`attachment_kinds`,
    views/attachments.py), printing and staff pick-lists."""

    details_template = "admin/register_details.html"
    # One of the manual's registers: a clerk who keeps it may export it (#12 item 5).
    office_register = True
    # Bookkeeping the details page leaves out (a voided row says so in its own banner).
    column_details_exclude_list = ("id", "version", "updated_at", "voided", "void_reason",
                                   "voided_at", "voided_by")
    # The row's state column, which `RowAction.when` tuples are matched against.
    state_field = "state"
    row_actions: tuple[RowAction, ...] = ()
    # A template shown under the record's fields (its steps, units, items…).
    details_extra = ""
    # The printed document of a row ("" for none) and the print button's label.
    print_template = ""
    print_label = L_("打印")
    # Staff pick-lists: field name → roles offered (only people of the user's estates).
    user_fields: dict[str, frozenset[str]] = {}
    # The register's named questions (overdue, pending…), one drop-down filter on the grid:
    # {key: (label, query)} where query is a callable(now) → rows, or the name of such a
    # classmethod of the view's model.
    queues: dict[str, tuple[str, Callable | str]] = {}
    queue_label = L_("工作队列")
    # Apply a queue as its own condition rather than as `id IN (its rows)` (QueryFilter): only
    # where each queue has an index in the grid's order, else a short queue walks the register.
    queues_as_condition = False
    # A new row's form starts with these when empty: field name → callable giving the value
    # (the moment of an incident, of a visit…: "now" unless the clerk says otherwise).
    create_defaults: dict[str, Callable[[], Any]] = {}
    # Rows dispatched to departments: department staff see only their own department's
    # (R-REC-4; views.scoping.scope_to_department).
    department_scoped = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # Each declared action becomes an endpoint and a permission (before Flask-Admin's
        # metaclass collects the exposed methods).
        own = {}
        for action in cls.__dict__.get("row_actions", ()):
            if action.target or action.endpoint in cls.__dict__:
                continue
            setattr(cls, action.endpoint, _action_endpoint(action))
        for action in cls.row_actions:
            if not action.target:
                own[action.endpoint] = action.permission
        if cls.print_template:
            own["print_view"] = "print" if "print" in cls.permissions else "list"
        cls.endpoint_actions = {**own, **cls.__dict__.get("endpoint_actions", {})}

    def scoped_query(self):
        query = super().scoped_query()
        if self.department_scoped:
            query = scope_to_department(query, self.model)
        return query

    # -- the mechanism ---------------------------------------------------------------------

    def row_buttons(self, row) -> list[dict]:
        """The actions this user may take on this row now (the details page renders them)."""
        result = []
        for action in self.row_actions:
            # A button with a target opens that action: its permission, its form (or POST).
            opens = action
            if action.target:
                opens = next(a for a in self.row_actions if a.name == action.target)
            if getattr(row, "voided", False) or not self.allowed(opens.permission) \
                    or not opens.allows(row, current()) \
                    or not action.applies_to(row, self.state_field):
                continue
            result.append({"label": action.label_for(row), "css": action.css,
                           "url": self.get_url(f".{action.endpoint}", id=row.id, **action.args),
                           "post": opens.form is None})
        if self.print_template and self.printable(row):
            result.append({"label": self.print_label, "css": "btn-light", "target": "_blank",
                           "url": self.get_url(".print_view", id=row.id)})
        return result

    def run_action(self, action: RowAction):
        """GET: the action's form; POST: validate, call the model method, back to the row."""
        row = self.row_or_404()
        if not action.allows(row, current()):
            abort(403)
        form_class = self.action_form_class(action, row)
        form = form_class(request.form, meta=FORM_META) if form_class is not None else None
        if action.prepare is not None:
            response = action.prepare(self, row, form)
            if response is not None:
                return response
        title = action.title_for(row, form)
        back = self.get_url(".details_view", id=row.id)
        seen = request.form.get("row_version", row.version)  # the version the form is built on
        if request.method == "POST" and (form is None or form.validate()):
            values = {}
            if form is not None:
                values = action.values(form) if action.values else dict(form.data)
            for name in DESK_FIELDS:
                values.pop(name, None)
            if action.versioned:
                values["expected_version"] = self.seen_version(row)
            try:
                if action.approval and approvals.needs_approval(row, action.approval, values):
                    done, result = self.run_with_approval(action, row, form, values)
                    if not done:
                        flash(gettext(result).format(title=title,
                                            approver=approvals.rule_label(
                                                approvals.spec_of(row, action.approval)
                                                .rule(row))), "info")
                        return redirect(back)
                else:
                    result = take_step(action, row, current(), values)
            except StaleRecordError:
                newer = newer_version(self, row, gettext(
                    "未办理：这条记录已被其他人修改，您填写的内容仍保留在表单中。请打开最新版本"
                    "核对；核对后再次提交，将按记录的最新状态办理。") if form is not None else
                    gettext("未办理：这条记录已被其他人修改。请打开最新版本核对后再办理。"))
                if form is None or newer is None:
                    return redirect(back)
                seen = newer.version
            except RuleError as error:
                if form is None:
                    flash("；".join(error.errors.values()), "error")
                    return redirect(back)
                self.attach_errors(form, error)
            else:
                flash(action.done.format(title=title, row=row, result=result), "success")
                return redirect(back)
        elif request.method == "POST":  # one round of errors (#12 item 3)
            self.attach_errors(form, RuleError(self.rule_errors(action, row, form)),
                               keep_first=True)
        return self.render("admin/action_form.html", form=form, title=title, row=row,
                           cancel_url=back, row_version=seen)

    def rule_errors(self, action: RowAction, row, form) -> dict[str, str]:
        """The step's rules on what passed a refused form's checks (refused_form_rules): tried
        on a fresh copy of the row, as approved if it needs approval (no secret is checked)."""
        values = {k: v for k, v in passed_values(form, action.values).items()
                  if k not in DESK_FIELDS}
        user = current()

        def rehearse():
            fresh = type(row).get_by_id(row.id)
            if action.approval and approvals.needs_approval(fresh, action.approval, values):
                approvals.trial(fresh, action.approval,
                                approvals.requester_of(fresh, action.approval, user), values)
            else:
                take_step(action, fresh, user, values)

        return refused_form_rules(rehearse)

    def row_or_404(self):
        row = self.get_one(request.args.get("id"))
        if row is None:
            abort(404)
        return row

    @staticmethod
    def seen_version(row) -> int:
        """The version the user's form was built on (the optimistic check)."""
        try:
            return int(request.form.get("row_version", row.version))
        except ValueError:
            return row.version

    def get_filters(self):
        filters = super().get_filters()
        if self.queues:
            queries = {key: (label, getattr(self.model, query) if isinstance(query, str) else query)
                       for key, (label, query) in self.queues.items()}
            filters = [QueryFilter(self.model, self.queue_label, queries,
                                   as_condition=self.queues_as_condition), *filters]
        return filters

    # -- printing --------------------------------------------------------------------------

    def printable(self, row) -> bool:
        """Whether the row's document exists yet (a permit once issued, a receipt once paid)."""
        return True

    def print_args(self, row) -> dict:
        return {}

    @expose("/print/")
    def print_view(self):
        """Print the document with its number, the estate's name and a stamp box."""
        row = self.row_or_404()
        if not self.print_template or not self.printable(row):
            abort(404)
        return self.render(self.print_template, row=row, now=to_office(utcnow()),
                           **self.print_args(row))

    # -- forms and exports -----------------------------------------------------------------

    def _scope_form(self, form):
        form = super()._scope_form(form)
        if self.user_fields:
            linked = UserEstate.select(UserEstate.user).where(
                UserEstate.estate.in_(current().estate_ids()))
            for name, roles in self.user_fields.items():
                if name in form and hasattr(form[name], "query"):
                    form[name].query = (User.select()
                                        .where(User.active == True,  # noqa: E712
                                               User.role.in_(sorted(roles)), User.id.in_(linked))
                                        .order_by(User.display_name))
        return form

    def create_form(self, obj=None):
        form = super().create_form(obj)
        if request.method == "GET":
            for name, default in self.create_defaults.items():
                if name in form and not form[name].data:
                    form[name].data = default()
        return form


def add_views(admin, category: str, *views) -> None:
    """Add a register's grids to the menu in order: (view class, model, name, endpoint) each."""
    for view_class, model, name, endpoint in views:
        admin.add_view(view_class(model, name=name, category=category, endpoint=endpoint))
