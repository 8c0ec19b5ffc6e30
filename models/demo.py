"""A realistic demo estate (code DEMO) so every screen has content on a fresh machine."""

from __future__ import annotations

import datetime as dt
import random

from werkzeug.security import generate_password_hash

from models.base import db, utcnow
from models.estate import Branch, Estate
from models.frontdesk_demo import seed_front_desk
from models.office_demo import seed_office
from models.org import Building, Cluster, Department, Resident, Unit
from models.register import audit
from models.users import DEPARTMENTS, User, UserEstate
from models.validators import fake_id_number, fake_mobile

DEMO_PASSWORD = "demo12345"

SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡"
    "余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯"
    "龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = (
    "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红建国建华志强海燕丹"
    "晨宇浩然梓涵子轩欣怡雨桐思远嘉怡俊杰文博佳琪一诺"
)
CLUSTER_NAMES = ["第一组团", "第二组团", "第三组团", "第四组团", "第五组团", "第六组团", "第七组团"]

STAFF = [
    # username, name, role, department
    ("admin", "系统管理员", "admin", None),
    ("director", "林建国", "director", None),
    ("supervisor", "陈思远", "supervisor", "cs"),
    ("clerk", "王秀英", "clerk", "cs"),
    ("security", "赵志强", "dept", "security"),
    ("cleaning", "孙桂兰", "dept", "cleaning"),
    ("engineer", "周海涛", "dept", "engineering"),
    ("finance", "吴丽华", "dept", "finance"),
    ("manager", "郑经理", "viewer", None),
]


def _name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
    return rng.choice(SURNAMES) + given


def seed_demo(*, units: int = 1000, seed: int = 20261126) -> dict[str, int]:
    """Create the DEMO estate with ~`units` flats, residents and one account per role."""
    rng = random.Random(seed)
    now = utcnow()
    password_hash = generate_password_hash(DEMO_PASSWORD, method="scrypt")
    with db.atomic():
        branch = Branch.create(name="深圳分公司", general_manager="黄总", phone="0755-86001234")
        estate = Estate.create(branch=branch, code="DEMO", name="翠湖花园管理处",
                               address="深圳市南山区翠湖路 88 号", office_phone="0755-86008888")
        for kind, label in DEPARTMENTS:
            Department.create(estate=estate, kind=kind, name=f"{label}部",
                              supervisor=_name(rng), phone=fake_mobile(rng))
        staff = list(STAFF) + [(f"clerk{i:02d}", _name(rng), "clerk", "cs") for i in range(1, 21)]
        users = []
        for username, name, role, department in staff:
            user = User.create(username=username, display_name=name, role=role,
                               department=department, password_hash=password_hash,
                               phone=fake_mobile(rng))
            UserEstate.create(user=user, estate=estate)
            users.append(user)

        buildings_per_cluster, entrances, rooms_per_floor = 3, 2, 2
        floors = max(1, round(units / (len(CLUSTER_NAMES) * buildings_per_cluster * entrances
                                       * rooms_per_floor)))
        unit_rows = []
        number = 0
        for order, cluster_name in enumerate(CLUSTER_NAMES, start=1):
            cluster = Cluster.create(estate=estate, name=cluster_name, sort_order=order)
            for _ in range(buildings_per_cluster):
                number += 1
                building = Building.create(estate=estate, cluster=cluster, name=f"{number}栋",
                                           floors=floors)
                for entrance in range(1, entrances + 1):
                    for floor in range(1, floors + 1):
                        for room in range(1, rooms_per_floor + 1):
                            room_no = f"{floor}{room:02d}"
                            unit_rows.append({
                                "estate": estate.id, "building": building.id,
                                "entrance": str(entrance), "room": room_no,
                                "code": f"{number}-{entrance}-{room_no}", "floor": floor,
                                "area": rng.choice(["89.50", "102.30", "125.80", "143.60"]),
                                "state": "vacant", "created_at": now, "updated_at": now,
                            })
        unit_rows = unit_rows[:units]
        for start in range(0, len(unit_rows), 500):
            Unit.insert_many(unit_rows[start:start + 500]).execute()

        resident_rows = []
        for unit in Unit.select(Unit.id, Unit.code).where(Unit.estate == estate):
            if rng.random() < 0.12:
                continue  # not yet handed over
            moved_in = dt.date(2019, 1, 1) + dt.timedelta(days=rng.randrange(0, 2400))
            members = [("owner", _name(rng))]
            if rng.random() < 0.5:
                members.append(("family", members[0][1][0] + rng.choice(GIVEN) + rng.choice(GIVEN)))
            if rng.random() < 0.15:
                members = [("owner", members[0][1]), ("tenant", _name(rng))]
            for kind, name in members:
                resident_rows.append({
                    "estate": estate.id, "unit": unit.id, "name": name, "kind": kind,
                    "phone": fake_mobile(rng), "doc_type": "resident_id",
                    "id_number": fake_id_number(rng), "moved_in": moved_in,
                    "created_at": now, "updated_at": now, "notes": "",
                })
        for start in range(0, len(resident_rows), 500):
            Resident.insert_many(resident_rows[start:start + 500]).execute()
        occupied = Resident.select(Resident.unit).where(Resident.estate == estate)
        Unit.update(state="occupied").where(Unit.id.in_(occupied)).execute()
        audit(None, "create", table="estate", row_id=estate.id, estate_id=estate.id,
              summary=f"创建演示数据：{len(unit_rows)} 套房屋，{len(resident_rows)} 位住户")
    demands = seed_demands(estate, rng)
    seed_front_desk(estate, rng)
    seed_office(estate, rng)
    return {"小区": 1, "组团": len(CLUSTER_NAMES), "房屋": len(unit_rows),
            "住户": len(resident_rows), "用户": len(users), "业户需求": demands}


