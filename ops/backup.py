"""Backups that restore: online backup, checked restore, retention (issue #13).

- SQLite: the backup API (`sqlite3.Connection.backup`) copies a consistent snapshot in one step
  while clerks keep writing (WAL: readers never block writers, the copy sees one point in time).
- PostgreSQL: `pg_dump --format=custom`, itself a consistent snapshot of a live database.

A backup is one file in BACKUP_DIR (default instance/backups) named desk-YYYYMMDD-HHMMSS in
the office's zone; it is written under a temporary name and renamed, so a listing (or the
nightly prune) never sees half a file.

Files (issue #16: attachments; floor plans before schema 020) are kept under names made from
their content and are never changed or deleted, so their backup is an incremental copy: each
backup copies the files not yet in BACKUP_DIR/files/ (`backup_files`), and a restore puts
back any file the live folder lacks (`restore_files`). Retention never prunes them (a kept
database may name any of them). With ATTACHMENT_STORAGE = "s3" the object store keeps (and
backs up) the attachments.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from flask import Flask

from models import MIGRATIONS_DIR
from models.base import close_database, db, is_sqlite, to_office, utcnow
from models.i18n import N_

BACKUP_RE = re.compile(r"^desk-(\d{8}-\d{6})(?:-(\d+))?\.(sqlite3|dump)$")
ASIDE_PREFIX = "before-restore-"
ATTACHMENTS_NOTE = N_("附件文件（照片、扫描件、平面图）随每次备份增量复制到备份目录的 files/ 下；"
                       "使用对象存储（S3）时，附件由对象存储自身备份。")
FILES_DIR = "files"
DEFAULT_KEEP = {"BACKUP_KEEP_DAILY": 7, "BACKUP_KEEP_WEEKLY": 4, "BACKUP_KEEP_MONTHLY": 12}
# A running scheduler beats every minute: a beat this recent means the instance is not stopped.
RUNNING_BEAT_SECONDS = 150


class BackupError(Exception):
    """A backup or restore refused or failed; the message is Chinese and safe to show."""


@dataclass(frozen=True)
class BackupFile:
    path: Path
    taken_at: dt.datetime  # aware, office zone
    size: int

    @property
    def name(self) -> str:
        return self.path.name

    def age(self, now: dt.datetime | None = None) -> dt.timedelta:
        return (now or utcnow()) - self.taken_at


def backup_dir(app: Flask) -> Path:
    return Path(app.config.get("BACKUP_DIR") or Path(app.instance_path) / "backups")


def code_migrations() -> set[str]:
    """The schema steps this version of the code knows (models/migrations/NNN_*.py)."""
    return {name[:-3] for name in os.listdir(MIGRATIONS_DIR)
            if re.match(r"^\d{3}_\w+\.py$", name)}


def human_size(size: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")


def human_age(age: dt.timedelta) -> str:
    minutes = max(0, int(age.total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} 分钟"
    if minutes < 48 * 60:
        return f"{minutes // 60} 小时"
    return f"{minutes // (24 * 60)} 天"


def list_backups(folder: Path) -> list[BackupFile]:
    """The backups in `folder`, newest first (files of other names are ignored)."""
    found = []
    if folder.is_dir():
        for path in folder.iterdir():
            match = BACKUP_RE.match(path.name)
            if match and path.is_file():
                taken = dt.datetime.strptime(match.group(1), "%Y%m%d-%H%M%S")
                found.append(BackupFile(path, to_office(taken), path.stat().st_size))
    return sorted(found, key=lambda b: (b.taken_at, b.name), reverse=True)


def _sqlite_path() -> Path:
    return Path(db.obj.database)


def _database_url(app: Flask) -> str:
    return app.config["DATABASE_URL"]


def _run(command: list[str], failure: str) -> subprocess.CompletedProcess:
    """Run a PostgreSQL client tool; a failure becomes a BackupError with its first error line."""
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=6 * 3600)
    except FileNotFoundError:
        raise BackupError(
            f"{failure}：找不到 {command[0]}（apt-get install postgresql-client）") from None
    if done.returncode != 0:
        detail = next((line for line in done.stderr.splitlines() if line.strip()), "")
        raise BackupError(f"{failure}：{detail[:200]}")
    return done


def _new_name(folder: Path, stamp: str, ext: str, prefix: str = "desk-") -> Path:
    path, n = folder / f"{prefix}{stamp}.{ext}", 1
    while path.exists():
        n += 1
        path = folder / f"{prefix}{stamp}-{n}.{ext}"
    return path


def _copy_sqlite(source: Path, target: Path) -> None:
    """A consistent copy of a live SQLite database (WAL content included) via the backup API."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            # One step (pages=-1): the copy is one snapshot; writers carry on in the WAL.
            src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def make_backup(app: Flask, now: dt.datetime | None = None) -> BackupFile:
    """Write one online backup of the database into the backup folder and return it."""
    folder = backup_dir(app)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = to_office(now or utcnow()).strftime("%Y%m%d-%H%M%S")
    ext = "sqlite3" if is_sqlite() else "dump"
    final = _new_name(folder, stamp, ext)
    partial = folder / f".{final.name}.partial"
    try:
        if is_sqlite():
            _copy_sqlite(_sqlite_path(), partial)
        else:
            _run(["pg_dump", "--format=custom", "--no-owner", f"--file={partial}",
                  f"--dbname={_database_url(app)}"], "pg_dump 备份失败")
        os.replace(partial, final)
    finally:
        partial.unlink(missing_ok=True)
    backup_files(app)
    return next(b for b in list_backups(folder) if b.path == final)


