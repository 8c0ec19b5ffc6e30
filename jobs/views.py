"""The runs page (定时任务) and the pieces the register grids use to show what is overdue.

For the grids (see the lead's views): `OverdueFilter(Demand)` in `column_filters` adds an
L_("超时") filter; `overdue_formatter(Demand)` in `column_formatters` marks flagged rows with a red
L_("超时") badge naming the rules.
"""

from __future__ import annotations

from flask import abort, current_app, flash, g, redirect, request
from flask_admin import expose
from flask_admin.contrib.peewee.filters import BasePeeweeFilter, FilterEqual
from flask_babel import gettext
from flask_login import current_user
from markupsafe import Markup
from peewee import Model, Value, fn

from jobs.flags import active_flags, flag_rules, link_join, order_column, overdue_subquery
from jobs.models import JobLease, JobRun, OverdueFlag
from jobs.overdue import RULE_LABELS, RULES
from jobs.registry import JOBS, get_job
from jobs.runner import run_job
from jobs.scheduler import describe_schedule
from models.base import utcnow
from models.i18n import L_, office_language, office_str, office_text
from models.outbox import monthly_sms_counts
from models.register import audit
from models.users import MANAGERS
from ops.backup import ATTACHMENTS_NOTE, backup_dir, human_age, human_size, list_backups
from views.base import SecureModelView
from views.grid import capped_count

NOBODY: frozenset[str] = frozenset()


class OverdueFilter(BasePeeweeFilter):
    """超时: rows with an active flag of any rule (or of one rule), or rows without one."""

    def __init__(self, model: type[Model], name: str = L_("超时")):
        self.model = model
        options = [("any", L_("已超时（任一规则）")), ("none", L_("未超时"))]
        options += [(rule.id, rule.label) for rule in RULES if rule.model is model]
        super().__init__(model.id, name, options=options)

    def apply(self, query, value):
        if value == "none":
            return query.where(self.column.not_in(overdue_subquery(self.model)))
        rule = None if value == "any" else value
        order = order_column(self.model)
        if rule is not None and order is not None:
            # One rule (a 超时 link): its active flags in the grid's order (row_order, migration
            # 028), each joined to its row, so the page stops after its rows wherever they lie
            # in the register. `id IN (every flagged id)` collected and sorted all of them, and
            # asking each row of the grid's order for its flag walked as far as the flags were
            # old or sparse (demand_callback, demand_invalid_notice, the work-order rules: #14).
            # The grid takes this order as its default (orders_rows); a sort the user
            # chooses replaces it. An alias of its own: the filter may be given twice.
            flag = OverdueFlag.alias()
            return (query.join_from(self.model, flag, on=link_join(self.model, rule, flag))
                    .order_by(flag.row_order.desc(), flag.row_id.desc()))
        flagged = overdue_subquery(self.model, rule)
        if (self.model._meta.table_name not in ORDER_FROM_INDEX
                or capped_count(flagged, DENSE_FLAGS) < DENSE_FLAGS):
            return query.where(self.column.in_(flagged))
        # Any rule, many flags: `id IN (every flagged id)` collected and sorted them all before
        # the page (39,340 owed replies at 1M: 231 ms, #14). Asked row by row instead, the grid
        # walks its own order and stops after the page; with this many flags it soon finds them.
        return query.where(fn.EXISTS(
            active_flags(self.model, rule).select(Value(1))
            .where(OverdueFlag.row_id == self.model.id)))

    def orders_rows(self, value) -> bool:
        """Whether apply(value) puts the rows in the grid's order itself (views.grid)."""
        return value not in ("any", "none") and order_column(self.model) is not None

    def operation(self):
        return gettext("为")


# From this many active flags the 超时 filter's "any rule" asks each row of the grid's order
# whether it is flagged (one capped count of the flags decides, whatever their number): fewer
# are listed. Only where the grid's default order is read from an index (migration 024's list
# orders), so that the walk stops after the page. One rule is read in the grid's order from
# its flags (ROW_ORDER's registers) whatever their number.
DENSE_FLAGS = 2000
ORDER_FROM_INDEX = frozenset({"demand", "temporary_pass"})
PAGE_IDS_MAX = 1000  # a grid page is 50 rows; more is an export


