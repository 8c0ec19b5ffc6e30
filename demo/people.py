"""The demo estate (code DEMO): its branch, departments, clusters, buildings, units, residents
and one account per role, and the helpers the other demo seeds share."""

from __future__ import annotations

import datetime as dt
import random

from werkzeug.security import generate_password_hash

from models.base import db, office_tz, utcnow
from models.estate import Branch, Estate
from models.org import Building, Cluster, Department, Resident, Unit
from models.register import audit
from models.users import DEPARTMENTS, User, UserEstate, password_method
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
    ("enghead", "马建华", "dept", "engineering"),  # 工程主管 (DEPT_SUPERVISORS)
    ("finance", "吴丽华", "dept", "finance"),
    ("manager", "郑经理", "viewer", None),
]
# Department members who supervise their department (R-REC-4: 工程主管 signs decoration tests).
DEPT_SUPERVISORS = frozenset({"enghead"})


def person_name(rng: random.Random) -> str:
    given = rng.choice(GIVEN) + (rng.choice(GIVEN) if rng.random() < 0.6 else "")
    return rng.choice(SURNAMES) + given


def seed_estate(rng: random.Random, units: int) -> tuple[Estate, dict[str, int]]:
    """Create the DEMO estate with ~`units` flats, residents and one account per role."""
    now = utcnow()
    password_hash = generate_password_hash(DEMO_PASSWORD, method=password_method())
    with db.atomic():
        branch = Branch.create(name="深圳分公司", general_manager="黄总", phone="0755-86001234")
        estate = Estate.create(branch=branch, code="DEMO", name="翠湖花园管理处",
                               address="深圳市南山区翠湖路 88 号", office_phone="0755-86008888")
        for kind, label in DEPARTMENTS:
            Department.create(estate=estate, kind=kind, name=f"{label}部",
                              supervisor=person_name(rng), phone=fake_mobile(rng))
        staff = list(STAFF) + [(f"clerk{i:02d}", person_name(rng), "clerk", "cs")
                               for i in range(1, 21)]
        users = []
        for username, name, role, department in staff:
            user = User.create(username=username, display_name=name, role=role,
                               department=department, password_hash=password_hash,
                               dept_supervisor=username in DEPT_SUPERVISORS,
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
            members = [("owner", person_name(rng))]
            if rng.random() < 0.5:
                members.append(("family", members[0][1][0] + rng.choice(GIVEN) + rng.choice(GIVEN)))
            if rng.random() < 0.15:
                members = [("owner", members[0][1]), ("tenant", person_name(rng))]
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
    return estate, {"小区": 1, "组团": len(CLUSTER_NAMES), "房屋": len(unit_rows),
                    "住户": len(resident_rows), "用户": len(users)}


def staff_of(estate) -> dict[str, User]:
    """The estate's accounts by username (the seeds act as the role that would at the desk)."""
    linked = UserEstate.select(UserEstate.user).where(UserEstate.estate == estate.id)
    return {u.username: u for u in User.select().where(User.id.in_(linked))}


def office_time(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """That office-local moment of a day."""
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=office_tz())
