"""Schema 032: a deposit's page finds the decoration or worker pass it belongs to by index on
analysed databases too (#14).

The deposit's details page names the record the deposit was asked for: the decoration whose
owner's or contractor's deposit it is, else the worker pass whose deposit or card fee it is
(views.deposits `linked_record`: an OR of two columns each). Most decorations and passes have
no deposit, and SQLite's ANALYZE — which the db_statistics job now runs every night — counts
every NULL as one value of the column: sqlite_stat1 rated decoration (owner_deposit_id) and
(contractor_deposit_id) at every row, and the planner scanned every decoration of the office
for each deposit page (EXPLAIN QUERY PLAN on the page bench's 1M file: SCAN decoration; without
statistics MULTI-INDEX OR). As migration 029 did for a demand's work orders: partial indexes of
the rows that have one, which `column = ?` implies on both engines. The plain foreign-key
indexes stay (IS NULL questions use them).

Declared beside Decoration and WorkerPass under these names. Written by hand in the style
peewee-migrate generates; it only adds indexes.
"""

from models.migrations.index_steps import index_migration

INDEXES = (
    ("decoration_owner_deposit", "decoration", ("owner_deposit_id",),
     "owner_deposit_id IS NOT NULL"),
    ("decoration_contractor_deposit", "decoration", ("contractor_deposit_id",),
     "contractor_deposit_id IS NOT NULL"),
    ("worker_pass_deposit", "worker_pass", ("deposit_id",), "deposit_id IS NOT NULL"),
    ("worker_pass_card_fee", "worker_pass", ("card_fee_id",), "card_fee_id IS NOT NULL"),
)

migrate, rollback = index_migration(INDEXES)
