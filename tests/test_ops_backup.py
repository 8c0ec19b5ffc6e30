"""Backups that restore (issue #13 item 3): online backup under writes, checked restore,
refusals, retention, the nightly job, the jobs page and the front-desk warning."""

from __future__ import annotations

import datetime as dt
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest
from conftest import PG_URL

import models
from jobs.models import SchedulerHeartbeat
from jobs.registry import get_job
from jobs.runner import run_job
from models.base import db, utcnow
from models.estate import Branch
from ops.backup import (
    BackupError,
    BackupFile,
    backup_dir,
    kept_backups,
    list_backups,
    make_backup,
    restore,
)
from ops.health import heartbeat_holder

pg_tools = pytest.mark.skipif(bool(PG_URL) and shutil.which("pg_restore") is None,
                              reason="pg_dump/pg_restore not installed")


def _branch_names() -> set[str]:
    return {name for (name,) in Branch.select(Branch.name).tuples()}


@pg_tools
def test_backup_during_writes_restores_every_committed_row(app, conn):
    """A backup taken while a clerk keeps saving holds a consistent prefix of the writes."""
    committed: list[str] = []
    stop = threading.Event()

    def clerk():
        with db.connection_context():
            n = 0
            while not stop.is_set() or n < 40:
                n += 1
                Branch.create(name=f"并发-{n:05d}")
                committed.append(f"并发-{n:05d}")

    writer = threading.Thread(target=clerk)
    writer.start()
    while len(committed) < 20:
        threading.Event().wait(0.01)
    with app.app_context():
        before_backup = list(committed)
        backup = make_backup(app)
    stop.set()
    writer.join(30)
    assert not writer.is_alive()
    assert backup.size > 0 and backup.path.parent == Path(app.instance_path) / "backups"
    written_after = len(committed)

    with app.app_context():
        restore(app, backup.path)
    db.connect(reuse_if_open=True)
    restored = sorted(n for n in _branch_names() if n.startswith("并发-"))
    # Every row committed before the backup began is there, and what is there is a prefix
    # of the writer's sequence: one point in time, no torn or missing rows in between.
    assert set(before_backup) <= set(restored)
    assert restored == committed[:len(restored)]
    assert len(restored) <= written_after


@pg_tools
def test_restore_keeps_the_current_database_aside(app, conn):
    Branch.create(name="备份前")
    with app.app_context():
        backup = make_backup(app)
    Branch.create(name="备份后")
    with app.app_context():
        aside = restore(app, backup.path)
    db.connect(reuse_if_open=True)
    assert "备份前" in _branch_names() and "备份后" not in _branch_names()
    assert aside.exists() and aside.name.startswith("before-restore-")
    # The copy kept aside is itself a restorable backup holding the later row.
    with app.app_context():
        restore(app, aside)
    db.connect(reuse_if_open=True)
    assert {"备份前", "备份后"} <= _branch_names()


