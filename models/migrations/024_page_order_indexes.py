"""Schema 024: indexes that let a page stop after its rows for a user of several estates (#14).

Measured on bench/pages_bench.py's databases as a supervisor of all ten estates: the grids'
indexes begin with the estate, so for `estate_id IN (…ten…) ORDER BY received_at DESC LIMIT 50`
SQLite read and sorted every demand (2.9 s at 1,000,000 demands; 183 ms of SQL at 100,000),
and PostgreSQL did the same. An index on the order's column alone (after `voided`, which every
grid asks for) is read newest first and stops after the page, filtering the estates as it goes;
a user of one estate keeps the estate-first index (the planners choose by the statistics):

- demand (voided, received_at): the demand grid, its filters and queue links;
- callback (voided, called_at), temporary_pass (voided, issued_at), key_movement (at): those
  grids' default orders (the deposit grid's 20,000 rows at 1M sort in a few ms);
- work_order (estate_id, voided, state): the phone page and the open-order filter read the
  open orders, not every order of the estate.

The monthly review (分析与总结, R-DEM-10) counts each month's demands and callbacks: it read
every row of the month from the table (about 43,000 a month at 1M, 450 ms each); these two
hold every column it counts, so the month is read from the index alone:

- demand (estate_id, voided, received_at, replied_at, missed_replies, revision_count,
  original_reply_due);
- callback (estate_id, voided, called_at, demand_id, satisfied).

Declared beside each model under these names. Written by hand in the style peewee-migrate
generates; it only adds indexes.
"""

from models.migrations.index_steps import index_migration

INDEXES = (
    ("demand_list_order", "demand", ("voided", "received_at")),
    ("demand_month_review", "demand", ("estate_id", "voided", "received_at", "replied_at",
                                       "missed_replies", "revision_count",
                                       "original_reply_due")),
    ("callback_list_order", "callback", ("voided", "called_at")),
    ("callback_month_review", "callback", ("estate_id", "voided", "called_at", "demand_id",
                                           "satisfied")),
    ("temporary_pass_list_order", "temporary_pass", ("voided", "issued_at")),
    ("key_movement_list_order", "key_movement", ("at",)),
    ("work_order_open", "work_order", ("estate_id", "voided", "state")),
)

migrate, rollback = index_migration(INDEXES)
