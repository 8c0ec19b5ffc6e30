"""Move-in (R-MOVE-1/2): six steps in order with who/when, fees and receipts at step 5, keys
through the keys register at step 6, complete only when all six are done, "stuck at" (#5)."""

from __future__ import annotations

import pytest
from test_office_common import ago, field_errors, make_staff, post
from test_records import form_data

from models.base import RuleError
from models.keys import KeyMovement, KeySet
from models.movein import MoveIn
from models.org import Building, Resident, Unit
from models.register import save_record, void_record

FEES = {"property_fee": "2160", "property_fee_receipt": "WY0001", "maintenance_fund": "8650.5",
        "maintenance_fund_receipt": "JJ0001"}
HANDOVER = {"inspection_notes": "门窗水电正常", "keys_count": "3", "key_receipt_signed": True}


@pytest.fixture
def staff(conn, estate):
    return make_staff(estate, ("desk", "clerk", "cs"), ("cashier", "dept", "finance"))


@pytest.fixture
def new_unit(estate):
    return Unit.create(estate=estate, building=Building.get(), room="501", code="1-1-501")


def start(estate, user, unit, **fields) -> MoveIn:
    return save_record(MoveIn(estate=estate.id, unit=unit.id, owner_name="林新业",
                              owner_phone="13712345678", **fields), user)


def test_steps_go_in_order_with_who_and_when(staff, estate, new_unit):
    row = start(estate, staff["desk"], new_unit)
    assert row.number.startswith("RH-") and row.current_step == 1
    with pytest.raises(RuleError, match="请先完成第1步：地产手续"):
        row.do_step(staff["desk"], 2, id_copied=True)
    first = ago(hours=3)
    row.do_step(staff["desk"], 1, at=first)
    row = MoveIn.get_by_id(row.id)
    assert row.step1_by_id == staff["desk"].id and row.step1_at == first
    with pytest.raises(RuleError, match="第1步已经完成"):
        row.do_step(staff["desk"], 1)
    with pytest.raises(RuleError) as refused:
        row.do_step(staff["desk"], 2, at=ago(hours=4), id_copied=True)
    assert refused.value.errors == {"at": "办理时间不能早于第1步的时间"}
    with pytest.raises(RuleError) as refused:
        row.do_step(staff["desk"], 2)
    assert refused.value.errors == {"id_copied": "发放手册时须复印业主身份证，请复印后勾选"}
    row.do_step(staff["desk"], 2, id_copied=True)
    assert MoveIn.get_by_id(row.id).current_step == 3
    # Step 3's registration form makes the owner a resident of the unit.
    row = MoveIn.get_by_id(row.id)
    with pytest.raises(RuleError, match="消防安全协议书"):
        row.do_step(staff["desk"], 3)
    row.do_step(staff["desk"], 3, agreements_signed=True)
    owner = Resident.get(Resident.unit == new_unit.id)
    assert owner.name == "林新业" and owner.kind == "owner" and owner.moved_in is not None
    assert MoveIn.get_by_id(row.id).owner_id == owner.id


