"""#15: a register too large for one spreadsheet is refused before its rows are planned.

At 1,000,000 demands one estate's register needs 15 million cells, over Google's 10 million per
spreadsheet, however it is split into tabs. The planner used to plan every cell of every tab
first (53 s in bench/sheets_bench.py on the shared machine) and only then refuse, on every
scheduled sync; the total is now checked from the tabs' sizes alone.
"""

from __future__ import annotations

import pytest

from sync import plan as planner
from sync.plan import PlanError, SheetSnapshot, TabSnapshot, TabTarget, plan_sync

HEADER = ("记录号", "编号", "内容", "状态")


def planned(*args, **kwargs):
    raise AssertionError("a tab was planned before the file's total was checked")


def test_too_many_cells_are_refused_before_any_row_is_planned(monkeypatch):
    monkeypatch.setattr(planner, "plan_tab", planned)
    row = ("XQ-1", "漏水", "待派工")
    years = [TabTarget(f"投诉登记 {year}", "demands", HEADER, [(1, row)] * 1_250_000)
             for year in (2025, 2026)]
    with pytest.raises(PlanError, match="镜像需要 10,000,008 个单元格"):
        plan_sync(years, SheetSnapshot(tabs={}, marker_id=None))


def test_the_total_counts_the_columns_people_added(monkeypatch):
    monkeypatch.setattr(planner, "plan_tab", planned)
    # 2,000,000 rows × 4 columns fit; the 2 columns a person added on the right stay (#15).
    target = TabTarget("投诉登记", "demands", HEADER, [(1, ("a", "b", "c"))] * 1_999_999)
    wide = TabSnapshot("投诉登记", 7, 2_000_000, 6, [])
    with pytest.raises(PlanError, match="镜像需要 12,000,000 个单元格"):
        plan_sync([target], SheetSnapshot(tabs={"投诉登记": wide}, marker_id=None))
