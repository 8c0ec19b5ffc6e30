"""The rectification register (整改, R-FRONT-2, #11 item 10) through the real stack: made from
each source with its 转整改 action, the state flow with who and when, an unsatisfied callback
reopening the work, void, estate scoping, the summary and the printed list per building."""

from __future__ import annotations

import pytest
from conftest import csrf_token, engineering
from decoration_support import apply, to_permit
from test_office_common import ago, field_errors, make_staff, post
from test_office_movein import FEES, HANDOVER
from test_records import form_data

import models
from models.base import RuleError, db, office_day
from models.decoration import Decoration
from models.demands import Demand
from models.emergencies import Emergency
from models.movein import MoveIn
from models.org import Building, Cluster, Department, Unit
from models.rectification import Rectification, RectificationStep, split_items
from models.rectification_sources import from_source
from models.register import AuditLog, save_record
from models.users import User


@pytest.fixture
def staff(conn, estate):
    people = make_staff(estate, ("desk", "clerk", "cs"), ("lead", "supervisor", "cs"),
                        ("cashier", "dept", "finance"), ("engineer", "dept", "engineering"),
                        ("enghead", "dept", "engineering"))
    # The 工程主管 signs decoration tests (R-REC-4).
    User.update(dept_supervisor=True).where(User.id == people["enghead"].id).execute()
    people["enghead"] = User.get_by_id(people["enghead"].id)
    return people


def handed_over(estate, user, cashier, items: str) -> MoveIn:
    """A move-in through its six steps, step 6 listing `items` on its 整改单 (R-MOVE-1)."""
    unit = Unit.create(estate=estate, building=Building.get(), room="501", code="1-1-501")
    row = save_record(MoveIn(estate=estate.id, unit=unit.id, owner_name="林新业",
                             owner_phone="13712345678"), user)
    for n, details in ((1, {}), (2, {"id_copied": True}), (3, {"agreements_signed": True}),
                       (4, {}), (5, FEES), (6, {**HANDOVER, "rectification_items": items})):
        row.do_step(cashier if n == 5 else user, n, **details)
        row = MoveIn.get_by_id(row.id)
    return row


def transfer(client, endpoint: str, row) -> tuple[dict, object]:
    """Open 转整改 on a row (the form as the browser gets it) and post it unchanged."""
    url = f"/admin/{endpoint}/rectify/?id={row.id}"
    data = form_data(client, url)
    return data, client.post(url, data=data)


def item(description: str) -> Rectification:
    return Rectification.get(Rectification.description == description)


def test_items_split_one_per_line():
    assert split_items("1、主卧窗框打胶不均\n2. 卫生间地漏堵塞；\n无\n\n（三）") == [
        "主卧窗框打胶不均", "卫生间地漏堵塞", "（三）"]
    assert split_items("无") == []


def test_from_the_move_in_rectification_list(login_as, staff, estate):
    clerk = login_as("clerk")
    row = handed_over(estate, staff["desk"], staff["cashier"],
                      "1、主卧窗框打胶不均\n2、卫生间地漏堵塞")
    page = clerk.get(f"/admin/move_in/details/?id={row.id}").get_data(as_text=True)
    assert "转整改" in page
    data, done = transfer(clerk, "move_in", row)
    assert data["items"] == "主卧窗框打胶不均\n卫生间地漏堵塞"
    assert done.status_code == 302
    items = list(Rectification.select().order_by(Rectification.id))
    assert [i.description for i in items] == ["主卧窗框打胶不均", "卫生间地漏堵塞"]
    assert all(i.move_in_id == row.id and i.source == "move_in" and i.unit_id == row.unit_id
               and i.building_id == Building.get().id and i.state == "registered"
               and i.number.startswith("ZG-") for i in items)
    # Linked back: the item's details name the move-in; the move-in offers no second transfer.
    details = clerk.get(f"/admin/rectification/details/?id={items[0].id}").get_data(as_text=True)
    assert row.number in details and "入伙验房整改单" in details
    assert "转整改" not in clerk.get(f"/admin/move_in/details/?id={row.id}").get_data(
        as_text=True)
    again = clerk.post(f"/admin/move_in/rectify/?id={row.id}", data=data)
    assert Rectification.select().count() == 2
    assert any("已转整改（ZG-" in message for message in field_errors(again))


