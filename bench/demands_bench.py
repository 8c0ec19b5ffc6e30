"""The demand grid at 1,000 and 1,000,000 demands in SQLite (issue 3, "Performance").

Three cases, each through the real stack — the Flask test client, logged in as a supervisor by a
real POST to /login with the CSRF token read from the page:

  first page    GET /admin/demand/
  filtered      GET /admin/demand/?flt0_<i>=open&flt1_<j>=engineering   (i, j: the FilterEqual
                of status and of category in the view's _filters)
  search        GET /admin/demand/?search=漏水   (bigram FTS5 index, models/search.py)

Each request opens its own database connection, as in production (models.init_app). Beside the
whole request, the view's own get_list (the SQL and the row objects, no template) is timed on a
fresh connection, so render time and query time can be told apart. Plans (EXPLAIN QUERY PLAN)
are printed for the largest size, and any case not well under 100 ms is flagged.

Environment:
  BENCH_DEMANDS="1000,1000000"  sizes to build and measure (default)
  BENCH_REPEAT=20               timed requests per case (after 3 warm-up requests)
  BENCH_DEMANDS_DIR=/some/dir   keep the databases there and reuse one already loaded
                                (default: a temporary directory, removed afterwards)
  BENCH_SEED=20240601           the random seed of the synthetic data
"""

from __future__ import annotations

import math
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from flask_login import login_user
from peewee import ForeignKeyField, fn

import models
from bench.demand_data import (
    CSRF_RE,
    PASSWORD,
    SEARCH_TERM,
    SUPERVISOR,
    WARMUP,
    load_demands,
    make_app,
    make_fixtures,
)
from bench.demand_report import machine, report
from models.base import db
from models.demands import Demand
from models.search import DemandSearchIndex, apply_search
from models.users import User, UserEstate


def build_database(path: Path, n: int, seed: int) -> dict:
    """Create, migrate and fill the database at `path` (or reuse it if already complete)."""
    if path.exists():
        app = make_app(path)
        with db.connection_context():
            if ("demand" in db.get_tables() and Demand.select().count() == n
                    and User.get_or_none(User.username == SUPERVISOR)):
                print(f"   reusing {path}", flush=True)
                return {"app": app, "reused": True, "plans_before": {}}
        db.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    app = make_app(path)
    with app.app_context():
        models.upgrade()
    rng = random.Random(seed)
    with db.connection_context():
        fixtures = make_fixtures()
        stats = load_demands(n, fixtures, rng)
    plans_before = explain_all(app) if n >= 100_000 else {}
    with db.connection_context():
        t0 = time.perf_counter()
        db.execute_sql("ANALYZE")
        stats["analyze_s"] = time.perf_counter() - t0
        db.execute_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    return {"app": app, "reused": False, "plans_before": plans_before, **stats}


# --- measuring -----------------------------------------------------------------------------------


def demand_view(app):
    admin = app.extensions["admin"][0]
    return next(v for v in admin._views if getattr(v, "endpoint", "") == "demand")


def filter_index(view, class_name: str, column: str) -> int:
    return next(i for i, f in enumerate(view._filters)
                if type(f).__name__ == class_name and getattr(f.column, "name", None) == column)


def case_urls(app) -> dict[str, str]:
    view = demand_view(app)
    status = filter_index(view, "FilterEqual", "status")
    category = filter_index(view, "FilterEqual", "category")
    return {
        "first page": "/admin/demand/",
        "status+category": "/admin/demand/?" + urlencode(
            {f"flt0_{status}": "open", f"flt1_{category}": "engineering"}),
        f"search {SEARCH_TERM}": "/admin/demand/?" + urlencode({"search": SEARCH_TERM}),
    }


def logged_in_client(app):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    match = CSRF_RE.search(page) or re.search(r'id="csrf_token"[^>]*value="([^"]+)"', page)
    assert match, "no CSRF token on /login"
    response = client.post("/login", data={"username": SUPERVISOR, "password": PASSWORD,
                                           "csrf_token": match.group(1)})
    assert response.status_code == 302, f"login failed: {response.status_code}"
    return client


def get(client, url: str) -> str:
    response = client.get(url)
    body = response.get_data(as_text=True)
    assert response.status_code == 200, f"{url}: HTTP {response.status_code}"
    return body


