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

import datetime as dt
import math
import os
import platform
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

from flask_login import login_user
from peewee import ForeignKeyField, fn

import models
from app import create_app
from models import deadlines
from models.base import db
from models.calendar import NumberSequence
from models.demands import CATEGORIES, CHANNELS, Demand
from models.estate import Branch, Estate
from models.org import Building, Cluster, Department, Unit
from models.search import DemandSearchIndex, apply_search, bigrams
from models.users import DEPARTMENTS, User, UserEstate

SEARCH_TERM = "漏水"
PASSWORD = "bench-password-1"
SUPERVISOR = "bench_supervisor"
WARMUP = 3
BATCH = 500  # rows per INSERT (≈ 40 columns → 20,000 bound parameters, under SQLite's 32,766)
TX_ROWS = 20_000  # rows per transaction
WELL_UNDER_MS = 50.0  # "well under 100 ms": the median under 50 ms and the p95 under 100 ms
CSRF_RE = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')

# --- the synthetic register ----------------------------------------------------------------------

LOCATIONS = ["厨房", "卫生间", "客厅", "主卧", "次卧", "阳台", "楼道", "电梯间", "地下车库",
             "小区东门", "小区南门", "单元门口", "楼顶", "绿化带", "儿童游乐场", "垃圾房",
             "消防通道", "会所", "自行车棚", "地下室"]
# Every phrase here contains 漏水; none of the others may (checked below).
LEAKS = ["水管漏水", "天花板漏水", "楼上漏水到我家", "暖气管道漏水", "热水器接口漏水",
         "顶板漏水", "雨天窗台漏水", "马桶底座漏水"]
PROBLEMS = {
    "security": ["夜间有陌生人在楼道逗留", "门禁卡失灵无法进门", "车辆被刮蹭要求查看监控",
                 "外卖员随意进出小区", "电动车在楼道充电有安全隐患", "单元门常开无人管理",
                 "快递被盗要求调取录像"],
    "environment": ["垃圾清运不及时有异味", "楼道卫生没人打扫", "草坪积水蚊虫多",
                    "宠物粪便无人清理", "装修垃圾堆放在楼道", "落叶堵塞排水口", "外墙有小广告"],
    "engineering": ["水龙头关不紧", "下水道堵塞", "电梯运行时有异响", "电梯停在两层之间",
                    "整栋楼停电", "路灯不亮", "门锁损坏打不开", "暖气片不热", "墙面开裂掉皮",
                    "窗户关不严进风", "水压太小洗不了澡", "配电箱跳闸"],
    "customer_service": ["咨询物业费缴费方式", "询问停车月卡办理", "要求开具物业费发票",
                         "咨询装修申请流程", "办理门禁卡需要什么材料", "询问快递柜使用方法"],
    "neighbour": ["楼上深夜噪音扰民", "邻居占用公共楼道堆放杂物", "邻居狗叫影响休息",
                  "楼上往下扔烟头", "邻居空调外机滴水", "对门装修时间太早"],
    "developer": ["房屋交付时门窗密封不严", "地下室返潮发霉", "外墙保温层脱落",
                  "车位面积与合同不符", "开发商承诺的会所未开放"],
    "outside": ["燃气公司上门检查需要配合", "有线电视信号中断", "自来水公司停水通知",
                "宽带安装需要进场", "供电局计划停电"],
    "proposal": ["建议增加充电桩", "建议在东门增设快递柜", "建议延长游泳池开放时间",
                 "建议小区增加儿童游乐设施", "建议加强夜间巡逻"],
}
TAILS = ["请尽快派人处理", "已持续两天", "业主情绪激动", "要求今天答复", "多次反映未解决",
         "晚上八点后在家", "请联系业主后上门", "影响楼下住户", "老人独居请优先处理",
         "希望物业给个说法", "周末在家", "上次维修后又出现"]
RESULTS = ["已派维修人员上门处理完毕", "已更换配件，业主确认正常", "已协调双方，问题解决",
           "已答复业户并解释原因", "已安排保洁清理干净", "已联系相关单位处理"]
