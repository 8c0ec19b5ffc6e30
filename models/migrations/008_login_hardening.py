"""Schema 008: a session generation per user (#13 item 5).

Every session stores the generation its user had at login; logout, a password change,
deactivation and a role change raise it, so every older session of that user stops working.

Written by hand (one column).
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Apply this schema step."""

    migrator.add_fields(
        'app_user',

        session_generation=pw.IntegerField(default=0))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Undo this schema step."""

    migrator.remove_fields('app_user', 'session_generation')