def test_fees_and_receipts_at_step_five_then_keys_complete(staff, estate, new_unit):
    keys = save_record(KeySet(estate=estate.id, unit=new_unit.id, count=3, hook="A-1"),
                       staff["desk"])
    row = start(estate, staff["desk"], new_unit)
    for n, details in ((1, {}), (2, {"id_copied": True}), (3, {"agreements_signed": True}),
                       (4, {})):
        row.do_step(staff["desk"], n, **details)
        row = MoveIn.get_by_id(row.id)
    with pytest.raises(RuleError) as refused:
        row.do_step(staff["cashier"], 5, property_fee="0", maintenance_fund="abc")
    assert set(refused.value.errors) == {"property_fee", "property_fee_receipt",
                                         "maintenance_fund", "maintenance_fund_receipt"}
    assert refused.value.errors["property_fee"] == "请填写缴纳的物业费金额"
    row.do_step(staff["cashier"], 5, **FEES)
    row = MoveIn.get_by_id(row.id)
    assert str(row.maintenance_fund) == "8650.50" and row.property_fee_receipt == "WY0001"
    assert row.step5_by_id == staff["cashier"].id and row.completed_at is None
    with pytest.raises(RuleError) as refused:
        row.do_step(staff["desk"], 6, inspection_notes="", keys_count="0")
    assert set(refused.value.errors) == {"inspection_notes", "keys_count", "key_receipt_signed"}
    assert MoveIn.get_by_id(row.id).current_step == 6 and KeySet.get_by_id(keys.id).location \
        == "office"
    row.do_step(staff["desk"], 6, **HANDOVER)
    row = MoveIn.get_by_id(row.id)
    assert row.current_step == 7 and row.completed_at == row.step6_at
    assert row.progress_label == "已完成" and row.rectification_items == "无"
    # The keys register now says the owner has the keys (R-KEY-1, R-KEY-4).
    keys = KeySet.get_by_id(keys.id)
    assert keys.location == "owner" and keys.holder == "林新业" and row.key_sets_issued == 1
    assert KeyMovement.get(KeyMovement.key_set == keys.id, KeyMovement.kind == "issue")
    assert Unit.get_by_id(new_unit.id).state == "occupied"
    with pytest.raises(RuleError, match="第6步已经完成"):
        row.do_step(staff["desk"], 6, **HANDOVER)


def test_one_live_move_in_per_unit(staff, estate, new_unit):
    first = start(estate, staff["desk"], new_unit)
    with pytest.raises(RuleError, match=f"该房屋已有入伙记录 {first.number}"):
        start(estate, staff["desk"], new_unit)
    void_record(first, staff["desk"], "登记错房号")
    assert start(estate, staff["desk"], new_unit).id != first.id


def test_move_in_through_the_admin_and_stuck_filter(login_as, staff, estate, new_unit):
    clerk = login_as("clerk")
    data = form_data(clerk, "/admin/move_in/new/")
    data.update({"unit": str(new_unit.id), "owner_name": "郑新房", "owner_phone": "13698765432"})
    assert clerk.post("/admin/move_in/new/", data=data).status_code == 302
    row = MoveIn.get()
    other = start(estate, staff["desk"], Unit.create(estate=estate, building=Building.get(),
                                                     room="502", code="1-1-502"))
    page = clerk.get(f"/admin/move_in/details/?id={row.id}").get_data(as_text=True)
    assert "登记第1步：地产手续" in page and "入伙六步" in page
    assert post(clerk, f"/admin/move_in/step/?id={row.id}",
                {"row_version": row.version}).status_code == 302
    row = MoveIn.get_by_id(row.id)
    refused = post(clerk, f"/admin/move_in/step/?id={row.id}", {"row_version": row.version})
    assert "发放手册时须复印业主身份证，请复印后勾选" in field_errors(refused)
    assert post(clerk, f"/admin/move_in/step/?id={row.id}",
                {"id_copied": "y", "row_version": row.version}).status_code == 302
    assert MoveIn.get_by_id(row.id).current_step == 3
    # The 进度 filter: who is stuck at step 3, at step 1.
    listing = clerk.get("/admin/move_in/").get_data(as_text=True)
    assert "卡在第3步：住户登记" in listing and "卡在第1步：地产手续" in listing
    flt = next(i for i, f in enumerate(_admin_filters(clerk, "move_in"))
               if getattr(f.column, "name", "") == "current_step")  # 进度 等于
    stuck = clerk.get(f"/admin/move_in/?flt0_{flt}=3").get_data(as_text=True)
    assert row.number in stuck and other.number not in stuck
    stuck = clerk.get(f"/admin/move_in/?flt0_{flt}=1").get_data(as_text=True)
    assert other.number in stuck and row.number not in stuck
    # The export carries the words of the progress badge, not its markup.
    export = login_as("viewer").get("/admin/move_in/export/csv/").get_data(as_text=True)
    assert "卡在第3步：住户登记" in export and "<span" not in export


def _admin_filters(client, endpoint):
    admin = client.application.extensions["admin"][0]
    view = next(v for v in admin._views if getattr(v, "endpoint", "") == endpoint)
    return view._filters
