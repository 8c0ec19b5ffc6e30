"""Schema 035: the callback queue's stand-alone work orders read in their order (#14).

The callback queue lists the work orders without a demand that wait for their callback
(WorkOrder.awaiting_callback: needs_callback first, then the others, each the longest waiting
first). On the page bench's analysed files (as production's are since the db_statistics job)
SQLite read them through work_order_completed_order (voided, completed_at): every completed
order in finishing order, filtered one by one, so the page walked past every older order that
needed no callback (0.9 ms at 100k, 8 ms at 1M; the queue page ×1.47). Migration 026's
work_order_callback_sweep has completed_at after three equalities but before voided, and not
demand_id, so it left the id order to a sort and each row to a table lookup.

- work_order_callback_queue (needs_callback, callback_done, state, voided, completed_at, id)
  WHERE demand_id IS NULL: the queue's equalities, then its order; `demand_id IS NULL` is
  written literally by the query, so both planners may use the partial index.

Declared beside WorkOrder under this name. Written by hand in the style peewee-migrate
generates; it only adds indexes.
"""

from models.migrations.index_steps import index_migration

INDEXES = (
    ("work_order_callback_queue", "work_order",
     ("needs_callback", "callback_done", "state", "voided", "completed_at", "id"),
     "demand_id IS NULL"),
)

migrate, rollback = index_migration(INDEXES)