def test_no_transfer_before_step_six_or_without_items(login_as, staff, estate):
    clerk = login_as("clerk")
    row = handed_over(estate, staff["desk"], staff["cashier"], "")
    assert row.rectification_items == "无"
    assert "转整改" not in clerk.get(f"/admin/move_in/details/?id={row.id}").get_data(
        as_text=True)
    refused = post(clerk, f"/admin/move_in/rectify/?id={row.id}", {"items": "无"})
    assert "请逐行填写整改项目" in field_errors(refused)
    early = save_record(MoveIn(estate=estate.id, unit=Unit.get(Unit.code == "1-1-101").id,
                               owner_name="业主101"), staff["desk"])
    with pytest.raises(RuleError, match="入伙第6步验房后才有整改单"):
        from_source(early, staff["desk"], items="门锁")
    assert Rectification.select().count() == 0


def test_from_decoration_defects(login_as, staff, estate, tmp_path):
    people = {"clerk": staff["desk"], "supervisor": staff["lead"],
              "engineer": staff["engineer"], "enghead": staff["enghead"],
              "finance": staff["cashier"]}
    decoration = to_permit(apply(estate, staff["desk"], tmp_path), people)
    decoration.accept(staff["lead"], passed=False, defects="阳台防水未做\n厨房烟道封堵",
                      rectify_by=office_day())
    clerk = login_as("clerk")
    data, done = transfer(clerk, "decoration", Decoration.get_by_id(decoration.id))
    assert done.status_code == 302, field_errors(done)
    assert item("阳台防水未做").decoration_id == decoration.id
    assert item("厨房烟道封堵").unit_id == decoration.unit_id
    assert Rectification.get().source_label == "装修验收"


def test_from_emergency_measures_at_its_place(login_as, staff, estate):
    incident = save_record(Emergency(
        estate=estate.id, occurred_at=ago(hours=5), place="5栋地下车库", kind="water",
        description="消防管爆裂", reported_by="保安", first_reported_to="值班客服",
        reported_at=ago(hours=5), stabilised_at=ago(hours=4), remedial_measures="更换接头",
        preventive_measures="每月巡检消防管道接头"), staff["desk"])
    clerk = login_as("clerk")
    data, done = transfer(clerk, "emergency", incident)
    assert data["location"] == "5栋地下车库"
    assert done.status_code == 302, field_errors(done)
    made = item("每月巡检消防管道接头")
    assert made.emergency_id == incident.id and made.unit_id is None
    assert made.location == "5栋地下车库" and made.building_id is None
    assert item("更换接头").source == "emergency"


def test_from_an_owner_demand(login_as, staff, estate):
    unit = Unit.get(Unit.code == "1-1-102")
    demand = save_record(Demand(estate=estate.id, received_at=ago(hours=2), kind="complaint",
                                category="developer", unit=unit.id,
                                description="外墙渗水，客厅墙面发霉"), staff["desk"])
    clerk = login_as("clerk")
    _, done = transfer(clerk, "demand", demand)
    assert done.status_code == 302, field_errors(done)
    made = item("外墙渗水，客厅墙面发霉")
    assert made.demand_id == demand.id and made.unit_id == unit.id
    grid = clerk.get("/admin/rectification/").get_data(as_text=True)
    assert made.number in grid and f"/admin/demand/details/?id={demand.id}" in grid
    # A demand judged invalid has nothing to put right.
    invalid = save_record(Demand(estate=estate.id, received_at=ago(hours=1), category="proposal",
                                 description="要求物业免费洗车"), staff["desk"])
    invalid.mark_invalid(staff["desk"], reason="不属于物业服务范围", cause="业户要求私人服务")
    invalid = Demand.get_by_id(invalid.id)
    assert "转整改" not in clerk.get(f"/admin/demand/details/?id={invalid.id}").get_data(
        as_text=True)
    with pytest.raises(RuleError, match="已判定无效的需求不能转整改"):
        from_source(invalid, staff["desk"], items="洗车")


def act(client, name: str, row, **fields):
    row = Rectification.get_by_id(row.id)
    return post(client, f"/admin/rectification/{name}/?id={row.id}",
                {"row_version": row.version, **fields})


