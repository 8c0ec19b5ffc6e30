"""The desk's demand table and the two tables its grid names, as Django sees them (read-only
mapping: managed=False, no migrations)."""

from django.db import models


class Unit(models.Model):
    code = models.CharField(max_length=32)

    class Meta:
        managed = False
        db_table = "unit"

    def __str__(self):
        return self.code


class Department(models.Model):
    name = models.CharField(max_length=64)

    class Meta:
        managed = False
        db_table = "department"

    def __str__(self):
        return self.name


class Demand(models.Model):
    number = models.CharField(max_length=20)
    received_at = models.DateTimeField()
    channel = models.CharField(max_length=20)
    kind = models.CharField(max_length=20)
    category = models.CharField(max_length=20)
    unit = models.ForeignKey(Unit, null=True, on_delete=models.DO_NOTHING)
    contact_name = models.CharField(max_length=64)
    description = models.TextField()
    status = models.CharField(max_length=20)
    reply_due = models.DateTimeField(null=True)
    department = models.ForeignKey(Department, null=True, on_delete=models.DO_NOTHING)
    voided = models.BooleanField()

    class Meta:
        managed = False
        db_table = "demand"

    def __str__(self):
        return self.number
