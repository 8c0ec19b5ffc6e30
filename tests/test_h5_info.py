"""The guide and the notices on the owner's H5 (issue #17 item 2): the convenience-service
guide of the owner's estate by category with tap-to-call numbers (R-GUIDE-1); the desk's 公告
for the estate or the owner's building while current, and the batch services announced for
the owner's building (R-JOB-1/2). Signed-in owners only, their own estate only, plain text."""

from __future__ import annotations

import datetime as dt

import pytest
import test_h5
from test_h5 import OWNER_A, OWNER_B, sign_in
from test_records import form_data

from models.base import office_day
from models.batches import ServiceBatch, ServiceRegistration
from models.guide import GuideCategory, GuideEntry
from models.notices import Notice
from models.org import Building, Cluster, Department, Resident, Unit
from models.register import save_record, void_record

fake, owners = test_h5.fake, test_h5.owners
OWNER_C = "13911110003"  # lives in 2栋


@pytest.fixture
def second_building(owners, estate):
    building = Building.create(estate=estate, cluster=Cluster.get(Cluster.estate == estate.id),
                               name="2栋")
    unit = Unit.create(estate=estate, building=building, room="101", code="2-1-101")
    Resident.create(estate=estate, unit=unit, name="业主C", phone=OWNER_C)
    return building


def test_guide_by_category_with_tap_to_call(app, fake, owners, clerk, estate, other_estate):
    Department.update(phone="0755-26501234", supervisor="张主管").where(
        Department.estate == estate.id, Department.kind == "cs").execute()
    help_ = save_record(GuideCategory(estate=estate.id, name="紧急求援电话", sort_order=1), clerk)
    house = save_record(GuideCategory(estate=estate.id, name="家政服务", sort_order=2), clerk)
    save_record(GuideEntry(estate=estate.id, category=house.id, name="<script>x</script>保洁",
                           provider="洁家家政", phone="13826501234", price="40元/小时"), clerk)
    save_record(GuideEntry(estate=estate.id, category=help_.id, name="火警", phone="119"), clerk)
    save_record(GuideEntry(estate=estate.id, category=house.id, name="停业的洗衣店",
                           visible=False), clerk)
    elsewhere = GuideCategory.create(estate=other_estate, name="别家类别")
    GuideEntry.create(estate=other_estate, category=elsewhere, name="别家服务", phone="110")

    assert app.test_client().get("/h5/guide").location.endswith("/h5/login")
    client = sign_in(app, fake, OWNER_A)
    assert 'href="/h5/guide"' in client.get("/h5/").get_data(as_text=True)
    page = client.get("/h5/guide").get_data(as_text=True)
    # Categories in their order, hidden entries and other estates left out.
    assert page.index("紧急求援电话") < page.index("家政服务")
    assert "停业的洗衣店" not in page and "别家" not in page
    assert 'href="tel:119"' in page and 'href="tel:13826501234"' in page
    assert 'href="tel:0755-26501234"' in page and "客服部" in page
    # No staff names; the entry's text escaped, never markup.
    assert "张主管" not in page
    assert "<script>x" not in page and "&lt;script&gt;x&lt;/script&gt;保洁" in page


def test_notices_for_the_estate_or_the_owners_building_while_current(
        app, fake, owners, second_building, clerk, estate, other_estate):
    today = office_day()
    day = dt.timedelta(days=1)
    for title, buildings, publish, expire in (
            ("停水通知", "", today - day, today + day),
            ("2栋电梯检修", "2栋", today, None),
            ("已过期的通知", "", today - 5 * day, today - day),
            ("明天才发布", "", today + day, None)):
        save_record(Notice(estate=estate.id, title=title, body="周三 9:00–12:00\n<b>请储水</b>",
                           buildings=buildings, publish_on=publish, expire_on=expire), clerk)
    void_record(save_record(Notice(estate=estate.id, title="撤下的通知", body="x"), clerk),
                clerk, reason="发错了")
    Notice.create(estate=other_estate, title="别家小区的通知", body="x", publish_on=today)

    assert app.test_client().get("/h5/notices").location.endswith("/h5/login")
    owner_a = sign_in(app, fake, OWNER_A)
    page = owner_a.get("/h5/notices").get_data(as_text=True)
    assert "停水通知" in page and "&lt;b&gt;请储水&lt;/b&gt;" in page and "<b>" not in page
    for hidden in ("2栋电梯检修", "已过期的通知", "明天才发布", "撤下的通知", "别家小区的通知"):
        assert hidden not in page
    app.config["H5_CODE_INTERVAL_SECONDS"] = 0
    owner_c = sign_in(app, fake, OWNER_C)
    page = owner_c.get("/h5/notices").get_data(as_text=True)
    assert "停水通知" in page and "2栋电梯检修" in page


def test_batch_services_announced_for_the_owners_building(
        app, fake, owners, second_building, clerk, estate):
    unit = Unit.get(Unit.code == "1-1-101")
    registration = save_record(ServiceRegistration(
        estate=estate.id, kind="gas", unit=unit.id,
        resident=Resident.get(Resident.unit == unit.id).id), clerk)
    batch = save_record(ServiceBatch(
        estate=estate.id, kind="gas", day=office_day() + dt.timedelta(days=5),
        gas_company="深圳燃气", gas_appointment="RQ-20261207-01"), clerk)
    batch.add(clerk, [registration.id])
    app.config["H5_CODE_INTERVAL_SECONDS"] = 0
    owner_a = sign_in(app, fake, OWNER_A)
    # Not announced yet: nothing to show.
    assert "燃气改管" not in owner_a.get("/h5/notices").get_data(as_text=True)
    ServiceBatch.get_by_id(batch.id).record_notice(clerk, method="notice",
                                                   content="请提前清理厨房灶台周围物品")
    page = owner_a.get("/h5/notices").get_data(as_text=True)
    assert "燃气改管" in page and "深圳燃气" in page and "请提前清理厨房灶台周围物品" in page
    assert "您的房屋 1-1-101 已安排在本批次" in page
    # A neighbour in the same building sees the work coming, not as theirs; 2栋 sees nothing.
    page = sign_in(app, fake, OWNER_B).get("/h5/notices").get_data(as_text=True)
    assert "燃气改管" in page and "您的房屋" not in page
    assert "燃气改管" not in sign_in(app, fake, OWNER_C).get("/h5/notices").get_data(as_text=True)


def test_the_desk_posts_a_notice_with_its_errors_next_to_the_fields(login_as, estate,
                                                                     second_building):
    client = login_as("clerk")
    data = form_data(client, "/admin/notice/new/")
    data.update({"estate": str(estate.id), "title": "电梯年检", "body": "周五上午停用",
                 "buildings": "2栋、5栋", "publish_on": "2026-12-03", "expire_on": "2026-12-01"})
    html = client.post("/admin/notice/new/", data=data).get_data(as_text=True)
    assert "本小区没有楼栋：5栋" in html and "截止日期不能早于发布日期" in html
    assert Notice.select().count() == 0
    data.update({"buildings": "2栋，1栋", "expire_on": "2026-12-05"})
    assert client.post("/admin/notice/new/", data=data).status_code == 302
    (notice,) = Notice.select()
    assert notice.buildings == "2栋、1栋" and notice.building_list == ["2栋", "1栋"]
