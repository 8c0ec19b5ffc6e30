"""The SQL behind the pages that grew with the data (issue #14 items 3 and 5), on SQLite and
PostgreSQL, at several sizes, with the plans that show migration 011's indexes in use.

Cases (each the statement a page runs, timed on its own; the median of BENCH_REPEAT runs):
  closed this shift   the front desk's count of demands closed since the shift started
  answered late       the 曾超时答复 count (missed_replies > 0)
  overdue             the 已超期 queue's count (replies and invalid notices owed past due)
  monthly review      models.review.monthly_review for this month, every query of the page
  search 电梯/漏水     the demand grid's first page of a search (50 rows, models/search.py)

Environment:
  BENCH_PAGES="1000,100000"   demand counts to build
  BENCH_PG_URL=postgresql://… also run on PostgreSQL (the database is emptied first)
  BENCH_REPEAT=10
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

import models
from app import create_app
from bench.demand_data import BATCH, FIELDS, Generator, make_fixtures
from models.base import db, is_sqlite, utcnow
from models.demands import Demand
from models.review import monthly_review
from models.search import DemandSearchIndex, apply_search
from views.home import shift_start


def build(url: str, n: int) -> dict:
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    with app.app_context(), db.connection_context():
        if not is_sqlite():
            db.execute_sql("DROP SCHEMA public CASCADE")
            db.execute_sql("CREATE SCHEMA public")
    with app.app_context():
        models.upgrade()
    with db.connection_context():
        fixtures = make_fixtures()
        gen = Generator(random.Random(20261202), fixtures, dt.datetime.now(dt.UTC))
        times = gen.received_times(n)
        started = time.perf_counter()
        for start in range(0, n, BATCH):
            with db.atomic():
                rows = [gen.row(moment) for moment in times[start:start + BATCH]]
                Demand.insert_many(rows, fields=FIELDS).execute()
        db.execute_sql("ANALYZE")
        print(f"   loaded {n:,} demands in {time.perf_counter() - started:.1f} s", flush=True)
    return {"app": app, "estate": fixtures["estate"]}


def cases(estate: int) -> dict:
    now = utcnow()
    since = shift_start(now)
    mine = Demand.live().where(Demand.estate.in_([estate]))
    month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)

    def search(term):
        query = Demand.select().where(Demand.estate == estate, Demand.voided == False)  # noqa: E712
        query, ordered = apply_search(query, Demand, DemandSearchIndex, term,
                                      scan_field=Demand.description)
        if not ordered:
            query = query.order_by(Demand.received_at.desc())
        return query.limit(50)

    return {
        "closed this shift": mine.where(Demand.closed_at >= since),
        "answered late": Demand.answered_late().where(Demand.estate.in_([estate])),
        "overdue": Demand.overdue(now).where(Demand.estate.in_([estate])),
        "monthly review": lambda: monthly_review([estate], month, now),
        "search 电梯": search("电梯"),
        "search 漏水": search("漏水"),
    }


def run_case(case):
    if callable(case):
        return case()
    if case._limit:
        return list(case.clone())  # a fresh execution (a query object caches its rows)
    return case.count()


def explain(case) -> list[str]:
    query = case if case._limit else case.select(Demand.id)
    sql, params = query.sql()
    prefix = "EXPLAIN QUERY PLAN " if is_sqlite() else "EXPLAIN "
    return [" ".join(str(c) for c in row) for row in db.execute_sql(prefix + sql, params)]


def measure(url: str, n: int, repeat: int, show_plans: bool) -> dict:
    built = build(url, n)
    results = {}
    with built["app"].app_context(), db.connection_context():
        for name, case in cases(built["estate"]).items():
            run_case(case)
            samples = []
            for _ in range(repeat):
                t0 = time.perf_counter()
                run_case(case)
                samples.append((time.perf_counter() - t0) * 1000)
            results[name] = statistics.median(samples)
            if show_plans and not callable(case):
                print(f"   plan of {name}:")
                for line in explain(case):
                    print(f"      {line}")
    db.close()
    return results


def main() -> None:
    sizes = [int(s) for s in os.environ.get("BENCH_PAGES", "1000,100000").split(",")]
    repeat = int(os.environ.get("BENCH_REPEAT", "10"))
    engines = []
    with tempfile.TemporaryDirectory() as tmp:
        engines.append(("SQLite", lambda n: f"sqlite:///{Path(tmp) / f'pages-{n}.db'}"))
        if os.environ.get("BENCH_PG_URL"):
            engines.append(("PostgreSQL", lambda n: os.environ["BENCH_PG_URL"]))
        table = {}
        for engine, url_for in engines:
            for n in sizes:
                print(f"== {engine}, {n:,} demands", flush=True)
                table[(engine, n)] = measure(url_for(n), n, repeat, n == max(sizes))
    names = list(next(iter(table.values())))
    print("\ncase | " + " | ".join(f"{e} {n:,}" for e, n in table) + " | ratio (largest/smallest)")
    for name in names:
        cells = [f"{table[key][name]:.1f} ms" for key in table]
        ratios = [table[(e, max(sizes))][name] / table[(e, min(sizes))][name]
                  for e, _url in engines]
        print(f"{name} | " + " | ".join(cells) + " | "
              + ", ".join(f"×{r:.1f}" for r in ratios))
