"""The pure planning step: what the sheet holds + what it should hold -> the fewest writes.

No I/O here. Input: for each mirrored tab the rows the register projects (`TabTarget`) and what
one `values:batchGet` read back (`TabSnapshot`: values as text and the grid size).
Output (`Plan`): at most one `spreadsheets:batchUpdate` body (add a missing tab, delete rows that
no longer belong, insert rows in the middle, resize the grid to the data) and at most one
`values:batchUpdate` body (only the cells that differ after those row moves), each split only
when it would pass ~2 MB.

Rows are matched by their key in column A. The sheet rows kept in place are the longest run of
sheet rows whose keys are in the projection in ascending order; every other sheet row is deleted
and every projection row without a kept row is inserted (or, at the end, added by growing the
grid). The cells then compared are exactly the cells the sheet will hold, so whatever state the
sheet was left in — a manager's hand edit, a half-applied earlier sync — one plan makes it equal.

Nothing people typed is lost (#15): a cell a person changed is overwritten only after its text
is copied to the 手工修改 tab (a separate, earlier write), rows a person inserted or typed below
are copied before they go, and columns a person added to the right are left alone. Tabs no
longer wanted (after a split by year) are deleted last, in their own batch, once every other
write of the run has landed: an interrupted run never leaves the sheet without the old rows.

Structural writes move rows by index and must never be applied twice. Each structural batch
therefore swaps a hidden marker tab first: it deletes the marker the plan was made against and
adds the next one. A batch that was planned against an older sheet, or that lands late after a
timeout and a re-plan, fails on the delete and Google applies none of it (batchUpdate is atomic).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sync.batching import (
    a1,
    blocks,
    choose_sheet_id,
    column_letters,
    longest_increasing,
    parse_key,
    quote_title,
    runs,
    split_requests,
    split_values,
    trimmed,
)
from sync.handlog import HAND_LOG_TITLE, HandChange, Hands, hand_notes, plan_log

__all__ = ["HAND_LOG_TITLE", "MARKER_TITLE", "a1", "choose_sheet_id", "column_letters",
           "parse_key", "quote_title"]

MARKER_TITLE = "镜像同步标记（请勿删除）"
# Google's advice for one request body; larger writes are split into several requests.
MAX_PAYLOAD_BYTES = 2_000_000
# Google's limit for a whole spreadsheet, empty grid cells included.
MAX_SPREADSHEET_CELLS = 10_000_000
_BODY_OVERHEAD = 200  # {"valueInputOption": "RAW", "data": [...]} and friends


class PlanError(Exception):
    """The sheet cannot be made equal to the register as asked (e.g. the cell limit)."""


@dataclass(frozen=True)
class TabTarget:
    """What one tab should hold: the header row, then one row per record in key order."""

    title: str
    register: str
    header: tuple[str, ...]
    rows: Sequence[tuple[int, tuple[str, ...]]]
    # Keys of rows the register changed since the tab's last good sync (None: not known). A
    # difference anywhere else on the sheet is a hand edit, and is counted as one.
    fresh: frozenset[int] | None = None
    changed_at: Mapping[int, dt.datetime] = field(default_factory=dict)

    @property
    def width(self) -> int:
        return len(self.header)

    @property
    def grid_rows(self) -> int:
        # Header plus data; at least one data row so the frozen header row stays valid.
        return max(2, 1 + len(self.rows))


@dataclass(frozen=True)
class TabSnapshot:
    """A tab as read: its title on the sheet, id, grid size, and values as text.

    `written` maps each key to the fingerprint of the row the mirror last wrote (None: not
    known); `partial` says the rows not read were filled in as known (sync/reading.py).
    """

    title: str
    sheet_id: int | None
    rows: int
    cols: int
    values: list[list[str]]
    written: Mapping[int, int] | None = None
    renamed_from: str | None = None
    partial: bool = False
    read_rows: int = 0
    window: tuple[int, int] = (0, 0)


@dataclass
class SheetSnapshot:
    """What one read of the spreadsheet found."""

    tabs: dict[str, TabSnapshot]
    marker_id: int | None
    taken_ids: frozenset[int] = frozenset()
    # Cells of tabs that are not ours (known only after a metadata read).
    other_cells: int = 0
    from_metadata: bool = False
    # The 手工修改 tab: (sheetId, rowCount), None while it does not exist.
    log_tab: tuple[int, int] | None = None


@dataclass
class TabPlan:
    title: str
    register: str
    action: str  # "create", "update", "unchanged", "delete"
    sheet_id: int | None
    rows: int = 0
    grid_before: tuple[int, int] | None = None
    grid_after: tuple[int, int] | None = None
    inserted: int = 0
    deleted: int = 0
    cells_written: int = 0
    hand_edits: int = 0
    header_fixes: int = 0
    requests: list[dict] = field(default_factory=list)
    blocks: list[tuple[int, int, int, list[list[Any]]]] = field(default_factory=list)
    written_keys: list[int] = field(default_factory=list)
    # The title on the sheet when a person renamed the tab ("" : the title itself).
    sheet_title: str = ""
    hand_rows: int = 0  # rows a person inserted between the mirror's rows
    rows_below: int = 0  # rows a person typed under the data
    moved: int = 0  # the mirror's rows found out of order (a sort)
    new_columns: int = 0  # columns a person added to the right (kept)
    renamed_from: str | None = None
    hand_changes: list[HandChange] = field(default_factory=list)

    @property
    def hand_notes(self) -> list[str]:
        return hand_notes(self)


@dataclass
class Plan:
    tabs: list[TabPlan]
    marker_id: int | None
    structural: list[list[dict]]
    values: list[list[dict]]
    new_marker_id: int | None = None
    # Every write in the order it must happen: ("structural" | "values", body).
    steps: list[tuple[str, list[dict]]] = field(default_factory=list)

    @property
    def write_requests(self) -> int:
        return len(self.structural) + len(self.values)

    @property
    def changed(self) -> bool:
        return bool(self.steps)

    @property
    def hand_changes(self) -> list[HandChange]:
        return [h for t in self.tabs for h in t.hand_changes]

    def structural_bytes(self) -> int:
        return sum(len(json.dumps({"requests": b})) for b in self.structural)

    def values_bytes(self) -> int:
        return sum(len(json.dumps({"valueInputOption": "RAW", "data": b})) for b in self.values)


# --- planning -------------------------------------------------------------------------------------


def _dimension(sheet_id: int, start: int, end: int) -> dict:
    return {"sheetId": sheet_id, "dimension": "ROWS", "startIndex": start, "endIndex": end}


def _update_properties(sheet_id: int, properties: dict, fields: list[str]) -> dict:
    return {"updateSheetProperties": {"properties": {"sheetId": sheet_id, **properties},
                                      "fields": ",".join(fields)}}


def grid_after(target: TabTarget, snap: TabSnapshot | None) -> tuple[int, int]:
    """The tab's grid once synced: header and rows, and every column (#15: columns people added
    to the right stay, the grid never narrows below them)."""
    return target.grid_rows, max(target.width, snap.cols) if snap else target.width


def plan_tab(target: TabTarget, snap: TabSnapshot | None, sheet_id: int) -> TabPlan:
    """Plan one tab (see the module docstring)."""
    width = target.width
    want_rows, want_cols = grid_after(target, snap)
    header = trimmed(target.header)
    old_header: Sequence[str] = snap.values[0] if snap and snap.values else ()
    data = snap.values[1:] if snap else []

    position = {key: i for i, (key, _) in enumerate(target.rows)}
    candidates: list[tuple[int, int]] = []
    seen: set[int] = set()
    for pos, row in enumerate(data):
        key = parse_key(row[0]) if row else None
        if key is not None and key in position and key not in seen:
            seen.add(key)
            candidates.append((pos, position[key]))
    kept = longest_increasing(candidates)
    old_position = {index: pos for pos, index in kept}
    kept_positions = {pos for pos, _ in kept}
    last_index, last_pos = kept[-1][1] if kept else -1, kept[-1][0] if kept else -1
    # Rows out of place before the last kept row are deleted, and missing ones inserted there.
    # Sheet rows after it are simply overwritten by the rows that follow in the register, and
    # whatever is left over goes with the grid resize: no row moves needed at the end.
    deleted = runs(p for p in range(last_pos) if p not in kept_positions)
    inserted = runs(i for i in range(last_index) if i not in old_position)
    trailing = data[last_pos + 1:]
    n_deleted = sum(end - start for start, end in deleted)
    n_inserted = sum(end - start for start, end in inserted)

    def current(index: int) -> Sequence[str]:
        """What row `index` of the projection will hold after the row moves, before writing."""
        pos = old_position.get(index)
        if pos is not None:
            return data[pos]
        after = index - last_index - 1
        return trailing[after] if 0 <= after < len(trailing) else ()

    plan = TabPlan(title=target.title, register=target.register, action="unchanged",
                   sheet_id=sheet_id, rows=len(target.rows),
                   grid_before=(snap.rows, snap.cols) if snap else None,
                   grid_after=(want_rows, want_cols), inserted=len(target.rows) - len(kept),
                   sheet_title=snap.title if snap else target.title,
                   renamed_from=snap.renamed_from if snap else None,
                   new_columns=max(0, want_cols - width) if snap and not snap.partial else 0)
    hands = Hands(target, snap, plan)
    for pos, row in enumerate(data):
        # A row after the last kept one keeps its place while its mirrored cells are written
        # over by the register's next rows (then the cells to the right stay), unless the
        # grid resize cuts it off.
        overwritten = pos > last_pos and last_index + pos - last_pos < want_rows - 1
        if pos not in kept_positions and any(row) and hands.leaving(
                pos, row, pos > last_pos, position, overwritten):
            plan.deleted += 1
    if snap is None:
        plan.action = "create"
        plan.requests.append({"addSheet": {"properties": {
            "sheetId": sheet_id, "title": target.title,
            "gridProperties": {"rowCount": want_rows, "columnCount": width, "frozenRowCount": 1},
        }}})
    elif n_deleted or n_inserted or (snap.rows, snap.cols) != (want_rows, want_cols):
        # Frozen rows first: Google refuses to delete every non-frozen row, and a manager may
        # have frozen more; one spare row is added when every data row goes.
        pre_rows = max(snap.rows, n_deleted + 2)
        grid: dict[str, int] = {"frozenRowCount": 1}
        fields = ["title", "gridProperties.frozenRowCount", "gridProperties.frozenColumnCount"]
        if pre_rows != snap.rows:
            grid["rowCount"] = pre_rows
            fields.append("gridProperties.rowCount")
        # Setting the title is also a guard: if the remembered sheetId now belongs to another
        # tab, the rename clashes with the tab really called so and the whole batch fails.
        # A title a person chose stays (the tab is found by its id).
        plan.requests.append(_update_properties(
            sheet_id, {"title": snap.title, "gridProperties": grid}, fields))
        for start, end in reversed(deleted):  # bottom-up: indexes above stay valid
            plan.requests.append({"deleteDimension": {"range": _dimension(
                sheet_id, 1 + start, 1 + end)}})
        plan.requests.append(_update_properties(
            sheet_id, {"gridProperties": {"rowCount": want_rows - n_inserted,
                                          "columnCount": want_cols}},
            ["gridProperties.rowCount", "gridProperties.columnCount"]))
        for start, end in inserted:  # top-down at final positions
            plan.requests.append({"insertDimension": {
                "range": _dimension(sheet_id, 1 + start, 1 + end), "inheritFromBefore": False}})

    # Compare every cell the tab will hold with what will be there after the row moves.
    changed_rows: list[tuple[int, list[int], list[Any]]] = []
    if trimmed(old_header[:width]) != header:
        cols = [c for c in range(width)
                if (old_header[c] if c < len(old_header) else "") != target.header[c]]
        changed_rows.append((0, cols, list(target.header)))
        if snap is not None:  # header drift on an existing tab, not the first write
            plan.header_fixes = len(cols)
            hands.keep(0, old_header, cols, "表头被手工修改，已恢复")
    for index, (key, cells) in enumerate(target.rows):
        have = current(index)
        want = (str(key), *cells)
        if trimmed(have[:width]) == trimmed(want):
            continue
        cols = [c for c in range(width) if (have[c] if c < len(have) else "") != want[c]]
        changed_rows.append((1 + index, cols, [key, *cells]))
        plan.written_keys.append(key)
        if index in old_position and hands.touched(have, key):
            mine = [c for c in cols if c in hands.same_cols]
            plan.hand_edits += len(mine)
            hands.keep(old_position[index] + 1, have, mine, "单元格被手工修改，已按登记簿恢复")
    for index in range(len(target.rows), want_rows - 1):
        # The spare row an empty tab keeps under its frozen header must be blank too.
        have = current(index)
        cols = [c for c in range(min(width, len(have))) if have[c] != ""]
        if cols:
            changed_rows.append((1 + index, cols, [""] * width))
    plan.cells_written = sum(len(cols) for _, cols, _ in changed_rows)
    plan.blocks = blocks(changed_rows)
    if plan.action == "unchanged" and (plan.requests or plan.blocks):
        plan.action = "update"
    return plan


def plan_sync(targets: Sequence[TabTarget], snapshot: SheetSnapshot, *,
              obsolete: Sequence[tuple[str, str, int]] = (),
              max_payload: int = MAX_PAYLOAD_BYTES, noted_at: str = "") -> Plan:
    """Plan one spreadsheet: every mirrored tab, plus tabs of the mirror no longer wanted.

    `obsolete` lists (title, register, sheetId) of tabs the mirror made that no plan wants any
    more (e.g. "住户" after the register was split by year); they are deleted in the last step.
    `noted_at` is the time written beside each hand change kept in the 手工修改 tab.
    """
    # Checked before any row is planned: a register too large for the file is refused without
    # planning its millions of cells first, every few minutes.
    total = snapshot.other_cells + sum(
        rows * cols for rows, cols in (grid_after(t, snapshot.tabs.get(t.title)) for t in targets))
    if total > MAX_SPREADSHEET_CELLS:
        # Splitting a register by year moves its cells between tabs but never reduces the
        # file's total, so it is not offered as a way out (#15).
        raise PlanError(f"镜像需要 {total:,} 个单元格，超过 Google 表格每个文件 1000 万单元格的"
                        "上限；请在“镜像设置”中停用部分登记簿的镜像，或删除表格里不属于镜像的"
                        "其他工作表。")
    taken = set(snapshot.taken_ids)
    tabs: list[TabPlan] = []
    for target in targets:
        snap = snapshot.tabs.get(target.title)
        if snap is not None and snap.sheet_id is not None:
            sheet_id = snap.sheet_id
        else:
            sheet_id = choose_sheet_id(target.title, taken)
        taken.add(sheet_id)
        tabs.append(plan_tab(target, snap, sheet_id))
    retiring = [TabPlan(title=title, register=register, action="delete", sheet_id=sheet_id,
                        requests=[{"deleteSheet": {"sheetId": sheet_id}}])
                for title, register, sheet_id in obsolete]

    plan = Plan(tabs=tabs + retiring, marker_id=snapshot.marker_id, structural=[], values=[])
    marker = snapshot.marker_id
    limit = max_payload - _BODY_OVERHEAD

    def structural(operations: list[dict]) -> None:
        nonlocal marker
        for batch in split_requests(operations, limit):
            new_marker = choose_sheet_id(f"{MARKER_TITLE}:{marker}", taken)
            taken.add(new_marker)
            swap = [] if marker is None else [{"deleteSheet": {"sheetId": marker}}]
            swap.append({"addSheet": {"properties": {
                "sheetId": new_marker, "title": MARKER_TITLE, "hidden": True,
                "gridProperties": {"rowCount": 1, "columnCount": 1}}}})
            plan.structural.append(swap + batch)
            plan.steps.append(("structural", swap + batch))
            marker = new_marker

    def values(items) -> None:
        for batch in split_values(items, limit):
            plan.values.append(batch)
            plan.steps.append(("values", batch))

    # 1. What people typed is copied out before anything overwrites or deletes it.
    if plan.hand_changes:
        log_requests, log_block = plan_log(snapshot.log_tab, plan.hand_changes, taken, noted_at)
        structural(log_requests)
        values([log_block])
    # 2. Tabs are added first; then rows move and cells are written.
    order = {"create": 0, "update": 1, "unchanged": 1}
    structural([r for t in sorted(tabs, key=lambda t: order[t.action]) for r in t.requests])
    values(tabs)
    # 3. Only then do tabs no longer wanted go: the sheet never shows fewer rows on the way.
    structural([r for t in retiring for r in t.requests])
    plan.new_marker_id = marker
    return plan
