"""Every code phonesys reports, in one table: refusals of any command, upload and document problems,
the reason of a failed bulk row, storage and operations errors.

Codes are a public contract: scripts match on them, reports and ``status.json`` carry them, and the
README lists this table (``markdown_table``). So a code is never renamed or reused for another meaning,
and one fact has one code wherever it is found (an upload row, a CLI command, a bulk row): a user who
already has an extension is ``user-assigned`` everywhere. ``tests/test_codes.py`` proves that every code
the source can emit is listed here and that nothing listed here is dead.
"""

from __future__ import annotations

FILES: dict[str, str] = {
    "file-not-found": "The file named on the command line does not exist.",
    "output-path-unusable": "--output names a place where no file can be written (below a file, read-only, "
                            "no permission).",
    "file-too-large": "The file is over its limit: an upload 5 MB, an org document 20 MB, a users CSV 200 MB.",
    "file-empty": "The file has no content at all.",
    "file-not-csv": "The file is a spreadsheet workbook (.xlsx/.xls), not CSV; save it as CSV UTF-8.",
    "encoding-unsupported": "The file is not UTF-8 (with or without BOM) or UTF-16 with BOM.",
    "delimiter-semicolon": "Cells are separated by semicolons (Excel in European locales); use commas.",
    "delimiter-tab": "Cells are separated by tabs (Excel 'Unicode Text'); save as CSV UTF-8 instead.",
    "file-header-only": "The file has a header but no data rows.",
    "header-unknown-column": "The header names a column that is not part of either layout.",
    "header-blank-column": "A column without a name in the header holds values.",
    "header-duplicate-column": "The header names the same column twice.",
    "header-missing-column": "A required column (Ext Key, and User's Name or Identity UUID) is missing.",
    "header-mixed-identifiers": "The header has both User's Name and Identity UUID; a file uses one.",
    "row-too-many-cells": "A row has more cells than the header (often an unquoted comma).",
    "row-too-few-cells": "A row has fewer cells than the header.",
    "row-ragged": "A users CSV row has more or fewer cells than its header.",
    "csv-malformed": "Broken CSV quoting: a quoted cell is not closed or has text after its quote.",
    "row-too-long": "A row is longer than 65,536 characters (usually an unclosed quote); reading stopped.",
}

VALUES: dict[str, str] = {
    "ext-key-required": "Ext Key is blank.",
    "ext-key-format": "Ext Key is not 3 to 5 digits.",
    "ext-key-duplicate": "Ext Key appears on an earlier row of the same file.",
    "ext-key-in-template": "Ext Key is already used by a row of this template.",
    "user-required": "The user cell (User's Name or Identity UUID) is blank.",
    "uuid-invalid": "Identity UUID (or the org's UUID in a document) is not a valid UUID.",
    "user-name-not-found": "No user of the organization has this name.",
    "user-name-ambiguous": "Several users of the organization have this name; the candidates are listed.",
    "user-duplicate": "The user appears earlier in the same file or document.",
    "user-in-template": "The user is already in this template.",
    "user-name-required": "A user's name is blank.",
    "user-name-too-long": "A user's name is longer than 200 characters.",
    "user-name-control-char": "A user's name contains control characters (ESC, NUL, BEL, ...) or bidi controls.",
    "number-scientific-notation": "Number was mangled by Excel into scientific notation (6.51E+09).",
    "number-format": "Number is not digits with an optional leading '+'.",
    "number-invalid": "Number is not a possible international phone number (check its country code).",
    "number-duplicate": "Number appears earlier in the same file or document.",
    "number-in-template": "Number is already used by a row of this template.",
    "directory-name-too-long": "Directory name is longer than 100 characters.",
    "directory-name-control-char": "Directory name contains control characters or bidi controls.",
    "addon-sku-invalid": "An add-on name is blank, longer than 100 characters or has control/bidi characters.",
    "addon-duplicate": "An add-on is listed twice in the document.",
    "template-name-invalid": "Template name is blank, longer than 200 characters or has control/bidi characters.",
    "count-invalid": "Count must be at least 1.",
    "when-invalid": "A --since/--until value is not a date (2026-12-01) or date-time (2026-12-01T09:30).",
    "ext-key-range": "start + count would reach a key of more than 5 digits.",
}

