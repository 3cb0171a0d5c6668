"""Refusals only the HTTP API can meet: the shape of a request, and the size of an upload while it streams.

The CLI reads a local file whose size it knows before reading (``validation.check_size``); the API
counts the bytes of a request as they arrive and refuses as soon as a file passes its cap, so the
figure it quotes is how far it read, not the file's size.
"""

from __future__ import annotations

from phonesys.rules.errors import NotFound, Problem, Refused
from phonesys.rules.limits import UPLOAD_FILES_MAX, UPLOAD_MAX_BYTES, UPLOAD_REQUEST_MAX_BYTES


def patch_mixed(kinds: str) -> Refused:
    return Refused(Problem("patch-mixed", f"Send one kind of change: {kinds} (each is one CLI command)."))


def file_over_cap(file_name: str, received: int) -> Refused:
    return Refused(Problem("file-too-large", f"The file is over the limit of {UPLOAD_MAX_BYTES:,} bytes (5 MB): "
                           f"refused after {received:,} bytes. Split it into several files and upload each one.",
                           value=str(received), file=file_name))


def request_too_large(received: int | None = None, files: int | None = None) -> Refused:
    said = f" ({files} files)" if files is not None else f" ({received:,} bytes)" if received is not None else ""
    return Refused(Problem("request-too-large", f"An upload request holds at most {UPLOAD_FILES_MAX} files of "
                           f"{UPLOAD_MAX_BYTES:,} bytes each, {UPLOAD_REQUEST_MAX_BYTES:,} bytes in all{said}."))


def upload_form_invalid(why: str) -> Refused:
    return Refused(Problem("upload-form-invalid", f"Send multipart/form-data with one or more CSV files in the "
                           f"field 'files': {why}.", "files"))


def upload_nothing() -> Refused:
    """The CLI's code for an upload naming no file."""
    return Refused(Problem("upload-nothing", "Give at least one file (the form field 'files').", "files"))


def report_file_not_written(template_uuid: str, which: str) -> NotFound:
    """A download of a template's report or export before its run wrote it (no server path is named)."""
    return NotFound(Problem("report-file-not-written", f"Template {template_uuid} has no {which} file yet: it is "
                            f"written when the template's run completes.", "template", template_uuid))
