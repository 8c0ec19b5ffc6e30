"""What a sync did (or, dry, would do), per spreadsheet and per tab, in the office's words."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from models.base import to_office
from sync.plan import Plan, SheetSnapshot, TabPlan

# `sheets sync` exits with this when a spreadsheet was skipped because another sync held it
# (EX_TEMPFAIL): a skip is not a success, and cron or a wrapper script can tell it apart.
EXIT_SKIPPED = 75

ACTIONS = {
    "create": "新建", "update": "更新", "unchanged": "无变化", "delete": "删除（已不再使用）",
}


def tab_line(tab: TabPlan) -> str:
    if tab.action == "delete":
        return f"  {tab.title}：{ACTIONS['delete']}"
    parts = []
    if tab.inserted:
        parts.append(f"新增 {tab.inserted} 行")
    if tab.deleted:
        parts.append(f"删除 {tab.deleted} 行")
    if tab.cells_written:
        parts.append(f"写入 {tab.cells_written} 个单元格")
    if tab.hand_edits:
        parts.append(f"覆盖手工修改 {tab.hand_edits} 处")
    if tab.header_fixes:
        parts.append(f"修正表头 {tab.header_fixes} 处")
    parts += [note for note in tab.hand_notes if "单元格被手工修改" not in note]
    if tab.grid_before and tab.grid_after and tab.grid_before != tab.grid_after:
        parts.append("网格 {}×{} → {}×{}".format(*tab.grid_before, *tab.grid_after))
    detail = "，".join(parts)
    return f"  {tab.title}：{ACTIONS[tab.action]}，共 {tab.rows} 行" + (f"（{detail}）" if detail
                                                                   else "")


@dataclass
class SpreadsheetReport:
    estate_code: str
    spreadsheet_id: str
    dry_run: bool = False
    plan: Plan | None = None
    requests: int = 0
    read_requests: int = 0
    bytes_sent: int = 0
    seconds: float = 0.0
    rounds: int = 0
    retries: int = 0
    bytes_received: int = 0
    error: str = ""
    skipped: str = ""
    # Skipped because another sync holds the spreadsheet, and since when syncs are skipped.
    busy: bool = False
    skipped_since: dt.datetime | None = None
    snapshot: SheetSnapshot | None = None

    @property
    def ok(self) -> bool:
        return not self.error

    @property
    def tabs(self) -> list[TabPlan]:
        return self.plan.tabs if self.plan else []

    def lines(self) -> list[str]:
        head = f"小区 {self.estate_code} → 表格 {self.spreadsheet_id}"
        if self.skipped:
            since = ""
            if self.skipped_since is not None:
                since = f"（自 {to_office(self.skipped_since):%Y-%m-%d %H:%M} 起一直被跳过）"
            return [f"{head}：跳过——{self.skipped}{since}"]
        out = [head + ("（演练，不写入）" if self.dry_run else "")]
        out += [tab_line(t) for t in self.tabs]
        plan = self.plan
        if plan is not None:
            if self.dry_run:
                out.append(f"  计划：读取 {self.read_requests} 个请求（已执行），结构修改 "
                           f"{len(plan.structural)} 个、写入单元格 {len(plan.values)} 个请求"
                           f"（未执行）；合计 {self.read_requests + plan.write_requests} 个请求")
            if len(plan.structural) > 1 or len(plan.values) > 1:
                out.append(f"  内容超过约 2 MB，已拆分：结构修改 {len(plan.structural)} 个请求，"
                           f"写入单元格 {len(plan.values)} 个请求")
        if not self.dry_run:
            retried = f"（含重试 {self.retries} 次）" if self.retries else ""
            again = f"，重新读取并规划 {self.rounds - 1} 次" if self.rounds > 1 else ""
            out.append(f"  请求数：{self.requests}{retried}，发送 {self.bytes_sent / 1024:.1f} KB，"
                       f"接收 {self.bytes_received / 1024:.1f} KB，用时 {self.seconds:.2f} 秒"
                       f"{again}")
        if self.error:
            out.append(f"  错误：{self.error}")
        return out


@dataclass
class SyncReport:
    spreadsheets: list[SpreadsheetReport] = field(default_factory=list)
    error: str = ""

    @property
    def ok(self) -> bool:
        return not self.error and all(s.ok for s in self.spreadsheets)

    @property
    def requests(self) -> int:
        return sum(s.requests for s in self.spreadsheets)

    @property
    def busy(self) -> bool:
        """Some spreadsheet was skipped because another sync held it."""
        return any(s.busy for s in self.spreadsheets)

    def lines(self) -> list[str]:
        out = [f"错误：{self.error}"] if self.error else []
        for sheet in self.spreadsheets:
            out += sheet.lines()
        if not out:
            out.append("还没有小区配置镜像表格：请先运行 flask --app app sheets configure")
        return out
