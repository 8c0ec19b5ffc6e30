"""Schema 015: real approvals (R-REC-2) and decoration in the manual's order (issue #11 items 3, 9).

* `approval_request`: one row per step that needs an approver (key loans to others, print jobs,
  outside help, deposits kept, decoration approval and re-approval), pending or decided, with
  who decided, when and how.
* `app_user.approval_pin_hash`: an approver's personal PIN for approving at the desk (hashed).
* Existing approvals are carried over as decided rows marked `legacy` (旧记录): the approver's
  name was picked by the requester, the approver never acted. Print jobs still waiting get a
  pending request, so they appear in their approvers' queues.
* Decorations (corrected R-PASS-4 / R-DECO-2): the tests now fall inside the 3-working-day
  approval window and the approval comes after the engineering supervisor's signature. An old
  "approved" row (approved, tests pending) becomes "applied" (待试验) keeping its approval, an
  old "signed" row (approved, tested, signed) becomes "approved" (待发证); the tests of rows not
  yet tested fall due with the approval window.

Plain SQL for the data, the same on SQLite and PostgreSQL.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext

LEGACY = "旧记录：审批人由申请人选择登记，审批人本人未操作"
COLUMNS = ("created_at, updated_at, version, estate_id, created_by_id, voided, void_reason, "
           "register, row_id, action, label, summary, payload, rule, requested_by_id, "
           "requested_at, state, decided_by_id, decided_at, how, note")

CARRY_OVER = [
    # R-KEY-3: loans to others, approver picked from a list.
    f"""INSERT INTO approval_request ({COLUMNS})
    SELECT m.at, m.at, 1, m.estate_id, m.created_by_id, FALSE, '',
           'key_set', m.key_set_id, 'lend', '借钥匙给其他人员',
           COALESCE(m.number, '') || ' 借给 ' || m.person, '{{}}', 'manager', m.created_by_id,
           m.at, 'approved', m.approved_by_id, COALESCE(m.approved_at, m.at), 'legacy',
           '{LEGACY}'
    FROM key_movement m WHERE m.kind = 'lend' AND m.approved_by_id IS NOT NULL""",
    # R-PRINT-1: decided print jobs.
    f"""INSERT INTO approval_request ({COLUMNS})
    SELECT p.requested_at, p.requested_at, 1, p.estate_id, p.requested_by_id, FALSE, '',
           'print_job', p.id, 'approve', '打印审批', p.number || ' ' || p.title, '{{}}',
           'dept:' || d.kind, p.requested_by_id, p.requested_at,
           CASE WHEN p.state = 'refused' THEN 'rejected' ELSE 'approved' END,
           p.approved_by_id, COALESCE(p.approved_at, p.requested_at), 'legacy',
           SUBSTR('{LEGACY}' || '；' || p.approval_note, 1, 200)
    FROM print_job p JOIN department d ON d.id = p.department_id
    WHERE p.approved_by_id IS NOT NULL""",
    # R-PRINT-1: print jobs still waiting go to their approvers' queues.
    """INSERT INTO approval_request (created_at, updated_at, version, estate_id, created_by_id,
           voided, void_reason, register, row_id, action, label, summary, payload, rule,
           requested_by_id, requested_at, state, note)
    SELECT p.requested_at, p.requested_at, 1, p.estate_id, p.requested_by_id, p.voided, '',
           'print_job', p.id, 'approve', '打印审批', p.number || ' ' || p.title, '{}',
           'dept:' || d.kind, p.requested_by_id, p.requested_at, 'pending', ''
    FROM print_job p JOIN department d ON d.id = p.department_id
    WHERE p.state = 'requested' AND p.approved_by_id IS NULL""",
    # R-EMG-2: outside help with a consent picked from a list.
    f"""INSERT INTO approval_request ({COLUMNS})
    SELECT s.at, s.at, 1, s.estate_id, s.created_by_id, FALSE, '',
           'emergency', s.emergency_id, 'add_step', '社会求援（主任同意）', '社会求援：' || s.who,
           '{{}}', 'director', s.created_by_id, s.at, 'approved', s.consent_by_id,
           COALESCE(s.consent_at, s.at), 'legacy', '{LEGACY}'
    FROM emergency_step s WHERE s.kind = 'outside_help' AND s.consent_by_id IS NOT NULL""",
    # R-DEP-2: deposits kept, wholly or in part.
    f"""INSERT INTO approval_request ({COLUMNS})
    SELECT d.forfeited_at, d.forfeited_at, 1, d.estate_id, COALESCE(d.refunded_by_id,
           d.collected_by_id), FALSE, '', 'deposit', d.id,
           CASE WHEN d.state = 'refunded' THEN 'refund' ELSE 'forfeit' END,
           CASE WHEN d.state = 'refunded' THEN '部分退款（扣留押金）' ELSE '没收押金' END,
           COALESCE(d.receipt_number, '') || ' ' || d.payer || '：' || d.forfeit_reason, '{{}}',
           'manager', COALESCE(d.refunded_by_id, d.collected_by_id), d.forfeited_at,
           'approved', d.forfeit_approved_by_id, d.forfeited_at, 'legacy', '{LEGACY}'
    FROM deposit d WHERE d.forfeit_approved_by_id IS NOT NULL AND d.forfeited_at IS NOT NULL""",
    # R-DECO-2: decided decoration applications.
    f"""INSERT INTO approval_request ({COLUMNS})
    SELECT d.applied_at, d.applied_at, 1, d.estate_id, d.created_by_id, FALSE, '',
           'decoration', d.id, 'approve', '装修审批', d.number || ' ' || d.contractor, '{{}}',
           'manager', d.created_by_id, d.applied_at,
           CASE WHEN d.state = 'rejected' THEN 'rejected' ELSE 'approved' END,
           d.approved_by_id, COALESCE(d.approved_at, d.applied_at), 'legacy',
           SUBSTR('{LEGACY}' || '；' || d.approval_note, 1, 200)
    FROM decoration d WHERE d.approved_by_id IS NOT NULL""",
]

DECORATION_ORDER = [
    # Old order: applied → approved → tested → signed; new: applied → tested → signed → approved.
    """UPDATE decoration SET state = CASE state WHEN 'approved' THEN 'applied'
                                               WHEN 'signed' THEN 'approved' ELSE state END
       WHERE state IN ('approved', 'signed')""",
    "UPDATE decoration SET tests_due = approval_due WHERE state = 'applied'",
]


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Apply this schema step."""

    # Plain SQL: peewee's SQLite migrator rebuilds the table for a NOT NULL column, and dropping
    # app_user, which every register references, fails its foreign keys on a database with rows.
    migrator.sql("ALTER TABLE app_user ADD COLUMN approval_pin_hash VARCHAR(256) NOT NULL "
                 "DEFAULT ''")

    @migrator.create_model
    class ApprovalRequest(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        version = pw.IntegerField(default=1)
        estate = pw.ForeignKeyField(column_name='estate_id', field='id', model=migrator.orm['estate'], on_delete='RESTRICT')
        created_by = pw.ForeignKeyField(column_name='created_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        voided = pw.BooleanField(default=False, index=True)
        void_reason = pw.CharField(default='', max_length=200)
        voided_at = pw.DateTimeField(null=True)
        voided_by = pw.ForeignKeyField(column_name='voided_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        register = pw.CharField(max_length=32)
        row_id = pw.IntegerField()
        action = pw.CharField(max_length=32)
        label = pw.CharField(max_length=64)
        summary = pw.CharField(default='', max_length=255)
        payload = pw.TextField(default='{}')
        rule = pw.CharField(index=True, max_length=32)
        requested_by = pw.ForeignKeyField(column_name='requested_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        requested_at = pw.DateTimeField()
        state = pw.CharField(default='pending', index=True, max_length=16)
        decided_by = pw.ForeignKeyField(column_name='decided_by_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        decided_at = pw.DateTimeField(null=True)
        how = pw.CharField(max_length=16, null=True)
        desk_operator = pw.ForeignKeyField(column_name='desk_operator_id', field='id', model=migrator.orm['app_user'], null=True, on_delete='SET NULL')
        note = pw.CharField(default='', max_length=200)

        class Meta:
            table_name = "approval_request"
            indexes = [(('state', 'estate', 'rule'), False), (('register', 'row_id'), False)]

    for statement in (*CARRY_OVER, *DECORATION_ORDER):
        migrator.sql(statement)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Undo this schema step (decorations go back to the old order)."""

    migrator.sql("""UPDATE decoration SET state = CASE state WHEN 'approved' THEN 'signed'
                    WHEN 'applied' THEN 'approved' ELSE state END
                    WHERE state = 'approved' OR (state = 'applied' AND approved_by_id IS NOT NULL)""")
    migrator.remove_model('approval_request')
    migrator.sql("ALTER TABLE app_user DROP COLUMN approval_pin_hash")
