"""Schema 004: the Google Sheets mirror's own tables (sync/state.py).

Written by hand in the style of peewee-migrate's generated steps. Number 003 belongs to the
demand register.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Apply this schema step."""

    @migrator.create_model
    class SheetTarget(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        version = pw.IntegerField(default=1)
        estate = pw.ForeignKeyField(column_name='estate_id', field='id', model=migrator.orm['estate'], on_delete='CASCADE', unique=True)
        spreadsheet_id = pw.CharField(max_length=128, unique=True)
        credentials_file = pw.CharField(default='', max_length=255)
        marker_sheet_id = pw.BigIntegerField(null=True)
        locked_until = pw.DateTimeField(null=True)

        class Meta:
            table_name = "sheet_target"

    @migrator.create_model
    class SheetRegister(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        target = pw.ForeignKeyField(column_name='target_id', field='id', model=migrator.orm['sheet_target'], on_delete='CASCADE')
        register = pw.CharField(max_length=32)
        enabled = pw.BooleanField(default=True)

        class Meta:
            table_name = "sheet_register"
            indexes = [(('target', 'register'), True)]

    @migrator.create_model
    class SheetTab(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        target = pw.ForeignKeyField(column_name='target_id', field='id', model=migrator.orm['sheet_target'], on_delete='CASCADE')
        register = pw.CharField(max_length=32)
        title = pw.CharField(max_length=100)
        sheet_id = pw.BigIntegerField(null=True)
        rows = pw.IntegerField(default=0)
        last_attempt_at = pw.DateTimeField(null=True)
        last_success_at = pw.DateTimeField(null=True)
        lag_seconds = pw.IntegerField(null=True)
        last_error = pw.CharField(default='', max_length=300)
        last_error_at = pw.DateTimeField(null=True)
        last_request_count = pw.IntegerField(default=0)
        last_cells_written = pw.IntegerField(default=0)
        last_hand_edits = pw.IntegerField(default=0)

        class Meta:
            table_name = "sheet_tab"
            indexes = [(('target', 'title'), True)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Undo this schema step."""

    migrator.remove_model('sheet_tab')

    migrator.remove_model('sheet_register')

    migrator.remove_model('sheet_target')
