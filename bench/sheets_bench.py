"""Benchmark of the Sheets mirror against the local fake server (tests/sheets_fake.py).

For each size in BENCH_SHEETS (default "100000,1000000" demands), three syncs through gspread's
real HTTP client with the request limiter on: the initial mirror, a sync after 1,000 changed
rows (900 edited, 50 voided, 50 new records), and a sync with no change. For each: requests,
bytes sent and received, wall time, the fake server's own time, and the peak memory of the
bench process (the product's side: the fake runs in a child process of its own). The no-change
download is printed on its own line, per spreadsheet (#15: it used to be the whole tab, 61 MB
at 100,000 rows, every 5 minutes).

The rows are what the product would mirror, made up rather than read from a database (the
benchmark measures the read–plan–write path, not peewee): 14 columns of the complaint register
plus the key, received over 2024–2026, split into tabs by the product's own code
(sync/projection.py: one tab per year once a tab would pass 2,000,000 cells). One spreadsheet
holds at most 10,000,000 cells, so no spreadsheet can hold 1,000,000 such rows (15 million
cells; the product refuses, and the bench shows that answer first): a size above
BENCH_SHEETS_PER_SPREADSHEET (500,000) is spread over several estates, one spreadsheet each,
synced one after the other as the sheets_sync job does.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import multiprocessing
import os
import random
import resource
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # `python bench/sheets_bench.py` as well as `python -m bench…`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from models.demands import Demand  # noqa: E402
from sync.engine import mirror_spreadsheet  # noqa: E402
from sync.http import make_client  # noqa: E402
from sync.layout import layout_of  # noqa: E402
from sync.mapping import Mirror  # noqa: E402
from sync.plan import MAX_PAYLOAD_BYTES, MAX_SPREADSHEET_CELLS, PlanError  # noqa: E402
from sync.projection import DEFAULT_TAB_CELL_LIMIT, Row, tab_targets  # noqa: E402
from sync.reading import VERIFY_ROWS, Remembered  # noqa: E402
from sync.report import SpreadsheetReport  # noqa: E402
from tests.sheets_fake import FakeSheets  # noqa: E402

SIZES = [int(s) for s in os.environ.get("BENCH_SHEETS", "100000,1000000").split(",") if s]
PER_SPREADSHEET = int(os.environ.get("BENCH_SHEETS_PER_SPREADSHEET", "500000"))
CHANGED = 1_000
YEARS = (2024, 2025, 2026)
# The complaint register's mirror cut to the 14 columns the earlier 100,000-row figures used.
MIRROR = Mirror(
    name="demands", title="投诉登记", model=Demand, year_field="received_at",
    columns=("number", "received_at", "channel", "kind", "category", "unit.code",
             "contact_name", "contact_phone", "description", "status", "reply_due",
             "department.name", "result", "reply_content"),
)
CHANNELS = ("电话", "来访", "业主建议", "部门/员工反馈")
KINDS = ("咨询", "求援", "投诉", "建议")
CATEGORIES = ("保安", "环境/保洁", "工程", "客服", "邻里关系")
TEXTS = ("厨房漏水严重，楼下天花板渗水", "电梯停运两小时", "夜间装修噪音扰民", "车位被占用",
         "=SUM(A1) 这是业主原话", "+86 138 0013 8000 请回电", "-1 楼垃圾未清运", "@物业 路灯不亮")
STATES = ("待派工", "处理中", "待回访", "已关闭")
# The register's clock: rows written before the first sync, changed before the second.
BEFORE = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def synthetic_row(key: int, year: int, rng: random.Random, changed_at: dt.datetime) -> Row:
    month, day = 1 + key % 12, 1 + key % 28
    cells = (
        f"TS{year}-{key:07d}", f"{year}-{month:02d}-{day:02d} {key % 24:02d}:{key % 60:02d}",
        rng.choice(CHANNELS), rng.choice(KINDS), rng.choice(CATEGORIES),
        f"{1 + key % 30}-{1 + key % 4}-{100 * (1 + key % 18) + 1 + key % 4}",
        rng.choice("张王李赵刘陈杨黄") + "先生", f"13{key % 10}****{key % 10000:04d}",
        rng.choice(TEXTS), rng.choice(STATES), f"{year}-{month:02d}-{day:02d} 18:00",
        rng.choice(("工程部 老周", "保洁组 小李", "客服 小王")),
        rng.choice(("已修复", "已答复", "")), rng.choice(("满意", "基本满意", "")),
    )
    return Row(key=key, cells=cells, year=year, changed_at=changed_at)


def estates_of(total: int, rng: random.Random) -> list[list[Row]]:
    """`total` rows over as few estates as hold them, each received over YEARS in key order."""
    count = -(-total // PER_SPREADSHEET)
    estates, key = [], 0
    for n in range(count):
        size = total // count + (1 if n < total % count else 0)
        estates.append([synthetic_row(key + i + 1, YEARS[i * len(YEARS) // size], rng, BEFORE)
                        for i in range(size)])
        key += size
    return estates


def change(estates: list[list[Row]], rng: random.Random, at: dt.datetime) -> None:
    """900 rows edited and 50 voided anywhere, 50 new records of the last year, in place."""
    places = [(e, i) for e, rows in enumerate(estates) for i in range(len(rows))]
    picked = rng.sample(places, 950)
    for e, i in picked[:900]:
        row = estates[e][i]
        cells = (*row.cells[:9], "已关闭", *row.cells[10:13], "满意")
        estates[e][i] = Row(row.key, cells, row.year, at)
    voided = set(picked[900:])
    for e, rows in enumerate(estates):
        rows[:] = [row for i, row in enumerate(rows) if (e, i) not in voided]
    last = max(row.key for rows in estates for row in rows)
    for n in range(CHANGED - 950):
        estates[n % len(estates)].append(synthetic_row(last + n + 1, YEARS[-1], rng, at))


def fingerprint(values: list[list[str]]) -> str:
    return hashlib.sha256(json.dumps(values, ensure_ascii=False).encode()).hexdigest()


def resident_mb() -> float:
    """This process's resident memory now (Linux), against the peak the runs print."""
    with open("/proc/self/status", encoding="ascii") as status:
        line = next(line for line in status if line.startswith("VmRSS:"))
    return int(line.split()[1]) / 1024


