"""Demo content for the front-desk registers: keys, passes, decorations and their deposits.

Everything is made through the registers' own operations (numbers, deposits and history come out
as they would at the desk), with times in the past so every queue has something in it: a loan
overdue, a temporary pass expired and not returned, an application past its approval deadline,
a decoration running with worker passes, and one accepted long enough ago that its contractor
deposit waits for finance to refund it.
"""

from __future__ import annotations

import datetime as dt
import random
import struct
import zlib

from models import approvals
from models.attachments import check_file
from models.base import utcnow
from models.decoration import FLOOR_PLAN, Decoration
from models.deposits import Deposit
from models.keys import KeySet
from models.org import Resident, Unit
from models.passes import TemporaryPass, WorkerPass
from models.permits import GoodsRelease, HotWorkPermit
from models.register import save_record
from models.users import User
from models.validators import fake_id_number, fake_mobile

CONTRACTORS = ["美居装饰工程有限公司", "华艺家装设计公司", "鸿运建筑装饰公司", "安心家居装修队"]
TRADES = ["水电", "木工", "瓦工", "油漆", "防水"]
PLANS = ["改水电、卫生间及厨房防水、铺地砖、吊顶", "全屋墙面翻新、更换木地板、定制衣柜",
         "厨房改造、阳台封闭、卫生间重做防水"]


def floor_plan_png(width: int = 240, height: int = 160) -> bytes:
    """A small real PNG (walls of a two-room flat) so the demo's plans open in a browser."""
    rows = []
    for y in range(height):
        row = bytearray(b"\x00")  # filter byte: none
        for x in range(width):
            wall = x in (10, 11, width - 11, width - 12, width // 2) \
                or y in (10, 11, height - 11, height - 12)
            door = x == width // 2 and 60 < y < 90
            row.append(0 if wall and not door else 255)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit greyscale
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))


