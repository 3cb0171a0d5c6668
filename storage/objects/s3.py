"""Object storage in an S3 bucket (AWS, MinIO, or a test server), below an optional key prefix.

Credentials, region and endpoint come from the standard AWS configuration (environment, profile,
instance role); ``AWS_ENDPOINT_URL`` or ``AWS_ENDPOINT_URL_S3`` points the same code at MinIO or a
local test server. One PUT (``put_object``) or one managed upload is atomic in S3: readers see the
old object or the new one. ``move`` is copy then delete, so a crash between leaves both copies and a
retry finishes it. ``copy`` is a single ``CopyObject`` (objects up to 5 GB, plenty for CSV uploads).
"""

from __future__ import annotations

import logging
import mimetypes
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from datetime import UTC
from pathlib import Path

import boto3

from phonesys.rules.errors import Refused
from phonesys.rules.object_keys import MAX_KEY_BYTES, check_key, key_problems
from phonesys.rules.object_refusals import prefixed_key_too_long

from .base import ObjectInfo, ObjectStore, too_large
from .localfs import replace_path
from .s3client import ListPage, S3Client
from .s3errors import s3_errors

log = logging.getLogger(__name__)


class S3ObjectStore(ObjectStore):
    """Objects ``<prefix>/<key>`` in ``bucket``; ``client`` defaults to one from the AWS configuration."""

    def __init__(self, bucket: str, prefix: str = "", *, client: S3Client | None = None):
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        if self.prefix:
            check_key(self.prefix, field="prefix")
        # a Session per store: boto3's default session is not thread-safe, clients are
        self.client: S3Client = client or boto3.session.Session().client("s3")

    def __repr__(self) -> str:
        return f"S3ObjectStore({self._location('')!r})"

    def _list(self, prefix: str) -> Iterator[ObjectInfo]:
        base = f"{self.prefix}/" if self.prefix else ""
        paginator = self.client.get_paginator("list_objects_v2")
        pages = paginator.paginate(Bucket=self.bucket, Prefix=base + prefix)
        return self._listing(pages, base, prefix)

    def _listing(self, pages: Iterable[ListPage], base: str, prefix: str) -> Iterator[ObjectInfo]:
        with s3_errors(self.bucket, self._location(prefix), prefix):
            for page in pages:
                for item in page.get("Contents", ()):
                    key = item["Key"][len(base):]
                    if key_problems(key):
                        log.warning("object store %s: skipping %s, not a valid object key", self, ascii(key))
                        continue
                    yield ObjectInfo(key=key, size=item["Size"], etag=item["ETag"].strip('"'),
                                     modified=item["LastModified"].astimezone(UTC))

    def _stat(self, key: str) -> ObjectInfo:
        with self._errors(key):
            head = self.client.head_object(Bucket=self.bucket, Key=self._full(key))
        return ObjectInfo(key=key, size=head["ContentLength"], etag=head["ETag"].strip('"'),
                          modified=head["LastModified"].astimezone(UTC))

    def _read(self, key: str, max_bytes: int | None) -> bytes:
        with self._errors(key):
            response = self.client.get_object(Bucket=self.bucket, Key=self._full(key))
            with response["Body"] as body:
                size = response["ContentLength"]  # this version's size, known before the body
                if max_bytes is not None and size > max_bytes:
                    raise too_large(self._location(key), key, size, max_bytes)
                return body.read() if max_bytes is None else body.read(max_bytes + 1)

    def _download(self, key: str, local_path: Path) -> Path:
        with self._errors(key):
            return replace_path(local_path,
                                lambda out: self.client.download_fileobj(self.bucket, self._full(key), out))

    def _write(self, key: str, data: bytes, content_type: str | None) -> None:
        with self._errors(key):
            self.client.put_object(Bucket=self.bucket, Key=self._full(key), Body=data,
                                   ContentType=_content_type(key, content_type))

    def _upload(self, key: str, local_path: Path, content_type: str | None) -> None:
        with open(local_path, "rb") as source, self._errors(key):
            self.client.upload_fileobj(source, self.bucket, self._full(key),
                                       ExtraArgs={"ContentType": _content_type(key, content_type)})

    def _copy(self, src: str, dst: str) -> None:
        with self._errors(src):
            self.client.copy_object(Bucket=self.bucket, Key=self._full(dst),
                                    CopySource={"Bucket": self.bucket, "Key": self._full(src)})

    def _move(self, src: str, dst: str) -> None:
        if src == dst:
            self._stat(src)  # moving onto itself changes nothing, but a missing object is still missing
            return
        self._copy(src, dst)
        self._delete(src)

    def _delete(self, key: str) -> None:
        with self._errors(key):
            self.client.delete_object(Bucket=self.bucket, Key=self._full(key))

    def _location(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._full(key)}" if key else f"s3://{self.bucket}/{self.prefix}"

    def _full(self, key: str) -> str:
        full = f"{self.prefix}/{key}" if self.prefix else key
        if len(full.encode()) > MAX_KEY_BYTES:
            raise Refused(prefixed_key_too_long(len(full.encode()), MAX_KEY_BYTES, ascii(key)[:120]))
        return full

    def _errors(self, key: str) -> AbstractContextManager[None]:
        return s3_errors(self.bucket, self._location(key), key)


def _content_type(key: str, given: str | None) -> str:
    return given or mimetypes.guess_type(key)[0] or "application/octet-stream"
