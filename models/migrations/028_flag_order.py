"""Schema 028: a 超时 link reads its page from the rule's flags in the grid's order (#14).

A 超时 link (the front desk's line per rule) opens the register's grid filtered to the rule's
active flags, newest first. Migration 026's mechanism asked each row of the grid's order
whether it was flagged (EXISTS per row, for rules of 2,000 flags or more) and listed the
flagged ids otherwise (`id IN (…)`, collected and sorted); the work-order grid always listed
them. Either way a page's work followed where the flags lie: measured with
bench/pages_bench.py (a supervisor of ten estates, 100k → 1M demands) demand_callback ×1.67
on SQLite and ×1.91 on PostgreSQL, demand_invalid_notice ×1.87 / ×4.04 (their flags are old
or sparse in the newest-first order), work_order_callback ×2.27 / ×2.20, work_order_arrival
and work_order_completion ×1.4–1.8.

overdue_flag.row_order holds the flagged row's place in its grid's default order (demand:
received_at; temporary_pass: issued_at; work_order: dispatched_at — jobs.flags.ROW_ORDER),
copied when the sweep raises the flag and kept by it. overdue_flag_active_order (rule,
row_order, row_id) WHERE cleared_at IS NULL lists a rule's active flags in that order: the
link walks it backwards, joins each flag to its row and stops after the page, whatever the
number of flags and wherever their rows lie. The active flags of those registers get their
rows' values here; cleared flags are history and stay empty.

Written by hand in the style peewee-migrate generates.
"""

import peewee as pw
from peewee_migrate import Migrator

# As jobs.flags.ROW_ORDER was when this step was written.
ROW_ORDER = (("demand", "received_at"), ("temporary_pass", "issued_at"),
             ("work_order", "dispatched_at"))
INDEX = ("CREATE INDEX IF NOT EXISTS overdue_flag_active_order ON overdue_flag"
         " (rule, row_order, row_id) WHERE cleared_at IS NULL")


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Apply this schema step."""
    migrator.add_fields('overdue_flag', row_order=pw.DateTimeField(null=True))
    for table, column in ROW_ORDER:
        migrator.sql(f'UPDATE overdue_flag SET row_order = (SELECT r."{column}" FROM "{table}" r'
                     f' WHERE r.id = overdue_flag.row_id) WHERE "table" = \'{table}\''
                     " AND cleared_at IS NULL")
    migrator.sql(INDEX)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Undo this schema step."""
    migrator.sql("DROP INDEX IF EXISTS overdue_flag_active_order")
    migrator.remove_fields('overdue_flag', 'row_order')
