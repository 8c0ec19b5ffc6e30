"""The nightly backup job: one online backup, then retention (ops/backup.py does the work)."""

from __future__ import annotations

import datetime as dt

from flask import current_app
from flask_babel import gettext

from jobs.models import JobRun
from jobs.runner import JobError, Outcome
from ops.backup import (
    BackupError,
    backup_dir,
    human_age,
    human_size,
    list_backups,
    make_backup,
    prune,
)
from views.forms import format_datetime


def nightly_backup(now: dt.datetime) -> Outcome:
    """Back the database up into the backup folder and prune by the retention settings."""
    app = current_app._get_current_object()
    try:
        backup = make_backup(app, now)
    except BackupError as exc:
        raise JobError(str(exc)) from None
    removed = prune(app)
    note = f"备份 {backup.name}（{human_size(backup.size)}）"
    if removed:
        note += f"；按保留规则删除 {len(removed)} 个旧备份"
    return Outcome(note=note)


def backup_warning(now: dt.datetime) -> str | None:
    """The front desk's warning when the nightly backup failed or none is recent enough."""
    app = current_app._get_current_object()
    max_age = dt.timedelta(hours=float(app.config.get("BACKUP_MAX_AGE_HOURS", 26)))
    newest = next(iter(list_backups(backup_dir(app))), None)
    last_run = (JobRun.select().where(JobRun.job == "nightly_backup",
                                      JobRun.status.not_in(("running", "skipped")))
                .order_by(JobRun.started_at.desc(), JobRun.id.desc()).first())
    if last_run is not None and last_run.status == "failed" and (
            newest is None or newest.taken_at < last_run.started_at):
        return gettext("最近一次夜间数据库备份失败（%(time)s）：%(error)s。请通知系统管理员。",
                       time=format_datetime(last_run.started_at),
                       error=last_run.error or gettext("原因见服务器日志"))
    if newest is None:
        return gettext("还没有任何数据库备份。请通知系统管理员检查夜间备份任务。")
    if newest.age(now) > max_age:
        return gettext("最近的数据库备份已是 %(age)s前（%(name)s），夜间备份可能没有运行。"
                       "请通知系统管理员。", age=human_age(newest.age(now)), name=newest.name)
    return None
