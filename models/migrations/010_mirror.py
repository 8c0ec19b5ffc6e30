"""Schema 010: the mirror's lock heartbeat, visible skips, and what it knows of each tab (#15).

sheet_target: who holds the sync lock and when it last showed life (a dead holder is taken over
promptly, not after a fixed 10 minutes); since when and why syncs are being skipped.
sheet_tab: the title the tab has on the sheet (renamed by hand), its grid as the last good sync
left it, its rows' keys and fingerprints (so an unchanged sync reads a few rows, not the tab),
where the rolling check for hand edits stands, and the last hand changes kept.
Numbers 008 and 009 belong to other branches.
"""

import peewee as pw
from peewee_migrate import Migrator


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Apply this schema step."""
    migrator.add_fields(
        'sheet_target',
        lock_holder=pw.CharField(default='', max_length=96),
        heartbeat_at=pw.DateTimeField(null=True),
        skipped_since=pw.DateTimeField(null=True),
        skip_reason=pw.CharField(default='', max_length=300))
    migrator.add_fields(
        'sheet_tab',
        sheet_title=pw.CharField(default='', max_length=100),
        grid_rows=pw.IntegerField(default=0),
        grid_cols=pw.IntegerField(default=0),
        layout=pw.BlobField(null=True),
        verify_cursor=pw.IntegerField(default=0),
        hand_note=pw.CharField(default='', max_length=300),
        hand_note_at=pw.DateTimeField(null=True))


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Undo this schema step."""
    migrator.remove_fields('sheet_tab', 'sheet_title', 'grid_rows', 'grid_cols', 'layout',
                           'verify_cursor', 'hand_note', 'hand_note_at')
    migrator.remove_fields('sheet_target', 'lock_holder', 'heartbeat_at', 'skipped_since',
                           'skip_reason')
