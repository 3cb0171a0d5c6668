"""Object storage: uploads, reports and exports in a local folder (the default) or an S3 bucket.

Modules, by concern:
- ``keys``: the allowlist every key passes (``check_key``, ``key_problems``)
- ``base``: the ``ObjectStore`` interface and ``ObjectInfo``; ``factory``: ``open_object_store``
- ``local`` + ``localfs``: the folder store, which never follows symbolic links
- ``s3`` + ``s3errors``: the S3 store via boto3 and what its failures mean
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from phonesys.rules.object_keys import check_key, key_problems

from .base import ObjectInfo, ObjectStore
from .factory import open_object_store
from .local import LocalObjectStore

if TYPE_CHECKING:
    from .s3 import S3ObjectStore

__all__ = ["LocalObjectStore", "ObjectInfo", "ObjectStore", "S3ObjectStore", "check_key", "key_problems",
           "open_object_store"]


def __getattr__(name: str) -> Any:
    """``S3ObjectStore`` on first use, so a local-only run never imports boto3."""
    if name == "S3ObjectStore":
        from .s3 import S3ObjectStore

        return S3ObjectStore
    raise AttributeError(name)
