"""Schema 013: a department member may be that department's supervisor (R-REC-4, issue #11).

The engineering supervisor (工程主管) signs decoration tests and a department's supervisor approves
its print jobs; until now any member of the department could. Existing users are not supervisors.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Apply this schema step."""
    # Plain SQL: peewee's SQLite migrator rebuilds the table for a NOT NULL column, which drops
    # app_user — referenced by every register — and fails its foreign keys on a filled database.
    migrator.sql("ALTER TABLE app_user ADD COLUMN dept_supervisor BOOLEAN NOT NULL DEFAULT FALSE")


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Undo this schema step."""
    migrator.sql("ALTER TABLE app_user DROP COLUMN dept_supervisor")
