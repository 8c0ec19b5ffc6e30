"""Schema 020: covering indexes for the overdue sweep's largest rules (issue #15).

At 1,000,000 demands (bench/jobs_bench.py) an unchanged sweep spent most of its time reading
rows the rules then discarded: the reply rule read every demand owed a reply (70,000) to find
the 40,000 past their deadline, the after-hours callback rule skipped through
work_order (estate, voided, completed_at) and read every completed order, and the
temporary-pass rule skipped through every estate. Each index below holds a rule's whole
predicate, the flag's estate and the row's id (SQLite keeps the id in every index anyway;
PostgreSQL needs it for an index-only scan), so the rule reads only its overdue rows, from the
index:

- demand (status, replied_at, reply_due, voided, estate_id): owed a reply past due (R-DEM-7);
- demand (status, completed_at, voided, estate_id): completed, callback late (R-DEM-9);
- work_order (needs_callback, callback_done, state, completed_at, voided, estate_id): finished
  after hours, not called back by the next day shift (R-DEM-9, R-SVC-1);
- temporary_pass (state, valid_to, voided, estate_id): expired, not handed back (R-PASS-2).

Declared beside each model (models/demands.py, work_orders.py, passes.py) under these names.
Written by hand in the style peewee-migrate generates; it only adds indexes.
"""

from models.migrations.index_steps import index_migration

INDEXES = (
    ("demand_reply_sweep", "demand", ("status", "replied_at", "reply_due", "voided",
                                      "estate_id", "id")),
    ("demand_callback_sweep", "demand", ("status", "completed_at", "voided", "estate_id",
                                         "id")),
    ("work_order_callback_sweep", "work_order", ("needs_callback", "callback_done", "state",
                                                 "completed_at", "voided", "estate_id", "id")),
    ("temporary_pass_sweep", "temporary_pass", ("state", "valid_to", "voided", "estate_id",
                                                "id")),
)

migrate, rollback = index_migration(INDEXES)
