"""Attachments (附件): photos, scans and copies kept with a register's row (issue #16).

One mechanism for every register. A register declares the kinds it takes (`AttachmentKind`:
what they are called, images and/or PDF, the size limit, whether they are sensitive ID copies —
R-PASS-1, R-PASS-3) on its view (`RegisterView.attachment_kinds`); `check_file` decides whether
a file is one of them and `attach` keeps it:

* an image is decoded with Pillow (a renamed .exe or a truncated file is refused), re-encoded
  without its EXIF block (a phone photo carries where it was taken) and turned upright, and a
  thumbnail is made;
* a PDF is accepted only where scans are expected, after a minimal parse (header, cross
  reference, end marker) and never with embedded scripts, launch actions or files;
* anything else is refused with a Chinese message next to the field.

The bytes go to the configured store (models/storage.py) under their content hash; the row
here says whose they are. Attachments are never deleted or replaced by users, and voiding the
row keeps them (the record stays whole). Reading one is the view's business: the same estate
and role rules as its row, and the reveal permission plus an audit row for a sensitive copy.
"""

from __future__ import annotations

import hashlib
import io
import re
from dataclasses import dataclass

from flask_babel import gettext
from peewee import BooleanField, CharField, ForeignKeyField, IntegerField

from models.base import BaseModel, RuleError, write_transaction
from models.estate import Estate
from models.i18n import L_, office_text
from models.register import audit
from models.storage import make_key, storage
from models.users import User

IMAGE = "image"
PDF = "pdf"
# What Pillow may decode for us (never its rarer plugins: fewer parsers, fewer surprises).
IMAGE_FORMATS = {"JPEG", "PNG", "GIF", "WEBP"}
# A phone photo is ~12 Mpx; a bigger picture is refused before it is decoded (memory).
MAX_PIXELS = 50_000_000
# Kept pictures are at most this wide or high; thumbnails fit in THUMB_SIZE.
MAX_SIDE = 2560
THUMB_SIZE = (320, 320)
JPEG_QUALITY = 85
PDF_ACTIVE = re.compile(rb"/(JavaScript|JS|Launch|EmbeddedFile|RichMedia|XFA)\b")


@dataclass(frozen=True)
class AttachmentKind:
    """One kind of file a register keeps: its name on the row, its label, what it accepts."""

    name: str
    label: str
    types: tuple[str, ...] = (IMAGE,)
    max_mb: int = 10
    # ID copies (R-PASS-1, R-PASS-3): only users with the reveal permission see them, and each
    # look is audited.
    sensitive: bool = False
    # The key of the view's `permissions` that may add one.
    permission: str = "edit"
    # The row states in which one may be added (None: any state of a live row), and why not
    # otherwise — e.g. a decoration's floor plan only until the permit is issued (R-DECO-1).
    states: tuple[str, ...] | None = None
    closed_message: str = ""

    def open_for(self, row) -> bool:
        """Whether a file of this kind may be added to `row` in its present state."""
        return self.states is None or getattr(row, "state", None) in self.states

    @property
    def max_bytes(self) -> int:
        return self.max_mb * 1024 * 1024

    @property
    def accept(self) -> str:
        """The file input's `accept` attribute (a hint to the phone; the server decides)."""
        types = ["image/*"] if IMAGE in self.types else []
        return ",".join([*types, *(["application/pdf"] if PDF in self.types else [])])

    @property
    def described(self) -> str:
        what = gettext("、").join([*([gettext("图片（JPG、PNG、GIF、WEBP）")] if IMAGE in self.types
                                   else []),
                                 *([gettext("PDF 扫描件")] if PDF in self.types else [])])
        return gettext("%(what)s，每个文件不超过 %(max_mb)s MB", what=what, max_mb=self.max_mb)


def photos(name: str, label: str, **kwargs) -> AttachmentKind:
    return AttachmentKind(name, label, (IMAGE,), **kwargs)


def scans(name: str, label: str, **kwargs) -> AttachmentKind:
    return AttachmentKind(name, label, (IMAGE, PDF), **kwargs)


def id_copies(name: str, label: str, **kwargs) -> AttachmentKind:
    return AttachmentKind(name, label, (IMAGE, PDF), sensitive=True, **kwargs)


@dataclass(frozen=True)
class CheckedFile:
    """A file that passed `check_file`: the bytes to keep, their type, and a thumbnail."""

    name: str
    data: bytes
    content_type: str
    ext: str
    thumb: bytes | None


