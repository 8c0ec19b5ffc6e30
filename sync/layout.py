"""What the mirror remembers of a tab's rows: their keys and fingerprints, in sheet order.

A fingerprint is a CRC-32 of the row's cells as the mirror wrote them (column A to the last
mirrored column, trailing blanks trimmed, as the API reads them back). Comparing a row read
from the sheet with it tells a person's edit from the mirror's own writing, for any row (also a
row the register changed since: an edit colliding with a clerk's), and the keys tell where each
record sits, so an unchanged sync needs to read only a few rows (sync/reading.py).
Stored zlib-compressed on SheetTab.layout: ~0.4 MB for 100,000 rows.
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Sequence

NO_KEY = -1  # a blank data row (an empty tab keeps one under its frozen header)


def fingerprint(cells: Sequence[object]) -> int:
    """CRC-32 of the row as text, trailing blanks trimmed."""
    texts = [str(c) for c in cells]
    while texts and texts[-1] == "":
        texts.pop()
    return zlib.crc32("\x1f".join(texts).encode("utf-8"))


def pack(keys: Sequence[int | None], prints: Sequence[int]) -> bytes:
    if len(keys) != len(prints):
        raise ValueError("one fingerprint per row")
    head = array("q", [len(keys)])
    body = array("q", [NO_KEY if k is None else k for k in keys])
    return zlib.compress(head.tobytes() + body.tobytes() + array("I", prints).tobytes())


def unpack(blob: bytes | memoryview | None) -> tuple[list[int | None], list[int]] | None:
    """(keys, fingerprints) as packed, or None when nothing (or something unreadable) is kept."""
    if not blob:
        return None
    try:
        data = zlib.decompress(bytes(blob))
        count = array("q", data[:8])[0]
        keys = array("q", data[8:8 + 8 * count])
        prints = array("I", data[8 + 8 * count:])
    except (zlib.error, ValueError, IndexError):
        return None
    if len(keys) != count or len(prints) != count:
        return None
    return [None if k == NO_KEY else k for k in keys], list(prints)


def layout_of(rows: Sequence[tuple[int, Sequence[str]]], grid_rows: int
              ) -> tuple[list[int | None], list[int]]:
    """Keys and fingerprints of a tab that holds exactly `rows` (plus blank spare rows)."""
    keys: list[int | None] = [key for key, _ in rows]
    prints = [fingerprint([str(key), *cells]) for key, cells in rows]
    spare = max(0, grid_rows - 1 - len(keys))
    return keys + [None] * spare, prints + [fingerprint([])] * spare
