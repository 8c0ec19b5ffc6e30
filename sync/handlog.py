"""People's changes to a mirrored tab: found, kept in the 手工修改 tab, and said in words (#15).

The mirror's tabs are read-only copies, but people do type in them. Before a run overwrites a
cell a person changed, deletes a row a person inserted or typed under the data, or moves a row
carrying notes in a column a person added, the text goes to the 手工修改 tab with the time, the
tab and the cell. Columns added to the right are left where they are.

A row is the mirror's own when its fingerprint equals the one the mirror remembers for its key
(sync/layout.py); without a remembered fingerprint (the first run after an upgrade, or after
the header changed), a row the register did not change since the last good sync and that
differs is a person's edit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sync.batching import cell_a1, choose_sheet_id, parse_key, trimmed
from sync.layout import fingerprint

if TYPE_CHECKING:
    from sync.plan import TabPlan, TabSnapshot, TabTarget

HAND_LOG_TITLE = "手工修改"
HAND_LOG_HEADER = ("记录时间", "工作表", "单元格", "手工填写的内容", "处理")


@dataclass(frozen=True)
class HandChange:
    tab: str
    cell: str
    text: str
    what: str


@dataclass
class _LogItem:
    """The 手工修改 rows as one values block (the shape split_values takes)."""

    blocks: list[tuple[int, int, int, list[list[Any]]]]
    title: str = HAND_LOG_TITLE
    sheet_title: str = HAND_LOG_TITLE


def plan_log(log_tab: tuple[int, int] | None, changes: Sequence[HandChange], taken: set[int],
             noted_at: str) -> tuple[list[dict], _LogItem]:
    """The structural request that makes room in 手工修改, and the rows written there.

    New rows go below the tab's last grid row (never values.append, FINDINGS), so rows people
    add to the log tab are never overwritten either.
    """
    rows: list[list[Any]] = [[noted_at, c.tab, c.cell, c.text, c.what] for c in changes]
    width = len(HAND_LOG_HEADER)
    if log_tab is None:
        sheet_id = choose_sheet_id(HAND_LOG_TITLE, taken)
        taken.add(sheet_id)
        requests = [{"addSheet": {"properties": {
            "sheetId": sheet_id, "title": HAND_LOG_TITLE,
            "gridProperties": {"rowCount": 1 + len(rows), "columnCount": width,
                               "frozenRowCount": 1}}}}]
        return requests, _LogItem([(0, 0, width, [list(HAND_LOG_HEADER), *rows])])
    sheet_id, count = log_tab
    requests = [{"appendDimension": {"sheetId": sheet_id, "dimension": "ROWS",
                                     "length": len(rows)}}]
    return requests, _LogItem([(count, 0, width, rows)])


def hand_notes(tab: TabPlan) -> list[str]:
    """What people changed in a tab, in the office's words (run log, 镜像状态)."""
    notes = []
    if tab.renamed_from:
        notes.append(f"工作表“{tab.renamed_from}”被改名为“{tab.sheet_title}”，仍按原工作表更新")
    if tab.hand_edits:
        notes.append(f"{tab.hand_edits} 个单元格被手工修改，已按登记簿恢复")
    if tab.hand_rows:
        notes.append(f"中间手工插入 {tab.hand_rows} 行，已移除")
    if tab.rows_below:
        notes.append(f"数据下方手工添加 {tab.rows_below} 行，已移除")
    if tab.moved:
        notes.append(f"{tab.moved} 行的顺序被改动（如排序），已按记录号恢复")
    if tab.new_columns:
        notes.append(f"右侧手工添加的 {tab.new_columns} 列保留不动")
    if tab.hand_changes:
        notes.append(f"原内容 {len(tab.hand_changes)} 处已保存到“{HAND_LOG_TITLE}”工作表")
    return notes


class Hands:
    """Tells the mirror's rows from people's in one tab, and keeps what people typed."""

    def __init__(self, target: TabTarget, snap: TabSnapshot | None, plan: TabPlan) -> None:
        self.target, self.plan = target, plan
        self.width = target.width
        self.title = snap.title if snap else target.title
        old_header = snap.values[0] if snap and snap.values else ()
        header_same = trimmed(old_header[:self.width]) == trimmed(target.header)
        # Fingerprints hold only while the columns mean what they meant (no header drift).
        self.written = snap.written if snap is not None and header_same else None
        # Which keys the mirror wrote holds whatever happened to the header.
        self.keys = set(snap.written) if snap is not None and snap.written is not None else None
        self.same_cols = {c for c in range(self.width)
                          if c < len(old_header) and old_header[c] == target.header[c]}

    def ours(self, row: Sequence[str]) -> bool | None:
        """The row exactly as the mirror wrote it? None when that is not known."""
        if self.written is None:
            return None
        key = parse_key(row[0]) if row else None
        return key in self.written and fingerprint(row[:self.width]) == self.written[key]

    def touched(self, row: Sequence[str], key: int) -> bool:
        """Whether a person changed this row of the register (about to be overwritten)."""
        mine = self.ours(row)
        if mine is not None:
            return not mine
        fresh = self.target.fresh
        return fresh is not None and key not in fresh

    def keep(self, row0: int, row: Sequence[str], cols, what: str) -> None:
        """Copy the non-empty cells `cols` of sheet row `row0` (0-based) to the log."""
        for c in cols:
            text = row[c] if c < len(row) else ""
            if text != "":
                self.plan.hand_changes.append(HandChange(self.title, cell_a1(row0, c), text, what))

    def leaving(self, pos: int, row: Sequence[str], below: bool, wanted: Mapping[int, int],
                overwritten: bool) -> bool:
        """Data row `pos` goes: deleted or cut with the grid, or (`overwritten`) its mirrored
        columns are written over while the cells to their right stay. Keep people's part.

        Returns True when it was a row of the register that the register no longer has.
        """
        key = parse_key(row[0]) if row else None
        register_row = key is not None and (self.keys is None or key in self.keys)
        lost = range(self.width) if overwritten else range(len(row))
        if not register_row:
            if any(row[c] for c in lost if c < len(row)):
                if below:
                    self.plan.rows_below += 1
                else:
                    self.plan.hand_rows += 1
            self.keep(pos + 1, row, lost, "手工添加的行，已从镜像中移除")
            return False
        if key in wanted:
            self.plan.moved += 1
        # Right of the mirror's columns a person's note now sits beside another record (or
        # is gone with its row): copied either way, left in place when the row stays.
        self.keep(pos + 1, row, range(self.width, len(row)),
                  "右侧手工填写的内容，所在行已改为另一条记录" if overwritten
                  else "右侧手工填写的内容，所在行已移动或删除")
        if self.ours(row) is False:
            self.keep(pos + 1, row, range(self.width), "手工修改，所在行已移动或删除")
        return key not in wanted
