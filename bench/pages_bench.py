"""Every page a user opens, at three sizes, on SQLite and PostgreSQL (#14): one table.

The databases are kept as production keeps them (bench/pages_data.py): jobs_bench's registers
(1,000,000 demands, 200,000 work orders and passes, 100,000 key loans and 100,000 rows across
the other registers at scale 1), the overdue sweep run, callbacks, decorations, the audit
trail and the messages sent added, texts to search. Each request goes through the real
stack, the Flask test client (not a socket), logged in as a supervisor of every estate by a
real POST to /login; each request opens and closes its own database connection as in
production. Per case: the median of BENCH_REPEAT
requests after one warm-up, and the SQL statements one request ran. The sizes are measured
side by side (each round asks every size once in turn), so the ratio between two sizes is not
the load of the shared machine changing between two runs.

Cases: for the demand, work order, callback, key, pass, decoration and deposit grids their first
page, a deep page (page 20 of 50 rows), a filter, a search (and a number's serial searched
alone: 00000123) and a sort, and one row's details;
the first page of every other register grid and each sort it offers (offered_sorts); the
audit log searched by a number and by words no row holds, and filtered by a user and a month,
通知发送记录 filtered by a channel and an event with few messages; the front desk, each of its
queue links (待派工,
已超期 …) and 超时 links, the callback queue, the monthly review (分析与总结), the approvals
queue and the phone page (/m/). The goal of #14: at 1M each case under 150 ms and within ×1.3 of
its 100k figure.

Environment:
  BENCH_PAGES_SCALES="0.001,0.1"  jobs_bench scales (0.001 = 1,000 demands, 1 = 1,000,000)
  BENCH_PG_URL=postgresql://…/NAME also PostgreSQL: NAME for 1M, NAME_100k, NAME_1k beside it (own
                                   databases, made with createdb first: they are overwritten)
  BENCH_PAGES_ENGINES=sqlite,pg    restrict the engines
  BENCH_PAGES_CASES=demand,home    only the cases whose name contains one of these
  BENCH_REPEAT=7                   timed requests per case
  BENCH_JOBS_DIR                   where the databases are kept (jobs_bench's folder)
Results are added to pages_results.json in that folder, so scales and engines can be measured
in separate runs; the table printed at the end holds every result kept there.
"""

from __future__ import annotations

import json
import logging
import os
import re
import statistics
import time
from urllib.parse import urlencode

from bench.demand_data import SEARCH_TERM
from bench.demand_report import machine
from bench.demands_bench import get, logged_in_client
from bench.jobs_data import NOW, _data_dir, sqlite_app
from bench.pages_data import build_pages

GOAL_MS, GOAL_RATIO = 150.0, 1.3
DEEP_PAGE = 19  # Flask-Admin counts pages from 0: the 20th page, rows 951–1,000
# The registers measured case by case: (endpoint, filter column, value, search term, sort column)
DETAILED = (
    ("demand", "status", "open", SEARCH_TERM, "reply_due"),
    ("work_order", "state", "open", "WX-B-00000123", "completed_at"),
    ("callback", "satisfied", "0", None, "satisfied"),
    ("key_movement", "kind", "lend", "JY-B-00000123", "expected_return"),
    ("temporary_pass", "state", "issued", "LS-B-00000123", "valid_to"),
    ("decoration", "state", "permitted", "ZX-B-00000100", "works_end"),
    ("deposit", "state", "due", "SJ-B-00000123", "amount"),
)
FIXED = {"front desk": "/admin/", "callback queue": "/admin/callback_queue/",
         "monthly review": "/admin/review/", "phone page": "/m/",
         # The data's own month (this month has none of the bench's demands): 43,000 demands
         # of ten estates at 1M, each month of the trend as many.
         "monthly review: data's month": f"/admin/review/?month={NOW:%Y-%m}"}


class _Statements(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record):
        if record.name == "peewee":  # the statements, not the pool's "returning to pool"
            self.count += 1


def statements(client, url: str) -> tuple[int, int | None]:
    """(the SQL statements one request of the page ran, the rows its grid shows or None)."""
    logger = logging.getLogger("peewee")
    handler, saved = _Statements(), logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        body = get(client, url)
    finally:
        logger.removeHandler(handler)
        logger.setLevel(saved)
    return handler.count, grid_rows(body)


