"""Benchmark of the Sheets mirror against the local fake server (tests/sheets_fake.py).

Three syncs of one tab of 100,000 rows × 15 columns, through gspread's real HTTP client with the
request limiter on: the initial mirror, a sync after 1,000 changed rows (900 edited, 50 voided,
50 new records), and a sync with no change. For each: requests, bytes sent and received, wall
time, and how much of that time the fake server itself spent. The no-change sync reads the
metadata, the header and a rolling window of rows (sync/reading.py), not the whole tab (#15:
it used to download 61.4 MB every 5 minutes); its download size is printed on its own line.
BENCH_SHEETS_ROWS=… runs a smaller tab.

The projection is a synthetic list shaped like the complaint register (not read from the
database): the benchmark measures the read–plan–write path, not peewee. The fake is built for
correctness, not speed: every batchUpdate deep-copies the spreadsheet (it is atomic) and every
deleteDimension rebuilds the tab's cells, so at 1.5 million cells row deletions cost it seconds
that Google does not spend; hence the server time printed beside the wall time.
"""

from __future__ import annotations

import os
import random
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # `python bench/sheets_bench.py` as well as `python -m bench…`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sync.engine import mirror_spreadsheet  # noqa: E402
from sync.http import make_client  # noqa: E402
from sync.layout import layout_of  # noqa: E402
from sync.plan import MAX_PAYLOAD_BYTES, TabTarget  # noqa: E402
from sync.reading import VERIFY_ROWS, Remembered  # noqa: E402
from sync.report import SpreadsheetReport  # noqa: E402
from tests.sheets_fake import FakeSheets  # noqa: E402

ROWS = int(os.environ.get("BENCH_SHEETS_ROWS", "100000"))
CHANGED = 1_000
SPREADSHEET = "bench-spreadsheet"
TITLE = "投诉登记 2026"
HEADER = ("记录号", "编号", "受理时间", "来源渠道", "类型", "类别", "房屋", "联系人", "联系电话",
          "内容", "状态", "答复期限", "处理人", "处理结果", "满意度")
CHANNELS = ("电话", "来访", "业主建议", "部门/员工反馈")
KINDS = ("咨询", "求援", "投诉", "建议")
CATEGORIES = ("保安", "环境/保洁", "工程", "客服", "邻里关系")
TEXTS = ("厨房漏水严重，楼下天花板渗水", "电梯停运两小时", "夜间装修噪音扰民", "车位被占用",
         "=SUM(A1) 这是业主原话", "+86 138 0013 8000 请回电", "-1 楼垃圾未清运", "@物业 路灯不亮")
STATES = ("待派工", "处理中", "待回访", "已关闭")


def synthetic_row(key: int, rng: random.Random) -> tuple[int, tuple[str, ...]]:
    day = 1 + key % 28
    return key, (
        f"TS2026-{key:06d}", f"2026-{1 + key % 11:02d}-{day:02d} {key % 24:02d}:{key % 60:02d}",
        rng.choice(CHANNELS), rng.choice(KINDS), rng.choice(CATEGORIES),
        f"{1 + key % 30}-{1 + key % 4}-{100 * (1 + key % 18) + 1 + key % 4}",
        rng.choice("张王李赵刘陈杨黄") + "先生", f"13{key % 10}****{key % 10000:04d}",
        rng.choice(TEXTS), rng.choice(STATES), f"2026-{1 + key % 11:02d}-{day:02d} 18:00",
        rng.choice(("工程部 老周", "保洁组 小李", "客服 小王")),
        rng.choice(("已修复", "已答复", "")), rng.choice(("满意", "基本满意", "")),
    )


def timed(handle, clock: list[float]):
    """Wrap FakeSheets.handle to add up the time spent inside the fake server."""

    def wrapper(*args):
        started = time.perf_counter()
        try:
            return handle(*args)
        finally:
            clock[0] += time.perf_counter() - started

    return wrapper


