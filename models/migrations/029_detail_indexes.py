"""Schema 029: a demand's work orders and rectification items found by index on analysed
databases too (#14 item 2); a work order's number read per estate in order (#14, serials).

Measured with bench/pages_bench.py (SQLite, 100k → 1M demands) the demand details page grew
with the database (×2.1): its list of work orders (`demand.work_orders`) and its 转整改 check
(is there a rectification item from this demand?) each read their whole table. Both columns are
mostly NULL (stand-alone work orders, rectification items from inspections): SQLite's ANALYZE
counts every NULL as one value of the column, so sqlite_stat1 rated the plain indexes
work_order (demand_id) and rectification (demand_id) at every row per demand, and the planner
scanned the table instead (22 ms at 1M for the work orders). PostgreSQL knows the NULL
fraction and was not affected.

- work_order_demand (demand_id) WHERE demand_id IS NOT NULL,
- rectification_demand (demand_id) WHERE demand_id IS NOT NULL: only the rows that have a
  demand, so their statistics are of those rows; `demand_id = ?` implies the condition, and both
  planners use a partial index then. The plain indexes stay (IS NULL questions use them).

- work_order_estate_number (estate_id, number): a serial typed alone (00123) is looked up as
  each of the register's numbers with it, one per stem (WX-2025-, WX-2026-), and the stems are
  found by stepping through each estate's numbers in order (models.search.number_stems). The
  other registers' unique (estate, number) indexes serve that; work orders had only
  (estate_id, voided, number), whose voided comes between, and SQLite sorted every order of the
  estate to find the first number.

Declared beside WorkOrder and Rectification under these names. Written by hand in the style
peewee-migrate generates; it only adds indexes.
"""

from models.migrations.index_steps import index_migration

INDEXES = (
    ("work_order_demand", "work_order", ("demand_id",), "demand_id IS NOT NULL"),
    ("rectification_demand", "rectification", ("demand_id",), "demand_id IS NOT NULL"),
    ("work_order_estate_number", "work_order", ("estate_id", "number"), None),
)

migrate, rollback = index_migration(INDEXES)