def grid_rows(body: str) -> int | None:
    """The rows a register grid's page shows (None: not a grid). A page of fewer rows at 100k
    than at 1M (a 超时 link whose rule has few flags in the smaller office) does less work for
    that alone, so its ratio is marked in the table."""
    table = re.search(r'<table[^>]*model-list.*?</thead>(.*?)</table>', body, re.S)
    if table is None:
        return None
    return len(re.findall(r"<tr[\s>]", table.group(1))) - table.group(1).count('colspan="999"')


def _views(app):
    return {v.endpoint: v for v in app.extensions["admin"][0]._views}


def _filter_arg(view, column: str, value: str, kind: str | None = None) -> dict:
    """The grid's ?flt0_N= for this column: its filter of class `kind` (a name), or its
    equality filter."""
    def wanted(f) -> bool:
        name = type(f).__name__
        return name == kind if kind else "Equal" in name and "Not" not in name

    index = next(i for i, f in enumerate(view._filters)
                 if getattr(f.column, "name", None) == column and wanted(f))
    return {f"flt0_{index}": value}


def offered_sorts(view) -> list[str]:
    """The grid's columns whose heading sorts (Flask-Admin: listed and sortable)."""
    return [name for name, _ in view._list_columns if name in view._sortable_columns]


def _sort_arg(view, column: str) -> dict:
    names = [name for name, _ in view._list_columns]
    return {"sort": names.index(column), "desc": 1}


def _some_id(view) -> int:
    from peewee import fn

    from models.base import db

    with db.connection_context():
        return view.model.select(fn.MAX(view.model.id)).scalar()


def _rule_ids() -> set[str]:
    from jobs.overdue import RULES

    return {rule.id for rule in RULES}


def register_urls(view, endpoint: str, column: str, value: str, term: str | None,
                  sort: str) -> dict[str, str]:
    """One DETAILED register's cases on a Flask-Admin view at /admin/<endpoint>/ (the desk's, or
    bench/compare_bench.py's stock one over the same model)."""
    base = f"/admin/{endpoint}/"
    urls = {f"{endpoint}: first page": base,
            f"{endpoint}: page 20": base + "?" + urlencode({"page": DEEP_PAGE})}
    args = _filter_arg(view, column, value)
    if endpoint == "demand":
        args.update({k.replace("flt0", "flt1"): v for k, v in
                     _filter_arg(view, "category", "engineering").items()})
    urls[f"{endpoint}: filter {column}={value}"] = base + "?" + urlencode(args)
    if term:
        urls[f"{endpoint}: search {term}"] = base + "?" + urlencode({"search": term})
    if term and re.fullmatch(r"[A-Z]{2}-\w+-\d+", term):  # its serial typed alone
        serial = term.rsplit("-", 1)[1]
        urls[f"{endpoint}: search {serial}"] = base + "?" + urlencode({"search": serial})
    urls[f"{endpoint}: sort by {sort}"] = base + "?" + urlencode(_sort_arg(view, sort))
    urls[f"{endpoint}: details"] = f"{base}details/?id={_some_id(view)}"
    return urls


