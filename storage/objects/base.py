"""The one object-storage interface the flows use, whatever holds the bytes (a folder or S3).

``ObjectStore`` is a small template: its public methods validate every key with ``check_key``
*before* any implementation code runs, so a store cannot forget to, and then call the ``_``-methods
an implementation provides. Semantics every implementation keeps (the contract tests prove them):

- keys are relative, ``/``-separated (see ``phonesys.rules.object_keys``); ``list`` yields only valid keys,
  in lexicographic order, with plain string-prefix matching (``"a/b"`` matches ``"a/bc.csv"``);
- writes (``write_bytes``, ``upload``, ``copy``, and ``download`` on the local side) are atomic:
  readers see the old object or the new one, never a part;
- a missing object raises ``NotFound`` (code ``object-not-found``), except ``delete``, which is
  idempotent so a retried clean-up never fails;
- infrastructure hiccups raise ``TransientError``; callers retry only those.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from phonesys.rules import object_refusals as refusals
from phonesys.rules.errors import NotFound, Refused, refuse_if
from phonesys.rules.object_keys import check_key, check_prefix, key_problems


@dataclass(frozen=True)
class ObjectInfo:
    """What a listing or ``stat`` knows about one object without reading it.

    ``etag`` is opaque: it changes when the content is replaced; compare it only with etags from the
    same store. ``modified`` is timezone-aware UTC.
    """

    key: str
    size: int
    etag: str
    modified: datetime


class ObjectStore(ABC):
    """Objects addressed by untrusted keys; see the module docstring for the contract."""

    def list(self, prefix: str = "") -> Iterator[ObjectInfo]:
        """Objects whose key starts with ``prefix``, in key order; the prefix is checked at once."""
        return self._list(check_prefix(prefix))

    def stat(self, key: str) -> ObjectInfo:
        return self._stat(check_key(key))

    def read_bytes(self, key: str, max_bytes: int | None = None) -> bytes:
        """The whole object; over ``max_bytes`` it is refused from its size alone, unread."""
        check_key(key)
        if max_bytes is not None:
            info = self._stat(key)
            if info.size > max_bytes:
                raise too_large(self.location(key), key, info.size, max_bytes)
        return self._read(key, max_bytes)

    def download(self, key: str, local_path: str | Path) -> Path:
        """Copy the object to ``local_path`` (a trusted path), replacing that file atomically."""
        return self._download(check_key(key), Path(local_path))

    def write_bytes(self, key: str, data: bytes, content_type: str | None = None) -> None:
        self._write(check_key(key), bytes(data), content_type)

    def upload(self, key: str, local_path: str | Path, content_type: str | None = None) -> None:
        self._upload(check_key(key), Path(local_path), content_type)

    def copy(self, src: str, dst: str) -> None:
        self._copy(*_check_pair(src, dst))

    def move(self, src: str, dst: str) -> None:
        """Copy then delete; atomic on the local folder, two steps on S3 (a retry is safe)."""
        self._move(*_check_pair(src, dst))

    def delete(self, key: str) -> None:
        self._delete(check_key(key))

    def location(self, key: str) -> str:
        """Where the object lives, for people: a local path or an ``s3://`` URL."""
        return self._location(check_key(key))

    @abstractmethod
    def _list(self, prefix: str) -> Iterator[ObjectInfo]: ...

    @abstractmethod
    def _stat(self, key: str) -> ObjectInfo: ...

    @abstractmethod
    def _read(self, key: str, max_bytes: int | None) -> bytes:
        """Read the body; must re-check ``max_bytes`` on the version it opened (it may have changed)."""

    @abstractmethod
    def _download(self, key: str, local_path: Path) -> Path: ...

    @abstractmethod
    def _write(self, key: str, data: bytes, content_type: str | None) -> None: ...

    @abstractmethod
    def _upload(self, key: str, local_path: Path, content_type: str | None) -> None: ...

    @abstractmethod
    def _copy(self, src: str, dst: str) -> None: ...

    @abstractmethod
    def _move(self, src: str, dst: str) -> None: ...

    @abstractmethod
    def _delete(self, key: str) -> None: ...

    @abstractmethod
    def _location(self, key: str) -> str: ...


def _check_pair(src: str, dst: str) -> tuple[str, str]:
    refuse_if(key_problems(src, field="src") + key_problems(dst, field="dst"))
    return src, dst


def not_found(location: str, key: str) -> NotFound:
    return NotFound(refusals.object_not_found(location, key))


def too_large(location: str, key: str, size: int, max_bytes: int) -> Refused:
    return Refused(refusals.object_too_large(location, key, size, max_bytes))


