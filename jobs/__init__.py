"""Scheduled jobs: the JOBS table, the overdue sweep, the digest, the scheduler and its runs page.

`init_app` only registers the `jobs` commands and the runs page: a web worker never starts a
scheduler (that is `flask --app app jobs run`, one process per installation).

A register's overdue rule is one line in `overdue.RULES`; its grid then gets the 超时 filter
and badge. The runs page (定时任务, `views`) stays here by rule: register grids live in views/,
a subsystem's own pages live with the subsystem and are added by its `init_app`.
"""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register the `jobs` commands and the 定时任务 page in the app's admin."""
    # Imported here so `import jobs.flags` from a view does not pull in the whole scheduler.
    from jobs.cli import jobs_cli
    from jobs.models import JobRun
    from jobs.views import JobRunAdmin

    app.cli.add_command(jobs_cli)
    admin = app.extensions["admin"][0]
    mark_overdue_in_grids(admin)
    admin.add_view(JobRunAdmin(JobRun, name="定时任务", category="系统", endpoint="jobs"))


def mark_overdue_in_grids(admin) -> None:
    """Every grid of a register with overdue rules gets the 超时 filter and a red badge."""
    from jobs.overdue import RULES
    from jobs.views import OverdueFilter, overdue_badge

    flagged_models = {rule.model for rule in RULES}
    for view in admin._views:
        model = getattr(view, "model", None)
        if model in flagged_models and hasattr(view, "mark_rows"):
            view.mark_rows(OverdueFilter(model), overdue_badge(model))