def case_urls(app, client) -> dict[str, str]:
    """Every case's URL: the registers' grids, the pages the front desk links to."""
    views = _views(app)
    urls = {}
    for endpoint, *case in DETAILED:
        urls.update(register_urls(views[endpoint], endpoint, *case))
    detailed = {d[0] for d in DETAILED}
    for endpoint, view in sorted(views.items()):
        if (endpoint not in detailed and hasattr(view, "get_list")
                and hasattr(view, "page_size_options")):
            urls[f"{endpoint}: first page"] = f"/admin/{endpoint}/"
            # Each sort the grid offers (a column heading that is a link), newest/largest first.
            for column in offered_sorts(view):
                urls[f"{endpoint}: sort by {column}"] = (f"/admin/{endpoint}/?"
                                                        + urlencode(_sort_arg(view, column)))
    # The audit trail and the messages, searched and filtered as a manager does (layout 3:
    # millions of rows at 1M; migration 036): a record's trail by its number, words no row
    # holds, a user with no rows, a month long past, an action and a table no row has, a
    # channel and an event with few messages.
    audit = views["audit"]
    urls["audit: search XQ-B-00000123"] = "/admin/audit/?search=XQ-B-00000123"
    urls["audit: search 无此记录"] = "/admin/audit/?" + urlencode({"search": "无此记录"})
    urls["audit: filter username=nobody"] = "/admin/audit/?" + urlencode(
        _filter_arg(audit, "username", "nobody"))
    urls["audit: filter created_at in 2025-01"] = "/admin/audit/?" + urlencode(_filter_arg(
        audit, "created_at", "2025-01-01 00:00:00 to 2025-01-31 23:59:59",
        "DateTimeBetweenFilter"))
    for column, value in (("action", "reveal"), ("table", "calendar_override")):
        urls[f"audit: filter {column}={value}"] = "/admin/audit/?" + urlencode(
            _filter_arg(audit, column, value))
    for column, value in (("channel", "inapp"), ("event", "emergency_reported")):
        urls[f"outbox: filter {column}={value}"] = "/admin/outbox/?" + urlencode(
            _filter_arg(views["outbox"], column, value))
    urls.update(FIXED)
    home = get(client, "/admin/")
    for href in re.findall(r'href="(/admin/[a-z_]+/\?flt[^"]+)"', home):
        endpoint, value = re.match(r"/admin/([a-z_]+)/\?flt\d_\d+=([a-z_]+)", href).groups()
        kind = "超时" if value in _rule_ids() else "queue"
        urls.setdefault(f"{kind} link: {value}", href.replace("&amp;", "&"))
    return urls


def measure(apps: dict[float, object], repeat: int, wanted: list[str]) -> dict:
    """Every case on every size, paired: each round requests the case once per size in turn,
    so a change in the machine's load falls on all sizes alike (the cores are shared)."""
    import models

    clients, urls = {}, {}
    for scale, app in apps.items():
        models.bind(app)
        clients[scale] = logged_in_client(app)
        urls[scale] = case_urls(app, clients[scale])
    names = list(dict.fromkeys(n for scale in apps for n in urls[scale]))
    results = {scale: {} for scale in apps}
    for name in names:
        if wanted and not any(w in name for w in wanted):
            continue
        present = {}
        for scale, app in apps.items():
            if name not in urls[scale]:
                continue
            models.bind(app)
            status = clients[scale].get(urls[scale][name]).status_code
            if status == 200:  # else a register a supervisor may not open (users …)
                present[scale] = statements(clients[scale], urls[scale][name])
        samples = {scale: [] for scale in present}
        for _ in range(repeat):
            for scale in present:
                models.bind(apps[scale])
                started = time.perf_counter()
                get(clients[scale], urls[scale][name])
                samples[scale].append((time.perf_counter() - started) * 1000)
        for scale, (count, rows) in present.items():
            results[scale][name] = {"ms": statistics.median(samples[scale]), "sql": count,
                                    "rows": rows, "url": urls[scale][name]}
        print(f"   {name:<44} " + "  ".join(
            f"{_label(scale)} {results[scale][name]['ms']:7.1f} ms ({present[scale][0]:2d} SQL"
            + ("" if present[scale][1] is None else f", {present[scale][1]} rows") + ")"
            for scale in present), flush=True)
    return results


def _results_file():
    return _data_dir() / "pages_results.json"


def _keep(engine: str, scale: float, results: dict, load: tuple) -> dict:
    path = _results_file()
    held = json.loads(path.read_text()) if path.exists() else {}
    kept = held.get(f"{engine} {scale:g}", {}).get("results", {})
    held[f"{engine} {scale:g}"] = {"results": {**kept, **results}, "load": load,
                                   "when": time.strftime("%Y-%m-%d %H:%M")}
    path.write_text(json.dumps(held, ensure_ascii=False, indent=1))
    return held


def _label(scale: float) -> str:
    n = int(1_000_000 * scale)
    return f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n // 1000}k"


