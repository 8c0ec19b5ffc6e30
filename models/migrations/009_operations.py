"""Schema 009: operations (issue #13) — the scheduler's heartbeat, read by /healthz.

Written by hand in the style peewee-migrate generates. 008 belongs to another part of #13;
the two touch different tables, so they apply in either order.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Apply this schema step."""

    @migrator.create_model
    class SchedulerHeartbeat(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        holder = pw.CharField(max_length=96, unique=True)
        started_at = pw.DateTimeField()
        beat_at = pw.DateTimeField(index=True)

        class Meta:
            table_name = "scheduler_heartbeat"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Undo this schema step."""

    migrator.remove_model('scheduler_heartbeat')
