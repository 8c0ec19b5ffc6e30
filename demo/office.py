"""Demo rows for the office's registers (issue #5): the service guide, printing, emergencies,
the roster, move-ins, and (demo/community.py) batches, surveys, committee and tenancies. Made
through the models' own methods so every row obeys the rules it would obey at the desk."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from demo.community import batches, committee, surveys, tenancies
from demo.people import office_time, staff_of
from models import approvals
from models.approvals import ApprovalRequest
from models.base import to_office, utcnow
from models.emergencies import Emergency
from models.guide import GuideCategory, GuideEntry
from models.keys import KeySet
from models.movein import MoveIn
from models.org import Department, Resident, Unit
from models.printing import PrintJob
from models.register import save_record, void_record
from models.roster import (
    DutyDirector,
    Shift,
    ShiftLog,
    ensure_default_shifts,
    fill_month,
    next_shift,
    rostered,
)
from models.users import User
from models.validators import fake_mobile

GUIDE = [
    ("紧急求援电话", "遇到紧急情况请先拨打下列电话，同时通知管理处客服中心", [
        ("报警", "公安110", "110", "24小时", "免费", ""),
        ("火警", "消防119", "119", "24小时", "免费", ""),
        ("急救", "医疗急救120", "120", "24小时", "按医院标准", ""),
        ("供电抢修", "供电局", "95598", "24小时", "免费", "停电先查看户内总闸"),
        ("燃气抢修", "市燃气集团", "0755-83601234", "24小时", "免费", "闻到燃气味请勿开关电器"),
    ]),
    ("小区安防简介", "小区实行24小时保安巡逻和门岗登记制度", [
        ("门岗及监控中心", "保安部", "0755-86008801", "24小时", "免费",
         "访客须登记，装修工人凭出入证"),
    ]),
    ("家政服务", "", [
        ("钟点工保洁", "洁家家政服务公司", "13826501234", "每天 8:00–20:00", "40元/小时",
         "提前一天预约"),
        ("家电清洗", "洁家家政服务公司", "13826501234", "每天 8:00–20:00", "空调 80元/台", ""),
    ]),
    ("洗衣服务", "", [
        ("干洗、水洗上门收送", "翠湖洗衣店", "0755-86005678", "每天 9:00–21:00", "按件计价",
         "满3件免费上门"),
    ]),
    ("订餐咨询", "", [
        ("家常菜外送", "翠湖食堂", "0755-86003456", "11:00–13:30，17:00–20:00", "套餐 25元起", ""),
    ]),
    ("理财、旅游、医疗咨询", "", [
        ("医疗定期咨询", "社区健康服务中心", "0755-86007890", "每月第一个周六上午", "免费",
         "在小区会所义诊"),
        ("旅游咨询", "南山国旅", "400-800-1234", "工作日 9:00–18:00", "免费咨询", ""),
        ("理财咨询", "工商银行翠湖支行", "95588", "工作日 9:00–17:00", "免费", ""),
    ]),
    ("代订机票、代叫出租", "客服中心可代为预订，费用由业户自理", [
        ("代订机票", "客服中心", "0755-86008888", "24小时", "按票价", ""),
        ("代叫出租车", "客服中心", "0755-86008888", "24小时", "按计价器", "夜间请提前半小时预约"),
    ]),
]

PRINT_TITLES = {
    "cs": ["业主入伙通知书", "满意度访问表", "停水通知", "装修管理规定"],
    "security": ["夜间巡逻记录表", "访客登记表"],
    "cleaning": ["保洁作业检查表", "垃圾清运时间表"],
    "engineering": ["设备巡检记录表", "电梯维保记录", "二次供水清洗公告"],
    "finance": ["物业费催缴通知", "收费标准公示"],
}


def seed_office(estate, rng: random.Random) -> dict[str, int]:
    """Realistic rows for every register of issue #5 in the demo estate; returns counts."""
    staff = staff_of(estate)
    now = to_office(utcnow())
    today = now.date()
    counts = {
        "服务指南": _guide(estate, staff),
        "打印登记": _printing(estate, staff, rng, now),
        "紧急事件": _emergencies(estate, staff, now),
        "排班": _roster(estate, staff, now),
        "入伙": _move_ins(estate, staff, rng, now),
        "统一施工": batches(estate, staff, rng, now),
        "满意度访问": surveys(estate, staff, rng, now),
        "业委会沟通": committee(estate, staff, today),
        "租户/过户": tenancies(estate, staff, rng, today),
    }
    return counts


def _guide(estate, staff) -> int:
    clerk = staff["clerk"]
    count = 0
    for order, (name, intro, entries) in enumerate(GUIDE, start=1):
        category = save_record(GuideCategory(estate=estate.id, name=name, intro=intro,
                                             sort_order=order * 10), clerk)
        for index, (title, provider, phone, hours, price, notes) in enumerate(entries):
            save_record(GuideEntry(estate=estate.id, category=category.id, name=title,
                                   provider=provider, phone=phone, hours=hours, price=price,
                                   notes=notes, sort_order=index), clerk)
            count += 1
    return count


