"""Schema 011: indexes for the pages that scanned whole tables at 1M demands (issue #14 item 3).

Each index states the question it answers in models/demands.py, work_orders.py and
callbacks.py (Meta.indexes); bench/pages_bench.py prints their plans on SQLite and PostgreSQL.

- demand (estate, voided, closed_at): the front desk's "closed this shift" (R-FRONT-1);
- demand (estate, voided, missed_replies): the 曾超时答复 queue and count (R-REC-1);
- demand (status, replied_at, invalid_notice_due): the 已超期 queue's invalid-notice half (R-DEM-6);
- work_order (estate, voided, completed_at) and (estate, needs_callback): the front desk's
  work-order counts (R-DEM-8/9);
- callback (estate, voided, called_at): the monthly review's callbacks (R-DEM-10).

Written by hand in the style peewee-migrate generates; it only adds indexes.
"""

from models.migrations.index_steps import index_migration

# (table, columns), each index under peewee's own name for a Meta.indexes entry: table, then
# the columns.
INDEXES = tuple(("_".join((table, *columns)), table, columns) for table, columns in (
    ("demand", ("estate_id", "voided", "closed_at")),
    ("demand", ("estate_id", "voided", "missed_replies")),
    ("demand", ("status", "replied_at", "invalid_notice_due")),
    ("work_order", ("estate_id", "voided", "completed_at")),
    ("work_order", ("estate_id", "needs_callback")),
    ("callback", ("estate_id", "voided", "called_at")),
))

migrate, rollback = index_migration(INDEXES)
