"""Exactly what each tab would hold, without Google: for the admin preview and its XLSX."""

from __future__ import annotations

import io

from flask import current_app
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from models.i18n import office_language
from models.validators.values import CONTROL_CHARS_RE
from sync.engine import mirrors_for
from sync.plan import TabTarget
from sync.projection import DEFAULT_TAB_CELL_LIMIT, project, tab_targets
from sync.registers import MIRRORS
from sync.state import SheetTarget

_BAD_XLSX_TITLE = str.maketrans({c: "_" for c in "[]:*?/\\"})


# What the office keeps is in its language, whoever asked (#12 item 2).
@office_language()
def preview_targets(estate_id: int, target: SheetTarget | None = None) -> list[TabTarget]:
    """The tabs a sync would write for an estate, split and masked exactly as the sync does."""
    mirrors = mirrors_for(target) if target is not None else list(MIRRORS.values())
    limit = current_app.config.get("SHEETS_TAB_CELL_LIMIT", DEFAULT_TAB_CELL_LIMIT)
    out: list[TabTarget] = []
    for mirror in mirrors:
        out += tab_targets(mirror, project(mirror, estate_id), cell_limit=limit)
    return out


def workbook_bytes(targets: list[TabTarget]) -> bytes:
    """An XLSX with one sheet per tab; text stays text, like the RAW writes to Google."""
    book = Workbook(write_only=True)
    for target in targets:
        sheet = book.create_sheet(title=target.title.translate(_BAD_XLSX_TITLE)[:31])
        sheet.append([_text_cell(sheet, h) for h in target.header])
        for key, cells in target.rows:
            sheet.append([key, *(_text_cell(sheet, c) for c in cells)])
    if not targets:
        book.create_sheet(title="空")
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _text_cell(sheet, value: str):
    # A control character pasted from Word (a vertical tab) cannot be held by an XLSX file:
    # openpyxl refused it and the download answered 500 (FINDINGS, #12 item 4).
    value = CONTROL_CHARS_RE.sub("", value)
    # openpyxl turns a string starting with "=" into a formula; a clerk's "=SUM(A1)" is text.
    if not value.startswith("="):
        return value
    cell = WriteOnlyCell(sheet, value=value)
    cell.data_type = "s"
    return cell
