"""Schema 019: the notification outbox, its delivery log, per-estate templates and SMS opt-outs
(models/outbox.py), and the owners' H5 login codes and attempts (models/owners.py), issue #17.

Written by hand in the style peewee-migrate generates. It touches only its own tables, so it
applies in any order with the other steps written in parallel.
"""

from contextlib import suppress

import peewee as pw
from peewee_migrate import Migrator


with suppress(ImportError):
    import playhouse.postgres_ext as pw_pext


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Apply this schema step."""

    @migrator.create_model
    class NotifyTemplate(pw.Model):
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
        event = pw.CharField(max_length=32)
        enabled = pw.BooleanField(default=True)
        text = pw.CharField(default='', max_length=300)
        sms_template = pw.CharField(default='', max_length=32)

        class Meta:
            table_name = "notify_template"
            indexes = [(('estate', 'event'), True)]

    @migrator.create_model
    class SmsOptOut(pw.Model):
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
        resident = pw.ForeignKeyField(column_name='resident_id', field='id',
                                      model=migrator.orm['resident'], on_delete='RESTRICT',
                                      backref='+')
        reason = pw.CharField(default='', max_length=200)

        class Meta:
            table_name = "sms_opt_out"

    @migrator.create_model
    class OutboxMessage(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        estate = pw.ForeignKeyField(column_name='estate_id', field='id',
                                    model=migrator.orm['estate'], on_delete='RESTRICT')
        key = pw.CharField(max_length=160, unique=True)
        event = pw.CharField(max_length=32)
        channel = pw.CharField(max_length=16)
        audience = pw.CharField(max_length=8)
        recipient = pw.CharField(default='', max_length=64)
        user = pw.ForeignKeyField(column_name='user_id', field='id',
                                  model=migrator.orm['app_user'], null=True,
                                  on_delete='CASCADE', backref='+')
        resident = pw.ForeignKeyField(column_name='resident_id', field='id',
                                      model=migrator.orm['resident'], null=True,
                                      on_delete='SET NULL', backref='+')
        subject_table = pw.CharField(default='', max_length=64)
        subject_id = pw.IntegerField(null=True)
        sms_template = pw.CharField(default='', max_length=32)
        params = pw.TextField(default='{}')
        text = pw.TextField(default='')
        urgent = pw.BooleanField(default=False)
        state = pw.CharField(default='pending', max_length=16)
        attempts = pw.IntegerField(default=0)
        next_attempt_at = pw.DateTimeField()
        claimed_by = pw.CharField(default='', max_length=96)
        claimed_until = pw.DateTimeField(null=True)
        provider = pw.CharField(default='', max_length=16)
        provider_id = pw.CharField(default='', max_length=64)
        answer = pw.CharField(default='', max_length=255)
        note = pw.CharField(default='', max_length=255)
        sent_at = pw.DateTimeField(null=True)
        read_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "outbox_message"
            indexes = [(('state', 'next_attempt_at'), False),
                       (('subject_table', 'subject_id'), False),
                       (('user', 'channel', 'created_at'), False),
                       (('estate', 'channel', 'sent_at'), False)]

    @migrator.create_model
    class DeliveryAttempt(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        message = pw.ForeignKeyField(column_name='message_id', field='id',
                                     model=migrator.orm['outbox_message'], on_delete='CASCADE',
                                     backref='tries')
        number = pw.IntegerField()
        started_at = pw.DateTimeField()
        finished_at = pw.DateTimeField(null=True)
        outcome = pw.CharField(default='sending', max_length=16)
        code = pw.CharField(default='', max_length=64)
        note = pw.CharField(default='', max_length=255)

        class Meta:
            table_name = "delivery_attempt"


    @migrator.create_model
    class OwnerCode(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        number = pw.CharField(index=True, max_length=64)
        code = pw.CharField(max_length=64)
        expires_at = pw.DateTimeField()
        wrong_tries = pw.IntegerField(default=0)
        used_at = pw.DateTimeField(null=True)

        class Meta:
            table_name = "owner_code"

    @migrator.create_model
    class OwnerAttempt(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        kind = pw.CharField(max_length=8)
        number = pw.CharField(index=True, max_length=64)
        remote_addr = pw.CharField(index=True, max_length=64)
        succeeded = pw.BooleanField(default=False)

        class Meta:
            table_name = "owner_attempt"


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Undo this schema step."""

    migrator.remove_model('owner_attempt')
    migrator.remove_model('owner_code')
    migrator.remove_model('delivery_attempt')
    migrator.remove_model('outbox_message')
    migrator.remove_model('sms_opt_out')
    migrator.remove_model('notify_template')
