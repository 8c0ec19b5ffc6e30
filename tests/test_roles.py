"""Each person within their job (R-REC-4, R-MOVE-1, issue #11 item 5), through the real stack:
the attacks the issue reproduced, each refused and checked in the database."""

from __future__ import annotations

import pytest
from test_demand_loop import intake, post_action

from models.base import RuleError
from models.estate import Estate
from models.movein import MoveIn
from models.org import Building, Department, Unit
from models.register import AuditLog, save_record
from models.users import User
from models.work_orders import WorkOrder, dispatch_demand


def _departments(estate):
    for kind, name in (("cleaning", "保洁部"), ("finance", "财务部")):
        Department.get_or_create(estate=estate, kind=kind, defaults={"name": name})
    return {d.kind: d for d in Department.select().where(Department.estate == estate)}


def _trace() -> int:
    return AuditLog.select(AuditLog.id).order_by(AuditLog.id.desc()).scalar() or 0


def test_cleaning_cannot_complete_or_even_see_an_engineering_order(login_as, conn, estate):
    """The issue's attack: cleaning completed an engineering order with a cost of 99,999.99."""
    departments = _departments(estate)
    clerk = login_as("clerk")
    cleaning = login_as("dept", "cleaner", department="cleaning")
    engineer = login_as("dept", "engineer", department="engineering")
    demand = intake(clerk)
    demand.dispatch(clerk.user, department_id=departments["engineering"].id)
    order = WorkOrder.get(WorkOrder.demand == demand.id)
    before = _trace()
    response = post_action(cleaning, f"/admin/work_order/complete/?id={order.id}",
                           {"result": "已修好", "cost": "99999.99", "completed_at": "",
                            "row_version": order.version})
    assert response.status_code in (302, 403, 404)
    stored = WorkOrder.get_by_id(order.id)
    assert stored.state == "open" and stored.cost is None and _trace() == before
    for url in (f"/admin/work_order/details/?id={order.id}", "/admin/work_order/",
                f"/admin/demand/details/?id={demand.id}"):
        assert order.number not in cleaning.get(url).get_data(as_text=True)
    # Replying to the engineering demand as cleaning: refused the same way.
    post_action(cleaning, f"/admin/demand/reply/?id={demand.id}",
                {"content": "已处理", "row_version": demand.version})
    assert _trace() == before
    # The model refuses too, however the call is made.
    with pytest.raises(RuleError, match="其他部门"):
        stored.complete(cleaning.user, result="已修好", cost="99999.99")
    # Engineering itself completes it.
    response = post_action(engineer, f"/admin/work_order/complete/?id={order.id}",
                           {"result": "已更换阀门", "cost": "35.00", "completed_at": "",
                            "row_version": order.version})
    assert response.status_code == 302
    assert WorkOrder.get_by_id(order.id).state == "completed"


def test_dispatch_offers_and_accepts_only_this_estate_s_department_staff(
        login_as, make_user, conn, estate):
    departments = _departments(estate)
    clerk = login_as("clerk")
    own = make_user("ownfixer", "dept", estate, department="engineering")
    other_estate = Estate.create(branch=estate.branch_id, code="EAST", name="东区花园")
    stranger = make_user("eastfixer", "dept", other_estate, department="engineering")
    sweeper = make_user("sweeper", "dept", estate, department="cleaning")
    demand = intake(clerk)
    page = clerk.get(f"/admin/demand/dispatch/?id={demand.id}").get_data(as_text=True)
    assert "ownfixer" in page and "eastfixer" not in page
    for person, message in ((stranger, "请从列表中选择"),  # not offered (#12: Chinese)
                            (sweeper, "所选人员不属于该责任部门")):
        response = post_action(clerk, f"/admin/demand/dispatch/?id={demand.id}",
                               {"department": departments["engineering"].id,
                                "assignee": person.id, "what": "", "location": "",
                                "row_version": demand.version})
        assert message in response.get_data(as_text=True)
        assert WorkOrder.select().count() == 0
    with pytest.raises(RuleError) as refused:  # and the model, however it is called
        dispatch_demand(demand, clerk.user, department_id=departments["engineering"].id,
                        assignee_id=stranger.id)
    assert refused.value.errors["assignee"] == "所选人员不属于该小区"
    response = post_action(clerk, f"/admin/demand/dispatch/?id={demand.id}",
                           {"department": departments["engineering"].id, "assignee": own.id,
                            "what": "", "location": "", "row_version": demand.version})
    assert response.status_code == 302
    assert WorkOrder.get().assignee_id == own.id


def test_the_department_supervisor_reassigns_within_the_department(
        login_as, make_user, conn, estate):
    departments = _departments(estate)
    clerk = login_as("clerk")
    engineer = login_as("dept", "engineer", department="engineering")
    head = login_as("dept", "enghead", department="engineering")
    User.update(dept_supervisor=True).where(User.id == head.user.id).execute()
    colleague = make_user("colleague", "dept", estate, department="engineering")
    sweeper = make_user("sweeper", "dept", estate, department="cleaning")
    demand = intake(clerk)
    order = save_record(WorkOrder(estate=estate.id, demand=demand.id,
                                  department=departments["engineering"].id, what="换阀门",
                                  assignee=engineer.user.id), clerk.user)
    url = f"/admin/work_order/reassign/?id={order.id}"
    assert engineer.get(url).status_code == 403  # a technician does not hand work around
    page = head.get(url).get_data(as_text=True)
    assert "colleague" in page and "sweeper" not in page
    response = post_action(head, url, {"assignee_id": sweeper.id, "row_version": order.version})
    assert "所选人员不属于该责任部门" in response.get_data(as_text=True)
    assert WorkOrder.get_by_id(order.id).assignee_id == engineer.user.id
    response = post_action(head, url, {"assignee_id": colleague.id,
                                       "row_version": order.version})
    assert response.status_code == 302
    assert WorkOrder.get_by_id(order.id).assignee_id == colleague.id


def test_move_in_step_five_is_finance_s(login_as, conn, estate):
    """The issue's attack: cleaning staff recorded the fees of move-in step 5."""
    clerk = login_as("clerk")
    cleaning = login_as("dept", "cleaner", department="cleaning")
    finance = login_as("dept", "cashier", department="finance")
    unit = Unit.create(estate=estate, building=Building.get(), room="501", code="1-1-501")
    row = save_record(MoveIn(estate=estate.id, unit=unit.id, owner_name="郑新房",
                             owner_phone="13698765432"), clerk.user)
    details = {2: {"id_copied": True}, 3: {"agreements_signed": True}}
    for n in range(1, 5):
        row.do_step(clerk.user, n, **details.get(n, {}))
        row = MoveIn.get_by_id(row.id)
    fees = {"property_fee": "2160.00", "property_fee_receipt": "WY1",
            "maintenance_fund": "8650.00", "maintenance_fund_receipt": "JJ1", "at": ""}
    url = f"/admin/move_in/step/?id={row.id}"
    assert "登记第5步" not in clerk.get(f"/admin/move_in/details/?id={row.id}").get_data(
        as_text=True)
    for client in (cleaning, clerk):
        response = post_action(client, url, {**fees, "row_version": row.version})
        assert response.status_code == 403
        assert MoveIn.get_by_id(row.id).current_step == 5
    assert post_action(finance, url, {**fees, "row_version": row.version}).status_code == 302
    row = MoveIn.get_by_id(row.id)
    assert row.current_step == 6 and row.step5_by_id == finance.user.id
