"""Attachments on a register's page (issue #16): the upload form and the one view serving files.

A register declares the kinds of file it keeps, once, on its view:

    attachment_kinds = (photos("scene", "现场照片"), scans("register", "登记表扫描件"))

and `RegisterView` (through `AttachmentsMixin`) gives it the 上传附件 page (`.attach_view`),
the list of files with thumbnails on the row's page (admin/attachments.html) and `.file_view`,
which serves a file only to someone who may see its row (the view's own estate-scoped query
and role check), with nosniff and a Content-Disposition; a sensitive ID copy only to a user with
the reveal permission, and each such look is audited. The rules for the files themselves are in
models/attachments.py. A failing store (models.storage.StorageError) answers 503 in Chinese:
the upload form comes back as it was, an unreadable file gets the app's 503 page.
"""

from __future__ import annotations

import io

from flask import abort, flash, redirect, request, send_file
from flask_admin import expose
from flask_babel import gettext
from flask_login import current_user

from models.attachments import Attachment, AttachmentKind, check_file
from models.base import RuleError
from models.register import audit
from models.storage import storage
from views.form_bounds import parse_bounded_int


def read_upload(storage_file, kind: AttachmentKind) -> tuple[str, bytes]:
    """(name, bytes) of an uploaded file, never reading more than its limit plus one byte."""
    return storage_file.filename or "", storage_file.stream.read(kind.max_bytes + 1)


def check_uploads(kind: AttachmentKind, files, field: str = "file"):
    """[(kind, CheckedFile)] for the request's files (empty inputs skipped); RuleError else."""
    checked = []
    for item in files:
        if item is None or not getattr(item, "filename", ""):
            continue
        name, data = read_upload(item, kind)
        checked.append((kind, check_file(kind, name, data, field)))
    return checked


def serve_attachment(attachment: Attachment, *, thumb: bool = False):
    """The file's bytes, typed by what we stored (never by its name), shown inline."""
    key = attachment.thumb_key if thumb and attachment.thumb_key else attachment.key
    # A failing store raises StorageError: the app's 503 page in Chinese (views.init_app).
    data = storage().get(key)
    if data is None:
        abort(404)
    content_type = "image/jpeg" if key != attachment.key else attachment.content_type
    response = send_file(io.BytesIO(data), mimetype=content_type, as_attachment=False,
                         download_name=attachment.name or key.rsplit("/", 1)[-1], max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    if content_type == "application/pdf":
        # A PDF is shown sandboxed, never as part of the site.
        response.headers["Content-Security-Policy"] = "sandbox"
    return response


class AttachmentsMixin:
    """The attachment endpoints of a register view (mixed into RegisterView)."""

    # The kinds of file this register keeps (models.attachments: photos, scans, id_copies).
    attachment_kinds: tuple[AttachmentKind, ...] = ()

    def attachment_kind(self, name: str) -> AttachmentKind | None:
        return next((k for k in self.attachment_kinds if k.name == name), None)

    def may_add(self, kind: AttachmentKind) -> bool:
        return self.allowed(kind.permission)

    def may_see(self, attachment: Attachment) -> bool:
        return not attachment.sensitive or self.allowed("reveal")

    def attachments_of(self, row) -> list[dict]:
        """The row's files grouped by kind, for its page: [{kind, files, hidden}]."""
        if not self.attachment_kinds:
            return []
        files = list(Attachment.of(row))
        groups = []
        for kind in self.attachment_kinds:
            mine = [f for f in files if f.kind == kind.name]
            visible = [f for f in mine if self.may_see(f)]
            groups.append({"kind": kind, "files": visible, "hidden": len(mine) - len(visible),
                           "can_add": self.may_add(kind) and kind.open_for(row)
                           and not getattr(row, "voided", False)})
        return groups

    @expose("/attach/", methods=("GET", "POST"))
    def attach_view(self):
        """上传附件: photos, scans or copies kept with the row."""
        row = self.row_or_404()
        kinds = [k for k in self.attachment_kinds if self.may_add(k)]
        if not kinds:
            abort(404 if not self.attachment_kinds else 403)
        if getattr(row, "voided", False):
            flash(gettext("该记录已作废，不能再上传附件"), "error")
            return redirect(self.get_url(".details_view", id=row.id))
        back = self.get_url(".details_view", id=row.id)
        errors: dict[str, list[str]] = {}
        chosen = self.attachment_kind(request.values.get("kind", "")) or kinds[0]
        if request.method == "POST":
            if chosen not in kinds:
                abort(403)
            try:
                if not chosen.open_for(row):
                    raise RuleError({"file": str(chosen.closed_message)
                                     or gettext("当前状态下不能再上传%(label)s",
                                                label=chosen.label)})
                checked = check_uploads(chosen, request.files.getlist("file"))
                if not checked:
                    raise RuleError({"file": gettext("请选择要上传的文件")})
                for kind, item in checked:
                    self.keep_attachment(row, kind, item)
            except RuleError as error:  # a refused file, or the store failing (503)
                for name, message in error.errors.items():
                    errors.setdefault(name or "file", []).append(message)
            else:
                flash(gettext("%(label)s：已上传 %(value)s 个文件",
                              label=chosen.label, value=len(checked)), "success")
                return redirect(back)
        return self.render("admin/attach_form.html", row=row, kinds=kinds, chosen=chosen,
                           errors=errors, cancel_url=back)

    def keep_attachment(self, row, kind, checked):
        from models.attachments import attach

        return attach(row, current_user._get_current_object(), kind, checked)

    @expose("/file/")
    def file_view(self):
        """A file kept with the row: only for who may see the row (and, for ID copies, reveal)."""
        row = self.row_or_404()
        file_id = parse_bounded_int(request.args.get("file"))
        if file_id is None:
            abort(404)
        attachment = Attachment.get_or_none(Attachment.id == file_id,
                                            Attachment.table == row._meta.table_name,
                                            Attachment.row_id == row.id)
        if attachment is None or self.attachment_kind(attachment.kind) is None:
            abort(404)
        if not self.may_see(attachment):
            abort(403)
        if attachment.sensitive:
            # R-PASS-1/3: every look at an ID copy is on record (who, when, which file).
            audit(current_user._get_current_object(), "file_view", instance=row,
                  changes={"attachment": [attachment.id, attachment.name]},
                  summary=f"查看证件复印件：{attachment.name}"[:200])
        return serve_attachment(attachment, thumb=request.args.get("thumb") == "1")