def _printing(estate, staff, rng, now) -> int:
    departments = {d.kind: d for d in Department.select().where(Department.estate == estate.id)}
    requesters = {kind: staff.get(name, staff["clerk"]) for kind, name in (
        ("cs", "clerk"), ("security", "security"), ("cleaning", "cleaning"),
        ("engineering", "engineer"), ("finance", "finance"))}
    kinds = [kind for kind in PRINT_TITLES if kind in departments]
    count = 0
    for i in range(24):
        kind = rng.choice(kinds)
        asked = now - dt.timedelta(days=rng.uniform(0.5, 55), hours=rng.uniform(0, 3))
        job = save_record(PrintJob(estate=estate.id, department=departments[kind].id,
                                   title=rng.choice(PRINT_TITLES[kind]),
                                   copies=rng.choice([1, 2, 5, 10, 20]),
                                   pages=rng.choice([1, 1, 2, 3, 4]), requested_at=asked),
                          requesters[kind])
        count += 1
        if i % 8 == 7:
            continue  # still waiting for approval
        # The 客服 supervisor approves 客服 jobs; the director those of other departments.
        approver = staff["supervisor"] if kind == "cs" else staff["director"]
        approved_at = asked + dt.timedelta(minutes=rng.randint(5, 90))
        pending = ApprovalRequest.pending_for(job, "approve")
        if i % 11 == 10:
            approvals.reject(pending, approver, note="内容与上月重复，请使用存档")
            continue
        approvals.apply_now(job, "approve", requesters[kind], approver,
                            {"note": "同意", "at": approved_at}, at=approved_at)
        printed_at = min(now, approved_at + dt.timedelta(minutes=rng.randint(5, 60)))
        job.mark_printed(staff["clerk"], signed_name=requesters[kind].display_name,
                         confirmed=True, printed_at=printed_at)
    return count


def _emergencies(estate, staff, now) -> int:
    clerk, director = staff["clerk"], staff["director"]
    engineer = staff["engineer"].display_name
    # A burst pipe (equipment): technician first, closed with its measures and results.
    start = now - dt.timedelta(days=20, hours=3)
    pipe = save_record(Emergency(
        estate=estate.id, occurred_at=start, place="5栋地下车库消防管道", kind="equipment",
        description="消防喷淋主管接头爆裂，车库积水约10厘米", reported_by="保安 赵志强",
        first_reported_to="值班客服 王秀英", reported_at=start + dt.timedelta(minutes=3),
        casualties="无", rescue="无人员伤亡", technician=engineer,
        technician_notified_at=start + dt.timedelta(minutes=5),
        stabilised_at=start + dt.timedelta(hours=2)), clerk)
    pipe.add_step(clerk, kind="reported", who="值班客服 王秀英", note="保安发现后立即报告",
                  at=start + dt.timedelta(minutes=3))
    pipe.add_step(clerk, kind="technician", who=engineer, note="关闭消防泵房阀门，抽水",
                  at=start + dt.timedelta(minutes=5))
    pipe.add_step(clerk, kind="director", who=director.display_name, note="电话报告管理处主任",
                  at=start + dt.timedelta(minutes=10))
    pipe = Emergency.get_by_id(pipe.id)
    for name, value in (("cause", "喷淋管道接头老化锈蚀，水压波动时爆裂"),
                        ("responsible_person", engineer),
                        ("remedial_measures", "更换接头，清理积水，通知受影响车主"),
                        ("preventive_measures", "每月巡检消防管道接头，老化件年底前全部更换")):
        setattr(pipe, name, value)
    save_record(pipe, director)
    pipe.close(director, at=start + dt.timedelta(days=1))
    pipe.add_step(staff["engineer"], kind="result", who="工程维修部",
                  note="已更换地库全部同型号接头 12 个", at=start + dt.timedelta(days=6))

    # A lift entrapment with outside help, consented by the director, still being handled.
    start = now - dt.timedelta(days=2, hours=5)
    lift = save_record(Emergency(
        estate=estate.id, occurred_at=start, place="12栋2单元电梯", kind="lift",
        description="电梯停在8至9层之间，轿厢内2名业主", reported_by="业主（电梯内对讲）",
        first_reported_to="监控中心", reported_at=start + dt.timedelta(minutes=1),
        casualties="无", rescue="安抚被困业主，保持通话",
        stabilised_at=start + dt.timedelta(minutes=40)), clerk)
    lift.add_step(clerk, kind="director", who=director.display_name, note="报告主任",
                  at=start + dt.timedelta(minutes=5))
    # The director consented in person at the desk (R-EMG-2, R-REC-2).
    approvals.apply_now(lift, "add_step", clerk, director,
                        {"kind": "outside_help", "who": "119 消防",
                         "note": "维保单位 30 分钟内无法到场",
                         "at": start + dt.timedelta(minutes=12)},
                        how="desk", operator=clerk, at=start + dt.timedelta(minutes=10))
    lift.add_step(clerk, kind="gm", who=estate.branch.general_manager or "分公司总经理",
                  note="主任电话报告分公司", at=start + dt.timedelta(minutes=15))

    # A power cut reported today, still open.
    start = now - dt.timedelta(hours=1)
    save_record(Emergency(
        estate=estate.id, occurred_at=start, place="3栋", kind="power",
        description="3栋整栋停电，供电局通知线路故障", reported_by="业主 李女士",
        first_reported_to="值班客服", casualties="无"), clerk)
    return 3