MEASURES = ["", "", "安排工程部当天上门", "通知保安加强巡查", "约定时间上门查看"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超兰霞平刚桂华建国志红玉梅"
assert not any(SEARCH_TERM in p for group in (LOCATIONS, TAILS, RESULTS, MEASURES,
                                               *PROBLEMS.values()) for p in group)
assert all(SEARCH_TERM in p for p in LEAKS)

CATEGORY_WEIGHTS = {"security": 10, "environment": 14, "engineering": 32, "customer_service": 16,
                    "neighbour": 10, "developer": 6, "outside": 5, "proposal": 7}
CHANNEL_WEIGHTS = {"phone": 55, "visit": 24, "outside": 2, "staff": 8, "owner_suggestion": 3,
                   "proactive": 4, "committee": 2, "industry": 2}
assert set(CATEGORY_WEIGHTS) == {c for c, _ in CATEGORIES}
assert set(CHANNEL_WEIGHTS) == {c for c, _ in CHANNELS}
# Old demands are almost all finished; the last 30 days still hold the live work.
RECENT_STATUS = {"open": 20, "dispatched": 25, "completed": 25, "invalid": 5, "closed": 25}
OLD_STATUS = {"open": 0.5, "dispatched": 1, "completed": 1.5, "invalid": 0.5, "closed": 96.5}
DEPT_OF = {"engineering": "engineering", "developer": "engineering", "security": "security",
           "environment": "cleaning"}  # others go to 客服
LEAK_SHARE = 0.02

FIELDS = [
    Demand.estate, Demand.created_by, Demand.created_at, Demand.updated_at, Demand.version,
    Demand.voided, Demand.void_reason, Demand.voided_at, Demand.number, Demand.received_at,
    Demand.channel, Demand.kind, Demand.category, Demand.unit, Demand.contact_name,
    Demand.contact_phone, Demand.description, Demand.serious, Demand.urgent,
    Demand.requested_reply_at, Demand.reply_due, Demand.received_by, Demand.status, Demand.valid,
    Demand.invalid_reason, Demand.invalid_notice_due, Demand.handler, Demand.department,
    Demand.measures, Demand.result, Demand.replied_at, Demand.reply_content,
    Demand.answered_at_intake, Demand.completed_at, Demand.closed_at, Demand.reopen_count,
    Demand.missed_replies, Demand.late_minutes, Demand.search_text,
]


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


class Generator:
    """Demands for one estate, received over the last three years, in the order received."""

    def __init__(self, rng: random.Random, fixtures: dict, now: dt.datetime):
        self.rng, self.fx, self.now = rng, fixtures, now
        self.tz = deadlines.office_timezone()
        self.sequences: dict[int, int] = {}
        self._due: dict[dt.date, dt.datetime] = {}
        self._notice: dict[dt.date, dt.datetime] = {}

    def received_times(self, n: int) -> list[dt.datetime]:
        """n moments over three years, mostly in office hours, ascending."""
        rng, span = self.rng, 3 * 365 * 86400
        start = self.now - dt.timedelta(seconds=span)
        out = []
        while len(out) < n:
            moment = start + dt.timedelta(seconds=int(rng.random() * (span - 600)))
            hour = (moment.hour + 8) % 24  # Asia/Shanghai has no DST
            if (hour < 7 or hour >= 21) and rng.random() < 0.85:
                continue
            out.append(moment)
        out.sort()
        return out

    def _reply_due(self, received: dt.datetime, urgent: bool, requested) -> dt.datetime:
        if urgent or requested:
            return deadlines.reply_due(received, serious=False, urgent=urgent,
                                       requested=requested)
        day = received.astimezone(self.tz).date()  # 2 working days: depends on the day only
        if day not in self._due:
            self._due[day] = deadlines.reply_due(received, serious=False, urgent=False)
        return self._due[day]

    def _notice_due(self, decided: dt.datetime) -> dt.datetime:
        day = decided.astimezone(self.tz).date()
        if day not in self._notice:
            self._notice[day] = deadlines.invalid_notice_due(decided)
        return self._notice[day]

    def row(self, received: dt.datetime) -> tuple:
        rng, fx, now = self.rng, self.fx, self.now
        year = received.astimezone(self.tz).year
        self.sequences[year] = seq = self.sequences.get(year, 0) + 1
        number = f"XQ-{year}-{seq:05d}"
        if rng.random() < LEAK_SHARE:
            category = "engineering" if rng.random() < 0.85 else "developer"
            problem = rng.choice(LEAKS)
        else:
            category = _pick(rng, CATEGORY_WEIGHTS)
            problem = rng.choice(PROBLEMS[category])
        place = rng.choice(LOCATIONS) if category not in ("customer_service", "proposal",
                                                          "outside") else ""
        parts = [place + problem] + rng.sample(TAILS, rng.randint(0, 2))
        description = "，".join(parts)
        kind = ("consultation" if category == "customer_service" else
                "suggestion" if category == "proposal" else
                "complaint" if rng.random() < 0.3 else "help")
        channel = _pick(rng, CHANNEL_WEIGHTS)
        unit_id, unit_code = rng.choice(fx["units"]) if rng.random() < 0.92 else (None, "")
        contact = rng.choice(SURNAMES) + "".join(rng.choices(GIVEN, k=rng.randint(1, 2)))
        phone = "1" + rng.choice("3589") + "".join(rng.choices("0123456789", k=9))
        serious = rng.random() < 0.05
        urgent = rng.random() < 0.08
        requested = (received + dt.timedelta(hours=rng.choice((4, 24, 48)))
                     if rng.random() < 0.03 else None)
        due = self._reply_due(received, urgent, requested)
        age_days = (now - received).total_seconds() / 86400
        status = _pick(rng, RECENT_STATUS if age_days < 30 else OLD_STATUS)
        clerk = fx["clerk"]

        def later(hours: float) -> dt.datetime:
            return min(now, received + dt.timedelta(hours=hours))

        valid = notice_due = department = handler = None
        invalid_reason = measures = result = reply_content = ""
        replied = completed = closed = None
        at_intake = False
        if status in ("dispatched", "completed", "closed"):
            department = fx["departments"][DEPT_OF.get(category, "cs")]
            handler = clerk
            measures = rng.choice(MEASURES)
        if status == "invalid":
            valid, invalid_reason = False, "非物业服务范围"
            notice_due = self._notice_due(later(rng.uniform(0.5, 24)))
        elif status == "completed":
            valid, result = True, rng.choice(RESULTS)
            completed = replied = later(rng.expovariate(1 / 20))
            reply_content = result
        elif status == "closed":
            valid = True
            if category == "customer_service" or rng.random() < 0.1:
                at_intake, department, handler, measures = True, None, None, ""
                replied = closed = later(rng.uniform(0.05, 0.5))
                reply_content = "已当场解答"
            else:
                result = rng.choice(RESULTS)
                completed = replied = later(rng.expovariate(1 / 20))
                reply_content = result
                closed = min(now, completed + dt.timedelta(hours=rng.uniform(4, 72)))
        missed = late = 0
        if replied and replied > due:
            missed, late = 1, int((replied - due).total_seconds() // 60)
        voided = rng.random() < 0.003
        search_text = bigrams(" ".join(filter(None, (
            number, description, contact, phone, unit_code, result, measures))))
        return (
            fx["estate"], clerk, received, closed or replied or received, 1,
            voided, "重复登记" if voided else "", now if voided else None, number, received,
            channel, kind, category, unit_id, contact,
            phone, description, serious, urgent,
            requested, due, clerk, status, valid,
            invalid_reason, notice_due, handler, department,
            measures, result, replied, reply_content,
            at_intake, completed, closed, 0,
            missed, late, search_text,
        )


# --- building a database -------------------------------------------------------------------------


def make_app(path: Path):
    return create_app({"DATABASE_URL": f"sqlite:///{path}", "SECRET_KEY": "bench"})


def make_fixtures() -> dict:
    """A branch, an estate, its departments, 288 units, a supervisor and a clerk."""
    branch = Branch.create(name="华南分公司")
    estate = Estate.create(branch=branch, code="BENCH", name="碧水花园", address="滨江路 88 号")
    departments = {kind: Department.create(estate=estate, kind=kind, name=f"{label}部").id
                   for kind, label in DEPARTMENTS}
    units = []
    for c in range(2):
        cluster = Cluster.create(estate=estate, name=f"第{'一二'[c]}组团")
        for b in range(1, 7):
            number = c * 6 + b
            building = Building.create(estate=estate, cluster=cluster, name=f"{number}栋",
                                       floors=6)
            for entrance in ("1", "2"):
                for floor in range(1, 7):
                    for room in ("01", "02"):
                        code = f"{number}-{entrance}-{floor}{room}"
                        unit = Unit.create(estate=estate, building=building, entrance=entrance,
                                           room=f"{floor}{room}", code=code, floor=floor,
                                           state="occupied")
                        units.append((unit.id, code))
    users = {}
    for username, role, name in ((SUPERVISOR, "supervisor", "客服主管"),
                                 ("bench_clerk", "clerk", "客服员")):
        user = User(username=username, display_name=name, role=role)
        user.set_password(PASSWORD)
        user.save()
        UserEstate.create(user=user, estate=estate)
        users[role] = user.id
    return {"estate": estate.id, "departments": departments, "units": units,
            "clerk": users["clerk"], "supervisor": users["supervisor"]}


def load_demands(n: int, fixtures: dict, rng: random.Random) -> dict:
    """Insert n demands with Demand.insert_many; the FTS triggers index each row."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    gen = Generator(rng, fixtures, now)
    db.execute_sql("PRAGMA cache_size = -262144")  # this loading connection only (256 MiB)
    started = time.perf_counter()
    times = gen.received_times(n)
    build = compile_ = insert = 0.0
    done = 0
    while done < n:
        with db.atomic():
            stop = min(n, done + TX_ROWS)
            while done < stop:
                t0 = time.perf_counter()
                rows = [gen.row(moment) for moment in times[done:min(stop, done + BATCH)]]
                t1 = time.perf_counter()
                # What .execute() does, in two steps so peewee's SQL building is timed apart
                # from SQLite's work (the row, its indexes and the demand_fts trigger).
                sql, params = Demand.insert_many(rows, fields=FIELDS).sql()
                t2 = time.perf_counter()
                db.execute_sql(sql, params)
                t3 = time.perf_counter()
                build, compile_, insert = build + t1 - t0, compile_ + t2 - t1, insert + t3 - t2
                done += len(rows)
        if n >= 100_000 and done % 100_000 < TX_ROWS:
            print(f"     … {done:>9,} rows, {time.perf_counter() - started:6.1f} s", flush=True)
    for year, last in gen.sequences.items():  # later intake continues the numbering
        NumberSequence.create(estate=fixtures["estate"], prefix="XQ", year=year, last=last)
    return {"load_s": time.perf_counter() - started, "build_s": build, "compile_s": compile_,
            "insert_s": insert}


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


# --- reporting -----------------------------------------------------------------------------------


def machine() -> str:
    cpu = ""
    try:
        cpu = next((line.split(":", 1)[1].strip() for line in
                    Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), "")
    except OSError:
        pass
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (f"{platform.system()} {platform.machine()}, nproc {cpus}"
            f"{', ' + cpu if cpu else ''}; Python {platform.python_version()}; "
            f"SQLite {sqlite3.sqlite_version}")


def well_under(result: dict) -> bool:
    median, p95 = result["request"]
    return median < WELL_UNDER_MS and p95 < 100.0


def report(sizes: list[int], measured: dict[int, dict], loads: dict[int, dict]) -> None:
    for n in sizes:
        load = loads[n]
        check = measured[n]["_check"]
        if load.get("reused"):
            line = "database reused (loaded earlier); ANALYZE had been run after loading"
        else:
            line = (f"loaded in {load['load_s']:.1f} s ({n / load['load_s']:,.0f} rows/s: "
                    f"making rows {load['build_s']:.1f} s, peewee insert_many SQL "
                    f"{load['compile_s']:.1f} s, SQLite INSERT incl. indexes and the FTS "
                    f"trigger {load['insert_s']:.1f} s); ANALYZE run after loading: "
                    f"{load['analyze_s']:.1f} s")
        size = load["path"].stat().st_size / 2**20
        print(f"\n   {n:,} demands — {line}; file {size:,.0f} MiB")
        share = ", ".join(f"{k} {v / check['total']:.1%}" for k, v in
                          sorted(check["status"].items(), key=lambda kv: -kv[1]))
        print(f"     status mix: {share}; open+engineering {check['open_eng']:,}; "
              f"'{SEARCH_TERM}': FTS {check['fts']:,} rows = LIKE {check['like']:,} "
              f"({check['fts'] / check['total']:.2%})"
              + ("" if check["fts"] == check["like"] else "  ** FTS AND LIKE DISAGREE **"))

    names = [k for k in measured[sizes[0]] if not k.startswith("_")]
    print("\n   request = the whole GET through the test client (medians and p95 in ms);"
          " get_list = the view's query\n   and row objects; related = the unit/部门 rows the"
          " grid's cells then load one query each;\n   rest = request − get_list − related"
          " (routing, session, filters, template); stmts = SQL statements per request.")
    head = (f"   {'case':<16}{'demands':>10}{'rows':>5}{'request':>9}{'p95':>7}"
            f"{'get_list':>10}{'p95':>7}{'related':>9}{'rest':>7}{'stmts':>7}")
    print(head + "\n   " + "-" * (len(head) - 3))
    for name in names:
        for n in sizes:
            r = measured[n][name]
            (rm, rp), (sm, sp), (fm, _) = r["request"], r["sql"], r["related"]
            flag = "" if well_under(r) else "  << not well under 100 ms"
            print(f"   {name:<16}{n:>10,}{r['rows']:>5}{rm:>9.1f}{rp:>7.1f}{sm:>10.1f}{sp:>7.1f}"
                  f"{fm:>9.1f}{rm - sm - fm:>7.1f}{r['statements']:>7}"
                  f"{' +COUNT' if r['counts'] else ''}{flag}")
    if len(sizes) > 1:
        small, large = sizes[0], sizes[-1]
        print(f"\n   ratio {large:,} / {small:,} (medians):")
        for name in names:
            a, b = measured[small][name], measured[large][name]
            print(f"     {name:<17} request ×{b['request'][0] / a['request'][0]:.2f}   "
                  f"get_list ×{b['sql'][0] / a['sql'][0]:.2f}   "
                  f"(rows {a['rows']} → {b['rows']})")
    counted = [f"{n:,} {k}" for n in sizes for k in names if measured[n][k]["counts"]]
    print("\n   COUNT(*) per page view: " + ("none (simple_list_pager)" if not counted
                                             else "YES in " + ", ".join(counted)))

    large = sizes[-1]
    print(f"\n   EXPLAIN QUERY PLAN of get_list at {large:,} demands (after ANALYZE):")
    for name in names:
        r = measured[large][name]
        print(f"     [{name}] {r['url']}" + ("" if well_under(r) else "   << SLOW"))
        for line in r["plan"]:
            print("       " + line)
    before = loads[large].get("plans_before") or {}
    changed = [k for k in names if k in before and before[k] != measured[large][k]["plan"]]
    if before and not changed:
        print("   Plans before ANALYZE: the same.")
    elif before:
        print("   Plans before ANALYZE, where they differed:")
        for name in changed:
            print(f"     [{name}]")
            for line in before[name]:
                print("       " + line)

    print(f"\n   Search SQL alone at {large:,} demands by selectivity (median ms, fresh connection;"
          " rows returned):\n     view = the view's query; walk = the same without the rowid"
          " lookup (+id IN …),\n     the plan chosen without ANALYZE; join = demand_fts joined on"
          " rowid, ORDER BY demand_fts.rowid DESC")
    for probe in measured[large]["_probes"]:
        cells = "".join(f"   {name} {probe[name][0]:7.1f} ms ({probe[name][1]})"
                        for name in ("view", "walk", "join") if name in probe)
        print(f"     {probe['term']:<14} {probe['matches']:>8,} matches{cells}")

    slow = [k for k in names if not well_under(measured[large][k])]
    if slow:
        print(f"\n   NOT well under 100 ms at {large:,}: {', '.join(slow)}. Why:")
        for name in slow:
            r = measured[large][name]
            (rm, _), (sm, _), (fm, _) = r["request"], r["sql"], r["related"]
            causes = []
            if sm >= 20 and any("TEMP B-TREE FOR ORDER BY" in line for line in r["plan"]):
                causes.append(f"get_list {sm:.0f} ms: the plan reads and sorts every matching"
                              " row before LIMIT (USE TEMP B-TREE FOR ORDER BY)")
            if fm >= 10:
                causes.append(f"related rows {fm:.0f} ms: the cells load unit/部门 one query per"
                              f" row ({r['statements']} statements per request)")
            if rm - sm - fm >= 30:
                causes.append(f"the rest {rm - sm - fm:.0f} ms: routing, filters and the list"
                              f" template for {r['rows']} rows")
            print(f"     [{name}] " + ("; ".join(causes) or "no single cause stands out"))
    else:
        print(f"\n   Every case is well under 100 ms at {large:,} demands "
              f"(median < {WELL_UNDER_MS:.0f} ms, p95 < 100 ms).")


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
