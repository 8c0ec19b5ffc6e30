"""Operator commands: `flask --app app users …` and `flask --app app demo …` (no SQL needed)."""

from __future__ import annotations

import sys

import click
from flask_babel import gettext

from models.base import RuleError, db
from models.estate import Estate
from models.register import audit, save_record
from models.users import ROLE_LABELS, User, UserEstate, check_user_estates


def _read_password(from_stdin: bool) -> str:
    if from_stdin or not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    return click.prompt("密码", hide_input=True, confirmation_prompt="再次输入密码")


def create_user(username: str, *, role: str, password: str, display_name: str = "",
                estate_codes: tuple[str, ...] = (), department: str | None = None) -> User:
    """Create a staff account linked to the given estates; raise RuleError on bad input."""
    estates = []
    for code in estate_codes:
        estate = Estate.get_or_none(Estate.code == code.upper())
        if estate is None:
            raise RuleError({"estate": gettext("没有代码为 %(code)s 的小区", code=code)})
        estates.append(estate)
    check_user_estates(role, estates)
    if User.get_or_none(User.username == username):
        raise RuleError({"username": gettext("用户名 %(username)s 已存在", username=username)})
    user = User(username=username, display_name=display_name or username, role=role,
                department=department)
    user.set_password(password)
    with db.atomic():
        save_record(user, None)
        for estate in estates:
            UserEstate.create(user=user, estate=estate)
    return user


@click.group("users")
def users_cli():
    """Manage staff accounts."""


@users_cli.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(list(ROLE_LABELS)),
              help="admin, director, supervisor, clerk, dept, viewer")
@click.option("--estate", "estates", multiple=True, help="Estate code (repeatable).")
@click.option("--name", "display_name", default="", help="Display name (姓名).")
@click.option("--department", default=None,
              help="Department for role dept: cs, security, cleaning, engineering, finance.")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_command(username, role, estates, display_name, department, password_stdin):
    """Create a user; the password is prompted for (or read from stdin)."""
    password = _read_password(password_stdin)
    with db.connection_context():
        try:
            user = create_user(username, role=role, password=password, display_name=display_name,
                               estate_codes=estates, department=department)
        except RuleError as exc:
            raise click.ClickException("；".join(exc.errors.values())) from None
    click.echo(f"已创建用户 {user.username}（{user.role_label}）")


@users_cli.command("set-password")
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def set_password_command(username, password_stdin):
    """Set a user's password (prompted, or read from stdin)."""
    password = _read_password(password_stdin)
    with db.connection_context():
        user = User.get_or_none(User.username == username)
        if user is None:
            raise click.ClickException(f"没有用户 {username}")
        try:
            user.set_password(password)
        except RuleError as exc:
            raise click.ClickException("；".join(exc.errors.values())) from None
        with db.atomic():
            # A new password ends every session of the user (#13 item 5).
            User.update(password_hash=user.password_hash, version=User.version + 1,
                        session_generation=User.session_generation + 1).where(
                User.id == user.id).execute()
            audit(None, "password", instance=user, summary=f"命令行重设 {username} 的密码")
    click.echo(f"已更新 {username} 的密码")


@users_cli.command("list")
def list_command():
    """List users with role and estates."""
    with db.connection_context():
        for user in User.select().order_by(User.username):
            codes = ",".join(e.code for e in user.estates())
            state = "" if user.active else "（停用）"
            click.echo(f"{user.username}\t{user.role}\t{codes}\t{user.display_name}{state}")


@click.group("demo")
def demo_cli():
    """Demo data."""


@demo_cli.command("seed")
@click.option("--if-empty", is_flag=True, help="Do nothing when any estate exists.")
@click.option("--units", default=1000, show_default=True, help="How many units to create.")
def seed_command(if_empty, units):
    """Create the demo estate DEMO with clusters, units, residents and staff of every role."""
    from demo import DEMO_PASSWORD, seed

    with db.connection_context():
        if Estate.select().exists():
            if if_empty:
                click.echo("已有数据，跳过演示数据。")
                return
            raise click.ClickException(
                "数据库中已有小区；演示数据只在空库中创建（--if-empty 跳过）")
        summary = seed(units=units)
    click.echo("已创建演示数据：" + "，".join(f"{k} {v}" for k, v in summary.items()))
    click.echo("演示登录：用户名 clerk（客服员）/ supervisor / director / admin，"
               f"密码 {DEMO_PASSWORD}")
