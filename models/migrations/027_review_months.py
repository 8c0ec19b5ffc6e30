"""Schema 027: the monthly review's counts kept per estate and month (R-DEM-10, issue #14).

models/review_months.py: one row per (estate, office-local month) with that month's counts as
JSON, the change sequence every write of a demand, callback or work order raises, and the
sequence its last count read. The review page adds up these rows instead of counting the month
on every visit (618 ms on PostgreSQL at 1,000,000 demands); the review_figures job recounts
the stale ones and, after this upgrade, counts every month of every estate once.

Written by hand in the style peewee-migrate generates. It touches only its own table.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Apply this schema step."""

    @migrator.create_model
    class ReviewMonth(pw.Model):
        id = pw.AutoField()
        created_at = pw.DateTimeField()
        updated_at = pw.DateTimeField()
        estate = pw.ForeignKeyField(column_name='estate_id', field='id', model=migrator.orm['estate'], on_delete='CASCADE')
        month = pw.DateField()
        change_seq = pw.IntegerField(default=0)
        computed_seq = pw.IntegerField(default=0)
        computed_at = pw.DateTimeField(null=True)
        counted_rows = pw.IntegerField(default=0)
        figures = pw.TextField(default='')

        class Meta:
            table_name = "review_month"
            indexes = [(('estate', 'month'), True)]


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Undo this schema step."""
    migrator.remove_model('review_month')