def check_file(kind: AttachmentKind, filename: str, data: bytes,
               field: str = "file") -> CheckedFile:
    """The file as it will be kept, or a RuleError next to `field` saying what is wrong."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1][-128:] or "附件"
    if not data:
        raise RuleError({field: gettext("“%(name)s”是空文件，请重新选择", name=name)})
    if len(data) > kind.max_bytes:
        raise RuleError({field: gettext("“%(name)s”超过 %(max_mb)s MB，%(label)s每个文件不能超过 "
                                        "%(max_mb)s MB，请压缩后再上传",
                                        name=name, max_mb=kind.max_mb, label=kind.label)})
    if data.startswith(b"%PDF-"):
        if PDF not in kind.types:
            raise RuleError({field: gettext("%(label)s只能是图片，不能是 PDF", label=kind.label)})
        problem = _pdf_problem(data)
        if problem:
            raise RuleError({field: f"“{name}”{problem}"})
        return CheckedFile(name, data, "application/pdf", "pdf", None)
    if IMAGE in kind.types:
        picture = _reencode(data)
        if picture is not None:
            kept, content_type, ext, thumb = picture
            return CheckedFile(name, kept, content_type, ext, thumb)
    raise RuleError({field: gettext("“%(name)s”不是可接受的文件：%(label)s只能是%(described)s",
                                    name=name, label=kind.label, described=kind.described)})


def _pdf_problem(data: bytes) -> str:
    """Why these bytes are not a plain PDF document ("" when they are)."""
    if not re.match(rb"%PDF-[12]\.\d", data):
        return "不是有效的 PDF 文件"
    tail = data[-2048:]
    if b"%%EOF" not in tail or b"startxref" not in tail:
        return "不是完整的 PDF 文件（文件可能已损坏或未传完）"
    if b" obj" not in data and b"\nobj" not in data:
        return "不是有效的 PDF 文件"
    if PDF_ACTIVE.search(data):
        return "含有脚本、启动动作或内嵌文件，不能作为扫描件保存"
    return ""


def _reencode(data: bytes):
    """(bytes, type, extension, thumbnail) of a decodable picture, re-encoded; else None."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.format not in IMAGE_FORMATS:
                return None
            if probe.width * probe.height > MAX_PIXELS:
                return None
            probe.verify()
        with Image.open(io.BytesIO(data)) as source:
            source.load()
            # Upright as the phone meant it, then the EXIF block (location, device) is dropped:
            # Pillow writes none unless asked.
            image = ImageOps.exif_transpose(source)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError,
            Image.DecompressionBombError, Image.DecompressionBombWarning):
        return None
    has_alpha = image.mode in ("RGBA", "LA") or (image.mode == "P"
                                                  and "transparency" in image.info)
    image = image.convert("RGBA" if has_alpha else "RGB")
    image.thumbnail((MAX_SIDE, MAX_SIDE))
    kept = io.BytesIO()
    if has_alpha:
        image.save(kept, "PNG", optimize=True)
        content_type, ext = "image/png", "png"
    else:
        image.save(kept, "JPEG", quality=JPEG_QUALITY, optimize=True)
        content_type, ext = "image/jpeg", "jpg"
    small = image.copy()
    small.thumbnail(THUMB_SIZE)
    if has_alpha:
        # A signature's transparent ground shows white on the thumbnail.
        ground = Image.new("RGB", small.size, "white")
        ground.paste(small, mask=small.getchannel("A"))
        small = ground
    thumb = io.BytesIO()
    small.save(thumb, "JPEG", quality=80)
    return kept.getvalue(), content_type, ext, thumb.getvalue()


class Attachment(BaseModel):
    """A file kept with a register's row (never deleted; the row's voiding keeps it)."""

    estate = ForeignKeyField(Estate, backref="+", on_delete="RESTRICT", verbose_name=L_("小区"))
    table = CharField(max_length=64, verbose_name=L_("登记簿"))
    row_id = IntegerField(verbose_name=L_("记录号"))
    kind = CharField(max_length=32, verbose_name=L_("类别"))
    key = CharField(max_length=80, verbose_name=L_("存储名"))
    thumb_key = CharField(max_length=80, default="", verbose_name=L_("缩略图存储名"))
    name = CharField(max_length=128, default="", verbose_name=L_("原文件名"))
    content_type = CharField(max_length=32, verbose_name=L_("类型"))
    size = IntegerField(default=0, verbose_name=L_("大小(字节)"))
    sensitive = BooleanField(default=False, verbose_name=L_("证件复印件"))
    created_by = ForeignKeyField(User, null=True, backref="+", on_delete="SET NULL",
                                 verbose_name=L_("上传人"))

    class Meta:
        table_name = "attachment"
        # A row's files, in the order they came.
        indexes = ((("table", "row_id", "kind"), False),)

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    @classmethod
    def of(cls, row, kinds=None):
        """The files kept with `row` (of the given kind names), oldest first."""
        query = cls.select().where(cls.table == row._meta.table_name, cls.row_id == row.id)
        if kinds is not None:
            query = query.where(cls.kind.in_(list(kinds)))
        return query.order_by(cls.created_at, cls.id)

    @classmethod
    def counts(cls, model, row_ids) -> dict[int, int]:
        """How many files each of these rows has (one query for a page of rows)."""
        from peewee import fn

        if not row_ids:
            return {}
        query = (cls.select(cls.row_id, fn.COUNT(cls.id))
                 .where(cls.table == model._meta.table_name, cls.row_id.in_(list(row_ids)))
                 .group_by(cls.row_id).tuples())
        return dict(query)


def attach(row, user, kind: AttachmentKind, checked: CheckedFile) -> Attachment:
    """Keep a checked file with `row`: the bytes in the store, the row and its audit entry here.

    The bytes are written first (under their hash: a retry or a rolled-back transaction leaves
    at most an unreferenced copy, never a row pointing at nothing). Call inside the caller's
    transaction when the file belongs to a state change (a completion with its photos).
    """
    store = storage()
    key = make_key(hashlib.sha256(checked.data).hexdigest(), checked.ext)
    store.put(key, checked.data, checked.content_type)
    thumb_key = ""
    if checked.thumb is not None:
        thumb_key = make_key(hashlib.sha256(checked.thumb).hexdigest(), "jpg")
        store.put(thumb_key, checked.thumb, "image/jpeg")
    with write_transaction():
        attachment = Attachment.create(
            estate=row.estate_id, table=row._meta.table_name, row_id=row.id, kind=kind.name,
            key=key, thumb_key=thumb_key, name=checked.name,
            content_type=checked.content_type, size=len(checked.data),
            sensitive=kind.sensitive, created_by=user.id if user is not None else None)
        audit(user, "attach", instance=row,
              changes={"attachment": [None, f"{office_text(kind.label)}：{checked.name}"]},
              summary=f"上传{office_text(kind.label)}：{checked.name}"[:200])
    return attachment
