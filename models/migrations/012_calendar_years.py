"""Schema 012: the years whose holiday schedule the office has entered completely (issue #12).

Until a year the calendar package lacks is marked here, the front desk keeps warning that its
deadlines fall back to Monday–Friday (SPEC "Deadline arithmetic"). Written by hand in the style
peewee-migrate generates; it touches no other step's tables.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Apply this schema step."""

    @migrator.create_model
    class CalendarYear(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        version = pw.IntegerField(default=1)
        year = pw.IntegerField(unique=True)
        note = pw.CharField(default='', max_length=64)

        class Meta:
            table_name = "calendar_year"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Undo this schema step."""

    migrator.remove_model('calendar_year')
