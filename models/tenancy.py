"""Tenant, rental and ownership-transfer registration (租户/出租/过户登记, R-STAFF-2).

Both registers keep the unit's current residents right, in the same transaction as the record:
a tenancy registers its tenant as a resident (kind tenant) from the start of the lease and moves
them out when it ends; a transfer moves the old owner out on the transfer date and registers
the new owner as a resident (kind owner).
"""

from __future__ import annotations

import datetime as dt

from flask_babel import gettext
from peewee import CharField, DateField, ForeignKeyField, TextField

from models.base import (
    DocTypeField,
    DocumentNumberField,
    PhoneField,
    RuleError,
    office_day,
    write_transaction,
)
from models.i18n import L_
from models.office import refuse_changes_after
from models.org import Resident, Unit, _same_estate
from models.register import RegisterModel, StatefulMixin, change_record, save_record
from models.validators import check_date_order


def _resident(instance, *, kind: str, name: str, phone: str, moved_in: dt.date, user) -> int:
    resident = Resident(estate=instance.estate_id, unit=instance.unit_id, name=name, kind=kind,
                        phone=phone or "", doc_type=instance.doc_type or "resident_id",
                        id_number=instance.id_number or None, moved_in=moved_in)
    return save_record(resident, user).id


def _set_unit_state(unit_id: int, state: str, user) -> None:
    unit = Unit.get_by_id(unit_id)
    if unit.state != state:
        change_record(unit, user, state=state)


class Tenancy(StatefulMixin, RegisterModel):
    """A unit let to a tenant: who, for which period, under which contract."""

    unit = ForeignKeyField(Unit, backref="tenancies", on_delete="RESTRICT", verbose_name=L_("房屋"))
    landlord = ForeignKeyField(Resident, null=True, backref="+", on_delete="RESTRICT",
                               verbose_name=L_("出租业主"))
    tenant_name = CharField(max_length=32, verbose_name=L_("租户姓名"))
    tenant_phone = PhoneField(verbose_name=L_("租户电话"))
    doc_type = DocTypeField()
    id_number = DocumentNumberField(null=True, verbose_name=L_("证件号码"),
                                    help_text=L_("列表、导出和日志中只显示部分号码"))
    starts = DateField(verbose_name=L_("租期开始"))
    ends = DateField(verbose_name=L_("租期结束"))
    contract_number = CharField(max_length=32, verbose_name=L_("租赁合同编号"))
    tenant = ForeignKeyField(Resident, null=True, backref="+", on_delete="RESTRICT",
                             verbose_name=L_("租户登记"))
    ended_on = DateField(null=True, verbose_name=L_("实际退租日期"))
    notes = CharField(max_length=200, default="", verbose_name=L_("备注"))

    class Meta:
        table_name = "tenancy"
        indexes = ((("estate", "unit", "starts"), False),)

    def __str__(self) -> str:
        unit = self.unit.code if self.unit_id else ""
        return f"{unit} {self.tenant_name} {self.contract_number}".strip()

    def validate(self):
        yield from _same_estate(self, "estate", ("unit",))
        try:
            check_date_order(self.starts, self.ends, gettext("租期开始日期"),
                             gettext("租期结束日期"))
        except ValueError as exc:
            yield "ends", str(exc)
        try:
            check_date_order(self.starts, self.ended_on, gettext("租期开始日期"),
                             gettext("退租日期"))
        except ValueError as exc:
            yield "ended_on", str(exc)
        if self.landlord_id:
            landlord = Resident.get_or_none(Resident.id == self.landlord_id)
            if landlord is not None and (landlord.unit_id != self.unit_id
                                         or landlord.kind != "owner"):
                yield "landlord", gettext("出租业主须为该房屋的业主")
        if self.unit_id and self.starts and self.ends and self.ends >= self.starts:
            other = self._overlapping()
            if other is not None:
                yield "starts", (gettext("该房屋 %(starts)s 至 %(value)s 已有租约（%(tenant_name)s"
                                         "，合同 %(contract_number)s）",
                                         starts=format(other.starts, '%Y-%m-%d'),
                                         value=format(other.ended_on or other.ends, '%Y-%m-%d'),
                                         tenant_name=other.tenant_name,
                                         contract_number=other.contract_number))
        if self.contract_number and self.estate_id:
            twin = Tenancy.select().where(Tenancy.estate == self.estate_id,
                                          Tenancy.contract_number == self.contract_number.strip(),
                                          Tenancy.voided == False)  # noqa: E712
            if self.id:
                twin = twin.where(Tenancy.id != self.id)
            if twin.exists():
                yield "contract_number", gettext("该合同编号已登记")

    def _overlapping(self):
        end = self.ended_on or self.ends
        query = Tenancy.select().where(
            Tenancy.unit == self.unit_id, Tenancy.voided == False,  # noqa: E712
            Tenancy.starts <= end,
            ((Tenancy.ended_on.is_null() & (Tenancy.ends >= self.starts))
             | (Tenancy.ended_on >= self.starts)))
        if self.id:
            query = query.where(Tenancy.id != self.id)
        return query.first()

    def before_create(self, user) -> None:
        # The tenant becomes one of the unit's current residents with the lease.
        self.tenant = _resident(self, kind="tenant", name=self.tenant_name,
                                phone=self.tenant_phone, moved_in=self.starts, user=user)
        _set_unit_state(self.unit_id, "let", user)

    def before_update(self) -> None:
        # The tenant's resident row was made from these; a wrong one is voided and re-entered.
        refuse_changes_after(self, ("unit", "tenant_name", "starts"), lambda stored: True,
                             gettext("登记后不能修改房屋、租户和起租日期；如有错误请作废后重新登记"))

    def end(self, user, *, on: dt.date | None = None,
            expected_version: int | None = None) -> None:
        """退租: the tenant moves out; the unit is no longer let unless another lease runs."""
        self.require_state(doing=gettext("登记退租"))
        if self.ended_on is not None:
            raise RuleError({"": gettext("该租约已于 %(ended_on)s 退租",
                                         ended_on=format(self.ended_on, '%Y-%m-%d'))})
        on = on or office_day()
        if on < self.starts:
            raise RuleError({"on": gettext("退租日期不能早于租期开始日期")})
        if on > office_day():
            raise RuleError({"on": gettext("退租日期不能晚于今天")})
        with write_transaction():
            self.transition(user, expected_version=expected_version, ended_on=on)
            if self.tenant_id:
                tenant = Resident.get_by_id(self.tenant_id)
                if tenant.moved_out is None:
                    change_record(tenant, user, moved_out=on)
            still_let = Tenancy.select().where(Tenancy.unit == self.unit_id,
                                               Tenancy.voided == False,  # noqa: E712
                                               Tenancy.ended_on.is_null()).exists()
            if not still_let:
                _set_unit_state(self.unit_id, "occupied", user)


