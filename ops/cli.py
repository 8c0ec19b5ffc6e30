"""`flask --app app db backup | backups | restore FILE` (added to the `db` command group)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

import models
from models import db_cli
from ops.backup import (
    ATTACHMENTS_NOTE,
    BackupError,
    backup_dir,
    human_age,
    human_size,
    list_backups,
    make_backup,
    restore,
)


@db_cli.command("backup")
@with_appcontext
def backup_command():
    """Write a consistent online backup of the database into the backup folder."""
    app = current_app._get_current_object()
    try:
        backup = make_backup(app)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"已备份：{backup.path}（{human_size(backup.size)}）")
    click.echo(ATTACHMENTS_NOTE)


@db_cli.command("backups")
@with_appcontext
def backups_command():
    """List the backups in the backup folder, newest first, with sizes and ages."""
    folder = backup_dir(current_app)
    backups = list_backups(folder)
    click.echo(f"备份目录：{folder}" + ("" if backups else "（没有备份）"))
    for backup in backups:
        click.echo(f"{backup.name}\t{human_size(backup.size)}\t{human_age(backup.age())}前")


@db_cli.command("restore")
@click.argument("backup_file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def restore_command(backup_file, yes):
    """Restore a backup into this stopped instance (the current database is kept aside)."""
    if not yes:
        click.confirm(f"用 {backup_file.name} 替换当前数据库？网页服务和调度器必须已停止",
                      abort=True)
    app = current_app._get_current_object()
    try:
        aside = restore(app, backup_file)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"已恢复 {backup_file.name}；原数据库已保存为 {aside}")
    applied = models.upgrade()
    if applied:
        click.echo("备份的结构较旧，已升级：" + ", ".join(applied))
    click.echo("现在可以启动网页服务和调度器。")
