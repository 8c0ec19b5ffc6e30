"""Schema 033: the decoration grid sorted by 计划完工日期 reads one page from an index (#14).

Measured with bench/pages_bench.py on its data of pages layout 2 (every unit's decorations over
the years: 1,353 at 100k, 13,533 at 1M), as a supervisor of all ten estates: the grid sorted by
works_end (the permit's end, R-DECO) read and sorted every decoration of the estates (SQLite
SCAN decoration and a temporary B-tree for the ORDER BY: 10.8k → 90k VM instructions, 19 → 46 ms,
×2.45; PostgreSQL ×1.56). decoration (voided, works_end) is read in the sort's order (either
direction) and stops after the page, filtering the estates as it goes, as migration 025's
decoration_list_order does for the default order.

Declared beside Decoration under this name. Written by hand in the style peewee-migrate
generates; it only adds indexes.
"""

from models.migrations.index_steps import index_migration

INDEXES = (
    ("decoration_works_end_order", "decoration", ("voided", "works_end")),
)

migrate, rollback = index_migration(INDEXES)
