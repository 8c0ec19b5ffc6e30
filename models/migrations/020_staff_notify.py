"""Schema 020: the staff side of notifications (issue #17, R-EMG-2).

* A staff member's WeChat Work userid (企业微信账号), for application messages to that person.
* The branch general manager's mobile and WeChat Work userid: an escalated emergency reaches
  the GM by SMS and by application message (R-EMG-2). The GM is not necessarily a user of this
  system, so the branch carries the contact itself rather than a link to an account.

Plain SQL: peewee's SQLite migrator rebuilds a table for a NOT NULL column, which drops
app_user and branch — referenced by every register — and fails their foreign keys.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Apply this schema step."""
    migrator.sql("ALTER TABLE app_user ADD COLUMN wecom_userid VARCHAR(64) NOT NULL DEFAULT ''")
    migrator.sql("ALTER TABLE branch ADD COLUMN gm_mobile VARCHAR(32) NOT NULL DEFAULT ''")
    migrator.sql("ALTER TABLE branch ADD COLUMN gm_wecom_userid VARCHAR(64) NOT NULL DEFAULT ''")


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Undo this schema step."""
    migrator.sql("ALTER TABLE branch DROP COLUMN gm_wecom_userid")
    migrator.sql("ALTER TABLE branch DROP COLUMN gm_mobile")
    migrator.sql("ALTER TABLE app_user DROP COLUMN wecom_userid")
