"""Demo demands in every state of the loop (R-DEM-4), made through the models' operations."""

from __future__ import annotations

import datetime as dt
import random

from demo.photos import keep, leak_photo, signature_png
from models.base import utcnow
from models.callbacks import Callback
from models.demands import Demand
from models.org import Department, Resident
from models.register import save_record
from models.users import User

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


# The demo spans half a year so 分析与总结's month-on-month charts mean something (#12 item 10):
# demands of past months have gone round the loop (replied, completed, called back a few days
# later with varied satisfaction); the last fortnight's are in every state of the loop.
SPAN_DAYS = 180
RECENT_DAYS = 14


def seed_demands(estate, rng: random.Random, count: int = 90) -> int:
    """Demands in every state of the loop, made through the model's own operations."""
    clerk = User.get(User.username == "clerk")
    supervisor = User.get(User.username == "supervisor")
    # Each department reports its own orders (R-REC-4); the desk reports for 客服.
    reporters = {"engineering": "engineer", "security": "security", "cleaning": "cleaning",
                 "cs": "clerk", "finance": "finance"}
    reporters = {kind: User.get(User.username == name) for kind, name in reporters.items()}
    # Who goes on site (the 考核 per worker in 分析与总结): the department's own people.
    workers = {kind: [u for u in (reporters[kind], *extra) if u.role == "dept"]
               for kind, extra in (("engineering", [User.get(User.username == "enghead")]),
                                   ("security", []), ("cleaning", []), ("cs", []),
                                   ("finance", []))}
    departments = {d.kind: d for d in Department.select().where(Department.estate == estate)}
    kind_of = {"engineering": "engineering", "security": "security",
               "environment": "cleaning", "customer_service": "cs"}
    residents = list(Resident.select().where(Resident.estate == estate,
                                             Resident.kind == "owner").limit(400))
    now = utcnow()
    recent = count // 3
    # A few rows carry photos (#16), so the demo shows thumbnails: the owner's own photo on
    # engineering demands, before/after photos and the owner's signature on finished orders.
    from views.demands import DemandAdmin
    from views.work_orders import WorkOrderAdmin

    owner_photo = DemandAdmin.attachment_kinds[0]
    order_kinds = {k.name: k for k in WorkOrderAdmin.attachment_kinds}
    photos_left = {"owner": 5, "order": 3}
    for i in range(count):
        category, kind, text = rng.choice(DEMAND_SAMPLES)
        resident = rng.choice(residents)
        if i < recent:
            age = dt.timedelta(hours=rng.uniform(0.2, 24 * RECENT_DAYS))
            stage = i % 6
        else:
            age = dt.timedelta(days=rng.uniform(RECENT_DAYS, SPAN_DAYS))
            stage = rng.choice((3, 4, 4, 5, 5))  # past months: gone round the loop
        received_at = now - age
        demand = Demand(estate=estate, received_at=received_at, category=category, kind=kind,
                        channel=rng.choice(["phone", "phone", "visit", "staff", "proactive"]),
                        unit=resident.unit_id, resident=resident.id, description=text,
                        contact_name=resident.name, contact_phone=resident.phone,
                        urgent=rng.random() < 0.25, serious=rng.random() < 0.2)
        if kind == "consultation":
            demand.answered_at_intake = True
            demand.reply_content = "已当场解答"
        save_record(demand, clerk)
        if category == "engineering" and photos_left["owner"]:
            photos_left["owner"] -= 1
            keep(demand, clerk, owner_photo, "业主拍摄.jpg", leak_photo(random.Random(i)))
        if demand.status == "closed" or stage == 0:
            continue  # answered at intake, or waiting to be dispatched
        department = departments[kind_of.get(category, "cs")]
        reporter = reporters[department.kind]
        sent_at = min(now, received_at + dt.timedelta(minutes=rng.uniform(5, 90)))
        crew = workers[department.kind]
        order = demand.dispatch(clerk, department_id=department.id, dispatched_at=sent_at,
                                assignee_id=rng.choice(crew).id if crew else None)
        if stage == 1:
            if i % 12 == 1:
                # R-REC-1: the owner agreed to a later visit; the supervisor revises, with a
                # reason, beside the original promise (and any miss stays).
                Demand.get_by_id(demand.id).revise_deadline(
                    supervisor, serious=demand.serious, urgent=demand.urgent,
                    requested_reply_at=now + dt.timedelta(days=3),
                    reason="业户出差，约定返回后上门")
            continue  # with the department
        # The department answers the owner (most within the promise, some late: R-DEM-6/7).
        replied_at = min(now, sent_at + dt.timedelta(hours=rng.choice((0.5, 1, 3, 8, 20, 50))))
        Demand.get_by_id(demand.id).reply(reporter, replied_at=replied_at,
                                          content="已联系业户，约定上门处理",
                                          cause="设施老化" if category == "engineering"
                                          else "日常管理疏漏")
        done_at = min(now, replied_at + dt.timedelta(hours=rng.uniform(0.5, 48)))
        if department.kind == "engineering" and photos_left["order"]:
            photos_left["order"] -= 1
            # Their own generator: the demo's other rows stay as they were without photos.
            drawing = random.Random(i)
            keep(order, reporter, order_kinds["before"], "维修前.jpg", leak_photo(drawing))
            keep(order, reporter, order_kinds["after"], "维修后.jpg",
                 leak_photo(drawing, fixed=True))
            keep(order, reporter, order_kinds["signature"], "业主签字.png",
                 signature_png(drawing))
        order.complete(reporter, result="已处理完毕，业户确认", completed_at=done_at)
        if stage == 2:
            continue  # waiting for the callback
        _call_back(Demand.get_by_id(demand.id), supervisor, rng, done_at, now,
                   satisfied=stage != 3 or rng.random() < 0.5)
        demand = Demand.get_by_id(demand.id)
        if demand.status == "open" and i >= recent:
            # Reopened after an unhappy callback in a past month: handled again and closed.
            called = Callback.get(Callback.demand == demand.id)
            redo_at = min(now, called.called_at + dt.timedelta(hours=rng.uniform(2, 30)))
            order = demand.dispatch(clerk, department_id=department.id, dispatched_at=redo_at,
                                    assignee_id=order.assignee_id)
            Demand.get_by_id(demand.id).reply(reporter, replied_at=redo_at,
                                              content="再次上门处理", cause="首次处理不彻底")
            done_at = min(now, redo_at + dt.timedelta(hours=rng.uniform(1, 24)))
            order.complete(reporter, result="复修完毕", completed_at=done_at)
            _call_back(Demand.get_by_id(demand.id), supervisor, rng, done_at, now,
                       satisfied=True)
    return count


def _call_back(demand, supervisor, rng: random.Random, done_at, now, *, satisfied: bool):
    """The desk calls back a few hours to three days after completion (R-DEM-9)."""
    called_at = min(now, done_at + dt.timedelta(hours=rng.uniform(2, 72)))
    demand.record_callback(supervisor, channel="phone", on_time=rng.randint(3, 5),
                           attitude=rng.randint(3, 5), skill=rng.randint(2, 5),
                           etiquette=rng.randint(4, 5), satisfied=satisfied,
                           comments="" if satisfied else "问题未彻底解决", called_at=called_at)
