"""Schema 020: the decoration's floor plan becomes an attachment of its register (issue #16,
R-DECO-1): one attachment mechanism, not a second one for floor plans.

Every decoration with a floor plan gets an `attachment` row of kind `floor_plan`: the plan's
file is read from where the old mechanism kept it (instance/uploads/floor_plans/<estate>/<hash>),
checked and re-encoded like any new upload (a picture loses its EXIF block and gets a
thumbnail), written to the configured attachment store (local folder or S3) and recorded with
the application's own time and clerk. A legacy file the checks refuse (a PDF with a script, a
truncated picture) is still carried over as it was, so nothing the office handed in becomes
unreadable; it is served like any PDF (sandboxed) or picture (nosniff). A plan whose file is
missing is reported and left out: that decoration then shows 无平面图, and its approval asks
for one (R-DECO-1). The old files are left where they were (never deleted); then the
decoration's four floor_plan* columns are dropped.

Copying files needs the app (its instance folder and storage setting): run it through
`flask db upgrade` (or ops' upgrade), as every deployment does. An empty register needs nothing.
"""

import datetime as dt
import hashlib
import re
from pathlib import Path

import peewee as pw
from peewee_migrate import Migrator

COLUMNS = ("floor_plan", "floor_plan_name", "floor_plan_type", "floor_plan_size")
# What the old mechanism wrote: <estate id>/<sha256>.<ext>.
LEGACY_NAME = re.compile(r"[0-9]+/[0-9a-f]{64}\.(jpg|png|gif|webp|pdf)")
# Raw bytes kept as they were when the checks refuse a legacy file: (magic, type, extension).
RAW_KINDS = ((b"%PDF-", "application/pdf", "pdf"), (b"\xff\xd8\xff", "image/jpeg", "jpg"),
             (b"\x89PNG\r\n\x1a\n", "image/png", "png"))


def _checked_or_raw(kind, name: str, data: bytes):
    """(bytes, type, extension, thumbnail) of a legacy plan, or None if it cannot be kept."""
    from models.attachments import check_file
    from models.base import RuleError

    try:
        checked = check_file(kind, name, data)
    except RuleError:
        for magic, content_type, ext in RAW_KINDS:
            if data.startswith(magic):
                return data, content_type, ext, None
        return None
    return checked.data, checked.content_type, checked.ext, checked.thumb


def copy_floor_plans(database: pw.Database, app=None) -> list[str]:
    """Record every decoration's floor plan as an attachment; return what could not be kept."""
    rows = database.execute_sql(
        "SELECT id, estate_id, floor_plan, floor_plan_name, created_by_id, created_at"
        " FROM decoration WHERE floor_plan <> ''").fetchall()
    if not rows:
        return []
    if app is None:
        from flask import current_app, has_app_context

        if not has_app_context():
            raise RuntimeError("decoration floor plans are copied into the attachment store: "
                               "run this upgrade through `flask db upgrade`")
        app = current_app._get_current_object()
    from models.attachments import scans
    from models.storage import make_key, storage

    # Legacy plans were never refused for their size here: they were accepted once already.
    kind = scans("floor_plan", "装修平面图", max_mb=1024)
    folder = Path(app.instance_path) / "uploads" / "floor_plans"
    store = storage(app)
    param = database.param
    insert = ('INSERT INTO attachment (created_at, updated_at, estate_id, "table", row_id, kind,'
              ' key, thumb_key, name, content_type, size, sensitive, created_by_id)'
              f' VALUES ({", ".join([param] * 13)})')
    missing = []
    for row_id, estate_id, stored, name, created_by, created_at in rows:
        path = folder / stored
        if not LEGACY_NAME.fullmatch(stored) or not path.is_file():
            missing.append(f"decoration {row_id}: {stored}")
            continue
        kept = _checked_or_raw(kind, name or path.name, path.read_bytes())
        if kept is None:
            missing.append(f"decoration {row_id}: {stored} (not a picture or PDF)")
            continue
        data, content_type, ext, thumb = kept
        key = make_key(hashlib.sha256(data).hexdigest(), ext)
        store.put(key, data, content_type)
        thumb_key = ""
        if thumb is not None:
            thumb_key = make_key(hashlib.sha256(thumb).hexdigest(), "jpg")
            store.put(thumb_key, thumb, "image/jpeg")
        database.execute_sql(insert, (
            created_at, dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f"), estate_id,
            "decoration", row_id, "floor_plan", key, thumb_key, (name or path.name)[-128:],
            content_type, len(data), False, created_by))
    for line in missing:
        print(f"022_floor_plan_attachments: floor plan file missing, not carried over: {line}")
    return missing


def migrate(migrator: Migrator, database: pw.Database, *, fake=False):
    """Apply this schema step."""
    migrator.run(copy_floor_plans, database)
    for column in COLUMNS:
        migrator.sql(f'ALTER TABLE decoration DROP COLUMN "{column}"')
    decoration = migrator.orm["decoration"]
    for column in COLUMNS:
        if column in decoration._meta.fields:
            decoration._meta.remove_field(column)


def rollback(migrator: Migrator, database: pw.Database, *, fake=False):
    """Undo this schema step: the columns come back empty (the plans stay attachments)."""
    for column, definition in (("floor_plan", "VARCHAR(128) NOT NULL DEFAULT ''"),
                               ("floor_plan_name", "VARCHAR(128) NOT NULL DEFAULT ''"),
                               ("floor_plan_type", "VARCHAR(32) NOT NULL DEFAULT ''"),
                               ("floor_plan_size", "INTEGER NOT NULL DEFAULT 0")):
        migrator.sql(f'ALTER TABLE decoration ADD COLUMN "{column}" {definition}')
