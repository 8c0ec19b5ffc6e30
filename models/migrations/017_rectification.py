"""Schema 017: the rectification register (整改, R-FRONT-2, issue #11 item 10) and its history.

rectification: one item to put right — where it came from (a move-in's 整改单, a decoration
acceptance, an emergency's measures, a demand, an inspection) with a link to that row, the unit
or building and place, who it was handed to (a department or 地产遗留) with its deadline and first
promise, the work's result, the owner's callback, and the misses and reworks on record.
rectification_step: who did what to an item, when. Written by hand in the style peewee-migrate
generates; it only adds tables (014–016 belong to other branches).
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Apply this schema step."""

    @migrator.create_model
    class Rectification(pw.Model):
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
        number = pw.CharField(default='', index=True, max_length=20)
        source = pw.CharField(default='inspection', index=True, max_length=16)
        move_in = pw.ForeignKeyField(column_name='move_in_id', field='id', model=migrator.orm['move_in'], null=True, on_delete='RESTRICT')
        decoration = pw.ForeignKeyField(column_name='decoration_id', field='id', model=migrator.orm['decoration'], null=True, on_delete='RESTRICT')
        emergency = pw.ForeignKeyField(column_name='emergency_id', field='id', model=migrator.orm['emergency'], null=True, on_delete='RESTRICT')
        demand = pw.ForeignKeyField(column_name='demand_id', field='id', model=migrator.orm['demand'], null=True, on_delete='RESTRICT')
        building = pw.ForeignKeyField(column_name='building_id', field='id', model=migrator.orm['building'], null=True, on_delete='RESTRICT')
        unit = pw.ForeignKeyField(column_name='unit_id', field='id', model=migrator.orm['unit'], null=True, on_delete='RESTRICT')
        location = pw.CharField(default='', max_length=100)
        description = pw.TextField()
        state = pw.CharField(default='registered', index=True, max_length=16)
        department = pw.ForeignKeyField(column_name='department_id', field='id', model=migrator.orm['department'], null=True, on_delete='RESTRICT')
        developer = pw.BooleanField(default=False)
        assigned_at = pw.DateTimeField(null=True)
        assigned_by = pw.ForeignKeyField(column_name='assigned_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        due_days = pw.IntegerField(default=0)
        due = pw.DateTimeField(null=True)
        original_due = pw.DateTimeField(null=True)
        completed_at = pw.DateTimeField(null=True)
        completed_by = pw.ForeignKeyField(column_name='completed_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        result = pw.TextField(default='')
        rework_count = pw.IntegerField(default=0)
        late_count = pw.IntegerField(default=0)
        callback_at = pw.DateTimeField(null=True)
        callback_by = pw.ForeignKeyField(column_name='callback_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        callback_channel = pw.CharField(max_length=8, null=True)
        satisfied = pw.BooleanField(null=True)
        callback_comments = pw.TextField(default='')
        closed_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "rectification"
            indexes = [(('state', 'due'), False), (('estate', 'building'), False)]

    @migrator.create_model
    class RectificationStep(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        rectification = pw.ForeignKeyField(column_name='rectification_id', field='id', model=migrator.orm['rectification'], on_delete='CASCADE')
        user = pw.ForeignKeyField(column_name='user_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        username = pw.CharField(default='', max_length=32)
        action = pw.CharField(max_length=16)
        from_state = pw.CharField(max_length=16, null=True)
        to_state = pw.CharField(max_length=16)
        note = pw.CharField(default='', max_length=255)

        class Meta:
            table_name = "rectification_step"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Undo this schema step (dropping a table drops its indexes)."""

    migrator.remove_model('rectification_step')

    migrator.remove_model('rectification')
