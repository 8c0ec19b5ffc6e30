"""The mirror's own tables: each estate's target spreadsheet, its register switches, tab state.

These are the only rows the sync ever writes (DESIGN: sync never writes the rows it mirrors).
Schema: models/migrations/004_sheets_mirror.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from flask_babel import gettext
from peewee import (
    BigIntegerField,
    BlobField,
    BooleanField,
    CharField,
    ForeignKeyField,
    IntegerField,
)

from models.base import (
    AwareDateTimeField,
    BaseModel,
    RuleError,
    VersionedModel,
    utcnow,
    write_transaction,
)
from models.estate import Estate
from models.i18n import L_
from models.register import audit
from sync.registers import MIRRORS

_URL_ID = re.compile(r"/spreadsheets/d/([A-Za-z0-9_-]+)")
_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")


class SheetTarget(VersionedModel):
    """Where an estate's registers are mirrored: one Google spreadsheet per estate."""

    estate = ForeignKeyField(Estate, unique=True, backref="+", on_delete="CASCADE",
                             verbose_name=L_("小区"))
    spreadsheet_id = CharField(max_length=128, unique=True, verbose_name=L_("表格 ID"),
                               help_text=L_("Google 表格网址中 /d/ 与 /edit 之间的一串字符"))
    credentials_file = CharField(max_length=255, default="", verbose_name=L_("凭据文件"),
                                 help_text=L_("服务账号 JSON 密钥文件的路径；留空则用全局设置 "
                                           "SHEETS_CREDENTIALS_FILE"))
    # Kept by the sync itself, never edited by people: the hidden marker tab every structural
    # write swaps (see sync/plan.py), and a lease so two syncs of one spreadsheet never overlap.
    marker_sheet_id = BigIntegerField(null=True, verbose_name=L_("同步标记工作表"))
    locked_until = AwareDateTimeField(null=True, verbose_name=L_("同步占用至"))
    # The lock's holder (host:pid:token) and its heartbeat, renewed while the sync works: a
    # holder that stopped beating, or whose process is gone, is taken over (sync/lock.py).
    lock_holder = CharField(max_length=96, default="", verbose_name=L_("同步进程"))
    heartbeat_at = AwareDateTimeField(null=True, verbose_name=L_("同步心跳"))
    # Since when syncs have been skipped and why (None: the last sync ran). Never "success".
    skipped_since = AwareDateTimeField(null=True, verbose_name=L_("跳过自"))
    skip_reason = CharField(max_length=300, default="", verbose_name=L_("跳过原因"))

    class Meta:
        table_name = "sheet_target"

    def __str__(self) -> str:
        return self.spreadsheet_id

    def disabled_registers(self) -> set[str]:
        return {row.register for row in SheetRegister.select(SheetRegister.register)
                .where(SheetRegister.target == self, SheetRegister.enabled == False)}  # noqa: E712


class SheetRegister(BaseModel):
    """A register switched on or off for one estate's spreadsheet (no row: mirrored)."""

    target = ForeignKeyField(SheetTarget, backref="registers", on_delete="CASCADE")
    register = CharField(max_length=32, verbose_name=L_("登记簿"))
    enabled = BooleanField(default=True, verbose_name=L_("镜像"))

    class Meta:
        table_name = "sheet_register"
        indexes = ((("target", "register"), True),)


