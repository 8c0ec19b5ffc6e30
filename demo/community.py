"""Demo rows for the office's dealings with the community: unified service batches, the
satisfaction survey, the owners' committee, tenancies and ownership transfers (issue #5)."""

from __future__ import annotations

import datetime as dt

from demo.people import office_time
from models.base import to_office, utcnow
from models.batches import ServiceBatch, ServiceRegistration, notice_days
from models.committee import CommitteeContact, CommitteeItem
from models.org import Resident
from models.register import save_record
from models.surveys import SurveyRound, SurveyVisit
from models.tenancy import OwnershipTransfer, Tenancy
from models.validators import fake_id_number, fake_mobile


def _months_back(day: dt.date, n: int) -> dt.date:
    """The first day of the month n months before day's month."""
    year, month = divmod(day.year * 12 + day.month - 1 - n, 12)
    return dt.date(year, month + 1, 1)


def _next_weekend(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=(5 - day.weekday()) % 7 or 7)


def batches(estate, staff, rng, now) -> int:
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
                       at=office_time(past_day - dt.timedelta(days=notice_days() + 1), 10))
    for index, reg in enumerate(ServiceRegistration.select().where(
            ServiceRegistration.batch == lock.id)):
        reg.complete(clerk, done=index != 2, result="已更换，业主签字" if index != 2
                     else "业主不在家", at=office_time(past_day, 10 + index))
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


def surveys(estate, staff, rng, now) -> int:
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
            visited = min(now - dt.timedelta(minutes=5), office_time(day, rng.randint(9, 16)))
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


def committee(estate, staff, today) -> int:
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
        held = min(to_office(utcnow()) - dt.timedelta(hours=1), office_time(month, 15))
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


def tenancies(estate, staff, rng, today) -> int:
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