def view_list(view, *, execute: bool = True):
    """What index_view asks of the model: get_list with the request's arguments."""
    args = view._get_list_extra_args()
    sort = view._get_column_by_idx(args.sort)
    return view.get_list(args.page, sort[0] if sort else None, args.sort_desc, args.search,
                         args.filters, execute=execute,
                         page_size=view.get_safe_page_size(args.page_size))


def in_request(app, url: str, user_id: int, fn):
    """Run fn(view) in a request for url, as the logged-in user, on a fresh connection."""
    view = demand_view(app)
    with app.test_request_context(url):
        db.connect()
        try:
            login_user(User.get_by_id(user_id))
            return fn(view)
        finally:
            db.close()


def supervisor_id(app) -> int:
    with db.connection_context():
        return User.get(User.username == SUPERVISOR).id


def summary(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[math.ceil(0.95 * len(ordered)) - 1]


def time_request(client, url: str, repeat: int) -> list[float]:
    for _ in range(WARMUP):
        get(client, url)
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        get(client, url)
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def time_sql(app, url: str, user_id: int, repeat: int) -> tuple[list[float], list[float], int]:
    """get_list alone, then the related rows the grid's cells fetch one by one (unit, 部门)."""
    sql, related, rows = [], [], 0
    view = demand_view(app)
    fk_columns = [c for c in view.column_list
                  if isinstance(Demand._meta.fields.get(c), ForeignKeyField)]

    def timed(view):
        t0 = time.perf_counter()
        _, data = view_list(view)
        t1 = time.perf_counter()
        for row in data:
            for name in fk_columns:
                getattr(row, name)
        t2 = time.perf_counter()
        return (t1 - t0) * 1000, (t2 - t1) * 1000, len(data)

    for i in range(WARMUP + repeat):
        sql_ms, related_ms, rows = in_request(app, url, user_id, timed)
        if i >= WARMUP:
            sql.append(sql_ms)
            related.append(related_ms)
    return sql, related, rows


def traced_request(client, url: str) -> list[str]:
    """Every SQL statement one request runs (the connection is held open so it can be traced)."""
    statements: list[str] = []
    db.connect()
    try:
        db.connection().set_trace_callback(statements.append)
        get(client, url)
        db.connection().set_trace_callback(None)
    finally:
        db.close()
    return statements


def explain(app, url: str, user_id: int) -> list[str]:
    def plan(view):
        _, query = view_list(view, execute=False)
        sql, params = query.sql()
        rows = db.execute_sql("EXPLAIN QUERY PLAN " + sql, params).fetchall()
        depth: dict[int, int] = {0: -1}
        lines = []
        for node, parent, _, detail in rows:
            depth[node] = depth.get(parent, -1) + 1
            lines.append("  " * depth[node] + detail)
        return lines

    return in_request(app, url, user_id, plan)


# Search terms of different selectivity: common (~2 %), very common (~9 %), one number.
PROBE_TERMS = (SEARCH_TERM, "电梯", "XQ-2025-00001")
JOIN_SQL = ('SELECT "t1".* FROM "demand" AS "t1"'
            ' JOIN "demand_fts" AS "f" ON "f"."rowid" = "t1"."id"'
            ' WHERE "f"."search_text" MATCH ? AND "t1"."estate_id" IN ({marks})'
            ' AND "t1"."voided" = 0 ORDER BY "f"."rowid" DESC LIMIT ?')
IN_FTS = '"t1"."id" IN (SELECT rowid FROM demand_fts'


def search_probes(app, user_id: int, repeat: int) -> list[dict]:
    """The search's SQL against two alternatives, for terms of different selectivity.

    view:  the view's own query (id IN (FTS rowids) … ORDER BY received_at DESC LIMIT 50);
    walk:  the same with the IN made unusable for a rowid lookup (+id), i.e. the plan SQLite
           picks without ANALYZE: walk the (estate, voided, received_at) index, probe each row;
    join:  demand_fts joined on rowid and ordered by demand_fts.rowid DESC, which FTS5 serves
           in order, so LIMIT stops after one page.
    """
    view = demand_view(app)
    with db.connection_context():
        estates = [e.estate_id for e in UserEstate.select().where(UserEstate.user == user_id)]
    out = []
    for term in PROBE_TERMS:
        url = "/admin/demand/?" + urlencode({"search": term})
        sql, params = in_request(app, url, user_id,
                                 lambda v: view_list(v, execute=False)[1].sql())
        phrase = next(p for p in params if isinstance(p, str) and p.startswith('"'))
        variants = {"view": (sql, params),
                    "join": (JOIN_SQL.format(marks=", ".join("?" * len(estates))),
                             [phrase, *estates, view.page_size])}
        if IN_FTS in sql:
            variants["walk"] = (sql.replace(IN_FTS, "+" + IN_FTS), params)
        row = {"term": term}
        with db.connection_context():
            row["matches"] = matching(term).count()
        for name, (text, args) in variants.items():
            samples = []
            for i in range(2 + max(5, repeat // 2)):
                db.connect()
                try:
                    t0 = time.perf_counter()
                    rows = db.execute_sql(text, args).fetchall()
                    if i >= 2:
                        samples.append((time.perf_counter() - t0) * 1000)
                finally:
                    db.close()
            row[name] = (statistics.median(samples), len(rows))
        out.append(row)
    return out


def matching(term: str):
    """Every demand the grid's search finds for `term` (the view's own search code)."""
    query, _ordered = apply_search(Demand.select(Demand.id), Demand, DemandSearchIndex, term,
                                   scan_field=Demand.description)
    return query


def explain_all(app) -> dict[str, list[str]]:
    user_id = supervisor_id(app)
    return {name: explain(app, url, user_id) for name, url in case_urls(app).items()}


def measure(app, n: int, repeat: int) -> dict:
    urls = case_urls(app)
    user_id = supervisor_id(app)
    client = logged_in_client(app)
    results = {}
    for name, url in urls.items():
        request_ms = time_request(client, url, repeat)
        sql_ms, related_ms, rows = time_sql(app, url, user_id, repeat)
        statements = traced_request(client, url)
        results[name] = {
            "url": url, "rows": rows, "request": summary(request_ms), "sql": summary(sql_ms),
            "related": summary(related_ms),
            # The app's own statements (FTS5 traces its internal ones as "-- …": left out).
            "statements": sum(1 for st in statements if not st.startswith(("--", "PRAGMA"))),
            "counts": sum(1 for s in statements if re.search(r"\bCOUNT\s*\(", s, re.I)),
            "plan": explain(app, url, user_id),
        }
    results["_probes"] = search_probes(app, user_id, repeat)
    with db.connection_context():
        results["_check"] = {
            "total": Demand.select().count(),
            "fts": matching(SEARCH_TERM).count(),
            "like": Demand.select().where(Demand.description.contains(SEARCH_TERM)).count(),
            "open_eng": Demand.select().where(Demand.status == "open",
                                              Demand.category == "engineering").count(),
            "status": dict(Demand.select(Demand.status, fn.COUNT(Demand.id))
                           .group_by(Demand.status).tuples()),
        }
    return results


def main() -> None:
    sizes = sorted(int(s.replace("_", "")) for s in
                   os.environ.get("BENCH_DEMANDS", "1000,1000000").split(",") if s.strip())
    repeat = int(os.environ.get("BENCH_REPEAT", "20"))
    seed = int(os.environ.get("BENCH_SEED", "20240601"))
    keep = os.environ.get("BENCH_DEMANDS_DIR")
    print(f"   machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    print(f"   sizes {', '.join(f'{n:,}' for n in sizes)}; {repeat} timed requests per case "
          f"after {WARMUP} warm-up; each request opens its own connection", flush=True)
    with tempfile.TemporaryDirectory(prefix="demands_bench_") as tmp:
        folder = Path(keep) if keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        measured, loads = {}, {}
        for n in sizes:
            path = folder / f"demands_{n}.db"
            print(f"   building {n:,} demands in {path} …", flush=True)
            loads[n] = build_database(path, n, seed) | {"path": path}
            app = loads[n].pop("app")
            measured[n] = measure(app, n, repeat)
            db.close()
        report(sizes, measured, loads)
    print(f"   load average at the end {os.getloadavg()[0]:.2f} (other processes share the CPUs)")
    sys.stdout.flush()
