"""Synthetic demands for the benchmarks: an estate, its units and people, and n demands with
plausible categories, channels, states and texts (bench/demands_bench.py loads them)."""

from __future__ import annotations

import datetime as dt
import random
import re
import time
from pathlib import Path

from app import create_app
from models import deadlines
from models.base import db
from models.calendar import NumberSequence
from models.demands import CATEGORIES, CHANNELS, Demand
from models.estate import Branch, Estate
from models.org import Building, Cluster, Department, Unit
from models.search import bigrams
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
                   "proactive": 4, "committee": 2, "industry": 2, "owner_self": 1}
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
    # R-REC-1 (#11): the promise and its basis, revisions, the cause (R-DEM-6).
    Demand.original_reply_due, Demand.promised_serious, Demand.promised_urgent,
    Demand.promised_requested_at, Demand.revision_count, Demand.cause,
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
            due, serious, urgent, requested, 0, "",
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
