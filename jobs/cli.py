"""`flask --app app jobs list | run-once ID | unlock ID | run`."""

from __future__ import annotations

import logging
import signal

import click
from flask import current_app
from flask.cli import AppGroup

from jobs import lease
from jobs.models import JobLease, JobRun
from jobs.registry import JOBS, get_job
from jobs.runner import Job, own_connection, run_job
from jobs.scheduler import build_scheduler, describe_schedule, queue_catch_ups
from models.base import utcnow
from ops.health import HEARTBEAT_SECONDS, record_heartbeat
from views.forms import format_datetime

jobs_cli = AppGroup("jobs", help="Scheduled jobs: list, run once, unlock, run the scheduler.")


def _job(job_id: str) -> Job:
    job = get_job(job_id)
    if job is None:
        raise click.ClickException(
            f"没有编号为 {job_id} 的任务；可用：{', '.join(j.id for j in JOBS)}")
    return job


def _last_run_text(job_id: str) -> str:
    run = (JobRun.select().where(JobRun.job == job_id)
           .order_by(JobRun.started_at.desc(), JobRun.id.desc()).first())
    if run is None:
        return "从未运行"
    text = f"{format_datetime(run.started_at)} {run.status_label}"
    if run.flagged or run.cleared:
        text += f"（新标记 {run.flagged}，解除 {run.cleared}）"
    return text + (f" {run.error}" if run.error else "")


@jobs_cli.command("list")
def list_command():
    """List the jobs with their schedules and last runs."""
    with own_connection():
        for job in JOBS:
            held = JobLease.select().where(JobLease.job == job.id,
                                           JobLease.state == "held").exists()
            click.echo(f"{job.id:<14} {job.label}  [{describe_schedule(job, current_app.config)}]")
            click.echo(f"{'':<14} 上次运行：{_last_run_text(job.id)}"
                       + ("  ※ 正在运行（持有租约）" if held else ""))


@jobs_cli.command("run-once")
@click.argument("job_id")
def run_once_command(job_id):
    """Run one job now and record it as a manual run."""
    job = _job(job_id)
    run = run_job(job, trigger="manual")
    if run is None:
        raise click.ClickException(
            f"任务 {job.id} 正在运行（租约未释放）。若确认运行进程已退出，"
            f"可执行 jobs unlock {job.id} 后重试。")
    click.echo(f"{job.label}：{run.status_label}；新标记 {run.flagged}，解除 {run.cleared}"
               + (f"；{run.note}" if run.note else ""))
    if run.status == "failed":
        raise click.ClickException(run.error or "运行失败")


@jobs_cli.command("unlock")
@click.argument("job_id")
def unlock_command(job_id):
    """Release a job's lease left by a run that was killed (its run is marked interrupted)."""
    job = _job(job_id)
    with own_connection():
        count = lease.unlock(job.id, utcnow())
    click.echo(f"已解锁 {job.id}：释放 {count} 个租约。" if count else f"{job.id} 没有被锁定。")


def beat(app) -> None:
    """Record this scheduler's heartbeat; a failure is logged, never fatal to the scheduler."""
    try:
        with app.app_context():
            record_heartbeat()
    except Exception:  # the database may be briefly away; /healthz will say so
        logging.getLogger("jobs").exception("调度器心跳写入失败")


@jobs_cli.command("run")
def run_command():
    """Start the scheduler in this process (one per installation; web workers never start one)."""
    app = current_app._get_current_object()
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    try:
        scheduler = build_scheduler(app)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    # The heartbeat /healthz reads: now, then every minute (not a JOBS row: no run history).
    scheduler.add_job(beat, "interval", args=(app,), seconds=HEARTBEAT_SECONDS, id="heartbeat",
                      name="调度器心跳", next_run_time=utcnow(), replace_existing=True,
                      coalesce=True, max_instances=1, misfire_grace_time=HEARTBEAT_SECONDS)
    for job, slot_time in queue_catch_ups(scheduler, app):
        click.echo(f"补跑 {job.id}：错过的时段 {format_datetime(slot_time)}")
    for job in JOBS:
        click.echo(f"{job.id:<14} {job.label}  [{describe_schedule(job, app.config)}]")

    def _stop(_signum, _frame):
        # `make run` stops us with SIGTERM: leave through the same path as Ctrl-C.
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _stop)
    click.echo("调度器已启动（Ctrl-C 停止）。")
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        if scheduler.running:
            # Let a running job finish and release its lease rather than leave it to expire.
            scheduler.shutdown(wait=True)
        click.echo("调度器已停止。")
