"""Convenience-service guide (R-GUIDE-1/2): categories and entries, shown or hidden, and the
A5 booklet grouped by category with the estate's name (#5)."""

from __future__ import annotations

import pytest
from test_office_common import make_staff
from test_records import form_data

from models.base import RuleError
from models.guide import GuideCategory, GuideEntry, booklet
from models.org import Department
from models.register import save_record, void_record


@pytest.fixture
def guide(conn, estate):
    clerk = make_staff(estate, ("editor", "clerk", "cs"))["editor"]
    emergency = save_record(GuideCategory(estate=estate.id, name="紧急求援电话", sort_order=1,
                                          intro="先拨打，再通知客服中心"), clerk)
    house = save_record(GuideCategory(estate=estate.id, name="家政服务", sort_order=2), clerk)
    empty = save_record(GuideCategory(estate=estate.id, name="代订机票", sort_order=3), clerk)
    for name, phone, order in (("火警", "119", 2), ("报警", "110", 1)):
        save_record(GuideEntry(estate=estate.id, category=emergency.id, name=name, phone=phone,
                               provider="公安消防", hours="24小时", sort_order=order), clerk)
    save_record(GuideEntry(estate=estate.id, category=house.id, name="钟点工保洁",
                           provider="洁家家政", phone="13826501234", price="40元/小时"), clerk)
    save_record(GuideEntry(estate=estate.id, category=house.id, name="停业的洗衣店",
                           visible=False), clerk)
    save_record(GuideEntry(estate=estate.id, category=empty.id, name="暂停的项目",
                           visible=False), clerk)
    return {"clerk": clerk, "emergency": emergency, "house": house}


def test_booklet_groups_visible_entries_by_category_in_order(guide, estate):
    contents = booklet(estate.id)
    # Hidden entries and a category with nothing visible are left out.
    assert [(c.name, [e.name for e in entries]) for c, entries in contents["sections"]] == [
        ("紧急求援电话", ["报警", "火警"]), ("家政服务", ["钟点工保洁"])]
    assert [d.name for d in contents["departments"]] == ["客服部", "工程维修部"]
    entry = GuideEntry.get(GuideEntry.name == "钟点工保洁")
    void_record(entry, guide["clerk"], "服务商已停业")
    assert [c.name for c, _ in booklet(estate.id)["sections"]] == ["紧急求援电话"]


def test_entries_check_phone_and_category(guide, estate, other_estate):
    with pytest.raises(RuleError) as refused:
        save_record(GuideEntry(estate=estate.id, category=guide["house"].id, name="维修",
                               phone="12"), guide["clerk"])
    assert "phone" in refused.value.errors
    foreign = GuideCategory.create(estate=other_estate, name="别家的类别")
    with pytest.raises(RuleError, match="所选类别不属于该小区"):
        save_record(GuideEntry(estate=estate.id, category=foreign.id, name="x"), guide["clerk"])
    with pytest.raises(RuleError, match="该类别已存在"):
        save_record(GuideCategory(estate=estate.id, name="家政服务"), guide["clerk"])


def test_booklet_prints_on_a5_with_the_estate_name(login_as, guide, estate, other_estate):
    Department.update(supervisor="陈主管", phone="0755-86008888").where(
        Department.kind == "cs").execute()
    GuideCategory.create(estate=other_estate, name="别家的类别")
    clerk = login_as("clerk")
    html = clerk.get("/admin/guide_entry/booklet/").get_data(as_text=True)
    assert "size: A5" in html and "测试花园" in html and "用户服务指南" in html
    assert html.index("紧急求援电话") < html.index("家政服务")
    assert "先拨打，再通知客服中心" in html and "40元/小时" in html and "0755-86008888" in html
    assert "停业的洗衣店" not in html and "代订机票" not in html and "别家的类别" not in html
    # Another estate's booklet is not reachable by asking for it.
    other = clerk.get(f"/admin/guide_entry/booklet/?estate={other_estate.id}")
    assert "别家小区" not in other.get_data(as_text=True)
    listing = clerk.get("/admin/guide_entry/").get_data(as_text=True)
    assert "打印服务指南手册（测试花园）" in listing


def test_guide_entry_through_the_admin(login_as, guide):
    clerk = login_as("clerk")
    data = form_data(clerk, "/admin/guide_entry/new/")
    data.update({"category": str(guide["house"].id), "name": "家电维修", "provider": "美家维修",
                 "phone": "0755 8888 6666", "hours": "每天 9:00–18:00", "price": "上门费 30元",
                 "visible": "y"})
    assert clerk.post("/admin/guide_entry/new/", data=data).status_code == 302
    entry = GuideEntry.get(GuideEntry.name == "家电维修")
    assert entry.phone == "0755-88886666" and entry.visible
