"""业主自助 belongs to the owners' H5 (R-DEM-1: the channel is recorded, #17).

The desk's new-demand form does not offer it and refuses it when posted; a demand that came in
through the H5 keeps it on the desk's edit form; and the H5 report's first step is shown as the
owner who made it, not as 系统.
"""

from __future__ import annotations

import re

from conftest import csrf_token
from test_demand_loop import intake
from test_h5 import OWNER_A, fake, owners, sign_in, submit  # noqa: F401
from test_records import form_data

from models.demands import Demand, DemandStep
from models.org import Resident, Unit


def channel_options(html: str) -> list[str]:
    select = re.search(r'<select[^>]*name="channel"[^>]*>(.*?)</select>', html, re.S).group(1)
    return re.findall(r'<option[^>]*value="([^"]*)"', select)


def test_the_desk_neither_offers_nor_accepts_the_owners_channel(login_as, conn):
    clerk = login_as("clerk")
    options = channel_options(clerk.get("/admin/demand/new/").get_data(as_text=True))
    assert "phone" in options and "visit" in options and "owner_self" not in options

    unit = Unit.get(Unit.code == "1-1-101")
    data = form_data(clerk, "/admin/demand/new/")
    data.update({"channel": "owner_self", "kind": "help", "category": "engineering",
                 "unit": str(unit.id), "description": "厨房漏水", "contact_name": "业主",
                 "contact_phone": "13800138000"})
    response = clerk.post("/admin/demand/new/", data=data)
    assert response.status_code == 200  # the form again, with the error by the channel
    after_channel = response.get_data(as_text=True).split('name="channel"', 1)[1]
    assert "请从列表中选择" in after_channel.split('name="kind"', 1)[0]
    assert Demand.select().count() == 0

    demand = intake(clerk)  # a desk demand: still no 业主自助 when it is edited
    page = clerk.get(f"/admin/demand/edit/?id={demand.id}").get_data(as_text=True)
    assert "owner_self" not in channel_options(page)
    step = DemandStep.get(DemandStep.demand == demand.id)
    assert step.username == clerk.user.display_name


def test_an_h5_report_keeps_its_channel_and_names_the_owner(app, fake, owners,  # noqa: F811
                                                            login_as):
    owner = sign_in(app, fake, OWNER_A)
    assert submit(owner, "1-1-101").status_code == 302
    (demand,) = Demand.select()
    name = Resident.get(Resident.phone == OWNER_A).name
    (step,) = DemandStep.select().where(DemandStep.demand == demand.id)
    assert step.username == f"业主 {name}（业主自助）"

    supervisor = login_as("supervisor")
    details = supervisor.get(f"/admin/demand/details/?id={demand.id}").get_data(as_text=True)
    assert f"业主 {name}（业主自助）" in details
    edit = supervisor.get(f"/admin/demand/edit/?id={demand.id}").get_data(as_text=True)
    assert channel_options(edit) == ["owner_self"]
    # Saving the edit keeps the channel (the one choice offered is valid).
    data = form_data(supervisor, f"/admin/demand/edit/?id={demand.id}")
    token = csrf_token(supervisor, "/admin/")
    data.update({"csrf_token": token, "contact_name": "改过的联系人"})
    response = supervisor.post(f"/admin/demand/edit/?id={demand.id}", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    demand = Demand.get_by_id(demand.id)
    assert demand.channel == "owner_self" and demand.contact_name == "改过的联系人"