def file_folders(app: Flask) -> dict[str, Path]:
    """The local folders of files the database names, by their name under files/."""
    from models.storage import local_folder

    # Floor plans from before schema 020 (now attachments): kept in the backups, so that a
    # database backed up before that upgrade restores with the files its upgrade copies.
    folders = {"floor_plans": Path(app.instance_path) / "uploads" / "floor_plans"}
    if app.config.get("ATTACHMENT_STORAGE", "local") == "local":
        folders["attachments"] = local_folder(app)
    return folders


def _copy_missing(source: Path, target: Path) -> int:
    """Copy the files of `source` that `target` lacks (names are content hashes)."""
    copied = 0
    if not source.is_dir():
        return 0
    for path in sorted(source.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        dest = target / path.relative_to(source)
        if dest.exists():
            continue
        dest.parent.mkdir(parents=True, exist_ok=True)
        partial = dest.with_name(f".{dest.name}.partial")
        shutil.copy2(path, partial)
        os.replace(partial, dest)
        copied += 1
    return copied


def backup_files(app: Flask) -> int:
    """Copy new attachment and floor-plan files into BACKUP_DIR/files/; return how many."""
    root = backup_dir(app) / FILES_DIR
    return sum(_copy_missing(folder, root / name) for name, folder in file_folders(app).items())


def restore_files(app: Flask) -> int:
    """Put back every backed-up file the live folders lack; return how many."""
    root = backup_dir(app) / FILES_DIR
    return sum(_copy_missing(root / name, folder) for name, folder in file_folders(app).items())


def backup_kind(path: Path) -> str:
    """"sqlite" or "postgresql", by the file's own header (not its name)."""
    if not path.is_file():
        raise BackupError(f"找不到备份文件 {path}")
    with open(path, "rb") as handle:
        head = handle.read(16)
    if head == b"SQLite format 3\x00":
        return "sqlite"
    if head.startswith(b"PGDMP"):  # pg_dump's custom format
        return "postgresql"
    raise BackupError(
        f"{path.name} 不是本系统的备份文件（既不是 SQLite 数据库，也不是 pg_dump 备份）")


def inspect_backup(path: Path) -> set[str]:
    """Check a backup file is whole and readable; return the schema steps it has applied."""
    if backup_kind(path) == "postgresql":
        _run(["pg_restore", "--list", str(path)], "备份文件无法读取（pg_restore --list）")
        done = _run(["pg_restore", "--data-only", "--table=migratehistory", "--file=-",
                     str(path)], "备份文件中读不到迁移记录")
        return _names_from_copy(done.stdout)
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            result = conn.execute("PRAGMA integrity_check").fetchall()
            if result != [("ok",)]:
                raise BackupError("备份文件已损坏（完整性检查未通过）：" + str(result[0][0])[:200])
            return {name for (name,) in conn.execute("SELECT name FROM migratehistory")}
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"备份文件不是完好的 SQLite 数据库：{exc}") from None


def _names_from_copy(script: str) -> set[str]:
    """The `name` column of migratehistory's COPY block in a pg_restore script."""
    names, columns, inside = set(), [], False
    for line in script.splitlines():
        if line.startswith("COPY ") and "migratehistory" in line:
            columns = [c.strip() for c in line[line.index("(") + 1:line.index(")")].split(",")]
            inside = True
        elif inside and line == "\\.":
            inside = False
        elif inside:
            names.add(line.split("\t")[columns.index("name")])
    if not columns:
        raise BackupError("备份文件中没有迁移记录（migratehistory），不是本系统的备份")
    return names


