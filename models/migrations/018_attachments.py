"""Schema 018: attachments kept with register rows, and the phone page's own state (issue #16).

`attachment` names a row of any register (table, row id) and the stored file (content hash);
`field_submission` keeps the key of each post from the phone page so a retry is not applied
twice; `field_visit` is when a user last looked at 我的工单; `decoration_patrol` holds the
decoration patrols (装修巡查). Written by hand in the style
peewee-migrate generates; it touches no other step's tables.
"""

import peewee as pw
from peewee_migrate import Migrator



def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Apply this schema step."""

    @migrator.create_model
    class Attachment(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        estate = pw.ForeignKeyField(column_name='estate_id', field='id',
                                    model=migrator.orm['estate'], on_delete='RESTRICT')
        table = pw.CharField(max_length=64)
        row_id = pw.IntegerField()
        kind = pw.CharField(max_length=32)
        key = pw.CharField(max_length=80)
        thumb_key = pw.CharField(default='', max_length=80)
        name = pw.CharField(default='', max_length=128)
        content_type = pw.CharField(max_length=32)
        size = pw.IntegerField(default=0)
        sensitive = pw.BooleanField(default=False)
        created_by = pw.ForeignKeyField(column_name='created_by_id', field='id',
                                        model=migrator.orm['app_user'], null=True,
                                        on_delete='SET NULL')

        class Meta:
            table_name = "attachment"
            indexes = [(('table', 'row_id', 'kind'), False)]

    @migrator.create_model
    class Submission(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        key = pw.CharField(max_length=64, unique=True)
        user = pw.ForeignKeyField(column_name='user_id', field='id',
                                  model=migrator.orm['app_user'], on_delete='CASCADE')
        table = pw.CharField(max_length=64)
        row_id = pw.IntegerField()
        action = pw.CharField(max_length=16)

        class Meta:
            table_name = "field_submission"

    @migrator.create_model
    class FieldVisit(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        user = pw.ForeignKeyField(column_name='user_id', field='id',
                                  model=migrator.orm['app_user'], on_delete='CASCADE',
                                  unique=True)
        seen_at = pw.DateTimeField()

        class Meta:
            table_name = "field_visit"


    @migrator.create_model
    class DecorationPatrol(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        version = pw.IntegerField(default=1)
        estate = pw.ForeignKeyField(column_name='estate_id', field='id',
                                    model=migrator.orm['estate'], on_delete='RESTRICT')
        created_by = pw.ForeignKeyField(column_name='created_by_id', field='id',
                                        model=migrator.orm['app_user'], null=True,
                                        on_delete='SET NULL')
        voided = pw.BooleanField(default=False, index=True)
        void_reason = pw.CharField(default='', max_length=200)
        voided_at = pw.DateTimeField(null=True)
        voided_by = pw.ForeignKeyField(column_name='voided_by_id', field='id',
                                       model=migrator.orm['app_user'], null=True,
                                       on_delete='SET NULL')
        decoration = pw.ForeignKeyField(column_name='decoration_id', field='id',
                                        model=migrator.orm['decoration'], on_delete='RESTRICT')
        patrolled_at = pw.DateTimeField(index=True)
        patrolled_by = pw.ForeignKeyField(column_name='patrolled_by_id', field='id',
                                          model=migrator.orm['app_user'], null=True,
                                          on_delete='SET NULL')
        findings = pw.TextField()
        violations = pw.CharField(default='', max_length=200)
        follow_up = pw.CharField(default='none', max_length=16)
        rectify_by = pw.DateField(null=True)
        deduction_amount = pw.DecimalField(auto_round=False, decimal_places=2, max_digits=12,
                                           null=True)

        class Meta:
            table_name = "decoration_patrol"
            indexes = [(('decoration', 'patrolled_at'), False)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Undo this schema step."""

    migrator.remove_model('decoration_patrol')
    migrator.remove_model('field_visit')
    migrator.remove_model('field_submission')
    migrator.remove_model('attachment')