def trimmed(cells: list[str]) -> list[str]:
    while cells and cells[-1] == "":
        cells.pop()
    return cells


# -- the fake, in a process of its own ---------------------------------------------------------


def serve(conn) -> None:
    """Run the fake and answer the bench's commands; its own time and memory stay apart."""
    clock = [0.0]
    with FakeSheets() as fake:
        handle = fake.handle

        def timed(*args):
            started = time.perf_counter()
            try:
                return handle(*args)
            finally:
                clock[0] += time.perf_counter() - started

        fake.handle = timed  # type: ignore[method-assign]
        conn.send(fake.host)
        while True:
            command, *args = conn.recv()
            if command == "create":
                fake.create_spreadsheet(*args)
                conn.send(None)
            elif command == "clock":  # seconds spent serving since the last call
                seconds, clock[0] = clock[0], 0.0
                fake.requests.clear()  # the log keeps every body; nothing here reads it
                conn.send(seconds)
            elif command == "fingerprints":
                (spreadsheet,) = args
                conn.send({tab: fingerprint(fake.values(spreadsheet, tab))
                           for tab in fake.tab_titles(spreadsheet)})
            else:
                conn.send(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
                return


class Fake:
    def __init__(self) -> None:
        context = multiprocessing.get_context("fork")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=serve, args=(child,), daemon=True)
        self.process.start()
        self.host = self.conn.recv()

    def ask(self, *command):
        self.conn.send(command)
        return self.conn.recv()

    def stop(self) -> int:
        """The fake's peak memory (KB)."""
        peak = self.ask("stop")
        self.process.join(timeout=30)
        return peak


# -- the syncs ---------------------------------------------------------------------------------


class Spreadsheet:
    """One estate's spreadsheet and what the engine's state table would remember of it."""

    def __init__(self, spreadsheet_id: str, rows: list[Row]) -> None:
        self.id = spreadsheet_id
        self.rows = rows
        self.remembered: dict[str, Remembered] = {}
        self.since: dict[str, dt.datetime] = {}
        self.targets = []

    def sync(self, http, started: dt.datetime) -> SpreadsheetReport:
        self.targets = tab_targets(MIRROR, self.rows, cell_limit=DEFAULT_TAB_CELL_LIMIT,
                                   synced_since=self.since)
        report = SpreadsheetReport("BENCH", self.id)
        mirror_spreadsheet(http, self.id, self.targets, report, remembered=self.remembered,
                           max_payload=MAX_PAYLOAD_BYTES)
        by_title = {t.title: t for t in self.targets}
        for tab in report.tabs:  # as sync/engine.py's _record keeps it
            snap = report.snapshot.tabs.get(tab.title) if report.snapshot else None
            keys, prints = layout_of(by_title[tab.title].rows, tab.grid_after[0])
            cursor = sum(snap.window) if snap is not None and snap.partial else 0
            self.remembered[tab.title] = Remembered(tab.sheet_id, tab.sheet_title,
                                                    tab.grid_after, keys, prints, cursor)
            self.since[tab.title] = started
        return report