def registered_on_the_form(clerk) -> Rectification:
    """The one item found on an inspection, 次卧墙面空鼓 in 1-1-201, entered on the new form."""
    data = form_data(clerk, "/admin/rectification/new/")
    data.update({"unit": str(Unit.get(Unit.code == "1-1-201").id), "location": "次卧",
                 "description": "次卧墙面空鼓"})
    assert clerk.post("/admin/rectification/new/", data=data).status_code == 302
    return Rectification.get()


def test_state_flow_with_rework_and_an_unsatisfied_callback(login_as, staff, estate):
    clerk = login_as("clerk")
    row = registered_on_the_form(clerk)
    assert row.source == "inspection" and row.building_id == Building.get().id
    # 交办 offers the estate's departments and the developer; the days are working days.
    form = clerk.get(f"/admin/rectification/assign/?id={row.id}").get_data(as_text=True)
    assert "工程维修部" in form and "地产遗留（开发商）" in form
    refused = act(clerk, "assign", row, responsible="", working_days="3")
    assert "请选择本小区的责任部门，或地产遗留" in field_errors(refused)
    refused = act(clerk, "assign", row, responsible=str(engineering(estate).id),
                  working_days="0")
    assert "整改期限应为 1 到 60 个工作日" in field_errors(refused)
    assert act(clerk, "assign", row, responsible=str(engineering(estate).id),
               working_days="3").status_code == 302
    row = Rectification.get_by_id(row.id)
    assert row.state == "assigned" and row.department_id == engineering(estate).id
    assert row.due == row.original_due and row.assigned_by_id == clerk.user.id
    first_promise = row.due
    # Once handed out, what was handed out cannot be rewritten.
    with pytest.raises(RuleError, match="已交办的整改项目不能修改内容"):
        row.description = "改写"
        save_record(row, staff["lead"])
    # The engineering department reports it done; cleaning never sees it (R-REC-4).
    cleaner = login_as("dept", "cleaner", department="cleaning")
    hidden = cleaner.get(f"/admin/rectification/details/?id={row.id}", follow_redirects=True)
    assert "次卧墙面空鼓" not in hidden.get_data(as_text=True)
    assert act(cleaner, "complete", row, result="已修").status_code == 404
    engineer = login_as("dept", "fixer", department="engineering")
    assert act(engineer, "complete", row, result="").status_code == 200
    assert act(engineer, "complete", row, result="铲除空鼓重新批荡").status_code == 302
    row = Rectification.get_by_id(row.id)
    assert row.state == "done" and row.completed_by_id == engineer.user.id
    # 复查不合格: back to work with a new deadline; the first promise stays.
    supervisor = login_as("supervisor", "chief")
    assert act(supervisor, "reject", row, reason="仍有空鼓", working_days="2").status_code == 302
    row = Rectification.get_by_id(row.id)
    assert row.state == "assigned" and row.rework_count == 1 and row.completed_at is None
    assert row.original_due == first_promise
    assert act(engineer, "complete", row, result="再次处理").status_code == 302
    # Not satisfied needs the owner's reason, and reopens the work.
    refused = act(clerk, "callback", row, satisfied="0", channel="phone", working_days="2")
    assert "业主不满意时请记录业主说明的原因" in field_errors(refused)
    assert Rectification.get_by_id(row.id).state == "done"
    assert act(clerk, "callback", row, satisfied="0", channel="phone", reason="颜色不一致",
               working_days="2").status_code == 302
    row = Rectification.get_by_id(row.id)
    assert row.state == "assigned" and row.rework_count == 2 and row.satisfied is False
    assert "颜色不一致" in row.callback_comments
    assert act(engineer, "complete", row, result="整面重新刷漆").status_code == 302
    assert act(clerk, "callback", row, satisfied="1", channel="visit",
               working_days="2").status_code == 302
    row = Rectification.get_by_id(row.id)
    assert row.state == "closed" and row.satisfied is True and row.closed_at is not None
    assert row.late_count == 0 and row.original_due == first_promise
    steps = [(s.action, s.username, s.to_state) for s in row.history()]
    assert steps == [
        ("create", "clerk", "registered"), ("assign", "clerk", "assigned"),
        ("complete", "fixer", "done"), ("reject", "chief", "assigned"),
        ("complete", "fixer", "done"), ("reopen", "clerk", "assigned"),
        ("complete", "fixer", "done"), ("callback", "clerk", "closed")]
    details = clerk.get(f"/admin/rectification/details/?id={row.id}").get_data(as_text=True)
    assert "回访不满意，返工" in details and "复查不合格" in details