def run(label: str, http, target: TabTarget, state, server_clock: list[float]) -> int:
    """One sync; remembers what it left as the engine's state table would. Returns bytes read."""
    report = SpreadsheetReport("BENCH", SPREADSHEET)
    requests, sent, received = http.request_count, http.bytes_sent, http.bytes_received
    server_clock[0] = 0.0
    started = time.perf_counter()
    mirror_spreadsheet(http, SPREADSHEET, [target], report, remembered=state,
                       max_payload=MAX_PAYLOAD_BYTES)
    seconds = time.perf_counter() - started
    plan = report.plan
    (tab,) = plan.tabs
    snap = report.snapshot.tabs.get(target.title) if report.snapshot else None
    keys, prints = layout_of(target.rows, tab.grid_after[0])
    cursor = sum(snap.window) if snap is not None and snap.partial else 0
    state[target.title] = Remembered(tab.sheet_id, tab.sheet_title, tab.grid_after, keys,
                                     prints, cursor)
    got = http.bytes_received - received
    print(f"{label:<26} requests {http.request_count - requests:>3}  "
          f"(read {report.read_requests}, structural {len(plan.structural)}, "
          f"values {len(plan.values)})  sent {(http.bytes_sent - sent) / 1e6:8.2f} MB  "
          f"received {got / 1e6:8.2f} MB  "
          f"time {seconds:6.2f} s (fake server {server_clock[0]:6.2f} s)  "
          f"cells written {tab.cells_written:>9,}  "
          f"rows +{tab.inserted} -{tab.deleted}")
    return got


def main() -> None:
    rng = random.Random(2026)
    rows = [synthetic_row(key, rng) for key in range(1, ROWS + 1)]
    print(f"Sheets mirror: one tab of {ROWS:,} rows × {len(HEADER)} columns against the local fake"
          f" (synthetic projection, request limiter on, payloads split at "
          f"{MAX_PAYLOAD_BYTES / 1e6:.0f} MB)")
    with FakeSheets() as fake:
        server_clock = [0.0]
        fake.handle = timed(fake.handle, server_clock)  # type: ignore[method-assign]
        fake.create_spreadsheet(SPREADSHEET, "基准测试")
        # The fake needs minutes, not seconds, for a large structural batch (see above).
        client = make_client(emulator_host=fake.host, timeout=900)
        http = client.http_client
        state: dict = {}
        try:
            run("initial mirror", http, TabTarget(TITLE, "bench", HEADER, rows), state,
                server_clock)

            # 1,000 changed rows: 900 edited, 50 voided, 50 new records (new ids go last).
            changed = rng.sample(range(len(rows)), min(950, len(rows)))
            fresh = set()
            for index in changed[:900]:
                key, cells = rows[index]
                rows[index] = (key, (*cells[:9], "已关闭", *cells[10:13], "满意"))
                fresh.add(key)
            voided = set(changed[900:])
            fresh |= {rows[i][0] for i in voided}
            rows = [row for i, row in enumerate(rows) if i not in voided]
            new = [synthetic_row(key, rng) for key in range(ROWS + 1, ROWS + 51)]
            rows += new
            fresh |= {key for key, _ in new}
            run(f"after {CHANGED:,} changed rows", http,
                TabTarget(TITLE, "bench", HEADER, rows, fresh=frozenset(fresh)), state,
                server_clock)

            quiet = run("no change", http, TabTarget(TITLE, "bench", HEADER, rows,
                                                      fresh=frozenset()), state, server_clock)
            print(f"no-change download at {len(rows):,} rows: {quiet / 1e6:.3f} MB "
                  f"(metadata, header and a window of {VERIFY_ROWS} rows; limit 1 MB)")
            want = [list(HEADER)] + [_trimmed([str(k), *c]) for k, c in rows]
            assert fake.values(SPREADSHEET, TITLE) == want, "the sheet must equal the projection"
            print("1,000,000 rows: not run. One tab cannot hold them (15 million cells, over "
                  "Google's 10 million per spreadsheet: the product splits a register by year), "
                  "and the fake copies the whole spreadsheet on every write (the 1,000-change "
                  "sync above spends nearly all its time there), so the case would take hours.")
        finally:
            http.session.close()


def _trimmed(cells: list[str]) -> list[str]:
    while cells and cells[-1] == "":
        cells.pop()
    return cells


if __name__ == "__main__":
    main()
