"""Demo rows for the rectification register (整改, R-FRONT-2, #11 item 10): items turned over
from a move-in's 整改单, an emergency's measures and an owner's complaint, and the office's own
inspection findings, in every state (待交办, 整改中, 待回访, 返工, 已关闭). Made through the
models' own operations, after the registers they come from are seeded."""

from __future__ import annotations

from demo.people import staff_of
from models.demands import Demand
from models.emergencies import Emergency
from models.movein import MoveIn
from models.org import Building, Department, Unit
from models.rectification import Rectification
from models.rectification_sources import can_transfer, from_source, suggested_text
from models.register import save_record


def seed_rectification(estate) -> int:
    """A handful of items across the states; returns how many were made."""
    staff = staff_of(estate)
    clerk, supervisor = staff["clerk"], staff["supervisor"]
    engineer = staff["engineer"]
    departments = {d.kind: str(d.id) for d in Department.select().where(
        Department.estate == estate.id)}
    made: list[Rectification] = []
    # What other registers found: a move-in's 整改单, a closed emergency, a developer complaint.
    sources = [
        MoveIn.select().where(MoveIn.estate == estate.id).order_by(MoveIn.id),
        Emergency.select().where(Emergency.estate == estate.id, Emergency.state == "closed"),
        Demand.select().where(Demand.estate == estate.id, Demand.category == "developer")
        .order_by(Demand.id).limit(1),
    ]
    for query in sources:
        row = next((r for r in query if can_transfer(r)), None)
        if row is not None:
            made += from_source(row, clerk, items=suggested_text(row))
    # The office's own inspection of the common parts.
    first = Building.select().where(Building.estate == estate.id).order_by(Building.name).first()
    unit = Unit.select().where(Unit.estate == estate.id).order_by(Unit.code).first()
    for values in ({"building": first.id, "location": "1单元大堂", "description": "大堂吊顶渗水"},
                   {"location": "中心花园", "description": "景观灯两盏不亮"},
                   {"unit": unit.id, "location": "入户门", "description": "入户门闭门器漏油"}):
        made.append(save_record(Rectification(estate=estate.id, **values), clerk))
    # Move them along: handed out, done, called back (one owner not satisfied: rework).
    by_text = {item.description: item for item in made}
    plan = [("大堂吊顶渗水", "engineering", 3, "done"),
            ("景观灯两盏不亮", "engineering", 2, "closed"),
            ("入户门闭门器漏油", "engineering", 2, "reopened"),
            ("更换接头，清理积水，通知受影响车主", "engineering", 5, "assigned")]
    for text, kind, days, goal in plan:
        item = by_text.get(text)
        if item is None or kind not in departments:
            continue
        item.assign(supervisor, responsible=departments[kind], working_days=days)
        if goal == "assigned":
            continue
        Rectification.get_by_id(item.id).complete(engineer, result="已处理完毕")
        if goal == "closed":
            Rectification.get_by_id(item.id).callback(clerk, satisfied=True, channel="phone",
                                                      comments="业主满意")
        elif goal == "reopened":
            Rectification.get_by_id(item.id).callback(clerk, satisfied=False, channel="visit",
                                                      reason="仍有漏油", working_days=2)
    developer = next((i for i in made if i.source == "demand"), None)
    if developer is not None:
        developer.assign(supervisor, responsible="developer", working_days=10,
                         note="地产遗留，已函告开发商")
    return len(made)