def test_developer_items_are_recorded_by_the_desk(login_as, staff, estate):
    row = save_record(Rectification(estate=estate.id, unit=Unit.get(Unit.code == "1-1-101").id,
                                    description="入户门变形"), staff["desk"])
    row.assign(staff["lead"], responsible="developer", working_days=10)
    row = Rectification.get_by_id(row.id)
    assert row.developer and row.responsible_label == "地产遗留（开发商）"
    with pytest.raises(RuleError, match="只有责任部门的人员或客服中心"):
        row.complete(staff["engineer"], result="已修")
    row.complete(staff["desk"], result="开发商已更换入户门")
    assert Rectification.get_by_id(row.id).state == "done"


def test_void_hides_the_item_and_lets_its_source_transfer_again(login_as, staff, estate):
    row = handed_over(estate, staff["desk"], staff["cashier"], "窗框打胶")
    clerk = login_as("clerk")
    transfer(clerk, "move_in", row)
    made = Rectification.get()
    supervisor = login_as("supervisor")
    url = f"/admin/rectification/void/?id={made.id}"
    token = csrf_token(supervisor, url)
    assert supervisor.post(url, data={"csrf_token": token, "reason": "重复登记",
                                      "row_version": made.version}).status_code == 302
    made = Rectification.get_by_id(made.id)
    assert made.voided and made.void_reason == "重复登记"
    assert AuditLog.get(AuditLog.table == "rectification", AuditLog.action == "void")
    grid = supervisor.get("/admin/rectification/").get_data(as_text=True)
    assert f"details/?id={made.id}&" not in grid
    _, done = transfer(clerk, "move_in", row)
    assert done.status_code == 302 and Rectification.live().count() == 1


def test_scoped_to_the_users_estates(login_as, staff, estate, other_estate):
    building = Building.get(Building.estate == other_estate.id)
    theirs = save_record(Rectification(estate=other_estate.id, building=building.id,
                                       location="9栋大堂", description="大堂地砖破损"), None)
    mine = save_record(Rectification(estate=estate.id, location="会所", description="会所漏雨"),
                       staff["desk"])
    clerk = login_as("clerk")
    grid = clerk.get("/admin/rectification/").get_data(as_text=True)
    assert mine.number in grid and "大堂地砖破损" not in grid
    hidden = clerk.get(f"/admin/rectification/details/?id={theirs.id}", follow_redirects=True)
    assert "大堂地砖破损" not in hidden.get_data(as_text=True)
    assert act(clerk, "assign", theirs, responsible="developer",
               working_days="3").status_code == 404
    assert clerk.get(f"/admin/rectification/summary/?estate={other_estate.id}").get_data(
        as_text=True).count("9栋") == 0
    assert clerk.get(f"/admin/rectification/summary/print/?building={building.id}"
                     ).status_code == 404
    for hostile in ("99999999999999999999999", "-1", "x", ""):
        assert clerk.get(f"/admin/rectification/summary/print/?building={hostile}"
                         ).status_code == 404
    # Another estate's department is refused, whatever the post says.
    other_department = Department.create(estate=other_estate, kind="engineering", name="外区工程")
    refused = act(clerk, "assign", mine, responsible=str(other_department.id),
                  working_days="3")
    assert "请选择本小区的责任部门，或地产遗留" in field_errors(refused)
    with pytest.raises(RuleError, match="所选房屋不属于该小区"):
        save_record(Rectification(estate=estate.id, unit=Unit.get(Unit.code == "9-1-901").id,
                                  description="x"), staff["desk"])


