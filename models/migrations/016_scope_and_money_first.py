"""Schema 016: money before paper, the calendar per scope, audit rows with their estate (#11).

* worker_pass.number may be empty: a worker pass is an application (待缴费) without a number
  until finance has recorded its deposit and card fee (R-REC-3, R-PASS-1). Existing passes were
  issued under the old order and stay issued with their numbers.
* calendar_override.estate: an estate's own dated closures beside the company-wide schedule. The
  existing rows become the company-wide table (estate empty), one row per day as before; an
  estate has one row per day of its own.
* audit_log: existing rows without an estate get the one they concern where it can be known: a
  user account's rows (logins, changes) that user's first estate, an export or run-now the
  actor's; calendar rows stay company-wide. An index serves the supervisors' estate filter.

Nothing is deleted. Written by hand in the style peewee-migrate generates.
"""

import peewee as pw
from peewee_migrate import Migrator

COMPANY_DAY_INDEX = ("CREATE UNIQUE INDEX calendar_override_company_day ON calendar_override (day)"
                     " WHERE estate_id IS NULL")

# The user's first estate, for audit rows about a user (the same rule as models.register).
FIRST_ESTATE = "(SELECT MIN(ue.estate_id) FROM user_estate ue WHERE ue.user_id = {column})"
PERSONAL_ACTIONS = "('login', 'logout', 'login_failed', 'password', 'run_job', 'export')"


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Apply this schema step."""
    migrator.drop_not_null("worker_pass", "number")

    migrator.add_fields(
        "calendar_override",
        estate=pw.ForeignKeyField(column_name="estate_id", field="id",
                                  model=migrator.orm["estate"], null=True, on_delete="CASCADE"))
    migrator.sql("DROP INDEX IF EXISTS calendaroverride_day")
    migrator.add_index("calendar_override", "estate", "day", unique=True)
    migrator.sql(COMPANY_DAY_INDEX)

    migrator.add_index("audit_log", "estate", "id")
    migrator.sql("UPDATE audit_log SET estate_id = " + FIRST_ESTATE.format(column="audit_log.row_id")
                 + " WHERE estate_id IS NULL AND \"table\" = 'app_user' AND row_id IS NOT NULL")
    migrator.sql("UPDATE audit_log SET estate_id = " + FIRST_ESTATE.format(column="audit_log.user_id")
                 + " WHERE estate_id IS NULL AND user_id IS NOT NULL AND action IN "
                 + PERSONAL_ACTIONS + " AND \"table\" NOT IN ('calendar_override', 'calendar_year')")


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Undo this schema step (the estates written into old audit rows stay: they are true)."""
    migrator.drop_index("audit_log", "estate", "id")
    migrator.sql("DROP INDEX IF EXISTS calendar_override_company_day")
    migrator.drop_index("calendar_override", "estate", "day")
    migrator.sql("DELETE FROM calendar_override WHERE estate_id IS NOT NULL")
    migrator.sql("DROP INDEX IF EXISTS calendar_override_estate_id")
    migrator.remove_fields("calendar_override", "estate")
    migrator.sql("CREATE UNIQUE INDEX IF NOT EXISTS calendaroverride_day ON calendar_override (day)")
    # Applications had no number; the old schema needs one (unique per estate).
    migrator.sql("UPDATE worker_pass SET number = 'SQ-' || CAST(id AS VARCHAR(12))"
                 " WHERE number IS NULL")
    migrator.add_not_null("worker_pass", "number")