def check_schema(applied: set[str]) -> None:
    """Refuse a backup made by a newer version of the code (it has steps we do not know)."""
    newer = sorted(applied - code_migrations())
    if newer:
        raise BackupError("备份的数据库结构比当前程序新（未知的迁移：" + ", ".join(newer)
                          + "）。请先把程序升级到做备份时的版本，再恢复。")


def check_stopped(now: dt.datetime | None = None) -> None:
    """Refuse while a scheduler is beating against the current database (it is not stopped)."""
    from jobs.models import SchedulerHeartbeat

    now = now or utcnow()
    try:
        with db.connection_context():
            last = (SchedulerHeartbeat.select(SchedulerHeartbeat.beat_at)
                    .order_by(SchedulerHeartbeat.beat_at.desc()).first())
    except Exception:  # an unreadable current database is what a restore is for
        return
    if last and (now - last.beat_at).total_seconds() < RUNNING_BEAT_SECONDS:
        raise BackupError("调度器仍在运行（一分钟内有心跳）。请先停止网页服务和调度器"
                          "（systemctl stop desk-web desk-jobs），再恢复。")


def restore(app: Flask, path: Path, now: dt.datetime | None = None) -> Path:
    """Restore a checked backup into this (stopped) instance; return where the old one was put.

    The caller upgrades the schema afterwards if the backup is older than the code.
    """
    path = Path(path)
    wanted = "sqlite" if is_sqlite() else "postgresql"
    if backup_kind(path) != wanted:
        raise BackupError(f"这个备份是 {backup_kind(path)} 的，当前数据库是 {wanted}，不能恢复")
    check_schema(inspect_backup(path))
    check_stopped(now)
    folder = backup_dir(app)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = to_office(now or utcnow()).strftime("%Y%m%d-%H%M%S")
    close_database(db.obj)  # a pool's idle connections too: they would keep the replaced file
    if is_sqlite():
        aside = _restore_sqlite(path, folder, stamp)
    else:
        aside = _restore_postgres(app, path, folder, stamp)
    restore_files(app)
    return aside


def _restore_sqlite(path: Path, folder: Path, stamp: str) -> Path:
    target = _sqlite_path()
    aside = _new_name(folder, stamp, "sqlite3", ASIDE_PREFIX)
    if target.exists():
        _copy_sqlite(target, aside)
    incoming = target.with_name(f".{target.name}.restoring")
    shutil.copyfile(path, incoming)
    for suffix in ("-wal", "-shm"):
        Path(f"{target}{suffix}").unlink(missing_ok=True)
    os.replace(incoming, target)
    return aside


def _restore_postgres(app: Flask, path: Path, folder: Path, stamp: str) -> Path:
    url = _database_url(app)
    aside = _new_name(folder, stamp, "dump", ASIDE_PREFIX)
    _run(["pg_dump", "--format=custom", "--no-owner", f"--file={aside}", f"--dbname={url}"],
         "保存当前数据库失败，未恢复")
    with db.connection_context():
        db.execute_sql("DROP SCHEMA public CASCADE")
        db.execute_sql("CREATE SCHEMA public")
    _run(["pg_restore", "--no-owner", "--exit-on-error", f"--dbname={url}", str(path)],
         f"恢复失败（原数据库已保存为 {aside.name}）")
    return aside


def kept_backups(backups: list[BackupFile], daily: int, weekly: int,
                 monthly: int) -> set[Path]:
    """The backups retention keeps: the newest of each of the last N days, weeks and months."""
    kept = {backups[0].path} if backups else set()
    periods = (
        (daily, lambda t: t.date()),
        (weekly, lambda t: t.isocalendar()[:2]),
        (monthly, lambda t: (t.year, t.month)),
    )
    for count, period in periods:
        seen = set()
        for backup in backups:  # newest first: the first of each period is its newest
            key = period(backup.taken_at)
            if key in seen:
                continue
            if len(seen) >= count:
                break
            seen.add(key)
            kept.add(backup.path)
    return kept


def prune(app: Flask) -> list[BackupFile]:
    """Delete the backups retention does not keep (never the before-restore copies)."""
    backups = list_backups(backup_dir(app))
    counts = [int(app.config.get(name, default)) for name, default in DEFAULT_KEEP.items()]
    kept = kept_backups(backups, *counts)
    removed = [b for b in backups if b.path not in kept]
    for backup in removed:
        backup.path.unlink(missing_ok=True)
    return removed
