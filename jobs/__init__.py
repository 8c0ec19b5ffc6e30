"""Scheduled jobs: the JOBS table, the overdue sweep, the digest, the scheduler and its runs page.

`init_app` only registers the `jobs` commands and the runs page: a web worker never starts a
scheduler (that is `flask --app app jobs run`, one process per installation).
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
    admin.add_view(JobRunAdmin(JobRun, name="定时任务", category="系统", endpoint="jobs"))
