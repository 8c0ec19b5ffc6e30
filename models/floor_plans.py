"""Decoration floor plans (装修平面图, R-DECO-1): what a plan file may be, and where it is kept.

A plan is a picture or a PDF, recognised by its first bytes (never by its name), at most
FLOOR_PLAN_MAX_BYTES (config), stored under the app's instance folder by the hash of its content
(the same plan is kept once) and served only through the decoration register's own view.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass

from flask import current_app

# Pictures or PDF, at most FLOOR_PLAN_MAX_BYTES (config) — a phone photo fits.
DEFAULT_FLOOR_PLAN_MAX_BYTES = 10 * 1024 * 1024

# What the first bytes say, never what the file name says (an .exe renamed .pdf is refused).
SIGNATURES = (
    (b"\xff\xd8\xff", "image/jpeg", "jpg"),
    (b"\x89PNG\r\n\x1a\n", "image/png", "png"),
    (b"GIF87a", "image/gif", "gif"),
    (b"GIF89a", "image/gif", "gif"),
    (b"%PDF-", "application/pdf", "pdf"),
)
STORED_NAME_RE = re.compile(r"[0-9]+/[0-9a-f]{64}\.(jpg|png|gif|webp|pdf)")


def sniff(data: bytes) -> tuple[str, str] | None:
    """(mime type, extension) of an image or PDF by its magic bytes, or None."""
    for magic, mime, ext in SIGNATURES:
        if data.startswith(magic):
            return mime, ext
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp", "webp"
    return None


@dataclass
class Upload:
    """A file handed in with a form: its name as sent, its bytes, where plans are kept."""

    filename: str
    data: bytes
    folder: str
    max_bytes: int = DEFAULT_FLOOR_PLAN_MAX_BYTES

    def problem(self) -> str | None:
        if not self.data:
            return "上传的文件是空的，请重新选择平面图"
        if len(self.data) > self.max_bytes:
            return f"平面图不能超过 {self.max_bytes // (1024 * 1024)} MB，请压缩后再上传"
        if sniff(self.data) is None:
            return "平面图只能是图片（JPG、PNG、GIF、WEBP）或 PDF 文件；所选文件的内容不是这些格式"
        return None

    def plan_fields(self, estate_id: int) -> dict:
        """The decoration's floor_plan* columns for this file (stored name, name, type, size)."""
        mime, ext = sniff(self.data)
        digest = hashlib.sha256(self.data).hexdigest()
        # Browsers send a bare name; older ones a whole Windows path.
        name = (self.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
        return {"floor_plan": f"{estate_id}/{digest}.{ext}", "floor_plan_name": name[-128:],
                "floor_plan_type": mime, "floor_plan_size": len(self.data)}

    def write(self, stored_name: str) -> None:
        """Keep the bytes under `stored_name` (content-addressed: the same plan is kept once)."""
        path = os.path.join(self.folder, stored_name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        if not os.path.exists(path):
            temporary = f"{path}.{os.getpid()}.part"
            with open(temporary, "wb") as handle:
                handle.write(self.data)
            os.replace(temporary, path)


def floor_plan_folder() -> str:
    """Where plans are kept: under the app's instance folder, never under static/."""
    return os.path.join(current_app.instance_path, "uploads", "floor_plans")


def stored_plan_path(stored_name: str, folder: str) -> str | None:
    """A stored plan's path, only if the stored name is one this module made."""
    if not stored_name or not STORED_NAME_RE.fullmatch(stored_name):
        return None
    path = os.path.join(folder, stored_name)
    return path if os.path.isfile(path) else None