class SheetTab(BaseModel):
    """One mirrored tab and how its last syncs went (no personal data in `last_error`)."""

    target = ForeignKeyField(SheetTarget, backref="tabs", on_delete="CASCADE")
    register = CharField(max_length=32, verbose_name=L_("登记簿"))
    title = CharField(max_length=100, verbose_name=L_("工作表"))
    sheet_id = BigIntegerField(null=True, verbose_name=L_("工作表 ID"))
    rows = IntegerField(default=0, verbose_name=L_("行数"))
    last_attempt_at = AwareDateTimeField(null=True, verbose_name=L_("上次尝试"))
    # The moment the last good sync read the register: later changes are the register's own.
    last_success_at = AwareDateTimeField(null=True, verbose_name=L_("上次成功同步"))
    lag_seconds = IntegerField(null=True, verbose_name=L_("滞后(秒)"),
                               help_text=L_("本次同步带上的最早一条登记簿改动，到写入表格时经过的秒数"))
    last_error = CharField(max_length=300, default="", verbose_name=L_("上次错误"))
    last_error_at = AwareDateTimeField(null=True, verbose_name=L_("出错时间"))
    last_request_count = IntegerField(default=0, verbose_name=L_("上次请求数"))
    last_cells_written = IntegerField(default=0, verbose_name=L_("上次写入单元格"))
    last_hand_edits = IntegerField(default=0, verbose_name=L_("上次覆盖的手工修改"))
    # Found by sheet id: the title people see (they may rename it; the mirror keeps updating).
    sheet_title = CharField(max_length=100, default="", verbose_name=L_("表格中的名称"))
    grid_rows = IntegerField(default=0, verbose_name=L_("网格行数"))
    grid_cols = IntegerField(default=0, verbose_name=L_("网格列数"))
    # zlib of the sheet's keys and row fingerprints in sheet order (sync/layout.py).
    layout = BlobField(null=True, verbose_name=L_("行布局"))
    verify_cursor = IntegerField(default=0, verbose_name=L_("核对位置"))
    hand_note = CharField(max_length=300, default="", verbose_name=L_("手工修改"))
    hand_note_at = AwareDateTimeField(null=True, verbose_name=L_("发现手工修改时间"))

    class Meta:
        table_name = "sheet_tab"
        indexes = ((("target", "title"), True),)


def parse_spreadsheet_id(text: str) -> str:
    """A spreadsheet id, also when the whole address was pasted (…/spreadsheets/d/ID/edit)."""
    text = (text or "").strip()
    match = _URL_ID.search(text)
    if match:
        return match.group(1)
    if not _ID.fullmatch(text):
        raise RuleError({"spreadsheet_id": gettext("表格 ID 只能包含字母、数字、- 和 _"
                                                   "（可直接粘贴表格网址）")})
    return text


def configure(estate: Estate, spreadsheet: str, *, credentials_file: str | None = None,
              switches: Mapping[str, bool] | None = None, user=None) -> SheetTarget:
    """Set an estate's spreadsheet (and credentials, register switches) in one audited step.

    Used by `sheets configure` and the 镜像状态 page. Another spreadsheet means the remembered
    tabs no longer apply: their state is dropped and the next sync reads the new one afresh.
    """
    spreadsheet_id = parse_spreadsheet_id(spreadsheet)
    unknown = [name for name in (switches or {}) if name not in MIRRORS]
    if unknown:
        raise RuleError({"register": gettext("没有这些登记簿镜像：%(names)s",
                                             names="、".join(unknown))})
    with write_transaction():
        taken = SheetTarget.get_or_none(SheetTarget.spreadsheet_id == spreadsheet_id,
                                        SheetTarget.estate != estate)
        if taken is not None:
            raise RuleError({"spreadsheet_id": gettext(
                "该表格已被小区 %(code)s 使用：每个小区用自己的表格", code=taken.estate.code)})
        target = SheetTarget.get_or_none(SheetTarget.estate == estate)
        changes: dict[str, list] = {}
        if target is None:
            target = SheetTarget(estate=estate, spreadsheet_id=spreadsheet_id)
            changes["spreadsheet_id"] = [None, spreadsheet_id]
        elif target.spreadsheet_id != spreadsheet_id:
            SheetTab.delete().where(SheetTab.target == target).execute()
            changes["spreadsheet_id"] = [target.spreadsheet_id, spreadsheet_id]
            target.spreadsheet_id = spreadsheet_id
            target.marker_sheet_id = None
        if credentials_file is not None and credentials_file != target.credentials_file:
            changes["credentials_file"] = [target.credentials_file, credentials_file]
            target.credentials_file = credentials_file
        is_new = target.id is None
        if changes and not is_new:
            target.version += 1
        target.updated_at = utcnow()
        target.save()
        disabled = target.disabled_registers()
        for name, enabled in (switches or {}).items():
            if (name in disabled) == enabled:
                changes[f"register:{name}"] = [not enabled, enabled]
            SheetRegister.insert(target=target, register=name, enabled=enabled).on_conflict(
                conflict_target=[SheetRegister.target, SheetRegister.register],
                update={SheetRegister.enabled: enabled, SheetRegister.updated_at: utcnow()},
            ).execute()
        if changes:
            audit(user, "create" if is_new else "update", instance=target, changes=changes,
                  summary=f"镜像表格设置：{estate.name}")
    return target
