"""`flask --app app sheets …`: configure, sync, check and import — thin wrappers over sync/."""

from __future__ import annotations

import json
import os

import click
from flask.cli import AppGroup
from google.auth.exceptions import GoogleAuthError
from gspread.exceptions import APIError

from models.base import RuleError, db
from models.estate import Estate
from models.users import User
from sync import edge, registers
from sync.engine import client_for, credentials_for, mirrors_for, run_sync, sync_target
from sync.importer import MappingError, import_rows, load_mapping
from sync.report import EXIT_SKIPPED, tab_line
from sync.state import SheetTarget, configure, parse_spreadsheet_id

sheets_cli = AppGroup("sheets", help="Google Sheets mirror of the registers.")

def _fail(message: str) -> None:
    raise click.ClickException(message)


def _spreadsheet_id(text: str) -> str:
    try:
        return parse_spreadsheet_id(text)
    except RuleError as exc:
        _fail("；".join(exc.errors.values()))


def _estate(code: str | None) -> Estate:
    if code is None:
        estates = list(Estate.select().limit(2))
        if len(estates) != 1:
            _fail("请用 --estate 指定小区代码")
        return estates[0]
    estate = Estate.get_or_none(Estate.code == code.upper())
    if estate is None:
        _fail(f"找不到代码为 {code} 的小区")
    return estate


def _mirror(name: str):
    mirror = registers.find(name)
    if mirror is None:
        names = "、".join(f"{m.name}（{m.title}）" for m in registers.MIRRORS.values())
        _fail(f"没有名为“{name}”的登记簿镜像；可选：{names}")
    return mirror


def _check_credentials_file(path: str) -> str:
    path = os.path.abspath(path)
    try:
        with open(path, encoding="utf-8") as handle:
            info = json.load(handle)
    except (OSError, ValueError):
        _fail("凭据文件无法读取，或不是 JSON 文件")
    if not isinstance(info, dict) or info.get("type") != "service_account" \
            or not info.get("client_email") or not info.get("private_key"):
        _fail("凭据文件不是 Google 服务账号的 JSON 密钥（需要 type、client_email、private_key）")
    return path


@sheets_cli.command("configure")
@click.option("--estate", "estate_code", required=True, help="小区代码，如 DEMO")
@click.option("--spreadsheet", "spreadsheet", required=True, help="表格 ID 或表格网址")
@click.option("--credentials", "credentials", default=None,
              help="服务账号 JSON 密钥文件（留空则用全局设置或 SHEETS_EMULATOR_HOST）")
@click.option("--enable", multiple=True, help="启用某个登记簿的镜像（可重复）")
@click.option("--disable", multiple=True, help="停用某个登记簿的镜像（可重复）")
def configure_command(estate_code, spreadsheet, credentials, enable, disable):
    """Set the Google spreadsheet an estate's registers are mirrored to."""
    with db.connection_context():
        estate = _estate(estate_code)
        credentials_file = _check_credentials_file(credentials) if credentials else None
        switches = {_mirror(n).name: True for n in enable}
        switches.update({_mirror(n).name: False for n in disable})
        try:
            target = configure(estate, spreadsheet, credentials_file=credentials_file,
                               switches=switches)
        except RuleError as exc:
            _fail("；".join(exc.errors.values()))
        disabled = target.disabled_registers()
        mirrored = [m.title for m in registers.MIRRORS.values() if m.name not in disabled]
        emulator, credentials_path = credentials_for(target)
        reach = (f"模拟器 {emulator}" if emulator else credentials_path
                 or "未设置（只能在“镜像状态”页面预览和下载 XLSX）")
        click.echo(f"已配置：小区 {estate.code}（{estate.name}）→ 表格 {target.spreadsheet_id}")
        click.echo("镜像：" + ("、".join(mirrored) or "无"))
        click.echo(f"连接：{reach}")


@sheets_cli.command("sync")
@click.option("--estate", "estate_code", default=None, help="只同步这个小区（默认：全部已配置的）")
@click.option("--register", default=None, help="只同步这个登记簿，如 residents 或 住户")
@click.option("--dry-run", is_flag=True, help="只读取和规划，打印计划，不写入表格")
def sync_command(estate_code, register, dry_run):
    """Mirror the registers to their Google spreadsheets and print what was done.

    Exit status: 0 done, 1 failed, 75 skipped because another sync still held a spreadsheet.
    """
    report = run_sync(estate_code, register, dry_run)
    for line in report.lines():
        click.echo(line)
    if not report.ok:
        raise SystemExit(1)
    if report.busy:
        raise SystemExit(EXIT_SKIPPED)  # not a success: nothing was written (#15)