def overdue_badge(model: type[Model]):
    """A function row -> red L_("超时") badge naming the rules, or None when the row is not flagged"
                                     "."""

    def badge(row):
        # One query per page and register, not one per row, and only for the page's ids
        # (flag_rules with no ids loads every active flag: #14 item 2, FINDINGS). A row outside
        # the listed page (a details view) is looked up on its own.
        # An export's rows (thousands) are too many for one IN list: it loads all flags once.
        asked, known = g.setdefault("overdue_flag_rules", {}).setdefault(model, (set(), {}))
        if row.id not in asked and "all" not in asked:
            ids = set(g.get("page_row_ids", {}).get(model) or ()) | {row.id}
            if len(ids) > PAGE_IDS_MAX:
                known.update(flag_rules(model))
                asked.add("all")
            else:
                known.update(flag_rules(model, ids))
                asked.update(ids)
        rules = known.get(row.id)
        if not rules:
            return None
        title = "、".join(str(RULE_LABELS.get(rule, rule)) for rule in rules)
        return Markup(gettext('<span class="badge badge-danger" title="{}">超时</span>')
                      ).format(title)

    return badge


def backup_rows(now=None) -> dict:
    """The backup folder's files, newest first, with sizes and ages (issue #13)."""
    folder = backup_dir(current_app)
    now = now or utcnow()
    return {"folder": folder, "note": gettext(ATTACHMENTS_NOTE),
            "files": [{"name": b.name, "taken_at": b.taken_at, "size": human_size(b.size),
                       "age": human_age(b.age(now))} for b in list_backups(folder)]}


class JobRunAdmin(SecureModelView):
    """定时任务: the runs of every job, newest first, and a "run now" button per job."""

    permissions = {
        "list": MANAGERS,
        "create": NOBODY,
        "edit": NOBODY,
        "void": NOBODY,
        "export": NOBODY,
        "reveal": NOBODY,
    }
    can_view_details = False
    column_display_actions = False  # runs are history: nothing to edit, void or open
    list_template = "jobs/runs.html"
    column_list = ("job", "trigger", "slot_time", "started_at", "finished_at", "status",
                   "flagged", "cleared", "note", "error")
    column_default_sort = ("started_at", True)
    column_formatters = {"job": lambda v, c, run, n: getattr(get_job(run.job), "label", run.job)}
    page_size = 50

    column_filters = [
        FilterEqual(JobRun.job, L_("任务"), options=[(job.id, job.label) for job in JOBS]),
        FilterEqual(JobRun.status, L_("状态"), options=JobRun.status.choices),
        FilterEqual(JobRun.trigger, L_("触发"), options=JobRun.trigger.choices),
    ]

    def job_rows(self) -> list[dict]:
        running = {job for (job,) in JobLease.select(JobLease.job)
                   .where(JobLease.state == "held").tuples()}
        rows = []
        for job in JOBS:
            last = (JobRun.select().where(JobRun.job == job.id)
                    .order_by(JobRun.started_at.desc(), JobRun.id.desc()).first())
            rows.append({"job": job, "schedule": describe_schedule(job, current_app.config),
                         "last": last, "running": job.id in running})
        return rows

    def render(self, template, **kwargs):
        if template == self.list_template:
            kwargs["job_rows"] = self.job_rows()
            # The month's SMS per estate (issue #17): what the office pays the provider for.
            kwargs["sms_counts"] = monthly_sms_counts(
                estate_ids=current_user._get_current_object().estate_ids())
            kwargs["backups"] = backup_rows()
        return super().render(template, **kwargs)

    @expose("/run/", methods=("POST",))
    def run_view(self):
        """Run a job now; recorded like a scheduled run, refused while it is running."""
        job = get_job(request.form.get("job", ""))
        if job is None:
            abort(404)
        with office_language():  # the run's notes and errors are kept: in the office's language
            run = run_job(job, trigger="manual")
        user = current_user._get_current_object()
        if run is None:
            flash(gettext("“%(label)s”正在运行，请稍后再试。", label=job.label), "warning")
            return redirect(self.get_url(".index_view"))
        audit(user, "run_job", table="job_run", row_id=run.id,
              summary=f"手动运行任务：{office_text(job.label)}（{office_str(run.status_label)}）")
        message = gettext("“%(label)s”运行%(status)s：新标记 %(flagged)s，解除 %(cleared)s",
                          label=job.label, status=run.status_label, flagged=run.flagged,
                          cleared=run.cleared)
        if run.note:
            message += f"；{run.note}"
        if run.error:
            message += f"；{run.error}"
        flash(message, "error" if run.status == "failed" else "success")
        return redirect(self.get_url(".index_view"))