INVENTORY: dict[str, str] = {
    "org-uuid-invalid": "The organization argument is not a valid UUID.",
    "org-not-found": "No organization has this UUID.",
    "extension-not-found": "The organization has no extension with this key.",
    "extension-reverting": "The extension is being removed by a template revert in progress; change it afterwards.",
    "user-not-found": "No user of the organization has this Identity UUID (or name).",
    "ext-key-exists": "Ext Key is already an extension of the organization.",
    "user-assigned": "The user already has an extension.",
    "number-assigned": "Number is already assigned to an extension.",
    "number-not-owned": "Number is not a number license of the organization.",
    "ext-key-reserved": "Ext Key is held by a template in progress (named in the message).",
    "user-reserved": "The user is held by a template in progress (named in the message).",
    "number-reserved": "Number is held by a template in progress (named in the message).",
    "base-licenses-insufficient": "Not enough unprovisioned base licenses (the shortfall is in the message).",
    "addon-unknown": "The organization has no add-on license of this name.",
    "addon-licenses-insufficient": "Not enough licenses of an add-on (the shortfall is in the message).",
    "assign-needs-one": "Provision & Assign (--user, --addon, --number) creates one extension; drop --count.",
    "nothing-to-change": "ext edit was given neither --key nor --name.",
    "number-argument": "ext set-number needs either a NUMBER or --clear, not both.",
    "inventory-conflict": "The inventory changed while the request ran; nothing changed, try again.",
    "database-unavailable": "The inventory database cannot be reached (check PHONESYS_DATABASE_URL).",
    "org-busy": "Another job held the organization past PHONESYS_LOCK_TIMEOUT; nothing changed, try again (exit 75).",
    "setting-invalid": "A PHONESYS_* setting does not parse (each one is named; exit 78); nothing ran.",
    "internal-error": "An unexpected error; rerun with PHONESYS_DEBUG=1 and report the traceback.",
}

ORG_DOCUMENT: dict[str, str] = {
    "document-unreadable": "The org document is not valid UTF-8 JSON or YAML.",
    "document-invalid": "The org document does not match its shape (field, type, count 0-1,000,000).",
    "document-too-deep": "The org document nests lists and mappings more than 20 levels deep.",
    "document-duplicate-key": "A key appears twice in one mapping of the org document.",
    "number-owned-by-other-org": "A number of the document belongs to another organization.",
    "user-in-other-org": "A user of the document belongs to another organization.",
    "base-licenses-below-used": "base_licenses is below what is used and held.",
    "addon-licenses-below-used": "An add-on count is below what is used and held.",
}

TEMPLATES: dict[str, str] = {
    "template-user-limit": "The template would hold more than 15,000 users across its files.",
    "template-uuid-invalid": "The template argument is not a valid UUID.",
    "template-not-found": "No template has this UUID.",
    "template-reverted": "The template has been reverted already (its report says what was removed and kept).",
    "template-action-not-allowed": "The template's status does not allow this action (draft, in progress, completed).",
    "template-empty": "The template has no users to start.",
    "template-not-in-progress": "Only an in-progress template can be resumed or assigned.",
    "template-no-failed-rows": "duplicate --failed-only: the template has no failed rows.",
    "template-nothing-to-assign": "duplicate: no row of the completed template can be assigned again.",
    "start-options-invalid": "The policy is not continue or all-or-nothing, or the chunk size is below 1.",
    "upload-nothing": "template upload was given no FILE and no --key.",
    "rolled-back": "Bulk row: assigned, then undone because another row failed (all-or-nothing).",
    "not-attempted": "Bulk row: not assigned because another row failed (all-or-nothing).",
    "template-cancelled": "Bulk row: not assigned because the template was cancelled before its turn.",
    "changed-since": "Bulk row or revert: its extension was changed after the template made it, so it is kept.",
    "flow-failed": "The bulk-assignment flow run failed or crashed; resume it with template start --resume.",
}

DROP_FOLDER: dict[str, str] = {
    "manifest-unreadable": "request.json is not UTF-8 JSON.",
    "manifest-invalid": "request.json does not match its shape (template, addons, start, policy).",
    "request-no-files": "The request folder holds no .csv file next to request.json.",
    "scan-failed": "The drop-folder scan flow run failed; its message says why.",
}

STORAGE: dict[str, str] = {
    "storage-url-invalid": "PHONESYS_STORAGE_URL is not a folder, file:// or s3:// URL.",
    "storage-credentials-missing": "No usable AWS credentials for the S3 store.",
    "storage-bucket-not-found": "The S3 bucket does not exist.",
    "storage-access-denied": "S3 refused access to the object.",
    "object-not-found": "No object has this key.",
    "object-too-large": "The object is over its size limit.",
    "object-outside-root": "A symbolic link leads outside the local storage folder.",
    "object-symlink-refused": "The key passes through a symbolic link in the local store.",
    "object-key-clash": "A file and a folder of the local store would have the same name.",
    "object-key-not-text": "An object key is not text.",
    "object-key-empty": "An object key is empty.",
    "object-key-absolute": "An object key starts with '/'.",
    "object-key-character": "An object key has a character outside the allowlist.",
    "object-key-too-long": "An object key is longer than 1024 bytes (with the store's prefix on S3).",
    "object-key-empty-segment": "An object key has an empty folder name ('//' or a trailing '/').",
    "object-key-dot-segment": "An object key has a folder name made of dots ('.' or '..').",
    "object-key-space-edge": "A name in an object key begins or ends with a space.",
    "object-key-segment-too-long": "A name in an object key is longer than 255 bytes.",
}

