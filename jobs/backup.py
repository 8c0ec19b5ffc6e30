"""The nightly backup job: one online backup, then retention (ops/backup.py does the work)."""

from __future__ import annotations

import datetime as dt

from flask import current_app

from jobs.runner import JobError, Outcome
from ops.backup import BackupError, human_size, make_backup, prune


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