def print_table(held: dict) -> None:
    """One row per case: each engine's figures by size, then its 1M/100k ratio."""
    columns = sorted(held, key=lambda k: (k.split()[0] != "SQLite", float(k.split()[1])))
    names = list(dict.fromkeys(n for c in columns for n in held[c]["results"]))
    engines = list(dict.fromkeys(c.split()[0] for c in columns))
    print("\n   " + "; ".join(f"{c}: {held[c]['when']}, load {held[c]['load']}" for c in columns))
    head = []
    for engine in engines:
        head += [f"{engine} {_label(float(c.split()[1]))}" for c in columns
                 if c.split()[0] == engine] + ["1M/100k"]
    print("| case | " + " | ".join(head) + " |")
    print("|---" * (1 + len(head)) + "|")
    missed, filling = [], []
    for name in names:
        cells = []
        for engine in engines:
            for c in columns:
                if c.split()[0] == engine:
                    got = held[c]["results"].get(name)
                    cells.append(f"{got['ms']:.0f} ms" if got else "—")
            big = held.get(f"{engine} 1", {}).get("results", {}).get(name)
            mid = held.get(f"{engine} 0.1", {}).get("results", {}).get(name)
            if big and mid:
                ratio = big["ms"] / mid["ms"]
                fuller = (mid.get("rows") or 0) < (big.get("rows") or 0)
                cells.append(f"×{ratio:.2f}" + (f" ({mid['rows']}→{big['rows']} rows)"
                                                if fuller else ""))
                if ratio > GOAL_RATIO or big["ms"] >= GOAL_MS:
                    (filling if fuller and big["ms"] < GOAL_MS else missed).append(
                        f"{engine} {name} ({big['ms']:.0f} ms, ×{ratio:.2f})")
            else:
                cells.append("—")
        print(f"| {name} | " + " | ".join(cells) + " |")
    if missed:
        print(f"\n   missing the goal (< {GOAL_MS:.0f} ms at 1M, ≤ ×{GOAL_RATIO} of 100k): "
              + "; ".join(missed))
    if filling:
        print(f"\n   above ×{GOAL_RATIO} with a page of fewer rows at 100k than at 1M (the"
              " smaller office has fewer such rows; the work per row shown is the same): "
              + "; ".join(filling))


def _pg_url(base: str, scale: float) -> str:
    """One PostgreSQL database per size (the sizes are measured side by side): the URL's
    database for the largest, `<name>_<size>` beside it for the others."""
    return base if scale >= 1 else f"{base}_{_label(scale).lower()}"


def main() -> None:
    from app import create_app
    from bench.jobs_bench_pg import load_postgres
    from jobs.statistics import db_statistics
    from models.base import db

    scales = [float(s) for s in os.environ.get("BENCH_PAGES_SCALES", "0.001,0.1").split(",")]
    engines = os.environ.get("BENCH_PAGES_ENGINES", "sqlite,pg").split(",")
    wanted = [w for w in os.environ.get("BENCH_PAGES_CASES", "").split(",") if w]
    repeat = int(os.environ.get("BENCH_REPEAT", "7"))
    pg_url = os.environ.get("BENCH_PG_URL")
    print(f"   machine: {machine()}", flush=True)
    paths = {scale: build_pages(scale) for scale in scales}
    held = {}
    for engine in ("SQLite", "PostgreSQL"):
        if engine == "SQLite" and "sqlite" not in engines:
            continue
        if engine == "PostgreSQL" and not (pg_url and "pg" in engines):
            continue
        apps = {}
        for scale, path in paths.items():
            if engine == "SQLite":
                apps[scale] = sqlite_app(path)
            else:
                url = _pg_url(pg_url, scale)
                load_postgres(url, path, path.with_suffix(".done").read_text(), empty=())
                db.close()
                apps[scale] = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
                # As production's db_statistics job leaves it after an upgrade: the copy was
                # vacuumed and analysed when loaded, a migration since may have rewritten rows.
                with apps[scale].app_context(), db.connection_context():
                    db_statistics()
        load = tuple(round(x, 1) for x in os.getloadavg())
        print(f"== {engine}, scales {', '.join(f'{s:g}' for s in scales)}; load average {load}",
              flush=True)
        results = measure(apps, repeat, wanted)
        db.close()
        for scale in scales:
            held = _keep(engine, scale, results[scale], load)
    if held or _results_file().exists():
        print_table(held or json.loads(_results_file().read_text()))
