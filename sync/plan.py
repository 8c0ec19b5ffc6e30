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

Structural writes move rows by index and must never be applied twice. Each structural batch
therefore swaps a hidden marker tab first: it deletes the marker the plan was made against and
adds the next one. A batch that was planned against an older sheet, or that lands late after a
timeout and a re-plan, fails on the delete and Google applies none of it (batchUpdate is atomic).
"""

from __future__ import annotations

import bisect
import datetime as dt
import json
import zlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

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
    """A tab as read: its id (None when not known), grid size, and values as text."""

    title: str
    sheet_id: int | None
    rows: int
    cols: int
    values: list[list[str]]


@dataclass
class SheetSnapshot:
    """What one read of the spreadsheet found."""

    tabs: dict[str, TabSnapshot]
    marker_id: int | None
    taken_ids: frozenset[int] = frozenset()
    # Cells of tabs that are not ours (known only after a metadata read).
    other_cells: int = 0
    from_metadata: bool = False


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


@dataclass
class Plan:
    tabs: list[TabPlan]
    marker_id: int | None
    structural: list[list[dict]]
    values: list[list[dict]]
    new_marker_id: int | None = None

    @property
    def write_requests(self) -> int:
        return len(self.structural) + len(self.values)

    @property
    def changed(self) -> bool:
        return bool(self.structural or self.values)

    def structural_bytes(self) -> int:
        return sum(len(json.dumps({"requests": b})) for b in self.structural)

    def values_bytes(self) -> int:
        return sum(len(json.dumps({"valueInputOption": "RAW", "data": b})) for b in self.values)


# --- A1 notation --------------------------------------------------------------------------------


def quote_title(title: str) -> str:
    """A tab title quoted for a range ('住户', 'It''s'); Google accepts quotes on any title."""
    return "'" + title.replace("'", "''") + "'"


def column_letters(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def a1(title: str, row0: int, col0: int, row1: int, col1: int) -> str:
    """Range of rows [row0, row1) and columns [col0, col1), 0-based."""
    return (f"{quote_title(title)}!{column_letters(col0)}{row0 + 1}:"
            f"{column_letters(col1 - 1)}{row1}")


def choose_sheet_id(seed: str, taken: set[int]) -> int:
    """A stable, unused sheetId for a tab the mirror adds (deterministic: plans are pure)."""
    candidate = zlib.crc32(seed.encode("utf-8")) & 0x7FFFFFFF
    while candidate == 0 or candidate in taken:
        candidate = (candidate + 1) & 0x7FFFFFFF
    return candidate


# --- planning -------------------------------------------------------------------------------------


def parse_key(text: object) -> int | None:
    """Column A as a record id, or None (blank, text, a hand-typed "007")."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    if isinstance(text, str) and text.isascii() and text.isdigit() and (
            text == "0" or not text.startswith("0")):
        return int(text)
    return None


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Longest subsequence of (position, index) pairs whose indexes strictly increase."""
    tails: list[int] = []
    tails_at: list[int] = []
    previous = [-1] * len(pairs)
    for i, (_, index) in enumerate(pairs):
        j = bisect.bisect_left(tails, index)
        if j == len(tails):
            tails.append(index)
            tails_at.append(i)
        else:
            tails[j] = index
            tails_at[j] = i
        previous[i] = tails_at[j - 1] if j else -1
    out = []
    i = tails_at[-1] if tails_at else -1
    while i >= 0:
        out.append(pairs[i])
        i = previous[i]
    return out[::-1]


def _runs(sorted_ints: Iterable[int]) -> list[tuple[int, int]]:
    """[1, 2, 3, 7] -> [(1, 4), (7, 8)] (half-open)."""
    runs: list[tuple[int, int]] = []
    for n in sorted_ints:
        if runs and runs[-1][1] == n:
            runs[-1] = (runs[-1][0], n + 1)
        else:
            runs.append((n, n + 1))
    return runs


def _trimmed(cells: Sequence[str]) -> tuple[str, ...]:
    end = len(cells)
    while end and cells[end - 1] == "":
        end -= 1
    return tuple(cells[:end])


def _dimension(sheet_id: int, start: int, end: int) -> dict:
    return {"sheetId": sheet_id, "dimension": "ROWS", "startIndex": start, "endIndex": end}


def _update_properties(sheet_id: int, properties: dict, fields: list[str]) -> dict:
    return {"updateSheetProperties": {"properties": {"sheetId": sheet_id, **properties},
                                      "fields": ",".join(fields)}}


def plan_tab(target: TabTarget, snap: TabSnapshot | None, sheet_id: int) -> TabPlan:
    """Plan one tab (see the module docstring)."""
    width, want_rows = target.width, target.grid_rows
    header = _trimmed(target.header)
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
    kept = _longest_increasing(candidates)
    old_position = {index: pos for pos, index in kept}
    kept_positions = {pos for pos, _ in kept}
    last_index, last_pos = kept[-1][1] if kept else -1, kept[-1][0] if kept else -1
    # Rows out of place before the last kept row are deleted, and missing ones inserted there.
    # Sheet rows after it are simply overwritten by the rows that follow in the register, and
    # whatever is left over goes with the grid resize: no row moves needed at the end.
    deleted = _runs(p for p in range(last_pos) if p not in kept_positions)
    inserted = _runs(i for i in range(last_index) if i not in old_position)
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
                   grid_after=(want_rows, width), inserted=len(target.rows) - len(kept),
                   deleted=sum(1 for p, row in enumerate(data)
                               if p not in kept_positions and any(row)))
    if snap is None:
        plan.action = "create"
        plan.requests.append({"addSheet": {"properties": {
            "sheetId": sheet_id, "title": target.title,
            "gridProperties": {"rowCount": want_rows, "columnCount": width, "frozenRowCount": 1},
        }}})
    elif n_deleted or n_inserted or (snap.rows, snap.cols) != (want_rows, width):
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
        plan.requests.append(_update_properties(
            sheet_id, {"title": target.title, "gridProperties": grid}, fields))
        for start, end in reversed(deleted):  # bottom-up: indexes above stay valid
            plan.requests.append({"deleteDimension": {"range": _dimension(
                sheet_id, 1 + start, 1 + end)}})
        plan.requests.append(_update_properties(
            sheet_id, {"gridProperties": {"rowCount": want_rows - n_inserted,
                                          "columnCount": width}},
            ["gridProperties.rowCount", "gridProperties.columnCount"]))
        for start, end in inserted:  # top-down at final positions
            plan.requests.append({"insertDimension": {
                "range": _dimension(sheet_id, 1 + start, 1 + end), "inheritFromBefore": False}})

    # Compare every cell the tab will hold with what will be there after the row moves.
    changed_rows: list[tuple[int, list[int], list[Any]]] = []
    if _trimmed(old_header[:width]) != header:
        cols = [c for c in range(width)
                if (old_header[c] if c < len(old_header) else "") != target.header[c]]
        changed_rows.append((0, cols, list(target.header)))
        if snap is not None:  # header drift on an existing tab, not the first write
            plan.header_fixes = len(cols)
    for index, (key, cells) in enumerate(target.rows):
        have = current(index)
        want = (str(key), *cells)
        if _trimmed(have[:width]) == _trimmed(want):
            continue
        cols = [c for c in range(width) if (have[c] if c < len(have) else "") != want[c]]
        changed_rows.append((1 + index, cols, [key, *cells]))
        plan.written_keys.append(key)
        if index in old_position and target.fresh is not None and key not in target.fresh:
            plan.hand_edits += len(cols)
    for index in range(len(target.rows), want_rows - 1):
        # The spare row an empty tab keeps under its frozen header must be blank too.
        have = current(index)
        cols = [c for c in range(min(width, len(have))) if have[c] != ""]
        if cols:
            changed_rows.append((1 + index, cols, [""] * width))
    plan.cells_written = sum(len(cols) for _, cols, _ in changed_rows)
    plan.blocks = _blocks(changed_rows)
    if plan.action == "unchanged" and (plan.requests or plan.blocks):
        plan.action = "update"
    return plan


def _blocks(changed_rows: list[tuple[int, list[int], list[Any]]]):
    """Group consecutive changed rows into rectangles; unchanged cells inside are null (skipped)."""
    blocks = []
    group: list[tuple[int, list[int], list[Any]]] = []
    for item in changed_rows:
        if group and item[0] != group[-1][0] + 1:
            blocks.append(_block(group))
            group = []
        group.append(item)
    if group:
        blocks.append(_block(group))
    return blocks


def _block(group):
    col0 = min(cols[0] for _, cols, _ in group)
    col1 = max(cols[-1] for _, cols, _ in group) + 1
    rows = []
    for _, cols, want in group:
        wanted = set(cols)
        row = [want[c] if c in wanted else None for c in range(col0, col1)]
        while row and row[-1] is None:
            row.pop()
        rows.append(row)
    return (group[0][0], col0, col1, rows)


def plan_sync(targets: Sequence[TabTarget], snapshot: SheetSnapshot, *,
              obsolete: Sequence[tuple[str, str, int]] = (),
              max_payload: int = MAX_PAYLOAD_BYTES) -> Plan:
    """Plan one spreadsheet: every mirrored tab, plus tabs of the mirror no longer wanted.

    `obsolete` lists (title, register, sheetId) of tabs the mirror made that no plan wants any
    more (e.g. "住户" after the register was split by year); they are deleted.
    """
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
    for title, register, sheet_id in obsolete:
        tabs.append(TabPlan(title=title, register=register, action="delete", sheet_id=sheet_id,
                            requests=[{"deleteSheet": {"sheetId": sheet_id}}]))
    total = snapshot.other_cells + sum(t.grid_after[0] * t.grid_after[1]
                                       for t in tabs if t.grid_after)
    if total > MAX_SPREADSHEET_CELLS:
        # Splitting a register by year moves its cells between tabs but never reduces the
        # file's total, so it is not offered as a way out (#15).
        raise PlanError(f"镜像需要 {total:,} 个单元格，超过 Google 表格每个文件 1000 万单元格的"
                        "上限；请在“镜像设置”中停用部分登记簿的镜像，或删除表格里不属于镜像的"
                        "其他工作表。")

    # Tabs are added first and deleted last, so the spreadsheet always keeps a visible tab.
    order = {"create": 0, "update": 1, "unchanged": 1, "delete": 2}
    operations = [r for t in sorted(tabs, key=lambda t: order[t.action]) for r in t.requests]
    plan = Plan(tabs=tabs, marker_id=snapshot.marker_id, structural=[], values=[])
    marker = snapshot.marker_id
    for batch in _split(operations, max_payload - _BODY_OVERHEAD):
        new_marker = choose_sheet_id(f"{MARKER_TITLE}:{marker}", taken)
        taken.add(new_marker)
        swap = [] if marker is None else [{"deleteSheet": {"sheetId": marker}}]
        swap.append({"addSheet": {"properties": {
            "sheetId": new_marker, "title": MARKER_TITLE, "hidden": True,
            "gridProperties": {"rowCount": 1, "columnCount": 1}}}})
        plan.structural.append(swap + batch)
        marker = new_marker
    plan.new_marker_id = marker
    plan.values = _split_values(tabs, max_payload - _BODY_OVERHEAD)
    return plan


def _split(items: list[dict], limit: int) -> list[list[dict]]:
    batches: list[list[dict]] = []
    size = 0
    for item in items:
        n = len(json.dumps(item)) + 1
        if not batches or (size + n > limit and batches[-1]):
            batches.append([])
            size = 0
        batches[-1].append(item)
        size += n
    return batches


def _split_values(tabs: list[TabPlan], limit: int) -> list[list[dict]]:
    """ValueRanges for every changed block, cut by rows so that no body passes `limit` bytes."""
    batches: list[list[dict]] = [[]]
    size = 0
    for tab in tabs:
        # requests sends JSON with ASCII escapes: a Chinese character costs 6 bytes.
        range_size = len(json.dumps(quote_title(tab.title))) + 40
        for row0, col0, col1, rows in tab.blocks:
            part: list[list[Any]] = []
            part_start = row0
            size += range_size
            for i, row in enumerate(rows):
                n = len(json.dumps(row)) + 1
                if size + n > limit and (part or batches[-1]):
                    if part:
                        batches[-1].append(_value_range(tab.title, part_start, col0, col1, part))
                    batches.append([])
                    part, part_start, size = [], row0 + i, range_size
                part.append(row)
                size += n
            if part:
                batches[-1].append(_value_range(tab.title, part_start, col0, col1, part))
    return [batch for batch in batches if batch]


def _value_range(title: str, row0: int, col0: int, col1: int, rows: list[list[Any]]) -> dict:
    return {"range": a1(title, row0, col0, row0 + len(rows), col1), "values": rows}
