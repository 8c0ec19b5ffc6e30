"""The JOBS table: every scheduled job, by stable id (ids appear in runs, leases and the CLI)."""

from __future__ import annotations

from jobs.backup import nightly_backup
from jobs.digest import daily_digest
from jobs.outbox import send_outbox
from jobs.overdue import mark_overdue
from jobs.review import review_figures
from jobs.runner import Job
from jobs.sheets import sheets_sync
from jobs.statistics import db_statistics
from models.i18n import L_

JOBS: tuple[Job, ...] = (
    # Every 15 minutes; the 01:00 slot is the nightly sweep. For a nightly-only installation:
    # JOBS_SCHEDULE = {"mark_overdue": {"hour": "1", "minute": "0"}}.
    Job("mark_overdue", L_("标记超时事项"), mark_overdue, cron={"minute": "*/15"}, catch_up=True),
    Job("sheets_sync", L_("同步 Google 表格"), sheets_sync, cron={"minute": "*/5"},
        lease_seconds=600),
    # Before the 09:00 day shift takes over (R-SVC-1).
    Job("daily_digest", L_("每日超时摘要"), daily_digest, cron={"hour": "8", "minute": "30"},
        catch_up=True),
    # After the 01:00 sweep, before the 08:30 digest; a missed night is caught up at start.
    # Retention: BACKUP_KEEP_DAILY / _WEEKLY / _MONTHLY (issue #13).
    Job("nightly_backup", L_("夜间数据库备份"), nightly_backup, cron={"hour": "2", "minute": "30"},
        catch_up=True, lease_seconds=3 * 3600),
    # The notification outbox (issue #17): every minute; each message is claimed on its own,
    # so a run that overlaps another never sends one twice.
    Job("send_outbox", L_("发送通知（短信、群机器人、企业微信）"), send_outbox,
        cron={"minute": "*"},
        lease_seconds=600),
    # The monthly review's kept counts (#14): months changed since they were counted are counted
    # again; the review page says when what it shows was counted.
    Job("review_figures", L_("统计月度分析"), review_figures, cron={"minute": "*/10"},
        lease_seconds=1800),
    # The query planner's statistics (#14): SQLite has none until ANALYZE runs, and then plans
    # a grid's page from the estate's index and sorts every row of the user's estates. After the
    # backup; a missed night, or a new installation, is caught up when the scheduler starts.
    Job("db_statistics", L_("更新数据库统计信息"), db_statistics,
        cron={"hour": "3", "minute": "30"}, catch_up=True),
)
JOBS_BY_ID = {job.id: job for job in JOBS}


def get_job(job_id: str) -> Job | None:
    return JOBS_BY_ID.get(job_id)
