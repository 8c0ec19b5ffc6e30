"""Tenant, rental and ownership-transfer registration (R-STAFF-2): periods in order, no two
leases at once, and the unit's current residents kept right (#5)."""

from __future__ import annotations

import datetime as dt

import pytest
from test_office_common import field_errors, make_staff, post, today
from test_records import form_data

from models.base import RuleError
from models.org import Resident, Unit
from models.register import AuditLog, save_record
from models.tenancy import OwnershipTransfer, Tenancy


@pytest.fixture
def staff(conn, estate):
    return make_staff(estate, ("desk", "clerk", "cs"))


def lease(estate, user, code="1-1-101", starts=None, ends=None, **fields) -> Tenancy:
    unit = Unit.get(Unit.code == code)
    starts = starts or today() - dt.timedelta(days=10)
    values = {"tenant_name": "租客甲", "tenant_phone": "13911112222",
              "contract_number": f"ZL-{code}-{starts}", **fields}
    return save_record(Tenancy(estate=estate.id, unit=unit.id, starts=starts,
                               ends=ends or starts + dt.timedelta(days=365), **values), user)


def test_a_tenancy_cannot_end_before_it_starts(staff, estate):
    starts = today()
    with pytest.raises(RuleError) as refused:
        lease(estate, staff["desk"], starts=starts, ends=starts - dt.timedelta(days=1))
    assert refused.value.errors == {"ends": "租期结束日期不能早于租期开始日期"}
    assert Tenancy.select().count() == 0
    assert Resident.select().where(Resident.kind == "tenant").count() == 0  # nothing half-saved
    one_day = lease(estate, staff["desk"], starts=starts, ends=starts)  # same day: allowed
    assert one_day.ends == one_day.starts


def test_the_tenant_joins_and_leaves_the_units_residents(staff, estate):
    owner = Resident.get(Resident.name == "业主101")
    row = lease(estate, staff["desk"], landlord=owner.id, id_number="11010519491231002x")
    tenant = Resident.get_by_id(row.tenant_id)
    assert (tenant.kind, tenant.name, tenant.moved_in) == ("tenant", "租客甲", row.starts)
    assert tenant.id_number == "11010519491231002X" and tenant.unit_id == row.unit_id
    assert Unit.get_by_id(row.unit_id).state == "let"
    with pytest.raises(RuleError, match="该房屋 .* 已有租约（租客甲"):
        lease(estate, staff["desk"], starts=today(), contract_number="ZL-2")
    with pytest.raises(RuleError, match="出租业主须为该房屋的业主"):
        lease(estate, staff["desk"], code="1-1-102", landlord=owner.id)
    with pytest.raises(RuleError, match="退租日期不能早于租期开始日期"):
        row.end(staff["desk"], on=row.starts - dt.timedelta(days=1))
    row = Tenancy.get_by_id(row.id)
    row.end(staff["desk"], on=today())
    assert Resident.get_by_id(tenant.id).moved_out == today()
    assert Unit.get_by_id(row.unit_id).state == "occupied"
    with pytest.raises(RuleError, match="该租约已于"):
        Tenancy.get_by_id(row.id).end(staff["desk"])
    # After the end, the unit can be let again from the next day.
    assert lease(estate, staff["desk"], starts=today() + dt.timedelta(days=1),
                 contract_number="ZL-3").id
    row = Tenancy.get_by_id(row.id)
    row.starts = today() - dt.timedelta(days=20)
    with pytest.raises(RuleError, match="登记后不能修改房屋、租户和起租日期"):
        save_record(row, staff["desk"])


def test_transfer_moves_the_old_owner_out_and_registers_the_new_one(staff, estate):
    old = Resident.get(Resident.name == "业主102")
    Resident.update(moved_in=today() - dt.timedelta(days=900)).where(
        Resident.id == old.id).execute()
    transfer = OwnershipTransfer(estate=estate.id, unit=old.unit_id, from_owner=old.id,
                                 to_name="新业主", to_phone="13766667777",
                                 transfer_date=today() - dt.timedelta(days=901),
                                 documents="不动产权证书、买卖合同")
    with pytest.raises(RuleError, match="过户日期不能早于原业主入住日期"):
        save_record(transfer, staff["desk"])
    transfer.transfer_date = today() + dt.timedelta(days=1)
    with pytest.raises(RuleError, match="过户日期不能晚于今天"):
        save_record(transfer, staff["desk"])
    transfer.transfer_date = today() - dt.timedelta(days=3)
    save_record(transfer, staff["desk"])
    assert Resident.get_by_id(old.id).moved_out == transfer.transfer_date
    new = Resident.get_by_id(transfer.new_owner_id)
    assert (new.kind, new.name, new.moved_in, new.unit_id) == (
        "owner", "新业主", transfer.transfer_date, old.unit_id)
    current = Resident.select().where(Resident.unit == old.unit_id, Resident.kind == "owner",
                                      Resident.moved_out.is_null())
    assert [r.name for r in current] == ["新业主"]
    # The old owner can no longer sell the flat; someone who is not its owner never could.
    for resident in (old, Resident.get(Resident.name == "业主101")):
        with pytest.raises(RuleError, match="所选原业主不是该房屋的现业主"):
            save_record(OwnershipTransfer(estate=estate.id, unit=old.unit_id,
                                          from_owner=resident.id, to_name="某人",
                                          to_phone="13700000000", transfer_date=today(),
                                          documents="合同"), staff["desk"])
    assert AuditLog.select().where(AuditLog.table == "resident",
                                   AuditLog.action == "update").count() == 1


def test_tenancy_through_the_admin(login_as, conn, estate):
    clerk = login_as("clerk")
    unit = Unit.get(Unit.code == "1-1-102")
    data = form_data(clerk, "/admin/tenancy/new/")
    data.update({"unit": str(unit.id), "tenant_name": "租客乙", "tenant_phone": "13922223333",
                 "doc_type": "resident_id", "id_number": "", "starts": "2026-12-01",
                 "ends": "2026-11-30", "contract_number": "ZL-2026-009"})
    refused = clerk.post("/admin/tenancy/new/", data=data)
    assert "租期结束日期不能早于租期开始日期" in field_errors(refused)
    assert Tenancy.select().count() == 0 and Resident.select().where(
        Resident.kind == "tenant").count() == 0
    data.update({"starts": f"{today():%Y-%m-%d}",
                 "ends": f"{today() + dt.timedelta(days=180):%Y-%m-%d}"})
    assert clerk.post("/admin/tenancy/new/", data=data).status_code == 302
    row = Tenancy.get()
    assert Resident.get_by_id(row.tenant_id).name == "租客乙"
    assert post(clerk, f"/admin/tenancy/end/?id={row.id}",
                {"on": f"{today():%Y-%m-%d}", "row_version": row.version}).status_code == 302
    assert Resident.get_by_id(row.tenant_id).moved_out == today()
    # A transfer through the form.
    owner = Resident.get(Resident.name == "业主201")
    data = form_data(clerk, "/admin/ownership_transfer/new/")
    data.update({"unit": str(owner.unit_id), "from_owner": str(owner.id), "to_name": "买房人",
                 "to_phone": "13812345678", "doc_type": "resident_id", "id_number": "",
                 "transfer_date": f"{today():%Y-%m-%d}", "documents": "不动产权证书"})
    response = clerk.post("/admin/ownership_transfer/new/", data=data)
    assert response.status_code == 302, field_errors(response)
    assert Resident.get_by_id(owner.id).moved_out == today()
