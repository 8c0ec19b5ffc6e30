"""Shared fixtures' helpers for the mirror's tests: the projection as the sheet should show it."""

from __future__ import annotations

from sync.projection import project
from sync.registers import MIRRORS

SHEET_ID = "1MirrorEstateTEST_abcdefghijklmnopqrstuv"


def expected_values(estate_id: int, register: str = "residents") -> list[list[str]]:
    """What a tab must hold for the register right now (as text, trimmed like the API)."""
    mirror = MIRRORS[register]
    out = [list(mirror.headers)]
    for row in project(mirror, estate_id):
        cells = [str(row.key), *row.cells]
        while cells and cells[-1] == "":
            cells.pop()
        out.append(cells)
    return out


def mirrored_columns(values: list[list[str]], width: int) -> list[list[str]]:
    """A tab's mirrored columns only: columns people add to the right stay (#15)."""
    out = []
    for row in values:
        row = row[:width]
        while row and row[-1] == "":
            row.pop()
        out.append(row)
    while out and not out[-1]:
        out.pop()
    return out


def keys_in_column_a(values: list[list[str]]) -> list[str]:
    return [row[0] if row else "" for row in values[1:]]