# The grid sorted by contract number across the user's estates, stopped after the page
# (migration 037, #14).
Tenancy.add_index(Tenancy.index(Tenancy.voided, Tenancy.contract_number,
                                name="tenancy_contract_order"))


class OwnershipTransfer(RegisterModel):
    """A unit changing owner: from whom, to whom, when, on which documents."""

    unit = ForeignKeyField(Unit, backref="transfers", on_delete="RESTRICT", verbose_name=L_("房屋"))
    from_owner = ForeignKeyField(Resident, backref="+", on_delete="RESTRICT",
                                 verbose_name=L_("原业主"))
    to_name = CharField(max_length=32, verbose_name=L_("新业主姓名"))
    to_phone = PhoneField(verbose_name=L_("新业主电话"))
    doc_type = DocTypeField()
    id_number = DocumentNumberField(null=True, verbose_name=L_("新业主证件号码"),
                                    help_text=L_("列表、导出和日志中只显示部分号码"))
    transfer_date = DateField(verbose_name=L_("过户日期"))
    documents = TextField(verbose_name=L_("过户资料"),
                          help_text=L_("如 不动产权证书、买卖合同、双方身份证复印件"))
    new_owner = ForeignKeyField(Resident, null=True, backref="+", on_delete="RESTRICT",
                                verbose_name=L_("新业主登记"))
    notes = CharField(max_length=200, default="", verbose_name=L_("备注"))

    class Meta:
        table_name = "ownership_transfer"
        indexes = ((("estate", "transfer_date"), False),)

    def __str__(self) -> str:
        unit = self.unit.code if self.unit_id else ""
        return gettext("%(unit)s 过户给 %(name)s", unit=unit, name=self.to_name).strip()

    def validate(self):
        yield from _same_estate(self, "estate", ("unit",))
        if self.transfer_date and self.transfer_date > office_day():
            yield "transfer_date", gettext("过户日期不能晚于今天，请在办完过户后登记")
        if self.from_owner_id and self.id is None:
            owner = Resident.get_or_none(Resident.id == self.from_owner_id)
            if owner is None or owner.unit_id != self.unit_id or owner.kind != "owner" \
                    or owner.moved_out is not None or owner.voided:
                yield "from_owner", gettext("所选原业主不是该房屋的现业主")
            elif owner.moved_in and self.transfer_date and self.transfer_date < owner.moved_in:
                yield "transfer_date", (gettext("过户日期不能早于原业主入住日期 %(moved_in)s",
                                                moved_in=format(owner.moved_in, '%Y-%m-%d')))

    def before_update(self) -> None:
        refuse_changes_after(self, ("unit", "from_owner", "to_name", "transfer_date"),
                             lambda stored: True,
                             gettext("过户登记后不能修改房屋、双方和过户日期；如有错误请由主管在住"
                                     "户登记中更正"))

    def before_create(self, user) -> None:
        # The old owner moves out on the transfer date, the new one moves in.
        change_record(Resident.get_by_id(self.from_owner_id), user,
                      moved_out=self.transfer_date)
        self.new_owner = _resident(self, kind="owner", name=self.to_name, phone=self.to_phone,
                                   moved_in=self.transfer_date, user=user)