@pg_tools
def test_a_corrupt_or_truncated_file_is_refused_and_nothing_changes(app, conn, tmp_path):
    Branch.create(name="现有数据")
    with app.app_context():
        backup = make_backup(app)
    garbage = tmp_path / backup.path.name.replace("desk-", "garbage-")
    garbage.write_bytes(b"not a backup at all" * 100)
    truncated = tmp_path / backup.path.name.replace("desk-", "truncated-")
    truncated.write_bytes(backup.path.read_bytes()[: backup.size // 2])
    for bad in (garbage, truncated):
        with app.app_context(), pytest.raises(BackupError, match="备份文件"):
            restore(app, bad)
    db.connect(reuse_if_open=True)
    assert "现有数据" in _branch_names()
    assert not any(p.name.startswith("before-restore-") for p in backup_dir(app).iterdir())


@pg_tools
def test_a_backup_from_newer_code_is_refused(app, conn):
    db.execute_sql("INSERT INTO migratehistory (name, migrated_at) VALUES (%s, %s)"
                   if PG_URL else "INSERT INTO migratehistory (name, migrated_at) VALUES (?, ?)",
                   ("099_from_the_future", dt.datetime(2027, 1, 1)))
    with app.app_context():
        backup = make_backup(app)
    db.execute_sql("DELETE FROM migratehistory WHERE name = '099_from_the_future'")
    with app.app_context(), pytest.raises(BackupError, match="099_from_the_future"):
        restore(app, backup.path)


@pytest.mark.skipif(bool(PG_URL), reason="SQLite file surgery")
def test_a_damaged_page_fails_the_integrity_check(app, conn):
    for n in range(300):
        Branch.create(name=f"分公司{n:04d}" * 4)
    with app.app_context():
        backup = make_backup(app)
    check = sqlite3.connect(backup.path)
    page = check.execute("PRAGMA page_size").fetchone()[0]
    root = check.execute("SELECT rootpage FROM sqlite_master WHERE name = 'branch'").fetchone()[0]
    check.close()
    data = bytearray(backup.path.read_bytes())
    start = (root - 1) * page
    data[start:start + page] = b"\xff" * page  # scribble over the table's root page
    backup.path.write_bytes(bytes(data))
    with app.app_context(), pytest.raises(BackupError, match="损坏|不是完好"):
        restore(app, backup.path)


def test_restore_is_refused_while_the_scheduler_beats(app, conn):
    with app.app_context():
        backup = make_backup(app)
    SchedulerHeartbeat.create(holder=heartbeat_holder(), beat_at=utcnow())
    with app.app_context(), pytest.raises(BackupError, match="调度器仍在运行"):
        restore(app, backup.path)


def test_retention_keeps_daily_weekly_monthly(tmp_path):
    start = dt.datetime(2026, 1, 1, 2, 30, tzinfo=dt.UTC)
    # One backup a night for 120 nights, plus a second one on the last night.
    backups = [BackupFile(tmp_path / f"b{n}", start + dt.timedelta(days=n), 1)
               for n in range(120)]
    backups.append(BackupFile(tmp_path / "extra", start + dt.timedelta(days=119, hours=1), 1))
    backups.sort(key=lambda b: b.taken_at, reverse=True)
    kept = kept_backups(backups, daily=7, weekly=4, monthly=3)
    kept_times = sorted(b.taken_at for b in backups if b.path in kept)
    days = {t.date() for t in kept_times}
    last = backups[0].taken_at.date()
    # The newest of the last 7 days (only the later one of the doubled night) …
    assert {last - dt.timedelta(days=d) for d in range(7)} <= days
    assert tmp_path / "extra" in kept and tmp_path / "b119" not in kept
    # … one per ISO week for 4 weeks, one per month for 3 months; nothing else.
    weeks = {t.isocalendar()[:2] for t in kept_times}
    months = {(t.year, t.month) for t in kept_times}
    assert len(weeks) >= 4 and months == {(2026, 2), (2026, 3), (2026, 4)}
    assert len(kept) <= 7 + 4 + 3
    assert kept_backups([], 7, 4, 12) == set()
    assert kept_backups(backups, 0, 0, 0) == {backups[0].path}  # never delete the newest


def test_nightly_job_backs_up_prunes_and_records_its_run(app, conn):
    app.config.update(BACKUP_KEEP_DAILY=2, BACKUP_KEEP_WEEKLY=0, BACKUP_KEEP_MONTHLY=0)
    folder = backup_dir(app)
    folder.mkdir(parents=True)
    for day in (20, 21, 22):
        (folder / f"desk-202611{day}-023000.sqlite3").write_bytes(b"old")
    (folder / "before-restore-20261101-100000.sqlite3").write_bytes(b"kept aside")
    run = run_job(get_job("nightly_backup"), app=app, trigger="manual")
    assert run.status == "succeeded", run.error
    assert "备份 desk-" in run.note and "删除 2 个旧备份" in run.note
    names = sorted(p.name for p in folder.iterdir())
    assert "desk-20261122-023000.sqlite3" in names  # yesterday's, the second of 2 days
    assert "desk-20261120-023000.sqlite3" not in names
    assert "before-restore-20261101-100000.sqlite3" in names  # never pruned
    assert len(list_backups(folder)) == 2


def test_a_failed_nightly_backup_is_a_failed_run_and_a_front_desk_warning(
        app, conn, login_as, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the backup folder should be")
    app.config["BACKUP_DIR"] = str(blocker)
    run = run_job(get_job("nightly_backup"), app=app, trigger="manual")
    assert run.status == "failed"
    supervisor = login_as("supervisor")
    home = supervisor.get("/admin/").get_data(as_text=True)
    assert 'id="backup-warning"' in home and "夜间数据库备份失败" in home
    clerk = login_as("clerk")
    assert 'id="backup-warning"' not in clerk.get("/admin/").get_data(as_text=True)


def test_the_warning_names_a_missing_or_old_backup_and_goes_when_one_is_fresh(
        app, conn, login_as):
    director = login_as("director")
    assert "还没有任何数据库备份" in director.get("/admin/").get_data(as_text=True)
    folder = backup_dir(app)
    folder.mkdir(parents=True)
    (folder / "desk-20200101-023000.sqlite3").write_bytes(b"x")
    assert "最近的数据库备份已是" in director.get("/admin/").get_data(as_text=True)
    with app.app_context():
        make_backup(app)
    assert 'id="backup-warning"' not in director.get("/admin/").get_data(as_text=True)


def test_the_jobs_page_lists_backups_with_sizes_and_ages(app, conn, login_as):
    with app.app_context():
        backup = make_backup(app)
    page = login_as("admin").get("/admin/jobs/").get_data(as_text=True)
    assert 'id="backup-table"' in page and backup.name in page
    assert "KB" in page or "MB" in page
    assert "0 分钟" in page or "1 分钟" in page


def test_cli_backup_list_and_restore(app, conn):
    Branch.create(name="命令行")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["db", "backup"])
    assert result.exit_code == 0, result.output
    assert "已备份" in result.output
    listed = runner.invoke(args=["db", "backups"])
    name = list_backups(backup_dir(app))[0].name
    assert name in listed.output
    Branch.delete().where(Branch.name == "命令行").execute()
    refused = runner.invoke(args=["db", "restore", str(backup_dir(app) / name)], input="n\n")
    assert refused.exit_code != 0
    done = runner.invoke(args=["db", "restore", "--yes", str(backup_dir(app) / name)])
    assert done.exit_code == 0, done.output
    assert "原数据库已保存为" in done.output
    db.connect(reuse_if_open=True)
    assert "命令行" in _branch_names()
    bad = runner.invoke(args=["db", "restore", "--yes", str(backup_dir(app) / "nope.sqlite3")])
    assert bad.exit_code != 0 and "找不到备份文件" in bad.output


@pytest.mark.skipif(bool(PG_URL), reason="an older SQLite schema file")
def test_restoring_an_older_schema_upgrades_it(app, tmp_path):
    from app import create_app

    url = app.config["DATABASE_URL"]
    old_app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/old.db", "SECRET_KEY": "x"})
    with old_app.app_context():
        models.upgrade("007_office_registers")
    current = create_app({"DATABASE_URL": url, "SECRET_KEY": "x"})
    current.instance_path = app.instance_path
    result = current.test_cli_runner().invoke(
        args=["db", "restore", "--yes", str(tmp_path / "old.db")])
    assert result.exit_code == 0, result.output
    assert "已升级" in result.output and "009_operations" in result.output
