"""Pure helpers of the planner: A1 notation, sheet ids, row runs, and request batching."""

from __future__ import annotations

import bisect
import json
import zlib
from collections.abc import Iterable
from typing import Any

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



def longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
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


def runs(sorted_ints: Iterable[int]) -> list[tuple[int, int]]:
    """[1, 2, 3, 7] -> [(1, 4), (7, 8)] (half-open)."""
    runs: list[tuple[int, int]] = []
    for n in sorted_ints:
        if runs and runs[-1][1] == n:
            runs[-1] = (runs[-1][0], n + 1)
        else:
            runs.append((n, n + 1))
    return runs



def blocks(changed_rows: list[tuple[int, list[int], list[Any]]]):
    """Group consecutive changed rows into rectangles; unchanged cells inside are null (skipped)."""
    blocks = []
    group: list[tuple[int, list[int], list[Any]]] = []
    for item in changed_rows:
        if group and item[0] != group[-1][0] + 1:
            blocks.append(block(group))
            group = []
        group.append(item)
    if group:
        blocks.append(block(group))
    return blocks


def block(group):
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



def split_requests(items: list[dict], limit: int) -> list[list[dict]]:
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


def split_values(tabs: list, limit: int) -> list[list[dict]]:
    """ValueRanges for every changed block, cut by rows so that no body passes `limit` bytes."""
    batches: list[list[dict]] = [[]]
    size = 0
    for tab in tabs:
        # requests sends JSON with ASCII escapes: a Chinese character costs 6 bytes.
        title = tab.sheet_title or tab.title  # a tab renamed by hand is written by its name
        range_size = len(json.dumps(quote_title(title))) + 40
        for row0, col0, col1, rows in tab.blocks:
            part: list[list[Any]] = []
            part_start = row0
            size += range_size
            for i, row in enumerate(rows):
                n = len(json.dumps(row)) + 1
                if size + n > limit and (part or batches[-1]):
                    if part:
                        batches[-1].append(value_range(title, part_start, col0, col1, part))
                    batches.append([])
                    part, part_start, size = [], row0 + i, range_size
                part.append(row)
                size += n
            if part:
                batches[-1].append(value_range(title, part_start, col0, col1, part))
    return [batch for batch in batches if batch]


def value_range(title: str, row0: int, col0: int, col1: int, rows: list[list[Any]]) -> dict:
    return {"range": a1(title, row0, col0, row0 + len(rows), col1), "values": rows}



def cell_a1(row0: int, col0: int) -> str:
    """A cell's address without its tab, 0-based: (1, 2) -> C2."""
    return f"{column_letters(col0)}{row0 + 1}"


def parse_key(text: object) -> int | None:
    """Column A as a record id, or None (blank, text, a hand-typed "007")."""
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    if isinstance(text, str) and text.isascii() and text.isdigit() and (
            text == "0" or not text.startswith("0")):
        return int(text)
    return None


def trimmed(cells) -> tuple[str, ...]:
    end = len(cells)
    while end and cells[end - 1] == "":
        end -= 1
    return tuple(cells[:end])
