"""The demo estate's notification settings (issue #17): every event on, default words, no SMS
template yet — an office fills in the ids its provider approved (README: Notifications and SMS);
and two 公告 the owners read on the H5, one for the estate and one for its first building."""

from __future__ import annotations

import datetime as dt

from models.base import office_day
from models.notices import Notice
from models.notify_settings import EVENTS, NotifyTemplate
from models.org import Building
from models.register import save_record


def seed_notify(estate) -> int:
    for event in EVENTS:
        save_record(NotifyTemplate(estate=estate.id, event=event, enabled=True), None)
    today = office_day()
    save_record(Notice(estate=estate.id, title="二次供水水箱清洗停水通知",
                       body="本周六 9:00–15:00 清洗二次供水水箱，期间全小区停水，请提前储水。\n"
                            "如有疑问请致电客服中心。",
                       publish_on=today, expire_on=today + dt.timedelta(days=7)), None)
    first = (Building.select().where(Building.estate == estate.id)
             .order_by(Building.id).first())
    if first is not None:
        save_record(Notice(estate=estate.id, title=f"{first.name}电梯年检",
                           body="下周二上午电梯年检，约停用 2 小时，请走楼梯或错峰出行。",
                           buildings=first.name, publish_on=today,
                           expire_on=today + dt.timedelta(days=10)), None)
    return len(EVENTS)
