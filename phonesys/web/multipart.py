"""Receiving an upload's files while the request streams, refusing it the moment it passes a cap.

Starlette's ``request.form()`` spools every file of any size before a route sees it (and needs
python-multipart). Here the body is read chunk by chunk and cut at the multipart boundary as it
arrives (RFC 7578): each file part is written to its own folder under ``folder``, and the request is
refused with 413 as soon as one file passes ``UPLOAD_MAX_BYTES`` (``file-too-large``) or the files
or bytes of the whole request pass theirs (``request-too-large``): nothing beyond the chunk that
crossed the line is read. A declared ``Content-Length`` over the request's cap is refused before
reading anything; a smaller one is not trusted (the count is of the bytes that really arrive).
File names are reduced to a safe last path part (``rules.values.upload_file_name``) before they
touch the disk or any message. Only what the route needs is understood: parts with a
``Content-Disposition`` naming the field ``files`` and a ``filename``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import IO

from phonesys.rules.api import file_over_cap, request_too_large, upload_form_invalid
from phonesys.rules.limits import (
    UPLOAD_FILES_MAX,
    UPLOAD_MAX_BYTES,
    UPLOAD_PART_HEADERS_MAX,
    UPLOAD_REQUEST_MAX_BYTES,
)
from phonesys.rules.values import upload_file_name

FIELD = "files"
BOUNDARY = re.compile(r'(?i)^multipart/form-data\s*;(?:.*;)?\s*boundary=(?:"([ !#-~]{1,70})"|([!#-:<-~]{1,70}))')
PARAMETER = re.compile(r';\s*([A-Za-z0-9_*-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^;\s]*))')


def check_declared(content_type: str | None, content_length: str | None) -> bytes:
    """The multipart boundary; refuses a body that is not multipart or says it is over the cap."""
    if content_length is not None and content_length.isdigit() and int(content_length) > UPLOAD_REQUEST_MAX_BYTES:
        raise request_too_large(int(content_length))
    found = BOUNDARY.match(content_type or "")
    if found is None:
        raise upload_form_invalid("the body is not multipart/form-data with a boundary")
    return (found.group(1) or found.group(2)).encode("ascii")


def _file_name(headers: bytes) -> str:
    """The safe name of a file part of the field ``files``; anything else is refused."""
    for line in headers.decode("utf-8", errors="replace").split("\r\n"):
        name, _, value = line.partition(":")
        if name.strip().title() == "Content-Disposition":
            options = {m.group(1).lower(): m.group(2) if m.group(2) is not None else m.group(3)
                       for m in PARAMETER.finditer(value)}
            if options.get("name") == FIELD and "filename" in options:
                return upload_file_name(re.sub(r"\\(.)", r"\1", options["filename"]))
    raise upload_form_invalid("every part must be a file in the field 'files'")


class FileReceiver:
    """Cuts the body at ``--boundary`` lines: headers, then data written to ``folder/<n>/<name>``."""

    def __init__(self, boundary: bytes, folder: Path):
        self.delimiter, self.folder = b"\r\n--" + boundary, folder
        self.buffer, self.state = b"\r\n", "preamble"  # the first delimiter has no CRLF of its own before it
        self.files: list[Path] = []
        self.current: IO[bytes] | None = None
        self.size = 0

    def feed(self, chunk: bytes) -> None:
        self.buffer += chunk
        while self._step():
            pass

    def _step(self) -> bool:
        """One move of the state machine; False when it needs more bytes."""
        if self.state == "data":
            return self._data()
        if self.state == "headers":
            return self._headers()
        if self.state in ("preamble", "after"):
            return self._delimiter()
        return False  # "end": an epilogue is ignored

    def _delimiter(self) -> bool:
        at = self.buffer.find(self.delimiter)
        if at < 0 or len(self.buffer) < at + len(self.delimiter) + 2:
            if self.state == "preamble" and len(self.buffer) > UPLOAD_PART_HEADERS_MAX:
                raise upload_form_invalid("no boundary line where the body starts")
            return False
        tail = self.buffer[at + len(self.delimiter):at + len(self.delimiter) + 2]
        self.buffer = self.buffer[at + len(self.delimiter) + 2:]
        self.state = "end" if tail == b"--" else "headers"
        return self.state == "headers"

    def _headers(self) -> bool:
        at = self.buffer.find(b"\r\n\r\n")
        if at < 0:
            if len(self.buffer) > UPLOAD_PART_HEADERS_MAX:
                raise upload_form_invalid("a part's headers are too long")
            return False
        name = _file_name(self.buffer[:at])
        self.buffer = self.buffer[at + 4:]
        if len(self.files) >= UPLOAD_FILES_MAX:
            raise request_too_large(files=len(self.files) + 1)
        path = self.folder / str(len(self.files)) / name
        path.parent.mkdir()
        self.files.append(path)
        self.current, self.size, self.state = path.open("wb"), 0, "data"
        return True

    def _data(self) -> bool:
        at = self.buffer.find(self.delimiter)
        keep = len(self.delimiter) - 1 if at < 0 else 0  # a delimiter may be cut in two by the chunks
        end = at if at >= 0 else max(len(self.buffer) - keep, 0)
        self._write(self.buffer[:end])
        self.buffer = self.buffer[end:]
        if at < 0:
            return False
        self.close()
        self.state = "after"
        return True

    def _write(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > UPLOAD_MAX_BYTES:
            raise file_over_cap(self.files[-1].name, self.size)
        assert self.current is not None
        self.current.write(data)

    def close(self) -> None:
        if self.current is not None:
            self.current.close()
            self.current = None


async def receive_files(stream: AsyncIterator[bytes], boundary: bytes, folder: Path) -> list[Path]:
    """Every file of the body, written under ``folder``; refused (413) at the first chunk past a cap."""
    receiver, received = FileReceiver(boundary, folder), 0
    try:
        async for chunk in stream:
            received += len(chunk)
            if received > UPLOAD_REQUEST_MAX_BYTES:
                raise request_too_large(received)
            receiver.feed(chunk)
    finally:
        receiver.close()
    if receiver.state != "end":
        raise upload_form_invalid("the body ends before its closing boundary")
    return receiver.files
