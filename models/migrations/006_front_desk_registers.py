"""Schema 006: the front-desk registers with money and validity (issue #4).

Keys and their movements, worker and temporary passes, hot-work permits, goods release slips
with their lines, decoration applications/permits and the deposit ledger. Written by hand in the
style peewee-migrate generates, from the models of this step. 004 and 005 belong to the Sheets
mirror and the jobs; this step touches none of their tables.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext

# Frozen copies of models/deposits.py's table rules as they are for this step.
DEPOSIT_CHECKS = [
    pw.Check("amount >= 0 AND refunded_amount >= 0 AND forfeited_amount >= 0"),
    pw.Check("state NOT IN ('refunded', 'forfeited') OR "
             "ROUND((refunded_amount + forfeited_amount) * 100) = ROUND(amount * 100)"),
]


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Apply this schema step."""

    @migrator.create_model
    class Deposit(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        version = pw.IntegerField(default=1)
        estate = pw.ForeignKeyField(column_name='estate_id', field='id', model=migrator.orm['estate'], on_delete='RESTRICT')
        created_by = pw.ForeignKeyField(column_name='created_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        kind = pw.CharField(max_length=20)
        purpose = pw.CharField(default='', max_length=200)
        payer = pw.CharField(max_length=64)
        payer_phone = pw.CharField(default='', max_length=32)
        amount = pw.DecimalField(auto_round=False, decimal_places=2, max_digits=12)
        state = pw.CharField(default='due', index=True, max_length=16)
        receipt_number = pw.CharField(max_length=20, null=True)
        collected_at = pw.DateTimeField(null=True)
        collected_by = pw.ForeignKeyField(column_name='collected_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        refundable_on = pw.DateField(index=True, null=True)
        refundable_note = pw.CharField(default='', max_length=200)
        refunded_at = pw.DateTimeField(null=True)
        refunded_to = pw.CharField(default='', max_length=64)
        refunded_by = pw.ForeignKeyField(column_name='refunded_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        refunded_amount = pw.DecimalField(auto_round=False, decimal_places=2, max_digits=12)
        forfeited_amount = pw.DecimalField(auto_round=False, decimal_places=2, max_digits=12)
        forfeit_reason = pw.CharField(default='', max_length=200)
        forfeit_approved_by = pw.ForeignKeyField(column_name='forfeit_approved_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        forfeited_at = pw.DateTimeField(null=True)
        note = pw.CharField(default='', max_length=200)

        class Meta:
            table_name = "deposit"
            indexes = [(('estate', 'receipt_number'), True), (('estate', 'state'), False)]
            constraints = DEPOSIT_CHECKS

    @migrator.create_model
    class Decoration(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        version = pw.IntegerField(default=1)
        estate = pw.ForeignKeyField(column_name='estate_id', field='id', model=migrator.orm['estate'], on_delete='RESTRICT')
        created_by = pw.ForeignKeyField(column_name='created_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        voided = pw.BooleanField(default=False, index=True)
        void_reason = pw.CharField(default='', max_length=200)
        voided_at = pw.DateTimeField(null=True)
        voided_by = pw.ForeignKeyField(column_name='voided_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        number = pw.CharField(default='', max_length=20)
        unit = pw.ForeignKeyField(column_name='unit_id', field='id', model=migrator.orm['unit'], on_delete='RESTRICT')
        owner = pw.ForeignKeyField(column_name='owner_id', field='id', model=migrator.orm['resident'], null=True, on_delete='RESTRICT')
        owner_name = pw.CharField(default='', max_length=32)
        owner_phone = pw.CharField(default='', max_length=32)
        contractor = pw.CharField(max_length=64)
        contractor_licence = pw.CharField(default='', max_length=64)
        contractor_contact = pw.CharField(default='', max_length=32)
        contractor_phone = pw.CharField(default='', max_length=32)
        plan_summary = pw.TextField()
        works_start = pw.DateField()
        works_end = pw.DateField()
        floor_plan = pw.CharField(default='', max_length=128)
        floor_plan_name = pw.CharField(default='', max_length=128)
        floor_plan_type = pw.CharField(default='', max_length=32)
        floor_plan_size = pw.IntegerField(default=0)
        applied_at = pw.DateTimeField()
        approval_due = pw.DateTimeField(index=True, null=True)
        state = pw.CharField(default='applied', index=True, max_length=16)
        approved_at = pw.DateTimeField(null=True)
        approved_by = pw.ForeignKeyField(column_name='approved_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        approval_note = pw.CharField(default='', max_length=200)
        tests_due = pw.DateTimeField(index=True, null=True)
        water_test_at = pw.DateTimeField(null=True)
        water_test_passed = pw.BooleanField(null=True)
        pressure_test_at = pw.DateTimeField(null=True)
        pressure_test_passed = pw.BooleanField(null=True)
        pressure_test_skipped = pw.BooleanField(default=False)
        test_notes = pw.CharField(default='', max_length=200)
        owner_confirmed_name = pw.CharField(default='', max_length=32)
        owner_confirmed_at = pw.DateTimeField(null=True)
        engineering_signed_by = pw.ForeignKeyField(column_name='engineering_signed_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        engineering_signed_at = pw.DateTimeField(null=True)
        permit_number = pw.CharField(max_length=20, null=True)
        permit_issued_at = pw.DateTimeField(null=True)
        permit_issued_by = pw.ForeignKeyField(column_name='permit_issued_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        accepted_at = pw.DateTimeField(null=True)
        accepted_by = pw.ForeignKeyField(column_name='accepted_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        acceptance_result = pw.CharField(max_length=16, null=True)
        defects = pw.TextField(default='')
        rectify_by = pw.DateField(null=True)
        owner_deposit = pw.ForeignKeyField(column_name='owner_deposit_id', field='id', model=migrator.orm['deposit'], null=True, on_delete='RESTRICT')
        contractor_deposit = pw.ForeignKeyField(column_name='contractor_deposit_id', field='id', model=migrator.orm['deposit'], null=True, on_delete='RESTRICT')

        class Meta:
            table_name = "decoration"
            indexes = [(('estate', 'number'), True), (('estate', 'permit_number'), True), (('estate', 'state'), False), (('unit', 'state'), False)]

    @migrator.create_model
    class WorkerPass(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        version = pw.IntegerField(default=1)
        estate = pw.ForeignKeyField(column_name='estate_id', field='id', model=migrator.orm['estate'], on_delete='RESTRICT')
        created_by = pw.ForeignKeyField(column_name='created_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        voided = pw.BooleanField(default=False, index=True)
        void_reason = pw.CharField(default='', max_length=200)
        voided_at = pw.DateTimeField(null=True)
        voided_by = pw.ForeignKeyField(column_name='voided_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        number = pw.CharField(default='', max_length=20)
        holder_name = pw.CharField(max_length=32)
        doc_type = pw.CharField(default='resident_id', max_length=16)
        id_number = pw.CharField(max_length=32)
        phone = pw.CharField(default='', max_length=32)
        issued_at = pw.DateTimeField()
        valid_from = pw.DateField(null=True)
        valid_to = pw.DateField(index=True, null=True)
        state = pw.CharField(default='issued', index=True, max_length=16)
        returned_at = pw.DateTimeField(null=True)
        returned_by = pw.ForeignKeyField(column_name='returned_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        cancel_reason = pw.CharField(max_length=16, null=True)
        cancel_note = pw.CharField(default='', max_length=200)
        unit = pw.ForeignKeyField(column_name='unit_id', field='id', model=migrator.orm['unit'], on_delete='RESTRICT')
        decoration = pw.ForeignKeyField(column_name='decoration_id', field='id', model=migrator.orm['decoration'], null=True, on_delete='RESTRICT')
        employer = pw.CharField(default='', max_length=64)
        trade = pw.CharField(default='', max_length=16)
        checked_construction_permit = pw.BooleanField(default=False)
        checked_id = pw.BooleanField(default=False)
        checked_residence_permit = pw.BooleanField(default=False)
        deposit = pw.ForeignKeyField(column_name='deposit_id', field='id', model=migrator.orm['deposit'], null=True, on_delete='RESTRICT')
        card_fee = pw.ForeignKeyField(column_name='card_fee_id', field='id', model=migrator.orm['deposit'], null=True, on_delete='RESTRICT')

        class Meta:
            table_name = "worker_pass"
            indexes = [(('estate', 'number'), True), (('estate', 'state', 'valid_to'), False)]

    @migrator.create_model
    class TemporaryPass(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        version = pw.IntegerField(default=1)
        estate = pw.ForeignKeyField(column_name='estate_id', field='id', model=migrator.orm['estate'], on_delete='RESTRICT')
        created_by = pw.ForeignKeyField(column_name='created_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        voided = pw.BooleanField(default=False, index=True)
        void_reason = pw.CharField(default='', max_length=200)
        voided_at = pw.DateTimeField(null=True)
        voided_by = pw.ForeignKeyField(column_name='voided_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        number = pw.CharField(default='', max_length=20)
        holder_name = pw.CharField(max_length=32)
        doc_type = pw.CharField(default='resident_id', max_length=16)
        id_number = pw.CharField(max_length=32)
        phone = pw.CharField(default='', max_length=32)
        issued_at = pw.DateTimeField()
        valid_from = pw.DateField(null=True)
        valid_to = pw.DateField(index=True, null=True)
        state = pw.CharField(default='issued', index=True, max_length=16)
        returned_at = pw.DateTimeField(null=True)
        returned_by = pw.ForeignKeyField(column_name='returned_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        cancel_reason = pw.CharField(max_length=16, null=True)
        cancel_note = pw.CharField(default='', max_length=200)
        purpose = pw.CharField(max_length=100)
        unit = pw.ForeignKeyField(column_name='unit_id', field='id', model=migrator.orm['unit'], null=True, on_delete='RESTRICT')

        class Meta:
            table_name = "temporary_pass"
            indexes = [(('estate', 'number'), True), (('estate', 'state', 'valid_to'), False)]

    @migrator.create_model
    class HotWorkPermit(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        version = pw.IntegerField(default=1)
        estate = pw.ForeignKeyField(column_name='estate_id', field='id', model=migrator.orm['estate'], on_delete='RESTRICT')
        created_by = pw.ForeignKeyField(column_name='created_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        voided = pw.BooleanField(default=False, index=True)
        void_reason = pw.CharField(default='', max_length=200)
        voided_at = pw.DateTimeField(null=True)
        voided_by = pw.ForeignKeyField(column_name='voided_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        number = pw.CharField(default='', max_length=20)
        operator_name = pw.CharField(max_length=32)
        doc_type = pw.CharField(default='resident_id', max_length=16)
        id_number = pw.CharField(max_length=32)
        phone = pw.CharField(default='', max_length=32)
        certificate_number = pw.CharField(max_length=32)
        certificate_copy_kept = pw.BooleanField(default=False)
        id_copy_kept = pw.BooleanField(default=False)
        unit = pw.ForeignKeyField(column_name='unit_id', field='id', model=migrator.orm['unit'], null=True, on_delete='RESTRICT')
        location = pw.CharField(max_length=100)
        work_from = pw.DateTimeField()
        work_to = pw.DateTimeField(index=True)
        fire_watch = pw.CharField(default='', max_length=32)
        stamped_by = pw.ForeignKeyField(column_name='stamped_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        stamped_at = pw.DateTimeField(null=True)
        state = pw.CharField(default='issued', index=True, max_length=16)
        closed_at = pw.DateTimeField(null=True)
        closed_by = pw.ForeignKeyField(column_name='closed_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        cancel_note = pw.CharField(default='', max_length=200)

        class Meta:
            table_name = "hot_work_permit"
            indexes = [(('estate', 'number'), True), (('estate', 'state', 'work_to'), False)]

    @migrator.create_model
    class GoodsRelease(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        version = pw.IntegerField(default=1)
        estate = pw.ForeignKeyField(column_name='estate_id', field='id', model=migrator.orm['estate'], on_delete='RESTRICT')
        created_by = pw.ForeignKeyField(column_name='created_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        voided = pw.BooleanField(default=False, index=True)
        void_reason = pw.CharField(default='', max_length=200)
        voided_at = pw.DateTimeField(null=True)
        voided_by = pw.ForeignKeyField(column_name='voided_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        number = pw.CharField(default='', max_length=20)
        bearer_name = pw.CharField(max_length=32)
        doc_type = pw.CharField(default='resident_id', max_length=16)
        id_number = pw.CharField(max_length=32)
        phone = pw.CharField(default='', max_length=32)
        unit = pw.ForeignKeyField(column_name='unit_id', field='id', model=migrator.orm['unit'], on_delete='RESTRICT')
        state = pw.CharField(default='pending', index=True, max_length=16)
        confirmed_with = pw.CharField(default='', max_length=32)
        confirm_method = pw.CharField(max_length=16, null=True)
        confirmed_at = pw.DateTimeField(null=True)
        confirmed_by = pw.ForeignKeyField(column_name='confirmed_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        confirm_note = pw.CharField(default='', max_length=200)
        released_at = pw.DateTimeField(null=True)
        released_by = pw.ForeignKeyField(column_name='released_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')

        class Meta:
            table_name = "goods_release"
            indexes = [(('estate', 'number'), True), (('estate', 'state'), False)]

    @migrator.create_model
    class GoodsLine(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        release = pw.ForeignKeyField(column_name='release_id', field='id', model=migrator.orm['goods_release'], on_delete='CASCADE')
        position = pw.IntegerField(default=1)
        item = pw.CharField(max_length=64)
        quantity = pw.IntegerField()
        unit_label = pw.CharField(default='', max_length=4)

        class Meta:
            table_name = "goods_line"
            constraints = [pw.Check("quantity > 0")]

    @migrator.create_model
    class KeySet(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        version = pw.IntegerField(default=1)
        estate = pw.ForeignKeyField(column_name='estate_id', field='id', model=migrator.orm['estate'], on_delete='RESTRICT')
        created_by = pw.ForeignKeyField(column_name='created_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        voided = pw.BooleanField(default=False, index=True)
        void_reason = pw.CharField(default='', max_length=200)
        voided_at = pw.DateTimeField(null=True)
        voided_by = pw.ForeignKeyField(column_name='voided_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        unit = pw.ForeignKeyField(column_name='unit_id', field='id', model=migrator.orm['unit'], on_delete='RESTRICT')
        label = pw.CharField(default='入户门钥匙', max_length=32)
        count = pw.IntegerField(default=1)
        hook = pw.CharField(default='', max_length=16)
        location = pw.CharField(default='office', index=True, max_length=16)
        holder = pw.CharField(default='管理处', max_length=64)
        since = pw.DateTimeField()
        notes = pw.CharField(default='', max_length=200)

        class Meta:
            table_name = "key_set"
            indexes = [(('estate', 'location'), False)]

    @migrator.create_model
    class KeyMovement(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        version = pw.IntegerField(default=1)
        estate = pw.ForeignKeyField(column_name='estate_id', field='id', model=migrator.orm['estate'], on_delete='RESTRICT')
        key_set = pw.ForeignKeyField(column_name='key_set_id', field='id', model=migrator.orm['key_set'], on_delete='RESTRICT')
        kind = pw.CharField(max_length=16)
        number = pw.CharField(max_length=20, null=True)
        at = pw.DateTimeField()
        from_location = pw.CharField(max_length=16, null=True)
        to_location = pw.CharField(max_length=16)
        person = pw.CharField(default='', max_length=64)
        person_phone = pw.CharField(default='', max_length=32)
        borrower_type = pw.CharField(max_length=16, null=True)
        purpose = pw.CharField(default='', max_length=100)
        expected_return = pw.DateTimeField(index=True, null=True)
        signed = pw.BooleanField(default=False)
        consent_by = pw.CharField(default='', max_length=32)
        receipt_number = pw.CharField(default='', max_length=20)
        approved_by = pw.ForeignKeyField(column_name='approved_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        approved_at = pw.DateTimeField(null=True)
        loan = pw.ForeignKeyField(column_name='loan_id', field='id', model='self', null=True, on_delete='RESTRICT')
        returned_at = pw.DateTimeField(null=True)
        returned_by = pw.ForeignKeyField(column_name='returned_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        created_by = pw.ForeignKeyField(column_name='created_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')

        class Meta:
            table_name = "key_movement"
            indexes = [(('estate', 'number'), True), (('key_set', 'at'), False), (('kind', 'returned_at', 'expected_return'), False)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Undo this schema step."""

    migrator.remove_model('key_movement')

    migrator.remove_model('key_set')

    migrator.remove_model('goods_line')

    migrator.remove_model('goods_release')

    migrator.remove_model('hot_work_permit')

    migrator.remove_model('temporary_pass')

    migrator.remove_model('worker_pass')

    migrator.remove_model('decoration')

    migrator.remove_model('deposit')