def _roster(estate, staff, now) -> int:
    supervisor = staff["supervisor"]
    ensure_default_shifts(estate.id, supervisor)
    clerks = [staff[name].id for name in sorted(staff) if name.startswith("clerk")]
    directors = [staff["director"].id, staff["supervisor"].id]
    added = fill_month(supervisor, estate.id, now.year, now.month, clerk_ids=clerks,
                       per_shift=3, director_ids=directors)
    # One day's duty director was called away: voided, so the roster shows the gap.
    gap = (DutyDirector.select().where(DutyDirector.estate == estate.id)
           .order_by(DutyDirector.day.desc()).first())
    if gap is not None:
        void_record(gap, supervisor, "主任外出培训，待重新安排")
    # Hand-overs of the last day's shifts, acknowledged by someone of the next shift.
    shifts = list(Shift.live(estate.id))
    users = {u.id: u for u in User.select()}
    day = now.date() - dt.timedelta(days=1) if now.day > 1 else now.date()
    for shift in shifts:
        writers = rostered(estate.id, day, shift.id)
        following = next_shift(estate.id, day, shift)
        if not writers or following is None:
            continue
        written_at = office_time(day, (shift.ends.hour or 24) - 1, 50)  # ten minutes before the end
        if written_at > now:
            continue
        log = save_record(ShiftLog(estate=estate.id, day=day, shift=shift.id,
                                   written_at=written_at,
                                   handover_note="3-1-502 报修漏水已派工未完工；"
                                                 "借出钥匙 2 套待归还；监控设备正常"),
                          users[writers[0]])
        takers = [t for t in rostered(estate.id, following[0], following[1].id)
                  if t != writers[0]]
        if takers and shift != shifts[-1]:
            log.acknowledge(users[takers[0]], note="已核对",
                            at=min(now, written_at + dt.timedelta(minutes=15)))
    return added


def _move_ins(estate, staff, rng, now) -> int:
    clerk, finance = staff["clerk"], staff["finance"]  # step 5 is finance's (R-MOVE-1)
    lived_in = Resident.select(Resident.unit).where(Resident.estate == estate.id)
    vacant = list(Unit.select().where(Unit.estate == estate.id, Unit.id.not_in(lived_in))
                  .order_by(Unit.code).limit(8))
    for index, unit in enumerate(vacant):
        name = rng.choice("王李张刘陈杨黄赵") + rng.choice(["建华", "丽娟", "志刚", "晓明", "海燕"])
        move_in = save_record(MoveIn(estate=estate.id, unit=unit.id, owner_name=name,
                                     owner_phone=fake_mobile(rng)), clerk)
        last_step = [6, 6, 5, 4, 3, 2, 1, 0][index]
        started = office_time(now.date() - dt.timedelta(days=10 - index), 9, 30)
        if last_step == 6 and index == 0:
            # The keys register holds this unit's key set: step 6 hands it to the owner.
            save_record(KeySet(estate=estate.id, unit=unit.id, count=3, hook=f"A-{index + 1}"),
                        clerk)
        for n in range(1, last_step + 1):
            at = None if n == 6 else started + dt.timedelta(minutes=20 * n)
            user = finance if n == 5 else clerk
            details = {
                2: {"id_copied": True},
                3: {"agreements_signed": True},
                5: {"property_fee": Decimal("2160.00"), "property_fee_receipt": f"WY{index:04d}",
                    "maintenance_fund": Decimal("8650.00"),
                    "maintenance_fund_receipt": f"JJ{index:04d}"},
                6: {"inspection_notes": "门窗、水电、墙面验收正常", "keys_count": 3,
                    "rectification_items": "主卧窗框打胶不均" if index else "",
                    "key_receipt_signed": True},
            }.get(n, {})
            move_in.do_step(user, n, at=at, **details)
            move_in = MoveIn.get_by_id(move_in.id)
    return len(vacant)
