"""One read of a spreadsheet: its tabs found by sheet id, and only the rows a plan needs (#15).

Every sync reads the metadata (small: titles, ids, grid sizes), which finds each mirrored tab by
the sheet id the mirror remembers — a tab a person renamed is still ours and keeps being
updated — and shows rows or columns a person added (the grid no longer has the size the mirror
left). Then one `values:batchGet`:

* a tab whose grid is as the mirror left it and whose rows it remembers (sync/layout.py) is read
  in part: its header, the rows the register changed or dropped since the last good sync, and a
  rolling window that catches hand edits anywhere in turn. The rows not read are known: they
  hold what the mirror wrote, which the register has not changed since;
* any other tab (first sync, a grid changed by hand, no layout yet) is read whole.

The windows of all tabs read in part share `verify_rows` rows per sync, in proportion to the
tabs' rows (at least one each), so the unchanged sync costs the same whether a register is one
tab or split into one per year, and however many registers the spreadsheet mirrors (#15: at
1,000,000 rows a window per tab made a spreadsheet of three year tabs read three windows). Every
tab then takes the same number of syncs for a full round: all rows / `verify_rows`.

At 100,000 rows an unchanged sync then downloads the metadata and a few hundred rows instead of
the whole tab (61 MB). A hand edit in a row outside the window is found when the window reaches
it; every row the mirror is about to overwrite or delete is always read first, so nothing people
typed is overwritten unseen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from gspread.exceptions import APIError

from sync.batching import parse_key, runs
from sync.edge import TabMissing, cell_text
from sync.plan import (
    HAND_LOG_TITLE,
    MARKER_TITLE,
    SheetSnapshot,
    TabSnapshot,
    TabTarget,
    column_letters,
    quote_title,
)

# Rows checked for hand edits per sync, shared by the spreadsheet's tabs (~0.5 MB at the widest
# register).
VERIFY_ROWS = 800
# More scattered ranges than this in one tab: read it whole. Ranges go RANGES_PER_REQUEST to
# a batchGet (URLs stay ~10 KB); reads have their own, larger quota than writes.
MAX_RANGES_PER_TAB = 1000
RANGES_PER_REQUEST = 100


@dataclass(frozen=True)
class Remembered:
    """What the last good sync left in a tab (from SheetTab)."""

    sheet_id: int | None
    sheet_title: str = ""
    grid: tuple[int, int] = (0, 0)
    keys: Sequence[int | None] | None = None
    prints: Sequence[int] | None = None
    cursor: int = 0


@dataclass
class _Read:
    target: TabTarget
    props: dict
    partial: list[tuple[int, int]] | None  # runs of data positions, or None: the whole tab
    window: tuple[int, int] = (0, 0)
    ranges: tuple[int, int] = (0, 0)  # indexes into the batchGet's range list


def _grid(props: dict) -> tuple[int, int]:
    grid = props.get("gridProperties", {})
    return grid.get("rowCount", 0), grid.get("columnCount", 0)


def _known(target: TabTarget, memory: Remembered | None, sheet_id: int,
           grid: tuple[int, int]) -> bool:
    """Whether the tab is as the mirror left it, its rows remembered: it can be read in part."""
    return not (memory is None or memory.keys is None or memory.prints is None
                or target.fresh is None or memory.sheet_id != sheet_id or memory.grid != grid
                or len(memory.keys) != grid[0] - 1)


def window_shares(sizes: Mapping[str, int], verify_rows: int) -> dict[str, int]:
    """Rows of the window per tab: `verify_rows` in all, by the tabs' sizes, at least one each."""
    total = sum(sizes.values())
    return {title: min(n, max(1, -(-verify_rows * n // total))) if total else 0
            for title, n in sizes.items()}


def _partial(target: TabTarget, memory: Remembered, window: int
             ) -> tuple[list[tuple[int, int]], tuple[int, int]] | None:
    """Runs of data positions to read, and the window checked; None: read the whole tab."""
    assert memory.keys is not None and target.fresh is not None
    wanted = {key for key, _ in target.rows}
    need = {pos for pos, key in enumerate(memory.keys)
            if key is not None and (key in target.fresh or key not in wanted)}
    n = len(memory.keys)
    start = memory.cursor % n if n else 0
    size = min(window, n)
    need.update((start + i) % n for i in range(size))
    spans = runs(sorted(need))
    if len(spans) > MAX_RANGES_PER_TAB:
        return None
    return spans, (start, size)


def read_spreadsheet(http, spreadsheet_id: str, targets: Sequence[TabTarget],
                     remembered: Mapping[str, Remembered], *, retired_ids=frozenset(),
                     verify_rows: int = VERIFY_ROWS) -> SheetSnapshot:
    """Metadata, then one batchGet (more only past RANGES_PER_REQUEST ranges); see the module."""
    meta = http.fetch_sheet_metadata(spreadsheet_id)
    props = [sheet["properties"] for sheet in meta.get("sheets", [])]
    by_id = {int(p["sheetId"]): p for p in props}
    by_title = {p["title"]: p for p in props}
    found: dict[str, dict] = {}
    for target in targets:  # by id first: a renamed tab is still the same tab
        memory = remembered.get(target.title)
        if memory is not None and memory.sheet_id in by_id:
            found[target.title] = by_id[memory.sheet_id]
    claimed = {int(p["sheetId"]) for p in found.values()}
    for target in targets:
        candidate = by_title.get(target.title)
        if target.title not in found and candidate and int(candidate["sheetId"]) not in claimed:
            found[target.title] = candidate
            claimed.add(int(candidate["sheetId"]))
    marker = by_title.get(MARKER_TITLE)
    log = by_title.get(HAND_LOG_TITLE)
    ours = claimed | set(retired_ids) | ({int(marker["sheetId"])} if marker else set())
    other_cells = sum(r * c for r, c in (_grid(p) for p in props if int(p["sheetId"]) not in ours))

    known: dict[str, int] = {}  # tabs that can be read in part -> their data rows
    for target in targets:
        tab_props, memory = found.get(target.title), remembered.get(target.title)
        if tab_props is not None and memory is not None and _known(
                target, memory, int(tab_props["sheetId"]), _grid(tab_props)):
            known[target.title] = len(memory.keys or ())
    shares = window_shares(known, verify_rows)
    reads: list[_Read] = []
    ranges: list[str] = []
    for target in targets:
        tab_props = found.get(target.title)
        if tab_props is None:
            continue
        grid = _grid(tab_props)
        quoted = quote_title(tab_props["title"])
        part = None
        if target.title in shares:
            part = _partial(target, remembered[target.title], shares[target.title])
        first = len(ranges)
        if part is None:
            ranges.append(quoted)
            reads.append(_Read(target, tab_props, None))
        else:
            last = column_letters(max(grid[1], 1) - 1)
            ranges.append(f"{quoted}!A1:{last}1")
            ranges += [f"{quoted}!A{start + 2}:{last}{end + 1}" for start, end in part[0]]
            reads.append(_Read(target, tab_props, part[0], window=part[1]))
        reads[-1].ranges = (first, len(ranges))
    answers = _batch_get(http, spreadsheet_id, ranges)
    # A row read in part that does not hold the key remembered there means the rows were
    # moved (a sort): nothing not read can be trusted, so that tab is read whole after all.
    moved = [read for read in reads if read.partial is not None and _moved(
        read, answers[read.ranges[0]:read.ranges[1]], remembered[read.target.title])]
    if moved:
        again = _batch_get(http, spreadsheet_id, [quote_title(r.props["title"]) for r in moved])
        for index, read in enumerate(moved):
            read.partial, read.window = None, (0, 0)
            answers.append(again[index])
            read.ranges = (len(answers) - 1, len(answers))

    tabs: dict[str, TabSnapshot] = {}
    for read in reads:
        memory = remembered.get(read.target.title)
        tabs[read.target.title] = _snapshot(read, answers[read.ranges[0]:read.ranges[1]], memory)
    return SheetSnapshot(
        tabs=tabs, marker_id=int(marker["sheetId"]) if marker else None,
        taken_ids=frozenset(by_id), other_cells=other_cells, from_metadata=True,
        log_tab=(int(log["sheetId"]), _grid(log)[0]) if log else None)


def _batch_get(http, spreadsheet_id: str, ranges: list[str]) -> list[list[list[str]]]:
    out: list[list[list[str]]] = []
    for i in range(0, len(ranges), RANGES_PER_REQUEST):
        chunk = ranges[i:i + RANGES_PER_REQUEST]
        try:
            # Unformatted: a number format a manager put on column A ("1,234") must not make
            # the key unreadable, or the row would be rewritten on every sync.
            answer = http.values_batch_get(
                spreadsheet_id, chunk,
                params={"valueRenderOption": "UNFORMATTED_VALUE", "majorDimension": "ROWS"})
        except APIError as exc:
            message = str(exc.error.get("message", "")) if isinstance(exc.error, dict) else ""
            if exc.code == 400 and "Unable to parse range" in message:
                # Renamed or deleted between the metadata and this read: read again.
                raise TabMissing() from exc
            raise
        for value_range in answer.get("valueRanges", []):
            out.append([[cell_text(c) for c in row] for row in value_range.get("values", [])])
    return out


def _moved(read: _Read, answers: list[list[list[str]]], memory: Remembered) -> bool:
    assert read.partial is not None and memory.keys is not None
    for (start, end), block in zip(read.partial, answers[1:], strict=True):
        for i in range(end - start):
            row = block[i] if i < len(block) else []
            if parse_key(row[0] if row else None) != memory.keys[start + i]:
                return True
    return False


def _snapshot(read: _Read, answers: list[list[list[str]]],
              memory: Remembered | None) -> TabSnapshot:
    props, target = read.props, read.target
    rows, cols = _grid(props)
    sheet_id = int(props["sheetId"])
    written = None
    if memory is not None and memory.keys is not None and memory.prints is not None \
            and memory.sheet_id == sheet_id:
        written = {k: p for k, p in zip(memory.keys, memory.prints, strict=True)
                   if k is not None}
    renamed = None
    if memory is not None and memory.sheet_id == sheet_id:
        before = memory.sheet_title or target.title
        if props["title"] != before:
            renamed = before
    if read.partial is None:
        values = answers[0] if answers else []
        read_rows = len(values)
    else:
        assert memory is not None and memory.keys is not None
        header = answers[0][0] if answers and answers[0] else []
        got: dict[int, list[str]] = {}
        for (start, end), block in zip(read.partial, answers[1:], strict=True):
            for i in range(end - start):
                got[start + i] = block[i] if i < len(block) else []
        cells = dict(target.rows)
        data = []
        for pos, key in enumerate(memory.keys):
            if pos in got:
                data.append(got[pos])
            elif key is None:
                data.append([])
            else:
                data.append([str(key), *cells[key]])  # unchanged since the mirror wrote it
        values = [header, *data]
        read_rows = 1 + len(got)
    return TabSnapshot(props["title"], sheet_id, rows, cols, values, written=written,
                       renamed_from=renamed, partial=read.partial is not None,
                       read_rows=read_rows, window=read.window)