def test_summary_and_printed_list_per_building(login_as, staff, estate):
    cluster = Cluster.get()
    second = Building.create(estate=estate, cluster=cluster, name="2栋")
    Unit.create(estate=estate, building=second, room="101", code="2-1-101")
    for code, text in (("1-1-101", "窗框打胶"), ("1-1-101", "地漏堵塞"), ("1-1-102", "门吸缺失"),
                       ("2-1-101", "阳台渗水")):
        save_record(Rectification(estate=estate.id, unit=Unit.get(Unit.code == code).id,
                                  description=text), staff["desk"])
    save_record(Rectification(estate=estate.id, building=second.id, location="外墙",
                              description="外墙裂缝"), staff["desk"])
    save_record(Rectification(estate=estate.id, location="中心花园", description="喷泉漏水"),
                staff["desk"])
    late = item("地漏堵塞")
    late.assign(staff["lead"], responsible=str(engineering(estate).id), working_days=1)
    Rectification.update(due=ago(minutes=1)).where(Rectification.id == late.id).execute()
    clerk = login_as("clerk")
    page = clerk.get("/admin/rectification/summary/").get_data(as_text=True)
    table = page[page.index('id="rectification-summary"'):]
    assert table.index("1栋") < table.index("1-1-101") < table.index("1-1-102") \
        < table.index("2栋") < table.index("2-1-101") < table.index("楼栋公共部位") \
        < table.index("公共部位（")
    assert "1栋（未关闭 3 项）" in table and '<span class="badge badge-danger">1</span>' in table
    first = Building.get(Building.name == "1栋")
    printed = clerk.get(f"/admin/rectification/summary/print/?building={first.id}").get_data(
        as_text=True)
    assert "1栋" in printed and "窗框打胶" in printed and "门吸缺失" in printed
    assert "阳台渗水" not in printed and "共 3 项" in printed and "print.css" in printed
    assert printed.index("1-1-101") < printed.index("1-1-102")
    assert "超期" in printed
    common = clerk.get("/admin/rectification/summary/print/?building=common").get_data(
        as_text=True)
    assert "喷泉漏水" in common and "外墙裂缝" not in common
    # Closed items leave the working list unless all are asked for.
    closed = item("门吸缺失")
    closed.assign(staff["lead"], responsible=str(engineering(estate).id), working_days=1)
    Rectification.get_by_id(closed.id).complete(staff["engineer"], result="已装")
    Rectification.get_by_id(closed.id).callback(staff["desk"], satisfied=True)
    url = f"/admin/rectification/summary/print/?building={first.id}"
    assert "门吸缺失" not in clerk.get(url).get_data(as_text=True)
    assert "门吸缺失" in clerk.get(url + "&all=1").get_data(as_text=True)


def test_migration_017_matches_the_models(conn):
    for model in (Rectification, RectificationStep):
        assert model in models.MODELS
        columns = {c.name for c in db.get_columns(model._meta.table_name)}
        assert columns == {f.column_name for f in model._meta.sorted_fields}, model


def test_problem_and_after_photos_through_the_attachments(login_as, staff, estate):
    """#16: 问题照片 from the desk, 整改后照片 from the responsible department only; the files
    follow the row's department scoping (R-REC-4)."""
    from attachment_support import EXE, photo, post_files

    from models.attachments import Attachment

    clerk = login_as("clerk")
    row = save_record(Rectification(estate=estate.id, unit=Unit.get(Unit.code == "1-1-101").id,
                                    description="阳台栏杆松动"), staff["desk"])
    row.assign(staff["desk"], responsible=str(engineering(estate).id), working_days=3)

    def upload(client, kind, data, name="a.jpg"):
        url = f"/admin/rectification/attach/?id={row.id}&kind={kind}"
        return post_files(client, url, {"csrf_token": csrf_token(client, url),
                                        "file": (data, name)})

    details = clerk.get(f"/admin/rectification/details/?id={row.id}").get_data(as_text=True)
    assert "问题照片" in details and "整改后照片" in details
    assert "不是可接受的文件" in upload(clerk, "problem", EXE).get_data(as_text=True)
    assert upload(clerk, "problem", photo()).status_code == 302
    engineer = login_as("dept", "fixer", department="engineering")
    assert upload(engineer, "fixed", photo(color="green")).status_code == 302
    cleaner = login_as("dept", "cleaner", department="cleaning")
    # Not their department's item: not even the upload page.
    assert cleaner.get(f"/admin/rectification/attach/?id={row.id}&kind=fixed").status_code == 404
    assert [(a.kind, a.created_by_id) for a in Attachment.of(row)] == [
        ("problem", clerk.user.id), ("fixed", engineer.user.id)]
    fixed = Attachment.get(Attachment.kind == "fixed")
    url = f"/admin/rectification/file/?id={row.id}&file={fixed.id}"
    assert engineer.get(url).status_code == 200 and cleaner.get(url).status_code == 404
