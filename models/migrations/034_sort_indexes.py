"""Schema 034: two grid sorts read one page from an index (#14).

Every sortable column of the large registers' grids was measured at 100k and 1M demands
(SQLite, a supervisor of ten estates, statistics gathered as the db_statistics job does): the
work-order grid sorted by 派工时间 (19 → 52 ms, ×2.7: the grid's own order puts open orders
first, so work_order_list_order does not serve a plain sort) and the temporary-pass grid sorted
by number (17 → 54 ms, ×3.2: the unique (estate_id, number) index orders within one estate)
read and sorted every row of the user's estates. The callback, pass and key-movement grids'
other unindexed sorts were taken off their sortable lists instead (views, column_sortable_list).

- work_order_dispatched_order (voided, dispatched_at),
- temporary_pass_number_order (voided, number): read in the sort's order either way and
  stopped after the page, filtering the estates as they go.

Declared beside WorkOrder and TemporaryPass under these names. Written by hand in the style
peewee-migrate generates; it only adds indexes.
"""

from models.migrations.index_steps import index_migration

INDEXES = (
    ("work_order_dispatched_order", "work_order", ("voided", "dispatched_at"), None),
    ("temporary_pass_number_order", "temporary_pass", ("voided", "number"), None),
)

migrate, rollback = index_migration(INDEXES)
