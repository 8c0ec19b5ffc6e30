"""Schema 036: the audit trail and the messages sent, read by index however long (#14).

The audit trail and 通知发送记录 grow with every write and every message (three audit rows and
one or two SMS a demand: millions in a working office; the page bench's layout 3). Measured
on the page bench's files (300,000 → 3,000,000 audit rows, 192,040 → 1,919,120 messages),
their grids read the whole table for:

- a register number typed into the audit log's search: a substring of every summary, 1.4 s.
  The grid now looks the number up in its register and reads the rows about that record:
  audit_log_row (table, row_id);
- the audit log filtered by 时间 (a month: 454 ms, ×6.2) or by a user (685 ms for one with
  no rows), and sorted by time or user: the log is listed newest first by its time
  (audit_log_time (created_at)) and a user's rows in that order (audit_log_user (username,
  created_at));
- the audit log filtered by an 操作 or a 表 that few rows have (查看证件号: 1.3 s; the calendar's
  changes: 1.1 s; ×8–11): each walks its own rows newest first (audit_log_action_time
  (action, created_at), audit_log_table_time (table, created_at); the single-column indexes
  on action and table stay, for what else reads them);
- 通知发送记录 filtered by a channel or an event with few messages (in-app 283 ms, an
  emergency's 504 ms; ×4–8): each walks its own rows newest first (outbox_message_channel
  (channel, id), outbox_message_event (event, id)).

Declared beside AuditLog and OutboxMessage under these names. Written by hand in the style
peewee-migrate generates; it only adds indexes.
"""

from models.migrations.index_steps import index_migration

INDEXES = (
    ("audit_log_row", "audit_log", ('"table"', "row_id")),
    ("audit_log_time", "audit_log", ("created_at",)),
    ("audit_log_user", "audit_log", ("username", "created_at")),
    ("audit_log_action_time", "audit_log", ("action", "created_at")),
    ("audit_log_table_time", "audit_log", ('"table"', "created_at")),
    ("outbox_message_channel", "outbox_message", ("channel", "id")),
    ("outbox_message_event", "outbox_message", ("event", "id")),
)

migrate, rollback = index_migration(INDEXES)
