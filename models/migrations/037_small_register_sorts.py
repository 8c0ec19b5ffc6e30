"""Schema 037: the smaller registers' sorts that grew with them, read in order (#14).

The page bench measures every sort each grid offers (bench/pages_bench.py, offered_sorts).
The registers of thousands of rows at 1,000,000 demands (goods-release slips 15,000, leases
and units about 10,000) sort most columns in a few milliseconds either way, but five sorts
read and sorted every row of the user's estates and grew beyond ×1.3 from 100k to 1M on
SQLite (a slip's number ×1.54–1.71, its bearer ×1.34, a lease's contract number ×1.37–1.43,
a unit's code ×1.28–1.41 and room ×1.33–1.35). Each now walks an index in its order and stops
after the page:

- goods_release_number_order (voided, number), goods_release_bearer_order (voided,
  bearer_name);
- tenancy_contract_order (voided, contract_number);
- unit_code_order (voided, code), unit_room_order (voided, room).

Declared beside their models under these names. Written by hand in the style peewee-migrate
generates; it only adds indexes.
"""

from models.migrations.index_steps import index_migration

INDEXES = (
    ("goods_release_number_order", "goods_release", ("voided", "number")),
    ("goods_release_bearer_order", "goods_release", ("voided", "bearer_name")),
    ("tenancy_contract_order", "tenancy", ("voided", "contract_number")),
    ("unit_code_order", "unit", ("voided", "code")),
    ("unit_room_order", "unit", ("voided", "room")),
)

migrate, rollback = index_migration(INDEXES)
