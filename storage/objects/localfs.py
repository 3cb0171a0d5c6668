"""File-system primitives for the local store that never follow a symbolic link.

Every path is walked one folder at a time from an open root descriptor with ``O_NOFOLLOW``
(``openat``), so a link swapped in after the containment check still cannot redirect a read or a
write outside the root. Writes go to a temporary file in the destination folder and are renamed over
the target (``os.replace``), so a reader sees the old file or the new one, never half of one.
POSIX only (Linux, macOS): it relies on ``dir_fd`` support.
"""

from __future__ import annotations

import errno
import os
import secrets
import stat
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

from phonesys.rules.object_keys import MAX_KEY_BYTES

DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: opening a FIFO someone left in the folder must not hang; regular files ignore it.
FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK
TEMP_PREFIX = ".~tmp-"  # '~' is outside the key allowlist, so no key can name a temporary file


def open_dir_fd(root: Path, segments: Sequence[str], *, create: bool = False) -> int:
    """A descriptor for ``root/segments...``; a link on the way raises ELOOP. Caller closes it."""
    fd = os.open(root, DIR_FLAGS)
    try:
        for segment in segments:
            if create:
                with suppress(FileExistsError):
                    os.mkdir(segment, 0o777, dir_fd=fd)
            child = _open_child_dir(fd, segment)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


@contextmanager
def open_dir(root: Path, segments: Sequence[str], *, create: bool = False) -> Iterator[int]:
    fd = open_dir_fd(root, segments, create=create)
    try:
        yield fd
    finally:
        os.close(fd)


def open_file(root: Path, segments: Sequence[str], name: str) -> BinaryIO:
    """The regular file ``root/segments.../name`` opened for reading, never through a link."""
    with open_dir(root, segments) as dir_fd:
        fd = os.open(name, FILE_FLAGS, dir_fd=dir_fd)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise IsADirectoryError(errno.EISDIR, "not a regular file", name)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def lstat_regular(dir_fd: int, name: str) -> os.stat_result:
    """``lstat`` of ``name`` that raises ELOOP for a link and EISDIR for anything not a plain file."""
    info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    if stat.S_ISLNK(info.st_mode):
        raise OSError(errno.ELOOP, "symbolic link refused", name)
    if not stat.S_ISREG(info.st_mode):
        raise IsADirectoryError(errno.EISDIR, "not a regular file", name)
    return info


def refuse_link(dir_fd: int, name: str) -> None:
    """ELOOP if ``name`` is a link. Renaming over a link would replace the link, not its target,
    so this is about a consistent answer (links are refused), not about safety."""
    with suppress(FileNotFoundError):
        if stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
            raise OSError(errno.ELOOP, "symbolic link refused", name)


def replace_into(dir_fd: int, name: str, fill: Callable[[BinaryIO], object]) -> None:
    """Write ``name`` in the folder ``dir_fd`` atomically: temp file, fsync, rename over it."""
    temp = TEMP_PREFIX + secrets.token_hex(8)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666,
                 dir_fd=dir_fd)
    try:
        with os.fdopen(fd, "wb") as out:
            fill(out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, name, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    except BaseException:
        with suppress(OSError):
            os.unlink(temp, dir_fd=dir_fd)
        raise
    os.fsync(dir_fd)  # make the rename itself durable


def replace_path(path: Path, fill: Callable[[BinaryIO], object]) -> Path:
    """Atomically write a caller-chosen (trusted) local path, creating its folder if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        replace_into(dir_fd, path.name, fill)
    finally:
        os.close(dir_fd)
    return path


Found = tuple[str, "os.stat_result | None"]


def walk_files(dir_fd: int, base: str, name_prefix: str = "") -> Iterator[Found]:
    """``(relative path, lstat)`` of regular files under ``dir_fd`` in key order.

    A symbolic link is never followed; it is yielded with ``None`` so the caller can report it.
    Our own temporary files are skipped, and so are folders too deep to hold a valid key. The walk
    keeps its own stack (no recursion limit) and closes every folder it opened, even if abandoned;
    ``dir_fd`` stays the caller's.
    """
    stack = [(dir_fd, base, _sorted_entries(dir_fd, name_prefix))]
    try:
        while stack:
            fd, folder, entries = stack[-1]
            name, is_dir = next(entries, (None, False))
            if name is None:
                stack.pop()
                if fd != dir_fd:
                    os.close(fd)
            elif is_dir:
                child = _open_for_walk(fd, name, folder)
                if child is not None:
                    stack.append((child, folder + name + "/", _sorted_entries(child)))
            else:
                found = _file_entry(fd, name, folder)
                if found is not None:
                    yield found
    finally:
        for fd, _, _ in stack:
            if fd != dir_fd:
                os.close(fd)


def _sorted_entries(dir_fd: int, name_prefix: str = "") -> Iterator[tuple[str, bool]]:
    """``(name, is folder)`` in the order that sorts full paths: a folder sorts as ``name + '/'``."""
    with os.scandir(dir_fd) as entries:
        found = [(entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries
                 if entry.name.startswith(name_prefix) and not entry.name.startswith(TEMP_PREFIX)]
    return iter(sorted(found, key=lambda item: item[0] + "/" if item[1] else item[0]))


def _file_entry(dir_fd: int, name: str, folder: str) -> Found | None:
    """A regular file with its lstat, a link with None, or None for anything else (or vanished)."""
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return None
    if stat.S_ISLNK(info.st_mode):
        return folder + name, None
    return (folder + name, info) if stat.S_ISREG(info.st_mode) else None


def _open_for_walk(dir_fd: int, name: str, folder: str) -> int | None:
    if len(folder) + len(name) + 1 > MAX_KEY_BYTES:
        return None  # no valid key lives this deep
    try:
        return _open_child_dir(dir_fd, name)
    except OSError:
        return None  # replaced by a link or removed since it was listed: nothing of ours


def _open_child_dir(dir_fd: int, name: str) -> int:
    try:
        return os.open(name, DIR_FLAGS, dir_fd=dir_fd)
    except NotADirectoryError:
        # O_DIRECTORY|O_NOFOLLOW reports a link as ENOTDIR; say ELOOP so callers can tell them apart
        if stat.S_ISLNK(os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode):
            raise OSError(errno.ELOOP, "symbolic link refused", name) from None
        raise
