"""The phone page's first load on the 100k bench database (issue #16, "Speed and size").

Goal: 我的工单 (/m/) under 300 KB transferred on a first load (the page and every asset it
names: no CDN, our own versioned files) and under 1 s of server time, for a department user
with many orders, on the 100,000-demand database of bench/demands_bench.py.

The database: bench/demands_bench.build_database (100,000 demands, reused when complete), then
work orders for a fifth of the demands (insert_many): most completed, `OPEN_ORDERS` open or
arrived in the engineering department, a third of those assigned to `bench_engineer`, a
department user of engineering who logs in through the real /login form (CSRF token read from
the page) with a phone's User-Agent. Through the Flask test client (each request opens its own
database connection, as in production):

  first load     GET /m/ plus every stylesheet and script the page names, nothing cached
  repeat load    GET /m/ again with the browser's cache: the assets are versioned by their
                 content and sent with a year's max-age, so only the page travels
  server time    the median and p95 of BENCH_REPEAT GETs of /m/ (after 3 warm-ups)
  one order      GET /m/order/<id> of the most urgent order (median, p95)

Environment:
  BENCH_FIELD_DEMANDS=100000   demands in the database
  BENCH_FIELD_DIR=/some/dir    keep the database there and reuse it (default: a temporary dir)
  BENCH_REPEAT=20
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import statistics
import tempfile
import time
from pathlib import Path

from bench.demand_data import CSRF_RE, PASSWORD
from bench.demand_report import machine
from bench.demands_bench import build_database

ENGINEER = "bench_engineer"
OPEN_ORDERS = 1_500
PHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
         "(KHTML, like Gecko) Mobile/15E148 MicroMessenger/8.0.47")
GOAL_BYTES = 300 * 1024
GOAL_SECONDS = 1.0
ASSET_RE = re.compile(r'(?:src|href)="(/[^"]+\.(?:css|js)(?:\?[^"]*)?)"')


def add_work_orders(app, n_demands: int) -> None:
    """Work orders for a fifth of the demands, and the engineer with many open ones (once)."""
    from models.base import db
    from models.demands import Demand
    from models.org import Department
    from models.users import User, UserEstate
    from models.work_orders import WorkOrder

    with app.app_context(), db.connection_context():
        if User.get_or_none(User.username == ENGINEER) is not None:
            print("   work orders already there", flush=True)
            return
        started = time.perf_counter()
        engineering = Department.get(Department.kind == "engineering")
        estate = engineering.estate_id
        engineer = User(username=ENGINEER, display_name="工程维修员", role="dept",
                        department="engineering")
        engineer.set_password(PASSWORD)
        engineer.save()
        UserEstate.create(user=engineer, estate=estate)
        departments = [d.id for d in Department.select().where(Department.estate == estate)]
        rng = random.Random(20261202)
        demand_ids = [i for (i,) in Demand.select(Demand.id).order_by(Demand.id).tuples()]
        chosen = sorted(rng.sample(demand_ids, n_demands // 5))
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
        open_ids = set(rng.sample(chosen, min(OPEN_ORDERS, len(chosen) // 2)))
        rows = []
        for number, demand_id in enumerate(chosen, start=1):
            dispatched = now - dt.timedelta(hours=rng.uniform(1, 24 * 365))
            still_open = demand_id in open_ids
            department = engineering.id if still_open else rng.choice(departments)
            state = rng.choice(("open", "open", "arrived")) if still_open else "completed"
            rows.append({
                "estate": estate, "number": f"WX-F-{number:07d}", "demand": demand_id,
                "department": department, "what": "维修", "location": "",
                "assignee": engineer.id if still_open and rng.random() < 1 / 3 else None,
                "dispatched_at": dispatched, "state": state,
                "arrived_at": dispatched + dt.timedelta(hours=1) if state != "open" else None,
                "completed_at": (dispatched + dt.timedelta(hours=3)
                                 if state == "completed" else None),
                "result": "已修复" if state == "completed" else "",
                "created_at": dispatched, "updated_at": dispatched})
        with db.atomic():
            for start in range(0, len(rows), 500):
                WorkOrder.insert_many(rows[start:start + 500]).execute()
        db.execute_sql("ANALYZE")
        print(f"   added {len(rows):,} work orders ({len(open_ids):,} open in engineering) in "
              f"{time.perf_counter() - started:.1f} s", flush=True)


def login(app):
    client = app.test_client()
    client.environ_base["HTTP_USER_AGENT"] = PHONE
    page = client.get("/login").get_data(as_text=True)
    match = CSRF_RE.search(page) or re.search(r'id="csrf_token"[^>]*value="([^"]+)"', page)
    response = client.post("/login", data={"username": ENGINEER, "password": PASSWORD,
                                           "csrf_token": match.group(1)})
    assert response.status_code == 302, f"login failed: {response.status_code}"
    return client


def timed(client, url: str, repeat: int) -> list[float]:
    for _ in range(3):
        client.get(url)
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        response = client.get(url)
        response.get_data()
        samples.append(time.perf_counter() - t0)
        assert response.status_code == 200, (url, response.status_code)
    return samples


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def first_load(client) -> dict:
    page = client.get("/m/")
    html = page.get_data(as_text=True)
    assert page.status_code == 200, page.status_code
    assets = {}
    for url in dict.fromkeys(ASSET_RE.findall(html)):
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        assets[url] = (len(response.get_data()), response.headers.get("Cache-Control", ""))
    count = len(re.findall(r'<li class="order[ "]', html))
    return {"html": len(page.get_data()), "assets": assets, "orders_listed": count}


def main() -> None:
    from models.base import db

    n = int(os.environ.get("BENCH_FIELD_DEMANDS", "100000"))
    repeat = int(os.environ.get("BENCH_REPEAT", "20"))
    keep = os.environ.get("BENCH_FIELD_DIR")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        built = build_database(folder / f"field-{n}.db", n, 20240601)
        app = built["app"]
        add_work_orders(app, n)
        db.close()
        client = login(app)
        load = first_load(client)
        total = load["html"] + sum(size for size, _ in load["assets"].values())
        print(f"   machine: {machine()}")
        print(f"   /m/ page: {load['html'] / 1024:.1f} KB")
        for url, (size, cache) in load["assets"].items():
            print(f"   {url.split('?')[0]}: {size / 1024:.1f} KB, Cache-Control: {cache}")
        cached = all("max-age" in cache and "no-" not in cache
                     for _, cache in load["assets"].values())
        print(f"   first load: {total / 1024:.1f} KB transferred (goal < 300 KB: "
              f"{'met' if total < GOAL_BYTES else 'MISSED'}); repeat load: "
              f"{load['html'] / 1024:.1f} KB (assets {'cached' if cached else 'NOT cached'})")
        samples = timed(client, "/m/", repeat)
        median, slow = statistics.median(samples), p95(samples)
        print(f"   GET /m/ server time: median {median * 1000:.0f} ms, p95 {slow * 1000:.0f} ms "
              f"over {repeat} (goal < 1 s: {'met' if slow < GOAL_SECONDS else 'MISSED'})")
        html = client.get("/m/").get_data(as_text=True)
        first = re.search(r'href="(/m/order/\d+)"', html)
        if first:
            samples = timed(client, first.group(1), repeat)
            print(f"   GET {first.group(1)}: median {statistics.median(samples) * 1000:.0f} ms, "
                  f"p95 {p95(samples) * 1000:.0f} ms")
        db.close()
