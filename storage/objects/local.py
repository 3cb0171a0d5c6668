"""Object storage in a local folder: the default, under the data directory.

A key becomes a path only after two independent guards: the path, resolved, must lie inside the
root (``object-outside-root`` otherwise), and it is then opened folder by folder with ``O_NOFOLLOW``
(``localfs``), so no symbolic link is ever followed, not even one created after the check
(``object-symlink-refused``). Listing skips links and reports them in the log.

Differences from S3 that callers may notice: a key cannot be both a file and a folder prefix
(``a`` and ``a/b``; ``object-key-clash``), folders emptied by ``move``/``delete`` are left in place
(listings never show folders), and the etag comes from inode, size and mtime rather than content.
"""

from __future__ import annotations

import errno
import logging
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from phonesys.rules import object_refusals as refusals
from phonesys.rules.errors import Conflict, NotFound, Refused, TransientError
from phonesys.rules.object_keys import key_problems

from . import localfs
from .base import ObjectInfo, ObjectStore, not_found, too_large

log = logging.getLogger(__name__)
_CHUNK = 1024 * 1024


class LocalObjectStore(ObjectStore):
    """Objects as files under ``root`` (created if missing); keys map to relative paths."""

    def __init__(self, root: str | Path):
        root = Path(root).expanduser()
        root.mkdir(parents=True, exist_ok=True)
        self.root = root.resolve(strict=True)

    def __repr__(self) -> str:
        return f"LocalObjectStore({str(self.root)!r})"

    def _list(self, prefix: str) -> Iterator[ObjectInfo]:
        """Refusals (a linked folder) surface at the call; the folder is walked only when iterated."""
        folder, _, name_prefix = prefix.rpartition("/")
        segments = folder.split("/") if folder else []
        if segments:
            self._contained(folder)
        if not self._is_folder(prefix, segments):
            return iter(())
        return self._listing(prefix, segments, name_prefix)

    def _is_folder(self, prefix: str, segments: list[str]) -> bool:
        try:
            with self._mapped(prefix), localfs.open_dir(self.root, segments):
                return True
        except NotFound:
            return False

    def _listing(self, prefix: str, segments: list[str], name_prefix: str) -> Iterator[ObjectInfo]:
        try:
            with self._mapped(prefix):
                dir_fd = localfs.open_dir_fd(self.root, segments)
        except NotFound:
            return  # removed since _list looked
        try:
            base = "".join(segment + "/" for segment in segments)
            for key, info in localfs.walk_files(dir_fd, base, name_prefix):
                if info is None:
                    log.warning("object store %s: not following symbolic link %s", self.root, ascii(key))
                elif key_problems(key):
                    log.warning("object store %s: skipping %s, not a valid object key", self.root, ascii(key))
                else:
                    yield _info(key, info)
        finally:
            os.close(dir_fd)

    def _stat(self, key: str) -> ObjectInfo:
        segments, name = self._contained(key)
        with self._mapped(key), localfs.open_dir(self.root, segments) as dir_fd:
            return _info(key, localfs.lstat_regular(dir_fd, name))

    def _read(self, key: str, max_bytes: int | None) -> bytes:
        with self._opened(key) as body:
            size = os.fstat(body.fileno()).st_size  # this version's size: it may differ from stat's
            if max_bytes is not None and size > max_bytes:
                raise too_large(self._location(key), key, size, max_bytes)
            data = body.read() if max_bytes is None else body.read(max_bytes + 1)
        if max_bytes is not None and len(data) > max_bytes:  # grew in place while we read
            raise too_large(self._location(key), key, len(data), max_bytes)
        return data

    def _download(self, key: str, local_path: Path) -> Path:
        with self._opened(key) as body:
            return localfs.replace_path(local_path, lambda out: shutil.copyfileobj(body, out, _CHUNK))

    def _write(self, key: str, data: bytes, content_type: str | None) -> None:
        self._replace(key, lambda out: out.write(data))

    def _upload(self, key: str, local_path: Path, content_type: str | None) -> None:
        with open(local_path, "rb") as source:
            self._replace(key, lambda out: shutil.copyfileobj(source, out, _CHUNK))

    def _copy(self, src: str, dst: str) -> None:
        with self._opened(src) as body:
            self._replace(dst, lambda out: shutil.copyfileobj(body, out, _CHUNK))

    def _move(self, src: str, dst: str) -> None:
        """One ``rename``: atomic, and the object is never in both places or neither."""
        src_segments, src_name = self._contained(src)
        dst_segments, dst_name = self._contained(dst)
        with self._mapped(src), localfs.open_dir(self.root, src_segments) as src_fd:
            localfs.lstat_regular(src_fd, src_name)
            with self._mapped(dst, writing=True), \
                    localfs.open_dir(self.root, dst_segments, create=True) as dst_fd:
                localfs.refuse_link(dst_fd, dst_name)
                os.replace(src_name, dst_name, src_dir_fd=src_fd, dst_dir_fd=dst_fd)

    def _delete(self, key: str) -> None:
        segments, name = self._contained(key)
        try:
            with self._mapped(key), localfs.open_dir(self.root, segments) as dir_fd:
                localfs.lstat_regular(dir_fd, name)
                os.unlink(name, dir_fd=dir_fd)  # unlink never follows a link
        except NotFound:
            pass  # already gone: deleting is idempotent

    def _location(self, key: str) -> str:
        return str(self.root.joinpath(*key.split("/")))

    def _replace(self, key: str, fill: Callable[[BinaryIO], object]) -> None:
        segments, name = self._contained(key)
        with self._mapped(key, writing=True), \
                localfs.open_dir(self.root, segments, create=True) as dir_fd:
            localfs.refuse_link(dir_fd, name)
            localfs.replace_into(dir_fd, name, fill)

    @contextmanager
    def _opened(self, key: str) -> Iterator[BinaryIO]:
        segments, name = self._contained(key)
        with self._mapped(key):
            body = localfs.open_file(self.root, segments, name)
        with body:
            yield body

    def _contained(self, key: str) -> tuple[list[str], str]:
        """The folder segments and file name of a checked key, proven to resolve inside the root."""
        path = self.root.joinpath(*key.split("/"))
        try:
            escaped = not path.resolve().is_relative_to(self.root)
        except (OSError, RuntimeError):  # a symlink loop
            raise _symlink_refused(self._location(key), key) from None
        if escaped:
            raise Refused(refusals.object_outside_root(str(path), str(self.root), key))
        *segments, name = key.split("/")
        return segments, name

    @contextmanager
    def _mapped(self, key: str, *, writing: bool = False) -> Iterator[None]:
        """Turn file-system errors about ``key`` into the store's answers."""
        try:
            yield
        except OSError as exc:
            answer = self._answer(exc, key, writing)
            if answer is exc:
                raise
            raise answer from exc

    def _answer(self, exc: OSError, key: str, writing: bool) -> Exception:
        where = self._location(key)
        if exc.errno == errno.ELOOP:
            return _symlink_refused(where, key)
        if exc.errno in (errno.ENOTDIR, errno.EISDIR) and writing:
            return Conflict(refusals.object_key_clash(where, key))
        if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EISDIR):
            if writing:  # a folder we just opened or created was removed under us
                return TransientError(f"{where} vanished while being written; retry")
            return not_found(where, key)
        return exc


def _symlink_refused(where: str, key: str) -> Refused:
    return Refused(refusals.object_symlink_refused(where, key))


def _info(key: str, info: os.stat_result) -> ObjectInfo:
    etag = f"{info.st_ino:x}-{info.st_size:x}-{info.st_mtime_ns:x}"
    modified = datetime.fromtimestamp(info.st_mtime_ns / 1e9, UTC)
    return ObjectInfo(key=key, size=info.st_size, etag=etag, modified=modified)
