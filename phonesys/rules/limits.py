"""Every size limit of phonesys, defined once: rows, bytes, chunk sizes, name lengths.

Storage (column widths, SQL ``substr``), the upload validation, the flows and the CLI's option
bounds read them from here, so a limit changed here is changed everywhere (tests/test_one_place_decides.py
fails when one is spelled as a literal elsewhere). The README and ``phonesys.rules.codes`` quote
some of them in prose.
"""

from __future__ import annotations

from typing import Final

MB: Final = 1024 * 1024

# Bulk assignment templates
TEMPLATE_ROW_LIMIT: Final = 15_000        # users in one template, across all its files
UPLOAD_MAX_BYTES: Final = 5 * MB          # one uploaded CSV
UPLOAD_FILES_MAX: Final = 20            # files in one API upload request (each at most UPLOAD_MAX_BYTES)
UPLOAD_FILE_NAME_MAX: Final = 150       # bytes of an uploaded file's name as kept (hostile names are cut)
UPLOAD_PART_HEADERS_MAX: Final = 16 * 1024  # bytes of one multipart part's headers (a browser sends a few hundred)
UPLOAD_REQUEST_MAX_BYTES: Final = UPLOAD_FILES_MAX * UPLOAD_MAX_BYTES + MB  # one API upload request, all parts
CHUNK_SIZE_MAX: Final = 5_000             # rows per chunk (one transaction each), sized or asked for
REASON_MAX_CHARS: Final = 1000            # a failed row's reason as the ledger keeps it

# Names and values
EXT_KEY_MIN: Final = 100
EXT_KEY_MAX: Final = 99999
DIRECTORY_NAME_MAX: Final = 100
SKU_MAX: Final = 100
TEMPLATE_NAME_MAX: Final = 200
ORG_NAME_MAX: Final = 200
USER_NAME_MAX: Final = 200
TOKEN_NAME_MAX: Final = 100            # an API token's name, which is also its audit actor
WEB_WORKERS_MAX: Final = 48            # `phonesys web --workers`: processes on one port, about one per core
CONSOLE_SESSION_SECONDS: Final = 12 * 3600  # a console sign-in lasts a working day
CONSOLE_PAGE_SIZE: Final = 50          # extensions and template users per console page
WEB_SECRET_MIN: Final = 43             # characters of PHONESYS_WEB_SECRET, as many as 32 random bytes in base64
AUDIT_LIMIT_DEFAULT: Final = 50         # audit events `phonesys audit` shows unless --limit says
AUDIT_LIMIT_MAX: Final = 100_000       # the most --limit may ask for
AUDIT_ACTOR_MAX: Final = 200           # an audit event's actor (cli:<login>, token:<name>, dropfolder:<key>)
COUNT_MAX: Final = 1_000_000              # every purchased count (base licenses, each add-on) in a document
