"""Schema 030: the phone page reads only its page of open orders (#14, issue #16's 我的工单).

Measured with bench/pages_bench.py (100k → 1M demands) "phone page" grew ×1.95 on SQLite and
×1.71 on PostgreSQL: it lists up to 200 open/arrived orders of the user's departments, mine
first, then by deadline = COALESCE(demand.reply_due, work_order.dispatched_at), an expression
across a LEFT JOIN, so every open order of the estates was read and sorted on each visit.

- work_order.deadline holds that value for every order. It is kept by the database, like 028's
  deposit totals, so that every write keeps it: an order created or edited (demand_id,
  dispatched_at) and a demand whose reply_due changes (a promise revised, R-DEM-7), whatever
  path wrote them (save_record, the jobs' bulk updates, a raw UPDATE).
- work_order_field_mine (assignee_id, deadline, id), work_order_field (department_id,
  deadline, id) and work_order_field_estate (estate_id, deadline, id), all WHERE state IN
  ('open', 'arrived'): the page reads my orders in deadline order, then the others (department
  staff: per department; the desk and managers: per estate), merged, each read stopping after
  its rows (models.field).

Written by hand in the style peewee-migrate generates.
"""

import peewee as pw
from peewee_migrate import Migrator

from models.migrations.index_steps import engine_sql, index_migration

OPEN = "state IN ('open', 'arrived')"
INDEXES = (
    ("work_order_field", "work_order", ("department_id", "deadline", "id"), OPEN),
    ("work_order_field_mine", "work_order", ("assignee_id", "deadline", "id"), OPEN),
    ("work_order_field_estate", "work_order", ("estate_id", "deadline", "id"), OPEN),
)
add_indexes, drop_indexes = index_migration(INDEXES)

ORDER_DEADLINE = ("COALESCE((SELECT d.reply_due FROM demand d WHERE d.id = {row}.demand_id),"
                  " {row}.dispatched_at)")
FILL = f"UPDATE work_order SET deadline = {ORDER_DEADLINE.format(row='work_order')}"

SQLITE_TRIGGERS = (
    "CREATE TRIGGER work_order_deadline_ai AFTER INSERT ON work_order BEGIN"
    f" UPDATE work_order SET deadline = {ORDER_DEADLINE.format(row='new')}"
    " WHERE id = new.id; END",
    "CREATE TRIGGER work_order_deadline_au AFTER UPDATE OF demand_id, dispatched_at, deadline"
    f" ON work_order WHEN new.deadline IS NOT {ORDER_DEADLINE.format(row='new')} BEGIN"
    f" UPDATE work_order SET deadline = {ORDER_DEADLINE.format(row='new')}"
    " WHERE id = new.id; END",
    "CREATE TRIGGER demand_order_deadline_au AFTER UPDATE OF reply_due ON demand"
    " WHEN old.reply_due IS NOT new.reply_due BEGIN"
    " UPDATE work_order SET deadline = COALESCE(new.reply_due, dispatched_at)"
    " WHERE demand_id = new.id; END",
)
POSTGRES_TRIGGERS = (
    "CREATE FUNCTION work_order_deadline_fill() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    f" NEW.deadline := {ORDER_DEADLINE.format(row='NEW')}; RETURN NEW; END $$",
    "CREATE TRIGGER work_order_deadline_fill BEFORE INSERT OR UPDATE OF demand_id, dispatched_at,"
    " deadline ON work_order"
    " FOR EACH ROW EXECUTE FUNCTION work_order_deadline_fill()",
    "CREATE FUNCTION demand_order_deadline_keep() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
    " UPDATE work_order SET deadline = COALESCE(NEW.reply_due, dispatched_at)"
    " WHERE demand_id = NEW.id; RETURN NULL; END $$",
    "CREATE TRIGGER demand_order_deadline_keep AFTER UPDATE OF reply_due ON demand"
    " FOR EACH ROW WHEN (OLD.reply_due IS DISTINCT FROM NEW.reply_due)"
    " EXECUTE FUNCTION demand_order_deadline_keep()",
)


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Apply this schema step."""
    migrator.add_fields('work_order', deadline=pw.DateTimeField(null=True))
    migrator.sql(FILL)
    add_indexes(migrator, database, fake=fake)
    engine_sql(migrator, database, sqlite=SQLITE_TRIGGERS, postgres=POSTGRES_TRIGGERS)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Undo this schema step."""
    engine_sql(migrator, database, sqlite=[
        f"DROP TRIGGER IF EXISTS {name}"
        for name in ("work_order_deadline_ai", "work_order_deadline_au",
                     "demand_order_deadline_au")], postgres=(
        "DROP TRIGGER IF EXISTS demand_order_deadline_keep ON demand",
        "DROP FUNCTION IF EXISTS demand_order_deadline_keep()",
        "DROP TRIGGER IF EXISTS work_order_deadline_fill ON work_order",
        "DROP FUNCTION IF EXISTS work_order_deadline_fill()"))
    drop_indexes(migrator, database, fake=fake)
    migrator.remove_fields('work_order', 'deadline')
