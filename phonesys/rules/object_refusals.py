"""What object storage refuses, and why, in the words every front end shows: a missing object, a
file over its limit, a storage URL or key the store cannot use, a local folder reached through a
link, and S3 saying no (credentials, bucket, access).

The stores in ``phonesys.storage.objects`` find the fact (a file-system error, an S3 error code) and
call these, so each code's wording lives in ``rules`` like every other refusal's. Each function is
named for the fact it reports and returns the ``Problem``; the store raises it as the exception its
contract names (NotFound, Refused, Conflict).
"""

from __future__ import annotations

from phonesys.rules.errors import Problem
from phonesys.rules.limits import MB


def object_not_found(location: str, key: str) -> Problem:
    return Problem("object-not-found", f"No object at {location}; check the name and folder.", field="key", value=key)


def object_too_large(location: str, key: str, size: int, max_bytes: int) -> Problem:
    return Problem("object-too-large", f"{location} is {_human(size)}; the limit is {_human(max_bytes)}. "
                   "Split the file or remove unused rows.", field="key", value=key)


def storage_url_invalid(url: str, hint: str) -> Problem:
    return Problem("storage-url-invalid", f"Cannot use {url!r} as object storage: {hint}.",
                   field="PHONESYS_STORAGE_URL", value=url)


def object_outside_root(path: str, root: str, key: str) -> Problem:
    return Problem("object-outside-root", f"{path} leads outside the storage folder {root} through a symbolic "
                   "link; it was not touched.", field="key", value=key)


def object_key_clash(where: str, key: str) -> Problem:
    return Problem("object-key-clash", f"Cannot store {where}: a file and a folder would have the same name; "
                   "choose another key.", field="key", value=key)


def object_symlink_refused(where: str, key: str) -> Problem:
    return Problem("object-symlink-refused", f"{where} passes through a symbolic link; the local object store "
                   "never follows links. Replace the link with a folder.", field="key", value=key)


def prefixed_key_too_long(size: int, max_bytes: int, shown_key: str) -> Problem:
    return Problem("object-key-too-long", f"With the store prefix the key is {size} bytes; S3 allows "
                   f"{max_bytes}.", field="key", value=shown_key)


def storage_credentials_missing(reason: object) -> Problem:
    return Problem("storage-credentials-missing", f"No usable AWS credentials ({reason}); set AWS_ACCESS_KEY_ID "
                   "and AWS_SECRET_ACCESS_KEY, AWS_PROFILE or a role.")


def storage_bucket_not_found(bucket: str) -> Problem:
    return Problem("storage-bucket-not-found", f"The bucket {bucket} does not exist; create it or fix "
                   "PHONESYS_STORAGE_URL.")


def storage_access_denied(location: str, code: str, key: str) -> Problem:
    return Problem("storage-access-denied", f"S3 refused access to {location} ({code}); check the credentials "
                   "and the bucket policy.", field="key", value=key)


def _human(size: int) -> str:
    if size < MB:
        return f"{size:,} bytes"
    return f"{size / MB:.1f} MiB ({size:,} bytes)"
