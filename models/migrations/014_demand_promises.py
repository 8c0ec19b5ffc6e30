"""Schema 014: deadlines as promises, the cause of a demand, and flags as history (issue #11).

demand: the reply deadline as promised (original_reply_due) with what it was computed from
(promised_serious, promised_urgent, promised_requested_at), how often a supervisor revised it,
and the handler's cause analysis (R-REC-1, R-DEM-6, R-DEM-7). Existing rows carry over: each
existing deadline becomes its row's original promise, computed from the row's seriousness,
urgency and (before any reopen, which restarted the clock without it) the owner's requested
time. Nothing is recomputed and nothing is lost.
overdue_flag: how a flag was cleared and by whom (R-REC-5). Flags cleared before this step keep
their times; their cause was never recorded and stays empty.
Numbers 011 and others belong to other branches.
"""

import peewee as pw
from peewee_migrate import Migrator

CARRY_OVER = (
    "UPDATE demand SET original_reply_due = reply_due, promised_serious = serious, "
    "promised_urgent = urgent, "
    "promised_requested_at = CASE WHEN reopen_count = 0 THEN requested_reply_at END "
    "WHERE reply_due IS NOT NULL"
)
# NOT NULL columns get a database default in the ALTER itself: peewee's SQLite migrator would
# otherwise add them nullable and then rebuild the table to set NOT NULL, which drops the
# demand table's Chinese-search triggers (migration 003) and copies every row.
NOT_NULL_COLUMNS = (
    ("demand", "revision_count", "INTEGER NOT NULL DEFAULT 0"),
    ("demand", "cause", "TEXT NOT NULL DEFAULT ''"),
    ("overdue_flag", "cleared_how", "VARCHAR(16) NOT NULL DEFAULT ''"),
)


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Apply this schema step."""
    migrator.add_fields(
        'demand',
        original_reply_due=pw.DateTimeField(null=True),
        promised_serious=pw.BooleanField(null=True),
        promised_urgent=pw.BooleanField(null=True),
        promised_requested_at=pw.DateTimeField(null=True))
    migrator.add_fields(
        'overdue_flag',
        cleared_by=pw.ForeignKeyField(column_name='cleared_by_id', field='id',
                                      model=migrator.orm['app_user'], null=True,
                                      on_delete='SET NULL'))
    for table, column, definition in NOT_NULL_COLUMNS:
        migrator.sql(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {definition}')
    migrator.sql(CARRY_OVER)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Undo this schema step."""
    for table, column, _definition in NOT_NULL_COLUMNS:
        migrator.sql(f'ALTER TABLE "{table}" DROP COLUMN "{column}"')
    migrator.remove_fields('overdue_flag', 'cleared_by')
    migrator.remove_fields('demand', 'original_reply_due', 'promised_serious', 'promised_urgent',
                           'promised_requested_at')
