"""Schema 026: the queue pages read their page from indexes that hold only the queue (#14).

Measured on bench/pages_bench.py's databases (SQLite, 1,000,000 demands, a supervisor of ten
estates): the 已超期 / 待派工 / 待回访 links open the demand grid (newest received first), and
the planner collected every demand of the queue through the status indexes (a multi-index OR
for 已超期) and sorted them to show 50 — 202 ms for 40,000 overdue demands, ×6.2 of 100,000.
Walking demand_list_order (voided, received_at) instead stops after the page only while the
queue is a large share of the register; where it is a small one (a healthy office: a handful
overdue among a million) that walk reads the whole register. Each index below holds only its
queue's demands, in the grid's order, so the page stops after its rows whatever the share:

- demand_queue_dispatch (voided, received_at) WHERE status = 'open': 待派工 (R-FRONT-1);
- demand_queue_callback (voided, received_at) WHERE status = 'completed': 待回访 (R-DEM-9);
- demand_queue_owed (voided, received_at) WHERE (replied_at IS NULL) = TRUE: 已超期 — owed a
  reply or an invalid notice (R-DEM-7, R-DEM-6); the deadline is checked on the rows walked,
  and the ones not yet due are the newest few. The condition is written so that only this
  index can use it: with statistics SQLite took a plain `replied_at IS NULL` to
  demand_reply_sweep, where ANALYZE counts each NULL as a value of its own and so rates the
  80,880 unreplied demands as a handful; it read them all and sorted them (202 ms at 1M).
  PostgreSQL folds `= TRUE` away and matches the index all the same;
- demand_queue_late (voided, received_at) WHERE missed_replies > 0: 曾超时答复 (R-REC-1), which
  the bench's data never fills: without it, applying its condition in the grid walked all
  1,000,000 demands for none (1.8 s);
- demand_callback_queue (voided, completed_at) WHERE status = 'completed': the callback queue
  (回访队列, R-DEM-9), longest waiting first. demand_callback_sweep (status, completed_at, …)
  has the order too, but with statistics SQLite preferred the estates' index and sorted every
  demand of ten estates (1.9 s at 1M);
- work_order_after_hours (needs_callback, demand_id, estate_id): which of those demands were
  finished after hours (they come first); (estate_id, needs_callback) read every after-hours
  order of the estates, stand-alone ones too, from the table (19,920 at 1M, 17 ms) twice a page;
- overdue_flag_active_estate (rule, estate_id) WHERE cleared_at IS NULL: the front desk's 超时
  lines count each rule's active flags of the user's estates up to the cap from the index;
  one GROUP BY rule read all 119,468 active flags at 1M on every visit.

Both planners use a partial index when the query's WHERE names its condition as a term of its
own (Demand.overdue states it beside its OR for that); SQLite re-plans a statement whose bound
values decide it. The front desk counts these queues in the same newest-first order: unordered,
SQLite with statistics preferred the estates' index and walked every demand of ten estates.
Declared beside Demand, WorkOrder and OverdueFlag under these names.

PostgreSQL also gets statistics on (status, replied_at) together (CREATE STATISTICS … (mcv)):
taking them as independent it rated the demands owed a reply past due at 3,662 where there are
80,880, and counted the front desk's 已超期 card (up to 1,001) by collecting all of them through
a BitmapOr and sorting them (230 ms at 1M); with them it walks demand_queue_owed (3 ms).

Written by hand in the style peewee-migrate generates; it only adds indexes and statistics.
"""

from models.migrations.index_steps import index_migration

INDEXES = (
    ("demand_queue_dispatch", "demand", ("voided", "received_at"), "status = 'open'"),
    ("demand_queue_callback", "demand", ("voided", "received_at"), "status = 'completed'"),
    ("demand_queue_owed", "demand", ("voided", "received_at"), "(replied_at IS NULL) = TRUE"),
    ("demand_queue_late", "demand", ("voided", "received_at"), "missed_replies > 0"),
    ("demand_callback_queue", "demand", ("voided", "completed_at"), "status = 'completed'"),
    ("work_order_after_hours", "work_order", ("needs_callback", "demand_id", "estate_id"), None),
    ("overdue_flag_active_estate", "overdue_flag", ("rule", "estate_id"), "cleared_at IS NULL"),
)

# PostgreSQL only (SQLite has no CREATE STATISTICS): (name, kinds, columns, table).
STATISTICS = (
    ("demand_owed_stats", ("mcv",), ("status", "replied_at"), "demand"),
)

migrate, rollback = index_migration(INDEXES, STATISTICS)
