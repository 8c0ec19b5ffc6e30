"""What signed-in owners read on the H5 besides their demands (issue #17 item 2): the estate's
convenience-service guide (R-GUIDE-1) grouped by category with tap-to-call numbers, and its
notices — the desk's 公告 for their estate or building, and the batch services (R-JOB-1/2)
announced for their building that are still ahead. Only the owner's own estates; no staff
names; everything rendered as escaped plain text.
"""

from __future__ import annotations

from flask import render_template

from models.base import office_day
from models.batches import ServiceBatch, ServiceRegistration
from models.estate import Estate
from models.guide import booklet
from models.notices import Notice
from models.org import Building, Unit
from views.h5 import bp, my_units, signed_in


def _estates(units) -> list[Estate]:
    ids = sorted({u.estate_id for u in units})
    return list(Estate.select().where(Estate.id.in_(ids)).order_by(Estate.id))


@bp.route("/guide")
@signed_in
def guide(phone):
    """便民服务指南: the visible entries of the owner's estates, by category (R-GUIDE-1)."""
    guides = [(estate, booklet(estate.id)) for estate in _estates(my_units(phone))]
    return render_template("h5/guide.html", guides=guides)


def batch_notices(units, today):
    """Batch services announced (noticed) for the owner's buildings, from today on."""
    building_ids = {u.building_id for u in units}
    mine = {u.id for u in units}
    batches = (ServiceBatch.select().distinct()
               .join(ServiceRegistration, on=(ServiceRegistration.batch == ServiceBatch.id))
               .join(Unit, on=(ServiceRegistration.unit == Unit.id))
               .where(ServiceBatch.voided == False, ServiceBatch.state == "notified",  # noqa: E712
                      ServiceBatch.day >= today, ServiceRegistration.voided == False,  # noqa: E712
                      Unit.building.in_(list(building_ids)))
               .order_by(ServiceBatch.day, ServiceBatch.id))
    notices = []
    for batch in batches:
        own = [r.unit.code for r in batch.live_registrations() if r.unit_id in mine]
        notices.append({"batch": batch, "own": own})
    return notices


@bp.route("/notices")
@signed_in
def notices(phone):
    """公告: the desk's notices for the owner's estate/buildings and the batch services ahead."""
    units = my_units(phone)
    today = office_day()
    buildings = dict(Building.select(Building.id, Building.name)
                     .where(Building.id.in_([u.building_id for u in units])).tuples())
    posted, seen = [], set()
    for unit in units:
        for notice in Notice.current(unit.estate_id, buildings.get(unit.building_id), today):
            if notice.id not in seen:
                seen.add(notice.id)
                posted.append(notice)
    posted.sort(key=lambda n: (n.publish_on, n.id), reverse=True)
    return render_template("h5/notices.html", posted=posted,
                           batches=batch_notices(units, today))