DEMAND_SAMPLES = [
    ("engineering", "complaint", "厨房水管漏水，楼下天花板滴水"),
    ("engineering", "help", "卫生间下水道堵塞，请派人疏通"),
    ("engineering", "help", "家里突然停电，总闸跳了合不上"),
    ("engineering", "complaint", "电梯运行时有异响，老人不敢坐"),
    ("security", "complaint", "夜间有陌生人在楼道徘徊"),
    ("security", "help", "车位被外来车辆占用"),
    ("environment", "complaint", "垃圾桶满溢未及时清运，气味很大"),
    ("environment", "suggestion", "建议在儿童游乐区增加遮阳棚"),
    ("customer_service", "consultation", "咨询物业费缴纳方式和时间"),
    ("customer_service", "consultation", "咨询装修申请需要准备哪些材料"),
    ("neighbour", "complaint", "楼上装修噪音太大，周末早上七点就开工"),
    ("neighbour", "complaint", "邻居在公共走廊堆放杂物"),
    ("developer", "complaint", "外墙渗水，交房时就存在"),
    ("outside", "help", "燃气管道改造需要协调燃气公司"),
    ("proposal", "suggestion", "建议小区门口增设快递柜"),
]


def seed_demands(estate, rng: random.Random, count: int = 60) -> int:
    """Demands in every state of the loop, made through the model's own operations."""
    from models.demands import Demand
    from models.register import save_record

    clerk = User.get(User.username == "clerk")
    supervisor = User.get(User.username == "supervisor")
    engineer = User.get(User.username == "engineer")
    departments = {d.kind: d for d in Department.select().where(Department.estate == estate)}
    kind_of = {"engineering": "engineering", "security": "security",
               "environment": "cleaning", "customer_service": "cs"}
    residents = list(Resident.select().where(Resident.estate == estate,
                                             Resident.kind == "owner").limit(400))
    now = utcnow()
    for i in range(count):
        category, kind, text = rng.choice(DEMAND_SAMPLES)
        resident = rng.choice(residents)
        age = dt.timedelta(hours=rng.uniform(0.2, 24 * 30))
        demand = Demand(estate=estate, received_at=now - age, category=category, kind=kind,
                        channel=rng.choice(["phone", "phone", "visit", "staff", "proactive"]),
                        unit=resident.unit_id, resident=resident.id, description=text,
                        urgent=rng.random() < 0.25, serious=rng.random() < 0.2)
        stage = i % 6
        if kind == "consultation":
            demand.answered_at_intake = True
            demand.reply_content = "已当场解答"
        save_record(demand, clerk)
        if demand.status == "closed" or stage == 0:
            continue  # answered at intake, or waiting to be dispatched
        department = departments[kind_of.get(category, "cs")]
        sent_at = min(now, demand.received_at + dt.timedelta(minutes=rng.uniform(5, 90)))
        order = demand.dispatch(clerk, department_id=department.id, dispatched_at=sent_at)
        if stage == 1:
            continue  # with the department
        done_at = min(now, sent_at + dt.timedelta(hours=rng.uniform(0.5, 60)))
        order.complete(engineer, result="已处理完毕，业户确认", completed_at=done_at)
        demand = Demand.get_by_id(demand.id)
        if stage == 2:
            continue  # waiting for the callback
        satisfied = stage != 3
        demand.record_callback(supervisor, channel="phone", on_time=rng.randint(3, 5),
                               attitude=rng.randint(3, 5), skill=rng.randint(2, 5),
                               etiquette=rng.randint(4, 5), satisfied=satisfied,
                               comments="" if satisfied else "问题未彻底解决")
    return count