def run(label: str, http, fake: Fake, sheets: list[Spreadsheet], started: dt.datetime
        ) -> list[int]:
    """One sync of every spreadsheet, in turn; prints the totals, returns bytes read per sheet."""
    requests, sent, throttled = http.request_count, http.bytes_sent, http.throttled_seconds
    fake.ask("clock")
    clock, cpu = time.perf_counter(), time.process_time()
    got, each, reads, structural, values, written, inserted, deleted = [], [], 0, 0, 0, 0, 0, 0
    for sheet in sheets:
        before, since = http.bytes_received, time.perf_counter()
        report = sheet.sync(http, started)
        got.append(http.bytes_received - before)
        each.append(time.perf_counter() - since)
        reads += report.read_requests
        structural += len(report.plan.structural)
        values += len(report.plan.values)
        written += sum(t.cells_written for t in report.tabs)
        inserted += sum(t.inserted for t in report.tabs)
        deleted += sum(t.deleted for t in report.tabs)
    seconds, cpu = time.perf_counter() - clock, time.process_time() - cpu
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{label:<26} requests {http.request_count - requests:>4}  "
          f"(read {reads}, structural {structural}, values {values})  "
          f"sent {(http.bytes_sent - sent) / 1e6:8.2f} MB  received {sum(got) / 1e6:8.2f} MB  "
          f"time {seconds:7.2f} s (of it: waiting for the request limiter "
          f"{http.throttled_seconds - throttled:6.2f} s, fake server {fake.ask('clock'):6.2f} s; "
          f"the product's CPU {cpu:6.2f} s)  cells written {written:>10,}  "
          f"rows +{inserted} -{deleted}  bench peak memory {peak:,.0f} MB"
          + (f"  (per spreadsheet {', '.join(f'{t:.1f} s' for t in each)})"
             if len(each) > 1 else ""), flush=True)
    return got


def refused(http, fake: Fake, rows: list[Row]) -> None:
    """What the product answers when one estate's register needs more than a spreadsheet."""
    fake.ask("create", "bench-one", "基准测试（单个表格）")
    sheet = Spreadsheet("bench-one", rows)
    requests, clock = http.request_count, time.perf_counter()
    try:
        sheet.sync(http, BEFORE)
    except PlanError as exc:
        print(f"one spreadsheet, {len(rows):,} rows in {len(sheet.targets)} year tabs: refused "
              f"after {http.request_count - requests} request(s) and "
              f"{time.perf_counter() - clock:.1f} s, before writing: {exc}")
        return
    raise AssertionError(f"{len(rows):,} rows fitted in one spreadsheet")


def bench_size(total: int) -> None:
    fake = Fake()  # forked before the rows exist: its memory is its own
    rng = random.Random(2026)
    estates = estates_of(total, rng)
    print(f"the bench's memory with the {total:,} rows made, before any sync: "
          f"{resident_mb():,.0f} MB", flush=True)
    # A generous timeout: the fake shares the cores with the bench (and, here, other work).
    client = make_client(emulator_host=fake.host, timeout=900)
    http = client.http_client
    try:
        if (1 + total) * len(MIRROR.headers) > MAX_SPREADSHEET_CELLS:
            refused(http, fake, [row for rows in estates for row in rows])
        sheets = [Spreadsheet(f"bench-{n + 1}", rows) for n, rows in enumerate(estates)]
        for sheet in sheets:
            fake.ask("create", sheet.id, f"基准测试 {sheet.id}")
        titles = [t.title for t in tab_targets(MIRROR, sheets[0].rows)]
        print(f"-- {total:,} rows × {len(MIRROR.headers)} columns: {len(sheets)} spreadsheet(s)"
              f" of {', '.join(titles)}", flush=True)
        run("initial mirror", http, fake, sheets, BEFORE + dt.timedelta(hours=1))
        change(estates, rng, BEFORE + dt.timedelta(hours=2))
        run(f"after {CHANGED:,} changed rows", http, fake, sheets,
            BEFORE + dt.timedelta(hours=3))
        quiet = run("no change", http, fake, sheets, BEFORE + dt.timedelta(hours=4))
        tabs = sum(len(s.targets) for s in sheets)
        print(f"no-change download at {total:,} rows: {sum(quiet) / 1e6:.3f} MB in all, "
              f"per spreadsheet {', '.join(f'{q / 1e6:.3f}' for q in quiet)} MB (metadata, and "
              f"per tab its header and a window of rows; {tabs} tabs; limit 1 MB)")
        for sheet in sheets:
            want = {t.title: fingerprint([list(t.header)] + [trimmed([str(k), *c])
                                                              for k, c in t.rows])
                    for t in sheet.targets}
            have = fake.ask("fingerprints", sheet.id)
            assert {t: have[t] for t in want} == want, "the sheet must equal the projection"
    finally:
        http.session.close()
        print(f"fake server peak memory {fake.stop() / 1024:,.0f} MB")


def main() -> None:
    print(f"Sheets mirror against the local fake (synthetic projection, request limiter on, "
          f"payloads split at {MAX_PAYLOAD_BYTES / 1e6:.0f} MB, window {VERIFY_ROWS} rows)")
    for total in SIZES:
        bench_size(total)


if __name__ == "__main__":
    main()