def seed_front_desk(estate, rng: random.Random) -> dict[str, int]:
    """Keys kept and lent, decorations in every stage with deposits and passes, slips."""
    users = {u.username: u for u in User.select().where(User.username.in_(
        ["clerk", "supervisor", "enghead", "finance"]))}
    clerk, supervisor = users["clerk"], users["supervisor"]
    enghead, finance = users["enghead"], users["finance"]
    now = utcnow()

    def days(n: float, hours: float = 0) -> dt.datetime:
        """That many days (and hours) ago."""
        return now - dt.timedelta(days=n, hours=hours)

    owners = list(Resident.select().where(Resident.estate == estate, Resident.kind == "owner")
                  .order_by(Resident.id).limit(60))
    rng.shuffle(owners)

    # -- keys: at the office, with owners, kept for rectification, lent (one overdue) --------
    key_sets = []
    for number, owner in enumerate(owners[:16], start=1):
        keys = save_record(KeySet(estate=estate.id, unit=owner.unit_id, label="入户门钥匙",
                                  count=rng.choice([2, 3, 4]), hook=f"A-{number:02d}",
                                  since=days(60)), clerk)
        key_sets.append((keys, owner))
    for index, (keys, owner) in enumerate(key_sets):
        stage = index % 5
        if stage == 0:
            continue  # still at the office, waiting for the inspection
        if stage == 1:
            keys.issue_to_owner(clerk, owner_name=owner.name, at=days(50))
            continue
        kept = keys.keep_for_rectification(clerk, consent_by=owner.name, at=days(50))
        if stage == 2:
            keys.collect(clerk, receipt_number=kept.number, collector_name=owner.name,
                         at=days(20))
        elif stage == 3:
            keys.lend(clerk, borrower_name="地产销售" + rng.choice("刘陈杨"), borrower_type="sales",
                      purpose="带客户看房", expected_return=days(30, -3), signed=True,
                      at=days(30))
            keys.return_loan(clerk, at=days(30, -2))
        elif index == 4:
            # Lent two days ago, due back yesterday: the overdue loan.
            # Approved by the supervisor in their own login before the key left (R-KEY-3).
            approvals.apply_now(keys, "lend", clerk, supervisor, {
                "borrower_name": "空调安装师傅", "borrower_type": "other",
                "purpose": "安装中央空调", "expected_return": days(1), "signed": True,
                "borrower_phone": fake_mobile(rng), "at": days(2)}, at=days(2))
        elif index == 9:
            # A plumber asked for the keys an hour ago: waiting in the supervisor's queue.
            approvals.request(keys, "lend", clerk, {
                "borrower_name": "水电维修师傅", "borrower_type": "other",
                "purpose": "检修入户水管", "expected_return": now + dt.timedelta(hours=6),
                "signed": True, "borrower_phone": fake_mobile(rng), "at": None})
        else:
            keys.lend(clerk, borrower_name=owner.name, borrower_type="owner",
                      purpose="进场量房", expected_return=now + dt.timedelta(hours=20),
                      signed=True, at=days(0, 2))

    # -- decorations ------------------------------------------------------------------------
    # Checked once like any upload; every application keeps it as its FLOOR_PLAN attachment.
    plan = check_file(FLOOR_PLAN, "平面图.png", floor_plan_png())
    free = [o for o in owners[16:] if o.unit_id not in {k.unit_id for k, _ in key_sets}]

    def application(owner, applied_days_ago: float, works_days: int) -> Decoration:
        applied = days(applied_days_ago)
        start = applied.date() + dt.timedelta(days=7)
        decoration = Decoration(
            estate=estate.id, unit=owner.unit_id, owner=owner.id,
            contractor=rng.choice(CONTRACTORS),
            contractor_contact="项目经理" + rng.choice("王李张"),
            contractor_phone=fake_mobile(rng), plan_summary=rng.choice(PLANS),
            applied_at=applied, works_start=start,
            works_end=start + dt.timedelta(days=works_days))
        decoration.floor_plan_file = plan
        return save_record(decoration, clerk)

    def to_signed(decoration: Decoration, day: float) -> Decoration:
        # Tests and the 工程主管's signature inside the approval window (R-PASS-4, R-DECO-2).
        decoration.record_tests(clerk, water_passed=True, pressure_passed=True,
                                owner_confirmed_name=decoration.owner_name,
                                tested_at=days(day))
        decoration.engineering_sign(enghead, signed_at=days(day, -3))
        return decoration

    def to_permit(decoration: Decoration, day: float) -> None:
        decoration = to_signed(decoration, day)
        approvals.apply_now(decoration, "approve", clerk, supervisor,
                            {"note": "方案符合要求", "approved_at": days(day, -4)},
                            at=days(day, -4))
        for deposit in decoration.deposits():
            deposit.collect(finance, collected_at=days(day - 1))
        decoration.issue_permit(clerk, issued_at=days(day - 1, -1))

    # Accepted four months ago: the owner got the deposit back; the contractor's is now due.
    done = application(free[0], 160, 40)
    to_permit(done, 155)
    done.accept(supervisor, passed=True, accepted_at=days(120))
    owner_deposit = Decoration.get_by_id(done.id).owner_deposit
    owner_deposit.refund(finance, to=done.owner_name, refunded_at=days(118))

    # Running, with worker passes (one expired and not handed back) and hot work today.
    running = application(free[1], 40, 120)
    to_permit(running, 35)
    running = Decoration.get_by_id(running.id)
    for i, trade in enumerate(rng.sample(TRADES, 3)):
        card = save_record(WorkerPass(
            estate=estate.id, unit=running.unit_id, holder_name="工人" + rng.choice("赵钱孙李周吴"),
            id_number=fake_id_number(rng), phone=fake_mobile(rng), trade=trade,
            checked_construction_permit=True, checked_id=True, checked_residence_permit=True,
            issued_at=days(30), valid_from=days(30).date(),
            valid_to=days(30).date() + dt.timedelta(days=20 if i == 0 else 80)), clerk)
        card.deposit.collect(finance, collected_at=days(30))
        card.card_fee.collect(finance, collected_at=days(30))
        card.issue(clerk, issued_at=days(30))  # money before paper (R-REC-3)
        if i == 1:
            card.return_pass(clerk, returned_at=days(3))
    # One application waiting at finance: no number, not printable until paid (R-REC-3).
    save_record(WorkerPass(
        # Fixed values: the seed's random sequence (and every row after this one) is unchanged.
        estate=estate.id, unit=running.unit_id, holder_name="工人郑",
        id_number="11010519491231002X", phone="13700001111", trade="木工",
        checked_construction_permit=True, checked_id=True, checked_residence_permit=True),
        clerk)
    unit_code = Unit.get_by_id(running.unit_id).code
    save_record(HotWorkPermit(
        estate=estate.id, operator_name="焊工" + rng.choice("陈黄"), id_number=fake_id_number(rng),
        certificate_number=f"T{rng.randrange(10**11):011d}", certificate_copy_kept=True,
        id_copy_kept=True, unit=running.unit_id, location=f"{unit_code} 阳台护栏",
        work_from=now + dt.timedelta(hours=1), work_to=now + dt.timedelta(hours=5),
        fire_watch="保安" + rng.choice("刘马")), clerk)

    # Waiting: one past its approval deadline without its tests, one tested and signed within
    # the window and waiting in the supervisor's queue (待我审批).
    application(free[2], 6, 60)
    to_signed(application(free[3], 2, 60), 1)

    # -- temporary passes and goods release slips ------------------------------------------
    for i, days_ago in enumerate((5, 1, 0)):
        temporary = save_record(TemporaryPass(
            estate=estate.id, holder_name=rng.choice(["快递员", "家政阿姨", "送水师傅"]),
            id_number=fake_id_number(rng), phone=fake_mobile(rng),
            purpose=rng.choice(["送货", "家政服务", "探访亲友"]), unit=owners[i].unit_id,
            issued_at=days(days_ago, 1)), clerk)
        if i == 1:
            temporary.return_pass(clerk, returned_at=days(0, 3))
    moved = owners[5]
    released = save_record(GoodsRelease(
        estate=estate.id, unit=moved.unit_id, bearer_name="搬家公司小刘",
        id_number=fake_id_number(rng), phone=fake_mobile(rng),
        goods_text="沙发 1\n床垫 2 张\n纸箱 12 个"), clerk)
    released.confirm(clerk, confirmed=True, owner_name=moved.name, method="phone")
    released.release(clerk)
    save_record(GoodsRelease(
        estate=estate.id, unit=owners[6].unit_id, bearer_name="物流师傅",
        id_number=fake_id_number(rng), goods_text="冰箱 1 台\n洗衣机 1 台"), clerk)

    # A key deposit finance took over the counter.
    Deposit(estate=estate.id, kind="key_deposit", payer=owners[7].name,
            amount="200.00", purpose="借用地下室储物间钥匙").save_collected(finance)
    return {"钥匙": len(key_sets), "装修": Decoration.select().where(
        Decoration.estate == estate).count(), "押金": Deposit.select().where(
        Deposit.estate == estate).count()}