OPERATIONS: dict[str, str] = {
    "prefect-api-not-set": "PREFECT_API_URL is not set.",
    "prefect-api-unreachable": "The Prefect API does not answer.",
    "alert-webhook-url-invalid": "The alerts webhook URL is missing or not http(s).",
    "port-in-use": "make serve: the Prefect server's or the HTTP API's port is taken (already running?).",
}

TOKENS: dict[str, str] = {
    "token-name-invalid": "Token name is blank, longer than 100 characters or has control/bidi characters.",
    "token-role-invalid": "Token role is not admin or viewer.",
    "token-scope-invalid": "token create/list/revoke was given both ORG and --all-orgs, or neither.",
    "token-name-exists": "A token of this name exists in the scope already (names are never reused).",
    "token-not-found": "No token of this name in the organization (or among operator tokens).",
    "token-invalid": "HTTP 401: the request has no bearer token, or it is unknown or revoked.",
    "request-invalid": "HTTP 422: a path or query value of an API request is not valid (each is listed).",
    "route-not-found": "HTTP 404: no API route has this path.",
    "method-not-allowed": "HTTP 405: the API route does not take this method.",
    "token-forbidden": "HTTP 403: a viewer token asked for a change; only an admin token changes anything.",
    "request-too-large": "HTTP 413: an upload request is over its limit (20 files, 5 MB each), refused while "
                         "it streams.",
    "upload-form-invalid": "An API upload is not multipart/form-data with one or more files in the field 'files'.",
    "patch-mixed": "An API PATCH asks for changes the CLI makes with different commands; send one kind per request.",
    "csrf-invalid": "HTTP 403: a console form was posted without its CSRF token, or with a wrong or stale one.",
    "server-busy": "HTTP 503: every database connection of the server stayed in use past the pool's timeout; "
                   "retry after Retry-After seconds.",
    "report-file-not-written": "HTTP 404: the template's report or export file is not written yet (its run has not "
                               "completed).",
}

AUDIT: dict[str, str] = {
    "org.load": "An organization document was loaded (created or updated): its pools, numbers and users.",
    "org.users-import": "Users were imported from a CSV into an organization.",
    "org.delete": "An organization and everything it held was deleted (its audit history stays).",
    "ext.provision": "An extension was created (Provision, or Provision & Assign with its user, add-ons, number).",
    "ext.assign-user": "An extension was given a user (replacing any previous one).",
    "ext.unassign-user": "An extension's user was removed.",
    "ext.set-addons": "An extension's add-ons were replaced.",
    "ext.set-number": "An extension's number was set or cleared.",
    "ext.edit": "An extension's key and/or directory name changed.",
    "ext.delete": "An extension was deleted; its licenses, number and user went back to the pools.",
    "template.create": "A bulk assignment template was created.",
    "template.duplicate": "A template was created as a copy of another.",
    "template.rename": "A template was renamed.",
    "template.set-addons": "A template's add-ons were replaced.",
    "template.upload": "Files of users were accepted into a template.",
    "template.start": "A template was started (its rows held); outcome refused: the start was refused, with why.",
    "template.complete": "A template's run ended (completed, partially completed or rolled back).",
    "template.cancel": "An in-progress template was cancelled: its rows not yet assigned failed, their holds released.",
    "template.delete": "A template was deleted.",
    "template.revert": "A revert of a completed template started: its plan (to remove, kept, gone) is held.",
    "template.reverted": "A template's revert ended; after holds how many extensions were removed, kept, gone.",
    "bulk.revert": "A revert removed an extension its template had made (its licenses, number, user freed).",
    "bulk.assign": "A bulk row made an extension (one event per row, written with its chunk).",
    "bulk.undo": "An all-or-nothing rollback removed an extension the template had made.",
    "token.create": "An API token was created.",
    "token.revoke": "An API token was revoked.",
    "token.denied": "An API request was denied, outcome denied: a viewer's change (403) or another organization's "
                  "ids (404); nothing changed.",
    "audit.retention": "The audit retention changed (PHONESYS_AUDIT_RETENTION_DAYS), before and after in days.",
    "audit.prune": "Audit events past the retention were deleted; after says how many and up to when.",
}

GROUPS: dict[str, dict[str, str]] = {
    "files": FILES, "values": VALUES, "inventory": INVENTORY, "org document": ORG_DOCUMENT,
    "templates": TEMPLATES, "drop folder": DROP_FOLDER, "storage": STORAGE, "operations": OPERATIONS,
    "tokens and API": TOKENS, "audit actions": AUDIT,
}
CODES: dict[str, str] = {code: meaning for group in GROUPS.values() for code, meaning in group.items()}


def meanings(*codes: str) -> dict[str, str]:
    """A subset of the table, in the order given (e.g. the codes an upload can report)."""
    return {code: CODES[code] for code in codes}


def markdown_table() -> str:
    """The README's table of codes, generated so that a docs test can compare it with the README."""
    lines = ["| code | area | meaning |", "| --- | --- | --- |"]
    lines += [f"| `{code}` | {area} | {meaning} |" for area, group in GROUPS.items() for code, meaning in group.items()]
    return "\n".join(lines)
