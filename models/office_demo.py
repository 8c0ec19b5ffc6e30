"""Demo rows for the office's other registers (issue #5), made through the models' own methods
so every row obeys the rules it would obey at the desk. Called by models.demo.seed_demo."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from models.base import office_tz, to_office, utcnow
from models.batches import ServiceBatch, ServiceRegistration, notice_days
from models.committee import CommitteeContact, CommitteeItem
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
from models.surveys import SurveyRound, SurveyVisit
from models.tenancy import OwnershipTransfer, Tenancy
from models.users import User, UserEstate
from models.validators import fake_id_number, fake_mobile

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


def _at(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=office_tz())


def _staff(estate) -> dict[str, User]:
    linked = UserEstate.select(UserEstate.user).where(UserEstate.estate == estate.id)
    return {u.username: u for u in User.select().where(User.id.in_(linked))}


def seed_office(estate, rng: random.Random) -> dict[str, int]:
    """Realistic rows for every register of issue #5 in the demo estate; returns counts."""
    staff = _staff(estate)
    now = to_office(utcnow())
    today = now.date()
    counts = {
        "服务指南": _guide(estate, staff),
        "打印登记": _printing(estate, staff, rng, now),
        "紧急事件": _emergencies(estate, staff, now),
        "排班": _roster(estate, staff, now),
        "入伙": _move_ins(estate, staff, rng, now),
        "统一施工": _batches(estate, staff, rng, now),
        "满意度访问": _surveys(estate, staff, rng, now),
        "业委会沟通": _committee(estate, staff, today),
        "租户/过户": _tenancies(estate, staff, rng, today),
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
        if i % 11 == 10:
            job.approve(approver, approved=False, note="内容与上月重复，请使用存档", at=approved_at)
            continue
        job.approve(approver, note="同意", at=approved_at)
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
    lift.add_step(clerk, kind="outside_help", who="119 消防", note="维保单位 30 分钟内无法到场",
                  at=start + dt.timedelta(minutes=12), consent_by_id=director.id,
                  consent_at=start + dt.timedelta(minutes=10))
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
        written_at = _at(day, (shift.ends.hour or 24) - 1, 50)  # ten minutes before the end
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
    clerk, finance = staff["clerk"], staff.get("finance", staff["clerk"])
    lived_in = Resident.select(Resident.unit).where(Resident.estate == estate.id)
    vacant = list(Unit.select().where(Unit.estate == estate.id, Unit.id.not_in(lived_in))
                  .order_by(Unit.code).limit(8))
    for index, unit in enumerate(vacant):
        name = rng.choice("王李张刘陈杨黄赵") + rng.choice(["建华", "丽娟", "志刚", "晓明", "海燕"])
        move_in = save_record(MoveIn(estate=estate.id, unit=unit.id, owner_name=name,
                                     owner_phone=fake_mobile(rng)), clerk)
        last_step = [6, 6, 5, 4, 3, 2, 1, 0][index]
        started = _at(now.date() - dt.timedelta(days=10 - index), 9, 30)
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


def _months_back(day: dt.date, n: int) -> dt.date:
    """The first day of the month n months before day's month."""
    year, month = divmod(day.year * 12 + day.month - 1 - n, 12)
    return dt.date(year, month + 1, 1)


def _next_weekend(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(5 - day.weekday()) % 7 or 7)


def _batches(estate, staff, rng, now) -> int:
    clerk = staff["clerk"]
    owners = list(Resident.select().where(Resident.estate == estate.id,
                                          Resident.kind == "owner").limit(40))
    registrations = {"lock": [], "intercom": [], "gas": []}
    for index, owner in enumerate(owners[:24]):
        kind = ("lock", "lock", "intercom", "gas")[index % 4]
        registered = now - dt.timedelta(days=30 - index)
        registrations[kind].append(save_record(ServiceRegistration(
            estate=estate.id, kind=kind, unit=owner.unit_id, resident=owner.id,
            contact_name=owner.name, contact_phone=owner.phone, registered_at=registered),
            clerk))
    # A past Saturday's lock batch, notified in time, done (one owner was out).
    past_day = _next_weekend(now.date() - dt.timedelta(days=14))
    lock = save_record(ServiceBatch(estate=estate.id, kind="lock", day=past_day,
                                    team="安居锁业 2 人"), clerk)
    if registrations["lock"]:
        lock.add(clerk, [r.id for r in registrations["lock"][:6]])
    lock.record_notice(clerk, method="sms", content="本周六 9:00–17:00 统一更换锁芯及猫眼",
                       at=_at(past_day - dt.timedelta(days=notice_days() + 1), 10))
    for index, reg in enumerate(ServiceRegistration.select().where(
            ServiceRegistration.batch == lock.id)):
        reg.complete(clerk, done=index != 2, result="已更换，业主签字" if index != 2
                     else "业主不在家", at=_at(past_day, 10 + index))
    # The next weekend's intercom batch, planned; notified when there is still time.
    upcoming = _next_weekend(now.date() + dt.timedelta(days=notice_days()))
    intercom = save_record(ServiceBatch(estate=estate.id, kind="intercom", day=upcoming,
                                        team="安讯智能"), clerk)
    if registrations["intercom"]:
        intercom.add(clerk, [r.id for r in registrations["intercom"]])
    intercom.record_notice(clerk, method="notice", content="各单元大堂张贴安装通知")
    # Gas work on the gas company's appointment day.
    gas = save_record(ServiceBatch(estate=estate.id, kind="gas",
                                   day=now.date() + dt.timedelta(days=10),
                                   gas_company="市燃气集团南山分公司",
                                   gas_appointment=f"RQ{now:%Y%m}{rng.randint(100, 999)}",
                                   gas_contact="刘师傅 13600001111"), clerk)
    if registrations["gas"]:
        gas.add(clerk, [r.id for r in registrations["gas"]])
    return sum(len(v) for v in registrations.values())


def _surveys(estate, staff, rng, now) -> int:
    visitors = [staff["clerk"], staff["supervisor"]]
    owners = list(Resident.select().where(Resident.estate == estate.id, Resident.kind == "owner",
                                          Resident.moved_out.is_null()).limit(300))
    needs = ["希望增加夜间巡逻", "楼道灯经常不亮", "建议增设电动车充电桩", "", "", "", "",
             "垃圾桶清运不及时", "", ""]
    count = 0
    for back in (2, 1, 0):
        first = _months_back(now.date(), back)
        survey = save_record(SurveyRound(estate=estate.id, month=first,
                                         title=f"{first.month}月满意度访问"), staff["supervisor"])
        last_day = now.date() if back == 0 else _months_back(first, -1) - dt.timedelta(days=1)
        for owner in rng.sample(owners, min(25, len(owners))):
            day = first + dt.timedelta(days=rng.randrange((last_day - first).days + 1))
            visited = min(now - dt.timedelta(minutes=5), _at(day, rng.randint(9, 16)))
            visit = save_record(SurveyVisit(
                estate=estate.id, round=survey.id, unit=owner.unit_id, resident=owner.id,
                visited_at=visited, channel=rng.choice(["visit", "phone"]),
                service_score=rng.randint(3, 5), environment_score=rng.randint(2, 5),
                security_score=rng.randint(3, 5), engineering_score=rng.randint(2, 5),
                satisfied=rng.random() < 0.88, needs=rng.choice(needs)),
                rng.choice(visitors))
            count += 1
            if visit.needs and rng.random() < 0.4:
                category = "security" if "巡逻" in visit.needs else "proposal"
                visit.to_demand(staff["clerk"], kind="suggestion", category=category)
    return count


def _committee(estate, staff, today) -> int:
    clerk = staff["supervisor"]
    topics = [("物业费收缴情况通报；春节安全检查安排", "同意安全检查方案", "complaint",
               "部分业主反映地下车库照明不足"),
              ("电梯维保合同续签", "要求维保单位提供近一年故障记录", "suggestion",
               "建议在电梯内张贴维保单位24小时电话"),
              ("小区绿化改造方案", "原则同意，方案公示两周", "suggestion",
               "建议保留中心花园的大榕树"),
              ("外墙渗水维修进度", "要求地产公司月底前给出维修计划", "complaint",
               "7栋多户外墙渗水，交房时即存在")]
    count = 0
    for back, (topic, opinion, kind, content) in enumerate(topics):
        if back == 1:
            continue  # a month without a contact: the list shows the warning
        month = _months_back(today, back).replace(day=12)
        held = min(to_office(utcnow()) - dt.timedelta(hours=1), _at(month, 15))
        contact = save_record(CommitteeContact(
            estate=estate.id, held_at=held, kind="meeting", place="管理处会议室",
            attendees="业委会：周主任、钱委员、孙委员；管理处：林建国、陈思远",
            topics=topic, committee_opinions=opinion, follow_up="下次例会通报进展",
            follow_up_due=month + dt.timedelta(days=20)), clerk)
        item = save_record(CommitteeItem(estate=estate.id, contact=contact.id, kind=kind,
                                         content=content), clerk)
        if back >= 2:
            item.to_demand(clerk, kind=kind, category="developer" if "渗水" in content
                           else "engineering")
        count += 1
    return count


def _tenancies(estate, staff, rng, today) -> int:
    clerk = staff["clerk"]
    with_tenant = Resident.select(Resident.unit).where(Resident.estate == estate.id,
                                                       Resident.kind == "tenant")
    owners = list(Resident.select().where(Resident.estate == estate.id, Resident.kind == "owner",
                                          Resident.moved_out.is_null(),
                                          Resident.unit.not_in(with_tenant),
                                          Resident.moved_in < today - dt.timedelta(days=400))
                  .order_by(Resident.id).limit(8))
    count = 0
    for index, owner in enumerate(owners[:5]):
        starts = today - dt.timedelta(days=30 * (index + 1))
        tenancy = save_record(Tenancy(
            estate=estate.id, unit=owner.unit_id, landlord=owner.id,
            tenant_name=rng.choice("周吴郑王冯陈") + rng.choice(["小飞", "海洋", "佳怡", "子涵"]),
            tenant_phone=fake_mobile(rng), id_number=fake_id_number(rng), starts=starts,
            ends=starts + dt.timedelta(days=365),
            contract_number=f"ZL-{today.year}-{index + 1:03d}"), clerk)
        if index == 4:
            tenancy.end(clerk, on=today - dt.timedelta(days=3))
        count += 1
    for owner in owners[5:7]:
        save_record(OwnershipTransfer(
            estate=estate.id, unit=owner.unit_id, from_owner=owner.id,
            to_name=rng.choice("何吕施张孔曹") + rng.choice(["建军", "美玲", "国强"]),
            to_phone=fake_mobile(rng), id_number=fake_id_number(rng),
            transfer_date=today - dt.timedelta(days=rng.randint(5, 40)),
            documents="不动产权证书、买卖合同、双方身份证复印件、物业费结清证明"), clerk)
        count += 1
    return count
