"""Where attachment files are kept: a local folder (default) or an S3-compatible object store.

Files are stored under names made from the hash of their content (`ab/abcdef….jpg`): the same
file is kept once, a name never changes meaning, and nothing is ever overwritten or deleted by
the application — which is also what makes the backup of the local folder a plain incremental
copy (ops/backup.py).

Settings (instance/config.py or FLASK_*):

* ATTACHMENT_STORAGE — "local" (default) or "s3";
* ATTACHMENT_DIR — the local folder (default: instance/uploads/attachments, outside the web
  root: no URL maps onto it, files leave only through the permission-checked view);
* S3_BUCKET, S3_ENDPOINT_URL (MinIO, a cloud's S3-compatible service), S3_REGION,
  S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_PREFIX — for "s3" (several web hosts share it).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from flask import current_app, g, has_request_context
from flask_babel import gettext

from models.base import RuleError
from models.i18n import N_

# A key this module made: two hex characters, the SHA-256, an extension we write.
KEY_RE = re.compile(r"[0-9a-f]{2}/[0-9a-f]{64}\.(jpg|png|pdf)")
# What staff read when the store fails (S3 503 SlowDown, connection refused, a full disk): the
# cause goes to the log, never to the page (it names hosts, buckets and paths).
STORAGE_UNAVAILABLE = N_("附件存储暂时不可用，请稍后重试")


class StorageError(RuleError):
    """The store could not keep or give back a file.

    A RuleError, so every form that saves a file (the 上传附件 page, the decoration application,
    the phone page's completion and patrol) refuses the whole submission in one transaction
    and shows the form again with what was typed and this message; the request is marked, and
    the app answers it with 503 (views.init_app), not 200 and never a 500.
    """

    gathered = False  # no fault of what was typed: never collected with its problems

    def __init__(self, detail: str = "", message: str = STORAGE_UNAVAILABLE):
        super().__init__({"": gettext(message)})  # in the reader's language (#12 item 2)
        self.detail = detail


def unavailable(detail: str) -> StorageError:
    """A StorageError for a failing store: logged with its cause, and the request marked."""
    try:
        current_app.logger.warning("attachment storage failed: %s", detail)
    except RuntimeError:
        pass  # outside the app (a migration run by hand): the exception carries the detail
    if has_request_context():
        g.storage_unavailable = True
    return StorageError(detail)


def make_key(digest: str, ext: str) -> str:
    return f"{digest[:2]}/{digest}.{ext}"


def valid_key(key: str) -> bool:
    return bool(key) and KEY_RE.fullmatch(key) is not None


class LocalStorage:
    """A folder on this machine (one web host, or a shared mount)."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)

    def _path(self, key: str) -> Path:
        if not valid_key(key):
            raise StorageError(key, N_("附件名称无效"))
        return self.folder / key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        if path.exists():
            return  # content-addressed: the same bytes are already there
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f".{path.name}.{os.getpid()}.part")
        try:
            partial.write_bytes(data)
            os.replace(partial, path)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise unavailable(f"local put {path}: {exc}") from None

    def get(self, key: str) -> bytes | None:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise unavailable(f"local get {path}: {exc}") from None


class S3Storage:
    """A bucket of an S3-compatible store, reached through boto3."""

    def __init__(self, client, bucket: str, prefix: str = ""):
        self.client = client
        self.bucket = bucket
        self.prefix = prefix.strip("/") + "/" if prefix.strip("/") else ""

    def _name(self, key: str) -> str:
        if not valid_key(key):
            raise StorageError(key, N_("附件名称无效"))
        return self.prefix + key

    def put(self, key: str, data: bytes, content_type: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data,
                                   ContentType=content_type)
        except (BotoCoreError, ClientError) as exc:
            raise unavailable(f"s3 put {key}: {exc}") from None

    def get(self, key: str) -> bytes | None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return self.client.get_object(Bucket=self.bucket, Key=self._name(key))["Body"].read()
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                return None
            raise unavailable(f"s3 get {key}: {exc}") from None
        except BotoCoreError as exc:
            raise unavailable(f"s3 get {key}: {exc}") from None


def local_folder(app=None) -> Path:
    """The local attachment folder (also what the backup copies)."""
    app = app or current_app
    return Path(app.config.get("ATTACHMENT_DIR")
                or os.path.join(app.instance_path, "uploads", "attachments"))


def s3_client(config):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3", endpoint_url=config.get("S3_ENDPOINT_URL") or None,
        region_name=config.get("S3_REGION") or "us-east-1",
        aws_access_key_id=config.get("S3_ACCESS_KEY_ID") or None,
        aws_secret_access_key=config.get("S3_SECRET_ACCESS_KEY") or None,
        # A hung store must not hold a clerk's request (or a gunicorn worker) for minutes.
        config=Config(connect_timeout=5, read_timeout=30, retries={"max_attempts": 2}))


def storage(app=None):
    """The configured store of this app (one client per app, made on first use)."""
    app = app or current_app
    store = app.extensions.get("attachment_storage")
    if store is None:
        kind = app.config.get("ATTACHMENT_STORAGE", "local")
        if kind == "s3":
            store = S3Storage(s3_client(app.config), app.config["S3_BUCKET"],
                              app.config.get("S3_PREFIX", ""))
        elif kind == "local":
            store = LocalStorage(local_folder(app))
        else:
            raise ValueError(f"ATTACHMENT_STORAGE must be 'local' or 's3', not {kind!r}")
        app.extensions["attachment_storage"] = store
    return store
