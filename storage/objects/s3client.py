"""The slice of boto3's S3 client that ``S3ObjectStore`` calls, as types.

boto3 ships no type information (and the boto3-stubs packages are not a dependency), so without
these the store's every response would be ``Any`` and a misspelt field (``Contents``, ``ETag``)
would pass the type check. Only the calls and fields the store uses are described; a real client,
a moto one or a ``Stubber``-wrapped one all fit structurally.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from types import TracebackType
from typing import BinaryIO, Protocol, Self, TypedDict


class ListedObject(TypedDict):
    """One entry of a ``list_objects_v2`` page."""

    Key: str
    Size: int
    ETag: str
    LastModified: datetime


class ListPage(TypedDict, total=False):
    """A ``list_objects_v2`` page; an empty listing has no ``Contents`` at all."""

    Contents: list[ListedObject]


class HeadObjectOutput(TypedDict):
    ContentLength: int
    ETag: str
    LastModified: datetime


class StreamingBody(Protocol):
    """botocore's ``StreamingBody``: read at most ``amt`` bytes, closed on leaving ``with``."""

    def read(self, amt: int | None = None) -> bytes: ...

    def __enter__(self) -> Self: ...

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None: ...


class GetObjectOutput(TypedDict):
    Body: StreamingBody
    ContentLength: int


class ListObjectsPaginator(Protocol):
    def paginate(self, *, Bucket: str, Prefix: str) -> Iterable[ListPage]: ...


class ObjectRef(TypedDict):
    """``CopySource``: the bucket and key copied from."""

    Bucket: str
    Key: str


class S3Client(Protocol):
    """The calls the store makes, with boto3's keyword names."""

    def get_paginator(self, operation_name: str) -> ListObjectsPaginator: ...

    def head_object(self, *, Bucket: str, Key: str) -> HeadObjectOutput: ...

    def get_object(self, *, Bucket: str, Key: str) -> GetObjectOutput: ...

    def download_fileobj(self, Bucket: str, Key: str, Fileobj: BinaryIO) -> None: ...

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentType: str) -> object: ...

    def upload_fileobj(self, Fileobj: BinaryIO, Bucket: str, Key: str,
                       ExtraArgs: dict[str, str] | None = None) -> None: ...

    def copy_object(self, *, Bucket: str, Key: str, CopySource: ObjectRef) -> object: ...

    def delete_object(self, *, Bucket: str, Key: str) -> object: ...
