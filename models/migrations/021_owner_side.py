"""Schema 020: the estate's notices to owners (公告, models/notices.py), shown at the desk and
on the owners' H5 (issue #17 item 2).

Written by hand in the style peewee-migrate generates. It touches only its own table, so it
applies in any order with the other steps written in parallel.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Apply this schema step."""

    @migrator.create_model
    class Notice(pw.Model):
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
        title = pw.CharField(max_length=60)
        body = pw.TextField()
        buildings = pw.CharField(default='', max_length=200)
        publish_on = pw.DateField()
        expire_on = pw.DateField(null=True)

        class Meta:
            table_name = "notice"
            indexes = [(('estate', 'publish_on'), False)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Undo this schema step."""
    migrator.remove_model('notice')
