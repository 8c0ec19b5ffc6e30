"""Schema 013: a department member may be that department's supervisor (R-REC-4, issue #11).

The engineering supervisor (工程主管) signs decoration tests and a department's supervisor approves
its print jobs; until now any member of the department could. Existing users are not supervisors.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Apply this schema step."""
    migrator.add_fields("app_user", dept_supervisor=pw.BooleanField(default=False))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Undo this schema step."""
    migrator.remove_fields("app_user", "dept_supervisor")