@sheets_cli.command("check")
@click.option("--estate", "estate_code", default=None, help="只检查这个小区")
def check_command(estate_code):
    """Verify credentials, access to each spreadsheet and the layout of its tabs."""
    problems = 0
    with db.connection_context():
        query = SheetTarget.select(SheetTarget, Estate).join(Estate).order_by(Estate.code)
        if estate_code:
            query = query.where(Estate.code == _estate(estate_code).code)
        targets = list(query)
        if not targets:
            _fail("还没有小区配置镜像表格：请先运行 flask --app app sheets configure")
        for target in targets:
            click.echo(f"小区 {target.estate.code} → 表格 {target.spreadsheet_id}")
            try:
                client = client_for(target)
            except (OSError, ValueError) as exc:
                click.echo(f"  凭据：{edge.describe_error(exc)}")
                problems += 1
                continue
            if client is None:
                click.echo("  凭据：未设置（只能预览）；设置 --credentials 或 SHEETS_EMULATOR_HOST")
                problems += 1
                continue
            try:
                meta = client.http_client.fetch_sheet_metadata(target.spreadsheet_id)
            except (APIError, GoogleAuthError) as exc:
                click.echo(f"  访问：失败——{edge.describe_error(exc)}")
                problems += 1
                continue
            click.echo(f"  访问：正常（《{meta.get('properties', {}).get('title', '')}》）")
            report = sync_target(target, mirrors_for(target), dry_run=True, client=client)
            if report.error:
                click.echo(f"  布局：{report.error}")
                problems += 1
            for tab in report.tabs:
                status = "正常" if tab.action == "unchanged" else "需要同步"
                click.echo(f"  {status}：" + tab_line(tab).strip())
    if problems:
        raise SystemExit(1)


@sheets_cli.command("import")
@click.option("--register", required=True, help="导入到哪个登记簿，如 residents 或 住户")
@click.option("--spreadsheet", required=True, help="来源表格的 ID 或网址")
@click.option("--tab", required=True, help="来源工作表名称")
@click.option("--estate", "estate_code", default=None, help="小区代码（只有一个小区时可省略）")
@click.option("--mapping", "mapping_file", default=None,
              help="列名映射 JSON 文件：{\"表格中的列名\": \"字段\"}")
@click.option("--credentials", default=None, help="读取来源表格用的服务账号 JSON 密钥")
@click.option("--user", "username", default=None, help="记入审计日志的操作人用户名")
@click.option("--dry-run", is_flag=True, help="只检查，不写入")
def import_command(register, spreadsheet, tab, estate_code, mapping_file, credentials,
                   username, dry_run):
    """Import rows from an existing Google sheet into a register, checking every row."""
    mirror = _mirror(register)
    with db.connection_context():
        estate = _estate(estate_code)
        user = None
        if username:
            user = User.get_or_none(User.username == username)
            if user is None:
                _fail(f"找不到用户 {username}")
        target = SheetTarget.get_or_none(SheetTarget.estate == estate) or SheetTarget(
            estate=estate, spreadsheet_id="")
        if credentials:
            target.credentials_file = _check_credentials_file(credentials)
        try:
            client = client_for(target)
        except (OSError, ValueError) as exc:
            _fail(edge.describe_error(exc))
        if client is None:
            _fail("未设置 Google 凭据：请用 --credentials 指定，或设置 SHEETS_EMULATOR_HOST")
        try:
            mapping = load_mapping(mapping_file) if mapping_file else None
            values = edge.read_tab(client.http_client, _spreadsheet_id(spreadsheet), tab)
            report = import_rows(mirror, estate.id, values, mapping=mapping, dry_run=dry_run,
                                 user=user)
        except MappingError as exc:
            _fail(str(exc))
        except (APIError, GoogleAuthError) as exc:
            _fail(f"读取来源表格失败：{edge.describe_error(exc)}")
        for line in report.lines():
            click.echo(line)
        if not report.ok:
            raise SystemExit(1)
