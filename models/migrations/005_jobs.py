"""Schema 005: the scheduled jobs' leases and runs, overdue flags and daily digests (jobs/models.py).

Written by hand in the style peewee-migrate generates. 004 is the Sheets mirror's step; the
two touch different tables, so they apply in either order.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext

# At most one active flag per rule and row; both engines support partial indexes.
ACTIVE_FLAG_INDEX = (
    "CREATE UNIQUE INDEX overdue_flag_active ON overdue_flag (rule, row_id)"
    " WHERE cleared_at IS NULL"
)


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Apply this schema step."""

    @migrator.create_model
    class JobLease(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        job = pw.CharField(max_length=32)
        slot = pw.CharField(max_length=48)
        slot_time = pw.DateTimeField()
        holder = pw.CharField(max_length=96)
        acquired_at = pw.DateTimeField()
        expires_at = pw.DateTimeField()
        state = pw.CharField(default='held', max_length=16)

        class Meta:
            table_name = "job_lease"
            indexes = [(('job', 'slot'), True), (('job', 'slot_time'), False)]

    @migrator.create_model
    class JobRun(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        job = pw.CharField(index=True, max_length=32)
        slot = pw.CharField(max_length=48)
        slot_time = pw.DateTimeField(null=True)
        trigger = pw.CharField(default='schedule', max_length=16)
        holder = pw.CharField(default='', max_length=96)
        started_at = pw.DateTimeField(index=True)
        finished_at = pw.DateTimeField(null=True)
        status = pw.CharField(default='running', index=True, max_length=16)
        flagged = pw.IntegerField(default=0)
        cleared = pw.IntegerField(default=0)
        note = pw.CharField(default='', max_length=255)
        error = pw.CharField(default='', max_length=500)

        class Meta:
            table_name = "job_run"

    @migrator.create_model
    class OverdueFlag(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        rule = pw.CharField(max_length=32)
        table = pw.CharField(max_length=64)
        row_id = pw.IntegerField()
        estate = pw.ForeignKeyField(column_name='estate_id', field='id', model=migrator.orm['estate'], on_delete='CASCADE')
        raised_at = pw.DateTimeField()
        cleared_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "overdue_flag"
            indexes = [(('table', 'row_id'), False), (('estate', 'raised_at'), False)]

    @migrator.create_model
    class OverdueDigest(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        estate = pw.ForeignKeyField(column_name='estate_id', field='id', model=migrator.orm['estate'], on_delete='CASCADE')
        period_start = pw.DateTimeField(null=True)
        period_end = pw.DateTimeField()
        new_total = pw.IntegerField(default=0)
        active_total = pw.IntegerField(default=0)
        items_json = pw.TextField(default='[]')
        webhook_status = pw.CharField(default='', max_length=16)
        webhook_error = pw.CharField(default='', max_length=255)

        class Meta:
            table_name = "overdue_digest"
            indexes = [(('estate', 'period_end'), False)]

    migrator.sql(ACTIVE_FLAG_INDEX)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Undo this schema step."""

    migrator.sql("DROP INDEX IF EXISTS overdue_flag_active")

    migrator.remove_model('overdue_digest')

    migrator.remove_model('overdue_flag')

    migrator.remove_model('job_run')

    migrator.remove_model('job_lease')
