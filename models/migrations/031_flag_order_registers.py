"""Schema 031: the 超时 links of the other registers read their page from the rule's flags in
the grid's order, as the demand, pass and work-order links do since migration 028 (#14).

Those links kept `id IN (the rule's active flags)`: every flag of the rule collected and
looked up, and the rows sorted, before the page — measured with bench/pages_bench.py (a
supervisor of ten estates, 100k → 1M demands) the key-loan link's page statement 0.3 → 3.3 ms
on SQLite with 160 → 2,260 flags, and it grows on with the flags. The registers whose grid
lists by a moment (jobs.flags.ROW_ORDER: key movements, worker and temporary passes, hot-work
permits, decorations, deposits, goods releases, emergencies, print requests, move-ins, shift
logs, rectification) now keep that moment on each active flag (overdue_flag.row_order), and the
link walks migration 028's overdue_flag_active_order backwards, joins each flag to its row and
stops after the page. The active flags of these registers get their rows' values here; cleared
flags are history and stay empty.

Written by hand in the style peewee-migrate generates.
"""

import peewee as pw
from peewee_migrate import Migrator

# As jobs.flags.ROW_ORDER gained them in this step.
ROW_ORDER = (("key_movement", "at"), ("worker_pass", "issued_at"),
             ("hot_work_permit", "work_from"), ("decoration", "applied_at"),
             ("deposit", "created_at"), ("goods_release", "created_at"),
             ("emergency", "occurred_at"), ("print_job", "requested_at"),
             ("move_in", "created_at"), ("shift_log", "written_at"),
             ("rectification", "created_at"))


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Apply this schema step."""
    for table, column in ROW_ORDER:
        migrator.sql(f'UPDATE overdue_flag SET row_order = (SELECT r."{column}" FROM "{table}" r'
                     f' WHERE r.id = overdue_flag.row_id) WHERE "table" = \'{table}\''
                     " AND cleared_at IS NULL")


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Undo this schema step: the flags of these registers forget their rows' order."""
    tables = ", ".join(f"'{table}'" for table, _ in ROW_ORDER)
    migrator.sql(f'UPDATE overdue_flag SET row_order = NULL WHERE "table" IN ({tables})')
