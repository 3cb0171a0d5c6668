"""Choosing the object store from one URL, so nothing else in the code cares where bytes live.

Accepted: ``s3://bucket`` or ``s3://bucket/prefix`` (S3 via the standard AWS configuration),
``file:///absolute/folder``, or a plain folder path. ``Settings`` gives ``PHONESYS_STORAGE_URL`` or,
by default, ``$PHONESYS_HOME/objects``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import unquote, urlsplit
from urllib.request import url2pathname

from phonesys.rules.errors import Refused
from phonesys.rules.object_refusals import storage_url_invalid
from phonesys.settings import Settings

from .base import ObjectStore
from .local import LocalObjectStore

_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")


def open_object_store(target: str | os.PathLike[str] | Settings) -> ObjectStore:
    """The store ``target`` names (a URL, a folder, or the settings' ``objects_url``)."""
    url = target.objects_url if isinstance(target, Settings) else os.fspath(target)
    if url.startswith("s3://"):
        return _s3_store(url)
    if url.startswith("file://"):
        return LocalObjectStore(_file_path(url))
    if "://" in url or not url.strip():
        raise _invalid(url, "use s3://bucket/prefix, file:///folder or a folder path")
    return LocalObjectStore(Path(url))


def _s3_store(url: str) -> ObjectStore:
    from .s3 import S3ObjectStore  # boto3 is imported only when S3 is used

    parts = urlsplit(url)
    if not _BUCKET.fullmatch(parts.netloc or ""):
        raise _invalid(url, "the bucket name must be 3-63 characters of a-z, 0-9, '.' and '-'")
    if parts.query or parts.fragment:
        raise _invalid(url, "options go in the AWS configuration, not in the URL")
    return S3ObjectStore(parts.netloc, unquote(parts.path).strip("/"))


def _file_path(url: str) -> Path:
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost") or not parts.path:
        raise _invalid(url, "a file URL names a local folder: file:///absolute/path")
    return Path(url2pathname(parts.path))


def _invalid(url: str, hint: str) -> Refused:
    return Refused(storage_url_invalid(url, hint))
